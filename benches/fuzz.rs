//! Long fuzzing runs (see tests/fuzz/mod.rs): `cargo bench --bench fuzz -- [MINUTES] [PARSER…]`
//! runs each parser for MINUTES (default 10) on cases past those `cargo test` covers, and prints
//! cases, rate and failures per parser. A failing input is kept under `tests/fixtures/fuzz/` so
//! that every later `cargo test` replays it; a case running over 10 s counts as a hang.

#[path = "../tests/fuzz/mod.rs"]
mod fuzz;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `cargo test` covers cases from 0; long runs start here so they add new ones.
const FIRST_CASE: u64 = 1_000_000_000;
const HANG: Duration = Duration::from_secs(10);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let minutes: f64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(10.0);
    let named: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    let parsers: Vec<&str> = fuzz::PARSERS.iter().copied().filter(|p| named.is_empty() || named.contains(p)).collect();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    std::panic::set_hook(Box::new(|_| {}));
    let mut failed = 0;
    for parser in parsers {
        let dir = tempfile::tempdir().unwrap();
        let start = Instant::now();
        let (mut cases, mut failures) = (0u64, 0u64);
        while start.elapsed().as_secs_f64() < minutes * 60.0 {
            let case = FIRST_CASE + cases;
            let input = fuzz::generate(parser, case);
            let done = Arc::new(AtomicBool::new(false));
            let watchdog = hang_watchdog(parser, case, done.clone());
            let verdict = fuzz::run_case(parser, &input, dir.path());
            done.store(true, Ordering::Relaxed);
            watchdog.thread().unpark();
            if let Err(why) = verdict {
                failures += 1;
                let kept = fuzz::keep_failure(&fixtures, parser, &input);
                println!("{parser} case {case}: {why} (kept as {})", kept.display());
            }
            let _ = std::fs::remove_file(dir.path().join(&input.name));
            cases += 1;
        }
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "{parser:12} {cases:>9} cases in {:.1} min ({:.0}/s), {failures} failing",
            seconds / 60.0,
            cases as f64 / seconds
        );
        failed += failures;
    }
    std::process::exit(if failed == 0 { 0 } else { 1 });
}

/// A thread that reports and ends the process if case `case` is still running after [`HANG`]
/// (a hang cannot be caught, only noticed).
fn hang_watchdog(parser: &'static str, case: u64, done: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let start = Instant::now();
        while !done.load(Ordering::Relaxed) {
            if start.elapsed() > HANG {
                println!("{parser} case {case}: still running after {} s — a hang", HANG.as_secs());
                std::process::exit(3);
            }
            std::thread::park_timeout(Duration::from_millis(500));
        }
    })
}
