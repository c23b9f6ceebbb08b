//! How the driver works with shards held by long-lived workers (Ray actors) from step to step —
//! the samplers' shards ([`crate::topics::lda_shards`], [`crate::topics::keyatm_shards`]) and the
//! rows of the matrix models ([`crate::topics::nmf_shards`]): how it asks them, how a lost shard's
//! work starts again, and how large arrays travel.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Answers;
use crate::error::{Error, Result};

/// Sends `common` (the same for every shard) and one request per shard (by index) to where the
/// shards are sampled, and returns their answers in the order asked (each given by the model's
/// shard host, e.g. [`crate::topics::lda_shards::LdaShardHost`]): an iterator, so that the driver
/// can add each shard's part into a sum and let it go before the next comes (a part of an Xᵀ
/// product is terms × k; a run holding every shard's at once held 1.9 GB at 8× the xwlb corpus).
pub type AwayShards = std::sync::Arc<dyn Fn(Vec<u8>, Vec<(usize, Vec<u8>)>) -> Result<Answers> + Send + Sync>;

/// Fetches a shard's tokens, as [`crate::shards::encode_tokens`] made them.
pub type FetchTokens<'a> = dyn Fn() -> Result<Vec<u8>> + 'a;

/// A model's shards held where they are sampled: answers the driver's encoded requests.
pub trait ShardHost: Send {
    /// Answer the driver's `request` about shard `shard` (a start replaces what was held).
    /// `tokens` fetches the shard's tokens for a model whose shards are the plan's (LSA's, NMF's), where a request makes the shard's rows
    /// from them; the samplers never call it.
    fn answer(&mut self, shard: usize, common: &[u8], request: &[u8], tokens: &FetchTokens) -> Result<Vec<u8>>;
}

/// Where a shard's host finds no tokens to fetch: a model whose shards are not the plan's.
pub fn no_tokens() -> Result<Vec<u8>> {
    Err(Error::Shards("this worker holds no shard's tokens to make rows from".into()))
}

/// The shards of one model a worker holds, each as the driver last left it, by the number the
/// driver sends them under.
pub struct Held<S>(std::collections::BTreeMap<usize, S>);

impl<S> Default for Held<S> {
    fn default() -> Self {
        Held(Default::default())
    }
}

impl<S> Held<S> {
    /// Hold `state` as shard `shard` (what was held under that number is let go).
    pub fn start(&mut self, shard: usize, state: S) {
        self.0.insert(shard, state);
    }

    /// Shard `shard` of the model `what`, or an error if it is not held here.
    pub fn get(&mut self, shard: usize, what: &str) -> Result<&mut S> {
        self.0
            .get_mut(&shard)
            .ok_or_else(|| Error::Shards(format!("{what} shard {shard} is not held here (was its worker restarted?)")))
    }

    /// Let shard `shard` go, handing back what it held.
    pub fn finish(&mut self, shard: usize, what: &str) -> Result<S> {
        self.get(shard, what)?;
        Ok(self.0.remove(&shard).expect("held"))
    }
}

/// The error of a request whose common part is of another kind (a start's with a sweep's).
pub fn mismatched(what: &str, shard: usize) -> Error {
    Error::Shards(format!("{what} shard {shard}: a request that does not match its common part"))
}

/// Times work away starts again from the state it began from after a shard is lost.
const RETRIES: usize = 2;

/// Run `attempt` on `state`; should it fail (a shard was lost), put back `state` as it was
/// (`restore`) and try again, at most [`RETRIES`] times. `what` names the model in the note
/// printed, `from` the sweep it starts again from.
pub fn retried<S>(
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

/// `fit` (all of a model's work on its shards, from its start), run again from the start should a
/// shard be lost ([`retried`], nothing to put back): its value.
pub fn retried_from_start<T>(what: &str, mut fit: impl FnMut() -> Result<T>) -> Result<T> {
    let mut fitted = None;
    retried(
        what,
        0,
        &mut (),
        |_| {},
        |_| {
            fitted = Some(fit()?);
            Ok(())
        },
    )?;
    Ok(fitted.expect("a fit when retried succeeds"))
}

/// Ask every shard (`requests`) with `common`; the answers decoded, in the order asked. `what`
/// names the model's shards in errors.
pub fn ask<C: Serialize, A: serde::de::DeserializeOwned>(
    away: &AwayShards,
    what: &str,
    common: &C,
    requests: Vec<(usize, Vec<u8>)>,
) -> Result<Vec<A>> {
    fold(away, what, common, requests, Vec::new(), |mut all, _, answer| {
        all.push(answer);
        Ok(all)
    })
}

/// [`ask`], each answer decoded and folded into `total` by `add(total, its place among the
/// requests, answer)` as it comes, in the order asked: the driver holds one answer at a time.
pub fn fold<C: Serialize, A: serde::de::DeserializeOwned, T>(
    away: &AwayShards,
    what: &str,
    common: &C,
    requests: Vec<(usize, Vec<u8>)>,
    mut total: T,
    mut add: impl FnMut(T, usize, A) -> Result<T>,
) -> Result<T> {
    let asked = requests.len();
    let mut answered = 0;
    for bytes in away(encode(common, what)?, requests)? {
        if answered == asked {
            return Err(Error::Shards(format!("the {what} shards sent more answers than the {asked} requests")));
        }
        total = add(total, answered, decode(&bytes?, what)?)?;
        answered += 1;
    }
    if answered != asked {
        return Err(Error::Shards(format!("the {what} shards sent {answered} answers for {asked} requests")));
    }
    Ok(total)
}

/// The error of a shard that answered another request than the one asked.
pub fn unexpected(what: &str) -> Error {
    Error::Shards(format!("a {what} shard answered another request than the one asked"))
}

pub fn encode<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>> {
    crate::shards::encode(value, &format!("a {what} shard's message"))
}

pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    crate::shards::decode(bytes, &format!("a {what} shard's message"))
}

/// Numbers sent as one run of little-endian bytes (MessagePack's bin), not one by one: a shard's
/// rows of the counts are millions of them every sweep.
pub struct Packed<T>(pub Vec<T>);

pub trait Plain: Copy {
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
pub fn two_hosts<H: ShardHost + Default + 'static>(dies_on_call: Option<usize>) -> AwayShards {
    two_hosts_with_tokens::<H>(dies_on_call, Vec::new())
}

/// [`two_hosts`] whose shard s can fetch `tokens[s]` (encoded).
#[cfg(test)]
pub fn two_hosts_with_tokens<H: ShardHost + Default + 'static>(
    dies_on_call: Option<usize>,
    tokens: Vec<Vec<u8>>,
) -> AwayShards {
    let hosts = std::sync::Mutex::new(([H::default(), H::default()], 0usize));
    std::sync::Arc::new(move |common, requests| {
        let mut held = hosts.lock().unwrap();
        held.1 += 1;
        if Some(held.1) == dies_on_call {
            held.0[1] = H::default();
            return Err(Error::Shards("a worker died".into()));
        }
        let tokens = &tokens;
        let fetch = |s: usize| move || tokens.get(s).cloned().map_or_else(no_tokens, Ok);
        let answers: Vec<Vec<u8>> = requests
            .into_iter()
            .map(|(s, request)| held.0[s % 2].answer(s, &common, &request, &fetch(s)))
            .collect::<Result<_>>()?;
        Ok(Box::new(answers.into_iter().map(Ok)) as Answers)
    })
}
