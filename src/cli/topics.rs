use clap::Args;

use crate::rerun::rerun_topics;

use super::refit::RefitArgs;
use super::run::{ClusterFlags, TopicFlags};

#[derive(Debug, Args)]
pub struct TopicsArgs {
    #[command(flatten)]
    refit: RefitArgs,
    #[command(flatten)]
    models: TopicFlags,
}

pub fn run(args: TopicsArgs) -> anyhow::Result<u8> {
    let TopicsArgs { refit, models } = args;
    let config = refit.config(&ClusterFlags::default(), &models)?;
    let summary = rerun_topics(&refit.run, refit.out(), &config.topics, refit.common.seed, &refit.charts(&config)?)?;
    println!("themeshift topics → {} ({:.1} s)", summary.out.display(), summary.seconds);
    for t in summary.models["topics"].as_array().into_iter().flatten() {
        let npmi = t["coherence"]["c_npmi"].as_f64().map_or(String::new(), |v| format!(", c_npmi {v:.3}"));
        println!("  {} k = {}: {} iterations{npmi}", t["model"].as_str().unwrap_or("?"), t["k"], t["iterations"]);
    }
    if summary.without_tokens {
        println!("  no coherence: {} has no tokens.parquet (run with --keep-tokens)", refit.run.display());
    }
    println!("  wrote: {}", summary.outputs.join(", "));
    Ok(0)
}
