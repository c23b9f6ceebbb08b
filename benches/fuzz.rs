//! Long fuzzing runs (see tests/fuzz/mod.rs): `cargo bench --bench fuzz -- [MINUTES] [PARSER…]`
//! runs each parser for MINUTES (default 10) on cases past those `cargo test` covers, and prints
//! cases, rate and failures per parser. A failing input is kept under `tests/fixtures/fuzz/` so
//! that every later `cargo test` replays it; a case running over 10 s counts as a hang.

#[path = "../tests/fuzz/mod.rs"]
mod fuzz;

use std::path::Path;
use std::sync::{Arc, Mutex};
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
    // THEMESHIFT_FUZZ_TRACE=FILE writes each case's number there before running it, so the case
    // that kills the process (a stack overflow, an abort) is the file's last line.
    let mut trace = std::env::var_os("THEMESHIFT_FUZZ_TRACE").map(|f| std::fs::File::create(f).unwrap());
    std::panic::set_hook(Box::new(|_| {}));
    let watchdog = Watchdog::start();
    let mut failed = 0;
    for parser in parsers {
        let dir = tempfile::tempdir().unwrap();
        let start = Instant::now();
        let (mut cases, mut failures) = (0u64, 0u64);
        while start.elapsed().as_secs_f64() < minutes * 60.0 {
            let case = FIRST_CASE + cases;
            let input = fuzz::generate(parser, case);
            if let Some(file) = trace.as_mut() {
                use std::io::Write;
                writeln!(file, "{parser} {case}").unwrap();
            }
            watchdog.started(parser, case);
            let verdict = fuzz::run_case(parser, &input, dir.path());
            watchdog.finished();
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

/// One thread watching the running case: a case still running after [`HANG`] is reported and
/// ends the process (a hang cannot be caught, only noticed).
struct Watchdog {
    running: Arc<Mutex<Option<Running>>>,
}

/// The parser and number of the running case, and when it started.
type Running = (&'static str, u64, Instant);

impl Watchdog {
    fn start() -> Watchdog {
        let running: Arc<Mutex<Option<Running>>> = Arc::default();
        let watched = running.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            if let Some((parser, case, start)) = *watched.lock().unwrap() {
                if start.elapsed() > HANG {
                    println!("{parser} case {case}: still running after {} s — a hang", HANG.as_secs());
                    std::process::exit(3);
                }
            }
        });
        Watchdog { running }
    }

    fn started(&self, parser: &'static str, case: u64) {
        *self.running.lock().unwrap() = Some((parser, case, Instant::now()));
    }

    fn finished(&self) {
        *self.running.lock().unwrap() = None;
    }
}
