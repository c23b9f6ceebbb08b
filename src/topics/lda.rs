//! Latent Dirichlet allocation by collapsed Gibbs sampling (Griffiths & Steyvers 2004),
//! parallel as approximate distributed LDA (Newman et al. 2009): the documents are cut into a
//! fixed number of shards; in each sweep every shard samples its tokens against its own copy of
//! the word–topic counts, and the copies' changes are added together afterwards.
//!
//! Each token is drawn from its exact conditional, either by weighing all k topics eight at a time
//! (dense, [`super::draw`]; the fastest up to k ≈ 150 here) or by SparseLDA's three buckets (Yao,
//! Mimno & McCallum 2009), whose cost grows with the topics a document and a word actually hold
//! rather than with k:
//!
//! ```text
//! (α_t + n_dt)(β + n_wt)/(Vβ + n_t) = α_t β/(Vβ + n_t)          s: every topic, tiny
//!                                   + n_dt β/(Vβ + n_t)          r: the document's topics
//!                                   + (α_t + n_dt) n_wt/(Vβ + n_t) q: the word's topics
//! ```
//!
//! α can be asymmetric, re-estimated every `optimize_interval` sweeps by Minka's fixed point (as
//! MALLET's `--optimize-interval` and tomotopy's `optim_interval`), from the histograms of the
//! documents' topic counts.
//!
//! Because the shards (and each shard's random stream, seeded from seed, sweep and shard) do not
//! depend on the number of threads, neither does the result.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::away::AwayShards;
use super::draw;
use crate::error::Result;
use crate::vectorize::Csr;

/// LDA settings. Defaults: α = 20/k per topic, at most 1 (α summing to 20 over the topics from
/// k = 20 on, as MALLET's alpha-sum: 1 up to k = 20 — topica's start — 0.4 at k = 50, 0.2 at
/// k = 100, 0.1 at k = 200; capped so that a few topics do not smooth short documents flat);
/// β = 0.01; 300 sweeps, the first 10 as one shard when α < 1, the last 100 (every 10th)
/// averaged into the estimates; α kept fixed. With the warm-up, the full xwlb corpus scored
/// (gensim c_npmi, means of three seeds): k = 50 0.1521 with α = 0.4 (0.1489 at 0.1 without
/// the warm-up); k = 100 0.1726 with α = 0.2 (0.1643 at 0.1 without it); at k = 20, α = 1,
/// eight seeds: 0.1224 without the warm-up, 0.1189 with it. α = 1 at every k lost at k = 100
/// (0.1578). Re-estimating α (`optimize_interval = 10`) changed coherence by less than the
/// seed does (README has the tables).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LdaParams {
    /// α per topic; unset, [`DEFAULT_ALPHA_SUM`] / k, at most 1.
    pub alpha: Option<f64>,
    pub beta: f64,
    pub iterations: usize,
    /// Sweeps before samples are averaged.
    pub burn_in: usize,
    /// Average every `thin`-th sweep after burn-in.
    pub thin: usize,
    /// Re-estimate α every this many sweeps (Minka's fixed point); 0 keeps it fixed at `alpha`.
    pub optimize_interval: usize,
    /// The first sweeps sample every document as one shard (exact collapsed Gibbs, one thread):
    /// the topics take shape once, before the shards sample side by side. From a random start,
    /// shards sampling apart each grow their own topics under the same numbers, and the merge
    /// mixes them; the mixture did not always come apart again (China–Russia subset, k = 20,
    /// seeds 0–4: c_npmi 0.0856–0.1147, mean 0.1013, without it; 0.1102–0.1130, mean 0.1117,
    /// with 10 such sweeps; one shard throughout 0.1145). Unset, [`WARM_UP`] sweeps when α < 1
    /// and none from α = 1 on: a prior that large keeps the shards' topics from drifting apart,
    /// and the warm-up only cost time (k = 20, α = 1, seeds 0–7, c_npmi means with / without:
    /// full corpus 0.1189 / 0.1224, China–Russia subset 0.1147 / 0.1123; 10 sweeps on one
    /// thread are ~6% of such a fit).
    pub warm_up: Option<usize>,
}

impl Default for LdaParams {
    fn default() -> Self {
        LdaParams {
            alpha: None,
            beta: 0.01,
            iterations: 300,
            burn_in: 200,
            thin: 10,
            optimize_interval: 0,
            warm_up: None,
        }
    }
}

/// The sum of α over the topics, from k = 20 on, when `alpha` is not given.
pub const DEFAULT_ALPHA_SUM: f64 = 20.0;

/// Sweeps as one shard first when `warm_up` is unset and α < 1.
pub const WARM_UP: usize = 10;

impl LdaParams {
    /// α per topic for a fit of `k` topics.
    pub fn alpha_for(&self, k: usize) -> f64 {
        self.alpha.unwrap_or((DEFAULT_ALPHA_SUM / k.max(1) as f64).min(1.0))
    }

    /// Whether α is re-estimated after sweep `done` (counted from 1).
    pub(super) fn optimizes_after(&self, done: usize) -> bool {
        self.optimize_interval > 0 && done.is_multiple_of(self.optimize_interval) && done < self.iterations
    }

    /// Whether sweep `done`'s state is averaged into the estimates.
    pub(super) fn averages_after(&self, done: usize) -> bool {
        let kept = done > self.burn_in && (done - self.burn_in).is_multiple_of(self.thin.max(1));
        kept || done == self.iterations
    }

    /// Sweeps as one shard before the shards sample side by side, for a fit of `k` topics.
    pub fn warm_up_for(&self, k: usize) -> usize {
        self.warm_up.unwrap_or(if self.alpha_for(k) < 1.0 { WARM_UP } else { 0 })
    }
}

/// Shards of documents sampled in parallel: fixed, so results do not depend on the threads.
const SHARDS: usize = 8;

/// From this many topics on, tokens are drawn by SparseLDA's buckets. Measured on the
/// China–Russia subset, 2 threads, 100 sweeps (M token-iterations/s, dense / sparse): 28.6 /
/// 20.5 at k = 20, 19.4 / 15.8 at k = 50, 5.1–5.2 / 4.8–5.6 at k = 200 (two runs), 3.0 / 3.0
/// at k = 400; at k = 100 the dense fit took 7.3 s, the sparse 8.5 s. (The dense draw before
/// this one summed topic by topic: 25 / 11 / 4.9 at k = 20 / 50 / 100, so the sparse one took
/// over from k = 24.)
const SPARSE_FROM_K: usize = 160;

pub struct LdaFit {
    /// n × k topic proportions θ (rows sum to 1).
    pub theta: Array2<f32>,
    /// k × v topic–word probabilities φ (rows sum to 1).
    pub phi: Array2<f32>,
    /// n × k tokens assigned to each topic in the last sweep.
    pub assigned: Array2<u32>,
    /// The prior α per topic at the end (the estimate, when optimised).
    pub alpha: Vec<f64>,
    pub tokens: usize,
    pub iterations: usize,
    /// Sweeps sampled as one shard first.
    pub warm_up: usize,
}

pub(super) struct Shard<'a> {
    pub(super) docs: std::ops::Range<usize>,
    /// Token words (as rows of the shard's own table, see [`ShardWords`]) and topics of this
    /// shard's documents, and each document's first token.
    pub(super) words: &'a [u32],
    pub(super) topics: &'a mut [u16],
    pub(super) starts: &'a [usize],
    pub(super) doc_topic: &'a mut [u32],
}

/// Fit `k` topics to the term counts `counts` (documents × terms). With `away`, the shards are
/// sampled where it sends them (after the warm-up, sampled here): the same fit, bit for bit; it
/// fails only if they stop answering ([`super::lda_shards`]).
pub fn lda(counts: &Csr<u32>, k: usize, params: &LdaParams, seed: u64, away: Option<&AwayShards>) -> Result<LdaFit> {
    lda_with(counts, k, params, seed, k >= SPARSE_FROM_K, away)
}

fn lda_with(
    counts: &Csr<u32>,
    k: usize,
    params: &LdaParams,
    seed: u64,
    sparse: bool,
    away: Option<&AwayShards>,
) -> Result<LdaFit> {
    assert!((1..=u16::MAX as usize).contains(&k), "k must be 1 to 65535");
    let (n, v) = (counts.n_rows(), counts.n_cols);
    let (words, starts) = tokens_by_document(counts);
    let total = words.len();

    let mut topics = vec![0u16; total];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    topics.iter_mut().for_each(|z| *z = rng.gen_range(0..k as u16));
    let mut doc_topic = vec![0u32; n * k];
    let mut word_topic = vec![0u32; v * k];
    let mut topic_total = vec![0u32; k];
    for d in 0..n {
        for i in starts[d]..starts[d + 1] {
            let (w, z) = (words[i] as usize, topics[i] as usize);
            doc_topic[d * k + z] += 1;
            word_topic[w * k + z] += 1;
            topic_total[z] += 1;
        }
    }
    // Document lengths do not change: α's estimate reads their histogram, made once.
    let length_histogram = histogram(starts.windows(2).map(|p| (p[1] - p[0]) as u32).filter(|&x| x > 0));

    let mut alpha = vec![params.alpha_for(k); k];
    let bounds = crate::linalg::shard_bounds(&starts, SHARDS);
    let shard_words = ShardWords::of_shards(&words, &starts, &bounds);
    let one_shard = [0, n];
    let warm_up_sweeps = params.warm_up_for(k);
    let mut warm_up = (warm_up_sweeps > 0).then(|| ShardWords::of_shards(&words, &starts, &one_shard));
    // Each shard's copy of its rows of the word–topic counts, its memory kept between sweeps.
    let mut tables: Vec<Vec<u32>> = vec![Vec::new(); SHARDS];
    let mut theta_sum = Array2::<f64>::zeros((n, k));
    let mut phi_sum = Array2::<f64>::zeros((k, v));
    let progress = crate::progress::bar("LDA", params.iterations as u64, "sweeps");
    // With shards sampled away, every sweep after the warm-up is theirs.
    let here_until = if away.is_some() { warm_up_sweeps.min(params.iterations) } else { params.iterations };
    for sweep in 0..here_until {
        progress.add(1);
        if sweep == warm_up_sweeps && warm_up.take().is_some() {
            // The warm-up's table held every word; the first shard's needs far less.
            tables[0] = Vec::new();
        }
        let (bounds, shard_words) = match &warm_up {
            Some(whole) => (&one_shard[..], &whole[..]),
            None => (&bounds[..], &shard_words[..]),
        };
        let mut shards = split(bounds, shard_words, &mut topics, &starts, &mut doc_topic, k);
        let totals: Vec<Vec<u32>> = shards
            .par_iter_mut()
            .zip(shard_words)
            .zip(&mut tables)
            .enumerate()
            .map(|(s, ((shard, own), table))| {
                own.copy_rows(&word_topic, k, table);
                let mut tt = topic_total.clone();
                let sampling = Sampling { alpha: &alpha, beta: params.beta, v, sparse, seed, sweep };
                sampling.sample(s, shard, own, table, &mut tt);
                tt
            })
            .collect();
        drop(shards);
        // Integer sums: the order the shards' changes are added in does not matter.
        let sampled: Vec<&[u32]> = tables.iter().map(|t| &t[..]).collect();
        ShardWords::add_all_changes(shard_words, &sampled, &mut word_topic, k);
        merge(&mut topic_total, totals.iter());
        let done = sweep + 1;
        if params.optimizes_after(done) {
            optimize_alpha(&mut alpha, topic_histograms(&doc_topic, k), &length_histogram);
        }
        if params.averages_after(done) {
            accumulate_theta(&mut theta_sum, &doc_topic, &alpha);
            accumulate_phi(&mut phi_sum, &word_topic, &topic_total, params.beta);
        }
    }
    if let Some(away) = away.filter(|_| here_until < params.iterations) {
        // The shards' copies of the counts are theirs from now on.
        drop((warm_up, tables));
        let mut chain = super::lda_shards::Chain {
            k,
            v,
            sparse,
            seed,
            params,
            words: &words,
            starts: &starts,
            bounds: &bounds,
            shard_words: &shard_words,
            length_histogram: &length_histogram,
            topics: &topics,
            doc_topic: &mut doc_topic,
            word_topic: &mut word_topic,
            topic_total: &mut topic_total,
            alpha: &mut alpha,
            theta_sum: &mut theta_sum,
            phi_sum: &mut phi_sum,
        };
        chain.sample_away(away, here_until, &progress)?;
    }
    let normalize_rows = |m: Array2<f64>| {
        let mut out = m.mapv(|x| x as f32);
        for mut row in out.rows_mut() {
            let s: f32 = row.sum();
            if s > 0.0 {
                row.mapv_inplace(|x| x / s);
            }
        }
        out
    };
    Ok(LdaFit {
        theta: normalize_rows(theta_sum),
        phi: normalize_rows(phi_sum),
        assigned: Array2::from_shape_vec((n, k), doc_topic).expect("n × k"),
        alpha,
        tokens: total,
        iterations: params.iterations,
        warm_up: warm_up_sweeps,
    })
}

/// What one sweep of one shard samples with: the prior, the sampler, and where its random
/// stream comes from (the seed, the sweep and the shard — never the thread or the worker).
pub(super) struct Sampling<'a> {
    pub(super) alpha: &'a [f64],
    pub(super) beta: f64,
    pub(super) v: usize,
    pub(super) sparse: bool,
    pub(super) seed: u64,
    pub(super) sweep: usize,
}

impl Sampling<'_> {
    /// Sample shard `s` against `table`, its rows of the word–topic counts, and `topic_total`.
    pub(super) fn sample(
        &self,
        s: usize,
        shard: &mut Shard,
        own: &ShardWords,
        table: &mut [u32],
        topic_total: &mut [u32],
    ) {
        let stream = self.seed ^ ((self.sweep as u64 + 1) << 20) ^ (s as u64 + 1);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream);
        if self.sparse {
            let mut lists = WordTopicLists::new(table, self.alpha.len(), &own.occurrences);
            sample_sparse(shard, table, topic_total, &mut lists, self.alpha, self.beta, self.v, &mut rng);
        } else {
            sample_dense(shard, table, topic_total, self.alpha, self.beta, self.v, &mut rng);
        }
    }
}

/// Every token's word id, grouped by document in term order (order inside a document does not
/// matter to a Gibbs sampler), and each document's first token (`starts[n]` = all tokens).
pub(super) fn tokens_by_document(counts: &Csr<u32>) -> (Vec<u32>, Vec<usize>) {
    let n = counts.n_rows();
    let mut words = Vec::with_capacity(counts.values.iter().map(|&c| c as usize).sum());
    let mut starts = Vec::with_capacity(n + 1);
    for d in 0..n {
        starts.push(words.len());
        let (terms, times) = counts.row(d);
        for (&t, &c) in terms.iter().zip(times) {
            words.extend(std::iter::repeat_n(t, c as usize));
        }
    }
    starts.push(words.len());
    (words, starts)
}

/// A shard's own numbering of the words it holds, so that it copies, samples against and hands
/// back only those rows of the word–topic counts rather than all V (at k = 200 on the full
/// corpus, a shard holds about a third of the vocabulary).
pub(super) struct ShardWords {
    /// The shard's distinct words (vocabulary ids, increasing): row j of its table is word
    /// `vocabulary[j]`.
    pub(super) vocabulary: Vec<u32>,
    /// The shard's tokens as rows of its table.
    pub(super) tokens: Vec<u32>,
    /// How many of the shard's tokens each row has (what bounds its SparseLDA list's growth).
    occurrences: Vec<u32>,
}

impl ShardWords {
    /// Each shard's numbering: shard s holds documents `bounds[s]..bounds[s + 1]`.
    pub(super) fn of_shards(words: &[u32], starts: &[usize], bounds: &[usize]) -> Vec<ShardWords> {
        bounds.windows(2).map(|p| ShardWords::new(&words[starts[p[0]]..starts[p[1]]])).collect()
    }

    pub(super) fn new(words: &[u32]) -> Self {
        let mut vocabulary = words.to_vec();
        vocabulary.sort_unstable();
        vocabulary.dedup();
        let tokens: Vec<u32> = words.iter().map(|w| vocabulary.binary_search(w).expect("listed") as u32).collect();
        let mut occurrences = vec![0u32; vocabulary.len()];
        tokens.iter().for_each(|&w| occurrences[w as usize] += 1);
        ShardWords { vocabulary, tokens, occurrences }
    }

    /// The shard's rows of the word–topic counts, into `table` (its memory kept from sweep to
    /// sweep).
    pub(super) fn copy_rows(&self, word_topic: &[u32], k: usize, table: &mut Vec<u32>) {
        table.clear();
        table.reserve(self.vocabulary.len() * k);
        for &w in &self.vocabulary {
            table.extend_from_slice(&word_topic[w as usize * k..(w as usize + 1) * k]);
        }
    }

    /// Add what every shard's sampling changed to the whole table: `tables[s]` is shard s's
    /// table ([`Self::copy_rows`]) after its sweep, so a word held by m shards has, after,
    /// before + Σ (theirs − before) = Σ theirs − (m − 1) · before: its row is scaled by 1 − m,
    /// then the shards' rows are added. In parallel over blocks of words; wrapping integer
    /// arithmetic, exact because the result is a count, and the same whatever the order. (Added
    /// one shard after another on one thread, this was ~8% of a keyATM sweep; writing each
    /// shard's changes out first took another ~5% of an LDA fit at k = 50 by perf's samples.)
    pub(super) fn add_all_changes(shards: &[ShardWords], tables: &[&[u32]], word_topic: &mut [u32], k: usize) {
        const WORDS: usize = 1024;
        word_topic.par_chunks_mut(WORDS * k).enumerate().for_each(|(block, rows)| {
            let (low, high) = ((block * WORDS) as u32, ((block + 1) * WORDS) as u32);
            let ranges: Vec<std::ops::Range<usize>> = shards
                .iter()
                .map(|own| own.vocabulary.partition_point(|&w| w < low)..own.vocabulary.partition_point(|&w| w < high))
                .collect();
            let mut holders = [0u32; WORDS];
            for (own, range) in shards.iter().zip(&ranges) {
                own.vocabulary[range.clone()].iter().for_each(|&w| holders[(w - low) as usize] += 1);
            }
            for (row, &m) in rows.chunks_exact_mut(k).zip(&holders).filter(|(_, &m)| m > 1) {
                let scale = 1u32.wrapping_sub(m);
                row.iter_mut().for_each(|count| *count = count.wrapping_mul(scale));
            }
            for ((own, range), table) in shards.iter().zip(&ranges).zip(tables) {
                for (j, &w) in range.clone().zip(&own.vocabulary[range.clone()]) {
                    let row = &mut rows[(w - low) as usize * k..][..k];
                    let theirs = &table[j * k..][..k];
                    // A word one shard holds takes that shard's row; others add theirs up.
                    if holders[(w - low) as usize] == 1 {
                        row.copy_from_slice(theirs);
                    } else {
                        row.iter_mut().zip(theirs).for_each(|(count, &now)| *count = count.wrapping_add(now));
                    }
                }
            }
            debug_assert!(rows.iter().all(|&count| count < u32::MAX / 2), "counts stay non-negative");
        });
    }
}

fn split<'a>(
    bounds: &[usize],
    shard_words: &'a [ShardWords],
    topics: &'a mut [u16],
    starts: &'a [usize],
    doc_topic: &'a mut [u32],
    k: usize,
) -> Vec<Shard<'a>> {
    let mut shards = Vec::new();
    let (mut topics, mut doc_topic) = (topics, doc_topic);
    for (pair, own) in bounds.windows(2).zip(shard_words) {
        let (a, b) = (pair[0], pair[1]);
        let (t, rest) = topics.split_at_mut(starts[b] - starts[a]);
        let (dt, rest_dt) = doc_topic.split_at_mut((b - a) * k);
        shards.push(Shard { docs: a..b, words: &own.tokens, topics: t, starts, doc_topic: dt });
        topics = rest;
        doc_topic = rest_dt;
    }
    shards
}

/// Draw every token of the shard from its conditional over all k topics, eight at a time
/// ([`super::draw`]): per topic the factor (α_t + n_dt)/(Vβ + n_t) is kept (made afresh for each
/// document, and for the two topics a token leaves and joins), so a token costs one pass over
/// its word's row of counts.
fn sample_dense(
    shard: &mut Shard,
    word_topic: &mut [u32],
    topic_total: &mut [u32],
    alpha: &[f64],
    beta: f64,
    v: usize,
    rng: &mut Xoshiro256PlusPlus,
) {
    let k = alpha.len();
    let v_beta = v as f64 * beta;
    let mut coefficient = vec![0f32; draw::padded(k)];
    let mut draw = draw::Draw::new(k);
    let factor = |t: usize, dt: &[u32], topic_total: &[u32]| {
        ((alpha[t] + dt[t] as f64) / (topic_total[t] as f64 + v_beta)) as f32
    };
    let base = shard.starts[shard.docs.start];
    for (local_doc, d) in shard.docs.clone().enumerate() {
        let dt = &mut shard.doc_topic[local_doc * k..(local_doc + 1) * k];
        for (t, c) in coefficient.iter_mut().enumerate().take(k) {
            *c = factor(t, dt, topic_total);
        }
        for i in shard.starts[d] - base..shard.starts[d + 1] - base {
            draw::prefetch_ahead(word_topic, shard.words, i, k);
            let w = shard.words[i] as usize;
            let old = shard.topics[i] as usize;
            let wt = &mut word_topic[w * k..(w + 1) * k];
            dt[old] -= 1;
            wt[old] -= 1;
            topic_total[old] -= 1;
            coefficient[old] = factor(old, dt, topic_total);
            draw.weigh(&coefficient, wt, beta as f32);
            let new = draw.pick(rng.gen::<f64>());
            dt[new] += 1;
            wt[new] += 1;
            topic_total[new] += 1;
            coefficient[new] = factor(new, dt, topic_total);
            shard.topics[i] = new as u16;
        }
    }
}

/// Each word's topics that have held tokens this sweep, beside the dense counts, so that
/// SparseLDA's q bucket visits only those. A list only grows during a sweep: a topic whose count
/// falls to zero stays listed (it adds nothing to q) and is not listed twice, which spares a
/// search on every removal. So a word starting with z topics whose shard holds m of its tokens
/// lists at most min(k, z + m): every list has a fixed capacity in one flat array.
struct WordTopicLists {
    /// Word w's slots are `topics[offsets[w]..offsets[w + 1]]`, the first `len[w]` in use.
    offsets: Vec<usize>,
    topics: Vec<u16>,
    len: Vec<u32>,
    /// Bit (w, t) set when topic t is in word w's list; `words_per_row` u64 per word.
    listed: Vec<u64>,
    words_per_row: usize,
}

impl WordTopicLists {
    /// Lists from the counts (`k` per word, topics in increasing order) for a shard holding
    /// `occurrences[w]` tokens of word w.
    fn new(word_topic: &[u32], k: usize, occurrences: &[u32]) -> Self {
        let v = word_topic.len() / k;
        let words_per_row = k.div_ceil(64);
        let mut lists = WordTopicLists {
            offsets: Vec::with_capacity(v + 1),
            topics: Vec::new(),
            len: vec![0; v],
            listed: vec![0; v * words_per_row],
            words_per_row,
        };
        lists.offsets.push(0);
        for (w, row) in word_topic.chunks_exact(k).enumerate() {
            let before = lists.topics.len();
            for (t, _) in row.iter().enumerate().filter(|(_, &c)| c > 0) {
                lists.topics.push(t as u16);
                lists.listed[w * words_per_row + t / 64] |= 1 << (t % 64);
            }
            let held = lists.topics.len() - before;
            lists.len[w] = held as u32;
            lists.topics.resize(before + (held + occurrences[w] as usize).min(k), 0);
            lists.offsets.push(lists.topics.len());
        }
        lists
    }

    fn of(&self, w: usize) -> &[u16] {
        &self.topics[self.offsets[w]..self.offsets[w] + self.len[w] as usize]
    }

    /// List topic t for word w unless it is listed already.
    fn note(&mut self, w: usize, t: usize) {
        let (word, bit) = (w * self.words_per_row + t / 64, 1u64 << (t % 64));
        if self.listed[word] & bit == 0 {
            assert!(self.offsets[w] + (self.len[w] as usize) < self.offsets[w + 1], "list capacity");
            self.listed[word] |= bit;
            self.topics[self.offsets[w] + self.len[w] as usize] = t as u16;
            self.len[w] += 1;
        }
    }
}

/// One shard's state for SparseLDA while it walks a document: 1/(Vβ + n_t), the q bucket's
/// coefficient (α_t + n_dt)/(Vβ + n_t) per topic, the s and r bucket masses and the document's
/// topics (those that have held its tokens; like the word lists, it only grows).
struct SparseState<'a> {
    alpha: &'a [f64],
    beta: f64,
    v_beta: f64,
    inv_total: Vec<f64>,
    coefficient: Vec<f64>,
    doc_topics: Vec<u16>,
    in_document: Vec<bool>,
    s: f64,
    r: f64,
    q_cumulative: Vec<f64>,
}

impl<'a> SparseState<'a> {
    fn new(alpha: &'a [f64], beta: f64, v: usize, topic_total: &[u32]) -> Self {
        let k = alpha.len();
        let v_beta = v as f64 * beta;
        SparseState {
            alpha,
            beta,
            v_beta,
            inv_total: topic_total.iter().map(|&t| 1.0 / (t as f64 + v_beta)).collect(),
            coefficient: vec![0.0; k],
            doc_topics: Vec::with_capacity(k),
            in_document: vec![false; k],
            s: 0.0,
            r: 0.0,
            q_cumulative: vec![0.0; k],
        }
    }

    /// Bucket masses and coefficients for a new document, summed afresh (no drift carried over).
    fn start_document(&mut self, dt: &[u32]) {
        let (alpha, beta) = (self.alpha, self.beta);
        self.doc_topics.iter().for_each(|&t| self.in_document[t as usize] = false);
        self.doc_topics.clear();
        self.s = 0.0;
        self.r = 0.0;
        for (t, &c) in dt.iter().enumerate() {
            self.s += alpha[t] * beta * self.inv_total[t];
            self.coefficient[t] = (alpha[t] + c as f64) * self.inv_total[t];
            if c > 0 {
                self.doc_topics.push(t as u16);
                self.in_document[t] = true;
                self.r += c as f64 * beta * self.inv_total[t];
            }
        }
    }

    /// Move one token of topic t in (+1) or out (−1) of the counts, keeping the buckets exact.
    #[allow(clippy::too_many_arguments)]
    fn shift(
        &mut self,
        t: usize,
        w: usize,
        step: i32,
        dt: &mut [u32],
        word_row: &mut [u32],
        topic_total: &mut [u32],
        lists: &mut WordTopicLists,
    ) {
        let (a, beta) = (self.alpha[t], self.beta);
        self.s -= a * beta * self.inv_total[t];
        self.r -= dt[t] as f64 * beta * self.inv_total[t];
        dt[t] = dt[t].wrapping_add_signed(step);
        word_row[t] = word_row[t].wrapping_add_signed(step);
        topic_total[t] = topic_total[t].wrapping_add_signed(step);
        self.inv_total[t] = 1.0 / (topic_total[t] as f64 + self.v_beta);
        self.s += a * beta * self.inv_total[t];
        self.r += dt[t] as f64 * beta * self.inv_total[t];
        self.coefficient[t] = (a + dt[t] as f64) * self.inv_total[t];
        if step > 0 {
            if !self.in_document[t] {
                self.in_document[t] = true;
                self.doc_topics.push(t as u16);
            }
            lists.note(w, t);
        }
    }

    /// A topic for a token of word w (already taken out of the counts), from its exact
    /// conditional: the q bucket over the word's topics, then r over the document's, then s.
    fn draw(&mut self, dt: &[u32], word_row: &[u32], word_topics: &[u16], rng: &mut Xoshiro256PlusPlus) -> usize {
        let mut q = 0.0;
        for (j, &t) in word_topics.iter().enumerate() {
            q += self.coefficient[t as usize] * word_row[t as usize] as f64;
            self.q_cumulative[j] = q;
        }
        let mut u = rng.gen::<f64>() * (self.s + self.r + q);
        if u < q {
            let j = self.q_cumulative[..word_topics.len()].partition_point(|&c| c <= u);
            return word_topics[j.min(word_topics.len() - 1)] as usize;
        }
        u -= q;
        if u < self.r {
            let mut acc = 0.0;
            for &t in &self.doc_topics {
                acc += dt[t as usize] as f64 * self.beta * self.inv_total[t as usize];
                if acc > u {
                    return t as usize;
                }
            }
            if let Some(&t) = self.doc_topics.iter().rev().find(|&&t| dt[t as usize] > 0) {
                return t as usize;
            }
        }
        u = (u - self.r).max(0.0);
        let mut acc = 0.0;
        for (t, &a) in self.alpha.iter().enumerate() {
            acc += a * self.beta * self.inv_total[t];
            if acc > u {
                return t;
            }
        }
        self.alpha.len() - 1
    }
}

/// Draw every token of the shard by SparseLDA's buckets.
#[allow(clippy::too_many_arguments)]
fn sample_sparse(
    shard: &mut Shard,
    word_topic: &mut [u32],
    topic_total: &mut [u32],
    lists: &mut WordTopicLists,
    alpha: &[f64],
    beta: f64,
    v: usize,
    rng: &mut Xoshiro256PlusPlus,
) {
    let k = alpha.len();
    let mut state = SparseState::new(alpha, beta, v, topic_total);
    let base = shard.starts[shard.docs.start];
    for (local_doc, d) in shard.docs.clone().enumerate() {
        let dt = &mut shard.doc_topic[local_doc * k..(local_doc + 1) * k];
        state.start_document(dt);
        for i in shard.starts[d] - base..shard.starts[d + 1] - base {
            if let Some(ahead) = draw::prefetch_ahead(word_topic, shard.words, i, k) {
                draw::prefetch(lists.of(ahead));
            }
            let w = shard.words[i] as usize;
            let old = shard.topics[i] as usize;
            let word_row = &mut word_topic[w * k..(w + 1) * k];
            state.shift(old, w, -1, dt, word_row, topic_total, lists);
            let new = state.draw(dt, word_row, lists.of(w), rng);
            state.shift(new, w, 1, dt, word_row, topic_total, lists);
            shard.topics[i] = new as u16;
        }
    }
}

/// Minka's fixed-point estimate of an asymmetric Dirichlet prior from the documents' topic
/// counts: α_t ← α_t · Σ_d [ψ(n_dt + α_t) − ψ(α_t)] / Σ_d [ψ(n_d + Σα) − ψ(Σα)], iterated to
/// convergence. The sums need only how many documents hold each count, so a step costs
/// O(distinct counts), not O(documents). `lengths`: the [`histogram`] of the non-empty
/// documents' lengths.
pub(super) fn optimize_alpha(alpha: &mut [f64], per_topic: Vec<FxHashMap<u32, u32>>, lengths: &[(f64, f64)]) {
    let per_topic: Vec<Vec<(f64, f64)>> = per_topic.into_iter().map(sorted).collect();
    for _ in 0..100 {
        let sum: f64 = alpha.iter().sum();
        let denominator: f64 = lengths.iter().map(|&(x, c)| c * (digamma(x + sum) - digamma(sum))).sum();
        let mut largest_change: f64 = 0.0;
        for (a, counts) in alpha.iter_mut().zip(&per_topic) {
            let numerator: f64 = counts.iter().map(|&(x, c)| c * (digamma(x + *a) - digamma(*a))).sum();
            let next = (*a * numerator / denominator).max(ALPHA_FLOOR);
            largest_change = largest_change.max((next - *a).abs() / *a);
            *a = next;
        }
        if largest_change < 1e-6 {
            break;
        }
    }
}

/// For each topic, how many documents hold each non-zero count of it (`doc_topic`: n × k). Exact
/// counts, so shards' histograms add up to the whole's.
pub(super) fn topic_histograms(doc_topic: &[u32], k: usize) -> Vec<FxHashMap<u32, u32>> {
    let mut per_topic: Vec<FxHashMap<u32, u32>> = vec![FxHashMap::default(); k];
    for row in doc_topic.chunks_exact(k) {
        for (map, &c) in per_topic.iter_mut().zip(row).filter(|(_, &c)| c > 0) {
            *map.entry(c).or_default() += 1;
        }
    }
    per_topic
}

/// The least α a topic keeps, so that a topic no document holds can come back.
const ALPHA_FLOOR: f64 = 1e-6;

/// (value, number of times it occurs), by value.
pub(super) fn histogram(values: impl Iterator<Item = u32>) -> Vec<(f64, f64)> {
    let mut map: FxHashMap<u32, u32> = FxHashMap::default();
    values.for_each(|x| *map.entry(x).or_default() += 1);
    sorted(map)
}

pub(super) fn sorted(map: FxHashMap<u32, u32>) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = map.into_iter().map(|(x, c)| (x as f64, c as f64)).collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// ψ(x) for x > 0: the recurrence ψ(x) = ψ(x + 1) − 1/x up to x ≥ 10, then the asymptotic series
/// (its first omitted term is below 1e-13 there).
fn digamma(mut x: f64) -> f64 {
    let mut result = 0.0;
    while x < 10.0 {
        result -= 1.0 / x;
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    let series = f * (1.0 / 12.0 - f * (1.0 / 120.0 - f * (1.0 / 252.0 - f * (1.0 / 240.0 - f / 132.0))));
    result + x.ln() - 0.5 / x - series
}

/// `global += Σ (copy − global)` over the shards' copies.
pub(super) fn merge<'a>(global: &mut [u32], copies: impl Iterator<Item = &'a Vec<u32>>) {
    let mut sum: Vec<i64> = global.iter().map(|&g| g as i64).collect();
    for copy in copies {
        for ((s, &c), &g) in sum.iter_mut().zip(copy).zip(global.iter()) {
            *s += c as i64 - g as i64;
        }
    }
    for (g, s) in global.iter_mut().zip(sum) {
        *g = u32::try_from(s).expect("counts stay non-negative");
    }
}

/// Add the documents' topic proportions under `alpha` to `theta` (rows: the documents of `doc_topic`).
pub(super) fn accumulate_theta(theta: &mut Array2<f64>, doc_topic: &[u32], alpha: &[f64]) {
    let k = alpha.len();
    let alpha_sum: f64 = alpha.iter().sum();
    for (d, mut row) in theta.rows_mut().into_iter().enumerate() {
        let counts = &doc_topic[d * k..(d + 1) * k];
        let len: u32 = counts.iter().sum();
        let denominator = len as f64 + alpha_sum;
        row.iter_mut().zip(counts).zip(alpha).for_each(|((x, &c), &a)| *x += (c as f64 + a) / denominator);
    }
}

/// Add the topics' word distributions to `phi`.
pub(super) fn accumulate_phi(phi: &mut Array2<f64>, word_topic: &[u32], topic_total: &[u32], beta: f64) {
    let (k, v) = (topic_total.len(), phi.ncols());
    for t in 0..k {
        let denominator = topic_total[t] as f64 + v as f64 * beta;
        for w in 0..v {
            phi[[t, w]] += (word_topic[w * k + t] as f64 + beta) / denominator;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 60 documents, each drawing 30 tokens from one of three disjoint word groups of five.
    fn planted() -> Csr<u32> {
        let rows = (0..60u32)
            .map(|d| {
                let group = d % 3;
                (0..5).map(|j| (group * 5 + j, 4 + (d + j) % 5)).collect()
            })
            .collect();
        Csr::from_rows(15, rows)
    }

    fn params() -> LdaParams {
        LdaParams { iterations: 200, burn_in: 100, ..LdaParams::default() }
    }

    #[test]
    fn recovers_planted_word_groups() {
        for sparse in [false, true] {
            let fit = lda_with(&planted(), 3, &params(), 5, sparse, None).unwrap();
            for row in fit.phi.rows() {
                let best = row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
                let group = best / 5;
                let mass: f32 = (group * 5..group * 5 + 5).map(|w| row[w]).sum();
                assert!(mass > 0.95, "sparse {sparse}: topic mixes groups: {row:?}");
            }
            for (d, row) in fit.theta.rows().into_iter().enumerate() {
                assert!(row.iter().any(|&p| p > 0.9), "sparse {sparse}: document {d} not assigned: {row:?}");
                assert!((row.sum() - 1.0).abs() < 1e-4);
            }
            assert_eq!(fit.assigned.sum() as usize, fit.tokens);
        }
    }

    #[test]
    fn alpha_sums_to_twenty_from_k_twenty_on_unless_given() {
        let default = LdaParams::default();
        assert_eq!([5, 20, 100, 200].map(|k| default.alpha_for(k)), [1.0, 1.0, 0.2, 0.1]);
        assert_eq!([5, 20, 21, 200].map(|k| default.warm_up_for(k)), [0, 0, WARM_UP, WARM_UP], "below α = 1 only");
        let small_alpha = LdaParams { alpha: Some(0.5), ..LdaParams::default() };
        assert_eq!(small_alpha.warm_up_for(5), WARM_UP);
        let given_warm_up = LdaParams { warm_up: Some(3), ..LdaParams::default() };
        assert_eq!([5, 200].map(|k| given_warm_up.warm_up_for(k)), [3, 3], "a given warm-up wins");
        let given = LdaParams { alpha: Some(0.05), ..LdaParams::default() };
        assert_eq!(given.alpha_for(20), 0.05);
        let fit = lda_with(&planted(), 4, &params(), 3, false, None).unwrap();
        assert_eq!(fit.alpha, vec![1.0; 4], "the fit reports the α it used");
        assert_eq!(fit.warm_up, 0, "and its warm-up");
    }

    #[test]
    fn same_seed_same_result_at_any_thread_count() {
        for sparse in [false, true] {
            let fits: Vec<LdaFit> = [1, 2, 3]
                .iter()
                .map(|&threads| {
                    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                    pool.install(|| {
                        let warmed = LdaParams { optimize_interval: 10, warm_up: Some(5), ..params() };
                        lda_with(&planted(), 4, &warmed, 9, sparse, None).unwrap()
                    })
                })
                .collect();
            for other in &fits[1..] {
                assert_eq!(fits[0].phi, other.phi, "sparse {sparse}");
                assert_eq!(fits[0].assigned, other.assigned, "sparse {sparse}");
                assert_eq!(fits[0].alpha, other.alpha, "sparse {sparse}");
            }
        }
    }

    /// Shards sampled away — here by two hosts, as on two workers, each message encoded — give the
    /// fit sampled here, bit for bit: dense and sparse, with a warm-up, α re-estimated and the
    /// estimates averaged; and so does a run whose host is lost once (it starts again).
    #[test]
    fn shards_sampled_away_give_the_same_fit() {
        use super::super::away::AwayShards;
        use super::super::lda_shards::LdaShardHost;
        let away = super::super::away::two_hosts::<LdaShardHost>;
        let planted = planted();
        for sparse in [false, true] {
            let warmed = LdaParams { optimize_interval: 10, warm_up: Some(5), burn_in: 20, thin: 5, ..params() };
            let here = lda_with(&planted, 4, &warmed, 9, sparse, None).unwrap();
            for fail_on_call in [None, Some(7)] {
                let there = lda_with(&planted, 4, &warmed, 9, sparse, Some(&away(fail_on_call))).unwrap();
                let case = format!("sparse {sparse}, failing on call {fail_on_call:?}");
                assert_eq!(here.phi, there.phi, "{case}");
                assert_eq!(here.theta, there.theta, "{case}");
                assert_eq!(here.assigned, there.assigned, "{case}");
                assert_eq!(here.alpha, there.alpha, "{case}");
            }
        }
        // A host that keeps failing fails the fit with its error.
        let broken: AwayShards = std::sync::Arc::new(|_, _| Err(crate::error::Error::Config("no workers".into())));
        let warmed = LdaParams { warm_up: Some(5), ..params() };
        assert!(lda_with(&planted, 4, &warmed, 9, false, Some(&broken)).is_err());
    }

    /// With every other count fixed, redrawing one token again and again gives independent draws
    /// from its conditional: the sparse buckets must reproduce (α_t + n_dt)(β + n_wt)/(Vβ + n_t).
    #[test]
    fn sparse_draws_follow_the_exact_conditional() {
        let (k, v, beta) = (6usize, 4usize, 0.3);
        let alpha = [0.5, 0.05, 0.2, 0.9, 0.1, 0.3];
        // Word 0's topic counts (token left out) and the document's; the token under test is word 0.
        let mut word_topic = vec![0u32; v * k];
        word_topic[..k].copy_from_slice(&[3, 0, 1, 0, 7, 0]);
        word_topic[k..2 * k].copy_from_slice(&[0, 5, 0, 2, 0, 1]);
        let mut dt = vec![2u32, 0, 0, 4, 1, 0];
        let mut topic_total: Vec<u32> =
            (0..k).map(|t| (0..v).map(|w| word_topic[w * k + t]).sum::<u32>() + 10).collect();
        // Capacity for every topic: the test redraws one token far more than once a sweep.
        let mut lists = WordTopicLists::new(&word_topic, k, &[6, 0, 0, 0]);
        let (start_row, start_dt) = (word_topic[..k].to_vec(), dt.clone());
        let mut state = SparseState::new(&alpha, beta, v, &topic_total);
        state.start_document(&dt);
        let exact: Vec<f64> = (0..k)
            .map(|t| {
                (alpha[t] + dt[t] as f64) * (beta + word_topic[t] as f64) / (v as f64 * beta + topic_total[t] as f64)
            })
            .collect();
        let total: f64 = exact.iter().sum();
        let mut seen = vec![0usize; k];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let draws = 200_000;
        for _ in 0..draws {
            let (row, rest) = word_topic.split_at_mut(k);
            let _ = rest;
            let t = state.draw(&dt, row, lists.of(0), &mut rng);
            seen[t] += 1;
            // In and out again: the counts, lists and buckets return to where they were.
            state.shift(t, 0, 1, &mut dt, row, &mut topic_total, &mut lists);
            state.shift(t, 0, -1, &mut dt, row, &mut topic_total, &mut lists);
        }
        for t in 0..k {
            let p = exact[t] / total;
            let sd = (p * (1.0 - p) / draws as f64).sqrt();
            let got = seen[t] as f64 / draws as f64;
            assert!((got - p).abs() < 5.0 * sd, "topic {t}: {got:.4} drawn, {p:.4} expected");
        }
        assert_eq!(word_topic[..k], start_row[..]);
        assert_eq!(dt, start_dt);
        let mut listed = lists.of(0).to_vec();
        listed.sort_unstable();
        listed.dedup();
        assert_eq!(listed.len(), lists.of(0).len(), "no topic listed twice");
    }

    #[test]
    fn shards_changes_add_up_whatever_words_they_share() {
        let k = 3;
        // Three shards' tokens over words 0–2999 (past one block of words), overlapping.
        let shards: Vec<ShardWords> =
            [(0u32..1500).collect::<Vec<_>>(), (1000..3000).collect(), (0..3000).step_by(7).collect()]
                .iter()
                .map(|words| ShardWords::new(words))
                .collect();
        let start: Vec<u32> = (0..3000 * k as u32).map(|i| 100 + i % 17).collect();
        let mut tables: Vec<Vec<u32>> = vec![Vec::new(); shards.len()];
        for (own, table) in shards.iter().zip(&mut tables) {
            own.copy_rows(&start, k, table);
        }
        let mut expect = start.clone();
        for (s, (own, table)) in shards.iter().zip(&mut tables).enumerate() {
            for (j, &w) in own.vocabulary.iter().enumerate() {
                // Each shard moves a token of its word from topic 0 to topic (w + s) % k.
                let to = (w as usize + s) % k;
                table[j * k] -= 1;
                table[j * k + to] += 1;
                expect[w as usize * k] -= 1;
                expect[w as usize * k + to] += 1;
            }
        }
        let mut merged = start.clone();
        let sampled: Vec<&[u32]> = tables.iter().map(|t| &t[..]).collect();
        ShardWords::add_all_changes(&shards, &sampled, &mut merged, k);
        assert_eq!(merged, expect);
    }

    #[test]
    fn digamma_matches_known_values() {
        let euler = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + euler).abs() < 1e-13);
        assert!((digamma(0.5) + euler + 2.0 * 2f64.ln()).abs() < 1e-13);
        assert!((digamma(0.01) - (-100.560_885_457_079_3)).abs() < 1e-9);
        assert!((digamma(1000.0) - (1000f64.ln() - 0.0005 - 1.0 / 12e6)).abs() < 1e-12);
    }

    /// Documents whose topic counts come from a known asymmetric prior: the fixed point finds a
    /// much larger α for the topic every document holds than for the rare ones, in their order.
    #[test]
    fn alpha_estimate_follows_how_documents_hold_topics() {
        let k = 3;
        let mut doc_topic = Vec::new();
        for d in 0..400u32 {
            let rare = if d % 10 == 0 { 20 } else { 0 };
            doc_topic.extend_from_slice(&[30 + d % 7, rare, if d % 50 == 0 { 25 } else { 0 }]);
        }
        let lengths = histogram(doc_topic.chunks(k).map(|r| r.iter().sum::<u32>()).filter(|&x| x > 0));
        let mut alpha = vec![0.1; k];
        // Each call takes up to 100 fixed-point steps (as in a fit, where calls repeat every few
        // sweeps); a few calls reach the fixed point.
        for _ in 0..30 {
            let histograms = topic_histograms(&doc_topic, alpha.len());
            optimize_alpha(&mut alpha, histograms, &lengths);
        }
        assert!(alpha[0] > 10.0 * alpha[1] && alpha[1] > 2.0 * alpha[2], "{alpha:?}");
        // A fixed point: one more pass moves nothing.
        let before = alpha.clone();
        let histograms = topic_histograms(&doc_topic, alpha.len());
        optimize_alpha(&mut alpha, histograms, &lengths);
        for (a, b) in alpha.iter().zip(&before) {
            assert!((a - b).abs() / b < 1e-3, "{alpha:?} vs {before:?}");
        }
    }
}
