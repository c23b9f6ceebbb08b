//! What one shard's map hands back to the driver of a sharded run, and how the driver asks the
//! shards for the rest. The partial holds the shard's documents (read and normalized, without
//! their texts) with their ingest account, their duplicate fingerprints and token counts; the
//! driver joins partials in shard-id order ([`PartialJoin`], as they arrive), which gives exactly
//! the corpus one process makes from the same plan.
//!
//! The texts and the tokens stay where the shard was read ([`ShardTexts`], [`ShardTokens`]):
//! what needs them (terms' frequencies, count rows, theme hits, evidence sentences, raw counts of
//! lost seeds) is a request to each shard concerned, answered there, and only the answer travels
//! (the merge of frequencies is exact: integer sums). Only `--keep-tokens` and the keywords of a
//! tiny run bring texts or tokens to the driver. The in-process run holds both the same way and
//! answers the same requests itself.
//!
//! Partials, texts, tokens, requests and answers travel as MessagePack (compact, and readable from
//! Python with `msgpack`).

pub mod away;
pub mod rows;
mod texts;
mod tokens;

pub use texts::{answer_texts, encode_texts, ShardTexts, TextAnswer, TextRequest};
pub use tokens::{
    answer_tokens, encode_tokens, AskedDocs, AskedRows, Rows, RowsWanted, ShardRows, ShardTokens, TokenAnswer,
    TokenQuestion,
};

use serde::{Deserialize, Serialize};

use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::ingest::{CorpusJoin, ShardPlan};
use crate::normalize::Fingerprints;
use crate::write::manifest::peak_rss_mib;

/// Give the memory a finished shard freed back to the system: a long-lived worker would otherwise
/// keep each task's peak in its allocator's free lists and grow from task to task.
pub fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// In a worker (and the driver), every buffer of 4 MiB or more gets its own mapping, returned to the system when
/// freed. glibc would otherwise raise its threshold after the first large free (up to 32 MiB), and
/// the next shard's partial, texts and tokens (tens of MB each) would come from the heap and stay
/// there once freed: a worker grew by ~40 MB over its first shards (measured at 8×).
fn large_buffers_mapped() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: mallopt only changes the allocator's policy for later allocations.
        ONCE.call_once(|| unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        });
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ShardPartial {
    pub id: usize,
    pub bytes: u64,
    /// Its documents, their texts taken out.
    pub corpus: Corpus,
    pub fingerprints: Fingerprints,
    /// Tokens of each document (the tokens themselves stay with the shard).
    pub n_tokens: Vec<u32>,
    pub seconds: f64,
    /// The worker's resident memory when the shard began (the process, and what earlier tasks
    /// left: allocator caches, pages of Ray's shared object store it has touched).
    pub start_rss_mib: f64,
    /// The worker's peak RSS during this shard's map.
    pub peak_rss_mib: f64,
    /// Of the RSS at the start, the pages of Ray's shared object store the worker has mapped: the
    /// objects it made for earlier shards (their texts stay in the store until the run ends). They
    /// are the store's memory, not the worker's own; its own peak is `peak_rss_mib - shared_mib`.
    pub shared_mib: f64,
    pub worker: String,
}

/// The worker's memory at the start of a shard's map: (RSS, of which shared memory); the peak is
/// reset, so the partial reports this shard's own.
pub fn begin_shard() -> (f64, f64) {
    use crate::write::manifest::{process_status_mib, reset_peak_rss};
    large_buffers_mapped();
    // What the last task's answers left freed in the heap (their bytes are let go after Ray has
    // stored them, after that task's own trim) goes back before this shard is measured.
    release_memory();
    reset_peak_rss();
    (process_status_mib("VmRSS:"), process_status_mib("RssShmem:"))
}

impl ShardPartial {
    /// `corpus` must have had its texts taken.
    pub fn new(
        id: usize,
        bytes: u64,
        (corpus, fingerprints, n_tokens): (Corpus, Fingerprints, Vec<u32>),
        seconds: f64,
        (start_rss_mib, shared_mib): (f64, f64),
    ) -> ShardPartial {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let worker = format!("{}:{}", host.trim(), std::process::id());
        let peak_rss_mib = peak_rss_mib();
        ShardPartial {
            id,
            bytes,
            corpus,
            fingerprints,
            n_tokens,
            seconds,
            start_rss_mib,
            peak_rss_mib,
            shared_mib,
            worker,
        }
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        encode(self, &format!("shard {}'s partial", self.id))
    }

    pub fn decode(bytes: &[u8]) -> Result<ShardPartial> {
        decode(bytes, "a shard partial")
    }

    /// The manifest's line for this shard.
    pub fn stats(&self) -> serde_json::Value {
        serde_json::json!({
            "shard": self.id,
            "bytes": self.bytes,
            "documents": self.corpus.documents.len(),
            "seconds": self.seconds,
            "start_rss_mib": self.start_rss_mib,
            "peak_rss_mib": self.peak_rss_mib,
            "shared_mib": self.shared_mib,
            "worker": self.worker,
        })
    }
}

/// The driver's join of a sharded run's partials: each is folded into the corpus, fingerprints
/// and token counts of the shards before it as soon as those have come (one that arrives early waits),
/// and let go. The driver so holds the join and the early arrivals, never every partial beside
/// their join (at 8× the xwlb corpus that was 1.2 GB of partials and 2.1 GB at the join's peak).
pub struct PartialJoin {
    shards: usize,
    next: usize,
    waiting: std::collections::BTreeMap<usize, ShardPartial>,
    corpus: CorpusJoin,
    fingerprints: Fingerprints,
    n_tokens: Vec<u32>,
    /// Documents of each shard joined so far.
    documents: Vec<usize>,
    workers: Vec<serde_json::Value>,
}

/// What the join of every shard's partial gives the finish of a sharded run.
pub struct Joined {
    pub corpus: Corpus,
    pub fingerprints: Fingerprints,
    /// Tokens of each document.
    pub n_tokens: Vec<u32>,
    /// Documents per shard, in shard order.
    pub documents: Vec<usize>,
    /// Each shard's line for the manifest ([`ShardPartial::stats`]).
    pub workers: Vec<serde_json::Value>,
}

impl PartialJoin {
    pub fn new(plan: &ShardPlan) -> PartialJoin {
        // The driver reads partials and answers of tens of MB each, and lets each go at once.
        large_buffers_mapped();
        PartialJoin {
            shards: plan.shards.len(),
            next: 0,
            waiting: Default::default(),
            corpus: CorpusJoin::new(plan),
            fingerprints: Fingerprints::default(),
            n_tokens: Vec::new(),
            documents: Vec::new(),
            workers: Vec::new(),
        }
    }

    /// One shard's partial, in any order; a shard outside the plan, or one given twice, is an error.
    pub fn add(&mut self, partial: ShardPartial) -> Result<()> {
        let id = partial.id;
        if id >= self.shards || id < self.next || self.waiting.contains_key(&id) {
            return Err(Error::Config(format!(
                "shard {id}: not a shard of the plan (0..{}) or given twice",
                self.shards
            )));
        }
        self.waiting.insert(id, partial);
        while let Some(p) = self.waiting.remove(&self.next) {
            self.workers.push(p.stats());
            self.documents.push(p.corpus.documents.len());
            self.corpus.add(p.corpus);
            self.fingerprints.append(p.fingerprints);
            self.n_tokens.extend(p.n_tokens);
            self.next += 1;
        }
        Ok(())
    }

    /// The joined shards; every shard of the plan must have come.
    pub fn finish(self) -> Result<Joined> {
        if self.next < self.shards {
            let missing: Vec<usize> = (self.next..self.shards).filter(|id| !self.waiting.contains_key(id)).collect();
            return Err(Error::Config(format!(
                "a sharded run needs one partial per shard of the plan (0..{}); missing shards {missing:?}",
                self.shards
            )));
        }
        Ok(Joined {
            corpus: self.corpus.finish(),
            fingerprints: self.fingerprints,
            n_tokens: self.n_tokens,
            documents: self.documents,
            workers: self.workers,
        })
    }
}

/// The analysed rows grouped by the shard of the plan that holds their documents: the row shards
/// every sum over the rows of the matrix models (LSA + k-means) is taken by, in this process and
/// on workers alike, so a worker that makes one shard's rows from its tokens computes exactly
/// that shard's part. Shards holding no analysed row are left out.
#[derive(Debug, Clone, PartialEq)]
pub struct RowShards {
    /// The plan's id of each row shard.
    pub ids: Vec<usize>,
    /// Row bounds: row shard `s` is rows `bounds[s]..bounds[s + 1]`.
    pub bounds: Vec<usize>,
    /// Per row shard, its rows' places among its plan shard's documents.
    pub places: Vec<Vec<usize>>,
}

impl RowShards {
    /// `rows` (ascending indices into the joined corpus) by the shard holding each, the plan's
    /// shards having `documents[s]` documents each. No row at all: one empty shard.
    pub fn of(rows: &[usize], documents: &[usize]) -> RowShards {
        let mut shards = RowShards { ids: Vec::new(), bounds: vec![0], places: Vec::new() };
        let mut start = 0;
        for (id, &n) in documents.iter().enumerate() {
            let (first, end) = (*shards.bounds.last().unwrap(), rows.partition_point(|&d| d < start + n));
            if end > first {
                shards.ids.push(id);
                shards.bounds.push(end);
                shards.places.push(rows[first..end].iter().map(|&d| d - start).collect());
            }
            start += n;
        }
        assert_eq!(*shards.bounds.last().unwrap(), rows.len(), "every row in a shard of the plan");
        if shards.ids.is_empty() {
            shards = RowShards { ids: vec![0], bounds: vec![0, 0], places: vec![Vec::new()] };
        }
        shards
    }
}

/// What a shard holds apart from its partial, and is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    Texts,
    Tokens,
    /// The shards of an LDA chain sampled away from the driver ([`crate::topics::lda_shards`]):
    /// held by long-lived workers, not by a shard of the plan.
    Lda,
    /// The row shards of NMF's documents' side, likewise ([`crate::topics::nmf_shards`]).
    Nmf,
    /// LSA + k-means's, likewise ([`crate::cluster::lsa_shards`]).
    Lsa,
    /// The theme model's, likewise ([`crate::topics::keyatm_shards`]).
    ThemeModel,
}

impl Holding {
    /// As the Python driver names the objects it keeps for each shard.
    pub fn name(self) -> &'static str {
        match self {
            Holding::Texts => "texts",
            Holding::Tokens => "tokens",
            Holding::Lda => "lda",
            Holding::Nmf => "nmf",
            Holding::Lsa => "lsa",
            Holding::ThemeModel => "theme_model",
        }
    }
}

/// Encoded answers, one per request and in the order asked. An iterator, so that the driver can
/// fold each answer into what it builds (a count matrix) and let it go before the next comes.
pub type Answers = Box<dyn Iterator<Item = Result<Vec<u8>>>>;

/// Sends requests about what the shards hold: `common` (encoded, the same for every shard, so it
/// travels once however many shards there are) and, per shard (by id), its own encoded request;
/// the shards may answer side by side. A shard answers with [`answer_texts`] or [`answer_tokens`]
/// (by the holding) on what it holds, `common` and its request.
pub type AskShards = std::sync::Arc<dyn Fn(Holding, Vec<u8>, Vec<(usize, Vec<u8>)>) -> Result<Answers> + Send + Sync>;

/// Where the documents of the joined corpus are, and how to ask the shards about them; or, for a
/// run that holds everything in this process, one shard that is answered here.
#[derive(Clone)]
struct Shards {
    /// The first document of each shard in the joined corpus, then the number of documents.
    starts: Vec<usize>,
    ask: Option<AskShards>,
}

/// Of the documents asked of one shard: (index among those asked, place in the shard).
type Places = Vec<(usize, usize)>;

impl Shards {
    fn here(n_docs: usize) -> Shards {
        Shards { starts: vec![0, n_docs], ask: None }
    }

    fn asked(documents: &[usize], ask: AskShards) -> Shards {
        let starts = std::iter::once(0)
            .chain(documents.iter().scan(0, |at, n| {
                *at += n;
                Some(*at)
            }))
            .collect();
        Shards { starts, ask: Some(ask) }
    }

    /// `docs` (indices into the joined corpus) by the shard holding each, shards in order.
    fn places(&self, docs: &[usize]) -> Vec<(usize, Places)> {
        let shard_of = |d: usize| self.starts.partition_point(|&start| start <= d) - 1;
        let mut by_shard: std::collections::BTreeMap<usize, Places> = Default::default();
        for (i, &d) in docs.iter().enumerate() {
            let shard = shard_of(d);
            by_shard.entry(shard).or_default().push((i, d - self.starts[shard]));
        }
        by_shard.into_iter().collect()
    }

    /// Every shard of the run, each with no document named.
    fn every_shard(&self) -> Vec<(usize, Places)> {
        (0..self.starts.len() - 1).map(|s| (s, Places::new())).collect()
    }

    /// One request per shard of `places` (made by `request` from its places), answered here by
    /// `here` or asked of the shards; `take` gets each shard's places and answer, in shard order.
    fn each<C, Q, A>(
        &self,
        holding: Holding,
        common: &C,
        places: Vec<(usize, Places)>,
        request: impl Fn(&Places) -> Q,
        here: impl Fn(&C, &Q) -> Result<A>,
        mut take: impl FnMut(Places, A) -> Result<()>,
    ) -> Result<()>
    where
        C: Serialize,
        Q: Serialize,
        A: serde::de::DeserializeOwned,
    {
        let Some(ask) = &self.ask else {
            for (_, p) in places {
                let answer = here(common, &request(&p))?;
                take(p, answer)?;
            }
            return Ok(());
        };
        let what = holding.name();
        let about = format!("a request about a shard's {what}");
        let requests =
            places.iter().map(|(s, p)| Ok((*s, encode(&request(p), &about)?))).collect::<Result<Vec<_>>>()?;
        let mut answers = ask(holding, encode(common, &about)?, requests)?;
        for (s, p) in places {
            let bytes = answers
                .next()
                .ok_or_else(|| Error::Config(format!("shard {s} sent no answer to a request about its {what}")))??;
            take(p, decode(&bytes, &format!("shard {s}'s answer about its {what}"))?)?;
        }
        if answers.next().is_some() {
            return Err(Error::Config(format!("the shards sent more answers about their {what} than were asked")));
        }
        Ok(())
    }
}

/// A MessagePack value a shard was sent or holds, decoded; `what` names it in the error.
/// A message between the driver and its workers, or an error naming `what` it is.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    rmp_serde::from_slice(bytes).map_err(|e| {
        Error::Shards(format!("{what} does not decode ({e}); were the workers running another themeshift version?"))
    })
}

pub(crate) fn encode<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>> {
    rmp_serde::to_vec(value).map_err(|e| Error::Shards(format!("cannot encode {what}: {e}")))
}

fn check_len(got: usize, asked: usize) -> Result<()> {
    if got == asked {
        Ok(())
    } else {
        Err(Error::Shards(format!("a shard sent {got} answers for {asked} questions")))
    }
}

#[cfg(test)]
mod tests {
    use super::RowShards;

    /// Rows fall in the shard of the plan holding their document; a shard with no row is left
    /// out, and each row's place is its document's place in its shard.
    #[test]
    fn row_shards_follow_the_plan() {
        // Shards of 3, 2, 0 and 4 documents; documents 1, 3, 4 and 6 are not analysed.
        let shards = RowShards::of(&[0, 2, 5, 7, 8], &[3, 2, 0, 4]);
        assert_eq!(shards.ids, [0, 3]);
        assert_eq!(shards.bounds, [0, 2, 5]);
        assert_eq!(shards.places, [vec![0, 2], vec![0, 2, 3]]);
        // No analysed row at all: one empty shard, so a sum over the rows still has one part.
        assert_eq!(RowShards::of(&[], &[2, 2]).bounds, [0, 0]);
    }
}
