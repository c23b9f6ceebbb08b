//! The order of the stages, and nothing else: ingest → normalize → segment → vectorize →
//! cluster ‖ topics ‖ trends (side by side, or in turn for a large corpus) → write. Each stage is
//! timed; its peak memory so far is recorded.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use crate::cluster::{cluster, cluster_term_counts, ClusterConfig, ClusterRows, Clustering};
use crate::config::RunConfig;
use crate::corpus::{Corpus, IngestReport};
use crate::error::{Error, Result};
use crate::ingest::{ingest_by_shard, ShardPlan};
use crate::normalize::{mark_duplicates, normalize, Boilerplate, Fingerprints, Normalizer, ScriptConverter};
use crate::segment::keywords::KeywordExtractor;
use crate::segment::{add_seed_words, build_jieba, FilterChain, Segmenter, Tokenized};
use crate::shards::rows::TfidfFromTokens;
use crate::shards::{AskShards, Holding, PartialJoin, RowShards, RowsWanted, ShardPartial, ShardTexts, ShardTokens};
use crate::topics::away::AwayShards;
use crate::topics::theme_model::{fit_theme_model, match_seeds, SeedTheme, Seeds, ThemeInputs, ThemeModel};
use crate::topics::{fit_topics, TopicInputs, TopicMethod, TopicModel, TopicsConfig};
use crate::trends::analysis::CountRows;
use crate::trends::analysis::{analyse, PeriodKeyness, TrendResults};
use crate::trends::bootstrap::document_key;
use crate::trends::groups::leading_group;
use crate::trends::term_stats::ranked;
use crate::trends::term_stats::{series_stats, TermStat};
use crate::trends::themes::{parse_lexicon, unseen_terms, LexiconIndex, Theme, CHINA_RUSSIA};
use crate::trends::RowFacts;
use crate::vectorize::{vocabulary_for, Vectorized, Vocabulary, Weights};
use crate::write::charts;
use crate::write::manifest::{self, peak_rss_mib, write_manifest, Counts, Manifest, StageTiming};
use crate::write::models::{self, RowNames};
use crate::write::report::{models_summary, write_report, RunNotes};
use crate::write::staging::Staging;
use crate::write::tables::DocumentGroups;
use crate::write::theme_model::{report_section as theme_model_report, write_theme_model_outputs};
use crate::write::{html, schema, tables};

/// What a finished run reports back.
#[derive(Debug)]
pub struct RunSummary {
    pub out: PathBuf,
    pub trends: serde_json::Value,
    pub models: serde_json::Value,
    pub counts: Counts,
    pub report: IngestReport,
    pub stages: Vec<StageTiming>,
    pub outputs: Vec<String>,
    /// Limits changed and models skipped because the corpus was too small for them.
    pub adjustments: Vec<String>,
}

struct Stages {
    timings: Vec<StageTiming>,
    quiet: bool,
}

impl Stages {
    fn run<T>(&mut self, stage: &'static str, work: impl FnOnce() -> Result<T>) -> Result<T> {
        crate::progress::check();
        if !self.quiet {
            eprintln!("[themeshift] {stage} …");
        }
        let start = Instant::now();
        let out = work()?;
        // What the stage freed goes back to the system before the next one grows: peaks of
        // successive stages do not stack up in the allocator's free lists.
        crate::shards::release_memory();
        let timing = StageTiming { stage, seconds: start.elapsed().as_secs_f64(), peak_rss_mib: peak_rss_mib() };
        if !self.quiet {
            let now = crate::write::manifest::process_status_mib("VmRSS:");
            eprintln!(
                "[themeshift] {stage} done in {:.2} s (peak RSS {:.0} MiB, now {now:.0})",
                timing.seconds, timing.peak_rss_mib
            );
        }
        self.timings.push(timing);
        Ok(out)
    }
}

impl Stages {
    /// Record a stage that ran alongside others (see [`timed`]).
    fn add<T>(&mut self, (out, timing): (T, StageTiming)) -> T {
        if !self.quiet {
            eprintln!(
                "[themeshift] {} done in {:.2} s (alongside others; peak RSS so far {:.0} MiB)",
                timing.stage, timing.seconds, timing.peak_rss_mib
            );
        }
        self.timings.push(timing);
        out
    }
}

/// Run a stage that shares the machine with others; its peak RSS is the process's so far.
fn timed<T>(stage: &'static str, work: impl FnOnce() -> T) -> (T, StageTiming) {
    let start = Instant::now();
    let out = work();
    (out, StageTiming { stage, seconds: start.elapsed().as_secs_f64(), peak_rss_mib: peak_rss_mib() })
}

/// LSA + k-means over the row shards `shards`: on the matrix held here, or with `away`, on the
/// shards' workers, each making its rows from its tokens (then the clusters' term counts are
/// asked of the shards too, unless the counts are held here).
fn cluster_stage(
    v: &Vectorized,
    config: &ClusterConfig,
    seed: u64,
    (shards, away): (&RowShards, Option<(&AwayShards, &TfidfFromTokens)>),
    tokens: Option<&ShardTokens>,
) -> Result<Option<Clustering>> {
    let ClusterConfig::LsaKmeans(params) = config else { return Ok(None) };
    let term_counts = |labels: &[u32], k: usize| match tokens.filter(|_| !v.holds_counts()) {
        Some(tokens) => tokens.cluster_term_counts(&v.rows, &v.vocabulary.terms, labels, k),
        None => Ok(cluster_term_counts(v.counts(), labels, k)),
    };
    let tfidf;
    let rows = match away {
        Some((away, from)) => ClusterRows::Away { away, from },
        None => {
            tfidf = v.tfidf();
            ClusterRows::Here(&tfidf)
        }
    };
    Ok(Some(cluster(rows, shards, &term_counts, params, seed)?))
}

/// documents.parquet's `cluster` and `top_topic` (from the first topic model).
fn document_groups(n_docs: usize, rows: &[usize], c: Option<&Clustering>, m: Option<&TopicModel>) -> DocumentGroups {
    let mut groups = DocumentGroups { cluster: vec![None; n_docs], top_topic: vec![None; n_docs] };
    for (r, &d) in rows.iter().enumerate() {
        groups.cluster[d] = c.map(|c| c.labels[r]);
        groups.top_topic[d] = m.and_then(|m| leading_group(m.shares.row(r).as_slice()?)).map(|t| t as u32);
    }
    groups
}

/// What a run has set up before it reads anything: the cheap checks passed, a staging folder.
struct Begun {
    charts: charts::Charts,
    staging: Staging,
    stages: Stages,
    themes: Vec<Theme>,
}

impl Begun {
    fn start(config: &RunConfig) -> Result<Begun> {
        config.check()?;
        // Cheap checks first: a missing font or an unwritable folder must not cost a full run.
        let charts = charts::Charts::prepare(&config.charts, config.font.as_deref())?;
        let themes = load_themes(config)?;
        // Everything is written into a staging folder and swapped into place at the end: a failed or
        // interrupted run leaves the previous one whole.
        let staging = Staging::begin(&config.out)?;
        charts.make_folder(&staging.dir)?;
        Ok(Begun { charts, staging, stages: Stages { timings: Vec::new(), quiet: config.quiet }, themes })
    }
}

/// How the reading stages ran, for the manifest: in this process, or as a map over shards on
/// workers (with each shard's timing and peak memory).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Sharding {
    pub engine: String,
    pub shard_mb: f64,
    pub shards: usize,
    /// Per shard, for a sharded run: id, input bytes, documents, seconds, peak RSS, worker.
    pub workers: Vec<serde_json::Value>,
    /// Wall time of the map over all shards, as the driver saw it.
    pub map_seconds: Option<f64>,
    /// Shards the driver of a Ray run read itself while the Ray it started came up.
    pub driver_shards: Vec<usize>,
    /// The models whose shards the workers hold ([`MODELS_AWAY`]); the others' the driver does.
    pub models_on_workers: Vec<String>,
    /// Documents of each shard of the plan: LSA + k-means sums over the rows by shard
    /// ([`RowShards`]), and a re-fit from the tables (`themeshift clusters`) reads them back.
    pub shard_documents: Vec<usize>,
    /// Whether the driver gathered the count matrix (a model on the driver needs it); else the
    /// count rows stayed with the shards, which answered what was asked of them.
    pub count_matrix_on_driver: bool,
}

impl Sharding {
    fn in_process(config: &RunConfig, plan: &ShardPlan) -> Sharding {
        Sharding {
            engine: "in-process".into(),
            shard_mb: config.shard_mb,
            shards: plan.shards.len(),
            ..Sharding::default()
        }
    }
}

/// The run's shard plan: from its inputs and shard size only.
pub fn shard_plan(config: &RunConfig) -> Result<ShardPlan> {
    crate::ingest::plan::plan(&config.inputs, &config.ingest, config.shard_mb)
}

pub fn run(config: &RunConfig) -> Result<RunSummary> {
    let mut begun = Begun::start(config)?;
    let (stages, themes) = (&mut begun.stages, &begun.themes);
    // The OpenCC tables and the jieba dictionary take ~0.1 s and ~0.3 s of CPU to build, each on
    // one thread; they are built beside the reading, which leaves cores idle between its files and
    // lines, and the dictionary beside the normalizing too (on a small corpus it is the longest of
    // the three).
    let (plan, corpus, fingerprints, tokenized, segmenter) = std::thread::scope(|scope| {
        let normalizer = scope.spawn(|| normalizer(config));
        let segmenter = scope.spawn(|| segmenter(config, themes));
        let read = stages.run("ingest", || {
            let plan = shard_plan(config)?;
            let (corpus, shard_documents) = ingest_by_shard(&plan, &config.ingest)?;
            Ok((plan, corpus, shard_documents))
        });
        let normalizer = joined(normalizer)?;
        let (plan, mut corpus, shard_documents) = read?;
        check_skips(&corpus, config.strict)?;
        let fingerprints = stages.run("normalize", || {
            normalize(&mut corpus, &normalizer);
            Ok(fingerprints_of(&corpus))
        })?;
        let segmenter = joined(segmenter)?;
        let tokenized = stages.run("segment", || {
            let texts: Vec<&str> = corpus.documents.iter().map(|d| d.text.as_str()).collect();
            Ok(segmenter.segment_texts(&texts))
        })?;
        Ok::<_, Error>((plan, (corpus, shard_documents), fingerprints, tokenized, segmenter))
    })?;
    let (mut corpus, shard_documents) = corpus;
    let texts = ShardTexts::here(corpus.take_texts());
    let models_away = ModelsAway::default();
    let tokens = ShardTokens::here(tokenized);
    let read = Read { corpus, shard_documents, fingerprints, tokens, texts, models_away };
    finish(config, begun, read, Some(segmenter), Sharding::in_process(config, &plan))
}

/// The result of a thread that builds a tool; a panic there is resumed here.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn fingerprints_of(corpus: &Corpus) -> Fingerprints {
    Fingerprints::of(&corpus.documents.iter().map(|d| d.text.as_str()).collect::<Vec<_>>())
}

/// What the reading stages hand to the rest: the documents, the texts' duplicate fingerprints, and
/// the texts and tokens, held apart from the documents (here or with the shards).
struct Read {
    corpus: Corpus,
    /// Documents per shard of the plan, in shard order.
    shard_documents: Vec<usize>,
    fingerprints: Fingerprints,
    tokens: ShardTokens,
    texts: ShardTexts,
    /// Where a sharded run's models hold their shards (its workers); each `None`: here.
    models_away: ModelsAway,
}

/// The models whose shards a sharded run's workers can hold, as [`Sharding::models_on_workers`]
/// names them.
pub const MODELS_AWAY: [&str; 4] = ["lda", "theme_model", "nmf", "lsa"];

/// Where a sharded run's models send their shards: to its workers, each model's to its own; `None`:
/// the model holds them here.
#[derive(Default)]
struct ModelsAway {
    lda: Option<AwayShards>,
    lsa: Option<AwayShards>,
    nmf: Option<AwayShards>,
    theme_model: Option<AwayShards>,
}

impl ModelsAway {
    /// The models `named` ([`MODELS_AWAY`]) on the workers `ask` reaches.
    fn asked(ask: &AskShards, named: &[String]) -> ModelsAway {
        let to = |holding: Holding| -> Option<AwayShards> {
            let ask = ask.clone();
            named
                .iter()
                .any(|n| n == holding.name())
                .then(|| -> AwayShards { std::sync::Arc::new(move |common, requests| ask(holding, common, requests)) })
        };
        ModelsAway {
            lda: to(Holding::Lda),
            lsa: to(Holding::Lsa),
            nmf: to(Holding::Nmf),
            theme_model: to(Holding::ThemeModel),
        }
    }
}

/// The map of a sharded run, for one shard of the plan: read, normalize and segment its documents.
/// The partial goes to the driver; the texts and tokens stay with the shard until the driver asks
/// about them.
pub fn map_shard(config: &RunConfig, plan: &ShardPlan, id: usize) -> Result<(ShardPartial, Vec<String>, Tokenized)> {
    let (start, start_memory) = (Instant::now(), crate::shards::begin_shard());
    let mut corpus = crate::ingest::ingest_shard(plan, id, &config.ingest)?;
    let tools = reading_tools(config)?;
    normalize(&mut corpus, &tools.0);
    let fingerprints = fingerprints_of(&corpus);
    let texts: Vec<&str> = corpus.documents.iter().map(|d| d.text.as_str()).collect();
    let tokenized = tools.1.segment_texts(&texts);
    let texts = corpus.take_texts();
    let bytes = plan.shards[id].bytes(plan);
    let seconds = start.elapsed().as_secs_f64();
    let partial = ShardPartial::new(id, bytes, (corpus, fingerprints, tokenized.lengths()), seconds, start_memory);
    Ok((partial, texts, tokenized))
}

/// The finish of a sharded run: the shards' partials joined (in shard order, as they came), then
/// every stage after segmentation exactly as in [`run`]; what needs the texts or tokens (terms'
/// frequencies, count rows, theme hits, evidence sentences, raw counts of seeds, `--keep-tokens`)
/// is asked of the shards through `ask`.
pub fn run_sharded(
    config: &RunConfig,
    plan: &ShardPlan,
    join: PartialJoin,
    ask: AskShards,
    mut sharding: Sharding,
) -> Result<RunSummary> {
    let mut begun = Begun::start(config)?;
    let read = begun.stages.run("join shards", || {
        let joined = join.finish()?;
        sharding.workers = joined.workers;
        let models_away = ModelsAway::asked(&ask, &sharding.models_on_workers);
        Ok(Read {
            corpus: joined.corpus,
            shard_documents: joined.documents.clone(),
            fingerprints: joined.fingerprints,
            tokens: ShardTokens::asked(&joined.documents, joined.n_tokens, ask.clone()),
            texts: ShardTexts::asked(&joined.documents, ask),
            models_away,
        })
    })?;
    check_skips(&read.corpus, config.strict)?;
    sharding.shards = plan.shards.len();
    finish(config, begun, read, None, sharding)
}

type ReadingTools = Option<(String, std::sync::Arc<(Normalizer, Segmenter)>)>;
static READING_TOOLS: std::sync::Mutex<ReadingTools> = std::sync::Mutex::new(None);

/// The normalizer and segmenter of a worker's runs, built once per process for the options they
/// depend on: OpenCC tables and the jieba dictionary cost ~0.3 s, which every shard would repeat.
fn reading_tools(config: &RunConfig) -> Result<std::sync::Arc<(Normalizer, Segmenter)>> {
    let key = serde_json::json!([
        config.boilerplate,
        config.user_dicts,
        config.theme_model.is_some(),
        config.default_themes,
        config.themes
    ])
    .to_string();
    let mut built = READING_TOOLS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, tools)) = built.as_ref().filter(|(built_for, _)| *built_for == key) {
        return Ok(tools.clone());
    }
    let tools = std::sync::Arc::new((normalizer(config)?, segmenter(config, &load_themes(config)?)?));
    *built = Some((key, tools.clone()));
    Ok(tools)
}

/// Let go of the reading tools [`map_shard`] keeps (tens of MB): for a process, such as a sharded
/// run's driver, that has read its last shard.
pub fn forget_reading_tools() {
    *READING_TOOLS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    crate::shards::release_memory();
}

fn normalizer(config: &RunConfig) -> Result<Normalizer> {
    let boilerplate_files: Vec<(String, String)> = config
        .boilerplate
        .iter()
        .map(|p| Ok((p.display().to_string(), std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?)))
        .collect::<Result<_>>()?;
    Ok(Normalizer { converter: ScriptConverter::new()?, boilerplate: Boilerplate::new(&boilerplate_files)? })
}

fn segmenter(config: &RunConfig, themes: &[Theme]) -> Result<Segmenter> {
    let mut jieba = build_jieba(&config.user_dicts)?;
    if config.theme_model.is_some() {
        // Seeds must survive segmentation to be counted at all.
        add_seed_words(&mut jieba, themes.iter().flat_map(|t| t.terms.iter().map(|(w, _)| w.as_str())));
    }
    Ok(Segmenter::new(jieba, FilterChain::standard()))
}

/// Every stage after segmentation: duplicates, vectorize, the models and trends side by side,
/// the tables, charts, reports and manifest.
fn finish(
    config: &RunConfig,
    begun: Begun,
    read: Read,
    segmenter: Option<Segmenter>,
    mut sharding: Sharding,
) -> Result<RunSummary> {
    let Read { mut corpus, shard_documents, fingerprints, tokens, texts, models_away } = read;
    let Begun { charts, staging, mut stages, themes } = begun;
    let out = staging.dir.as_path();
    let run_id = manifest::run_id(config, &corpus.report);
    let duplicate_groups = stages.run("duplicates", || {
        Ok(mark_duplicates(&mut corpus, &fingerprints, config.duplicate_threshold, config.duplicate_window_days))
    })?;
    drop(fingerprints);
    let themes = &themes;
    let docs = &corpus.documents;
    // Each duplicate group counts once, through its earliest member, unless asked otherwise.
    let analysed: Vec<usize> =
        (0..docs.len()).filter(|&d| config.keep_duplicates || docs[d].duplicate_of.is_none()).collect();
    // The vocabulary from the terms' frequencies, merged over the shards; then each analysed
    // document's row — counts and theme hits — from the shard that holds its tokens.
    let (vectorized, terms, supported, theme_hits) = stages.run("vectorize", || {
        let frequencies = tokens.frequencies(&analysed)?;
        crate::progress::check();
        let (vocabulary, adjustments) = vocabulary_for(&frequencies, analysed.len(), &config.vectorize.vocabulary)?;
        let supported = models_the_corpus_supports(config, analysed.len(), vocabulary.len());
        // A sharded run whose models need no matrix leaves the count rows with its shards: what the
        // trends and the TF-IDF table need of them is asked there. Then only the theme hits come.
        let (cluster, topics, _) = &supported;
        // LSA + k-means and NMF held by the workers make their rows there, from the shards' tokens.
        let on_driver = |model: &TopicMethod| !matches!(model, TopicMethod::Nmf(_)) || models_away.nmf.is_none();
        let matrix_needed = tokens.is_here()
            || config.keep_tokens
            || (!matches!(cluster, ClusterConfig::None) && models_away.lsa.is_none())
            || topics.models.iter().any(on_driver)
            || config.theme_model.is_some();
        let lexicon = LexiconIndex::new(themes);
        let sublinear_tf = config.vectorize.sublinear_tf;
        if !matrix_needed {
            let rows = tokens.rows(&analysed, RowsWanted { vocabulary: Vec::new(), lexicon }, 0)?;
            let vectorized = Vectorized::without_counts(analysed, vocabulary, sublinear_tf, adjustments);
            return Ok((vectorized, frequencies.terms, supported, rows.hits));
        }
        let wanted = RowsWanted { vocabulary: vocabulary.terms.clone(), lexicon };
        let entries = vocabulary.df.iter().map(|&d| d as usize).sum();
        let rows = tokens.rows(&analysed, wanted, entries)?;
        crate::progress::check();
        let vectorized = Vectorized::new(analysed, vocabulary, rows.counts, sublinear_tf, adjustments);
        Ok((vectorized, frequencies.terms, supported, rows.hits))
    })?;
    let (cluster_config, topics_config, skipped_models) = supported;
    let seeds = config.theme_model.as_ref().map(|_| {
        let seed_themes: Vec<SeedTheme> = themes
            .iter()
            .map(|t| SeedTheme {
                name: t.name.clone(),
                label: t.label.clone(),
                seeds: t.terms.iter().map(|(w, _)| w.clone()).collect(),
            })
            .collect();
        let raw_counts = |needles: &[&str]| {
            let needles: Vec<String> = needles.iter().map(|n| n.to_string()).collect();
            texts.occurrences(&vectorized.rows, &needles)
        };
        match_seeds(&seed_themes, &terms, &vectorized.vocabulary, raw_counts)
    });
    let seeds = seeds.transpose()?;
    let dropped_themes = seeds.iter().flat_map(|s| &s.dropped).map(|name| {
        format!("theme model: theme {name} dropped — none of its seeds is a vocabulary term (see manifest lost_seeds)")
    });
    let no_theme_left = seeds
        .iter()
        .filter(|s| s.themes.is_empty())
        .map(|_| "theme model not fitted: no theme has a seed among the vocabulary's terms".to_string());
    let adjustments: Vec<String> = staging
        .note
        .iter()
        .chain(&vectorized.adjustments)
        .chain(&skipped_models)
        .cloned()
        .chain(dropped_themes)
        .chain(no_theme_left)
        .collect();
    for note in adjustments.iter().filter(|_| !config.quiet) {
        eprintln!("[themeshift] note: {note}");
    }
    let period_labels: Vec<Option<String>> =
        docs.iter().map(|d| d.date.and_then(|date| config.periods.label(date))).collect();
    let n_tokens: Vec<u64> = tokens.n_tokens().iter().map(|&n| n as u64).collect();
    let rows = &vectorized.rows;
    let row_shards = RowShards::of(rows, &shard_documents);
    // How the workers of the models held away make their rows of the TF-IDF matrix (only a
    // sharded run with LSA or NMF on its workers sends it).
    let from_tokens = (models_away.lsa.is_some() || models_away.nmf.is_some()).then(|| TfidfFromTokens {
        vocabulary: vectorized.vocabulary.terms.clone(),
        idf: vectorized.idf.clone(),
        sublinear_tf: vectorized.sublinear_tf,
    });
    let from_tokens = from_tokens.as_ref();
    sharding.shard_documents = shard_documents;
    sharding.count_matrix_on_driver = vectorized.holds_counts();
    let periods = config.periods.order(rows.iter().filter_map(|&d| period_labels[d].clone()));
    let period_of_row: Vec<Option<usize>> =
        rows.iter().map(|&d| period_labels[d].as_ref().and_then(|p| periods.iter().position(|q| q == p))).collect();

    let theme_hits = (theme_hits, unseen_terms(themes, &terms));
    let (n_token_ids, n_distinct_terms) = (n_tokens.iter().sum::<u64>() as usize, terms.len());
    drop(terms);
    // The tokens stay where they are while the topic models' coherence counts their top words
    // in them; with no topic models they are let go now. (They come to this process only for
    // --keep-tokens: at 8× the full corpus they are 90 M ids.)
    // So do the count rows left with the shards (the trends and the TF-IDF table ask them).
    let tokens =
        (!topics_config.models.is_empty() || config.keep_tokens || !vectorized.holds_counts()).then_some(tokens);
    crate::shards::release_memory();
    let counted = |relevant: &[u32]| {
        let words = relevant.iter().map(|&id| vectorized.vocabulary.terms[id as usize].clone()).collect();
        tokens.as_ref().expect("kept for the topic models").cooccurrence(&vectorized.rows, words)
    };

    // Clusters, topics and trends only read what came before: they run side by side, unless the
    // corpus is so large that their working sets together would set the run's peak memory.
    let side_by_side = vectorized.entries <= SIDE_BY_SIDE_ENTRIES;
    let theme_model_stage = || {
        let (Some(params), Some(seeds)) = (&config.theme_model, &seeds) else { return None };
        if seeds.themes.is_empty() {
            return None;
        }
        let inputs = ThemeInputs {
            counts: vectorized.counts(),
            seeds,
            period_of_row: &period_of_row,
            n_periods: periods.len(),
            top_terms: config.topics.top_terms,
            away: models_away.theme_model.as_ref(),
        };
        let model = match fit_theme_model(&inputs, params, config.seed) {
            Ok(model) => model,
            Err(error) => return Some(Err(error)),
        };
        let series: Vec<Vec<f64>> = (0..model.names.len()).map(|t| model.series(t, periods.len())).collect();
        let stats = if periods.is_empty() { Vec::new() } else { series_stats(&series, config.trends.change_penalty) };
        Some(Ok((model, stats)))
    };
    let (((clustering, topic_models), trends), theme_model) = both(
        side_by_side,
        || {
            both(
                side_by_side,
                || {
                    both(
                        side_by_side,
                        || {
                            timed("cluster", || {
                                let away = (&row_shards, models_away.lsa.as_ref().zip(from_tokens));
                                cluster_stage(&vectorized, &cluster_config, config.seed, away, tokens.as_ref())
                            })
                        },
                        || {
                            timed("topics", || {
                                if topics_config.models.is_empty() {
                                    return Ok(Vec::new());
                                }
                                let tfidf = vectorized.holds_counts().then(|| vectorized.tfidf());
                                let inputs = TopicInputs {
                                    matrix: tfidf.as_ref().map(|x| (x as &dyn Weights, vectorized.counts())),
                                    row_shards: &row_shards,
                                    cooccurrence: Some(&counted),
                                    lda_away: models_away.lda.as_ref(),
                                    nmf_away: models_away.nmf.as_ref().zip(from_tokens),
                                };
                                fit_topics(&inputs, &topics_config, config.seed)
                            })
                        },
                    )
                },
                || {
                    timed("trends", || {
                        let keys: Vec<u64> = rows.iter().map(|&d| document_key(&docs[d].id)).collect();
                        let tokens_of_row: Vec<u64> = rows.iter().map(|&d| n_tokens[d]).collect();
                        let facts = RowFacts { period: &period_of_row, tokens: &tokens_of_row, keys: &keys };
                        let asked;
                        let count_rows: &dyn CountRows = if vectorized.holds_counts() {
                            vectorized.counts()
                        } else {
                            let tokens = tokens.as_ref().expect("kept while the shards hold the count rows");
                            asked = tokens.count_rows(rows, &vectorized.vocabulary.terms);
                            &asked
                        };
                        analyse(
                            periods.clone(),
                            facts,
                            rows,
                            count_rows,
                            &vectorized.vocabulary,
                            &texts,
                            theme_hits,
                            themes.clone(),
                            &config.trends,
                            config.seed,
                        )
                    })
                },
            )
        },
        || timed("theme model", theme_model_stage),
    );
    // What is left to ask of the shards is every text, for --keep-tokens' table or the keywords of
    // a handful of documents: taken now, and the shards let go (a sharded run's driver stops its
    // workers while this process writes).
    let all_texts = if config.keep_tokens || docs.len() <= KEYWORD_DOCUMENTS {
        texts.texts_of(&(0..docs.len()).collect::<Vec<_>>())?
    } else {
        Vec::new()
    };
    // --keep-tokens' table holds every token: they come to this process now, the last thing asked of them.
    let (tokenized, tokens) = match tokens {
        Some(tokens) if config.keep_tokens => (Some(tokens.into_tokenized()?), None),
        // Kept only while the shards hold the count rows, for the TF-IDF table.
        other => (None, other.filter(|_| !vectorized.holds_counts())),
    };
    // The last handles on the shards (but the tokens a model-free sharded run asks for the TF-IDF
    // table's rows): their workers can stop while the tables are written.
    drop((texts, models_away));
    crate::shards::release_memory();
    let (clustering, topic_models, trends) = (stages.add(clustering)?, stages.add(topic_models)?, stages.add(trends)?);
    let theme_model = if theme_model.0.is_some() { stages.add(theme_model).transpose()? } else { None };
    let groups = document_groups(docs.len(), rows, clustering.as_ref(), topic_models.first());
    let names = RowNames {
        doc_ids: rows.iter().map(|&d| docs[d].id.as_str()).collect(),
        titles: rows.iter().map(|&d| docs[d].title.as_str()).collect(),
        periods: &periods,
        period_of_row: &period_of_row,
    };

    let mut outputs = Vec::new();
    let mut chart_files = Vec::new();
    let vocabulary = &vectorized.vocabulary;
    stages.run("write", || {
        // Each table is built just before it is written, so only as many are in memory as tables
        // are written at once, one per thread (and the largest, TF-IDF, one row group at a time).
        let v = &vectorized;
        let keyness = PeriodKeyness::new(&trends.terms, &config.trends);
        let mut writes: Vec<(&schema::Table, TableBuild)> = vec![
            (
                &schema::DOCUMENTS,
                TableBuild::Whole(Box::new(|| {
                    tables::documents(docs, &period_labels, &n_tokens, &groups, &config.ingest.fields.extra)
                })),
            ),
            (&schema::VOCABULARY, TableBuild::Whole(Box::new(|| tables::vocabulary(vocabulary, &v.idf)))),
            (&schema::TFIDF, TableBuild::InGroups(v.entries, tfidf_rows(v, tokens.as_ref(), &row_shards))),
            (
                &schema::TERM_TRENDS,
                TableBuild::InGroups(
                    tables::term_trend_rows(vocabulary, &trends),
                    Box::new(|rows| tables::term_trends(vocabulary, &trends, rows)),
                ),
            ),
            (&schema::PERIODS, TableBuild::Whole(Box::new(|| tables::periods(&trends)))),
            (&schema::TERM_TREND_STATS, TableBuild::Whole(Box::new(|| tables::term_trend_stats(vocabulary, &trends)))),
            (
                &schema::KEYNESS,
                TableBuild::InGroups(
                    keyness.n_rows(),
                    Box::new(|rows| tables::keyness(&vocabulary.terms, &keyness.rows(rows))),
                ),
            ),
            (&schema::THEMES, TableBuild::Whole(Box::new(|| tables::themes(&trends)))),
            (&schema::THEME_STATS, TableBuild::Whole(Box::new(|| tables::theme_stats(&trends)))),
            (&schema::EVIDENCE, TableBuild::Whole(Box::new(|| tables::evidence(docs, &trends)))),
        ];
        let terms = &vocabulary.terms;
        if let Some(tokenized) = &tokenized {
            writes.push((&schema::TOKENS, TableBuild::Whole(Box::new(|| tables::tokens(docs, &all_texts, tokenized)))));
        }
        let write = |(table, build): (&schema::Table, TableBuild)| {
            let path = out.join(table.file);
            match build {
                TableBuild::Whole(build) => tables::write_parquet(&path, build(), &run_id)?,
                TableBuild::InGroups(rows, build) => tables::write_parquet_in_groups(&path, rows, build, &run_id)?,
            }
            Ok(table.file.to_string())
        };
        // Tables are written side by side (each built and encoded on its own; the list of outputs
        // keeps the order above whatever finishes first) or, for a large corpus, one at a time so
        // that only one is ever in memory — polars encodes each on every thread anyway, so that
        // costs no time.
        let written: Vec<String> = if side_by_side {
            writes.into_par_iter().map(write).collect::<Result<_>>()?
        } else {
            writes.into_iter().map(write).collect::<Result<_>>()?
        };
        outputs.extend(written);
        chart_files.extend(charts::trend_charts(&charts, out, &trends, vocabulary, config.chart_terms)?);
        let mut model_files = match &clustering {
            Some(c) => models::write_cluster_outputs(&charts, out, &run_id, c, &names, terms)?,
            None => Vec::new(),
        };
        model_files.extend(models::write_topic_outputs(
            &charts,
            out,
            &run_id,
            &topic_models,
            &names,
            terms,
            config.topics.doc_topic_floor,
        )?);
        if let Some((model, stats)) = &theme_model {
            model_files.extend(write_theme_model_outputs(&charts, out, &run_id, model, stats, &names, terms)?);
        }
        let (pictures, tables): (Vec<String>, Vec<String>) =
            model_files.into_iter().partition(|f| f.starts_with("charts/"));
        outputs.extend(tables);
        chart_files.extend(pictures);
        outputs.extend(chart_files.iter().cloned());
        Ok(())
    })?;

    let counts = Counts {
        records_read: corpus.report.records_read,
        documents_kept: docs.len(),
        documents_skipped: corpus.report.skipped.len(),
        skipped_by_kind: corpus.report.skipped.iter().fold(Default::default(), |mut by_kind, s| {
            *by_kind.entry(s.kind.as_str()).or_default() += 1;
            by_kind
        }),
        documents_set_aside: docs.len() - vectorized.rows.len(),
        documents_undated: docs.iter().filter(|d| d.date.is_none()).count(),
        duplicate_groups,
        documents_duplicate: docs.iter().filter(|d| d.duplicate_of.is_some()).count(),
        documents_analysed: vectorized.rows.len(),
        boilerplate_chars: docs.iter().map(|d| d.boilerplate_chars as u64).sum(),
        repeated_chars: docs.iter().map(|d| d.repeated_chars as u64).sum(),
        periods: trends.terms.periods.len(),
        tokens: n_token_ids,
        distinct_terms: n_distinct_terms,
        vocabulary: vectorized.vocabulary.len(),
        tfidf_nonzeros: vectorized.entries,
    };
    let models = with_theme_model(
        models_summary(clustering.as_ref(), &topic_models),
        &theme_model,
        seeds.as_ref(),
        &vectorized.vocabulary.terms,
    );
    // Tokens, matrices and fitted models are all written now; the report and manifest need none of
    // them, so they go before the HTML report reads tables back.
    // (`{ vectorized }` moves the whole value, so its other fields drop here, not at the end.)
    let Vectorized { vocabulary, .. } = { vectorized };
    drop((tokenized, tokens, clustering, topic_models));
    crate::shards::release_memory();
    let vocabulary = &vocabulary;
    // The segmenter's dictionary serves the keywords too: built once per run.
    let keywords = if docs.len() <= KEYWORD_DOCUMENTS {
        let segmenter = match segmenter {
            Some(segmenter) => segmenter,
            None => self::segmenter(config, themes)?,
        };
        document_keywords(docs, &all_texts, KeywordExtractor::new(segmenter.into_jieba()))
    } else {
        Vec::new()
    };
    let theme_section = theme_model.as_ref().zip(seeds.as_ref()).map(|((model, stats), seeds)| {
        theme_model_report(model, stats, &seeds.lost, &seeds.dropped, &periods, &vocabulary.terms)
    });
    let notes = RunNotes {
        adjustments: &adjustments,
        undated: &corpus.report.undated,
        keywords: &keywords,
        theme_model: theme_section,
    };
    write_report(&out.join("report.md"), &counts, &trends, vocabulary, &chart_files, &notes)?;
    outputs.push("report.md".into());

    outputs.push("report.html".into());
    outputs.push("manifest.json".into());
    let threads = rayon::current_num_threads();
    let manifest = Manifest {
        tool: "themeshift",
        version: env!("CARGO_PKG_VERSION"),
        run_id: &run_id,
        options: config,
        seed: config.seed,
        threads,
        font: charts.font.clone(),
        counts: counts.clone(),
        ingest: &corpus.report,
        trends: trend_summary(&trends, vocabulary),
        models,
        adjustments: adjustments.clone(),
        outputs: outputs.clone(),
        stages: &stages.timings,
        sharding: &sharding,
    };
    write_manifest(&out.join("manifest.json"), &manifest)?;
    // Built from the tables and manifest just written, so it shows exactly what they hold.
    html::write_html_report(out)?;
    staging.commit()?;
    Ok(RunSummary {
        out: config.out.clone(),
        trends: manifest.trends.clone(),
        models: manifest.models.clone(),
        counts,
        report: corpus.report,
        stages: stages.timings,
        outputs,
        adjustments,
    })
}

/// tfidf.parquet's rows of a range of entries: from the matrix held here, or from the count rows
/// the shards holding `tokens` make, one shard's at a time.
fn tfidf_rows<'a>(
    v: &'a Vectorized,
    tokens: Option<&'a ShardTokens>,
    row_shards: &RowShards,
) -> Box<dyn Fn(std::ops::Range<usize>) -> Frame + Send + Sync + 'a> {
    let Some(tokens) = tokens else {
        return Box::new(|entries| tables::tfidf(&v.tfidf(), v.counts(), &v.rows, entries));
    };
    let fetch = move |rows: std::ops::Range<usize>| {
        let wanted = RowsWanted { vocabulary: v.vocabulary.terms.clone(), lexicon: LexiconIndex::new(&[]) };
        Ok(tokens.rows(&v.rows[rows], wanted, 0)?.counts)
    };
    // A few shards at a time, so that they make their rows side by side.
    let (bounds, last) = (&row_shards.bounds, row_shards.bounds.len() - 1);
    let chunks = (0..last).step_by(TFIDF_SHARDS_AT_ONCE);
    let chunks = chunks.map(|s| bounds[s]..bounds[(s + TFIDF_SHARDS_AT_ONCE).min(last)]).collect();
    let chunks = tables::TfidfByChunks::new(chunks, fetch, &v.idf, v.sublinear_tf, &v.rows);
    Box::new(move |entries| chunks.frame(entries))
}

/// Shards asked at once for their rows of the TF-IDF table when they hold the count rows: they
/// answer side by side, and the driver holds this many shards' rows at most.
const TFIDF_SHARDS_AT_ONCE: usize = 2;

/// A table's frame, as its builder returns it.
type Frame = polars::prelude::PolarsResult<polars::prelude::DataFrame>;

/// How a table's frame is made: whole, or (for a table of `rows` rows) one row range at a time;
/// `Send + Sync`, as the tables are written side by side.
enum TableBuild<'a> {
    Whole(Box<dyn Fn() -> Frame + Send + Sync + 'a>),
    InGroups(usize, Box<dyn Fn(std::ops::Range<usize>) -> Frame + Send + Sync + 'a>),
}

/// Count-matrix entries up to which the models, trends and tables are made side by side. Above it
/// they run one after another: at 8× the xwlb corpus (63 M entries) that lowered the driver's peak
/// of a sharded run by ~100 MiB at no cost in time (each stage and table write uses every thread
/// alone), while at 1× (8 M) side by side saves 0.3 s of 8.5.
const SIDE_BY_SIDE_ENTRIES: usize = 20_000_000;

/// `(a(), b())`: side by side, or one after the other with the first's freed memory given back
/// before the second begins.
fn both<A: Send, B: Send>(side_by_side: bool, a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    if side_by_side {
        return rayon::join(a, b);
    }
    let first = a();
    crate::shards::release_memory();
    (first, b())
}

/// Runs of at most this many documents list each document's keywords in the report.
const KEYWORD_DOCUMENTS: usize = 20;

/// Each document's title (or id) and its ten jieba TF-IDF keywords.
fn document_keywords(
    docs: &[crate::corpus::Document],
    texts: &[String],
    extractor: KeywordExtractor,
) -> Vec<(String, Vec<String>)> {
    docs.iter()
        .zip(texts)
        .map(|(d, text)| {
            let name = if d.title.is_empty() { d.id.clone() } else { d.title.clone() };
            let words = extractor.extract(&format!("{}\n{}", d.title, text), 10).into_iter().map(|k| k.word).collect();
            (name, words)
        })
        .collect()
}

/// The cluster and topic settings with every model the corpus cannot support left out, and why:
/// k groups need at least two analysed documents and two vocabulary terms per group, else the
/// model would be fitted to noise.
fn models_the_corpus_supports(
    config: &RunConfig,
    n_docs: usize,
    n_terms: usize,
) -> (ClusterConfig, TopicsConfig, Vec<String>) {
    let mut skipped = Vec::new();
    let supported = |k: usize| 2 * k <= n_docs && 2 * k <= n_terms;
    let needs = |what: &str, k: usize| {
        format!(
            "{what} k = {k} skipped: it needs at least {} analysed documents and {} vocabulary terms (2 per group); \
             this corpus has {n_docs} and {n_terms}",
            2 * k,
            2 * k
        )
    };
    let cluster = match &config.cluster {
        ClusterConfig::LsaKmeans(p) if !supported(p.k) => {
            skipped.push(needs("clusters", p.k));
            ClusterConfig::None
        }
        other => other.clone(),
    };
    let mut topics = config.topics.clone();
    if !topics.models.is_empty() {
        for &k in topics.k.iter().filter(|&&k| !supported(k)) {
            let names: Vec<&str> = topics.models.iter().map(|m| m.name()).collect();
            skipped.push(needs(&format!("topics ({})", names.join(", ")), k));
        }
        topics.k.retain(|&k| supported(k));
        if topics.k.is_empty() {
            topics.models.clear();
        }
    }
    (cluster, topics, skipped)
}

/// The models' summary with the theme model's: its topics, α, keyword shares π, time, the seed
/// documents it gave elsewhere (with the takers' top words from `terms`), and the seeds it could
/// not use.
fn with_theme_model(
    mut summary: serde_json::Value,
    model: &Option<(ThemeModel, Vec<TermStat>)>,
    seeds: Option<&Seeds>,
    terms: &[String],
) -> serde_json::Value {
    if let Some(seeds) = seeds {
        let fitted = model.as_ref().map(|(m, _)| {
            serde_json::json!({
                "themes": m.names[..m.n_key],
                "free_topics": m.names.len() - m.n_key,
                "alpha": m.alpha,
                "keyword_share_pi": m.pi,
                "iterations": m.iterations,
                "draws": m.draws,
                "chains": m.chains.iter().map(|&(seed, log_likelihood)| serde_json::json!({
                    "seed": seed, "log_likelihood": log_likelihood,
                })).collect::<Vec<_>>(),
                "agreement_across_chains": m.names[..m.n_key].iter().zip(&m.agreement)
                    .map(|(name, r)| (name.clone(), serde_json::json!(r))).collect::<serde_json::Map<_, _>>(),
                "unsettled_below": crate::topics::theme_model::UNSETTLED,
                "unsettled_themes": m.unsettled().into_iter().map(|t| &m.names[t]).collect::<Vec<_>>(),
                "seed_documents": m.names[..m.n_key].iter().zip(&m.seed_documents).map(|(name, s)| (name.clone(), serde_json::json!({
                    "documents": s.documents,
                    "taken_elsewhere": s.taken_elsewhere,
                    "taken_by": s.takers.iter().map(|&(topic, documents)| serde_json::json!({
                        "topic": m.names[topic], "label": m.labels[topic], "documents": documents,
                        "words": ThemeModel::words(&m.terms[topic], 5, terms),
                    })).collect::<Vec<_>>(),
                }))).collect::<serde_json::Map<_, _>>(),
                "seed_document_hits": crate::topics::theme_model::SEED_DOCUMENT_HITS,
                "taken_below_share": crate::topics::theme_model::TAKEN_BELOW,
                "tokens": m.tokens,
                "seconds": m.seconds,
                "token_iterations_per_second": (m.tokens * m.iterations * m.chains.len()) as f64 / m.seconds.max(1e-9),
            })
        });
        summary["theme_model"] = serde_json::json!({
            "fit": fitted,
            "lost_seeds": seeds.lost,
            "dropped_themes": seeds.dropped,
        });
    }
    summary
}

/// What a reader of the manifest wants first from the trends.
fn trend_summary(trends: &TrendResults, vocabulary: &Vocabulary) -> serde_json::Value {
    let list = |direction| -> Vec<String> {
        ranked(&trends.stats, direction).iter().take(30).map(|s| vocabulary.terms[s.term].clone()).collect()
    };
    let underpowered: Vec<&str> = trends
        .terms
        .periods
        .iter()
        .zip(&trends.underpowered)
        .filter(|(_, u)| **u)
        .map(|(p, _)| p.period.as_str())
        .collect();
    serde_json::json!({
        "emerging_terms": list("rising"),
        "fading_terms": list("falling"),
        "underpowered_periods": underpowered,
        "unseen_theme_terms": trends.unseen_theme_terms,
    })
}

/// The shipped lexicon (unless turned off) and the user's, in that order.
fn load_themes(config: &RunConfig) -> Result<Vec<Theme>> {
    let mut themes = Vec::new();
    if config.default_themes {
        themes.extend(parse_lexicon(CHINA_RUSSIA, "data/themes/china_russia.toml")?);
    }
    for path in &config.themes {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        themes.extend(parse_lexicon(&text, &path.display().to_string())?);
    }
    Ok(themes)
}

fn check_skips(corpus: &Corpus, strict: bool) -> Result<()> {
    let skipped = &corpus.report.skipped;
    if strict && !skipped.is_empty() {
        return Err(Error::Strict {
            count: skipped.len(),
            first: format!("{}: {}", skipped[0].origin, skipped[0].reason),
        });
    }
    if corpus.documents.is_empty() {
        let first = skipped.first().map_or(String::new(), |s| format!(" (first: {}: {})", s.origin, s.reason));
        return Err(Error::Config(format!(
            "no documents to analyse: all {} records read were skipped{first}",
            corpus.report.records_read
        )));
    }
    Ok(())
}

/// The JSONL file the demo corpus is written to: beside the output folder (`reports/demo-input/`
/// for `reports/demo`), since a run replaces its output folder whole.
pub fn demo_input(out: &Path) -> PathBuf {
    let name = out.file_name().map_or("demo".into(), |n| n.to_string_lossy().into_owned());
    out.with_file_name(format!("{name}-input")).join("demo_corpus.jsonl")
}
