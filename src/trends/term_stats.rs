//! Trend tests per term over its per-10k rate series: Mann–Kendall (tau, p), Sen's slope,
//! Benjamini–Hochberg q-values across all tested terms, change points, peak and first period.
//! Terms rarer than `min_count` in the whole corpus are not tested (too few to say anything).

use rayon::prelude::*;

use super::stats::{bh_adjust, change_points, mann_kendall, sen_slope};
use super::TermTrends;

/// Significance level for calling a trend rising or falling (on the BH q-value).
pub const ALPHA: f64 = 0.05;

#[derive(Debug, Clone, PartialEq)]
pub struct TermStat {
    pub term: usize,
    pub n_periods: u32,
    pub sen_slope: f64,
    pub mk_tau: f64,
    pub mk_p: f64,
    pub mk_q: f64,
    pub direction: &'static str,
    pub peak_period: usize,
    pub first_period: usize,
    /// Periods where a new level starts.
    pub change_points: Vec<usize>,
}

pub fn term_stats(trends: &TermTrends, min_count: u64, penalty: f64) -> Vec<TermStat> {
    let n_terms = trends.count.first().map_or(0, Vec::len);
    let n_periods = trends.periods.len();
    let tested: Vec<usize> =
        (0..n_terms).filter(|&t| (0..n_periods).map(|p| trends.count[p][t]).sum::<u64>() >= min_count).collect();
    let series: Vec<Vec<f64>> =
        tested.iter().map(|&t| (0..n_periods).map(|p| trends.per_10k(p, t)).collect()).collect();
    let mut stats = series_stats(&series, penalty);
    for (s, &t) in stats.iter_mut().zip(&tested) {
        s.term = t;
        s.first_period = (0..n_periods).find(|&p| trends.count[p][t] > 0).unwrap_or(0);
    }
    stats
}

/// Trend tests of each series (`term` is its index here; `first_period` its first non-zero value).
pub fn series_stats(series: &[Vec<f64>], penalty: f64) -> Vec<TermStat> {
    let mut stats: Vec<TermStat> = series
        .par_iter()
        .enumerate()
        .map(|(i, series)| {
            let n_periods = series.len();
            let mk = mann_kendall(series);
            let peak = (0..n_periods).max_by(|&a, &b| series[a].total_cmp(&series[b]).then(b.cmp(&a))).unwrap_or(0);
            TermStat {
                term: i,
                n_periods: n_periods as u32,
                sen_slope: sen_slope(series),
                mk_tau: mk.tau,
                mk_p: mk.p,
                mk_q: 1.0,
                direction: "none",
                peak_period: peak,
                first_period: (0..n_periods).find(|&p| series[p] > 0.0).unwrap_or(0),
                change_points: change_points(series, penalty, 1),
            }
        })
        .collect();
    let q = bh_adjust(&stats.iter().map(|s| s.mk_p).collect::<Vec<_>>());
    for (s, q) in stats.iter_mut().zip(q) {
        s.mk_q = q;
        s.direction = match (q < ALPHA, s.mk_tau > 0.0) {
            (true, true) => "rising",
            (true, false) => "falling",
            (false, _) => "none",
        };
    }
    stats
}

/// Significant risers (or fallers), strongest Sen slope first.
pub fn ranked(stats: &[TermStat], direction: &str) -> Vec<TermStat> {
    let mut picked: Vec<TermStat> = stats.iter().filter(|s| s.direction == direction).cloned().collect();
    picked.sort_by(|a, b| b.sen_slope.abs().total_cmp(&a.sen_slope.abs()).then(a.term.cmp(&b.term)));
    picked
}
