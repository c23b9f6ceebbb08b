//! LDA's shards sampled away from the driver — on Ray actors, each shard's state living there
//! from sweep to sweep — giving the same fit, bit for bit, as sampling them in this process: the
//! shards, their random streams and the adding up of their changes are [`super::lda`]'s own; only
//! where a shard's sweep runs changes.
//!
//! After the warm-up (sampled by the driver), the driver ([`Chain::sample_away`]) sends each shard,
//! once, its tokens and their topics. Then, every sweep, each shard gets its rows of the
//! word–topic counts (the topic totals and α travel once for all), samples its tokens against
//! them and sends the rows back; the driver adds the changes up as it does for shards of its own.
//! The documents' topic counts stay with the shards: what the driver needs of them — α's
//! histograms, the averaged topic proportions, the last counts — it asks for. Should a shard be
//! lost (its worker died), sampling away starts again from the warm-up's state, which the driver
//! keeps, so the fit does not change.
//!
//! Messages travel as MessagePack, large arrays as one run of little-endian bytes each.

use ndarray::Array2;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::away::{self, retried, AwayShards, FetchTokens, HeldTokens, Histograms, Packed, SentTokens, ShardHost};
use super::lda::{accumulate_phi, accumulate_theta, merge, optimize_alpha, LdaParams, Sampling, Shard, ShardWords};
use crate::error::{Error, Result};

/// How errors and notes name these shards.
const WHAT: &str = "LDA";

#[derive(Serialize, Deserialize)]
enum Common {
    Start {
        k: usize,
        v: usize,
        beta: f64,
        sparse: bool,
        seed: u64,
    },
    /// `average_first`: add the documents' proportions under `alpha` before sampling (the last
    /// sweep was one the estimates average); `histograms`: send α's histograms after it.
    Sweep {
        sweep: usize,
        topic_total: Vec<u32>,
        alpha: Vec<f64>,
        average_first: bool,
        histograms: bool,
    },
    Finish {
        alpha: Vec<f64>,
        average_first: bool,
    },
}

/// A shard's start: its tokens and its documents' averaged proportions so far (n_s × k).
#[derive(Serialize, Deserialize)]
struct ShardStart {
    tokens: SentTokens,
    theta_sum: Packed<f64>,
}

type Request = away::Request<ShardStart>;

#[derive(Serialize, Deserialize)]
enum Answer {
    Started,
    Swept { table: Packed<u32>, topic_total: Vec<u32>, histograms: Histograms },
    Finished { theta_sum: Packed<f64>, doc_topic: Packed<u32> },
}

/// The LDA shards one worker holds, each as the driver last left it.
#[derive(Default)]
pub struct LdaShardHost {
    shards: away::Held<HeldShard>,
}

struct HeldShard {
    v: usize,
    beta: f64,
    sparse: bool,
    seed: u64,
    words: ShardWords,
    starts: Vec<usize>,
    topics: Vec<u16>,
    doc_topic: Vec<u32>,
    theta_sum: Array2<f64>,
}

impl ShardHost for LdaShardHost {
    fn answer(&mut self, shard: usize, common: &[u8], request: &[u8], _tokens: &FetchTokens) -> Result<Vec<u8>> {
        let answer = match (away::decode::<Common>(common, WHAT)?, away::decode::<Request>(request, WHAT)?) {
            (Common::Start { k, v, beta, sparse, seed }, Request::Start(ShardStart { tokens, theta_sum })) => {
                let HeldTokens { words, starts, topics, doc_topic } = tokens.held(k, WHAT, shard)?;
                let n = starts.len() - 1;
                let theta_sum = Array2::from_shape_vec((n, k), theta_sum.0)
                    .map_err(|_| Error::Shards(format!("LDA shard {shard}: proportions are not {n} × {k}")))?;
                let words = ShardWords::new(&words);
                let held = HeldShard { v, beta, sparse, seed, words, starts, topics, doc_topic, theta_sum };
                self.shards.start(shard, held);
                Answer::Started
            }
            (Common::Sweep { sweep, topic_total, alpha, average_first, histograms }, Request::Sweep { table }) => {
                let held = self.shards.get(shard, WHAT)?;
                if average_first {
                    accumulate_theta(&mut held.theta_sum, &held.doc_topic, &alpha);
                }
                let (mut table, mut topic_total) = (table.0, topic_total);
                let mut view = Shard {
                    docs: 0..held.starts.len() - 1,
                    words: &held.words.tokens,
                    topics: &mut held.topics,
                    starts: &held.starts,
                    doc_topic: &mut held.doc_topic,
                };
                let sampling =
                    Sampling { alpha: &alpha, beta: held.beta, v: held.v, sparse: held.sparse, seed: held.seed, sweep };
                sampling.sample(shard, &mut view, &held.words, &mut table, &mut topic_total);
                let histograms =
                    if histograms { away::histograms_of(&held.doc_topic, held.theta_sum.ncols()) } else { Vec::new() };
                Answer::Swept { table: Packed(table), topic_total, histograms }
            }
            (Common::Finish { alpha, average_first }, Request::Finish) => {
                let held = self.shards.get(shard, WHAT)?;
                if average_first {
                    accumulate_theta(&mut held.theta_sum, &held.doc_topic, &alpha);
                }
                let held = self.shards.finish(shard, WHAT)?;
                Answer::Finished {
                    theta_sum: Packed(held.theta_sum.into_raw_vec_and_offset().0),
                    doc_topic: Packed(held.doc_topic),
                }
            }
            _ => return Err(away::mismatched(WHAT, shard)),
        };
        away::encode(&answer, WHAT)
    }
}

/// The driver's state of one LDA chain after its warm-up, handed to [`Chain::sample_away`].
pub(super) struct Chain<'a> {
    pub(super) k: usize,
    pub(super) v: usize,
    pub(super) sparse: bool,
    pub(super) seed: u64,
    pub(super) params: &'a LdaParams,
    pub(super) words: &'a [u32],
    pub(super) starts: &'a [usize],
    pub(super) bounds: &'a [usize],
    pub(super) shard_words: &'a [ShardWords],
    pub(super) length_histogram: &'a [(f64, f64)],
    pub(super) topics: &'a [u16],
    pub(super) doc_topic: &'a mut Vec<u32>,
    pub(super) word_topic: &'a mut Vec<u32>,
    pub(super) topic_total: &'a mut Vec<u32>,
    pub(super) alpha: &'a mut Vec<f64>,
    pub(super) theta_sum: &'a mut Array2<f64>,
    pub(super) phi_sum: &'a mut Array2<f64>,
}

impl Chain<'_> {
    /// Sweeps `from..` of the chain with every shard sampled through `away`; the documents' topic
    /// counts and averaged proportions come back at the end.
    pub(super) fn sample_away(
        &mut self,
        away: &AwayShards,
        from: usize,
        progress: &crate::progress::Bar,
    ) -> Result<()> {
        // What sampling away changes on the driver, as the warm-up left it. (The tokens' topics
        // stay as it left them; the documents' counts and proportions change only when the shards
        // hand them back, at the end.)
        let kept = (self.word_topic.clone(), self.topic_total.clone(), self.alpha.clone(), self.phi_sum.clone());
        let restore = |chain: &mut Self| {
            (*chain.word_topic, *chain.topic_total, *chain.alpha, *chain.phi_sum) = kept.clone();
        };
        retried(WHAT, from, self, restore, |chain| chain.try_away(away, from, progress))
    }

    fn try_away(&mut self, away: &AwayShards, from: usize, progress: &crate::progress::Bar) -> Result<()> {
        let (k, params) = (self.k, self.params);
        let shards: Vec<usize> = (0..self.bounds.len() - 1).collect();
        let start = Common::Start { k, v: self.v, beta: params.beta, sparse: self.sparse, seed: self.seed };
        let requests = shards
            .iter()
            .map(|&s| {
                let (a, b) = (self.bounds[s], self.bounds[s + 1]);
                let request = Request::Start(ShardStart {
                    tokens: SentTokens::of(self.words, self.starts, self.topics, a..b),
                    theta_sum: Packed(
                        self.theta_sum.rows().into_iter().skip(a).take(b - a).flatten().copied().collect(),
                    ),
                });
                Ok((s, away::encode(&request, WHAT)?))
            })
            .collect::<Result<Vec<_>>>()?;
        for answer in away::ask::<_, Answer>(away, WHAT, &start, requests)? {
            let Answer::Started = answer else { return Err(away::unexpected(WHAT)) };
        }
        let mut average_first = false;
        for sweep in from..params.iterations {
            progress.add(1);
            let done = sweep + 1;
            let histograms = params.optimizes_after(done);
            let common = Common::Sweep {
                sweep,
                topic_total: self.topic_total.clone(),
                alpha: self.alpha.clone(),
                average_first,
                histograms,
            };
            let requests = away::sweep_requests::<ShardStart>(self.shard_words, self.word_topic, k, WHAT)?;
            let (mut tables, mut totals) = (Vec::new(), Vec::new());
            let mut per_topic: Vec<FxHashMap<u32, u32>> = vec![FxHashMap::default(); k];
            for answer in away::ask::<_, Answer>(away, WHAT, &common, requests)? {
                let Answer::Swept { table, topic_total, histograms } = answer else {
                    return Err(away::unexpected(WHAT));
                };
                tables.push(table.0);
                totals.push(topic_total);
                away::add_histograms(&mut per_topic, histograms);
            }
            let sampled: Vec<&[u32]> = tables.iter().map(|t| &t[..]).collect();
            ShardWords::add_all_changes(self.shard_words, &sampled, self.word_topic, k);
            merge(self.topic_total, totals.iter());
            if histograms {
                optimize_alpha(self.alpha, per_topic, self.length_histogram);
            }
            average_first = params.averages_after(done);
            if average_first {
                accumulate_phi(self.phi_sum, self.word_topic, self.topic_total, params.beta);
            }
        }
        let finish = Common::Finish { alpha: self.alpha.clone(), average_first };
        let requests = away::finish_requests::<ShardStart>(shards.len(), WHAT)?;
        for (s, answer) in shards.iter().zip(away::ask::<_, Answer>(away, WHAT, &finish, requests)?) {
            let Answer::Finished { theta_sum, doc_topic } = answer else { return Err(away::unexpected(WHAT)) };
            let (a, b) = (self.bounds[*s], self.bounds[*s + 1]);
            if theta_sum.0.len() != (b - a) * k || doc_topic.0.len() != (b - a) * k {
                return Err(Error::Shards(format!("LDA shard {s} sent back counts of the wrong size")));
            }
            self.doc_topic[a * k..b * k].copy_from_slice(&doc_topic.0);
            for (row, values) in self.theta_sum.rows_mut().into_iter().skip(a).zip(theta_sum.0.chunks_exact(k)) {
                row.into_iter().zip(values).for_each(|(x, &y)| *x = y);
            }
        }
        Ok(())
    }
}
