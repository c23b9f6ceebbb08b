use std::path::{Path, PathBuf};

use clap::Args;

use crate::config::{RunConfig, Study};
use crate::write::charts::Charts;

use super::common::{ChartArgs, Common};

use super::run::{apply_model_flags, ClusterFlags, TopicFlags};

/// What `topics` and `clusters` share: the run to re-fit from, where to write, how.
#[derive(Debug, Args)]
pub struct RefitArgs {
    /// Output folder of a `themeshift run` (its tfidf, vocabulary, documents and periods tables;
    /// for topic coherence also tokens.parquet, from `run --keep-tokens`).
    pub run: PathBuf,
    /// Where the tables go [default: the run folder, replacing its tables of this kind].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Study file whose [cluster] / [topics] section sets the models; flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    chart: ChartArgs,
    #[command(flatten)]
    pub common: Common,
}

impl RefitArgs {
    /// Start the thread pool, then read the study file and the model flags over it.
    pub fn config(&self, clusters: &ClusterFlags, topics: &TopicFlags) -> anyhow::Result<RunConfig> {
        self.common.start()?;
        let mut config = RunConfig::new(Vec::new(), self.run.clone());
        if let Some(path) = &self.config {
            Study::load(path)?.apply(&mut config)?;
        }
        apply_model_flags(&mut config, clusters, topics)?;
        self.chart.apply(&mut config)?;
        Ok(config)
    }

    pub fn out(&self) -> &Path {
        self.out.as_deref().unwrap_or(&self.run)
    }

    /// Find the chart font (unless charts are off) before any work.
    pub fn charts(&self, config: &RunConfig) -> anyhow::Result<Charts> {
        Ok(Charts::prepare(&config.charts, config.font.as_deref())?)
    }
}
