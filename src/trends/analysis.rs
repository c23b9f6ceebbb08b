//! The trends stage as a whole: from the analysed documents' counts to every trend table.

use rayon::prelude::*;
use serde::Serialize;

use super::evidence::{best, top_rows, Sentence};
use super::keyness::{keyness, Keyness};
use super::stats::Correction;
use super::term_stats::{ranked, series_stats, term_stats, TermStat};
use super::themes::{share_series, theme_trends, Theme, ThemePeriod};
use super::{Intervals, RowFacts, SumsWanted, TermSums, TermTrends};
use crate::error::Result;
use crate::shards::ShardTexts;
use crate::vectorize::{Csr, Vocabulary};

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

/// The analysed documents' count rows, wherever they are held: a matrix in this process, or the
/// tokens of a sharded run's shards, which make their rows where they are. The trends ask them for
/// sums and for the rows that best support a term, never for the rows themselves.
pub trait CountRows: Sync {
    /// The [`TermSums`] of every row (`facts` about each).
    fn term_sums(&self, facts: RowFacts, wanted: &SumsWanted) -> Result<TermSums>;

    /// For each asked (term, period): of that period's rows, the `top` with the most occurrences
    /// of the term, as [`top_rows`] orders them.
    fn top_rows(
        &self,
        asked: &[(usize, usize)],
        period_of_row: &[Option<usize>],
        top: usize,
    ) -> Result<Vec<Vec<usize>>>;
}

impl CountRows for Csr<u32> {
    fn term_sums(&self, facts: RowFacts, wanted: &SumsWanted) -> Result<TermSums> {
        Ok(TermSums::of(self, facts, wanted))
    }

    fn top_rows(
        &self,
        asked: &[(usize, usize)],
        period_of_row: &[Option<usize>],
        top: usize,
    ) -> Result<Vec<Vec<usize>>> {
        let scored = best_rows(self, asked, period_of_row, top);
        Ok(scored.into_iter().map(|best| best.into_iter().map(|(_, r)| r).collect()).collect())
    }
}

/// For each asked (term, period): of that period's rows of `counts`, the `top` with the most
/// occurrences of the term, as (occurrences, row) in [`best`]'s order (a shard sends these, scores
/// and all, to be merged).
pub fn best_rows(
    counts: &Csr<u32>,
    asked: &[(usize, usize)],
    period_of_row: &[Option<usize>],
    top: usize,
) -> Vec<Vec<(f64, usize)>> {
    let n_periods = period_of_row.iter().flatten().chain(asked.iter().map(|(_, p)| p)).max().map_or(0, |p| p + 1);
    let rows_by_period = RowFacts { period: period_of_row, tokens: &[], keys: &[] }.rows_by_period(n_periods);
    asked
        .iter()
        .map(|&(t, p)| best(rows_by_period[p].iter().map(|&r| (occurrences(counts, r, t), r)).collect(), top))
        .collect()
}

/// Occurrences of term `t` in row `r` of `counts`.
fn occurrences(counts: &Csr<u32>, r: usize, t: usize) -> f64 {
    let (cols, vals) = counts.row(r);
    cols.binary_search(&(t as u32)).map_or(0.0, |i| vals[i] as f64)
}

/// `facts` about each count row (its period, tokens and bootstrap key), `doc_of_row[r]` its
/// document; `counts` the rows; the themes' hits per row and unseen terms as
/// [`theme_hits`](super::themes::theme_hits) gives them (taken while the tokens are at hand);
/// `texts` are asked only for the evidence documents' texts.
#[allow(clippy::too_many_arguments)]
pub fn analyse(
    periods: Vec<String>,
    facts: RowFacts,
    doc_of_row: &[usize],
    counts: &dyn CountRows,
    vocabulary: &Vocabulary,
    texts: &ShardTexts,
    (hits, unseen_theme_terms): (Vec<Vec<f64>>, Vec<String>),
    themes: Vec<Theme>,
    params: &TrendParams,
    seed: u64,
) -> Result<TrendResults> {
    let rows_by_period = facts.rows_by_period(periods.len());
    let mut by_frequency: Vec<usize> = (0..vocabulary.len()).collect();
    by_frequency.sort_by(|&a, &b| vocabulary.cf[b].cmp(&vocabulary.cf[a]).then(a.cmp(&b)));
    by_frequency.truncate(params.bootstrap_terms);
    by_frequency.sort_unstable();
    let summed = SumsWanted {
        n_periods: periods.len(),
        n_terms: vocabulary.len(),
        interval_terms: by_frequency,
        seed,
        replicates: params.bootstrap_replicates,
    };
    let (terms, intervals) = counts.term_sums(facts, &summed)?.finish(periods, &summed);
    let underpowered = terms.periods.iter().map(|p| p.n_docs < params.min_period_docs).collect();

    let stats = term_stats(&terms, params.min_count, params.change_penalty);
    let theme_periods =
        theme_trends(&hits, &rows_by_period, facts.tokens, facts.keys, themes.len(), seed, params.bootstrap_replicates);

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
                doc_of_row[r],
                words.iter().map(|w| w.to_string()).collect(),
            ));
        }
    };
    // The emerging and fading terms' documents: asked of the rows all at once.
    let emerging: Vec<(usize, usize)> = ["rising", "falling"]
        .into_iter()
        .flat_map(|direction| ranked(&stats, direction).into_iter().take(params.evidence_terms))
        .map(|stat| (stat.term, stat.peak_period))
        .collect();
    let supporting = counts.top_rows(&emerging, facts.period, params.evidence_per_item)?;
    for ((t, p), ranked) in emerging.into_iter().zip(supporting) {
        let term = vocabulary.terms[t].as_str();
        want("term", term, p, ranked, &[term]);
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
        interval_terms: summed.interval_terms,
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
