//! Command line: one subcommand per file; each turns its arguments into a library call.

mod clusters;
mod common;
mod compare;
mod decode;
mod keywords;
mod refit;
pub mod run;
mod topics;

use std::ffi::OsString;

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

/// Run a command line (program name first) as the `themeshift` binary does, printing its output
/// and errors; returns the exit status: 0 done, 1 done but some documents were skipped, 2 error.
/// The Python package's `themeshift` command calls this too.
pub fn run_command_line<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { 2 } else { 0 };
        }
    };
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            2
        }
    }
}

fn dispatch(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Run(args) => run::run(*args),
        Command::Keywords(args) => keywords::run(args),
        Command::Decode(args) => decode::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Topics(args) => topics::run(args),
        Command::Clusters(args) => clusters::run(args),
    }
}
