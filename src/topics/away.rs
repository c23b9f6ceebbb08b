//! What the models whose shards can live away from the driver (LDA, [`super::lda_shards`]; the
//! theme model, [`super::keyatm_shards`]; NMF's documents' side, [`super::nmf_shards`]) share: how
//! the driver asks its shards, how a lost shard's work starts again, and how large arrays travel.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::lda::{topic_histograms, ShardWords};
use crate::error::{Error, Result};

/// Sends `common` (the same for every shard) and one request per shard (by index) to where the
/// shards are sampled, and returns their answers in the order asked (each given by the model's
/// shard host, [`super::lda_shards::LdaShardHost`] or [`super::keyatm_shards::ThemeShardHost`]).
pub type AwayShards = std::sync::Arc<dyn Fn(Vec<u8>, Vec<(usize, Vec<u8>)>) -> Result<Vec<Vec<u8>>> + Send + Sync>;

/// A model's shards held where they are sampled: answers the driver's encoded requests.
pub trait ShardHost: Send {
    /// Answer the driver's `request` about shard `shard` (a start replaces what was held).
    fn answer(&mut self, shard: usize, common: &[u8], request: &[u8]) -> Result<Vec<u8>>;
}

/// The shards of one model a worker holds, each as the driver last left it, by the number the
/// driver sends them under.
pub(super) struct Held<S>(std::collections::BTreeMap<usize, S>);

impl<S> Default for Held<S> {
    fn default() -> Self {
        Held(Default::default())
    }
}

impl<S> Held<S> {
    /// Hold `state` as shard `shard` (what was held under that number is let go).
    pub(super) fn start(&mut self, shard: usize, state: S) {
        self.0.insert(shard, state);
    }

    /// Shard `shard` of the model `what`, or an error if it is not held here.
    pub(super) fn get(&mut self, shard: usize, what: &str) -> Result<&mut S> {
        self.0
            .get_mut(&shard)
            .ok_or_else(|| Error::Shards(format!("{what} shard {shard} is not held here (was its worker restarted?)")))
    }

    /// Let shard `shard` go, handing back what it held.
    pub(super) fn finish(&mut self, shard: usize, what: &str) -> Result<S> {
        self.get(shard, what)?;
        Ok(self.0.remove(&shard).expect("held"))
    }
}

/// The error of a request whose common part is of another kind (a start's with a sweep's).
pub(super) fn mismatched(what: &str, shard: usize) -> Error {
    Error::Shards(format!("{what} shard {shard}: a request that does not match its common part"))
}

/// Times work away starts again from the state it began from after a shard is lost.
const RETRIES: usize = 2;

/// Run `attempt` on `state`; should it fail (a shard was lost), put back `state` as it was
/// (`restore`) and try again, at most [`RETRIES`] times. `what` names the model in the note
/// printed, `from` the sweep it starts again from.
pub(super) fn retried<S>(
    what: &str,
    from: usize,
    state: &mut S,
    restore: impl Fn(&mut S),
    mut attempt: impl FnMut(&mut S) -> Result<()>,
) -> Result<()> {
    let mut failures = 0;
    loop {
        match attempt(state) {
            Ok(()) => return Ok(()),
            Err(error) if failures < RETRIES => {
                failures += 1;
                // Said even under --quiet: the run took longer than it should have, and why.
                let said = error.to_string();
                let first_line = said.lines().next().unwrap_or_default();
                eprintln!("[themeshift] note: {what}: {first_line}; starting its shards again from sweep {from}");
                restore(state);
            }
            Err(error) => return Err(error),
        }
    }
}

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

/// Ask every shard (`requests`) with `common`; the answers decoded, in the order asked. `what`
/// names the model's shards in errors.
pub(super) fn ask<C: Serialize, A: serde::de::DeserializeOwned>(
    away: &AwayShards,
    what: &str,
    common: &C,
    requests: Vec<(usize, Vec<u8>)>,
) -> Result<Vec<A>> {
    let asked = requests.len();
    let answers = away(encode(common, what)?, requests)?;
    if answers.len() != asked {
        return Err(Error::Shards(format!("the {what} shards sent {} answers for {asked} requests", answers.len())));
    }
    answers.iter().map(|bytes| decode(bytes, what)).collect()
}

/// The error of a shard that answered another request than the one asked.
pub(super) fn unexpected(what: &str) -> Error {
    Error::Shards(format!("a {what} shard answered another request than the one asked"))
}

pub(super) fn encode<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>> {
    crate::shards::encode(value, &format!("a {what} shard's message"))
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    crate::shards::decode(bytes, &format!("a {what} shard's message"))
}

/// Numbers sent as one run of little-endian bytes (MessagePack's bin), not one by one: a shard's
/// rows of the counts are millions of them every sweep.
pub(super) struct Packed<T>(pub(super) Vec<T>);

pub(super) trait Plain: Copy {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(bytes: &[u8]) -> Self;
}

macro_rules! plain {
    ($($t:ty),*) => {$(
        impl Plain for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("SIZE bytes"))
            }
        }
    )*};
}
plain!(u8, u16, u32, f32, f64);

impl<T: Plain> Serialize for Packed<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(self.0.len() * T::SIZE);
        self.0.iter().for_each(|&x| x.put(&mut bytes));
        serializer.serialize_bytes(&bytes)
    }
}

impl<'de, T: Plain> Deserialize<'de> for Packed<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Bytes<T>(std::marker::PhantomData<T>);
        impl<T: Plain> serde::de::Visitor<'_> for Bytes<T> {
            type Value = Packed<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a run of {}-byte numbers", T::SIZE)
            }
            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> std::result::Result<Packed<T>, E> {
                if !bytes.len().is_multiple_of(T::SIZE) {
                    return Err(E::custom(format!("{} bytes are not whole {}-byte numbers", bytes.len(), T::SIZE)));
                }
                Ok(Packed(bytes.chunks_exact(T::SIZE).map(T::get).collect()))
            }
        }
        deserializer.deserialize_bytes(Bytes(std::marker::PhantomData))
    }
}

/// Two hosts of `H`, as two workers would hold a model's shards (shard s on host s mod 2, every
/// message encoded), the second of which dies — losing what it held — on call `dies_on_call`.
#[cfg(test)]
pub(super) fn two_hosts<H: ShardHost + Default + 'static>(dies_on_call: Option<usize>) -> AwayShards {
    let hosts = std::sync::Mutex::new(([H::default(), H::default()], 0usize));
    std::sync::Arc::new(move |common, requests| {
        let mut held = hosts.lock().unwrap();
        held.1 += 1;
        if Some(held.1) == dies_on_call {
            held.0[1] = H::default();
            return Err(Error::Shards("a worker died".into()));
        }
        requests.into_iter().map(|(s, request)| held.0[s % 2].answer(s, &common, &request)).collect()
    })
}
