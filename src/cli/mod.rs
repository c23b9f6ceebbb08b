//! Command line: one subcommand per file; each turns its arguments into a library call.

mod clusters;
mod common;
mod compare;
mod decode;
mod effects;
mod keywords;
mod refit;
pub mod run;
mod topics;

use std::ffi::OsString;
use std::sync::atomic::{AtomicI32, Ordering};

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
    /// Effects of time and covariates on the theme model's shares (method of composition).
    Effects(effects::EffectsArgs),
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
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch(cli.command)));
    match outcome {
        Ok(Ok(code)) => code,
        Ok(Err(error)) => {
            eprintln!("error: {error:#}");
            2
        }
        // Unwinding dropped the run's staging folder and lock: the previous output is as it was.
        Err(payload) if payload.downcast_ref::<crate::progress::Cancelled>().is_some() => {
            let signal = STOPPED_BY.load(Ordering::Relaxed);
            let name = if signal == libc::SIGTERM { "SIGTERM" } else { "interrupt" };
            eprintln!(
                "themeshift: stopped by {name}; nothing was written (a previous run in the output folder is untouched)"
            );
            128 + if signal == 0 { libc::SIGINT } else { signal } as u8
        }
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

static STOPPED_BY: AtomicI32 = AtomicI32::new(0);

/// Make Ctrl-C (SIGINT) and SIGTERM stop a command cleanly: the running stages unwind at their next
/// step ([`crate::progress::check`]), the staging folder is removed and the exit status is 128 + the
/// signal, as a shell expects. A second signal while stopping ends the process at once (the next
/// run removes what it left). For the binary only: a host program keeps its own handlers.
pub fn stop_on_signals() {
    extern "C" fn on_signal(signal: libc::c_int) {
        // Only async-signal-safe work here: atomics and _exit.
        if STOPPED_BY.swap(signal, Ordering::Relaxed) != 0 {
            unsafe { libc::_exit(128 + signal) };
        }
        crate::progress::cancel();
    }
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only touches atomics and calls _exit, both async-signal-safe.
        unsafe { libc::signal(signal, handler) };
    }
}

fn dispatch(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Run(args) => run::run(*args),
        Command::Keywords(args) => keywords::run(args),
        Command::Decode(args) => decode::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Effects(args) => effects::run(args),
        Command::Topics(args) => topics::run(args),
        Command::Clusters(args) => clusters::run(args),
    }
}
