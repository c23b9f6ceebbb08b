//! End-to-end tests: the real binary on fixtures we wrote, in temporary folders.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use polars::prelude::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The binary, drawing its charts with our tiny fixture font so the tests need no system font.
fn themeshift<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_themeshift"))
        .args(args)
        .env("THEMESHIFT_FONT", fixtures().join("fonts/tiny_sc.ttf"))
        .output()
        .expect("binary runs")
}

fn run_ok<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    let out = themeshift(args);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read(dir: &Path, file: &str) -> DataFrame {
    ParquetReader::new(File::open(dir.join(file)).expect(file)).finish().expect("parquet")
}

fn strings(frame: &DataFrame, column: &str) -> Vec<String> {
    frame.column(column).unwrap().str().unwrap().iter().map(|s| s.unwrap_or_default().to_string()).collect()
}

fn manifest(dir: &Path) -> serde_json::Value {
    manifest_file(dir, "manifest.json")
}

fn manifest_file(dir: &Path, file: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join(file)).unwrap()).unwrap()
}

/// The demo's terms of the named themes (data/demo/lexicon.toml).
fn demo_terms(names: &[&str]) -> HashSet<String> {
    themeshift::demo::themes().into_iter().filter(|t| names.contains(&t.name.as_str())).flat_map(|t| t.terms).collect()
}

#[test]
fn demo_run_ranks_the_planted_shifts_first() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    run_ok(&["run", "--out", out.to_str().unwrap(), "--quiet"]);
    let stats = read(&out, "term_trend_stats.parquet");
    let (terms, directions) = (strings(&stats, "term"), strings(&stats, "direction"));
    let slopes: Vec<f64> = stats.column("sen_slope").unwrap().f64().unwrap().into_no_null_iter().collect();
    let steepest = |direction: &str, n: usize| -> Vec<String> {
        let mut rows: Vec<usize> = (0..terms.len()).filter(|&i| directions[i] == direction).collect();
        rows.sort_by(|&a, &b| slopes[b].abs().total_cmp(&slopes[a].abs()));
        rows.into_iter().take(n).map(|i| terms[i].clone()).collect()
    };
    let (rising, fading) = (demo_terms(&["connectivity", "finance"]), demo_terms(&["energy"]));
    let (top, bottom) = (steepest("rising", 8), steepest("falling", 6));
    assert!(top.len() == 8 && top.iter().all(|t| rising.contains(t)), "steepest risers {top:?}");
    assert!(bottom.len() == 6 && bottom.iter().all(|t| fading.contains(t)), "steepest fallers {bottom:?}");
    // The pandemic is planted in 2020–2022 only: its head term is absent before and after.
    let trends = read(&out, "term_trends.parquet");
    let (names, periods) = (strings(&trends, "term"), strings(&trends, "period"));
    let counts: Vec<u64> = trends.column("count").unwrap().u64().unwrap().into_no_null_iter().collect();
    for ((term, period), count) in names.iter().zip(&periods).zip(&counts) {
        if term == "疫情" {
            let planted = ["2020", "2021", "2022"].contains(&period.as_str());
            assert_eq!(*count > 0, planted, "疫情 in {period}: {count}");
        }
    }
    assert_eq!(periods.iter().collect::<HashSet<_>>().len(), 12);
    assert!(read(&out, "vocabulary.parquet").height() >= 1500, "the demo's vocabulary is that of real news");
    assert!(out.join("charts/term_trends.png").metadata().unwrap().len() > 10_000);
}

#[test]
fn same_input_same_tables_whatever_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let input = fixtures();
    let mut files = Vec::new();
    for threads in ["1", "2"] {
        let out = tmp.path().join(format!("t{threads}"));
        let code = themeshift(&[
            "run",
            "--input",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--threads",
            threads,
            "--keep-tokens",
            "--min-df",
            "1",
            "--topics",
            "nmf,lda",
            "--k",
            "2,3",
            "--clusters",
            "3",
            "--lda-iterations",
            "60",
            "--quiet",
        ]);
        assert!(code.status.success(), "{}", text(&code.stderr));
        files.push(out);
    }
    for table in [
        "documents",
        "vocabulary",
        "tfidf",
        "term_trends",
        "periods",
        "tokens",
        "term_trend_stats",
        "keyness",
        "themes",
        "theme_stats",
        "evidence",
        "clusters",
        "cluster_trends",
        "cluster_representatives",
        "topics",
        "doc_topics",
        "topic_trends",
        "topic_representatives",
        "coherence",
    ] {
        let name = format!("{table}.parquet");
        let a = std::fs::read(files[0].join(&name)).unwrap();
        assert_eq!(a, std::fs::read(files[1].join(&name)).unwrap(), "{name} differs between --threads 1 and 2");
    }
}

#[test]
fn folders_of_text_files_and_jsonl_become_one_dated_corpus() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let input = fixtures();
    run_ok(&[
        "run",
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--keep-tokens",
        "--min-df",
        "1",
        "--quiet",
    ]);
    let docs = read(&out, "documents.parquet");
    let ids = strings(&docs, "doc_id");
    let titles = strings(&docs, "title");
    let sources = strings(&docs, "date_source");
    let scripts = strings(&docs, "script");
    let periods =
        docs.column("period").unwrap().str().unwrap().iter().map(|p| p.map(str::to_string)).collect::<Vec<_>>();
    let at = |id: &str| ids.iter().position(|i| i.ends_with(id)).unwrap_or_else(|| panic!("{id} in {ids:?}"));

    let export = at("export_note.txt");
    assert_eq!(titles[export], "两国扩大能源贸易");
    assert_eq!(sources[export], "header");
    assert_eq!(periods[export].as_deref(), Some("2019"));
    let briefing = at("2015-07-09_briefing.txt");
    assert_eq!((sources[briefing].as_str(), periods[briefing].as_deref()), ("file_name", Some("2015")));
    let traditional = at("traditional_note.md");
    assert_eq!(
        (scripts[traditional].as_str(), sources[traditional].as_str(), periods[traditional].as_deref()),
        ("traditional", "none", None)
    );
    assert_eq!(sources[at("a1")], "field");
    assert_eq!(ids.len(), 15);

    // Header lines are not body text; traditional text is converted before segmentation.
    let tokens = read(&out, "tokens.parquet");
    let lists = tokens.column("tokens").unwrap().list().unwrap();
    let doc_tokens = |i: usize| -> Vec<String> {
        let s = lists.get_as_series(i).unwrap();
        s.str().unwrap().iter().map(|t| t.unwrap_or_default().to_string()).collect()
    };
    assert!(!doc_tokens(export).contains(&"关键词".to_string()));
    assert!(doc_tokens(traditional).contains(&"数字经济".to_string()), "{:?}", doc_tokens(traditional));
    assert!(doc_tokens(traditional).contains(&"本币结算".to_string()));

    let m = manifest(&out);
    assert_eq!(m["counts"]["documents_undated"], 1);
    assert_eq!(
        m["ingest"]["undated"][0]["reason"],
        "no 发布时间 header line and no date in the file name; no full date in the text"
    );
    assert_eq!(m["ingest"]["files"].as_array().unwrap().len(), 4);
    assert_eq!(m["ingest"]["files"][0]["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn political_terms_are_single_tokens_and_noise_is_not_in_the_vocabulary() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let input = fixtures().join("news.jsonl");
    run_ok(&["run", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap(), "--min-df", "1", "--quiet"]);
    let vocabulary: HashSet<String> = strings(&read(&out, "vocabulary.parquet"), "term").into_iter().collect();
    for term in themeshift::segment::FIXED_EXPRESSIONS.into_iter().chain(["贸易"]) {
        assert!(vocabulary.contains(term), "{term} missing");
    }
    for noise in ["，", "。", "的", "和", "一带", "一路", "2013"] {
        assert!(!vocabulary.contains(noise), "{noise} in vocabulary");
    }
    assert!(vocabulary.iter().all(|t| t.chars().any(char::is_alphanumeric) && !t.chars().all(|c| c.is_ascii_digit())));
}

#[test]
fn a_malformed_jsonl_line_is_skipped_named_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("bad.jsonl");
    std::fs::write(
        &input,
        concat!(
            "{\"id\":\"x1\",\"date\":\"2014-01-02\",\"text\":\"能源合作继续推进，天然气项目进展顺利。\"}\n",
            "{\"id\":\"x2\",\"date\":\"2014-01-03\",\"text\":\"能源合作\"\n",
            "{\"id\":\"x3\",\"date\":\"2014-01-04\",\"text\":42}\n",
            "{\"id\":\"x4\",\"date\":\"2014-02-30\",\"text\":\"天然气合作继续推进。\"}\n",
            "{\"id\":\"x5\",\"date\":\"2015-03-01\",\"text\":\"能源合作继续推进，天然气价格稳定。\"}\n",
        ),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let result = themeshift(&["run", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    assert_eq!(result.status.code(), Some(1), "skips change the exit status");
    let stdout = text(&result.stdout);
    assert!(stdout.contains("5 read, 3 kept, 2 skipped (malformed 1, no_text 1), 1 undated"), "{stdout}");
    assert!(stdout.contains("bad.jsonl:2: invalid JSON: EOF while parsing an object"), "{stdout}");
    assert!(stdout.contains("bad.jsonl:3: field 'text' is a number, expected a string"), "{stdout}");
    assert!(stdout.contains("bad.jsonl:4 (x4): field 'date': '2014-02-30' is not a calendar date"), "{stdout}");
    let m = manifest(&out);
    assert_eq!(m["counts"]["documents_skipped"], 2);
    assert_eq!(m["ingest"]["skipped"][1]["origin"].as_str().unwrap(), format!("{}:3", input.display()));

    let strict =
        themeshift(&["run", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet", "--strict"]);
    assert_eq!(strict.status.code(), Some(2));
    assert!(
        text(&strict.stderr).contains("2 document(s) were skipped and --strict is set; first:"),
        "{}",
        text(&strict.stderr)
    );
}

#[test]
fn an_undecodable_file_stops_the_run_with_file_line_and_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("good.txt"), "发布时间：2014-01-02\n能源合作继续推进。").unwrap();
    // UTF-8 text whose third line is cut by bytes that are no character.
    std::fs::write(dir.join("gbk.txt"), b"\xe8\x83\xbd\xe6\xba\x90\nok line\n\xc4\xdc\xd4\xb4").unwrap();
    let result = themeshift(&[
        "run",
        "--input",
        dir.to_str().unwrap(),
        "--out",
        tmp.path().join("o").to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(result.status.code(), Some(2));
    let stderr = text(&result.stderr);
    assert!(stderr.contains("gbk.txt:3: invalid UTF-8: byte 0xC4 at offset 15 (line 3)"), "{stderr}");
    assert!(stderr.contains("--encoding (utf-8, gb18030, big5, utf-16le, utf-16be)"), "{stderr}");
}

#[test]
fn empty_folders_and_unwritable_outputs_are_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.docx"), "a,b\n").unwrap();
    let result = themeshift(&[
        "run",
        "--input",
        empty.to_str().unwrap(),
        "--out",
        tmp.path().join("o").to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(result.status.code(), Some(2));
    assert!(
        text(&result.stderr).contains("empty: no .jsonl, .csv, .tsv, .parquet, .txt or .md files in this folder"),
        "{}",
        text(&result.stderr)
    );

    let blocker = tmp.path().join("a_file");
    std::fs::write(&blocker, "x").unwrap();
    let out = blocker.join("out");
    let input = fixtures().join("news.jsonl");
    let result = themeshift(&["run", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    assert_eq!(result.status.code(), Some(2));
    let stderr = text(&result.stderr);
    assert!(
        stderr.contains(&format!("writing {}: ", out.display())) && stderr.contains("choose another --out folder"),
        "{stderr}"
    );
}

#[test]
fn keywords_come_from_title_and_body_not_from_metadata_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_ok(&["keywords", fixtures().join("articles/export_note.txt").to_str().unwrap(), "--top", "3"]);
    let words: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(words.len(), 3);
    // 能源 stands in the title and the body, so it leads; the source line (资料库) is not text.
    assert_eq!(words[0], "能源", "{words:?}");
    let all = run_ok(&["keywords", fixtures().join("articles/export_note.txt").to_str().unwrap(), "--top", "50"]);
    assert!(!text(&all.stdout).lines().any(|w| w == "资料库" || w == "关键词"), "{}", text(&all.stdout));
    drop(tmp);
}
mod bad_input;
#[path = "../fuzz/mod.rs"]
mod fuzz;
mod fuzzing;

/// The demo corpus plants an energy theme that fades from 2013 to 2023: NMF must find it as one
/// topic and its prevalence must fall; every model's tables must hang together.
#[test]
fn topics_recover_the_planted_fading_theme() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    let o = out.to_str().unwrap();
    run_ok(&["run", "--out", o, "--topics", "nmf,lda", "--k", "20", "--clusters", "5", "--keep-tokens", "--quiet"]);
    let topics = read(&out, "topics.parquet");
    let energy = demo_terms(&["energy"]);
    let nmf_terms = |topic: u32| -> Vec<String> {
        let rows = topics.clone().rows_where(|f| {
            let model = f.column("model").unwrap().str().unwrap().equal("nmf");
            let t = f.column("topic").unwrap().u32().unwrap().equal(topic);
            let rank = f.column("rank").unwrap().u32().unwrap().lt_eq(6);
            &(&model & &t) & &rank
        });
        strings(&rows, "term")
    };
    let found: Vec<u32> = (0..20).filter(|&t| nmf_terms(t).iter().all(|w| energy.contains(w))).collect();
    assert_eq!(found.len(), 1, "one NMF topic made of energy terms: {:?}", (0..20).map(nmf_terms).collect::<Vec<_>>());
    let trends = read(&out, "topic_trends.parquet");
    let prevalence = |period: &str| -> f64 {
        let f = trends.clone().rows_where(|f| {
            let model = f.column("model").unwrap().str().unwrap().equal("nmf");
            let t = f.column("topic").unwrap().u32().unwrap().equal(found[0]);
            let p = f.column("period").unwrap().str().unwrap().equal(period);
            &(&model & &t) & &p
        });
        f.column("prevalence").unwrap().f64().unwrap().get(0).unwrap()
    };
    assert!(
        prevalence("2013") > 5.0 * prevalence("2024"),
        "energy topic: {} → {}",
        prevalence("2013"),
        prevalence("2024")
    );

    // Shares of a document sum to at most 1; every analysed document has a cluster and a topic.
    let doc_topics = read(&out, "doc_topics.parquet");
    let mut sums: BTreeMap<(String, String), f32> = BTreeMap::new();
    let weights = doc_topics.column("weight").unwrap().f32().unwrap();
    for ((model, doc), w) in
        strings(&doc_topics, "model").into_iter().zip(strings(&doc_topics, "doc_id")).zip(weights.iter())
    {
        *sums.entry((model, doc)).or_default() += w.unwrap();
    }
    assert!(sums.values().all(|&s| s <= 1.0 + 1e-4), "shares above 1");
    let documents = read(&out, "documents.parquet");
    assert_eq!(documents.column("cluster").unwrap().null_count(), 0);
    assert_eq!(documents.column("top_topic").unwrap().null_count(), 0);
    let coherence = read(&out, "coherence.parquet");
    assert_eq!(coherence.height(), 2 * (20 + 1), "per topic and one mean row per model");
    for file in
        ["clusters.md", "topics.md", "charts/topics.png", "charts/clusters.png", "cluster_representatives.parquet"]
    {
        assert!(out.join(file).is_file(), "{file} missing");
    }

    // `topics` re-fits from the run's tables alone and gets the same models.
    let again = tmp.path().join("again");
    let stdout =
        text(&run_ok(&["topics", o, "--out", again.to_str().unwrap(), "--topics", "nmf,lda", "--k", "20"]).stdout);
    assert!(stdout.contains("nmf k = 20"), "{stdout}");
    for table in ["topics", "doc_topics", "topic_trends", "coherence", "topic_representatives"] {
        let name = format!("{table}.parquet");
        assert_eq!(std::fs::read(out.join(&name)).unwrap(), std::fs::read(again.join(&name)).unwrap(), "{name}");
    }

    // `clusters` likewise: same tables as the run's own; in place, it rewrites documents' column.
    let stdout = text(&run_ok(&["clusters", o, "--out", again.to_str().unwrap(), "--clusters", "5"]).stdout);
    assert!(stdout.contains("lsa-kmeans k = 5"), "{stdout}");
    for table in ["clusters", "cluster_trends", "cluster_representatives"] {
        let name = format!("{table}.parquet");
        assert_eq!(std::fs::read(out.join(&name)).unwrap(), std::fs::read(again.join(&name)).unwrap(), "{name}");
    }
    run_ok(&["clusters", o, "--clusters", "3"]);
    let labels = read(&out, "documents.parquet").column("cluster").unwrap().u32().unwrap().clone();
    assert_eq!(labels.null_count(), 0);
    assert_eq!(labels.max(), Some(2), "three clusters after the re-fit in place");
    assert_eq!(manifest_file(&out, "clusters_manifest.json")["models"]["clusters"]["k"], 3);
}

trait RowsWhere {
    fn rows_where(self, mask: impl Fn(&DataFrame) -> BooleanChunked) -> DataFrame;
}

impl RowsWhere for DataFrame {
    fn rows_where(self, mask: impl Fn(&DataFrame) -> BooleanChunked) -> DataFrame {
        let m = mask(&self);
        self.filter(&m).unwrap()
    }
}

/// The binary in an environment whose font search sees only `home` (no fontconfig on PATH).
fn themeshift_at_home(home: &Path, args: &[String], font_variable: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_themeshift"));
    command.args(args).env("HOME", home).env("PATH", "/nonexistent").env_remove("XDG_DATA_HOME");
    match font_variable {
        Some(font) => command.env("THEMESHIFT_FONT", font),
        None => command.env_remove("THEMESHIFT_FONT"),
    };
    command.output().expect("binary runs")
}

/// `run` on news.jsonl into `out`, with models small enough for its twelve stories, then `extra`.
fn news_run(out: &Path, extra: &[&str]) -> Vec<String> {
    let input = fixtures().join("news.jsonl");
    let base = [
        "run",
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
        "--k",
        "3",
        "--clusters",
        "3",
    ];
    base.iter().chain(extra).map(|s| s.to_string()).collect()
}

#[test]
fn charts_none_writes_every_table_and_the_report_without_looking_for_a_font() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let args = news_run(&out, &["--charts", "none"]);
    let result = themeshift_at_home(tmp.path(), &args, Some(&tmp.path().join("no-such-font.ttf")));
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert!(!out.join("charts").exists());
    for table in ["documents", "vocabulary", "tfidf", "term_trends", "themes", "clusters", "topics", "coherence"] {
        assert!(out.join(format!("{table}.parquet")).is_file(), "{table}.parquet missing");
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("--charts none") && !report.contains(".png"), "{report}");
    assert_eq!(manifest(&out)["font"], serde_json::Value::Null);
}

#[test]
fn a_font_in_the_user_font_folder_draws_png_and_svg_charts() {
    let tmp = tempfile::tempdir().unwrap();
    let fonts = tmp.path().join(".local/share/fonts");
    std::fs::create_dir_all(&fonts).unwrap();
    std::fs::copy(fixtures().join("fonts/tiny_sc.ttf"), fonts.join("tiny_sc.ttf")).unwrap();
    let out = tmp.path().join("run");
    let args = news_run(&out, &["--charts", "png,svg"]);
    let result = themeshift_at_home(tmp.path(), &args, None);
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert_eq!(manifest(&out)["font"], fonts.join("tiny_sc.ttf").to_str().unwrap());
    for stem in ["term_trends", "themes", "clusters", "topics"] {
        assert!(out.join(format!("charts/{stem}.png")).metadata().unwrap().len() > 1_000, "{stem}.png");
        let svg = std::fs::read_to_string(out.join(format!("charts/{stem}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{stem}.svg is not one svg element");
    }
    let svg = std::fs::read_to_string(out.join("charts/themes.svg")).unwrap();
    assert!(svg.contains("主题份额"), "the themes chart's Chinese title is text in the SVG");
}

#[test]
fn the_font_variable_picks_the_simplified_face_of_a_collection_and_no_font_says_charts_none() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let collection = fixtures().join("fonts/two_faces.ttc");
    let result = themeshift_at_home(tmp.path(), &news_run(&out, &[]), Some(&collection));
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert!(manifest(&out)["font"].as_str().unwrap().ends_with("two_faces.ttc#1"));
    // A font variable naming something that is not a font stops the run before any work.
    let bad_out = tmp.path().join("bad");
    let input = fixtures().join("news.jsonl");
    let result = themeshift_at_home(tmp.path(), &news_run(&bad_out, &[]), Some(&input));
    assert_eq!(result.status.code(), Some(2));
    let message = text(&result.stderr);
    assert!(message.contains("THEMESHIFT_FONT=") && message.contains("news.jsonl"), "{message}");
    assert!(!bad_out.join("documents.parquet").exists());
}

#[test]
fn one_article_gives_keywords_counts_and_a_report_and_no_model_fitted_to_noise() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("one");
    let article = fixtures().join("articles/2015-07-09_briefing.txt");
    let stdout =
        text(&run_ok(&["run", "--input", article.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"]).stdout);
    assert!(stdout.contains("min_df 2") && stdout.contains("every term kept"), "{stdout}");
    assert!(stdout.contains("clusters k = 20 skipped") && stdout.contains("topics (nmf) k = 20 skipped"), "{stdout}");
    let adjustments = manifest(&out)["adjustments"].as_array().unwrap().len();
    assert_eq!(adjustments, 3);
    assert!(read(&out, "vocabulary.parquet").height() > 5);
    assert!(!out.join("topics.parquet").exists() && !out.join("clusters.parquet").exists());
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Keywords of each document") && report.contains("skipped"), "{report}");
}

#[test]
fn a_run_replaces_its_folder_whole_refuses_a_second_writer_and_survives_a_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = out.to_str().unwrap();
    // A first run, then a rerun without topics: no topic table of the first run is left beside the new ones.
    run_ok(&news_run(&out, &["--charts", "none"]));
    assert!(out.join("topics.parquet").is_file());
    run_ok(&news_run(&out, &["--charts", "none", "--topics", "none"]));
    assert!(!out.join("topics.parquet").exists(), "a table of the previous run was left beside the new ones");
    let before = std::fs::read(out.join("manifest.json")).unwrap();

    // A long run into the same folder: a second writer is refused, naming the first.
    let mut long = Command::new(env!("CARGO_BIN_EXE_themeshift"))
        .args(["run", "--out", o, "--topics", "lda", "--lda-iterations", "100000", "--charts", "none", "-q"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let second = themeshift(&news_run(&out, &["--charts", "none"]));
    assert_eq!(second.status.code(), Some(2));
    let message = text(&second.stderr);
    assert!(message.contains(&format!("pid {}", long.id())) && message.contains("choose another --out"), "{message}");

    // Killed mid-run: the previous run is there, whole; the next run takes the stale lock over.
    long.kill().unwrap();
    long.wait().unwrap();
    assert_eq!(std::fs::read(out.join("manifest.json")).unwrap(), before);
    let next = run_ok(&news_run(&out, &["--charts", "none"]));
    assert!(text(&next.stdout).contains("took over the lock"), "{}", text(&next.stdout));
    let left: Vec<String> =
        std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(left.iter().all(|n| !n.contains("staging") && !n.ends_with(".lock")), "{left:?}");
}

#[test]
fn every_table_carries_the_run_id_of_its_manifest_and_a_refit_in_place_keeps_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    run_ok(&news_run(&out, &["--charts", "none", "--keep-tokens"]));
    let id = manifest(&out)["run_id"].as_str().unwrap().to_string();
    let ids_of_tables = |dir: &Path| -> Vec<(String, Option<String>)> {
        let mut ids: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    themeshift::write::tables::run_id_of(&p).unwrap(),
                )
            })
            .collect();
        ids.sort();
        ids
    };
    let tables = ids_of_tables(&out);
    assert!(tables.len() >= 15 && tables.iter().all(|(_, t)| t.as_deref() == Some(id.as_str())), "{tables:?}");
    run_ok(&["topics", out.to_str().unwrap(), "--k", "2", "--charts", "none", "-q"]);
    let after = ids_of_tables(&out);
    assert!(after.iter().all(|(_, t)| t.as_deref() == Some(id.as_str())), "{after:?}");
    // Another run into the same folder is another run.
    run_ok(&news_run(&out, &["--charts", "none"]));
    assert_ne!(manifest(&out)["run_id"].as_str().unwrap(), id);
}

#[test]
fn the_theme_model_measures_the_demos_planted_shifts_and_effects_regress_them_on_time() {
    let tmp = tempfile::tempdir().unwrap();
    let run_with = |name: &str, threads: &str| {
        let out = tmp.path().join(name);
        let o = out.to_str().unwrap().to_string();
        let args = ["run", "--out", &o, "--theme-model", "--theme-model-iterations", "100", "--free-topics", "3"];
        run_ok(&[&args[..], &["--topics", "none", "--clusters", "0", "--quiet", "--threads", threads]].concat());
        out
    };
    let out = run_with("demo", "2");
    let prevalence = read(&out, "theme_prevalence.parquet");
    let share = |theme: &str, period: &str| -> f64 {
        let rows = prevalence.clone().rows_where(|f| {
            &f.column("theme").unwrap().str().unwrap().equal(theme)
                & &f.column("period").unwrap().str().unwrap().equal(period)
        });
        rows.column("share").unwrap().f64().unwrap().get(0).unwrap()
    };
    // The demo's energy coverage fades and its connectivity coverage grows.
    assert!(share("energy", "2013") > 1.5 * share("energy", "2024"), "energy does not fade");
    assert!(share("connectivity", "2024") > 1.5 * share("connectivity", "2013"), "connectivity does not grow");
    let low = prevalence.column("share_low").unwrap().f64().unwrap();
    let high = prevalence.column("share_high").unwrap().f64().unwrap();
    let mid = prevalence.column("share").unwrap().f64().unwrap();
    for i in 0..prevalence.height() {
        assert!(low.get(i) <= mid.get(i) && mid.get(i) <= high.get(i), "row {i}: interval misses its estimate");
    }
    let fit = &manifest(&out)["models"]["theme_model"]["fit"];
    let k = fit["themes"].as_array().unwrap().len() + 3;
    let analysed = manifest(&out)["counts"]["documents_analysed"].as_u64().unwrap() as usize;
    assert_eq!(read(&out, "doc_themes.parquet").height(), analysed * k);
    let model = read(&out, "theme_model.parquet");
    let seeds = model.column("seed").unwrap().bool().unwrap();
    assert!(seeds.iter().any(|s| s == Some(false)), "the model found no word beside the seeds");
    assert!(out.join("charts/theme_model.png").is_file());
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Theme model") && report.contains("| chains agree |"), "{report}");
    // Three chains by default, each with its own seed and log-likelihood, and each theme's agreement.
    let chains = fit["chains"].as_array().unwrap();
    assert_eq!(chains.len(), 3);
    assert!(chains.iter().all(|c| c["log_likelihood"].as_f64().unwrap() < 0.0));
    let agreement = fit["agreement_across_chains"].as_object().unwrap();
    assert_eq!(agreement.len(), fit["themes"].as_array().unwrap().len());
    assert!(agreement["energy"].as_f64().unwrap() > 0.9, "the demo's energy fade is found by every chain");
    let below = fit["unsettled_below"].as_f64().unwrap();
    let unsettled: Vec<&str> =
        fit["unsettled_themes"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    let expected: Vec<&str> =
        agreement.iter().filter(|(_, r)| r.as_f64().is_some_and(|r| r < below)).map(|(t, _)| t.as_str()).collect();
    assert_eq!(unsettled.iter().copied().collect::<std::collections::BTreeSet<_>>(), expected.into_iter().collect());
    // Every theme's seed documents are accounted for: those given elsewhere are among them, and
    // the topics named as takers hold no more than were given elsewhere.
    let fared = fit["seed_documents"].as_object().unwrap();
    assert_eq!(fared.len(), fit["themes"].as_array().unwrap().len());
    assert!(fared.values().any(|s| s["documents"].as_u64().unwrap() > 0), "{fared:?}");
    for s in fared.values() {
        let elsewhere = s["taken_elsewhere"].as_u64().unwrap();
        assert!(elsewhere <= s["documents"].as_u64().unwrap(), "{s}");
        let named: u64 = s["taken_by"].as_array().unwrap().iter().map(|t| t["documents"].as_u64().unwrap()).sum();
        assert!(named <= elsewhere && (elsewhere == 0) == (named == 0), "{s}");
    }
    assert!(report.contains("| seed documents | given elsewhere |"), "{report}");
    // The HTML report's words table: one entry a theme, holding its seeds and its found words.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let json = html.split("id=\"data\">").nth(1).unwrap().split("</script>").next().unwrap().replace("<\\/", "</");
    let data: serde_json::Value = serde_json::from_str(&json).unwrap();
    let words = data["theme_model"]["words"].as_array().unwrap();
    assert_eq!(words.len(), fit["themes"].as_array().unwrap().len(), "{words:?}");
    assert!(words.iter().all(|w| !w["found"].as_array().unwrap().is_empty()), "{words:?}");
    assert!(words.iter().any(|w| !w["seeds"].as_array().unwrap().is_empty()), "{words:?}");

    let o = out.to_str().unwrap();
    run_ok(&["effects", o, "--formula", "time", "--draws", "30", "--quiet"]);
    let effects = read(&out, "theme_effects.parquet");
    let slope = effects.clone().rows_where(|f| {
        &f.column("theme").unwrap().str().unwrap().equal("energy")
            & &f.column("term").unwrap().str().unwrap().equal("time")
    });
    let (estimate, high) =
        (slope.column("estimate").unwrap().f64().unwrap(), slope.column("ci_high").unwrap().f64().unwrap());
    assert!(estimate.get(0).unwrap() < 0.0 && high.get(0).unwrap() < 0.0, "energy's time effect is not negative");
    assert_eq!(read(&out, "theme_effects_predicted.parquet").height(), k * 12);
    // A spline of the date: energy's predicted share falls from the first year to the last.
    run_ok(&["effects", o, "--formula", "s(time, 4)", "--draws", "30", "--quiet"]);
    let predicted = read(&out, "theme_effects_predicted.parquet")
        .rows_where(|f| f.column("theme").unwrap().str().unwrap().equal("energy"));
    let curve: Vec<f64> = predicted.column("estimate").unwrap().f64().unwrap().into_no_null_iter().collect();
    assert!(curve.len() == 12 && curve[0] > 1.5 * curve[11], "energy's spline curve {curve:?}");
    let bad_spline = themeshift(&["effects", o, "--formula", "s(source)", "--quiet"]);
    assert!(text(&bad_spline.stderr).contains("splines are of time only"), "{}", text(&bad_spline.stderr));
    let bad = themeshift(&["effects", o, "--formula", "period + outlet", "--quiet"]);
    assert!(text(&bad.stderr).contains("no column 'outlet' in documents.parquet"), "{}", text(&bad.stderr));
    let same_source = themeshift(&["effects", o, "--formula", "period + source", "--quiet"]);
    assert!(text(&same_source.stderr).contains("has one value"), "{}", text(&same_source.stderr));

    let one = run_with("demo-1", "1");
    for table in ["theme_model", "doc_themes", "theme_prevalence", "theme_prevalence_stats", "theme_words_by_period"] {
        let file = format!("{table}.parquet");
        assert_eq!(read(&out, &file), read(&one, &file), "{table} differs between 1 and 2 threads");
    }
    let plain = tmp.path().join("plain");
    run_ok(&["run", "--out", plain.to_str().unwrap(), "--topics", "none", "--clusters", "0", "--quiet"]);
    let missing = themeshift(&["effects", plain.to_str().unwrap(), "--quiet"]);
    assert!(text(&missing.stderr).contains("run `themeshift run --theme-model` first"), "{}", text(&missing.stderr));
}

/// A sharded run (each shard mapped on its own, partials joined out of order, what needs the texts
/// or tokens asked of the shards and answered from the bytes they left) writes the in-process
/// run's tables byte for byte.
#[test]
fn sharded_run_writes_the_in_process_tables() {
    use themeshift::pipeline::{map_shard, run_sharded, shard_plan, Sharding};
    use themeshift::shards::{AskShards, Holding, PartialJoin};
    let tmp = tempfile::tempdir().unwrap();
    let config = |out: &str| {
        let mut c = sharded_config(tmp.path(), out);
        // The tokens table holds every text and token: all of them come back from the shards.
        c.keep_tokens = true;
        // Seeds segmentation loses are counted in the texts: asked of the shards too.
        c.theme_model =
            Some(themeshift::topics::keyatm::KeyAtmParams { iterations: 20, burn_in: 10, ..Default::default() });
        // LDA's shards (after a warm-up here) and the theme model's are sampled where the run sends
        // them, and NMF's documents' side (the default model's) is swept there.
        let lda =
            themeshift::topics::lda::LdaParams { iterations: 30, burn_in: 15, warm_up: Some(4), ..Default::default() };
        c.topics.models.push(themeshift::topics::TopicMethod::Lda(lda));
        c.topics.k = vec![3];
        // Few enough clusters for the fixtures, so LSA + k-means runs (its side held away too).
        let lsa = themeshift::cluster::LsaKmeans { k: 3, dimensions: 4, ..Default::default() };
        c.cluster = themeshift::cluster::ClusterConfig::LsaKmeans(lsa);
        c
    };
    let asked: Vec<Holding> = sharded_like_in_process(tmp.path(), &config).into_iter().map(|(h, ..)| h).collect();
    assert!(asked.contains(&Holding::Texts), "evidence and texts were made from the shards' answers");
    assert!(asked.contains(&Holding::Tokens), "the vocabulary and rows were made from the shards' answers");
    assert!(asked.contains(&Holding::Lda), "LDA's shards were sampled away");
    assert!(asked.contains(&Holding::ThemeModel), "the theme model's shards were sampled away");
    assert!(asked.contains(&Holding::Nmf), "NMF's documents' side was swept away");
    assert!(asked.contains(&Holding::Lsa), "LSA + k-means's documents' side was held away");
    let lost = |run: &str| manifest(&tmp.path().join(run))["models"]["theme_model"]["lost_seeds"].clone();
    let counted = lost("local").as_array().unwrap().iter().filter(|s| s["raw_count"].as_u64() > Some(0)).count();
    assert!(counted > 0, "some lost seed occurs in the texts: {}", lost("local"));
    assert_eq!(lost("local"), lost("sharded"), "raw counts of lost seeds, asked of the shards");
    // A missing shard is refused, not silently left out; a shard given twice too.
    let sharded = config("sharded");
    let plan = shard_plan(&sharded).unwrap();
    let mut one = PartialJoin::new(&plan);
    one.add(map_shard(&sharded, &plan, 1).unwrap().0).unwrap();
    assert!(one.add(map_shard(&sharded, &plan, 1).unwrap().0).is_err(), "shard 1 twice");
    let no_texts: AskShards = std::sync::Arc::new(|_, _, _| Ok(Box::new(std::iter::empty())));
    let missing = run_sharded(&config("partial"), &plan, one, no_texts, Sharding::default()).unwrap_err();
    assert!(missing.to_string().contains("missing shards [0, 2"), "{missing}");
}

/// The run of the fixtures, charts off, in small shards.
fn sharded_config(dir: &Path, out: &str) -> themeshift::config::RunConfig {
    let mut c = themeshift::config::RunConfig::new(
        vec![fixtures().join("news.jsonl"), fixtures().join("articles")],
        dir.join(out),
    );
    c.charts.clear();
    c.quiet = true;
    c.shard_mb = 0.0005;
    c.vectorize.vocabulary.min_df = themeshift::vectorize::DocFreq::Count(1);
    c
}

/// Runs `config("local")` in process and `config("sharded")` on its shards (mapped on their own,
/// partials joined out of order, every request answered from the bytes the shards left, the
/// models' shards held by hosts as workers hold them); checks every table is the same bytes and
/// returns what was asked of the shards: each shard's request as its holding, the common part and
/// how many shards were asked with it at once.
fn sharded_like_in_process(
    dir: &Path,
    config: &dyn Fn(&str) -> themeshift::config::RunConfig,
) -> Vec<(themeshift::shards::Holding, Vec<u8>, usize)> {
    use themeshift::pipeline::{map_shard, run, run_sharded, shard_plan, Sharding, MODELS_AWAY};
    use themeshift::shards::{
        answer_texts, answer_tokens, encode_texts, encode_tokens, AskShards, Holding, PartialJoin, ShardPartial,
    };
    run(&config("local")).unwrap();
    let sharded = config("sharded");
    let plan = shard_plan(&sharded).unwrap();
    assert!(plan.shards.len() >= 4, "{} shards", plan.shards.len());
    // Through the bytes the workers send, out of order: odd shards first, last first.
    let (mut join, mut held) = (PartialJoin::new(&plan), std::collections::BTreeMap::new());
    let n = plan.shards.len();
    for id in (0..n).rev().filter(|i| i % 2 == 1).chain((0..n).rev().filter(|i| i % 2 == 0)) {
        let (partial, shard_texts, shard_tokens) = map_shard(&sharded, &plan, id).unwrap();
        assert!(partial.corpus.documents.iter().all(|d| d.text.is_empty()), "texts stay with the shard");
        join.add(ShardPartial::decode(&partial.encode().unwrap()).unwrap()).unwrap();
        held.insert((Holding::Texts.name(), id), encode_texts(&shard_texts).unwrap());
        held.insert((Holding::Tokens.name(), id), encode_tokens(&shard_tokens).unwrap());
    }
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = asked.clone();
    use themeshift::topics::away::{no_tokens, ShardHost};
    let lda_host = std::sync::Mutex::new(themeshift::topics::lda_shards::LdaShardHost::default());
    let theme_host = std::sync::Mutex::new(themeshift::topics::keyatm_shards::ThemeShardHost::default());
    let nmf_host = std::sync::Mutex::new(themeshift::topics::nmf_shards::NmfShardHost::default());
    let lsa_host = std::sync::Mutex::new(themeshift::cluster::lsa_shards::LsaShardHost::default());
    let ask: AskShards = std::sync::Arc::new(move |holding, common, requests| {
        let at_once = requests.len();
        let tokens = |shard: usize| {
            let held = &held;
            move || Ok(held[&(Holding::Tokens.name(), shard)].clone())
        };
        let answers: Vec<_> = requests
            .into_iter()
            .map(|(shard, request)| {
                log.lock().unwrap().push((holding, common.clone(), at_once));
                match holding {
                    Holding::Lda => lda_host.lock().unwrap().answer(shard, &common, &request, &no_tokens),
                    Holding::ThemeModel => theme_host.lock().unwrap().answer(shard, &common, &request, &no_tokens),
                    // Their shards are the plan's: they make their rows from the tokens the shards left.
                    Holding::Nmf => nmf_host.lock().unwrap().answer(shard, &common, &request, &tokens(shard)),
                    Holding::Lsa => lsa_host.lock().unwrap().answer(shard, &common, &request, &tokens(shard)),
                    Holding::Texts => answer_texts(&held[&(holding.name(), shard)], &common, &request),
                    Holding::Tokens => answer_tokens(&held[&(holding.name(), shard)], &common, &request),
                }
            })
            .collect();
        Ok(Box::new(answers.into_iter()))
    });
    run_sharded(
        &sharded,
        &plan,
        join,
        ask,
        Sharding { models_on_workers: MODELS_AWAY.map(String::from).to_vec(), ..Sharding::default() },
    )
    .unwrap();
    let tables: Vec<_> = std::fs::read_dir(dir.join("local"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".parquet"))
        .collect();
    assert!(tables.len() >= 10);
    for name in tables {
        let (a, b) = (dir.join("local").join(&name), dir.join("sharded").join(&name));
        assert!(std::fs::read(a).unwrap() == std::fs::read(b).unwrap(), "{name:?} differs");
    }
    let asked = asked.lock().unwrap().clone();
    asked
}

/// A sharded run that fits no model leaves the count rows with the shards: the trends' sums, the
/// evidence's documents and the TF-IDF table are asked of them, and every table is the same.
#[test]
fn a_sharded_run_without_models_asks_the_shards_for_its_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let config = |out: &str| {
        let mut c = sharded_config(tmp.path(), out);
        c.cluster = themeshift::cluster::ClusterConfig::None;
        c.topics.models.clear();
        c
    };
    let asked = sharded_like_in_process(tmp.path(), &config);
    let tokens = asked.iter().filter(|(h, ..)| *h == themeshift::shards::Holding::Tokens).count();
    assert!(tokens > 3 * 4, "frequencies, hits, sums, evidence and TF-IDF rows asked shard by shard: {tokens}");
    assert_no_count_rows_gathered(&asked);
}

/// The driver never held the count matrix: the shards were asked for their count rows over the
/// vocabulary only two at a time (the TF-IDF table's rows, written as they come); the theme hits'
/// rows, asked of every shard, come with an empty vocabulary.
fn assert_no_count_rows_gathered(asked: &[(themeshift::shards::Holding, Vec<u8>, usize)]) {
    use themeshift::shards::{Holding, TokenQuestion};
    let mut hits = 0;
    for (holding, common, at_once) in asked {
        if *holding != Holding::Tokens {
            continue;
        }
        if let TokenQuestion::Rows(wanted) = rmp_serde::from_slice(common).unwrap() {
            if wanted.vocabulary.is_empty() {
                hits += 1;
            } else {
                assert!(*at_once <= 2, "count rows over the vocabulary asked of {at_once} shards at once");
            }
        }
    }
    assert!(hits >= 4, "the theme hits were asked of every shard: {hits}");
}

/// A sharded run whose matrix models — LSA + k-means and NMF — are on its workers, with no other
/// model: each worker makes its shard's TF-IDF rows from the shard's tokens, and the clusters' term
/// counts and the topics' coherence are asked of the shards, so the driver never holds the count
/// matrix — and every table, the models' among them, is the bytes of the run in process over the
/// same shard plan.
#[test]
fn a_sharded_run_with_its_matrix_models_on_workers_never_gathers_the_count_matrix() {
    let tmp = tempfile::tempdir().unwrap();
    let config = |out: &str| {
        let mut c = sharded_config(tmp.path(), out);
        let lsa = themeshift::cluster::LsaKmeans { k: 3, dimensions: 4, ..Default::default() };
        c.cluster = themeshift::cluster::ClusterConfig::LsaKmeans(lsa);
        c.topics.models = vec![themeshift::topics::TopicMethod::Nmf(Default::default())];
        c.topics.k = vec![3];
        c
    };
    let asked = sharded_like_in_process(tmp.path(), &config);
    for model in [themeshift::shards::Holding::Lsa, themeshift::shards::Holding::Nmf] {
        let steps = asked.iter().filter(|(h, ..)| *h == model).count();
        assert!(steps > 10, "{model:?}: the workers asked step by step: {steps}");
    }
    assert_no_count_rows_gathered(&asked);
    let manifest = manifest(&tmp.path().join("sharded"));
    assert_eq!(manifest["models"]["clusters"]["k"], 3, "{}", manifest["models"]);
    assert_eq!(manifest["models"]["topics"][0]["model"], "nmf", "{}", manifest["models"]);
    assert!(manifest["models"]["topics"][0]["coherence"]["c_npmi"].is_number(), "{}", manifest["models"]);
    assert_eq!(manifest["sharding"]["count_matrix_on_driver"], false);
    for table in ["clusters.parquet", "cluster_representatives.parquet", "topics.parquet", "doc_topics.parquet"] {
        assert!(tmp.path().join("sharded").join(table).exists(), "{table}");
    }
}
