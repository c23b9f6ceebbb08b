use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use themeshift::cluster::ClusterConfig;
use themeshift::config::{RunConfig, Study};
use themeshift::rerun::rerun_clusters;

#[derive(Debug, Args)]
pub struct ClustersArgs {
    /// Output folder of a `themeshift run` (its tfidf, vocabulary, documents and periods tables).
    run: PathBuf,
    /// Where the cluster tables go [default: the run folder, replacing its cluster tables].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Study file whose [cluster] section sets the method; flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    clusters: super::run::ClusterFlags,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long)]
    threads: Option<usize>,
    /// Font file with Chinese glyphs for the chart [default: search the system].
    #[arg(long)]
    font: Option<PathBuf>,
}

pub fn run(args: ClustersArgs) -> anyhow::Result<ExitCode> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build_global()
        .context("starting the thread pool")?;
    let mut config = RunConfig::new(Vec::new(), args.run.clone());
    if let Some(path) = &args.config {
        Study::load(path)?.apply(&mut config)?;
    }
    super::run::apply_model_flags(&mut config, &args.clusters, &super::run::TopicFlags::default())?;
    let ClusterConfig::LsaKmeans(params) = &config.cluster else {
        anyhow::bail!("no clustering asked for (--clusters 0 or method = \"none\")");
    };
    let out = args.out.unwrap_or_else(|| args.run.clone());
    let summary = rerun_clusters(&args.run, &out, params, args.seed, args.font.as_deref())?;
    println!("themeshift clusters → {} ({:.1} s)", summary.out.display(), summary.seconds);
    let c = &summary.models["clusters"];
    println!(
        "  lsa-kmeans k = {}: {} iterations, inertia {:.1}",
        c["k"],
        c["iterations"],
        c["inertia"].as_f64().unwrap_or(f64::NAN)
    );
    println!("  wrote: {}", summary.outputs.join(", "));
    Ok(ExitCode::SUCCESS)
}
