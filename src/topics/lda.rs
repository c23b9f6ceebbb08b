//! Latent Dirichlet allocation by collapsed Gibbs sampling (Griffiths & Steyvers 2004),
//! parallel as approximate distributed LDA (Newman et al. 2009): the documents are cut into a
//! fixed number of shards; in each sweep every shard samples its tokens against its own copy of
//! the word–topic counts, and the copies' changes are added together afterwards.
//!
//! Because the shards (and each shard's random stream, seeded from seed, sweep and shard) do not
//! depend on the number of threads, neither does the result.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::vectorize::Csr;

/// LDA settings. Defaults: α = 0.1 (per topic), β = 0.01 (tomotopy's defaults), 300 sweeps,
/// the last 100 of which (every 10th) are averaged into the estimates.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LdaParams {
    pub alpha: f64,
    pub beta: f64,
    pub iterations: usize,
    /// Sweeps before samples are averaged.
    pub burn_in: usize,
    /// Average every `thin`-th sweep after burn-in.
    pub thin: usize,
}

impl Default for LdaParams {
    fn default() -> Self {
        LdaParams { alpha: 0.1, beta: 0.01, iterations: 300, burn_in: 200, thin: 10 }
    }
}

/// Shards of documents sampled in parallel: fixed, so results do not depend on the threads.
const SHARDS: usize = 8;

pub struct LdaFit {
    /// n × k topic proportions θ (rows sum to 1).
    pub theta: Array2<f32>,
    /// k × v topic–word probabilities φ (rows sum to 1).
    pub phi: Array2<f32>,
    /// n × k tokens assigned to each topic in the last sweep.
    pub assigned: Array2<u32>,
    pub tokens: usize,
    pub iterations: usize,
}

struct Shard<'a> {
    docs: std::ops::Range<usize>,
    /// Token word ids and topics of this shard's documents, and each document's first token.
    words: &'a [u32],
    topics: &'a mut [u16],
    starts: &'a [usize],
    doc_topic: &'a mut [u32],
}

/// Fit `k` topics to the term counts `counts` (documents × terms).
pub fn lda(counts: &Csr<u32>, k: usize, params: &LdaParams, seed: u64) -> LdaFit {
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

    let bounds = shard_bounds(&starts, SHARDS);
    let mut theta_sum = Array2::<f64>::zeros((n, k));
    let mut phi_sum = Array2::<f64>::zeros((k, v));
    let progress = crate::progress::bar("LDA", params.iterations as u64, "sweeps");
    for sweep in 0..params.iterations {
        progress.add(1);
        let mut shards = split(&bounds, &words, &mut topics, &starts, &mut doc_topic, k);
        let deltas: Vec<(Vec<u32>, Vec<u32>)> = shards
            .par_iter_mut()
            .enumerate()
            .map(|(s, shard)| {
                let stream = seed ^ ((sweep as u64 + 1) << 20) ^ (s as u64 + 1);
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream);
                let mut wt = word_topic.clone();
                let mut tt = topic_total.clone();
                sample_shard(shard, &mut wt, &mut tt, k, v, params, &mut rng);
                (wt, tt)
            })
            .collect();
        merge(&mut word_topic, deltas.iter().map(|d| &d.0));
        merge(&mut topic_total, deltas.iter().map(|d| &d.1));
        drop(shards);
        let done = sweep + 1;
        let sampled = done > params.burn_in && (done - params.burn_in).is_multiple_of(params.thin.max(1));
        if sampled || done == params.iterations {
            accumulate(&mut theta_sum, &mut phi_sum, &doc_topic, &word_topic, &topic_total, k, params);
        }
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
    LdaFit {
        theta: normalize_rows(theta_sum),
        phi: normalize_rows(phi_sum),
        assigned: Array2::from_shape_vec((n, k), doc_topic).expect("n × k"),
        tokens: total,
        iterations: params.iterations,
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

/// Document ranges with about the same number of tokens each.
pub(super) fn shard_bounds(starts: &[usize], shards: usize) -> Vec<usize> {
    let n = starts.len() - 1;
    let total = starts[n];
    let mut bounds = vec![0];
    for s in 1..shards {
        let target = total * s / shards;
        let d = starts.partition_point(|&x| x < target).min(n);
        bounds.push(d.max(*bounds.last().unwrap()));
    }
    bounds.push(n);
    bounds
}

fn split<'a>(
    bounds: &[usize],
    words: &'a [u32],
    topics: &'a mut [u16],
    starts: &'a [usize],
    doc_topic: &'a mut [u32],
    k: usize,
) -> Vec<Shard<'a>> {
    let mut shards = Vec::new();
    let (mut topics, mut doc_topic) = (topics, doc_topic);
    for pair in bounds.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let (t, rest) = topics.split_at_mut(starts[b] - starts[a]);
        let (dt, rest_dt) = doc_topic.split_at_mut((b - a) * k);
        shards.push(Shard { docs: a..b, words: &words[starts[a]..starts[b]], topics: t, starts, doc_topic: dt });
        topics = rest;
        doc_topic = rest_dt;
    }
    shards
}

fn sample_shard(
    shard: &mut Shard,
    word_topic: &mut [u32],
    topic_total: &mut [u32],
    k: usize,
    v: usize,
    params: &LdaParams,
    rng: &mut Xoshiro256PlusPlus,
) {
    let (alpha, beta) = (params.alpha, params.beta);
    let v_beta = v as f64 * beta;
    let mut inv_total: Vec<f64> = topic_total.iter().map(|&t| 1.0 / (t as f64 + v_beta)).collect();
    let mut cumulative = vec![0f64; k];
    let base = shard.starts[shard.docs.start];
    for (local_doc, d) in shard.docs.clone().enumerate() {
        let dt = &mut shard.doc_topic[local_doc * k..(local_doc + 1) * k];
        for i in shard.starts[d] - base..shard.starts[d + 1] - base {
            let w = shard.words[i] as usize;
            let old = shard.topics[i] as usize;
            let wt = &mut word_topic[w * k..(w + 1) * k];
            dt[old] -= 1;
            wt[old] -= 1;
            topic_total[old] -= 1;
            inv_total[old] = 1.0 / (topic_total[old] as f64 + v_beta);
            let mut acc = 0.0;
            for t in 0..k {
                acc += (dt[t] as f64 + alpha) * (wt[t] as f64 + beta) * inv_total[t];
                cumulative[t] = acc;
            }
            let u = rng.gen::<f64>() * acc;
            let new = cumulative.iter().position(|&c| c > u).unwrap_or(k - 1);
            dt[new] += 1;
            wt[new] += 1;
            topic_total[new] += 1;
            inv_total[new] = 1.0 / (topic_total[new] as f64 + v_beta);
            shard.topics[i] = new as u16;
        }
    }
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

fn accumulate(
    theta: &mut Array2<f64>,
    phi: &mut Array2<f64>,
    doc_topic: &[u32],
    word_topic: &[u32],
    topic_total: &[u32],
    k: usize,
    params: &LdaParams,
) {
    let v = phi.ncols();
    for (d, mut row) in theta.rows_mut().into_iter().enumerate() {
        let counts = &doc_topic[d * k..(d + 1) * k];
        let len: u32 = counts.iter().sum();
        let denominator = len as f64 + k as f64 * params.alpha;
        row.iter_mut().zip(counts).for_each(|(x, &c)| *x += (c as f64 + params.alpha) / denominator);
    }
    for t in 0..k {
        let denominator = topic_total[t] as f64 + v as f64 * params.beta;
        for w in 0..v {
            phi[[t, w]] += (word_topic[w * k + t] as f64 + params.beta) / denominator;
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
        let fit = lda(&planted(), 3, &params(), 5);
        for row in fit.phi.rows() {
            let best = row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
            let group = best / 5;
            let mass: f32 = (group * 5..group * 5 + 5).map(|w| row[w]).sum();
            assert!(mass > 0.95, "topic mixes groups: {row:?}");
        }
        for (d, row) in fit.theta.rows().into_iter().enumerate() {
            assert!(row.iter().any(|&p| p > 0.9), "document {d} not assigned: {row:?}");
            assert!((row.sum() - 1.0).abs() < 1e-4);
        }
        assert_eq!(fit.assigned.sum() as usize, fit.tokens);
    }

    #[test]
    fn same_seed_same_result() {
        let a = lda(&planted(), 3, &params(), 9);
        let b = lda(&planted(), 3, &params(), 9);
        assert_eq!(a.phi, b.phi);
        assert_eq!(a.assigned, b.assigned);
    }
}
