use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::cluster::{ClusterConfig, LsaKmeans};
use crate::config::{RunConfig, Study};
use crate::demo::write_demo_corpus;
use crate::ingest::date::parse_date;
use crate::pipeline::{self, demo_input, RunSummary};
use crate::topics::keyatm::KeyAtmParams;
use crate::topics::lda::LdaParams;
use crate::topics::nmf::NmfParams;
use crate::topics::TopicMethod;
use crate::trends::stats::Correction;
use crate::trends::{Period, PeriodSpec};
use crate::vectorize::DocFreq;
use crate::write::report::DATING_HINT;

use super::common::{ChartArgs, Common};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Input files or folders (.jsonl, .csv, .tsv, .parquet, .txt, .md, each optionally .gz; folders are
    /// searched recursively). None, and no study file: the demo corpus.
    #[arg(long, num_args = 1..)]
    input: Vec<PathBuf>,
    /// Study file (TOML) with an [input] section; flags given here override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output folder [default: reports/demo for the demo; required otherwise].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Period of the trend tables [default: year, or the study file's named [periods]].
    #[arg(long, value_enum)]
    period: Option<Period>,
    /// Theme lexicon (TOML) added to the shipped China–Russia one. Repeatable.
    #[arg(long)]
    themes: Vec<PathBuf>,
    /// Leave out the shipped China–Russia theme lexicon.
    #[arg(long)]
    no_default_themes: bool,
    /// Change-point penalty in units of σ̂²·ln(n): higher finds fewer change points.
    #[arg(long, default_value_t = 3.0)]
    change_penalty: f64,
    /// Bootstrap replicates for the 95% intervals.
    #[arg(long, default_value_t = 200)]
    bootstrap_replicates: usize,
    /// Periods with fewer documents are flagged as under-powered.
    #[arg(long, default_value_t = 30)]
    min_period_docs: u32,
    /// Terms rarer than this in the corpus get no trend test.
    #[arg(long, default_value_t = 20)]
    trend_min_count: u64,
    /// G² correction, as quanteda's textstat_keyness.
    #[arg(long, value_enum, default_value_t = Correction::Default)]
    correction: Correction,
    /// Also write tokens.parquet (each document's tokens).
    #[arg(long)]
    keep_tokens: bool,
    /// Extra jieba dictionary: lines of `word [freq] [tag]`. Repeatable.
    #[arg(long)]
    user_dict: Vec<PathBuf>,
    /// Keep terms in at least this many documents (or this share, e.g. 0.001).
    #[arg(long, default_value = "2")]
    min_df: DocFreq,
    /// Keep terms in at most this many documents (or this share, e.g. 0.5).
    #[arg(long, default_value = "1.0")]
    max_df: DocFreq,
    /// Keep only this many most frequent terms.
    #[arg(long)]
    max_features: Option<usize>,
    /// Use 1 + ln(count) as term frequency in TF-IDF.
    #[arg(long)]
    sublinear_tf: bool,
    /// Field (JSONL) or column (CSV, Parquet) holding the document id [default: id].
    #[arg(long)]
    id_field: Option<String>,
    /// … the date [default: date].
    #[arg(long)]
    date_field: Option<String>,
    /// … the title [default: title].
    #[arg(long)]
    title_field: Option<String>,
    /// … the text [default: text].
    #[arg(long)]
    text_field: Option<String>,
    /// … the source or outlet [default: the input file].
    #[arg(long)]
    source_field: Option<String>,
    /// Extra metadata columns to keep in documents.parquet (comma-separated).
    #[arg(long, value_delimiter = ',')]
    extra_fields: Vec<String>,
    /// Force the encoding of text inputs: utf-8, gb18030 (GBK), big5, utf-16le, utf-16be [default: detect].
    #[arg(long)]
    encoding: Option<String>,
    /// Skip (and count) files that do not decode instead of stopping.
    #[arg(long)]
    skip_bad: bool,
    /// Skip (and count) documents longer than this many MB; a run needs ~10× its largest document in memory [default: 256].
    #[arg(long, value_name = "MB")]
    max_document_mb: Option<u64>,
    /// Megabytes of input per shard (the unit of a sharded run on Ray; tables do not depend on it) [default: 64].
    #[arg(long, value_name = "MB")]
    shard_mb: Option<f64>,
    /// Date for documents that no field, header, file name or text dates.
    #[arg(long, value_parser = parse_date)]
    default_date: Option<chrono::NaiveDate>,
    /// CSV with a header and rows of document,date (document: id, file name or path); overrides other dates.
    #[arg(long)]
    dates: Option<PathBuf>,
    /// File of extra boilerplate patterns (regular expressions, one a line). Repeatable.
    #[arg(long)]
    boilerplate: Vec<PathBuf>,
    /// Analyse every member of a near-duplicate group, not only the earliest.
    #[arg(long)]
    keep_duplicates: bool,
    /// Share of shared character shingles from which two documents are near-duplicates.
    #[arg(long, default_value_t = 0.8)]
    duplicate_threshold: f64,
    /// Dated documents further apart than this many days are never duplicates (reruns come within weeks).
    #[arg(long, default_value_t = 90)]
    duplicate_window: i64,
    /// Stop with an error if any document has to be skipped.
    #[arg(long)]
    strict: bool,
    /// Lines in the term-trend chart (1–10).
    #[arg(long, default_value_t = 8)]
    chart_terms: usize,
    /// Measure the themes with the keyword-assisted topic model (keyATM) seeded by their lexicons.
    #[arg(long)]
    theme_model: bool,
    /// Free (unseeded) topics beside the seeded themes [default: 30; implies --theme-model].
    #[arg(long)]
    free_topics: Option<usize>,
    /// Gibbs sweeps of the theme model (the second half gives the posterior draws) [default: 300; implies --theme-model].
    #[arg(long)]
    theme_model_iterations: Option<usize>,
    /// Independent chains of the theme model, pooled; the report says how alike they found each theme [default: 3; implies --theme-model].
    #[arg(long)]
    theme_model_chains: Option<usize>,
    #[command(flatten)]
    clusters: ClusterFlags,
    #[command(flatten)]
    models: TopicFlags,
    #[command(flatten)]
    chart: ChartArgs,
    #[command(flatten)]
    common: Common,
}

pub fn run(args: RunArgs) -> anyhow::Result<u8> {
    args.common.start()?;
    let config = resolve(args)?;
    let summary = pipeline::run(&config)?;
    print_summary(&summary);
    Ok(u8::from(summary.counts.documents_skipped > 0))
}

/// `themeshift run`'s arguments alone (without the program name), for callers other than the
/// command line — the Python package parses its keyword arguments with this, so both agree.
#[derive(Debug, clap::Parser)]
#[command(name = "run", no_binary_name = true)]
pub struct RunCommand {
    #[command(flatten)]
    pub args: RunArgs,
}

impl RunArgs {
    /// Worker threads asked for (0: one per core).
    pub fn threads(&self) -> usize {
        self.common.threads.unwrap_or(0)
    }
}

/// The run's resolved options: the study file, then the flags over it (and the demo corpus
/// written when there is no input).
pub fn resolve(args: RunArgs) -> anyhow::Result<RunConfig> {
    let (seed, quiet) = (args.common.seed, args.common.quiet);

    let study = args.config.as_deref().map(Study::load).transpose()?;
    let demo = args.input.is_empty() && study.as_ref().is_none_or(|s| s.input.paths.is_empty());
    let out = match (&args.out, demo) {
        (Some(out), _) => out.clone(),
        (None, true) => PathBuf::from("reports/demo"),
        (None, false) => anyhow::bail!("--out DIR is required with --input (the folder the tables and charts go to)"),
    };
    let mut inputs = args.input.clone();
    if demo {
        let path = demo_input(&out);
        write_demo_corpus(&path, seed).context("writing the demo corpus")?;
        if !quiet {
            eprintln!("[themeshift] no --input: running on the demo corpus written to {}", path.display());
        }
        inputs.push(path);
    }
    let mut config = RunConfig::new(inputs, out);
    if let Some(study) = &study {
        study.apply(&mut config)?;
    }
    let fields = &mut config.ingest.fields;
    for (slot, flag) in [
        (&mut fields.id, args.id_field),
        (&mut fields.date, args.date_field),
        (&mut fields.title, args.title_field),
        (&mut fields.text, args.text_field),
    ] {
        if let Some(name) = flag {
            *slot = name;
        }
    }
    fields.source = args.source_field.or(fields.source.take());
    fields.extra.extend(args.extra_fields);
    config.ingest.encoding = args.encoding.or(config.ingest.encoding.take());
    config.ingest.skip_bad |= args.skip_bad;
    config.ingest.max_document_mb = args.max_document_mb.or(config.ingest.max_document_mb);
    config.ingest.default_date = args.default_date.or(config.ingest.default_date);
    config.ingest.dates_file = args.dates.or(config.ingest.dates_file.take());
    config.boilerplate.extend(args.boilerplate);
    config.keep_duplicates = args.keep_duplicates;
    config.duplicate_threshold = args.duplicate_threshold;
    config.duplicate_window_days = args.duplicate_window;
    if let Some(period) = args.period {
        config.periods = PeriodSpec::Fixed(period);
    }
    config.themes = args.themes;
    config.default_themes = !args.no_default_themes;
    config.trends.change_penalty = args.change_penalty;
    config.trends.bootstrap_replicates = args.bootstrap_replicates;
    config.trends.min_period_docs = args.min_period_docs;
    config.trends.min_count = args.trend_min_count;
    config.trends.correction = args.correction;
    config.seed = seed;
    config.threads = args.common.threads.unwrap_or(0);
    config.keep_tokens = args.keep_tokens;
    config.shard_mb = args.shard_mb.unwrap_or(config.shard_mb);
    config.user_dicts = args.user_dict;
    args.chart.apply(&mut config)?;
    config.vectorize.vocabulary.min_df = args.min_df;
    config.vectorize.vocabulary.max_df = args.max_df;
    config.vectorize.vocabulary.max_features = args.max_features;
    config.vectorize.sublinear_tf = args.sublinear_tf;
    config.strict = args.strict;
    config.chart_terms = args.chart_terms;
    config.quiet = quiet;
    if args.theme_model
        || args.free_topics.is_some()
        || args.theme_model_iterations.is_some()
        || args.theme_model_chains.is_some()
    {
        let params = config.theme_model.get_or_insert_with(KeyAtmParams::default);
        if let Some(free) = args.free_topics {
            params.free_topics = free;
        }
        if let Some(iterations) = args.theme_model_iterations {
            params.iterations = iterations;
            params.burn_in = iterations / 2;
            params.thin = (iterations / 100).max(1);
        }
        if let Some(chains) = args.theme_model_chains {
            params.chains = chains;
        }
    }
    apply_model_flags(&mut config, &args.clusters, &args.models)?;
    Ok(config)
}

/// The clustering flags `run` and `clusters` share.
#[derive(Debug, Args, Default)]
pub struct ClusterFlags {
    /// Number of k-means clusters (0: no clustering) [default: 20, or the study file's [cluster]].
    #[arg(long)]
    clusters: Option<usize>,
    /// LSA dimensions the documents are clustered in [default: 50].
    #[arg(long)]
    lsa_dimensions: Option<usize>,
}

/// The topic-model flags `run` and `topics` share.
#[derive(Debug, Args, Default)]
pub struct TopicFlags {
    /// Topic models to fit, comma-separated: nmf, lda, or none [default: nmf, or the study file's [topics]].
    #[arg(long, value_delimiter = ',')]
    topics: Vec<String>,
    /// Numbers of topics, comma-separated; several sweep k and compare coherence [default: 20].
    #[arg(long, value_delimiter = ',')]
    k: Vec<usize>,
    /// Gibbs sweeps of LDA (the last third are averaged) [default: 300].
    #[arg(long)]
    lda_iterations: Option<usize>,
}

/// Model flags override the study file's [cluster] and [topics] sections.
pub fn apply_model_flags(config: &mut RunConfig, clusters: &ClusterFlags, flags: &TopicFlags) -> anyhow::Result<()> {
    let ClusterFlags { clusters, lsa_dimensions } = *clusters;
    let TopicFlags { topics, k, lda_iterations } = flags;
    if clusters == Some(0) {
        config.cluster = ClusterConfig::None;
    } else if clusters.is_some() || lsa_dimensions.is_some() {
        let mut params = match &config.cluster {
            ClusterConfig::LsaKmeans(p) => p.clone(),
            ClusterConfig::None => LsaKmeans::default(),
        };
        params.k = clusters.unwrap_or(params.k);
        params.dimensions = lsa_dimensions.unwrap_or(params.dimensions);
        config.cluster = ClusterConfig::LsaKmeans(params);
    }
    if !topics.is_empty() {
        let mut models = Vec::new();
        for name in topics {
            models.push(match name.trim() {
                "nmf" => TopicMethod::Nmf(NmfParams::default()),
                "lda" => TopicMethod::Lda(LdaParams::default()),
                "none" => continue,
                other => anyhow::bail!("--topics {other}: use nmf, lda or none"),
            });
        }
        config.topics.models = models;
    }
    if !k.is_empty() {
        config.topics.k = k.to_vec();
    }
    if let Some(iterations) = *lda_iterations {
        for model in &mut config.topics.models {
            if let TopicMethod::Lda(p) = model {
                // Keep the share of averaged sweeps: the last third.
                p.iterations = iterations;
                p.burn_in = iterations * 2 / 3;
            }
        }
    }
    Ok(())
}

fn print_summary(s: &RunSummary) {
    let c = &s.counts;
    println!("themeshift run → {}", s.out.display());
    let kinds: Vec<String> = c.skipped_by_kind.iter().map(|(kind, n)| format!("{kind} {n}")).collect();
    let kinds = if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) };
    println!(
        "  documents: {} read, {} kept, {} skipped{kinds}, {} undated (kept, outside the period tables)",
        c.records_read, c.documents_kept, c.documents_skipped, c.documents_undated
    );
    println!(
        "  duplicates: {} groups, {} documents counted through an earlier member; {} documents analysed",
        c.duplicate_groups, c.documents_duplicate, c.documents_analysed
    );
    let sources: Vec<String> = s.report.date_sources.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("  dates from: {}", sources.join(", "));
    println!("  removed: {} boilerplate characters, {} in repeated paragraphs", c.boilerplate_chars, c.repeated_chars);
    let list = |key: &str| {
        let words: Vec<&str> =
            s.trends[key].as_array().into_iter().flatten().filter_map(|v| v.as_str()).take(12).collect();
        if words.is_empty() {
            "—".to_string()
        } else {
            words.join(" ")
        }
    };
    println!("  emerging terms: {}", list("emerging_terms"));
    println!("  fading terms: {}", list("fading_terms"));
    if s.trends["underpowered_periods"].as_array().is_some_and(|a| !a.is_empty()) {
        println!("  under-powered periods (few documents): {}", list("underpowered_periods"));
    }
    println!(
        "  tokens: {}; distinct terms: {}; vocabulary: {}; periods: {}",
        c.tokens, c.distinct_terms, c.vocabulary, c.periods
    );
    if let Some(c) = s.models["clusters"].as_object() {
        println!("  clusters: {} (LSA + k-means, {} iterations)", c["k"], c["iterations"]);
    }
    for t in s.models["topics"].as_array().into_iter().flatten() {
        let npmi = t["coherence"]["c_npmi"].as_f64().map_or(String::new(), |v| format!(", c_npmi {v:.3}"));
        println!(
            "  topics: {} k = {} ({} iterations, {:.1} s{npmi})",
            t["model"].as_str().unwrap_or("?"),
            t["k"],
            t["iterations"],
            t["seconds"].as_f64().unwrap_or(0.0)
        );
    }
    const SHOWN: usize = 10;
    for skip in s.report.skipped.iter().take(SHOWN) {
        println!("  skipped {}: {}", skip.origin, skip.reason);
    }
    for link in &s.report.links_not_followed {
        println!("  not followed (a folder link loop): {link}");
    }
    if let Some(first) = s.report.ignored_files.first() {
        let n = s.report.ignored_files.len();
        println!("  ignored: {n} file(s) of a type no reader handles, e.g. {first} (listed in manifest.json)");
    }
    for undated in s.report.undated.iter().take(SHOWN) {
        println!("  undated {} ({}): {}", undated.origin, undated.doc_id, undated.reason);
    }
    if !s.report.undated.is_empty() {
        println!("  to use the undated documents in the trends, {DATING_HINT}");
    }
    for note in &s.adjustments {
        println!("  note: {note}");
    }
    let hidden = s.report.skipped.len().saturating_sub(SHOWN) + s.report.undated.len().saturating_sub(SHOWN);
    if hidden > 0 {
        println!("  … {hidden} more in manifest.json");
    }
    let total: f64 = s.stages.iter().map(|t| t.seconds).sum();
    let stages: Vec<String> = s.stages.iter().map(|t| format!("{} {:.2}s", t.stage, t.seconds)).collect();
    println!("  time: {total:.2}s ({})", stages.join(", "));
    println!("  wrote: {}", s.outputs.join(", "));
}
