use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use themeshift::config::RunConfig;
use themeshift::demo::write_demo_corpus;
use themeshift::ingest::FieldMap;
use themeshift::pipeline::{self, demo_input, RunSummary};
use themeshift::trends::Period;
use themeshift::vectorize::DocFreq;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Input files or folders (.jsonl, .txt, .md; folders are searched recursively). None: the demo corpus.
    #[arg(long, num_args = 1..)]
    input: Vec<PathBuf>,
    /// Output folder [default: reports/demo for the demo; required otherwise].
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Period::Year)]
    period: Period,
    /// Seed for everything random (the demo corpus today; sampling in later stages).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Worker threads [default: one per core].
    #[arg(long)]
    threads: Option<usize>,
    /// Also write tokens.parquet (each document's tokens).
    #[arg(long)]
    keep_tokens: bool,
    /// Extra jieba dictionary: lines of `word [freq] [tag]`. Repeatable.
    #[arg(long)]
    user_dict: Vec<PathBuf>,
    /// Font file with Chinese glyphs for the charts [default: search the system].
    #[arg(long)]
    font: Option<PathBuf>,
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
    /// JSONL field holding the document id.
    #[arg(long, default_value = "id")]
    id_field: String,
    #[arg(long, default_value = "date")]
    date_field: String,
    #[arg(long, default_value = "title")]
    title_field: String,
    #[arg(long, default_value = "text")]
    text_field: String,
    /// Stop with an error if any document has to be skipped.
    #[arg(long)]
    strict: bool,
    /// Lines in the term-trend chart (1–10).
    #[arg(long, default_value_t = 8)]
    chart_terms: usize,
    /// No progress on stderr.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let threads = args.threads.unwrap_or(0);
    if threads > 0 {
        // polars reads this once, when its pool first starts.
        std::env::set_var("POLARS_MAX_THREADS", threads.to_string());
    }
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().context("starting the thread pool")?;

    let demo = args.input.is_empty();
    let out = match (&args.out, demo) {
        (Some(out), _) => out.clone(),
        (None, true) => PathBuf::from("reports/demo"),
        (None, false) => anyhow::bail!("--out DIR is required with --input (the folder the tables and charts go to)"),
    };
    let mut inputs = args.input.clone();
    if demo {
        let path = demo_input(&out);
        write_demo_corpus(&path, args.seed).context("writing the demo corpus")?;
        if !args.quiet {
            eprintln!("[themeshift] no --input: running on the demo corpus written to {}", path.display());
        }
        inputs.push(path);
    }
    let mut config = RunConfig::new(inputs, out);
    config.fields =
        FieldMap { id: args.id_field, date: args.date_field, title: args.title_field, text: args.text_field };
    config.period = args.period;
    config.seed = args.seed;
    config.threads = threads;
    config.keep_tokens = args.keep_tokens;
    config.user_dicts = args.user_dict;
    config.font = args.font;
    config.vectorize.vocabulary.min_df = args.min_df;
    config.vectorize.vocabulary.max_df = args.max_df;
    config.vectorize.vocabulary.max_features = args.max_features;
    config.vectorize.sublinear_tf = args.sublinear_tf;
    config.strict = args.strict;
    config.chart_terms = args.chart_terms;
    config.quiet = args.quiet;

    let summary = pipeline::run(&config)?;
    print_summary(&summary);
    Ok(if summary.counts.documents_skipped > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn print_summary(s: &RunSummary) {
    let c = &s.counts;
    println!("themeshift run → {}", s.out.display());
    println!(
        "  documents: {} read, {} kept, {} skipped, {} undated (kept, outside the period tables)",
        c.records_read, c.documents_kept, c.documents_skipped, c.documents_undated
    );
    println!(
        "  tokens: {}; distinct terms: {}; vocabulary: {}; periods: {}",
        c.tokens, c.distinct_terms, c.vocabulary, c.periods
    );
    const SHOWN: usize = 10;
    for skip in s.report.skipped.iter().take(SHOWN) {
        println!("  skipped {}: {}", skip.origin, skip.reason);
    }
    for undated in s.report.undated.iter().take(SHOWN) {
        println!("  undated {} ({}): {}", undated.origin, undated.doc_id, undated.reason);
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
