//! Progress of the long stages on one stderr line: ingest (bytes), segment (documents), NMF
//! (iterations), LDA (sweeps), bootstrap (replicates), with an estimate of the time left.
//!
//! Off unless a caller turns it on ([`enable`]; the CLI does so when stderr is a terminal and
//! `--quiet` is not given), so library users and pipes see nothing. When off, a step costs one
//! relaxed atomic add. Stages that run side by side share the line:
//! `topics: NMF 40/200 iterations · trends: bootstrap 120/200 replicates · 12 s left`.
//!
//! The same steps are where a run can be stopped: after [`cancel`] (the Python package calls it on
//! Ctrl-C), the next step unwinds with [`Cancelled`], which the caller catches; nothing is printed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

static ENABLED: AtomicBool = AtomicBool::new(false);
static CANCELLED: AtomicBool = AtomicBool::new(false);

/// The payload a cancelled run unwinds with.
#[derive(Debug)]
pub struct Cancelled;

/// Ask the running stages to stop at their next step.
pub fn cancel() {
    CANCELLED.store(true, Ordering::Relaxed);
}

/// Forget an earlier [`cancel`], before a new run.
pub fn clear_cancel() {
    CANCELLED.store(false, Ordering::Relaxed);
}

/// Unwind with [`Cancelled`] if a stop was asked for. `resume_unwind` skips the panic hook, so
/// nothing is printed; rayon carries the unwinding to the thread that started the work. Parallel
/// work checks *before* each piece ([`Bar::step`]): after one piece unwinds, rayon still runs every
/// piece already queued beside it, so a check only after the work lets the rest of the stage run
/// first (seen: 4 s in segment).
pub fn check() {
    if CANCELLED.load(Ordering::Relaxed) {
        std::panic::resume_unwind(Box::new(Cancelled));
    }
}

/// [`check`] at every `every`-th step `i` of a serial loop: cheap enough for a hot loop.
pub fn check_every(i: usize, every: usize) {
    if i.is_multiple_of(every) {
        check();
    }
}
static BOARD: Mutex<Board> = Mutex::new(Board { bars: Vec::new(), last_draw: None, next_id: 0 });

/// Draw progress on stderr from now on (or stop drawing).
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

struct Board {
    bars: Vec<(usize, Arc<State>)>,
    last_draw: Option<Instant>,
    next_id: usize,
}

struct State {
    label: &'static str,
    unit: &'static str,
    total: u64,
    done: AtomicU64,
    start: Instant,
}

/// One counted piece of work; it leaves the line when dropped.
pub struct Bar {
    state: Option<(usize, Arc<State>)>,
}

/// Start counting `total` units of `label` (e.g. `bar("LDA", 300, "sweeps")`).
pub fn bar(label: &'static str, total: u64, unit: &'static str) -> Bar {
    if !ENABLED.load(Ordering::Relaxed) || total == 0 {
        return Bar { state: None };
    }
    let state = Arc::new(State { label, unit, total, done: AtomicU64::new(0), start: Instant::now() });
    let mut board = BOARD.lock().unwrap_or_else(|e| e.into_inner());
    let id = board.next_id;
    board.next_id += 1;
    board.bars.push((id, state.clone()));
    Bar { state: Some((id, state)) }
}

impl Bar {
    /// `n` more units done.
    pub fn add(&self, n: u64) {
        check();
        self.count(n);
    }

    /// One piece of parallel work of `n` units: a stop asked for before it starts skips it.
    pub fn step<T>(&self, n: u64, work: impl FnOnce() -> T) -> T {
        check();
        let out = work();
        self.count(n);
        out
    }

    fn count(&self, n: u64) {
        if let Some((_, state)) = &self.state {
            state.done.fetch_add(n, Ordering::Relaxed);
            redraw(false);
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some((id, _)) = self.state.take() {
            let mut board = BOARD.lock().unwrap_or_else(|e| e.into_inner());
            board.bars.retain(|(i, _)| *i != id);
            let empty = board.bars.is_empty();
            drop(board);
            if empty {
                eprint!("\r\x1b[2K");
            } else {
                redraw(true);
            }
        }
    }
}

/// Redraw at most ten times a second (always when `force`).
fn redraw(force: bool) {
    let Ok(mut board) = BOARD.try_lock() else { return };
    let now = Instant::now();
    if !force && board.last_draw.is_some_and(|t| now - t < Duration::from_millis(100)) {
        return;
    }
    board.last_draw = Some(now);
    let parts: Vec<String> = board
        .bars
        .iter()
        .map(|(_, s)| describe(s.label, s.done.load(Ordering::Relaxed), s.total, s.unit, now - s.start))
        .collect();
    eprint!("\r\x1b[2K{}", parts.join(" · "));
}

/// `NMF 40/200 iterations (20%, 12 s left)`; the time left once a second has passed.
pub fn describe(label: &str, done: u64, total: u64, unit: &str, elapsed: Duration) -> String {
    let done = done.min(total);
    let percent = 100 * done / total.max(1);
    let left = eta(done, total, elapsed).map_or(String::new(), |s| format!(", {} left", seconds(s)));
    if unit == "bytes" {
        format!("{label} {:.1}/{:.1} MB ({percent}%{left})", done as f64 / 1e6, total as f64 / 1e6)
    } else {
        format!("{label} {done}/{total} {unit} ({percent}%{left})")
    }
}

/// Seconds left at the rate so far; none before a second has passed or anything is done.
pub fn eta(done: u64, total: u64, elapsed: Duration) -> Option<f64> {
    (done > 0 && elapsed >= Duration::from_secs(1))
        .then(|| elapsed.as_secs_f64() * (total.saturating_sub(done)) as f64 / done as f64)
}

fn seconds(s: f64) -> String {
    if s >= 90.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{s:.0} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_left_follows_the_rate_so_far_and_waits_for_a_second() {
        assert_eq!(eta(50, 200, Duration::from_secs(10)), Some(30.0));
        assert_eq!(eta(0, 200, Duration::from_secs(10)), None);
        assert_eq!(eta(5, 200, Duration::from_millis(500)), None);
        assert_eq!(describe("LDA", 100, 300, "sweeps", Duration::from_secs(20)), "LDA 100/300 sweeps (33%, 40 s left)");
        assert_eq!(describe("ingest", 2_500_000, 10_000_000, "bytes", Duration::ZERO), "ingest 2.5/10.0 MB (25%)");
        assert!(describe("x", 1, 1000, "steps", Duration::from_secs(10)).ends_with("166 min left)"));
    }

    #[test]
    fn a_bar_that_is_off_counts_nothing_and_draws_nothing() {
        enable(false);
        let b = bar("segment", 10, "documents");
        b.add(3);
        assert!(b.state.is_none());
    }
}
