//! The flags every subcommand takes the same way: `--quiet`, `--threads`, `--seed`; and, where a
//! subcommand draws, `--charts` and `--font`.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::config::RunConfig;
use crate::write::charts::ChartFormat;

#[derive(Debug, Args, Clone)]
pub struct Common {
    /// No progress or notes on stderr (errors are still printed).
    #[arg(long, short)]
    pub quiet: bool,
    /// Worker threads [default: one per core].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seed for everything random; the same seed gives the same tables at any thread count.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

impl Common {
    /// Start the thread pools and, on a terminal without --quiet, the progress line.
    pub fn start(&self) -> anyhow::Result<()> {
        let threads = self.threads.unwrap_or(0);
        if threads > 0 {
            // polars reads this once, when its pool first starts.
            std::env::set_var("POLARS_MAX_THREADS", threads.to_string());
        }
        rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().context("starting the thread pool")?;
        crate::progress::enable(!self.quiet && std::io::stderr().is_terminal());
        Ok(())
    }
}

#[derive(Debug, Args, Clone, Default)]
pub struct ChartArgs {
    /// Chart formats: png, svg, png,svg, or none — tables and reports only, no font needed
    /// [default: png, or the study file's [charts]].
    #[arg(long, alias = "chart-format")]
    pub charts: Option<String>,
    /// Font file with Chinese glyphs for the charts [default: $THEMESHIFT_FONT, fontconfig, font folders].
    #[arg(long)]
    pub font: Option<PathBuf>,
}

impl ChartArgs {
    /// Put the flags over the study file's `[charts]` (already in `config`).
    pub fn apply(&self, config: &mut RunConfig) -> anyhow::Result<()> {
        if let Some(text) = &self.charts {
            config.charts = ChartFormat::parse_list(text).map_err(|e| anyhow::anyhow!("--charts: {e}"))?;
        }
        config.font = self.font.clone().or(config.font.take());
        Ok(())
    }
}
