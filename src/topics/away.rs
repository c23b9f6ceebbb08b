//! What the two samplers whose shards can live away from the driver (LDA, [`super::lda_shards`];
//! the theme model, [`super::keyatm_shards`]) share beyond [`crate::shards::away`]: their requests,
//! their tokens as they travel and are held, and the histograms of their documents' topic counts.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::lda::{topic_histograms, ShardWords};
use crate::error::{Error, Result};
pub use crate::shards::away::*;

/// What the driver sends a shard: `Start` once (the model's own start, `S`), then each sweep its
/// rows of the word–topic counts ([`ShardWords::copy_rows`]), then `Finish`.
#[derive(Serialize, Deserialize)]
pub(super) enum Request<S> {
    Start(S),
    Sweep { table: Packed<u32> },
    Finish,
}

/// Every shard's sweep request: its rows of `counts` (`k` topics a word).
pub(super) fn sweep_requests<S: Serialize>(
    shard_words: &[ShardWords],
    counts: &[u32],
    k: usize,
    what: &str,
) -> Result<Vec<(usize, Vec<u8>)>> {
    let request = |(s, own): (usize, &ShardWords)| {
        let mut table = Vec::new();
        own.copy_rows(counts, k, &mut table);
        Ok((s, encode(&Request::<S>::Sweep { table: Packed(table) }, what)?))
    };
    shard_words.iter().enumerate().map(request).collect()
}

/// Every one of `shards` shards' finish request.
pub(super) fn finish_requests<S: Serialize>(shards: usize, what: &str) -> Result<Vec<(usize, Vec<u8>)>> {
    (0..shards).map(|s| Ok((s, encode(&Request::<S>::Finish, what)?))).collect()
}

/// A shard's tokens as the driver sends them: their words (vocabulary ids, document by
/// document), the documents' lengths and the tokens' topics.
#[derive(Serialize, Deserialize)]
pub(super) struct SentTokens {
    words: Packed<u32>,
    lengths: Packed<u32>,
    topics: Packed<u16>,
}

/// A shard's tokens where it is sampled: their words, each document's first token then the
/// end, their topics and the documents' topic counts (n × k).
pub(super) struct HeldTokens {
    pub(super) words: Vec<u32>,
    pub(super) starts: Vec<usize>,
    pub(super) topics: Vec<u16>,
    pub(super) doc_topic: Vec<u32>,
}

impl SentTokens {
    /// The tokens of documents `docs` of the whole (`starts`: each document's first token).
    pub(super) fn of(words: &[u32], starts: &[usize], topics: &[u16], docs: std::ops::Range<usize>) -> SentTokens {
        let tokens = starts[docs.start]..starts[docs.end];
        SentTokens {
            words: Packed(words[tokens.clone()].to_vec()),
            lengths: Packed(starts[docs.start..=docs.end].windows(2).map(|p| (p[1] - p[0]) as u32).collect()),
            topics: Packed(topics[tokens].to_vec()),
        }
    }

    /// The tokens held, for `k` topics; an error names `what` shard `shard` when they do not fit
    /// together.
    pub(super) fn held(self, k: usize, what: &str, shard: usize) -> Result<HeldTokens> {
        let starts: Vec<usize> = std::iter::once(0)
            .chain(self.lengths.0.iter().scan(0, |at, &length| {
                *at += length as usize;
                Some(*at)
            }))
            .collect();
        let n = self.lengths.0.len();
        let fits = [self.words.0.len(), self.topics.0.len()] == [starts[n]; 2];
        if !fits || self.topics.0.iter().any(|&z| z as usize >= k) {
            return Err(Error::Shards(format!("{what} shard {shard}: its tokens, documents and topics disagree")));
        }
        let mut doc_topic = vec![0u32; n * k];
        for d in 0..n {
            self.topics.0[starts[d]..starts[d + 1]].iter().for_each(|&z| doc_topic[d * k + z as usize] += 1);
        }
        Ok(HeldTokens { words: self.words.0, starts, topics: self.topics.0, doc_topic })
    }
}

/// Per topic, (count, documents) of a shard's documents' nonzero topic counts ([`topic_histograms`])
/// as they travel.
pub(super) type Histograms = Vec<Vec<(u32, u32)>>;

/// A shard's [`Histograms`] of its documents' topic counts (`doc_topic`, n × `k`).
pub(super) fn histograms_of(doc_topic: &[u32], k: usize) -> Histograms {
    topic_histograms(doc_topic, k).into_iter().map(|map| map.into_iter().collect()).collect()
}

/// Add a shard's [`Histograms`] to the corpus's, per topic (integers: in any order).
pub(super) fn add_histograms(per_topic: &mut [FxHashMap<u32, u32>], shard: Histograms) {
    for (map, shard_map) in per_topic.iter_mut().zip(shard) {
        shard_map.into_iter().for_each(|(count, docs)| *map.entry(count).or_default() += docs);
    }
}
