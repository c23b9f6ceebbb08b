//! Command line: one subcommand per file; each turns its arguments into a library call.

mod clusters;
mod common;
mod compare;
mod decode;
mod keywords;
mod refit;
mod run;
mod topics;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "themeshift",
    version,
    about = "Topic and trend analysis of dated Chinese text: corpus in, Parquet tables and charts out"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the pipeline on a corpus (or, with no --input, on the built-in demo corpus).
    Run(Box<run::RunArgs>),
    /// jieba-style TF-IDF keywords of one document.
    Keywords(keywords::KeywordsArgs),
    /// Re-fit topic models (another k, method or seed) from a previous run's tables.
    Topics(topics::TopicsArgs),
    /// Re-fit the clusters (another k, dimensions or seed) from a previous run's tables.
    Clusters(clusters::ClustersArgs),
    /// Keyness between two periods of a previous run (G², log ratio).
    Compare(compare::CompareArgs),
    /// Print a file decoded to UTF-8 (and, on stderr, the encoding detected).
    Decode(decode::DecodeArgs),
}

/// Exit codes: 0 done, 1 done but some documents were skipped, 2 error.
pub fn main() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Run(args) => run::run(*args),
        Command::Keywords(args) => keywords::run(args),
        Command::Decode(args) => decode::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Topics(args) => topics::run(args),
        Command::Clusters(args) => clusters::run(args),
    }
}
