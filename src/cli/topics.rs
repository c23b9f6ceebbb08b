use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use themeshift::config::{RunConfig, Study};
use themeshift::rerun::rerun_topics;

#[derive(Debug, Args)]
pub struct TopicsArgs {
    /// Output folder of a `themeshift run` (its tfidf, vocabulary, documents and periods tables;
    /// tokens.parquet, from `run --keep-tokens`, for coherence).
    run: PathBuf,
    /// Where the topic tables go [default: the run folder, replacing its topic tables].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Study file whose [topics] section sets the models; flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    models: super::run::TopicFlags,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long)]
    threads: Option<usize>,
    /// Font file with Chinese glyphs for the chart [default: search the system].
    #[arg(long)]
    font: Option<PathBuf>,
}

pub fn run(args: TopicsArgs) -> anyhow::Result<ExitCode> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build_global()
        .context("starting the thread pool")?;
    let mut config = RunConfig::new(Vec::new(), args.run.clone());
    if let Some(path) = &args.config {
        Study::load(path)?.apply(&mut config)?;
    }
    super::run::apply_model_flags(&mut config, &super::run::ClusterFlags::default(), &args.models)?;
    let out = args.out.unwrap_or_else(|| args.run.clone());
    let summary = rerun_topics(&args.run, &out, &config.topics, args.seed, args.font.as_deref())?;
    println!("themeshift topics → {} ({:.1} s)", summary.out.display(), summary.seconds);
    for t in summary.models["topics"].as_array().into_iter().flatten() {
        let npmi = t["coherence"]["c_npmi"].as_f64().map_or(String::new(), |v| format!(", c_npmi {v:.3}"));
        println!("  {} k = {}: {} iterations{npmi}", t["model"].as_str().unwrap_or("?"), t["k"], t["iterations"]);
    }
    if summary.without_tokens {
        println!("  no coherence: {} has no tokens.parquet (run with --keep-tokens)", args.run.display());
    }
    println!("  wrote: {}", summary.outputs.join(", "));
    Ok(ExitCode::SUCCESS)
}
