use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use themeshift::config::{RunConfig, Study};

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
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long)]
    threads: Option<usize>,
    /// Font file with Chinese glyphs for the chart [default: search the system].
    #[arg(long)]
    font: Option<PathBuf>,
}

impl RefitArgs {
    /// Start the thread pool, then read the study file and the model flags over it.
    pub fn config(&self, clusters: &ClusterFlags, topics: &TopicFlags) -> anyhow::Result<RunConfig> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads.unwrap_or(0))
            .build_global()
            .context("starting the thread pool")?;
        let mut config = RunConfig::new(Vec::new(), self.run.clone());
        if let Some(path) = &self.config {
            Study::load(path)?.apply(&mut config)?;
        }
        apply_model_flags(&mut config, clusters, topics)?;
        Ok(config)
    }

    pub fn out(&self) -> &Path {
        self.out.as_deref().unwrap_or(&self.run)
    }

    pub fn font(&self) -> Option<&Path> {
        self.font.as_deref()
    }
}
