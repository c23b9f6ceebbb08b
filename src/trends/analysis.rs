//! The trends stage as a whole: from the analysed documents' counts to every trend table.

use rayon::prelude::*;
use serde::Serialize;

use super::evidence::{top_rows, Sentence};
use super::keyness::{keyness, Keyness};
use super::stats::Correction;
use super::term_stats::{ranked, series_stats, term_stats, TermStat};
use super::themes::{share_series, theme_trends, Theme, ThemePeriod};
use super::{rate_intervals, term_trends, Intervals, TermTrends};
use crate::error::Result;
use crate::shards::ShardTexts;
use crate::vectorize::Vectorized;

/// Settings of the trend statistics; defaults in [`TrendParams::default`].
#[derive(Debug, Clone, Serialize)]
pub struct TrendParams {
    /// Terms rarer than this in the corpus get no trend test.
    pub min_count: u64,
    /// Change-point penalty, in units of σ̂² · ln(n).
    pub change_penalty: f64,
    pub bootstrap_replicates: usize,
    /// How many of the most frequent terms get bootstrap intervals.
    pub bootstrap_terms: usize,
    /// Keyness rows need this many occurrences on the two sides together.
    pub keyness_min_count: u64,
    pub correction: Correction,
    /// Periods with fewer documents are flagged as under-powered.
    pub min_period_docs: u32,
    /// Evidence sentences per emerging term and per theme-period.
    pub evidence_per_item: usize,
    /// Emerging (and fading) terms that get evidence.
    pub evidence_terms: usize,
}

impl Default for TrendParams {
    /// min_count 20, change_penalty 3, 200 replicates for the 300 most frequent terms, keyness
    /// min_count 5 with quanteda's default correction, periods under 30 documents flagged,
    /// 3 sentences for each of the 20 strongest emerging terms and each theme-period.
    fn default() -> Self {
        TrendParams {
            min_count: 20,
            change_penalty: 3.0,
            bootstrap_replicates: 200,
            bootstrap_terms: 300,
            keyness_min_count: 5,
            correction: Correction::Default,
            min_period_docs: 30,
            evidence_per_item: 3,
            evidence_terms: 20,
        }
    }
}

/// A supporting sentence: `doc` is a document index (row of documents.parquet).
#[derive(Debug, Clone)]
pub struct Evidence {
    pub kind: &'static str,
    pub key: String,
    pub period: usize,
    pub rank: u32,
    pub doc: usize,
    pub sentence: Sentence,
}

pub struct TrendResults {
    pub terms: TermTrends,
    pub underpowered: Vec<bool>,
    /// Terms with intervals, and the intervals.
    pub interval_terms: Vec<usize>,
    pub intervals: Intervals,
    pub stats: Vec<TermStat>,
    pub themes: Vec<Theme>,
    pub theme_periods: Vec<ThemePeriod>,
    /// Trend tests of each theme's share series (`term` is the theme's index).
    pub theme_stats: Vec<TermStat>,
    /// Theme terms that never occur in the corpus ("theme: term").
    pub unseen_theme_terms: Vec<String>,
    pub evidence: Vec<Evidence>,
}

/// `period_of_row[r]`: the period of matrix row r; `keys_of_row[r]` its document's
/// [`document_key`](super::bootstrap::document_key); `tokens_of_doc[d]` by document; the themes'
/// hits per row and unseen terms as [`theme_hits`](super::themes::theme_hits) gives them (taken
/// while the tokens are at hand); `texts` are asked only for the evidence documents' texts.
#[allow(clippy::too_many_arguments)]
pub fn analyse(
    periods: Vec<String>,
    period_of_row: &[Option<usize>],
    keys_of_row: &[u64],
    tokens_of_doc: &[u64],
    texts: &ShardTexts,
    (hits, unseen_theme_terms): (Vec<Vec<f64>>, Vec<String>),
    vectorized: &Vectorized,
    themes: Vec<Theme>,
    params: &TrendParams,
    seed: u64,
) -> Result<TrendResults> {
    let rows = &vectorized.rows;
    let counts = &vectorized.counts;
    let tokens_of_row: Vec<u64> = rows.iter().map(|&d| tokens_of_doc[d]).collect();
    let mut rows_by_period = vec![Vec::new(); periods.len()];
    for (r, p) in period_of_row.iter().enumerate() {
        if let Some(p) = p {
            rows_by_period[*p].push(r);
        }
    }
    let terms = term_trends(periods, &rows_by_period, &tokens_of_row, counts);
    let underpowered = terms.periods.iter().map(|p| p.n_docs < params.min_period_docs).collect();

    let mut by_frequency: Vec<usize> = (0..vectorized.vocabulary.len()).collect();
    by_frequency.sort_by(|&a, &b| vectorized.vocabulary.cf[b].cmp(&vectorized.vocabulary.cf[a]).then(a.cmp(&b)));
    by_frequency.truncate(params.bootstrap_terms);
    by_frequency.sort_unstable();
    let intervals = rate_intervals(
        counts,
        &rows_by_period,
        &tokens_of_row,
        keys_of_row,
        &by_frequency,
        seed,
        params.bootstrap_replicates,
    );

    let stats = term_stats(&terms, params.min_count, params.change_penalty);
    let theme_periods = theme_trends(
        &hits,
        &rows_by_period,
        &tokens_of_row,
        keys_of_row,
        themes.len(),
        seed,
        params.bootstrap_replicates,
    );

    let share_series: Vec<Vec<f64>> =
        (0..themes.len()).map(|k| share_series(&theme_periods, themes.len(), k, rows_by_period.len())).collect();
    // Without periods (an undated corpus) there is no series to test.
    let theme_stats =
        if rows_by_period.is_empty() { Vec::new() } else { series_stats(&share_series, params.change_penalty) };

    // Evidence: the documents first (from counts alone), then their sentences (from their texts).
    // (kind, key, period, rank, document, the words its sentence must hold)
    type Wanted = (&'static str, String, usize, u32, usize, Vec<String>);
    let mut wanted: Vec<Wanted> = Vec::new();
    let mut want = |kind, key: &str, period, ranked: Vec<usize>, words: &[&str]| {
        for (rank, r) in ranked.into_iter().enumerate() {
            wanted.push((
                kind,
                key.to_string(),
                period,
                rank as u32 + 1,
                rows[r],
                words.iter().map(|w| w.to_string()).collect(),
            ));
        }
    };
    for direction in ["rising", "falling"] {
        for stat in ranked(&stats, direction).into_iter().take(params.evidence_terms) {
            let t = stat.term;
            let term = vectorized.vocabulary.terms[t].as_str();
            let count_in = |r: usize| {
                let (cols, vals) = counts.row(r);
                cols.binary_search(&(t as u32)).map_or(0.0, |i| vals[i] as f64)
            };
            let p = stat.peak_period;
            want("term", term, p, top_rows(&rows_by_period[p], count_in, params.evidence_per_item), &[term]);
        }
    }
    for (k, theme) in themes.iter().enumerate() {
        let mut lexicon: Vec<(&str, f64)> = theme.terms.iter().map(|(t, w)| (t.as_str(), *w)).collect();
        lexicon.sort_by(|a, b| b.1.total_cmp(&a.1));
        let words: Vec<&str> = lexicon.iter().map(|(t, _)| *t).collect();
        for (p, period_rows) in rows_by_period.iter().enumerate() {
            want("theme", &theme.name, p, top_rows(period_rows, |r| hits[r][k], params.evidence_per_item), &words);
        }
    }
    // Each shard finds its documents' sentences where their texts are; only the sentences come.
    let asked: Vec<(usize, Vec<String>)> = wanted.iter_mut().map(|w| (w.4, std::mem::take(&mut w.5))).collect();
    let sentences = texts.sentences(&asked)?;
    let evidence = wanted
        .into_iter()
        .zip(sentences)
        .filter_map(|((kind, key, period, rank, doc, _), sentence)| {
            Some(Evidence { kind, key, period, rank, doc, sentence: sentence? })
        })
        .collect();
    Ok(TrendResults {
        terms,
        underpowered,
        interval_terms: by_frequency,
        intervals,
        stats,
        themes,
        theme_periods,
        theme_stats,
        unseen_theme_terms,
        evidence,
    })
}

/// Keyness of each period against the rest of the corpus, every term counted at least
/// `keyness_min_count` times, period by period: made a range of rows at a time as its table is
/// written, as nothing else reads it (a row per term and period is 2.7 M rows at 8× the xwlb
/// corpus, ~600 MB as rows and frame at once).
pub struct PeriodKeyness<'a> {
    terms: &'a TermTrends,
    params: &'a TrendParams,
    total: Vec<u64>,
    /// Rows of each period: the terms counted `keyness_min_count` times in all (a period and the
    /// rest together), the same in every period.
    per_period: usize,
}

impl<'a> PeriodKeyness<'a> {
    pub fn new(terms: &'a TermTrends, params: &'a TrendParams) -> Self {
        let n_terms = terms.count.first().map_or(0, Vec::len);
        let total: Vec<u64> = (0..n_terms).map(|t| terms.count.iter().map(|c| c[t]).sum()).collect();
        let per_period = total.iter().filter(|&&n| n >= params.keyness_min_count).count();
        PeriodKeyness { terms, params, total, per_period }
    }

    pub fn n_rows(&self) -> usize {
        self.per_period * self.terms.periods.len()
    }

    /// Rows `range` of the table: period by period, each period's rows by G², largest first.
    pub fn rows(&self, range: std::ops::Range<usize>) -> Vec<Keyness> {
        if range.is_empty() {
            return Vec::new();
        }
        let periods = range.start / self.per_period..(range.end - 1) / self.per_period + 1;
        let first = periods.start * self.per_period;
        // The periods a row group spans (about four at 1× the xwlb corpus) are taken side by side.
        let mut rows: Vec<Keyness> = periods.into_par_iter().flat_map_iter(|p| self.period(p)).collect();
        rows.truncate(range.end - first);
        rows.drain(..range.start - first);
        rows
    }

    fn period(&self, p: usize) -> Vec<Keyness> {
        let target = &self.terms.count[p];
        let rest: Vec<u64> = self.total.iter().zip(target).map(|(all, here)| all - here).collect();
        let names = (self.terms.periods[p].period.as_str(), "rest");
        keyness(target, &rest, names, self.params.correction, self.params.keyness_min_count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trends::PeriodTotals;

    #[test]
    fn keyness_in_any_row_ranges_is_the_periods_keyness_in_order() {
        // Three periods over six terms; term 5 is too rare for a row anywhere.
        let count = vec![vec![9, 0, 4, 7, 1, 0], vec![2, 8, 4, 0, 3, 1], vec![5, 5, 0, 6, 2, 0]];
        let periods =
            ["2013", "2014", "2015"].map(|p| PeriodTotals { period: p.into(), n_docs: 10, n_tokens: 100 }).to_vec();
        let terms = TermTrends { periods, doc_freq: vec![vec![1; 6]; 3], count };
        let params = TrendParams { keyness_min_count: 2, ..TrendParams::default() };
        let table = PeriodKeyness::new(&terms, &params);
        assert_eq!(table.n_rows(), 15);
        let whole: Vec<(usize, String, u64)> =
            table.rows(0..15).iter().map(|k| (k.term, k.target.to_string(), k.count_target)).collect();
        assert!(whole[..5].iter().all(|r| r.1 == "2013") && whole[10..].iter().all(|r| r.1 == "2015"));
        let pieces: Vec<(usize, String, u64)> = [0..4, 4..11, 11..15]
            .into_iter()
            .flat_map(|r| table.rows(r))
            .map(|k| (k.term, k.target.to_string(), k.count_target))
            .collect();
        assert_eq!(pieces, whole);
        assert!(table.rows(7..7).is_empty());
    }
}
