use clap::Args;

use crate::cluster::ClusterConfig;
use crate::rerun::rerun_clusters;

use super::refit::RefitArgs;
use super::run::{ClusterFlags, TopicFlags};

#[derive(Debug, Args)]
pub struct ClustersArgs {
    #[command(flatten)]
    refit: RefitArgs,
    #[command(flatten)]
    clusters: ClusterFlags,
}

pub fn run(args: ClustersArgs) -> anyhow::Result<u8> {
    let ClustersArgs { refit, clusters } = args;
    let config = refit.config(&clusters, &TopicFlags::default())?;
    let ClusterConfig::LsaKmeans(params) = &config.cluster else {
        anyhow::bail!("no clustering asked for (--clusters 0 or method = \"none\")");
    };
    let summary = rerun_clusters(&refit.run, refit.out(), params, refit.common.seed, &refit.charts(&config)?)?;
    println!("themeshift clusters → {} ({:.1} s)", summary.out.display(), summary.seconds);
    let c = &summary.models["clusters"];
    let inertia = c["inertia"].as_f64().unwrap_or(f64::NAN);
    println!("  lsa-kmeans k = {}: {} iterations, inertia {inertia:.1}", c["k"], c["iterations"]);
    println!("  wrote: {}", summary.outputs.join(", "));
    Ok(0)
}
