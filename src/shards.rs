//! What one shard's map hands back to the driver of a sharded run, and how it travels: the
//! shard's documents (read and normalized, without their texts) with their ingest account, their
//! duplicate fingerprints, and its tokens. The driver joins partials in shard-id order
//! ([`PartialJoin`], as they arrive), which gives exactly the corpus and tokens one process makes from
//! the same plan.
//!
//! The texts stay where the shard was read ([`ShardTexts`]): what needs words from them (evidence
//! sentences, raw counts of lost seeds) is a [`TextRequest`] to each shard concerned, answered
//! there; only `--keep-tokens` and the keywords of a tiny run bring texts to the driver. The
//! in-process run holds the texts the same way and answers the same requests itself.
//!
//! Partials, texts, requests and answers travel as MessagePack (compact, and readable from Python
//! with `msgpack`).

use serde::{Deserialize, Serialize};

use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::ingest::{CorpusJoin, ShardPlan};
use crate::normalize::Fingerprints;
use crate::segment::{Tokenized, TokensJoin};
use crate::topics::theme_model::substring_counts;
use crate::trends::evidence::{first_sentence_with, Sentence};
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

/// What the driver asks of one shard's texts. It is answered where the texts are (on a worker,
/// in a Ray run; [`answer_texts`]), so only the answer travels and the driver never holds a
/// shard's texts for a sentence or a count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum TextRequest {
    /// The texts of these documents (places in the shard), in that order.
    Texts(Vec<usize>),
    /// For each (document, words): the document's first sentence holding one of the words.
    Sentences(Vec<(usize, Vec<String>)>),
    /// How often each needle occurs in these documents, in all.
    Occurrences { docs: Vec<usize>, needles: Vec<String> },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum TextAnswer {
    Texts(Vec<String>),
    Sentences(Vec<Option<Sentence>>),
    Occurrences(Vec<u64>),
}

impl TextRequest {
    /// The answer from `texts`, the shard's texts in document order.
    pub fn answer(&self, texts: &[String]) -> Result<TextAnswer> {
        let text = |d: usize| {
            texts.get(d).map(String::as_str).ok_or_else(|| {
                Error::Config(format!(
                    "asked for document {d} of a shard that holds {} texts; were the workers running another \
                     themeshift version, or was the shard read again from changed input?",
                    texts.len()
                ))
            })
        };
        Ok(match self {
            TextRequest::Texts(docs) => {
                TextAnswer::Texts(docs.iter().map(|&d| text(d).map(str::to_string)).collect::<Result<_>>()?)
            }
            TextRequest::Sentences(wanted) => TextAnswer::Sentences(
                wanted
                    .iter()
                    .map(|(d, words)| {
                        let words: Vec<&str> = words.iter().map(String::as_str).collect();
                        Ok(first_sentence_with(text(*d)?, &words))
                    })
                    .collect::<Result<_>>()?,
            ),
            TextRequest::Occurrences { docs, needles } => {
                let texts: Vec<&str> = docs.iter().map(|&d| text(d)).collect::<Result<_>>()?;
                let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
                TextAnswer::Occurrences(substring_counts(&texts, &needles))
            }
        })
    }
}

/// A worker's side of a [`TextRequest`]: the shard's texts (as [`encode_texts`] made them) and
/// the request, both MessagePack; the answer, MessagePack.
pub fn answer_texts(texts: &[u8], request: &[u8]) -> Result<Vec<u8>> {
    let request: TextRequest =
        rmp_serde::from_slice(request).map_err(|e| Error::Config(format!("a text request does not decode ({e})")))?;
    let answer = request.answer(&decode_texts(texts)?)?;
    rmp_serde::to_vec(&answer).map_err(|e| Error::Config(format!("cannot encode a text answer: {e}")))
}

/// Sends encoded [`TextRequest`]s, each to its shard (by id), and returns their encoded answers
/// in the same order; the shards may answer side by side.
pub type AskShards = Box<dyn Fn(Vec<(usize, Vec<u8>)>) -> Result<Vec<Vec<u8>>> + Send + Sync>;

/// The texts of a run's documents, held apart from the documents: in this process, or with the
/// shards that read them, which answer what the run asks of them.
pub struct ShardTexts {
    /// The first document of each shard in the joined corpus, then the number of documents.
    starts: Vec<usize>,
    source: TextSource,
}

enum TextSource {
    Here(Vec<String>),
    Asked(AskShards),
}

impl ShardTexts {
    /// Texts held in this process, in document order (one shard, as far as asking goes).
    pub fn here(texts: Vec<String>) -> ShardTexts {
        ShardTexts { starts: vec![0, texts.len()], source: TextSource::Here(texts) }
    }

    /// Texts of shards with `documents[s]` documents each, asked of the shards by `ask`.
    pub fn asked(documents: &[usize], ask: AskShards) -> ShardTexts {
        let starts = std::iter::once(0)
            .chain(documents.iter().scan(0, |at, n| {
                *at += n;
                Some(*at)
            }))
            .collect();
        ShardTexts { starts, source: TextSource::Asked(ask) }
    }

    /// The texts of `docs` (indices into the joined corpus), in the order asked.
    pub fn texts_of(&self, docs: &[usize]) -> Result<Vec<String>> {
        let request = |places: &[(usize, usize)]| TextRequest::Texts(places.iter().map(|&(_, p)| p).collect());
        self.per_document(docs, request, |answer| match answer {
            TextAnswer::Texts(texts) => Some(texts),
            _ => None,
        })
    }

    /// For each (document, words): the document's first sentence holding one of the words.
    pub fn sentences(&self, wanted: &[(usize, Vec<String>)]) -> Result<Vec<Option<Sentence>>> {
        let docs: Vec<usize> = wanted.iter().map(|(d, _)| *d).collect();
        let request = |places: &[(usize, usize)]| {
            TextRequest::Sentences(places.iter().map(|&(i, p)| (p, wanted[i].1.clone())).collect())
        };
        self.per_document(&docs, request, |answer| match answer {
            TextAnswer::Sentences(sentences) => Some(sentences),
            _ => None,
        })
    }

    /// An answer per document of `docs`, in their order: each shard's answer (a list, one per
    /// document asked of it, taken from its [`TextAnswer`] by `take`) put back in place.
    fn per_document<T: Clone + Default>(
        &self,
        docs: &[usize],
        request: impl Fn(&[(usize, usize)]) -> TextRequest,
        take: impl Fn(TextAnswer) -> Option<Vec<T>>,
    ) -> Result<Vec<T>> {
        let mut out = vec![T::default(); docs.len()];
        for (places, answer) in self.ask_each(docs, request)? {
            let found = take(answer)
                .ok_or_else(|| Error::Config("a shard answered a text request with another kind of answer".into()))?;
            check_len(found.len(), places.len())?;
            places.iter().zip(found).for_each(|(&(i, _), value)| out[i] = value);
        }
        Ok(out)
    }

    /// How often each needle occurs in the texts of `docs`, in all.
    pub fn occurrences(&self, docs: &[usize], needles: &[String]) -> Result<Vec<u64>> {
        let request = |places: &[(usize, usize)]| TextRequest::Occurrences {
            docs: places.iter().map(|&(_, p)| p).collect(),
            needles: needles.to_vec(),
        };
        let mut total = vec![0; needles.len()];
        for (_, answer) in self.ask_each(docs, request)? {
            let TextAnswer::Occurrences(counts) = answer else {
                return Err(Error::Config("a shard answered a text request with another kind of answer".into()));
            };
            check_len(counts.len(), needles.len())?;
            total.iter_mut().zip(counts).for_each(|(all, n)| *all += n);
        }
        Ok(total)
    }

    /// One request to each shard holding one of `docs`, made by `request` from that shard's
    /// (index in `docs`, place in the shard) pairs; the answers beside those pairs, in shard order.
    fn ask_each(
        &self,
        docs: &[usize],
        request: impl Fn(&[(usize, usize)]) -> TextRequest,
    ) -> Result<Vec<(Places, TextAnswer)>> {
        let shard_of = |d: usize| self.starts.partition_point(|&start| start <= d) - 1;
        let mut by_shard: std::collections::BTreeMap<usize, Places> = Default::default();
        for (i, &d) in docs.iter().enumerate() {
            let shard = shard_of(d);
            by_shard.entry(shard).or_default().push((i, d - self.starts[shard]));
        }
        let (shards, places): (Vec<usize>, Vec<Places>) = by_shard.into_iter().unzip();
        let requests: Vec<TextRequest> = places.iter().map(|p| request(p)).collect();
        let answers = match &self.source {
            TextSource::Here(texts) => requests.iter().map(|r| r.answer(texts)).collect::<Result<Vec<_>>>()?,
            TextSource::Asked(ask) => {
                let encoded = shards
                    .iter()
                    .zip(&requests)
                    .map(|(&s, r)| {
                        Ok((
                            s,
                            rmp_serde::to_vec(r)
                                .map_err(|e| Error::Config(format!("cannot encode a text request: {e}")))?,
                        ))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let answers = ask(encoded)?;
                check_len(answers.len(), shards.len())?;
                answers
                    .iter()
                    .zip(&shards)
                    .map(|(bytes, s)| {
                        rmp_serde::from_slice(bytes)
                            .map_err(|e| Error::Config(format!("shard {s}'s answer does not decode ({e})")))
                    })
                    .collect::<Result<Vec<_>>>()?
            }
        };
        Ok(places.into_iter().zip(answers).collect())
    }
}

/// Of the documents asked of one shard: (index among those asked, place in the shard).
type Places = Vec<(usize, usize)>;

fn check_len(got: usize, asked: usize) -> Result<()> {
    if got == asked {
        Ok(())
    } else {
        Err(Error::Config(format!("a shard sent {got} answers for {asked} questions")))
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

    /// Texts asked of the shards, each request answered through its bytes as a worker would,
    /// with a log of the shards asked.
    fn asked(texts: Vec<Vec<String>>, counts: &[usize]) -> (ShardTexts, std::sync::Arc<std::sync::Mutex<Vec<usize>>>) {
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = log.clone();
        let ask: AskShards = Box::new(move |requests| {
            requests
                .into_iter()
                .map(|(s, request)| {
                    seen.lock().unwrap().push(s);
                    answer_texts(&encode_texts(&texts[s])?, &request)
                })
                .collect()
        });
        (ShardTexts::asked(counts, ask), log)
    }

    #[test]
    fn answers_from_the_shards_are_the_answers_from_texts_held_here() {
        let (texts, counts) = shards();
        let here = ShardTexts::here(texts.concat());
        let (asked, log) = asked(texts, &counts);
        let docs = [4, 0, 3, 0];
        assert_eq!(asked.texts_of(&docs).unwrap(), here.texts_of(&docs).unwrap());
        assert_eq!(asked.texts_of(&docs).unwrap(), ["戊", "甲", "丁", "甲"]);
        // Only the shards holding an asked document were asked, each once per question.
        assert_eq!(*log.lock().unwrap(), [0, 2, 0, 2]);
        let wanted: Vec<(usize, Vec<String>)> =
            vec![(3, vec!["丁".into()]), (1, vec!["无".into()]), (0, vec!["乙".into(), "甲".into()])];
        let sentences = asked.sentences(&wanted).unwrap();
        assert_eq!(sentences, here.sentences(&wanted).unwrap());
        assert_eq!(
            sentences.iter().map(|s| s.as_ref().map(|s| s.term.as_str())).collect::<Vec<_>>(),
            [Some("丁"), None, Some("甲")]
        );
        let needles = ["甲".to_string(), "戊".to_string(), "己".to_string()];
        assert_eq!(asked.occurrences(&[0, 1, 4], &needles).unwrap(), [1, 1, 0]);
        assert_eq!(asked.occurrences(&[1, 2, 3], &needles).unwrap(), here.occurrences(&[1, 2, 3], &needles).unwrap());
    }

    #[test]
    fn a_shard_that_lacks_an_asked_document_or_answers_short_is_an_error() {
        let (_, counts) = shards();
        let (fewer, _) = asked(vec![vec!["甲".into()], vec![], vec![]], &counts);
        let error = fewer.texts_of(&[1]).unwrap_err().to_string();
        assert!(error.contains("asked for document 1 of a shard that holds 1 texts"), "{error}");
        let short = ShardTexts::asked(&counts, Box::new(|_| Ok(Vec::new())));
        let error = short.texts_of(&[0]).unwrap_err().to_string();
        assert!(error.contains("sent 0 answers for 1 questions"), "{error}");
    }
}
