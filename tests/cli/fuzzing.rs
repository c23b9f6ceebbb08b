//! The parsers under generated input (see tests/fuzz/mod.rs): a fixed number of cases per parser
//! on every test run, and every input a longer run ever failed on, kept as a fixture.

use std::path::PathBuf;

use super::fuzz;

/// Cases per parser: 10,000 in release builds (CI), fewer in debug builds; `THEMESHIFT_FUZZ_CASES`
/// overrides.
fn cases() -> u64 {
    std::env::var("THEMESHIFT_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(if cfg!(debug_assertions) {
        1_000
    } else {
        10_000
    })
}

/// Longer than any case should take (the slowest take milliseconds).
const SLOW: std::time::Duration = std::time::Duration::from_secs(5);

fn kept() -> PathBuf {
    super::fixtures().join("fuzz")
}

fn fuzz_parser(parser: &str) {
    silence_panics();
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for input in fuzz::kept_failures(&kept(), parser) {
        if let Err(why) = fuzz::run_case(parser, &input, dir.path()) {
            failures.push(format!("kept fixture {}: {why}", input.name));
        }
    }
    let trace = std::env::var_os("THEMESHIFT_FUZZ_TRACE").is_some();
    for case in 0..cases() {
        let input = fuzz::generate(parser, case);
        if trace {
            eprintln!("{parser} case {case}");
        }
        let start = std::time::Instant::now();
        if let Err(why) = fuzz::run_case(parser, &input, dir.path()) {
            failures.push(format!("case {case} ({} bytes): {why}", input.bytes.len()));
        }
        // A hang cannot be caught, but a case this slow would be one on a larger input.
        if start.elapsed() > SLOW {
            failures.push(format!("case {case} ({} bytes) took {:.1?}", input.bytes.len(), start.elapsed()));
        }
        let _ = std::fs::remove_file(dir.path().join(&input.name));
    }
    assert!(failures.is_empty(), "{parser}: {} failing cases:\n{}", failures.len(), failures.join("\n"));
}

/// Panics inside a case are caught and reported with it; the default hook would print each one
/// as well. Panics of test threads outside a case, and of other tests, still print.
fn silence_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let test_thread = std::thread::current().name().is_some_and(|n| n.contains("::"));
            if test_thread && !fuzz::in_case() {
                default(info);
            }
        }));
    });
}

macro_rules! fuzz_tests {
    ($($parser:ident),*) => {$(
        #[test]
        fn $parser() {
            fuzz_parser(stringify!($parser));
        }
    )*};
}

fuzz_tests!(encoding, jsonl, csv, tsv, text, parquet, header, dates, dates_file, study, lexicon, boilerplate);

/// Keep generated cases as regression fixtures:
/// `FUZZ_KEEP=parquet:1069,boilerplate:1363 cargo test --release --test cli keep_cases -- --ignored`.
#[test]
#[ignore]
fn keep_cases() {
    for item in std::env::var("FUZZ_KEEP").unwrap_or_default().split(',').filter(|s| !s.is_empty()) {
        let (parser, case) = item.split_once(':').expect("parser:case");
        let input = fuzz::generate(parser, case.parse().expect("a case number"));
        println!("{}", fuzz::keep_failure(&kept(), parser, &input).display());
    }
}
