//! Themes measured by the keyword-assisted model: the lexicon's themes as keyword topics (seeds
//! that survive segmentation and the vocabulary), the model's fit described as tables — each
//! theme's words with their seed flag, documents' theme shares, each period's mean share with a
//! 95% credible interval over the posterior draws, and each theme's words in each period.
//!
//! A theme's words in period p come only from tokens the model assigned to the theme in p's
//! documents, so a word can never show up before it is used. Their distinctiveness is the
//! log₂ ratio of the word's share of the theme's tokens in p to its share in the theme's other
//! periods, both with 0.5 added to every count (`log₂((c_pw + ½)/(c_p + ½V_θ) ÷ (c_¬p,w + ½)/(c_¬p + ½V_θ))`,
//! V_θ the number of words the theme holds anywhere).
//!
//! A theme's *seed documents* are those its seeds occur in at least [`SEED_DOCUMENT_HITS`] times.
//! The model need not give them to the theme: a seed can also mark another subject, and a free
//! topic can take part of what the theme means (on labelled xwlb stories, the NPC theme lost a
//! third of its seed documents to free topics of the Standing Committee's own meetings and law
//! inspections). How many it gave elsewhere, and to which topics, is kept for the report.

use std::time::Instant;

use ndarray::Array2;

use super::away::AwayShards;
use super::keyatm::{keyatm, Chain, KeyAtmParams};
use crate::cluster::top;
use crate::error::Result;
use crate::vectorize::{Csr, Vocabulary};

/// A lexicon theme as the model sees it: its name, display label and seed terms.
#[derive(Debug, Clone)]
pub struct SeedTheme {
    pub name: String,
    pub label: String,
    pub seeds: Vec<String>,
}

/// A seed the model cannot use, and why: `not_a_token` (segmentation never produced it; `raw_count`
/// says how often its characters occur in the analysed texts) or `not_in_vocabulary` (too rare
/// or too common for the vocabulary's limits).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LostSeed {
    pub theme: String,
    pub term: String,
    pub reason: &'static str,
    pub raw_count: u64,
}

/// The seeds of each theme as vocabulary ids; lost seeds; themes dropped for want of any seed.
pub struct Seeds {
    pub themes: Vec<SeedTheme>,
    pub ids: Vec<Vec<u32>>,
    pub lost: Vec<LostSeed>,
    pub dropped: Vec<String>,
}

/// Match every theme's seeds against the segmented terms (all of the corpus's, sorted) and the vocabulary. `raw_counts` gives,
/// for seeds segmentation never produced, their occurrences in the analysed documents' texts.
pub fn match_seeds(
    themes: &[SeedTheme],
    terms: &[String],
    vocabulary: &Vocabulary,
    raw_counts: impl FnOnce(&[&str]) -> Result<Vec<u64>>,
) -> Result<Seeds> {
    let mut out = Seeds { themes: Vec::new(), ids: Vec::new(), lost: Vec::new(), dropped: Vec::new() };
    for theme in themes {
        let mut ids = Vec::new();
        for term in &theme.seeds {
            let lost = |reason| LostSeed { theme: theme.name.clone(), term: term.clone(), reason, raw_count: 0 };
            if terms.binary_search(term).is_err() {
                out.lost.push(lost("not_a_token"));
            } else {
                match vocabulary.terms.binary_search(term) {
                    Ok(id) => ids.push(id as u32),
                    Err(_) => out.lost.push(lost("not_in_vocabulary")),
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            out.dropped.push(theme.name.clone());
        } else {
            out.themes.push(theme.clone());
            out.ids.push(ids);
        }
    }
    // One pass over the texts for all of them.
    let mut not_tokens: Vec<&mut LostSeed> = out.lost.iter_mut().filter(|l| l.reason == "not_a_token").collect();
    let needles: Vec<String> = not_tokens.iter().map(|l| l.term.clone()).collect();
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    if !needles.is_empty() {
        for (lost, n) in not_tokens.iter_mut().zip(raw_counts(&needles)?) {
            lost.raw_count = n;
        }
    }
    Ok(out)
}

/// Occurrences of each needle in the texts (non-overlapping, as `str::matches` counts).
pub fn substring_counts<S: AsRef<str>>(texts: &[S], needles: &[&str]) -> Vec<u64> {
    needles.iter().map(|n| texts.iter().map(|t| t.as_ref().matches(n).count() as u64).sum()).collect()
}

/// One topic in one period: mean document share and its 95% credible interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Prevalence {
    pub topic: usize,
    pub period: usize,
    pub share: f64,
    pub low: f64,
    pub high: f64,
    pub n_docs: u32,
}

/// A word of a theme in one period.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodWord {
    pub topic: usize,
    pub period: usize,
    pub rank: u32,
    pub term: u32,
    /// Tokens assigned to the theme there, mean per posterior draw.
    pub count: f64,
    /// Its part of the theme's tokens in the period.
    pub share: f64,
    pub distinctiveness: f64,
}

pub struct ThemeModel {
    /// Keyword themes first (lexicon order), then the free topics `free_1`, `free_2`, ….
    pub names: Vec<String>,
    pub labels: Vec<String>,
    pub n_key: usize,
    pub seeds: Vec<Vec<u32>>,
    /// Per topic: (term id, weight), best first.
    pub terms: Vec<Vec<(u32, f64)>>,
    /// Per keyword theme: the words it holds beside its seeds, by relevance (below), best first.
    pub found: Vec<Vec<(u32, f64)>>,
    /// K × V topic–word probabilities.
    pub phi: Array2<f32>,
    /// n × K mean shares and mean assigned tokens over the posterior draws.
    pub shares: Array2<f32>,
    pub assigned: Array2<f32>,
    pub alpha: Vec<f64>,
    pub pi: Vec<f64>,
    pub prevalence: Vec<Prevalence>,
    pub words_by_period: Vec<PeriodWord>,
    /// Each chain's seed and keyATM log-likelihood (mean over its kept draws).
    pub chains: Vec<(u64, f64)>,
    /// Per theme, how alike the chains found its prevalence: the lowest correlation over periods
    /// between two chains' series (None with one chain, or when a series is flat).
    pub agreement: Vec<Option<f64>>,
    /// Per keyword theme: its seed documents and the topics that took them.
    pub seed_documents: Vec<SeedDocuments>,
    pub draws: usize,
    pub tokens: usize,
    pub iterations: usize,
    pub seconds: f64,
}

/// A document is one of a theme's seed documents when the theme's seeds occur in it this often.
pub const SEED_DOCUMENT_HITS: u32 = 3;
/// A seed document in which the theme's share is below this the model gave to another topic.
pub const TAKEN_BELOW: f32 = 0.1;

/// How a keyword theme's seed documents fared in the model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SeedDocuments {
    pub documents: u32,
    /// Seed documents whose share of the theme is below [`TAKEN_BELOW`].
    pub taken_elsewhere: u32,
    /// The topics with the largest share in those documents: (topic, documents), most first, at
    /// most [`TAKERS_LISTED`].
    pub takers: Vec<(usize, u32)>,
}

pub const TAKERS_LISTED: usize = 3;

/// Below this correlation between two chains' prevalence of a theme, the theme is not settled:
/// its seeds do not pin it to one subject in the corpus.
pub const UNSETTLED: f64 = 0.9;

impl ThemeModel {
    /// The keyword themes the chains disagree on (agreement below [`UNSETTLED`]).
    pub fn unsettled(&self) -> Vec<usize> {
        (0..self.n_key).filter(|&t| self.agreement[t].is_some_and(|r| r < UNSETTLED)).collect()
    }

    /// The first `n` of a topic's (term id, weight) `list` ([`Self::terms`], [`Self::found`]) as
    /// the vocabulary's `terms`.
    pub fn words<'t>(list: &[(u32, f64)], n: usize, terms: &'t [String]) -> Vec<&'t str> {
        list.iter().take(n).map(|&(id, _)| terms[id as usize].as_str()).collect()
    }

    /// φ of word `term` in topic `topic`.
    pub fn weight(&self, topic: usize, term: u32) -> f64 {
        self.phi[[topic, term as usize]] as f64
    }

    /// Topic k's mean share in each of `n_periods` periods.
    pub fn series(&self, topic: usize, n_periods: usize) -> Vec<f64> {
        (0..n_periods).map(|p| self.prevalence[p * self.names.len() + topic].share).collect()
    }
}

/// What the theme model reads.
pub struct ThemeInputs<'a> {
    pub counts: &'a Csr<u32>,
    pub seeds: &'a Seeds,
    pub period_of_row: &'a [Option<usize>],
    pub n_periods: usize,
    /// Terms listed per topic in theme_model.parquet, and per theme and period.
    pub top_terms: usize,
    /// Where the sampler's shards are sampled when not here (a sharded run's workers).
    pub away: Option<&'a AwayShards>,
}

/// Fit the model; it fails only if its shards are sampled away and stop answering.
pub fn fit_theme_model(inputs: &ThemeInputs, params: &KeyAtmParams, seed: u64) -> Result<ThemeModel> {
    let start = Instant::now();
    let seeds = inputs.seeds;
    let fit = keyatm(inputs.counts, &seeds.ids, params, inputs.period_of_row, inputs.n_periods, seed, inputs.away)?;
    let n_key = seeds.themes.len();
    let k = n_key + params.free_topics;
    let free = |i: usize| format!("free_{}", i + 1);
    let names: Vec<String> =
        seeds.themes.iter().map(|t| t.name.clone()).chain((0..params.free_topics).map(free)).collect();
    let labels: Vec<String> =
        seeds.themes.iter().map(|t| t.label.clone()).chain((0..params.free_topics).map(free)).collect();
    let terms = fit
        .phi
        .rows()
        .into_iter()
        .map(|row| top(row.iter().enumerate().map(|(t, &w)| (t as u32, w as f64)).collect(), inputs.top_terms))
        .collect();
    let found = found_words(&fit.phi, inputs.counts, &seeds.ids, inputs.top_terms);
    let mut n_docs = vec![0u32; inputs.n_periods];
    inputs.period_of_row.iter().flatten().for_each(|&p| n_docs[p] += 1);
    let mut prevalence = Vec::with_capacity(inputs.n_periods * k);
    for p in 0..inputs.n_periods {
        for topic in 0..k {
            let mut draws: Vec<f64> = fit.group_draws.iter().map(|d| d[p * k + topic]).collect();
            let share = draws.iter().sum::<f64>() / draws.len().max(1) as f64;
            draws.sort_by(f64::total_cmp);
            let (low, high) = (quantile(&draws, 0.025), quantile(&draws, 0.975));
            prevalence.push(Prevalence { topic, period: p, share, low, high, n_docs: n_docs[p] });
        }
    }
    let words_by_period = period_words(&fit.group_words, fit.draws, inputs.top_terms);
    let seed_documents = seed_documents(inputs.counts, &seeds.ids, &fit.theta);
    Ok(ThemeModel {
        names,
        labels,
        n_key,
        seeds: seeds.ids.clone(),
        terms,
        found,
        phi: fit.phi,
        shares: fit.theta,
        assigned: fit.assigned,
        alpha: fit.alpha,
        pi: fit.pi,
        prevalence,
        words_by_period,
        chains: fit.chains.iter().map(|c| (c.seed, c.log_likelihood)).collect(),
        agreement: (0..n_key).map(|t| chain_agreement(&fit.chains, &fit.group_draws, t, k)).collect(),
        seed_documents,
        draws: fit.draws,
        tokens: fit.tokens,
        iterations: fit.iterations,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Each keyword theme's seed documents (`seeds[t]` sorted) and the topics holding the most share
/// of those the theme does not take (`shares`: n × K, keyword themes first; ties to the lower topic).
fn seed_documents(counts: &Csr<u32>, seeds: &[Vec<u32>], shares: &Array2<f32>) -> Vec<SeedDocuments> {
    let mut themes_of_term: rustc_hash::FxHashMap<u32, Vec<usize>> = Default::default();
    for (t, ids) in seeds.iter().enumerate() {
        ids.iter().for_each(|&w| themes_of_term.entry(w).or_default().push(t));
    }
    let mut documents = vec![0u32; seeds.len()];
    let mut takers = vec![vec![0u32; shares.ncols()]; seeds.len()];
    let mut hits = vec![0u32; seeds.len()];
    for (d, row) in shares.rows().into_iter().enumerate() {
        hits.fill(0);
        let (terms, counts) = counts.row(d);
        for (w, &c) in terms.iter().zip(counts) {
            themes_of_term.get(w).into_iter().flatten().for_each(|&t| hits[t] += c);
        }
        for t in (0..seeds.len()).filter(|&t| hits[t] >= SEED_DOCUMENT_HITS) {
            documents[t] += 1;
            if row[t] < TAKEN_BELOW {
                let taker = (0..row.len())
                    .filter(|&j| j != t)
                    .reduce(|best, j| if row[j] > row[best] { j } else { best })
                    .unwrap_or(t);
                takers[t][taker] += 1;
            }
        }
    }
    documents
        .into_iter()
        .zip(takers)
        .map(|(documents, by_topic)| {
            let taken: Vec<(usize, f64)> =
                by_topic.iter().enumerate().filter(|&(_, &c)| c > 0).map(|(j, &c)| (j, c as f64)).collect();
            SeedDocuments {
                documents,
                taken_elsewhere: by_topic.iter().sum(),
                takers: top(taken, TAKERS_LISTED).into_iter().map(|(j, c)| (j, c as u32)).collect(),
            }
        })
        .collect()
}

/// The share of the topic's weight a word must hold to be listed as found (one in a thousand):
/// relevance favours rare words, and this keeps a word the theme barely uses off the list.
const FOUND_FLOOR: f64 = 1e-3;

/// Each keyword theme's non-seed words ranked by relevance (Sievert & Shirley 2014, λ = 0.6):
/// λ·ln φ_kw + (1 − λ)·ln(φ_kw / p_w), p_w the word's share of the corpus's tokens — so words the
/// theme holds *more than the corpus does* come before merely frequent ones.
fn found_words(phi: &Array2<f32>, counts: &Csr<u32>, seeds: &[Vec<u32>], n: usize) -> Vec<Vec<(u32, f64)>> {
    const LAMBDA: f64 = 0.6;
    let mut frequency = vec![0u64; counts.n_cols];
    counts.indices.iter().zip(&counts.values).for_each(|(&t, &c)| frequency[t as usize] += c as u64);
    let total = frequency.iter().sum::<u64>().max(1) as f64;
    seeds
        .iter()
        .enumerate()
        .map(|(k, seeds)| {
            let scored = phi
                .row(k)
                .iter()
                .enumerate()
                .filter(|&(w, &p)| {
                    p as f64 >= FOUND_FLOOR && frequency[w] > 0 && seeds.binary_search(&(w as u32)).is_err()
                })
                .map(|(w, &p)| {
                    let p = p as f64;
                    (w as u32, LAMBDA * p.ln() + (1.0 - LAMBDA) * (p / (frequency[w] as f64 / total)).ln())
                })
                .collect();
            top(scored, n)
        })
        .collect()
}

/// The lowest Pearson correlation between two chains' period series of topic `t` (each the mean
/// of the chain's own draws of `group_draws`, `[g * k + t]`).
fn chain_agreement(chains: &[Chain], group_draws: &[Vec<f64>], t: usize, k: usize) -> Option<f64> {
    let series: Vec<Vec<f64>> = chains
        .iter()
        .map(|c| {
            let draws = &group_draws[c.draws.clone()];
            let groups = draws.first().map_or(0, |d| d.len() / k);
            (0..groups).map(|g| draws.iter().map(|d| d[g * k + t]).sum::<f64>() / draws.len() as f64).collect()
        })
        .collect();
    let mut lowest: Option<f64> = None;
    for (i, a) in series.iter().enumerate() {
        for b in &series[i + 1..] {
            let r = pearson(a, b)?;
            lowest = Some(lowest.map_or(r, |l| l.min(r)));
        }
    }
    lowest
}

/// Pearson's r of two equally long series (None when either is flat).
fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        ab += (x - ma) * (y - mb);
        aa += (x - ma) * (x - ma);
        bb += (y - mb) * (y - mb);
    }
    (aa > 0.0 && bb > 0.0).then(|| ab / (aa * bb).sqrt())
}

/// Linear-interpolated quantile of sorted values (NaN when empty).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Each theme's `n` most assigned words per period, with shares and distinctiveness.
fn period_words(group_words: &[Vec<rustc_hash::FxHashMap<u32, u32>>], draws: usize, n: usize) -> Vec<PeriodWord> {
    let mut out = Vec::new();
    for (topic, periods) in group_words.iter().enumerate() {
        let mut overall: rustc_hash::FxHashMap<u32, u64> = Default::default();
        for words in periods {
            words.iter().for_each(|(&w, &c)| *overall.entry(w).or_default() += c as u64);
        }
        let all: u64 = overall.values().sum();
        let half_v = 0.5 * overall.len() as f64;
        for (period, words) in periods.iter().enumerate() {
            let here: u64 = words.values().map(|&c| c as u64).sum();
            let rest = (all - here) as f64;
            let counted: Vec<(u32, f64)> = words.iter().map(|(&w, &c)| (w, c as f64)).collect();
            for (rank, (w, c)) in top(counted, n).into_iter().enumerate() {
                let elsewhere = (overall[&w] as f64 - c).max(0.0);
                let inside = (c + 0.5) / (here as f64 + half_v);
                let outside = (elsewhere + 0.5) / (rest + half_v);
                out.push(PeriodWord {
                    topic,
                    period,
                    rank: rank as u32 + 1,
                    term: w,
                    count: c / draws.max(1) as f64,
                    share: c / here.max(1) as f64,
                    distinctiveness: (inside / outside).log2(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_documents_count_the_theme_s_seeds_and_name_who_took_them() {
        // Terms 0 and 1 seed theme 0, term 2 theme 1; topic 2 is free.
        let counts = Csr::from_rows(
            4,
            vec![
                vec![(0, 2), (1, 1), (3, 5)], // theme 0's seeds 3 times, kept by theme 0
                vec![(0, 3), (2, 1)],         // theme 0's seeds 3 times, taken by the free topic
                vec![(1, 2), (2, 4)],         // theme 0's seeds twice: not a seed document
                vec![(0, 1), (1, 2), (2, 3)], // both themes' seed document; theme 0's share under 10%
            ],
        );
        let shares = ndarray::arr2(&[[0.8f32, 0.1, 0.1], [0.05, 0.3, 0.65], [0.0, 1.0, 0.0], [0.09, 0.91, 0.0]]);
        let fared = seed_documents(&counts, &[vec![0, 1], vec![2]], &shares);
        assert_eq!(fared[0], SeedDocuments { documents: 3, taken_elsewhere: 2, takers: vec![(1, 1), (2, 1)] });
        assert_eq!(fared[1], SeedDocuments { documents: 2, taken_elsewhere: 0, takers: vec![] });
    }

    #[test]
    fn seeds_lost_to_segmentation_are_counted_in_the_raw_text() {
        let tokenized = crate::segment::Tokenized::from_token_lists(&[vec!["能源", "合作"], vec!["能源", "贸易"]]);
        let vocabulary = Vocabulary { terms: vec!["合作".into(), "能源".into()], df: vec![1, 2], cf: vec![1, 2] };
        let themes = vec![
            SeedTheme {
                name: "energy".into(), label: "能源".into(), seeds: vec!["能源".into(), "天然气".into()]
            },
            SeedTheme { name: "trade".into(), label: "贸易".into(), seeds: vec!["贸易".into()] },
        ];
        let texts = ["天然气管道与天然气", "贸易"];
        let seeds =
            match_seeds(&themes, &tokenized.terms, &vocabulary, |needles| Ok(substring_counts(&texts, needles)))
                .unwrap();
        assert_eq!(seeds.ids, [vec![1]]);
        assert_eq!(seeds.dropped, ["trade"]);
        assert_eq!(
            (seeds.lost[0].term.as_str(), seeds.lost[0].reason, seeds.lost[0].raw_count),
            ("天然气", "not_a_token", 2)
        );
        assert_eq!((seeds.lost[1].term.as_str(), seeds.lost[1].reason), ("贸易", "not_in_vocabulary"));
    }

    #[test]
    fn period_words_rank_by_count_and_score_against_other_periods() {
        let mut p0 = rustc_hash::FxHashMap::default();
        p0.insert(1u32, 30u32);
        p0.insert(2, 10);
        let mut p1 = rustc_hash::FxHashMap::default();
        p1.insert(1u32, 10u32);
        p1.insert(3, 30);
        let words = period_words(&[vec![p0, p1]], 10, 5);
        let first: Vec<(usize, u32)> = words.iter().filter(|w| w.rank == 1).map(|w| (w.period, w.term)).collect();
        assert_eq!(first, [(0, 1), (1, 3)]);
        let w3 = words.iter().find(|w| w.term == 3).unwrap();
        assert_eq!((w3.count, w3.share), (3.0, 0.75));
        assert!(w3.distinctiveness > 5.0);
        assert!(words.iter().all(|w| !(w.period == 0 && w.term == 3)));
    }
}
