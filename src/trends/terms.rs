//! Term frequencies per period, with their denominators.
//!
//! For term t and period p: `count` = occurrences of t in p's documents; `per_10k` =
//! 10 000 · count / tokens(p), where tokens(p) counts every kept token of p's documents (in the
//! vocabulary or not); `doc_freq` = p's documents containing t; `doc_share` = doc_freq / docs(p).
//! Undated documents belong to no period.

use rayon::prelude::*;

use super::bootstrap::{interval, weight};
use crate::vectorize::Csr;

/// The denominators of one period.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodTotals {
    pub period: String,
    pub n_docs: u32,
    pub n_tokens: u64,
}

/// Dense term × period tables: `count[p][t]`, `doc_freq[p][t]`.
#[derive(Debug, Clone)]
pub struct TermTrends {
    pub periods: Vec<PeriodTotals>,
    pub count: Vec<Vec<u64>>,
    pub doc_freq: Vec<Vec<u32>>,
}

impl TermTrends {
    pub fn per_10k(&self, p: usize, t: usize) -> f64 {
        let tokens = self.periods[p].n_tokens;
        if tokens == 0 {
            0.0
        } else {
            1e4 * self.count[p][t] as f64 / tokens as f64
        }
    }

    pub fn doc_share(&self, p: usize, t: usize) -> f64 {
        self.doc_freq[p][t] as f64 / self.periods[p].n_docs.max(1) as f64
    }

    /// Terms ranked by how much their rate rose: mean per-10k rate over the later half of the
    /// periods minus the mean over the earlier half (the middle period of an odd count is left out).
    /// Returns (term id, rise), largest rise first, ties by term id.
    pub fn rising(&self) -> Vec<(usize, f64)> {
        let n_periods = self.periods.len();
        let half = n_periods / 2;
        let n_terms = self.count.first().map_or(0, Vec::len);
        let mean = |t: usize, range: std::ops::Range<usize>| {
            let len = range.len().max(1) as f64;
            range.map(|p| self.per_10k(p, t)).sum::<f64>() / len
        };
        let mut rises: Vec<(usize, f64)> =
            (0..n_terms).map(|t| (t, mean(t, n_periods - half..n_periods) - mean(t, 0..half))).collect();
        rises.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        rises
    }
}

/// `rows_by_period[p]` are the matrix rows of period `periods[p]` (undated rows are in none);
/// `tokens_of[r]` is row r's kept token count.
pub fn term_trends(
    periods: Vec<String>,
    rows_by_period: &[Vec<usize>],
    tokens_of: &[u64],
    counts: &Csr<u32>,
) -> TermTrends {
    let n_terms = counts.n_cols;
    let per_period: Vec<(PeriodTotals, Vec<u64>, Vec<u32>)> = periods
        .into_par_iter()
        .enumerate()
        .map(|(p, period)| {
            let mut totals = PeriodTotals { period, n_docs: 0, n_tokens: 0 };
            let (mut count, mut doc_freq) = (vec![0u64; n_terms], vec![0u32; n_terms]);
            for &d in &rows_by_period[p] {
                totals.n_docs += 1;
                totals.n_tokens += tokens_of[d];
                let (cols, vals) = counts.row(d);
                for (&t, &n) in cols.iter().zip(vals) {
                    count[t as usize] += n as u64;
                    doc_freq[t as usize] += 1;
                }
            }
            (totals, count, doc_freq)
        })
        .collect();
    let mut trends = TermTrends { periods: vec![], count: vec![], doc_freq: vec![] };
    for (totals, count, doc_freq) in per_period {
        trends.periods.push(totals);
        trends.count.push(count);
        trends.doc_freq.push(doc_freq);
    }
    trends
}

/// ((per_10k low, high), (doc_share low, high)): 95% intervals of one term in one period.
pub type RateInterval = ((f64, f64), (f64, f64));

/// 95% bootstrap intervals of `per_10k` and `doc_share` for the terms `terms`, in every period:
/// `out[p][i]` is the [`RateInterval`] of `terms[i]`.
pub type Intervals = Vec<Vec<RateInterval>>;

/// `keys[r]` is row r's [`document_key`]: its bootstrap weights follow from it alone.
pub fn rate_intervals(
    counts: &Csr<u32>,
    rows_by_period: &[Vec<usize>],
    tokens: &[u64],
    keys: &[u64],
    terms: &[usize],
    seed: u64,
    replicates: usize,
) -> Intervals {
    let mut slot = vec![u32::MAX; counts.n_cols];
    for (i, &t) in terms.iter().enumerate() {
        slot[t] = i as u32;
    }
    // Each row reduced once to the bootstrapped terms, so replicates touch nothing else.
    let compact: Vec<Vec<(u32, u32)>> = (0..counts.n_rows())
        .into_par_iter()
        .map(|r| {
            let (cols, vals) = counts.row(r);
            cols.iter()
                .zip(vals)
                .filter(|(c, _)| slot[**c as usize] != u32::MAX)
                .map(|(c, v)| (slot[*c as usize], *v))
                .collect()
        })
        .collect();
    let progress = crate::progress::bar("bootstrap", (replicates * rows_by_period.len()) as u64, "replicates");
    rows_by_period
        .par_iter()
        .map(|rows| {
            let reps: Vec<(Vec<f64>, Vec<f64>)> = (0..replicates)
                .into_par_iter()
                .map(|r| {
                    progress.add(1);
                    let (mut count, mut docs) = (vec![0u64; terms.len()], vec![0u64; terms.len()]);
                    let (mut n_tokens, mut n_docs) = (0u64, 0u64);
                    for &row in rows {
                        let w = weight(seed, keys[row], r) as u64;
                        if w == 0 {
                            continue;
                        }
                        n_tokens += w * tokens[row];
                        n_docs += w;
                        for &(s, v) in &compact[row] {
                            count[s as usize] += w * v as u64;
                            docs[s as usize] += w;
                        }
                    }
                    let rate = count
                        .iter()
                        .map(|&c| if n_tokens > 0 { 1e4 * c as f64 / n_tokens as f64 } else { 0.0 })
                        .collect();
                    let share = docs.iter().map(|&d| if n_docs > 0 { d as f64 / n_docs as f64 } else { 0.0 }).collect();
                    (rate, share)
                })
                .collect();
            (0..terms.len())
                .map(|i| {
                    let rate = interval(&mut reps.iter().map(|r| r.0[i]).collect::<Vec<_>>());
                    let share = interval(&mut reps.iter().map(|r| r.1[i]).collect::<Vec<_>>());
                    (rate, share)
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_shares_use_the_period_denominators() {
        // Two periods; docs 0,1 in p0, doc 2 in p1, doc 3 undated. Terms: 0 fades, 1 rises.
        let counts = Csr::from_rows(2, vec![vec![(0, 3)], vec![(0, 1), (1, 1)], vec![(1, 4)], vec![(0, 9)]]);
        let trends = term_trends(vec!["2013".into(), "2014".into()], &[vec![0, 1], vec![2]], &[10, 10, 5, 9], &counts);
        assert_eq!(trends.periods[0], PeriodTotals { period: "2013".into(), n_docs: 2, n_tokens: 20 });
        assert_eq!(trends.periods[1].n_tokens, 5);
        assert_eq!(trends.count[0], [4, 1]);
        assert_eq!(trends.doc_freq[0], [2, 1]);
        assert_eq!(trends.per_10k(0, 0), 2000.0);
        assert_eq!(trends.per_10k(1, 1), 8000.0);
        assert_eq!(trends.doc_share(0, 1), 0.5);
        let rising: Vec<usize> = trends.rising().into_iter().map(|(t, _)| t).collect();
        assert_eq!(rising, [1, 0]);
    }

    #[test]
    fn intervals_depend_on_the_documents_not_on_their_order_or_company() {
        // Period 0 holds rows 0..6; the same documents listed in another order, or with another
        // period beside them, get the same intervals: weights follow each document's key alone.
        let rows: Vec<Vec<(u32, u32)>> = (0..8u32).map(|d| vec![(d % 3, 1 + d % 4), (3, 2)]).collect();
        let counts = Csr::from_rows(4, rows);
        let tokens: Vec<u64> = (0..8).map(|d| 10 + d).collect();
        let keys: Vec<u64> = (0..8).map(|d| super::super::bootstrap::document_key(&format!("doc-{d}"))).collect();
        let terms = [0, 1, 2, 3];
        let alone = rate_intervals(&counts, &[vec![0, 1, 2, 3, 4, 5]], &tokens, &keys, &terms, 9, 60);
        let shuffled = rate_intervals(&counts, &[vec![5, 3, 1, 0, 4, 2]], &tokens, &keys, &terms, 9, 60);
        let with_other = rate_intervals(&counts, &[vec![6, 7], vec![0, 1, 2, 3, 4, 5]], &tokens, &keys, &terms, 9, 60);
        assert_eq!(alone[0], shuffled[0]);
        assert_eq!(alone[0], with_other[1]);
        let ((low, high), _) = alone[0][3];
        assert!(low < high, "a real interval: {low} .. {high}");
    }
}
