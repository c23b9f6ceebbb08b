//! Keyword-assisted topics (keyATM "base": Eshima, Imai & Sasaki, AJPS 2024) by collapsed Gibbs
//! sampling, parallel and deterministic as our LDA (fixed shards, one random stream per shard and
//! sweep, word–topic changes added together after each sweep).
//!
//! Topics `0..K_key` are keyword topics, each with a seed list S_k; the rest are free topics.
//! A token of word w in topic k comes from the keyword distribution φ̃_k (over S_k, prior β_s) when
//! its switch s = 1, from the regular distribution φ_k (over the vocabulary, prior β) when s = 0;
//! s ~ Bernoulli(π_k), π_k ~ Beta(γ₁, γ₂). Free topics have s = 0 always. With the token itself
//! left out of every count, the conditionals sampled are keyATM's:
//!
//! ```text
//! P(z = k | s = 0) ∝ (n_dk + α_k) · (n⁰_kw + β) / (n⁰_k + Vβ) · (n⁰_k + γ₂) / (n_k + γ₁ + γ₂)
//! P(z = k | s = 1) ∝ (n_dk + α_k) · (n¹_kw + β_s) / (n¹_k + |S_k|β_s) · (n¹_k + γ₁) / (n_k + γ₁ + γ₂),  w ∈ S_k
//! P(s = 1 | z = k) ∝ (n¹_kw + β_s) / (n¹_k + |S_k|β_s) · (n¹_k + γ₁)   against   (n⁰_kw + β) / (n⁰_k + Vβ) · (n⁰_k + γ₂)
//! ```
//!
//! (for a free topic the γ factor is 1). A token with s = 0 is drawn over all K topics by LDA's
//! dense draw ([`super::draw`], f32, eight topics at a time; the word-independent factors kept per
//! topic); one with s = 1 only over the topics seeded with its word. α is resampled after every sweep by slice sampling of
//! each α_k under keyATM's gamma priors (shape 1, scale 1 for keyword topics; shape 2, scale 1
//! for free topics), on the scale p = α/(1 + α). The document likelihood of α needs only the
//! histograms of n_dk and of document lengths, so a resample costs O(distinct counts), not O(n).
//!
//! Estimates are averaged over the sweeps kept after burn-in; each kept sweep is also a
//! posterior draw of every group's (period's) mean document share, from which credible intervals
//! come, and of the tokens each keyword topic holds in each group (its words by period).
//!
//! The posterior has several modes: a theme whose seeds are rare can settle on a different
//! subject from one seed to the next (so does topica's KeyATM). Several independent chains are
//! therefore run and pooled — keyword topics by their seeds, free topics matched by the cosine of
//! their word distributions — so estimates average over the modes the chains found and intervals
//! widen by their disagreement; each chain's log-likelihood and the chains' agreement on each
//! theme are kept for the reader.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::away::AwayShards;
use super::draw;
use super::keyatm_shards::AwayChain;
use super::lda::{histogram, merge, sorted, tokens_by_document, topic_histograms, ShardWords};
use crate::error::Result;
use crate::vectorize::Csr;

/// Settings of the keyword-assisted model. Defaults: 30 free topics (with fewer, the themes must
/// take in whatever else a news corpus holds: on the China–Russia subset with 5, "finance" became
/// the pandemic's case counts; with 30 it holds currencies, indices and forecasts, and on labelled
/// xwlb stories the themes' shares rank their family's stories better than seed counting for 9 of
/// 12 families, against 4 with 5); keyATM's priors (β = 0.01,
/// β_s = 0.1, γ = (1, 1), α starting at 1/K and estimated); 300 sweeps, every 3rd of the last 150
/// kept (50 posterior draws per chain); 3 chains (on the China–Russia subset one chain's theme
/// prevalence correlated with another seed's at a median r of 0.73–0.79 for finance, culture and
/// security and 0.41 for agriculture; pooled runs of 3 chains with different seeds at 0.99, 0.94,
/// 0.87 and 0.33).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KeyAtmParams {
    pub free_topics: usize,
    pub iterations: usize,
    pub burn_in: usize,
    pub thin: usize,
    pub beta: f64,
    pub beta_s: f64,
    pub gamma: (f64, f64),
    pub estimate_alpha: bool,
    /// Independent chains, their draws pooled (free topics matched to the first chain's).
    pub chains: usize,
}

impl Default for KeyAtmParams {
    fn default() -> Self {
        KeyAtmParams {
            free_topics: 30,
            iterations: 300,
            burn_in: 150,
            thin: 3,
            beta: 0.01,
            beta_s: 0.1,
            gamma: (1.0, 1.0),
            estimate_alpha: true,
            chains: 3,
        }
    }
}

impl KeyAtmParams {
    pub fn check(&self) -> Result<(), String> {
        if self.beta <= 0.0 || self.beta_s <= 0.0 || self.gamma.0 <= 0.0 || self.gamma.1 <= 0.0 {
            return Err("[theme_model] beta, beta_s and both gamma values must be positive".into());
        }
        if self.iterations == 0 || self.burn_in >= self.iterations || self.thin == 0 {
            return Err(format!(
                "[theme_model] needs iterations ({}) > burn_in ({}) and thin ≥ 1",
                self.iterations, self.burn_in
            ));
        }
        if !(1..=16).contains(&self.chains) {
            return Err(format!("[theme_model] chains = {}: use 1 to 16", self.chains));
        }
        if self.free_topics > 1000 {
            return Err(format!("[theme_model] free_topics = {}: use at most 1000", self.free_topics));
        }
        Ok(())
    }
}

/// Shards of documents sampled in parallel: fixed, so results do not depend on the threads.
const SHARDS: usize = 8;

pub struct KeyAtmFit {
    /// n × K mean topic shares θ over the kept draws (rows sum to 1).
    pub theta: Array2<f32>,
    /// n × K mean tokens assigned to each topic over the kept draws.
    pub assigned: Array2<f32>,
    /// K × V topic–word probabilities: (1 − π_k) φ_k + π_k φ̃_k for keyword topics, φ_k for free ones.
    pub phi: Array2<f32>,
    /// The last α (one per topic) and each keyword topic's mean keyword share π_k.
    pub alpha: Vec<f64>,
    pub pi: Vec<f64>,
    /// Per kept draw: each group's mean document share of each topic, `[g * K + k]`.
    pub group_draws: Vec<Vec<f64>>,
    /// Per keyword topic and group: word → tokens assigned to it there, summed over the draws.
    pub group_words: Vec<Vec<FxHashMap<u32, u32>>>,
    /// Each chain: its seed, keyATM's log-likelihood (ln p(w, z, s | α, β, β_s, γ)) averaged over
    /// its kept draws, and which of `group_draws` are its.
    pub chains: Vec<Chain>,
    pub draws: usize,
    pub tokens: usize,
    pub iterations: usize,
}

#[derive(Debug, Clone)]
pub struct Chain {
    pub seed: u64,
    pub log_likelihood: f64,
    pub draws: std::ops::Range<usize>,
}

/// The word–topic side of the state: what every shard copies and the sweep's merge adds up.
#[derive(Clone, Default)]
pub(super) struct WordCounts {
    /// `regular[w * K + k]`: tokens of w in topic k with s = 0.
    pub(super) regular: Vec<u32>,
    pub(super) regular_total: Vec<u32>,
    /// `keyword[slot]`: tokens with s = 1 of the (topic, seed) pair `slot`.
    pub(super) keyword: Vec<u32>,
    pub(super) keyword_total: Vec<u32>,
}

/// Fixed facts the sampler reads.
pub(super) struct Model {
    pub(super) k: usize,
    pub(super) v: usize,
    n_key: usize,
    pub(super) params: KeyAtmParams,
    /// Each keyword topic's seeds (vocabulary ids, increasing).
    pub(super) keywords: Vec<Vec<u32>>,
    /// `word_slots[word_slot_start[w]..word_slot_start[w + 1]]`: (topic, slot) of each keyword topic seeded with w.
    word_slot_start: Vec<usize>,
    word_slots: Vec<(usize, usize)>,
    seeds_per_topic: Vec<usize>,
}

impl Model {
    /// The model of `keywords` (vocabulary ids per keyword topic) and `params.free_topics` free
    /// topics over a vocabulary of `v` words.
    pub(super) fn new(v: usize, keywords: &[Vec<u32>], params: &KeyAtmParams) -> Self {
        let n_key = keywords.len();
        let k = n_key + params.free_topics;
        assert!((1..=u16::MAX as usize).contains(&k), "1 to 65535 topics");
        assert!(keywords.iter().all(|s| !s.is_empty()), "every keyword topic needs a seed");
        let mut by_word: Vec<Vec<(usize, usize)>> = vec![Vec::new(); v];
        let mut seeds_per_topic = Vec::with_capacity(n_key);
        let mut slot = 0;
        let keywords: Vec<Vec<u32>> = keywords
            .iter()
            .map(|seeds| {
                let mut seeds = seeds.clone();
                seeds.sort_unstable();
                seeds.dedup();
                seeds
            })
            .collect();
        for (topic, seeds) in keywords.iter().enumerate() {
            for &w in seeds {
                by_word[w as usize].push((topic, slot));
                slot += 1;
            }
            seeds_per_topic.push(seeds.len());
        }
        let mut word_slot_start = vec![0];
        let mut word_slots = Vec::new();
        for list in &by_word {
            word_slots.extend_from_slice(list);
            word_slot_start.push(word_slots.len());
        }
        Model { k, v, n_key, params: params.clone(), keywords, word_slot_start, word_slots, seeds_per_topic }
    }

    #[inline(always)]
    fn slots(&self, w: usize) -> &[(usize, usize)] {
        &self.word_slots[self.word_slot_start[w]..self.word_slot_start[w + 1]]
    }

    #[inline(always)]
    fn slot_of(&self, w: usize, topic: usize) -> Option<usize> {
        self.slots(w).iter().find(|&&(t, _)| t == topic).map(|&(_, s)| s)
    }

    fn gamma(&self, topic: usize) -> (f64, f64) {
        if topic < self.n_key {
            self.params.gamma
        } else {
            (0.0, 0.0)
        }
    }

    /// (n⁰_k + γ₂)/(n_k + γ₁ + γ₂) and (n¹_k + γ₁)/(n_k + γ₁ + γ₂): 1 and 0 for a free topic.
    #[inline(always)]
    fn switch_odds(&self, c: &WordCounts, topic: usize) -> (f64, f64) {
        if topic >= self.n_key {
            return (1.0, 0.0);
        }
        let (g1, g2) = self.gamma(topic);
        let (n0, n1) = (c.regular_total[topic] as f64, c.keyword_total[topic] as f64);
        let all = n0 + n1 + g1 + g2;
        ((n0 + g2) / all, (n1 + g1) / all)
    }
}

/// Fit keyword topics seeded by `keywords` (vocabulary ids per keyword topic, each non-empty)
/// plus `params.free_topics` free topics to the term counts (documents × terms). `groups[r]` is
/// matrix row r's group (period) among `n_groups`, for the per-group draws. With `away`, the
/// shards are sampled where it sends them: the same fit, bit for bit; it fails only if they stop
/// answering ([`super::keyatm_shards`]).
pub fn keyatm(
    counts: &Csr<u32>,
    keywords: &[Vec<u32>],
    params: &KeyAtmParams,
    groups: &[Option<usize>],
    n_groups: usize,
    seed: u64,
    away: Option<&AwayShards>,
) -> Result<KeyAtmFit> {
    let model = Model::new(counts.n_cols, keywords, params);
    let n_key = model.n_key;
    let (words, starts) = tokens_by_document(counts);
    let bounds = crate::linalg::shard_bounds(&starts, SHARDS);
    let shard_words = ShardWords::of_shards(&words, &starts, &bounds);
    let data = Data { words: &words, starts: &starts, bounds: &bounds, shard_words: &shard_words, groups, n_groups };
    // Chain 0 keeps the run's seed, so one chain is exactly the model of a single-chain run.
    let seeds: Vec<u64> = (0..params.chains).map(|c| seed.wrapping_add(c as u64 * CHAIN_STRIDE)).collect();
    let fits = match away {
        // Sampled here, one chain's shards already keep every thread busy: a chain at a time.
        None => seeds.iter().map(|&seed| sample_chain(&model, &data, seed, None)).collect::<Result<Vec<_>>>()?,
        // Sampled away, a chain's driver mostly waits for its shards' answers: the chains run side
        // by side, each on a thread of its own with as many threads for its own parallel work as
        // this one has, their shards numbered apart where they are held. Each chain is what it
        // would be alone.
        Some(away) => {
            let threads = rayon::current_num_threads();
            std::thread::scope(|scope| {
                let chains: Vec<_> = seeds
                    .iter()
                    .enumerate()
                    .map(|(c, &seed)| {
                        let (model, data, away) = (&model, &data, numbered_from(away, c * SHARDS));
                        scope.spawn(move || {
                            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
                            let pool =
                                pool.map_err(|e| crate::error::Error::Shards(format!("a chain's threads: {e}")))?;
                            pool.install(|| sample_chain(model, data, seed, Some(&away)))
                        })
                    })
                    .collect();
                chains.into_iter().map(|chain| chain.join().expect("a chain's thread")).collect::<Result<Vec<_>>>()
            })?
        }
    };
    Ok(pool(fits, n_key))
}

/// `away` with its shards numbered from `first` on where they are held (a chain's shards keep
/// their own numbers in what is sent).
fn numbered_from(away: &AwayShards, first: usize) -> AwayShards {
    let away = away.clone();
    std::sync::Arc::new(move |common, requests| {
        away(common, requests.into_iter().map(|(shard, request)| (first + shard, request)).collect())
    })
}

/// The step between the seeds of chains 0, 1, 2, … (the golden ratio's bits, so no two chains share a stream).
const CHAIN_STRIDE: u64 = 0x9e37_79b9_7f4a_7c15;

/// The documents' tokens in document order and their groups.
pub(super) struct Data<'a> {
    pub(super) words: &'a [u32],
    pub(super) starts: &'a [usize],
    /// The fixed shards' document ranges, and each shard's own numbering of its words (it copies,
    /// samples against and hands back only its rows of the regular word–topic counts).
    pub(super) bounds: &'a [usize],
    pub(super) shard_words: &'a [ShardWords],
    pub(super) groups: &'a [Option<usize>],
    pub(super) n_groups: usize,
}

/// Where a chain's tokens start: keyATM's start (a seed token goes to one of its keyword topics,
/// with s = 1 seven times in ten; any other token to a topic drawn uniformly).
pub(super) struct Start {
    pub(super) topics: Vec<u16>,
    pub(super) switch: Vec<bool>,
    pub(super) doc_topic: Vec<u32>,
}

impl Start {
    /// The start and its word–topic counts.
    fn new(model: &Model, data: &Data, seed: u64) -> (Start, WordCounts) {
        let (k, words, starts) = (model.k, data.words, data.starts);
        let n = starts.len() - 1;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut topics = vec![0u16; words.len()];
        let mut switch = vec![false; words.len()];
        for i in 0..words.len() {
            let slots = model.slots(words[i] as usize);
            if slots.is_empty() {
                topics[i] = rng.gen_range(0..k) as u16;
            } else {
                topics[i] = slots[rng.gen_range(0..slots.len())].0 as u16;
                switch[i] = rng.gen::<f64>() >= 0.3;
            }
        }
        let mut doc_topic = vec![0u32; n * k];
        let mut counts = WordCounts {
            regular: vec![0; model.v * k],
            regular_total: vec![0; k],
            keyword: vec![0; model.word_slots.len()],
            keyword_total: vec![0; k],
        };
        for d in 0..n {
            for i in starts[d]..starts[d + 1] {
                let (w, z) = (words[i] as usize, topics[i] as usize);
                doc_topic[d * k + z] += 1;
                add(model, &mut counts, w, w, z, switch[i], 1);
            }
        }
        (Start { topics, switch, doc_topic }, counts)
    }
}

/// One chain: keyATM's start, then `params.iterations` sweeps, estimates averaged over its kept
/// draws; its shards sampled here or through `away`.
fn sample_chain(model: &Model, data: &Data, seed: u64, away: Option<&AwayShards>) -> Result<KeyAtmFit> {
    let (k, v, n_key, iterations) = (model.k, model.v, model.n_key, model.params.iterations);
    let n = data.starts.len() - 1;
    let (start, counts) = Start::new(model, data, seed);
    let lengths: Vec<u32> = data.starts.windows(2).map(|p| (p[1] - p[0]) as u32).collect();
    let mut chain = ChainState {
        model,
        seed,
        n_docs: n,
        length_histogram: histogram(lengths.iter().copied()),
        counts,
        alpha: vec![1.0 / k as f64; k],
        phi_sum: vec![0f64; v * k],
        pi_sum: vec![0f64; n_key],
        group_draws: Vec::new(),
        log_likelihoods: Vec::new(),
        group_words: vec![vec![FxHashMap::default(); data.n_groups]; n_key],
    };
    let progress = crate::progress::bar("theme model", iterations as u64, "sweeps");
    let (theta_sum, assigned_sum) = match away {
        None => sample_here(&mut chain, data, start, &progress),
        Some(away) => AwayChain { data, start: &start, away, progress: &progress }.sample(&mut chain)?,
    };
    let ChainState { alpha, phi_sum, pi_sum, group_draws, log_likelihoods, group_words, .. } = chain;
    let draws = group_draws.len();
    let mean = |sum: Vec<f64>, rows: usize, cols: usize| {
        Array2::from_shape_vec((rows, cols), sum.into_iter().map(|x| (x / draws as f64) as f32).collect())
            .expect("shape")
    };
    let log_likelihood = log_likelihoods.iter().sum::<f64>() / draws as f64;
    Ok(KeyAtmFit {
        theta: mean(theta_sum, n, k),
        assigned: mean(assigned_sum, n, k),
        phi: mean(phi_sum, v, k).reversed_axes().as_standard_layout().into_owned(),
        alpha,
        pi: pi_sum.into_iter().map(|p| p / draws as f64).collect(),
        group_draws,
        group_words,
        chains: vec![Chain { seed, log_likelihood, draws: 0..draws }],
        draws,
        tokens: data.words.len(),
        iterations,
    })
}

/// Every sweep of a chain with its shards sampled in this process, in parallel; the documents'
/// summed shares and assigned tokens over the kept draws come back.
fn sample_here(
    chain: &mut ChainState,
    data: &Data,
    start: Start,
    progress: &crate::progress::Bar,
) -> (Vec<f64>, Vec<f64>) {
    let (model, seed) = (chain.model, chain.seed);
    let k = model.k;
    let Data { words, starts, bounds, shard_words, groups, n_groups } = *data;
    let Start { mut topics, mut switch, mut doc_topic } = start;
    let n = starts.len() - 1;
    let mut theta_sum = vec![0f64; n * k];
    let mut assigned_sum = vec![0f64; n * k];
    let tokens_of = || bounds.windows(2).map(|p| starts[p[1]] - starts[p[0]]);
    let cells_of = || bounds.windows(2).map(|p| (p[1] - p[0]) * k);
    // Each shard's copy of the counts, refilled each sweep in memory kept from the one before, as
    // LDA's tables are.
    let mut copies: Vec<WordCounts> = std::iter::repeat_with(WordCounts::default).take(shard_words.len()).collect();
    for sweep in 0..model.params.iterations {
        progress.add(1);
        let (c, alpha) = (&chain.counts, &chain.alpha);
        let shards = split_by(&mut topics, tokens_of())
            .into_iter()
            .zip(split_by(&mut switch, tokens_of()))
            .zip(split_by(&mut doc_topic, cells_of()))
            .collect::<Vec<_>>();
        shards.into_par_iter().zip(shard_words).zip(&mut copies).enumerate().for_each(
            |(shard, ((((topics, switch), doc_topic), own), copy))| {
                let (a, b) = (bounds[shard], bounds[shard + 1]);
                own.copy_rows(&c.regular, k, &mut copy.regular);
                copy.regular_total.clone_from(&c.regular_total);
                copy.keyword.clone_from(&c.keyword);
                copy.keyword_total.clone_from(&c.keyword_total);
                let tokens = ShardTokens { words: &words[starts[a]..starts[b]], rows: &own.tokens, topics, switch };
                let sweep_of = ShardSweep { seed, sweep, shard, alpha };
                sweep_of.sample(model, copy, tokens, doc_topic, &starts[a..=b]);
            },
        );
        let regular: Vec<&[u32]> = copies.iter().map(|x| &x.regular[..]).collect();
        chain.add_changes(
            shard_words,
            &regular,
            copies.iter().map(|x| &x.regular_total),
            copies.iter().map(|x| &x.keyword),
            copies.iter().map(|x| &x.keyword_total),
        );
        let histograms = chain.needs_histograms(sweep).then(|| topic_histograms(&doc_topic, k));
        if chain.after_sweep(sweep, histograms) {
            let alpha = &chain.alpha;
            let parts: Vec<KeptPart> = split_by(&mut theta_sum, cells_of())
                .into_par_iter()
                .zip(split_by(&mut assigned_sum, cells_of()))
                .enumerate()
                .map(|(shard, (theta_sum, assigned_sum))| {
                    let (a, b) = (bounds[shard], bounds[shard + 1]);
                    let docs = KeptDocs {
                        words: &words[starts[a]..starts[b]],
                        starts: &starts[a..=b],
                        topics: &topics[starts[a]..starts[b]],
                        doc_topic: &doc_topic[a * k..b * k],
                        groups: &groups[a..b],
                    };
                    docs.keep(model, alpha, n_groups, theta_sum, assigned_sum)
                })
                .collect();
            chain.add_kept(parts);
        }
    }
    (theta_sum, assigned_sum)
}

/// `values` cut into consecutive pieces of the given sizes.
fn split_by<T>(mut values: &mut [T], sizes: impl Iterator<Item = usize>) -> Vec<&mut [T]> {
    sizes
        .map(|size| {
            let (piece, rest) = std::mem::take(&mut values).split_at_mut(size);
            values = rest;
            piece
        })
        .collect()
}

/// Whether the sweep that makes `done` sweeps is one whose state is a kept posterior draw.
fn kept_after(params: &KeyAtmParams, done: usize) -> bool {
    done > params.burn_in && (done - params.burn_in).is_multiple_of(params.thin)
}

/// A chain's state on the driver between sweeps: the word–topic counts, α, and what its kept
/// draws have added up that is not the documents' own (which their shards keep).
#[derive(Clone)]
pub(super) struct ChainState<'a> {
    pub(super) model: &'a Model,
    pub(super) seed: u64,
    n_docs: usize,
    length_histogram: Vec<(f64, f64)>,
    pub(super) counts: WordCounts,
    pub(super) alpha: Vec<f64>,
    phi_sum: Vec<f64>,
    pi_sum: Vec<f64>,
    group_draws: Vec<Vec<f64>>,
    log_likelihoods: Vec<f64>,
    group_words: Vec<Vec<FxHashMap<u32, u32>>>,
}

impl ChainState<'_> {
    /// Whether what follows sweep `sweep` needs the histograms of the documents' topic counts
    /// (α's resampling, a kept draw's log-likelihood).
    pub(super) fn needs_histograms(&self, sweep: usize) -> bool {
        self.model.params.estimate_alpha || kept_after(&self.model.params, sweep + 1)
    }

    /// Add every shard's changes to the word–topic counts: the rows of each shard's words
    /// (`regular[s]`, [`ShardWords::copy_rows`]), the totals and the keyword counts. Integer sums:
    /// the order they are added in does not matter.
    pub(super) fn add_changes<'c>(
        &mut self,
        shard_words: &[ShardWords],
        regular: &[&[u32]],
        regular_total: impl Iterator<Item = &'c Vec<u32>>,
        keyword: impl Iterator<Item = &'c Vec<u32>>,
        keyword_total: impl Iterator<Item = &'c Vec<u32>>,
    ) {
        let c = &mut self.counts;
        ShardWords::add_all_changes(shard_words, regular, &mut c.regular, self.model.k);
        merge(&mut c.regular_total, regular_total);
        merge(&mut c.keyword, keyword);
        merge(&mut c.keyword_total, keyword_total);
    }

    /// After sweep `sweep`'s changes are added: α resampled, and, if the sweep is a kept draw,
    /// the draw's word side (log-likelihood, π, φ) added; `histograms` are the documents' topic
    /// counts' (nonzero counts only) when [`Self::needs_histograms`]. Returns whether the sweep is
    /// kept: its documents' side ([`KeptDocs::keep`]) then reads α as it now is.
    pub(super) fn after_sweep(&mut self, sweep: usize, histograms: Option<Vec<FxHashMap<u32, u32>>>) -> bool {
        let (model, params) = (self.model, &self.model.params);
        let (k, n_key, v) = (model.k, model.n_key, model.v);
        let histograms = histograms.map(|maps| with_zeros(maps, self.n_docs));
        if params.estimate_alpha {
            let stream = self.seed ^ 0x0061_6c70_6861 ^ ((sweep as u64 + 1) << 24);
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream);
            let histograms = histograms.as_ref().expect("asked for α");
            resample_alpha(&mut self.alpha, histograms, &self.length_histogram, self.n_docs, n_key, &mut rng);
        }
        if !kept_after(params, sweep + 1) {
            return false;
        }
        let c = &self.counts;
        let histograms = histograms.as_ref().expect("asked for a kept draw");
        self.log_likelihoods.push(log_likelihood(
            model,
            c,
            histograms,
            &self.length_histogram,
            self.n_docs,
            &self.alpha,
        ));
        // φ in word-major order, so both the counts and the sums are read in memory order.
        let pi: Vec<f64> = (0..k).map(|t| if t < n_key { model.switch_odds(c, t).1 } else { 0.0 }).collect();
        (0..n_key).for_each(|t| self.pi_sum[t] += pi[t]);
        let regular_denominator: Vec<f64> =
            c.regular_total.iter().map(|&total| total as f64 + v as f64 * params.beta).collect();
        for w in 0..v {
            let (counts, sums) = (&c.regular[w * k..(w + 1) * k], &mut self.phi_sum[w * k..(w + 1) * k]);
            for t in 0..k {
                let regular = (counts[t] as f64 + params.beta) / regular_denominator[t];
                let keyword = model.slot_of(w, t).map_or(0.0, |s| {
                    (c.keyword[s] as f64 + params.beta_s)
                        / (c.keyword_total[t] as f64 + model.seeds_per_topic[t] as f64 * params.beta_s)
                });
                sums[t] += (1.0 - pi[t]) * regular + pi[t] * keyword;
            }
        }
        true
    }

    /// A kept draw's documents' side from every shard, in shard order: each group's mean share
    /// (the shards' sums added in shard order, so the same bits wherever they were summed) and
    /// the tokens each keyword topic holds in each group.
    pub(super) fn add_kept(&mut self, parts: Vec<KeptPart>) {
        let k = self.model.k;
        let n_groups = self.group_words.first().map_or(0, |g| g.len());
        let mut group_sum = vec![0f64; n_groups * k];
        let mut group_n = vec![0u64; n_groups];
        for part in parts {
            group_sum.iter_mut().zip(&part.group_sum).for_each(|(x, y)| *x += y);
            group_n.iter_mut().zip(&part.group_n).for_each(|(x, y)| *x += y);
            for (mine, theirs) in self.group_words.iter_mut().zip(part.group_words) {
                for (here, words) in mine.iter_mut().zip(theirs) {
                    words.into_iter().for_each(|(w, c)| *here.entry(w).or_default() += c);
                }
            }
        }
        for (g, &count) in group_n.iter().enumerate() {
            group_sum[g * k..(g + 1) * k].iter_mut().for_each(|x| *x /= count.max(1) as f64);
        }
        self.group_draws.push(group_sum);
    }
}

/// One shard's part of a kept draw's documents' side ([`ChainState::add_kept`]).
#[derive(Serialize, Deserialize)]
pub(super) struct KeptPart {
    /// `[g * K + k]`: the sum of the shard's documents' shares of topic k in group g.
    group_sum: Vec<f64>,
    group_n: Vec<u64>,
    /// Per keyword topic and group: (word, tokens), by word.
    group_words: Vec<Vec<Vec<(u32, u32)>>>,
}

/// A shard's documents as a kept draw reads them (`starts` as in [`ShardSweep::sample`]).
pub(super) struct KeptDocs<'a> {
    pub(super) words: &'a [u32],
    pub(super) starts: &'a [usize],
    pub(super) topics: &'a [u16],
    pub(super) doc_topic: &'a [u32],
    pub(super) groups: &'a [Option<usize>],
}

impl KeptDocs<'_> {
    /// Add the draw's shares (under `alpha`, as after the sweep) and assigned tokens to the
    /// documents' sums; the shard's part of the groups' side.
    pub(super) fn keep(
        &self,
        model: &Model,
        alpha: &[f64],
        n_groups: usize,
        theta_sum: &mut [f64],
        assigned_sum: &mut [f64],
    ) -> KeptPart {
        let (k, n_key) = (model.k, model.n_key);
        let alpha_sum: f64 = alpha.iter().sum();
        let mut group_sum = vec![0f64; n_groups * k];
        let mut group_n = vec![0u64; n_groups];
        let mut group_words: Vec<Vec<FxHashMap<u32, u32>>> = vec![vec![FxHashMap::default(); n_groups]; n_key];
        let base = self.starts[0];
        for (d, group) in self.groups.iter().enumerate() {
            let tokens = self.starts[d] - base..self.starts[d + 1] - base;
            let denominator = tokens.len() as f64 + alpha_sum;
            for t in 0..k {
                let count = self.doc_topic[d * k + t] as f64;
                let share = (count + alpha[t]) / denominator;
                theta_sum[d * k + t] += share;
                assigned_sum[d * k + t] += count;
                if let Some(g) = group {
                    group_sum[g * k + t] += share;
                }
            }
            let Some(g) = *group else { continue };
            group_n[g] += 1;
            for i in tokens {
                let z = self.topics[i] as usize;
                if z < n_key {
                    *group_words[z][g].entry(self.words[i]).or_default() += 1;
                }
            }
        }
        let group_words = group_words
            .into_iter()
            .map(|by_group| {
                by_group
                    .into_iter()
                    .map(|map| {
                        let mut words: Vec<(u32, u32)> = map.into_iter().collect();
                        words.sort_unstable();
                        words
                    })
                    .collect()
            })
            .collect();
        KeptPart { group_sum, group_n, group_words }
    }
}

/// Per topic, the histogram of the documents' counts (`n_docs` documents) from its nonzero
/// counts' ([`topic_histograms`]): documents without the topic are the rest.
fn with_zeros(maps: Vec<FxHashMap<u32, u32>>, n_docs: usize) -> Vec<Vec<(f64, f64)>> {
    maps.into_iter()
        .map(|mut map| {
            let holding: u64 = map.values().map(|&m| m as u64).sum();
            if (holding as usize) < n_docs {
                map.insert(0, (n_docs - holding as usize) as u32);
            }
            sorted(map)
        })
        .collect()
}

/// The chains' fits as one: free topics matched to the first chain's, estimates averaged over
/// the chains, posterior draws pooled (so intervals hold the chains' disagreement too).
fn pool(mut fits: Vec<KeyAtmFit>, n_key: usize) -> KeyAtmFit {
    let mut pooled = fits.remove(0);
    let n_chains = fits.len() + 1;
    if n_chains == 1 {
        return pooled;
    }
    let k = pooled.alpha.len();
    let scale = |x: &mut Array2<f32>| x.mapv_inplace(|a| a / n_chains as f32);
    for fit in fits {
        let order = match_topics(&pooled.phi, &fit.phi, n_key);
        // Topic j of the pool is topic order[j] of this chain.
        let reorder = |values: &[f64]| -> Vec<f64> {
            values.chunks(k).flat_map(|row| order.iter().map(|&t| row[t]).collect::<Vec<_>>()).collect()
        };
        for (j, &t) in order.iter().enumerate() {
            pooled.theta.column_mut(j).zip_mut_with(&fit.theta.column(t), |a, &b| *a += b);
            pooled.assigned.column_mut(j).zip_mut_with(&fit.assigned.column(t), |a, &b| *a += b);
            pooled.phi.row_mut(j).zip_mut_with(&fit.phi.row(t), |a, &b| *a += b);
            pooled.alpha[j] += fit.alpha[t];
        }
        pooled.pi.iter_mut().zip(&fit.pi).for_each(|(a, b)| *a += b);
        pooled.group_draws.extend(fit.group_draws.iter().map(|d| reorder(d)));
        for (mine, theirs) in pooled.group_words.iter_mut().zip(fit.group_words) {
            for (here, words) in mine.iter_mut().zip(theirs) {
                words.into_iter().for_each(|(w, c)| *here.entry(w).or_default() += c);
            }
        }
        let before = pooled.draws;
        pooled.chains.push(Chain { draws: before..before + fit.draws, ..fit.chains[0].clone() });
        pooled.draws += fit.draws;
    }
    scale(&mut pooled.theta);
    scale(&mut pooled.assigned);
    scale(&mut pooled.phi);
    pooled.alpha.iter_mut().for_each(|a| *a /= n_chains as f64);
    pooled.pi.iter_mut().for_each(|p| *p /= n_chains as f64);
    pooled
}

/// For each topic of the pool, the chain's topic that matches it: a keyword topic is itself (its
/// seeds name it); free topics pair greedily, best cosine of their word distributions first, with
/// the pool's running sum of the chains matched so far (a sum's scale does not change a cosine).
fn match_topics(pool: &Array2<f32>, chain: &Array2<f32>, n_key: usize) -> Vec<usize> {
    let k = pool.nrows();
    let unit = |phi: &Array2<f32>| {
        let mut rows = phi.clone();
        crate::linalg::normalize_rows(&mut rows);
        rows
    };
    // Every pair's cosine at once: rows of unit length, so their products are the cosines.
    let cosine = crate::linalg::gram(unit(pool).t(), unit(chain).t());
    let mut pairs = Vec::with_capacity((k - n_key) * (k - n_key));
    for a in n_key..k {
        for b in n_key..k {
            pairs.push((cosine[[a, b]], a, b));
        }
    }
    // Best cosine first; ties by topic numbers, so the match is the same on every machine.
    pairs.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let mut order: Vec<usize> = (0..k).collect();
    let (mut taken_a, mut taken_b) = (vec![false; k], vec![false; k]);
    for (_, a, b) in pairs {
        if !taken_a[a] && !taken_b[b] {
            (taken_a[a], taken_b[b]) = (true, true);
            order[a] = b;
        }
    }
    order
}

/// Add `by` (±1) tokens of word w to topic z with switch s; `row` is w's row of `c.regular` (w
/// itself in the whole table, its shard's number for it in a shard's).
#[inline(always)]
fn add(model: &Model, c: &mut WordCounts, w: usize, row: usize, z: usize, s: bool, by: i32) {
    let apply = |x: &mut u32| *x = x.wrapping_add_signed(by);
    if s {
        let slot = model.slot_of(w, z).expect("a keyword token's topic is seeded with it");
        apply(&mut c.keyword[slot]);
        apply(&mut c.keyword_total[z]);
    } else {
        apply(&mut c.regular[row * model.k + z]);
        apply(&mut c.regular_total[z]);
    }
}

pub(super) struct ShardTokens<'a> {
    pub(super) words: &'a [u32],
    /// Each token's row of the shard's regular counts.
    pub(super) rows: &'a [u32],
    pub(super) topics: &'a mut [u16],
    pub(super) switch: &'a mut [bool],
}

/// One sweep of one shard: the α it samples with, and where its random stream comes from (the
/// chain's seed, the sweep and the shard — never the thread or the worker).
pub(super) struct ShardSweep<'a> {
    pub(super) seed: u64,
    pub(super) sweep: usize,
    pub(super) shard: usize,
    pub(super) alpha: &'a [f64],
}

impl ShardSweep<'_> {
    /// Sample the shard's `tokens` against `c`, its copy of the counts (its words' rows of the
    /// regular counts); `starts` are its documents' first tokens and then its end, counted from
    /// wherever its tokens start.
    pub(super) fn sample(
        &self,
        model: &Model,
        c: &mut WordCounts,
        tokens: ShardTokens,
        doc_topic: &mut [u32],
        starts: &[usize],
    ) {
        let stream = self.seed ^ 0x6b65_7941_544d_0000 ^ ((self.sweep as u64 + 1) << 20) ^ (self.shard as u64 + 1);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream);
        sample_shard(model, c, tokens, doc_topic, starts, self.alpha, &mut rng);
    }
}

/// One sweep over a shard's documents: z given s for every token, then s given z for a token of
/// a seed of its (new) topic.
fn sample_shard(
    model: &Model,
    c: &mut WordCounts,
    tokens: ShardTokens,
    doc_topic: &mut [u32],
    starts: &[usize],
    alpha: &[f64],
    rng: &mut Xoshiro256PlusPlus,
) {
    let (k, params) = (model.k, &model.params);
    let v_beta = model.v as f64 * params.beta;
    // Each topic's word-independent factors of the two conditionals, refreshed whenever its
    // totals change: then a token's weights need no division.
    let mut regular_factor = vec![0f64; k];
    let mut keyword_factor = vec![0f64; k];
    let refresh = |c: &WordCounts, t: usize, regular: &mut [f64], keyword: &mut [f64]| {
        let (odds_regular, odds_keyword) = model.switch_odds(c, t);
        regular[t] = odds_regular / (c.regular_total[t] as f64 + v_beta);
        keyword[t] = match model.seeds_per_topic.get(t) {
            Some(&seeds) => odds_keyword / (c.keyword_total[t] as f64 + seeds as f64 * params.beta_s),
            None => 0.0,
        };
    };
    for t in 0..k {
        refresh(c, t, &mut regular_factor, &mut keyword_factor);
    }
    // A regular token (s = 0) is drawn as LDA's dense draw, eight topics at a time: the weight
    // (n_dt + α_t)(n_wt + β)·regular_factor_t is the kept coefficient (n_dt + α_t)·regular_factor_t
    // times the word's count plus β; a coefficient changes only for the topics a token leaves
    // and joins (and all of them when a document starts).
    let mut coefficient = vec![0f32; draw::padded(k)];
    let mut draw = draw::Draw::new(k);
    let coefficient_of =
        |t: usize, dt: &[u32], regular_factor: &[f64]| ((dt[t] as f64 + alpha[t]) * regular_factor[t]) as f32;
    // A keyword token (s = 1) weighs only the topics seeded with its word.
    let mut weights = vec![0f64; k];
    let base = starts[0];
    for local_doc in 0..starts.len() - 1 {
        let dt = &mut doc_topic[local_doc * k..(local_doc + 1) * k];
        for (t, x) in coefficient.iter_mut().enumerate().take(k) {
            *x = coefficient_of(t, dt, &regular_factor);
        }
        for i in starts[local_doc] - base..starts[local_doc + 1] - base {
            draw::prefetch_ahead(&c.regular, tokens.rows, i, k);
            let (w, row) = (tokens.words[i] as usize, tokens.rows[i] as usize);
            let (old, s) = (tokens.topics[i] as usize, tokens.switch[i]);
            dt[old] -= 1;
            add(model, c, w, row, old, s, -1);
            refresh(c, old, &mut regular_factor, &mut keyword_factor);
            coefficient[old] = coefficient_of(old, dt, &regular_factor);
            let new = if s {
                weights.iter_mut().for_each(|x| *x = 0.0);
                for &(t, slot) in model.slots(w) {
                    weights[t] =
                        (dt[t] as f64 + alpha[t]) * (c.keyword[slot] as f64 + params.beta_s) * keyword_factor[t];
                }
                let mut acc = 0.0;
                weights.iter_mut().for_each(|x| {
                    acc += *x;
                    *x = acc;
                });
                let u = rng.gen::<f64>() * acc;
                let new = weights.iter().position(|&x| x > u).unwrap_or(k - 1);
                if model.slot_of(w, new).is_none() {
                    old
                } else {
                    new
                }
            } else {
                draw.weigh(&coefficient, &c.regular[row * k..(row + 1) * k], params.beta as f32);
                draw.pick(rng.gen::<f64>())
            };
            dt[new] += 1;
            tokens.topics[i] = new as u16;
            if let Some(slot) = model.slot_of(w, new) {
                // The token is out of the counts while its switch is drawn.
                let (g1, g2) = model.gamma(new);
                let keyword = (c.keyword[slot] as f64 + params.beta_s) * (c.keyword_total[new] as f64 + g1)
                    / (c.keyword_total[new] as f64 + model.seeds_per_topic[new] as f64 * params.beta_s);
                let regular = (c.regular[row * k + new] as f64 + params.beta) * (c.regular_total[new] as f64 + g2)
                    / (c.regular_total[new] as f64 + v_beta);
                let on = rng.gen::<f64>() * (keyword + regular) < keyword;
                add(model, c, w, row, new, on, 1);
                tokens.switch[i] = on;
            } else {
                add(model, c, w, row, new, s, 1);
            }
            refresh(c, new, &mut regular_factor, &mut keyword_factor);
            coefficient[new] = coefficient_of(new, dt, &regular_factor);
        }
    }
}

/// keyATM's log-likelihood of a state, ln p(w, z, s | α, β, β_s, γ) with the word distributions,
/// keyword shares π and document shares θ integrated out (as keyATM reports it while fitting):
///
/// ```text
/// Σ_k [ln Γ(Vβ) − ln Γ(n⁰_k + Vβ) + Σ_w (ln Γ(n⁰_kw + β) − ln Γ(β))]                       regular words
/// + Σ_keyword k [ln Γ(|S_k|β_s) − ln Γ(n¹_k + |S_k|β_s) + Σ_w∈S_k (ln Γ(n¹_kw + β_s) − ln Γ(β_s))
///                + ln B(n¹_k + γ₁, n⁰_k + γ₂) − ln B(γ₁, γ₂)]                                 keywords, switches
/// + Σ_d [ln Γ(Σα) − ln Γ(n_d + Σα) + Σ_k (ln Γ(n_dk + α_k) − ln Γ(α_k))]                     topics
/// ```
///
/// Zero counts add nothing to the sums over words, and the documents' part needs only the
/// histograms of n_dk and of the lengths.
/// `histograms`: each topic's histogram of the documents' counts; `lengths`: of their lengths.
fn log_likelihood(
    model: &Model,
    c: &WordCounts,
    histograms: &[Vec<(f64, f64)>],
    lengths: &[(f64, f64)],
    n_docs: usize,
    alpha: &[f64],
) -> f64 {
    use libm::lgamma;
    let (k, params) = (model.k, &model.params);
    let v_beta = model.v as f64 * params.beta;
    let counted = |counts: &[u32], prior: f64| {
        let base = lgamma(prior);
        counts.iter().filter(|&&x| x > 0).map(|&x| lgamma(x as f64 + prior) - base).sum::<f64>()
    };
    let mut total = counted(&c.regular, params.beta) + counted(&c.keyword, params.beta_s);
    for t in 0..k {
        total += lgamma(v_beta) - lgamma(c.regular_total[t] as f64 + v_beta);
    }
    let (g1, g2) = params.gamma;
    for t in 0..model.n_key {
        let seeds = model.seeds_per_topic[t] as f64 * params.beta_s;
        let (n0, n1) = (c.regular_total[t] as f64, c.keyword_total[t] as f64);
        total += lgamma(seeds) - lgamma(n1 + seeds);
        total +=
            lgamma(n1 + g1) + lgamma(n0 + g2) - lgamma(n0 + n1 + g1 + g2) - (lgamma(g1) + lgamma(g2) - lgamma(g1 + g2));
    }
    let n = n_docs as f64;
    let sum: f64 = alpha.iter().sum();
    total += n * lgamma(sum) - lengths.iter().map(|&(x, m)| m * lgamma(x + sum)).sum::<f64>();
    for (&a, counts) in alpha.iter().zip(histograms) {
        total += counts.iter().map(|&(x, m)| m * lgamma(x + a)).sum::<f64>() - n * lgamma(a);
    }
    total
}

/// ln of keyATM's gamma prior density (shape a, scale b).
fn gamma_log_density(x: f64, a: f64, b: f64) -> f64 {
    -a * b.ln() - libm::lgamma(a) + (a - 1.0) * x.ln() - x / b
}

/// One slice-sampling pass over α (topic by topic), under the Dirichlet–multinomial likelihood
/// of the documents' topic counts (`histograms`, per topic; `length_histogram`, of the
/// documents' lengths; `n_docs` documents).
fn resample_alpha(
    alpha: &mut [f64],
    histograms: &[Vec<(f64, f64)>],
    length_histogram: &[(f64, f64)],
    n_docs: usize,
    n_key: usize,
    rng: &mut Xoshiro256PlusPlus,
) {
    let k = alpha.len();
    let n = n_docs as f64;
    let (low, high) = (1e-9 / (1.0 + 1e-9), 100.0 / 101.0);
    for t in 0..k {
        let counts = &histograms[t];
        let rest: f64 = alpha.iter().enumerate().filter(|&(j, _)| j != t).map(|(_, a)| a).sum();
        let (shape, scale) = if t < n_key { (1.0, 1.0) } else { (2.0, 1.0) };
        let log_target = |a: f64| {
            let sum = rest + a;
            let mut l = gamma_log_density(a, shape, scale) + n * (libm::lgamma(sum) - libm::lgamma(a));
            l += counts.iter().map(|&(x, c)| c * libm::lgamma(x + a)).sum::<f64>();
            l -= length_histogram.iter().map(|&(x, c)| c * libm::lgamma(x + sum)).sum::<f64>();
            // On p = α/(1 + α): dα/dp = 1/(1 − p)².
            let p = a / (1.0 + a);
            l - 2.0 * (1.0 - p).ln()
        };
        let current = alpha[t] / (1.0 + alpha[t]);
        let level = log_target(alpha[t]) + rng.gen::<f64>().ln();
        let (mut lo, mut hi) = (low, high);
        for _ in 0..200 {
            let p = lo + (hi - lo) * rng.gen::<f64>();
            let a = p / (1.0 - p);
            if log_target(a) > level {
                alpha[t] = a;
                break;
            }
            if p < current {
                lo = p;
            } else {
                hi = p;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 90 documents over three word groups of six (words 0–17) and a shared noise group (18–23);
    /// each document draws mostly from one group. Seeds: two words of groups 0 and 1.
    fn planted() -> Csr<u32> {
        let rows = (0..90u32)
            .map(|d| {
                let group = d % 3;
                let mut row: Vec<(u32, u32)> = (0..6).map(|j| (group * 6 + j, 3 + (d + j) % 4)).collect();
                row.extend((18..24).map(|w| (w, 1 + (d + w) % 2)));
                row
            })
            .collect();
        Csr::from_rows(24, rows)
    }

    fn params() -> KeyAtmParams {
        KeyAtmParams { free_topics: 1, iterations: 120, burn_in: 60, thin: 2, chains: 1, ..KeyAtmParams::default() }
    }

    #[test]
    fn chains_pool_their_free_topics_matched_not_by_number() {
        // One keyword topic (group 0) and two free topics that must take groups 1 and 2: each
        // chain numbers them as it likes, and a pool that added them by number would mix them.
        let p = KeyAtmParams { free_topics: 2, chains: 4, ..params() };
        let fit = keyatm(&planted(), &[vec![0, 1]], &p, &[None; 90], 1, 5, None).unwrap();
        assert_eq!((fit.chains.len(), fit.draws), (4, 4 * 30));
        for topic in 1..3 {
            let row = fit.phi.row(topic);
            let by_group: Vec<f32> = (0..3).map(|g| (g * 6..g * 6 + 6).map(|w| row[w]).sum()).collect();
            let best = by_group.iter().cloned().fold(0.0, f32::max);
            assert!(best / by_group.iter().sum::<f32>() > 0.95, "free topic {topic} mixes groups: {by_group:?}");
        }
        for d in 0..90 {
            let sum: f32 = fit.theta.row(d).sum();
            assert!((sum - 1.0).abs() < 1e-4, "document {d}: {sum}");
        }
        let seeds: Vec<u64> = fit.chains.iter().map(|c| c.seed).collect();
        assert_eq!(seeds[0], 5);
        assert!(seeds.windows(2).all(|w| w[0] != w[1]));
    }

    #[test]
    fn log_likelihood_equals_the_sum_over_every_document_and_topic() {
        // The histogram shortcut against keyATM's per-document, per-topic sum, on a sampled state.
        let counts = planted();
        let keywords = [vec![0u32, 1], vec![6, 7, 8]];
        let p = params();
        let (words, starts) = tokens_by_document(&counts);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let model = Model::new(24, &keywords, &p);
        let k = model.k;
        let mut c = WordCounts {
            regular: vec![0; 24 * k],
            regular_total: vec![0; k],
            keyword: vec![0; 5],
            keyword_total: vec![0; k],
        };
        let n = starts.len() - 1;
        let mut doc_topic = vec![0u32; n * k];
        for d in 0..n {
            for &w in &words[starts[d]..starts[d + 1]] {
                let w = w as usize;
                let slots = model.slots(w);
                let (z, s) = if !slots.is_empty() && rng.gen::<bool>() {
                    (slots[0].0, true)
                } else {
                    (rng.gen_range(0..k), false)
                };
                doc_topic[d * k + z] += 1;
                add(&model, &mut c, w, w, z, s, 1);
            }
        }
        let alpha = [0.3, 0.7, 0.2];
        let lengths: Vec<u32> = (0..n).map(|d| (starts[d + 1] - starts[d]) as u32).collect();
        let histograms = with_zeros(topic_histograms(&doc_topic, k), n);
        let fast = log_likelihood(&model, &c, &histograms, &histogram(lengths.iter().copied()), n, &alpha);
        let lg = libm::lgamma;
        let mut slow = 0.0;
        for t in 0..k {
            slow += lg(24.0 * p.beta) - lg(c.regular_total[t] as f64 + 24.0 * p.beta);
            slow += (0..24).map(|w| lg(c.regular[w * k + t] as f64 + p.beta) - lg(p.beta)).sum::<f64>();
        }
        for (t, seeds) in keywords.iter().enumerate() {
            let s = seeds.len() as f64 * p.beta_s;
            slow += lg(s) - lg(c.keyword_total[t] as f64 + s);
            slow += seeds
                .iter()
                .map(|&w| lg(c.keyword[model.slot_of(w as usize, t).unwrap()] as f64 + p.beta_s) - lg(p.beta_s))
                .sum::<f64>();
            let (n0, n1) = (c.regular_total[t] as f64, c.keyword_total[t] as f64);
            slow += lg(2.0) + lg(n1 + 1.0) + lg(n0 + 1.0) - lg(n0 + n1 + 2.0);
        }
        for d in 0..n {
            slow += lg(1.2) - lg(lengths[d] as f64 + 1.2);
            slow += (0..k).map(|t| lg(doc_topic[d * k + t] as f64 + alpha[t]) - lg(alpha[t])).sum::<f64>();
        }
        assert!((fast - slow).abs() < 1e-6 * slow.abs(), "{fast} vs {slow}");
        // Sampling finds far likelier states than this random one.
        let fit = keyatm(&counts, &keywords, &p, &[None; 90], 1, 2, None).unwrap();
        assert!(fit.chains[0].log_likelihood > fast + 100.0, "{} vs {fast}", fit.chains[0].log_likelihood);
    }

    #[test]
    fn keyword_topics_find_their_groups_and_the_words_beside_the_seeds() {
        let groups: Vec<Option<usize>> = (0..90).map(|d| Some(d / 45)).collect();
        let fit = keyatm(&planted(), &[vec![0, 1], vec![6, 7]], &params(), &groups, 2, 3, None).unwrap();
        for (topic, group) in [(0usize, 0u32), (1, 1)] {
            let row = fit.phi.row(topic);
            // Shared noise words may sit anywhere; the three groups must not mix.
            let mass: f32 = (group * 6..group * 6 + 6).map(|w| row[w as usize]).sum();
            let groups: f32 = (0..18).map(|w| row[w]).sum();
            assert!(mass / groups > 0.98, "topic {topic} mixes groups: {row:?}");
            // Words 2–5 (or 8–11) were never seeds, yet the topic holds them.
            let found: f32 = (group * 6 + 2..group * 6 + 6).map(|w| row[w as usize]).sum();
            assert!(found > 0.3, "topic {topic} found no unseeded words: {row:?}");
        }
        for d in (0..90).filter(|d| d % 3 < 2) {
            let topic = d % 3;
            assert!(fit.theta[[d, topic]] > 0.6, "document {d}: {:?}", fit.theta.row(d));
        }
        assert_eq!(fit.draws, 30);
        let k = 3;
        for draw in &fit.group_draws {
            for g in 0..2 {
                let sum: f64 = draw[g * k..(g + 1) * k].iter().sum();
                assert!((sum - 1.0).abs() < 1e-9);
            }
        }
        assert!(fit.pi.iter().all(|&p| p > 0.0 && p < 1.0));
        assert!(fit.alpha.iter().all(|&a| a > 0.0 && a.is_finite()));
    }

    #[test]
    fn same_seed_same_fit_at_any_thread_count() {
        let groups = vec![Some(0); 90];
        let fit = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| keyatm(&planted(), &[vec![0, 1], vec![6, 7]], &params(), &groups, 1, 11, None).unwrap())
        };
        let (a, b) = (fit(1), fit(3));
        assert_eq!(a.theta, b.theta);
        assert_eq!(a.phi, b.phi);
        assert_eq!(a.alpha, b.alpha);
        assert_eq!(a.group_words, b.group_words);
    }

    /// Shards sampled away — here by two hosts, as on two workers, each message encoded — give
    /// the fit sampled here, bit for bit, with α resampled, draws kept and two chains (sampled
    /// side by side) pooled; and so does a fit whose host is lost once (its chains start again).
    #[test]
    fn shards_sampled_away_give_the_same_fit() {
        use super::super::keyatm_shards::ThemeShardHost;
        let away = super::super::away::two_hosts::<ThemeShardHost>;
        let groups: Vec<Option<usize>> = (0..90).map(|d| (d % 5 != 0).then_some(d / 30)).collect();
        let p = KeyAtmParams { chains: 2, iterations: 40, burn_in: 20, thin: 4, ..params() };
        let keywords = [vec![0, 1], vec![6, 7]];
        let fit = |away: Option<&AwayShards>| keyatm(&planted(), &keywords, &p, &groups, 3, 4, away).unwrap();
        let here = fit(None);
        // The chains run side by side, so their calls interleave: call 30 is well into both.
        for fail_on_call in [None, Some(30)] {
            let there = fit(Some(&away(fail_on_call)));
            let case = format!("failing on call {fail_on_call:?}");
            assert_eq!(here.theta, there.theta, "{case}");
            assert_eq!(here.assigned, there.assigned, "{case}");
            assert_eq!(here.phi, there.phi, "{case}");
            assert_eq!((&here.alpha, &here.pi), (&there.alpha, &there.pi), "{case}");
            assert_eq!(here.group_draws, there.group_draws, "{case}");
            assert_eq!(here.group_words, there.group_words, "{case}");
            let lls = |f: &KeyAtmFit| f.chains.iter().map(|c| c.log_likelihood).collect::<Vec<_>>();
            assert_eq!(lls(&here), lls(&there), "{case}");
        }
        // A host that keeps failing fails the fit with its error.
        let broken: AwayShards = std::sync::Arc::new(|_, _| Err(crate::error::Error::Shards("no workers".into())));
        assert!(keyatm(&planted(), &keywords, &p, &groups, 3, 4, Some(&broken)).is_err());
    }

    #[test]
    fn group_words_come_only_from_the_groups_documents() {
        // Word 5 occurs only in the second half's documents (group 1).
        let rows = (0..60u32)
            .map(|d| {
                let mut row = vec![(0, 4), (1, 3), (2, 2)];
                if d >= 30 {
                    row.push((5, 3));
                }
                row.push((3 + d % 2, 2));
                row
            })
            .collect();
        let counts = Csr::from_rows(6, rows);
        let groups: Vec<Option<usize>> = (0..60).map(|d| Some(d / 30)).collect();
        let fit = keyatm(&counts, &[vec![0, 5]], &params(), &groups, 2, 1, None).unwrap();
        assert!(!fit.group_words[0][0].contains_key(&5));
        assert!(fit.group_words[0][1].get(&5).copied().unwrap_or(0) > 0);
    }

    #[test]
    fn alpha_slice_sampler_moves_toward_sparse_documents() {
        // Documents with all tokens in one topic call for a small α.
        let k = 2;
        let lengths = vec![20u32; 200];
        let doc_topic: Vec<u32> = (0..200).flat_map(|d| if d % 2 == 0 { [20, 0] } else { [0, 20] }).collect();
        let (histograms, length_histogram) =
            (with_zeros(topic_histograms(&doc_topic, k), 200), histogram(lengths.into_iter()));
        let mut alpha = vec![1.0; k];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        for _ in 0..50 {
            resample_alpha(&mut alpha, &histograms, &length_histogram, 200, 0, &mut rng);
        }
        assert!(alpha.iter().all(|&a| a < 0.2), "{alpha:?}");
    }
}
