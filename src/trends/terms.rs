//! Term frequencies per period, with their denominators.
//!
//! For term t and period p: `count` = occurrences of t in p's documents; `per_10k` =
//! 10 000 · count / tokens(p), where tokens(p) counts every kept token of p's documents (in the
//! vocabulary or not); `doc_freq` = p's documents containing t; `doc_share` = doc_freq / docs(p).
//! Undated documents belong to no period.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

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

/// What the term trends need of some documents, period by period: their documents and kept
/// tokens, each term's occurrences and documents, and the bootstrap's weighted sums of the terms
/// that get intervals. All integer sums, so the sums of a corpus's shards, added in any grouping,
/// are the corpus's own bit for bit: a shard of a run sums its documents where they are held and
/// only the sums travel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TermSums {
    pub periods: Vec<PeriodSums>,
}

/// [`TermSums`] of one period; its vectors are empty while it has no documents (a shard holds a
/// few periods of many), and the replicates' while no term gets an interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PeriodSums {
    pub n_docs: u32,
    pub n_tokens: u64,
    pub count: Vec<u64>,
    pub doc_freq: Vec<u32>,
    pub replicates: ReplicateSums,
}

/// What [`TermSums`] sum: over `n_terms` terms in `n_periods` periods, with bootstrap sums of
/// `replicates` replicates (seeded by `seed`) for `interval_terms` (ascending).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SumsWanted {
    pub n_periods: usize,
    pub n_terms: usize,
    pub interval_terms: Vec<usize>,
    pub seed: u64,
    pub replicates: usize,
}

/// Per count row: its period (none if undated), kept tokens and [`document_key`](super::bootstrap::document_key).
#[derive(Debug, Clone, Copy)]
pub struct RowFacts<'a> {
    pub period: &'a [Option<usize>],
    pub tokens: &'a [u64],
    pub keys: &'a [u64],
}

impl RowFacts<'_> {
    /// The rows of each of `n_periods` periods, ascending.
    pub fn rows_by_period(&self, n_periods: usize) -> Vec<Vec<usize>> {
        let mut rows = vec![Vec::new(); n_periods];
        for (r, p) in self.period.iter().enumerate() {
            if let Some(p) = p {
                rows[*p].push(r);
            }
        }
        rows
    }
}

impl TermSums {
    /// The sums of the rows of `counts` (`facts` about each row).
    pub fn of(counts: &Csr<u32>, facts: RowFacts, wanted: &SumsWanted) -> TermSums {
        sums_by_period(counts, &facts.rows_by_period(wanted.n_periods), facts.tokens, facts.keys, wanted)
    }

    /// Add another set of documents' sums (of the same [`SumsWanted`]).
    pub fn merge(mut self, other: TermSums) -> TermSums {
        if self.periods.is_empty() {
            return other;
        }
        for (mine, theirs) in self.periods.iter_mut().zip(other.periods) {
            mine.add(theirs);
        }
        self
    }

    /// The trends of `periods` (named in order) and the intervals of `wanted.interval_terms`.
    pub fn finish(self, periods: Vec<String>, wanted: &SumsWanted) -> (TermTrends, Intervals) {
        let (n_terms, replicates, n_interval) = (wanted.n_terms, wanted.replicates, wanted.interval_terms.len());
        let mut sums = self.periods;
        sums.resize_with(periods.len(), PeriodSums::default);
        let intervals = sums
            .par_iter()
            .map(|p| {
                let zeros;
                let r = if p.replicates.n_docs.is_empty() {
                    zeros = ReplicateSums::new(replicates, n_interval);
                    &zeros
                } else {
                    &p.replicates
                };
                (0..n_interval)
                    .map(|i| {
                        let rate = interval(&mut (0..replicates).map(|k| r.per_10k(k, i)).collect::<Vec<_>>());
                        let share = interval(&mut (0..replicates).map(|k| r.doc_share(k, i)).collect::<Vec<_>>());
                        (rate, share)
                    })
                    .collect()
            })
            .collect();
        let mut trends = TermTrends { periods: vec![], count: vec![], doc_freq: vec![] };
        for (period, p) in periods.into_iter().zip(sums) {
            trends.periods.push(PeriodTotals { period, n_docs: p.n_docs, n_tokens: p.n_tokens });
            trends.count.push(if p.count.is_empty() { vec![0; n_terms] } else { p.count });
            trends.doc_freq.push(if p.doc_freq.is_empty() { vec![0; n_terms] } else { p.doc_freq });
        }
        (trends, intervals)
    }
}

impl PeriodSums {
    fn add(&mut self, other: PeriodSums) {
        if other.n_docs == 0 {
            return;
        }
        if self.n_docs == 0 {
            *self = other;
            return;
        }
        self.n_docs += other.n_docs;
        self.n_tokens += other.n_tokens;
        add_to(&mut self.count, &other.count);
        self.doc_freq.iter_mut().zip(&other.doc_freq).for_each(|(a, b)| *a += b);
        self.replicates.add(&other.replicates);
    }
}

fn add_to(a: &mut [u64], b: &[u64]) {
    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
}

/// [`TermSums`] of `rows_by_period[p]`, the matrix rows of period p; `tokens_of[r]` is row r's kept
/// token count and `keys[r]` its document's key. Periods side by side; within one, the bootstrap's
/// blocks of rows side by side, their sums added (integers: neither the blocks nor their order
/// change a bit, and nothing per row is held beside the matrix — a reduced copy of every row cost
/// ~300 MB at 8× the xwlb corpus).
fn sums_by_period(
    counts: &Csr<u32>,
    rows_by_period: &[Vec<usize>],
    tokens_of: &[u64],
    keys: &[u64],
    wanted: &SumsWanted,
) -> TermSums {
    let (n_terms, replicates, terms) = (counts.n_cols, wanted.replicates, &wanted.interval_terms);
    let mut slot = vec![u32::MAX; n_terms];
    for (i, &t) in terms.iter().enumerate() {
        slot[t] = i as u32;
    }
    let n_rows = rows_by_period.iter().map(Vec::len).sum::<usize>() as u64;
    let progress = (!terms.is_empty()).then(|| crate::progress::bar("bootstrap", n_rows, "documents"));
    let block_sums = |block: &[usize]| {
        let mut sums = ReplicateSums::new(replicates, terms.len());
        let (mut weights, mut entries) = (vec![0u64; replicates], Vec::new());
        for &row in block {
            let (cols, vals) = counts.row(row);
            entries.clear();
            entries.extend(
                cols.iter()
                    .zip(vals)
                    .filter(|(c, _)| slot[**c as usize] != u32::MAX)
                    .map(|(c, v)| (slot[*c as usize] as usize, *v as u64)),
            );
            weights.iter_mut().enumerate().for_each(|(r, w)| *w = weight(wanted.seed, keys[row], r) as u64);
            sums.add_row(&weights, tokens_of[row], &entries);
        }
        if let Some(progress) = &progress {
            progress.add(block.len() as u64);
        }
        sums
    };
    let periods = rows_by_period
        .par_iter()
        .map(|rows| {
            if rows.is_empty() {
                return PeriodSums::default();
            }
            let mut p = PeriodSums { count: vec![0; n_terms], doc_freq: vec![0; n_terms], ..PeriodSums::default() };
            for &d in rows {
                p.n_docs += 1;
                p.n_tokens += tokens_of[d];
                let (cols, vals) = counts.row(d);
                for (&t, &n) in cols.iter().zip(vals) {
                    p.count[t as usize] += n as u64;
                    p.doc_freq[t as usize] += 1;
                }
            }
            if !terms.is_empty() {
                p.replicates = rows.par_chunks(BOOTSTRAP_BLOCK).map(block_sums).reduce(
                    || ReplicateSums::new(replicates, terms.len()),
                    |mut a, b| {
                        a.add(&b);
                        a
                    },
                );
            }
            p
        })
        .collect();
    TermSums { periods }
}

/// `rows_by_period[p]` are the matrix rows of period `periods[p]` (undated rows are in none);
/// `tokens_of[r]` is row r's kept token count.
pub fn term_trends(
    periods: Vec<String>,
    rows_by_period: &[Vec<usize>],
    tokens_of: &[u64],
    counts: &Csr<u32>,
) -> TermTrends {
    let wanted = SumsWanted { n_periods: periods.len(), n_terms: counts.n_cols, ..SumsWanted::default() };
    sums_by_period(counts, rows_by_period, tokens_of, &[], &wanted).finish(periods, &wanted).0
}

/// ((per_10k low, high), (doc_share low, high)): 95% intervals of one term in one period.
pub type RateInterval = ((f64, f64), (f64, f64));

/// 95% bootstrap intervals of `per_10k` and `doc_share` for the terms `terms`, in every period:
/// `out[p][i]` is the [`RateInterval`] of `terms[i]`.
pub type Intervals = Vec<Vec<RateInterval>>;

/// `keys[r]` is row r's [`document_key`](super::bootstrap::document_key): its bootstrap weights
/// follow from it alone.
pub fn rate_intervals(
    counts: &Csr<u32>,
    rows_by_period: &[Vec<usize>],
    tokens: &[u64],
    keys: &[u64],
    terms: &[usize],
    seed: u64,
    replicates: usize,
) -> Intervals {
    let wanted = SumsWanted {
        n_periods: rows_by_period.len(),
        n_terms: counts.n_cols,
        interval_terms: terms.to_vec(),
        seed,
        replicates,
    };
    let periods = vec![String::new(); rows_by_period.len()];
    sums_by_period(counts, rows_by_period, tokens, keys, &wanted).finish(periods, &wanted).1
}

/// Rows of a period each block of the bootstrap sums (its sums are ~1 MB at 200 × 300).
const BOOTSTRAP_BLOCK: usize = 4096;

/// Per replicate: weighted occurrences and documents of each bootstrapped term (term-major: a
/// term's replicates side by side, so a document adds its weights to them in one contiguous,
/// vectorized pass), weighted tokens and documents of the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicateSums {
    replicates: usize,
    count: Vec<u64>,
    docs: Vec<u64>,
    n_tokens: Vec<u64>,
    n_docs: Vec<u64>,
}

impl ReplicateSums {
    fn new(replicates: usize, terms: usize) -> Self {
        let zeros = || vec![0u64; replicates * terms];
        ReplicateSums {
            replicates,
            count: zeros(),
            docs: zeros(),
            n_tokens: vec![0; replicates],
            n_docs: vec![0; replicates],
        }
    }

    /// One document: its weight in each replicate, its tokens, its (term slot, count) entries.
    fn add_row(&mut self, weights: &[u64], tokens: u64, entries: &[(usize, u64)]) {
        let r = self.replicates;
        for (&w, (n_tokens, n_docs)) in weights.iter().zip(self.n_tokens.iter_mut().zip(&mut self.n_docs)) {
            *n_tokens += w * tokens;
            *n_docs += w;
        }
        for &(s, v) in entries {
            let (count, docs) = (&mut self.count[s * r..(s + 1) * r], &mut self.docs[s * r..(s + 1) * r]);
            for ((c, d), &w) in count.iter_mut().zip(docs.iter_mut()).zip(weights) {
                *c += w * v;
                *d += w;
            }
        }
    }

    fn add(&mut self, other: &Self) {
        add_to(&mut self.count, &other.count);
        add_to(&mut self.docs, &other.docs);
        add_to(&mut self.n_tokens, &other.n_tokens);
        add_to(&mut self.n_docs, &other.n_docs);
    }

    fn per_10k(&self, r: usize, i: usize) -> f64 {
        let tokens = self.n_tokens[r];
        if tokens > 0 {
            1e4 * self.count[i * self.replicates + r] as f64 / tokens as f64
        } else {
            0.0
        }
    }

    fn doc_share(&self, r: usize, i: usize) -> f64 {
        let docs = self.n_docs[r];
        if docs > 0 {
            self.docs[i * self.replicates + r] as f64 / docs as f64
        } else {
            0.0
        }
    }
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
    fn block_sums_equal_recounting_each_replicate() {
        // More rows than one block, so blocks' sums are added; checked against the plain way: every
        // replicate recounted over the period's rows with its weights.
        let n = super::BOOTSTRAP_BLOCK + 900;
        let rows: Vec<Vec<(u32, u32)>> = (0..n as u32)
            .map(|d| (0..5).filter(|t| (d + t) % 3 != 0).map(|t| (t, 1 + (d * 7 + t) % 5)).collect())
            .collect();
        let counts = Csr::from_rows(5, rows);
        let tokens: Vec<u64> = (0..n as u64).map(|d| 20 + d % 9).collect();
        let keys: Vec<u64> = (0..n).map(|d| super::super::bootstrap::document_key(&format!("d{d}"))).collect();
        let (terms, replicates, seed) = ([1usize, 3, 4], 40, 5);
        let period: Vec<usize> = (0..n).collect();
        let got = rate_intervals(&counts, std::slice::from_ref(&period), &tokens, &keys, &terms, seed, replicates);
        for (i, &t) in terms.iter().enumerate() {
            let (mut rates, mut shares) = (Vec::new(), Vec::new());
            for r in 0..replicates {
                let (mut count, mut docs, mut n_tokens, mut n_docs) = (0u64, 0u64, 0u64, 0u64);
                for &d in &period {
                    let w = weight(seed, keys[d], r) as u64;
                    let (cols, vals) = counts.row(d);
                    n_tokens += w * tokens[d];
                    n_docs += w;
                    if let Ok(at) = cols.binary_search(&(t as u32)) {
                        count += w * vals[at] as u64;
                        docs += w;
                    }
                }
                rates.push(1e4 * count as f64 / n_tokens as f64);
                shares.push(docs as f64 / n_docs as f64);
            }
            assert_eq!(got[0][i], (interval(&mut rates), interval(&mut shares)), "term {t}");
        }
    }

    #[test]
    fn sums_of_parts_merged_are_the_sums_of_the_whole() {
        // Three periods (the last empty) and undated rows; cut into parts the way shards cut a
        // corpus (a part may hold no row of a period, or no row at all).
        let n = 50u32;
        let rows: Vec<Vec<(u32, u32)>> =
            (0..n).map(|d| (0..6).filter(|t| (d * 5 + t) % 4 != 0).map(|t| (t, 1 + (d + t) % 3)).collect()).collect();
        let period: Vec<Option<usize>> = (0..n).map(|d| (d % 7 != 3).then_some((d / 25) as usize)).collect();
        let tokens: Vec<u64> = (0..n as u64).map(|d| 12 + d % 5).collect();
        let keys: Vec<u64> = (0..n).map(|d| super::super::bootstrap::document_key(&format!("k{d}"))).collect();
        let wanted = SumsWanted { n_periods: 3, n_terms: 6, interval_terms: vec![1, 4], seed: 3, replicates: 30 };
        let sums = |range: std::ops::Range<usize>| {
            let counts = Csr::from_rows(6, rows[range.clone()].to_vec());
            let facts = RowFacts { period: &period[range.clone()], tokens: &tokens[range.clone()], keys: &keys[range] };
            TermSums::of(&counts, facts, &wanted)
        };
        let whole = sums(0..50);
        let merged = [0..0, 0..13, 13..40, 40..50].into_iter().map(sums).fold(TermSums::default(), TermSums::merge);
        assert_eq!(merged, whole);
        assert_eq!(whole.periods[2], PeriodSums::default());
        let names = || vec!["a".to_string(), "b".into(), "c".into()];
        let (trends, intervals) = whole.finish(names(), &wanted);
        assert_eq!(trends.count[2], [0; 6]);
        assert_eq!(trends.periods[0].n_docs, 21);
        assert!(intervals[0][0].0 .0 < intervals[0][0].0 .1);
        assert_eq!(intervals[2][1], ((0.0, 0.0), (0.0, 0.0)));
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
