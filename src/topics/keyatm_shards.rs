//! The theme model's shards sampled away from the driver — on Ray actors, each shard's tokens,
//! topics, switches and documents' sums living there from sweep to sweep — giving the same fit,
//! bit for bit, as sampling them in this process: the shards, their random streams, the adding up
//! of their changes and of their kept draws are [`super::keyatm`]'s own; only where a shard's
//! sweep runs changes.
//!
//! After keyATM's start (made by the driver), each shard is sent, once, its tokens, their topics
//! and switches and its documents' groups. Then, every sweep, each shard gets its rows of the
//! regular word–topic counts (the totals, the keyword counts and α travel once for all), samples
//! its tokens and sends the rows back with its totals, its keyword counts and, when asked, the
//! histograms of its documents' topic counts (for α and the log-likelihood). A kept draw's
//! documents' side — their summed shares and assigned tokens, which stay with the shard, and the
//! shard's part of the groups' shares and words — is taken at the start of the next request,
//! under the α the driver resampled. Should a shard be lost, every sweep is sampled again from the
//! start, which the driver keeps, so the fit does not change.

use serde::{Deserialize, Serialize};

use super::away::{self, retried, AwayShards, FetchTokens, HeldTokens, Histograms, Packed, SentTokens, ShardHost};
use super::keyatm::{
    ChainState, Data, KeptDocs, KeptPart, KeyAtmParams, Model, ShardSweep, ShardTokens, Start, WordCounts,
};
use super::lda::ShardWords;
use crate::error::{Error, Result};

/// How errors and notes name these shards.
const WHAT: &str = "theme model";

/// What no group is, among a shard's documents' groups.
const NO_GROUP: u32 = u32::MAX;

#[derive(Serialize, Deserialize)]
enum Common {
    Start {
        v: usize,
        keywords: Vec<Vec<u32>>,
        params: KeyAtmParams,
        seed: u64,
        n_groups: usize,
    },
    /// `keep`: the last sweep was a kept draw — take its documents' side under `alpha` before
    /// sampling; `histograms`: send the documents' topic counts' histograms after it.
    Sweep {
        sweep: usize,
        regular_total: Vec<u32>,
        keyword: Vec<u32>,
        keyword_total: Vec<u32>,
        alpha: Vec<f64>,
        keep: bool,
        histograms: bool,
    },
    Finish {
        alpha: Vec<f64>,
        keep: bool,
    },
}

/// A shard's start: its number in its chain (what its random streams come from; where it is
/// held it may go by another), its tokens, its tokens' switches (0 or 1) and its documents'
/// groups ([`NO_GROUP`] for none).
#[derive(Serialize, Deserialize)]
struct ShardStart {
    index: usize,
    tokens: SentTokens,
    switch: Packed<u8>,
    groups: Packed<u32>,
}

/// Its sweep requests carry the shard's rows of the regular word–topic counts.
type Request = away::Request<ShardStart>;

#[derive(Serialize, Deserialize)]
enum Answer {
    Started,
    Swept {
        table: Packed<u32>,
        regular_total: Vec<u32>,
        keyword: Vec<u32>,
        keyword_total: Vec<u32>,
        histograms: Histograms,
        kept: Option<KeptPart>,
    },
    Finished {
        theta_sum: Packed<f64>,
        assigned_sum: Packed<f64>,
        kept: Option<KeptPart>,
    },
}

/// The theme model's shards one worker holds, each as the driver last left it.
#[derive(Default)]
pub struct ThemeShardHost {
    shards: away::Held<HeldShard>,
}

struct HeldShard {
    index: usize,
    model: Model,
    seed: u64,
    n_groups: usize,
    words: Vec<u32>,
    own: ShardWords,
    starts: Vec<usize>,
    groups: Vec<Option<usize>>,
    topics: Vec<u16>,
    switch: Vec<bool>,
    doc_topic: Vec<u32>,
    theta_sum: Vec<f64>,
    assigned_sum: Vec<f64>,
}

impl HeldShard {
    /// The documents' side of the kept draw the shard is in, under `alpha`.
    fn keep(&mut self, alpha: &[f64]) -> KeptPart {
        let docs = KeptDocs {
            words: &self.words,
            starts: &self.starts,
            topics: &self.topics,
            doc_topic: &self.doc_topic,
            groups: &self.groups,
        };
        docs.keep(&self.model, alpha, self.n_groups, &mut self.theta_sum, &mut self.assigned_sum)
    }
}

impl ShardHost for ThemeShardHost {
    fn answer(&mut self, shard: usize, common: &[u8], request: &[u8], _tokens: &FetchTokens) -> Result<Vec<u8>> {
        let answer = match (away::decode::<Common>(common, WHAT)?, away::decode::<Request>(request, WHAT)?) {
            (
                Common::Start { v, keywords, params, seed, n_groups },
                Request::Start(ShardStart { index, tokens, switch, groups }),
            ) => {
                let fits = keywords.iter().all(|seeds| !seeds.is_empty() && seeds.iter().all(|&w| (w as usize) < v));
                if !fits || keywords.len() + params.free_topics > u16::MAX as usize {
                    return Err(Error::Shards(format!("{WHAT} shard {shard}: seeds outside the vocabulary")));
                }
                let model = Model::new(v, &keywords, &params);
                let k = model.k;
                let HeldTokens { words, starts, topics, doc_topic } = tokens.held(k, WHAT, shard)?;
                let n = starts.len() - 1;
                if switch.0.len() != words.len() || groups.0.len() != n {
                    return Err(Error::Shards(format!("{WHAT} shard {shard}: its tokens and documents disagree")));
                }
                let groups = groups.0.iter().map(|&g| (g != NO_GROUP).then_some(g as usize)).collect();
                let held = HeldShard {
                    index,
                    model,
                    seed,
                    n_groups,
                    own: ShardWords::new(&words),
                    words,
                    starts,
                    groups,
                    topics,
                    switch: switch.0.into_iter().map(|s| s == 1).collect(),
                    doc_topic,
                    theta_sum: vec![0.0; n * k],
                    assigned_sum: vec![0.0; n * k],
                };
                self.shards.start(shard, held);
                Answer::Started
            }
            (
                Common::Sweep { sweep, regular_total, keyword, keyword_total, alpha, keep, histograms },
                Request::Sweep { table },
            ) => {
                let held = self.shards.get(shard, WHAT)?;
                let kept = keep.then(|| held.keep(&alpha));
                let mut copy = WordCounts { regular: table.0, regular_total, keyword, keyword_total };
                let tokens = ShardTokens {
                    words: &held.words,
                    rows: &held.own.tokens,
                    topics: &mut held.topics,
                    switch: &mut held.switch,
                };
                let sweep_of = ShardSweep { seed: held.seed, sweep, shard: held.index, alpha: &alpha };
                sweep_of.sample(&held.model, &mut copy, tokens, &mut held.doc_topic, &held.starts);
                let histograms =
                    if histograms { away::histograms_of(&held.doc_topic, held.model.k) } else { Vec::new() };
                Answer::Swept {
                    table: Packed(copy.regular),
                    regular_total: copy.regular_total,
                    keyword: copy.keyword,
                    keyword_total: copy.keyword_total,
                    histograms,
                    kept,
                }
            }
            (Common::Finish { alpha, keep }, Request::Finish) => {
                let held = self.shards.get(shard, WHAT)?;
                let kept = keep.then(|| held.keep(&alpha));
                let held = self.shards.finish(shard, WHAT)?;
                Answer::Finished { theta_sum: Packed(held.theta_sum), assigned_sum: Packed(held.assigned_sum), kept }
            }
            _ => return Err(away::mismatched(WHAT, shard)),
        };
        away::encode(&answer, WHAT)
    }
}

/// A chain sampled away: its tokens, keyATM's start, where its shards go and its progress bar.
pub(super) struct AwayChain<'a> {
    pub(super) data: &'a Data<'a>,
    pub(super) start: &'a Start,
    pub(super) away: &'a AwayShards,
    pub(super) progress: &'a crate::progress::Bar,
}

impl AwayChain<'_> {
    /// Every sweep of `chain` with its shards sampled away; the documents' summed shares and
    /// assigned tokens over the kept draws come back.
    pub(super) fn sample(&self, chain: &mut ChainState) -> Result<(Vec<f64>, Vec<f64>)> {
        let begun = chain.clone();
        let mut sums = None;
        let attempt = |chain: &mut ChainState| -> Result<()> {
            sums = Some(self.every_sweep(chain)?);
            Ok(())
        };
        retried(WHAT, 0, chain, |chain| *chain = begun.clone(), attempt)?;
        Ok(sums.expect("sampled"))
    }

    /// One attempt of [`Self::sample`].
    fn every_sweep(&self, chain: &mut ChainState) -> Result<(Vec<f64>, Vec<f64>)> {
        let (start, away, progress) = (self.start, self.away, self.progress);
        let model = chain.model;
        let k = model.k;
        let Data { words, starts, bounds, shard_words, groups, n_groups } = *self.data;
        let shards: Vec<usize> = (0..bounds.len() - 1).collect();
        let common = Common::Start {
            v: model.v,
            keywords: model.keywords.clone(),
            params: model.params.clone(),
            seed: chain.seed,
            n_groups,
        };
        let requests = shards
            .iter()
            .map(|&s| {
                let (a, b) = (bounds[s], bounds[s + 1]);
                let request = Request::Start(ShardStart {
                    index: s,
                    tokens: SentTokens::of(words, starts, &start.topics, a..b),
                    switch: Packed(start.switch[starts[a]..starts[b]].iter().map(|&s| s as u8).collect()),
                    groups: Packed(groups[a..b].iter().map(|g| g.map_or(NO_GROUP, |g| g as u32)).collect()),
                });
                Ok((s, away::encode(&request, WHAT)?))
            })
            .collect::<Result<Vec<_>>>()?;
        for answer in away::ask::<_, Answer>(away, WHAT, &common, requests)? {
            let Answer::Started = answer else { return Err(away::unexpected(WHAT)) };
        }
        let mut keep = false;
        for sweep in 0..model.params.iterations {
            progress.add(1);
            let histograms = chain.needs_histograms(sweep);
            let c = &chain.counts;
            let common = Common::Sweep {
                sweep,
                regular_total: c.regular_total.clone(),
                keyword: c.keyword.clone(),
                keyword_total: c.keyword_total.clone(),
                alpha: chain.alpha.clone(),
                keep,
                histograms,
            };
            let requests = away::sweep_requests::<ShardStart>(shard_words, &c.regular, k, WHAT)?;
            let (mut tables, mut regular_total, mut keyword, mut keyword_total) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let mut kept_parts = Vec::new();
            let mut per_topic: Vec<rustc_hash::FxHashMap<u32, u32>> = vec![Default::default(); k];
            for answer in away::ask::<_, Answer>(away, WHAT, &common, requests)? {
                let Answer::Swept { table, regular_total: rt, keyword: kw, keyword_total: kt, histograms, kept } =
                    answer
                else {
                    return Err(away::unexpected(WHAT));
                };
                if [rt.len(), kt.len(), kw.len()] != [k, k, c.keyword.len()] || kept.is_some() != keep {
                    return Err(Error::Shards(format!("a {WHAT} shard sent back counts of the wrong size")));
                }
                tables.push(table.0);
                regular_total.push(rt);
                keyword.push(kw);
                keyword_total.push(kt);
                kept_parts.extend(kept);
                away::add_histograms(&mut per_topic, histograms);
            }
            if keep {
                chain.add_kept(kept_parts);
            }
            let regular: Vec<&[u32]> = tables.iter().map(|t| &t[..]).collect();
            chain.add_changes(shard_words, &regular, regular_total.iter(), keyword.iter(), keyword_total.iter());
            keep = chain.after_sweep(sweep, histograms.then_some(per_topic));
        }
        let finish = Common::Finish { alpha: chain.alpha.clone(), keep };
        let requests = away::finish_requests::<ShardStart>(shards.len(), WHAT)?;
        let n = starts.len() - 1;
        let (mut theta_sum, mut assigned_sum) = (vec![0f64; n * k], vec![0f64; n * k]);
        let mut kept_parts = Vec::new();
        for (&s, answer) in shards.iter().zip(away::ask::<_, Answer>(away, WHAT, &finish, requests)?) {
            let Answer::Finished { theta_sum: theta, assigned_sum: assigned, kept } = answer else {
                return Err(away::unexpected(WHAT));
            };
            let cells = bounds[s] * k..bounds[s + 1] * k;
            if theta.0.len() != cells.len() || assigned.0.len() != cells.len() || kept.is_some() != keep {
                return Err(Error::Shards(format!("{WHAT} shard {s} sent back sums of the wrong size")));
            }
            theta_sum[cells.clone()].copy_from_slice(&theta.0);
            assigned_sum[cells].copy_from_slice(&assigned.0);
            kept_parts.extend(kept);
        }
        if keep {
            chain.add_kept(kept_parts);
        }
        Ok((theta_sum, assigned_sum))
    }
}
