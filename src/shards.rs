//! What one shard's map hands back to the driver of a sharded run, and how it travels: the
//! shard's documents (read and normalized, without their texts) with their ingest account, their
//! duplicate fingerprints, and its tokens. The driver joins partials in shard-id order
//! ([`PartialJoin`], as they arrive), which gives exactly the corpus and tokens one process makes from
//! the same plan.
//!
//! The texts stay where the shard was read ([`ShardTexts`]): the driver fetches one shard's texts
//! at a time, only for what needs words on a page (evidence sentences, raw counts of lost seeds,
//! `--keep-tokens`, the keywords of a tiny run). The in-process run holds them the same way.
//!
//! Partials and texts travel as MessagePack (compact, and readable from Python with `msgpack`).

use serde::{Deserialize, Serialize};

use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::ingest::{CorpusJoin, ShardPlan};
use crate::normalize::Fingerprints;
use crate::segment::{Tokenized, TokensJoin};
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

#[derive(Debug, Serialize, Deserialize)]
pub struct ShardPartial {
    pub id: usize,
    pub bytes: u64,
    /// Its documents, their texts taken out.
    pub corpus: Corpus,
    pub fingerprints: Fingerprints,
    pub tokenized: Tokenized,
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
    reset_peak_rss();
    (process_status_mib("VmRSS:"), process_status_mib("RssShmem:"))
}

impl ShardPartial {
    /// `corpus` must have had its texts taken.
    pub fn new(
        id: usize,
        bytes: u64,
        (corpus, fingerprints, tokenized): (Corpus, Fingerprints, Tokenized),
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
            tokenized,
            seconds,
            start_rss_mib,
            peak_rss_mib,
            shared_mib,
            worker,
        }
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        rmp_serde::to_vec(self).map_err(|e| Error::Config(format!("shard {}: cannot encode its partial: {e}", self.id)))
    }

    pub fn decode(bytes: &[u8]) -> Result<ShardPartial> {
        rmp_serde::from_slice(bytes).map_err(|e| {
            Error::Config(format!(
                "a shard partial does not decode ({e}); were the workers running another themeshift version?"
            ))
        })
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
/// and tokens of the shards before it as soon as those have come (one that arrives early waits),
/// and let go. The driver so holds the join and the early arrivals, never every partial beside
/// their join (at 8× the xwlb corpus that was 1.2 GB of partials and 2.1 GB at the join's peak).
pub struct PartialJoin {
    shards: usize,
    next: usize,
    waiting: std::collections::BTreeMap<usize, ShardPartial>,
    corpus: CorpusJoin,
    fingerprints: Fingerprints,
    tokens: TokensJoin,
    /// Documents of each shard joined so far.
    documents: Vec<usize>,
    workers: Vec<serde_json::Value>,
}

/// What the join of every shard's partial gives the finish of a sharded run.
pub struct Joined {
    pub corpus: Corpus,
    pub fingerprints: Fingerprints,
    pub tokenized: Tokenized,
    /// Documents per shard, in shard order.
    pub documents: Vec<usize>,
    /// Each shard's line for the manifest ([`ShardPartial::stats`]).
    pub workers: Vec<serde_json::Value>,
}

impl PartialJoin {
    pub fn new(plan: &ShardPlan) -> PartialJoin {
        PartialJoin {
            shards: plan.shards.len(),
            next: 0,
            waiting: Default::default(),
            corpus: CorpusJoin::new(plan),
            fingerprints: Fingerprints::default(),
            tokens: TokensJoin::default(),
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
            self.tokens.add(p.tokenized);
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
            tokenized: self.tokens.finish(),
            documents: self.documents,
            workers: self.workers,
        })
    }
}

/// One shard's texts as they travel: MessagePack of the list, in document order.
pub fn encode_texts(texts: &[String]) -> Result<Vec<u8>> {
    rmp_serde::to_vec(texts).map_err(|e| Error::Config(format!("cannot encode a shard's texts: {e}")))
}

pub fn decode_texts(bytes: &[u8]) -> Result<Vec<String>> {
    rmp_serde::from_slice(bytes).map_err(|e| Error::Config(format!("a shard's texts do not decode ({e})")))
}

/// Fetches one shard's texts (by shard id) from wherever the shard was read.
pub type FetchTexts = Box<dyn Fn(usize) -> Result<Vec<String>> + Send + Sync>;

/// The texts of a run's documents, held apart from the documents: in this process, or with the
/// shards that read them, fetched one shard at a time when asked for.
pub struct ShardTexts {
    /// The first document of each shard in the joined corpus, then the number of documents.
    starts: Vec<usize>,
    source: TextSource,
}

enum TextSource {
    Here(Vec<String>),
    Fetched(FetchTexts),
}

impl ShardTexts {
    /// Texts held in this process, in document order.
    pub fn here(texts: Vec<String>) -> ShardTexts {
        ShardTexts { starts: vec![0, texts.len()], source: TextSource::Here(texts) }
    }

    /// Texts of shards with `documents[s]` documents each, fetched by shard id.
    pub fn fetched(documents: &[usize], fetch: FetchTexts) -> ShardTexts {
        let starts = std::iter::once(0)
            .chain(documents.iter().scan(0, |at, n| {
                *at += n;
                Some(*at)
            }))
            .collect();
        ShardTexts { starts, source: TextSource::Fetched(fetch) }
    }

    /// One fetched shard's texts, checked against the number of its documents.
    fn fetch(&self, fetch: &FetchTexts, shard: usize) -> Result<Vec<String>> {
        let texts = fetch(shard)?;
        let expected = self.starts[shard + 1] - self.starts[shard];
        if texts.len() != expected {
            return Err(Error::Config(format!(
                "shard {shard} sent {} texts for its {expected} documents",
                texts.len()
            )));
        }
        Ok(texts)
    }

    /// Visit each shard's texts in order, with the index of its first document; a fetched
    /// shard's texts are let go before the next is fetched.
    pub fn for_each_shard(&self, mut visit: impl FnMut(usize, &[String])) -> Result<()> {
        match &self.source {
            TextSource::Here(texts) => visit(0, texts),
            TextSource::Fetched(fetch) => {
                for shard in 0..self.starts.len() - 1 {
                    visit(self.starts[shard], &self.fetch(fetch, shard)?);
                }
            }
        }
        Ok(())
    }

    /// The texts of `docs` (indices into the joined corpus), in the order asked; only the shards
    /// that hold one of them are fetched.
    pub fn texts_of(&self, docs: &[usize]) -> Result<Vec<String>> {
        let mut texts = vec![String::new(); docs.len()];
        self.visit_texts_of(docs, |i, text| texts[i] = text.to_string())?;
        Ok(texts)
    }

    /// `visit(i, text)` with the text of each `docs[i]` (indices into the joined corpus), a shard
    /// at a time: only the shards that hold one are fetched, each once and let go before the
    /// next, so what a caller keeps of each text (a sentence) is all that stays.
    pub fn visit_texts_of(&self, docs: &[usize], mut visit: impl FnMut(usize, &str)) -> Result<()> {
        let fetch = match &self.source {
            TextSource::Here(texts) => {
                docs.iter().enumerate().for_each(|(i, &d)| visit(i, &texts[d]));
                return Ok(());
            }
            TextSource::Fetched(fetch) => fetch,
        };
        let shard_of = |d: usize| self.starts.partition_point(|&start| start <= d) - 1;
        let mut asked: Vec<usize> = (0..docs.len()).collect();
        asked.sort_by_key(|&i| docs[i]);
        for wanted in asked.chunk_by(|&a, &b| shard_of(docs[a]) == shard_of(docs[b])) {
            let shard = shard_of(docs[wanted[0]]);
            let texts = self.fetch(fetch, shard)?;
            wanted.iter().for_each(|&i| visit(i, &texts[docs[i] - self.starts[shard]]));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shards() -> (Vec<Vec<String>>, Vec<usize>) {
        let texts: Vec<Vec<String>> =
            vec![vec!["甲".into(), "乙".into()], vec![], vec!["丙".into(), "丁".into(), "戊".into()]];
        let counts = texts.iter().map(Vec::len).collect();
        (texts, counts)
    }

    #[test]
    fn fetched_texts_are_the_texts_held_here() {
        let (texts, counts) = shards();
        let all: Vec<String> = texts.concat();
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = asked.clone();
        let fetched = ShardTexts::fetched(
            &counts,
            Box::new(move |s| {
                log.lock().unwrap().push(s);
                decode_texts(&encode_texts(&texts[s])?)
            }),
        );
        let here = ShardTexts::here(all.clone());
        let docs = [4, 0, 3, 0];
        assert_eq!(fetched.texts_of(&docs).unwrap(), here.texts_of(&docs).unwrap());
        assert_eq!(fetched.texts_of(&docs).unwrap(), ["戊", "甲", "丁", "甲"]);
        // Only the shards holding an asked document were fetched, each once.
        assert_eq!(*asked.lock().unwrap(), [0, 2, 0, 2]);
        let mut seen = Vec::new();
        fetched
            .for_each_shard(|first, t| seen.extend(t.iter().enumerate().map(|(i, x)| (first + i, x.clone()))))
            .unwrap();
        assert_eq!(seen, all.into_iter().enumerate().collect::<Vec<_>>());
    }

    #[test]
    fn a_shard_sending_the_wrong_number_of_texts_is_an_error() {
        let (_, counts) = shards();
        let short = ShardTexts::fetched(&counts, Box::new(|_| Ok(vec!["甲".into()])));
        let error = short.texts_of(&[0]).unwrap_err().to_string();
        assert!(error.contains("shard 0 sent 1 texts for its 2 documents"), "{error}");
    }
}
