//! The tokens of a run's documents, held apart from the documents (in this process, or with the
//! shards that segmented them), and what a run asks of them: the terms' frequencies (merged into
//! the corpus's, which choose the vocabulary), then each analysed document's row — its counts
//! over the vocabulary and its theme hits — and, for the topic models' coherence, how often their
//! top words occur together.

use std::borrow::Cow;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{check_len, decode, encode, AskShards, Holding, Places, Shards};
use crate::cluster::cluster_term_counts;
use crate::error::{Error, Result};
use crate::segment::{Tokenized, TokensJoin};
use crate::topics::coherence::{Cooccurrence, NOT_RELEVANT};
use crate::trends::analysis::{best_rows, CountRows};
use crate::trends::evidence::best;
use crate::trends::themes::LexiconIndex;
use crate::trends::{RowFacts, SumsWanted, TermSums};
use crate::vectorize::{columns_of, count_rows, Csr, TermFrequencies};

/// One shard's tokens as they travel (MessagePack).
pub fn encode_tokens(tokenized: &Tokenized) -> Result<Vec<u8>> {
    encode(tokenized, "a shard's tokens")
}

/// What is asked of every shard's tokens alike (sent once, whatever the number of shards); each
/// shard is sent with it the documents it is asked about (places in the shard).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum TokenQuestion {
    /// The frequencies of all the shard's terms over the documents asked.
    Frequencies,
    /// The rows of the documents asked, in that order.
    Rows(RowsWanted),
    /// The co-occurrence counts of these words (index i is word i) over the documents asked.
    Cooccurrence(Vec<String>),
    /// All of the shard's tokens.
    Tokens,
    /// The trends' sums of the documents asked ([`AskedDocs`] gives their periods and keys), their
    /// rows counted over `vocabulary`.
    TermSums { vocabulary: Vec<String>, wanted: SumsWanted },
    /// For each (word, period) of `asked` (word i of `words`): of the documents asked in that
    /// period, the `top` with the most occurrences of the word, as (occurrences, index among the
    /// documents asked). Only these words are counted.
    TopRows { words: Vec<String>, asked: Vec<(usize, usize)>, top: usize },
    /// Each of `k` clusters' counts of the terms of `vocabulary` over the documents asked
    /// ([`AskedDocs::labels`]: their clusters), the clusters' rows laid end to end.
    ClusterTermCounts { vocabulary: Vec<String>, k: usize },
}

/// The documents a request asks one shard about (places in the shard) and, for the trends'
/// questions, each one's period and bootstrap key (else empty).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AskedDocs {
    pub docs: Vec<usize>,
    pub periods: Vec<Option<usize>>,
    pub keys: Vec<u64>,
    /// For [`TokenQuestion::ClusterTermCounts`], each document's cluster (else empty).
    #[serde(default)]
    pub labels: Vec<u32>,
}

/// What a document's row holds: its counts over `vocabulary` (sorted terms) and its hits of the
/// themes' lexicons.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RowsWanted {
    pub vocabulary: Vec<String>,
    pub lexicon: LexiconIndex,
}

#[derive(Clone, Serialize, Deserialize)]
pub enum TokenAnswer {
    Frequencies(TermFrequencies),
    Rows(ShardRows),
    Tokens(Tokenized),
    Cooccurrence(Cooccurrence),
    TermSums(TermSums),
    TopRows(Vec<Vec<(f64, usize)>>),
    ClusterTermCounts(Vec<u64>),
}

/// Rows of some documents, in the order asked: the count matrix's rows laid end to end (`lens`
/// entries each) and theme hits.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ShardRows {
    pub lens: Vec<u32>,
    pub columns: Vec<u32>,
    pub counts: Vec<u32>,
    pub hits: Vec<Vec<f64>>,
}

impl TokenQuestion {
    /// The answer from `tokenized` (a shard's tokens, or the whole corpus's) about its documents
    /// `docs`.
    /// (Owned tokens are handed back whole when all are asked for, not copied.)
    pub fn answer(&self, tokenized: Cow<'_, Tokenized>, asked: &AskedDocs) -> Result<TokenAnswer> {
        let docs = &asked.docs[..];
        if let Some(&d) = docs.iter().find(|&&d| d >= tokenized.n_docs()) {
            return Err(Error::Config(format!(
                "asked for the tokens of document {d} of a shard that holds {} documents; were the workers running \
                 another themeshift version, or was the shard read again from changed input?",
                tokenized.n_docs()
            )));
        }
        Ok(match self {
            TokenQuestion::Frequencies => TokenAnswer::Frequencies(TermFrequencies::of(&tokenized, docs)),
            TokenQuestion::Rows(wanted) => {
                let columns = columns_of(&tokenized.terms, &wanted.vocabulary);
                let counts = count_rows(&tokenized, docs, &columns, wanted.vocabulary.len());
                TokenAnswer::Rows(ShardRows {
                    lens: counts.indptr.windows(2).map(|w| (w[1] - w[0]) as u32).collect(),
                    columns: std::sync::Arc::unwrap_or_clone(counts.indices),
                    counts: counts.values,
                    hits: wanted.lexicon.hits(&tokenized, docs),
                })
            }
            TokenQuestion::Cooccurrence(words) => {
                let index_of = columns_of(&tokenized.terms, words);
                let mapped: Vec<Vec<u32>> = docs
                    .par_iter()
                    .map(|&d| tokenized.doc(d).iter().map(|&t| index_of[t as usize].unwrap_or(NOT_RELEVANT)).collect())
                    .collect();
                TokenAnswer::Cooccurrence(Cooccurrence::count(&mapped, words.len()))
            }
            TokenQuestion::Tokens => TokenAnswer::Tokens(tokenized.into_owned()),
            TokenQuestion::TermSums { vocabulary, wanted } => {
                check_len(asked.periods.len(), docs.len())?;
                check_len(asked.keys.len(), docs.len())?;
                let counts = count_rows(&tokenized, docs, &columns_of(&tokenized.terms, vocabulary), vocabulary.len());
                let tokens: Vec<u64> = docs.iter().map(|&d| tokenized.doc(d).len() as u64).collect();
                let facts = RowFacts { period: &asked.periods, tokens: &tokens, keys: &asked.keys };
                TokenAnswer::TermSums(TermSums::of(&counts, facts, wanted))
            }
            TokenQuestion::TopRows { words, asked: wanted, top } => {
                check_len(asked.periods.len(), docs.len())?;
                let counts = count_rows(&tokenized, docs, &columns_of(&tokenized.terms, words), words.len());
                TokenAnswer::TopRows(best_rows(&counts, wanted, &asked.periods, *top))
            }
            TokenQuestion::ClusterTermCounts { vocabulary, k } => {
                check_len(asked.labels.len(), docs.len())?;
                if let Some(&label) = asked.labels.iter().find(|&&l| l as usize >= *k) {
                    return Err(Error::Shards(format!("asked for cluster {label} of {k}")));
                }
                let counts = count_rows(&tokenized, docs, &columns_of(&tokenized.terms, vocabulary), vocabulary.len());
                TokenAnswer::ClusterTermCounts(cluster_term_counts(&counts, &asked.labels, *k).concat())
            }
        })
    }
}

/// A worker's side of a token request: the shard's tokens (as [`encode_tokens`] made them), the
/// [`TokenQuestion`] and the shard's documents asked about, all MessagePack; the answer,
/// MessagePack.
pub fn answer_tokens(tokens: &[u8], question: &[u8], docs: &[u8]) -> Result<Vec<u8>> {
    let question: TokenQuestion = decode(question, "a token request")?;
    let docs: AskedDocs = decode(docs, "a token request's documents")?;
    let answer = question.answer(Cow::Owned(decode(tokens, "a shard's tokens")?), &docs)?;
    encode(&answer, "a token answer")
}

/// The analysed documents' rows, gathered from the shards in document order.
pub struct Rows {
    pub counts: Csr<u32>,
    pub hits: Vec<Vec<f64>>,
}

/// The tokens of a run's documents: held in this process, or with the shards that segmented
/// them, which answer what the run asks of them.
pub struct ShardTokens {
    shards: Shards,
    here: Option<Tokenized>,
    /// Tokens of each document.
    n_tokens: Vec<u32>,
}

impl ShardTokens {
    /// Tokens held in this process (one shard, as far as asking goes).
    pub fn here(tokenized: Tokenized) -> ShardTokens {
        let n_tokens = tokenized.lengths();
        ShardTokens { shards: Shards::here(tokenized.n_docs()), here: Some(tokenized), n_tokens }
    }

    /// Tokens of shards with `documents[s]` documents each (`n_tokens` per document, all shards'
    /// documents in order), asked of the shards by `ask`.
    pub fn asked(documents: &[usize], n_tokens: Vec<u32>, ask: AskShards) -> ShardTokens {
        assert_eq!(documents.iter().sum::<usize>(), n_tokens.len(), "a token count per document");
        ShardTokens { shards: Shards::asked(documents, ask), here: None, n_tokens }
    }

    /// Whether the tokens are held in this process (else by the shards that made them).
    pub fn is_here(&self) -> bool {
        self.here.is_some()
    }

    /// Tokens of each document of the corpus.
    pub fn n_tokens(&self) -> &[u32] {
        &self.n_tokens
    }

    /// The frequencies of the corpus's terms over its documents `docs`: every shard's merged
    /// (every shard is asked, so every term of the corpus is listed, used by `docs` or not).
    pub fn frequencies(&self, docs: &[usize]) -> Result<TermFrequencies> {
        let mut places: std::collections::BTreeMap<usize, Places> = self.shards.every_shard().into_iter().collect();
        places.extend(self.shards.places(docs));
        let mut merged = TermFrequencies::default();
        self.ask(&TokenQuestion::Frequencies, places.into_iter().collect(), |_, answer| {
            let TokenAnswer::Frequencies(f) = answer else { return Err(other_kind()) };
            merged = std::mem::take(&mut merged).merge(f);
            Ok(())
        })?;
        Ok(merged)
    }

    /// The rows of documents `docs` (ascending), with `entries` stored counts in all (the
    /// vocabulary's document frequencies summed), so the matrix is laid out once.
    pub fn rows(&self, docs: &[usize], wanted: RowsWanted, entries: usize) -> Result<Rows> {
        assert!(docs.windows(2).all(|w| w[0] < w[1]), "rows are asked in document order");
        let n_cols = wanted.vocabulary.len();
        let mut all = ShardRows::default();
        let question = TokenQuestion::Rows(wanted);
        self.ask(&question, self.shards.places(docs), |places, answer| {
            let TokenAnswer::Rows(part) = answer else { return Err(other_kind()) };
            check_len(part.lens.len(), places.len())?;
            check_len(part.hits.len(), places.len())?;
            if all.lens.is_empty() {
                // The first (in process, the only) shard's rows are taken whole, not copied.
                all = part;
                all.columns.reserve_exact(entries.saturating_sub(all.columns.len()));
                all.counts.reserve_exact(entries.saturating_sub(all.counts.len()));
            } else {
                all.lens.extend(part.lens);
                all.columns.extend(part.columns);
                all.counts.extend(part.counts);
                all.hits.extend(part.hits);
            }
            Ok(())
        })?;
        check_len(all.lens.len(), docs.len())?;
        let mut indptr = Vec::with_capacity(docs.len() + 1);
        indptr.push(0);
        for &len in &all.lens {
            indptr.push(indptr.last().unwrap() + len as usize);
        }
        check_len(all.columns.len(), *indptr.last().unwrap())?;
        let counts =
            Csr { n_cols, indptr: indptr.into(), indices: std::sync::Arc::new(all.columns), values: all.counts };
        Ok(Rows { counts, hits: all.hits })
    }

    /// The co-occurrence counts of `words` (index i is word i) over documents `docs`: every
    /// shard's, added up (integers: the same whatever the order).
    pub fn cooccurrence(&self, docs: &[usize], words: Vec<String>) -> Result<Cooccurrence> {
        let mut all = Cooccurrence::empty(words.len());
        let r = words.len();
        self.ask(&TokenQuestion::Cooccurrence(words), self.shards.places(docs), |_, answer| {
            let TokenAnswer::Cooccurrence(part) = answer else { return Err(other_kind()) };
            if part.words() != r {
                return Err(Error::Shards(format!("a shard counted {} words for {r}", part.words())));
            }
            all = std::mem::replace(&mut all, Cooccurrence::empty(0)).merge(part);
            Ok(())
        })?;
        Ok(all)
    }

    /// Every document's tokens, as one process segmenting the whole corpus makes them.
    pub fn into_tokenized(self) -> Result<Tokenized> {
        if let Some(tokenized) = self.here {
            return Ok(tokenized);
        }
        let mut join = TokensJoin::default();
        self.ask(&TokenQuestion::Tokens, self.shards.every_shard(), |_, answer| {
            let TokenAnswer::Tokens(part) = answer else { return Err(other_kind()) };
            join.add(part);
            Ok(())
        })?;
        let tokenized = join.finish();
        if tokenized.n_docs() != self.n_tokens.len() {
            return Err(Error::Config(format!(
                "the shards sent the tokens of {} documents for a corpus of {}",
                tokenized.n_docs(),
                self.n_tokens.len()
            )));
        }
        Ok(tokenized)
    }

    fn ask(
        &self,
        question: &TokenQuestion,
        places: Vec<(usize, Places)>,
        take: impl FnMut(Places, TokenAnswer) -> Result<()>,
    ) -> Result<()> {
        let docs =
            |places: &Places| AskedDocs { docs: places.iter().map(|&(_, p)| p).collect(), ..AskedDocs::default() };
        self.ask_with(question, places, docs, take)
    }

    /// [`ShardTokens::ask`], each shard's request made by `request` from its places.
    fn ask_with(
        &self,
        question: &TokenQuestion,
        places: Vec<(usize, Places)>,
        request: impl Fn(&Places) -> AskedDocs,
        take: impl FnMut(Places, TokenAnswer) -> Result<()>,
    ) -> Result<()> {
        let here = |q: &TokenQuestion, asked: &AskedDocs| {
            q.answer(Cow::Borrowed(self.here.as_ref().expect("tokens held here are answered here")), asked)
        };
        self.shards.each(Holding::Tokens, question, places, request, here, take)
    }

    /// The count rows of documents `docs` (ascending) over `vocabulary`, left with the shards: each
    /// makes its rows from its tokens for what the trends ask of them.
    pub fn count_rows<'a>(&'a self, docs: &'a [usize], vocabulary: &'a [String]) -> AskedRows<'a> {
        AskedRows { tokens: self, docs, vocabulary }
    }

    /// Each of `k` clusters' counts of the terms of `vocabulary` over documents `docs` (`labels`:
    /// the cluster of each): every shard's, added up (integers: the same whatever the order).
    pub fn cluster_term_counts(
        &self,
        docs: &[usize],
        vocabulary: &[String],
        labels: &[u32],
        k: usize,
    ) -> Result<Vec<Vec<u64>>> {
        let question = TokenQuestion::ClusterTermCounts { vocabulary: vocabulary.to_vec(), k };
        let asked = |places: &Places| AskedDocs {
            docs: places.iter().map(|&(_, p)| p).collect(),
            labels: places.iter().map(|&(r, _)| labels[r]).collect(),
            ..AskedDocs::default()
        };
        let v = vocabulary.len();
        let mut total = vec![0u64; k * v];
        self.ask_with(&question, self.shards.places(docs), asked, |_, answer| {
            let TokenAnswer::ClusterTermCounts(part) = answer else { return Err(other_kind()) };
            check_len(part.len(), total.len())?;
            total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
            Ok(())
        })?;
        Ok(if v == 0 { vec![Vec::new(); k] } else { total.chunks(v).map(<[u64]>::to_vec).collect() })
    }
}

/// The count rows of a sharded run's analysed documents, asked of the shards ([`ShardTokens::count_rows`]).
pub struct AskedRows<'a> {
    tokens: &'a ShardTokens,
    /// The document of each row.
    docs: &'a [usize],
    vocabulary: &'a [String],
}

impl AskedRows<'_> {
    /// Each shard's request: its documents with their periods and keys (`keys` may be empty),
    /// both indexed by row as the places are.
    fn asked<'f>(period: &'f [Option<usize>], keys: &'f [u64]) -> impl Fn(&Places) -> AskedDocs + 'f {
        move |places: &Places| AskedDocs {
            docs: places.iter().map(|&(_, p)| p).collect(),
            periods: places.iter().map(|&(r, _)| period[r]).collect(),
            keys: if keys.is_empty() { Vec::new() } else { places.iter().map(|&(r, _)| keys[r]).collect() },
            labels: Vec::new(),
        }
    }
}

impl CountRows for AskedRows<'_> {
    fn term_sums(&self, facts: RowFacts, wanted: &SumsWanted) -> Result<TermSums> {
        let question = TokenQuestion::TermSums { vocabulary: self.vocabulary.to_vec(), wanted: wanted.clone() };
        let places = self.tokens.shards.places(self.docs);
        let mut merged = TermSums::default();
        self.tokens.ask_with(&question, places, Self::asked(facts.period, facts.keys), |_, answer| {
            let TokenAnswer::TermSums(sums) = answer else { return Err(other_kind()) };
            merged = std::mem::take(&mut merged).merge(sums);
            Ok(())
        })?;
        Ok(merged)
    }

    fn top_rows(
        &self,
        asked: &[(usize, usize)],
        period_of_row: &[Option<usize>],
        top: usize,
    ) -> Result<Vec<Vec<usize>>> {
        // Only the asked terms are counted, each as its place among them.
        let mut terms: Vec<usize> = asked.iter().map(|&(t, _)| t).collect();
        terms.sort_unstable();
        terms.dedup();
        let words = terms.iter().map(|&t| self.vocabulary[t].clone()).collect();
        let asked_words = asked.iter().map(|&(t, p)| (terms.binary_search(&t).expect("listed"), p)).collect();
        let question = TokenQuestion::TopRows { words, asked: asked_words, top };
        let places = self.tokens.shards.places(self.docs);
        let mut candidates: Vec<Vec<(f64, usize)>> = vec![Vec::new(); asked.len()];
        self.tokens.ask_with(&question, places, Self::asked(period_of_row, &[]), |places, answer| {
            let TokenAnswer::TopRows(found) = answer else { return Err(other_kind()) };
            check_len(found.len(), asked.len())?;
            for (all, found) in candidates.iter_mut().zip(found) {
                for (score, j) in found {
                    let &(row, _) = places
                        .get(j)
                        .ok_or_else(|| Error::Shards(format!("a shard named its document {j} of {}", places.len())))?;
                    all.push((score, row));
                }
            }
            Ok(())
        })?;
        Ok(candidates.into_iter().map(|c| best(c, top).into_iter().map(|(_, r)| r).collect()).collect())
    }
}

fn other_kind() -> Error {
    Error::Config("a shard answered a token request with another kind of answer".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trends::themes::Theme;

    /// Three shards (the middle one empty) and the corpus they make, segmented as one.
    fn corpus() -> (Vec<Tokenized>, Tokenized) {
        let lists =
            [vec!["合作", "能源", "合作"], vec!["贸易"], vec!["能源", "金融", "贸易"], vec![], vec!["合作", "金融"]];
        let shards = vec![
            Tokenized::from_token_lists(&lists[..2]),
            Tokenized::from_token_lists::<&str>(&[]),
            Tokenized::from_token_lists(&lists[2..]),
        ];
        (shards, Tokenized::from_token_lists(&lists))
    }

    fn asked(shards: Vec<Tokenized>) -> ShardTokens {
        let documents: Vec<usize> = shards.iter().map(Tokenized::n_docs).collect();
        let n_tokens = shards.iter().flat_map(Tokenized::lengths).collect();
        asked_as(shards, &documents, n_tokens)
    }

    /// Shards the driver believes hold `documents[s]` documents each.
    fn asked_as(shards: Vec<Tokenized>, documents: &[usize], n_tokens: Vec<u32>) -> ShardTokens {
        let ask: AskShards = std::sync::Arc::new(move |holding, common, requests| {
            assert_eq!(holding, Holding::Tokens);
            let answers: Vec<Result<Vec<u8>>> = requests
                .into_iter()
                .map(|(s, docs)| answer_tokens(&encode_tokens(&shards[s])?, &common, &docs))
                .collect();
            Ok(Box::new(answers.into_iter()))
        });
        ShardTokens::asked(documents, n_tokens, ask)
    }

    #[test]
    fn answers_from_the_shards_are_the_answers_from_tokens_held_here() {
        let (shards, whole) = corpus();
        let (here, asked) = (ShardTokens::here(whole.clone()), asked(shards));
        assert_eq!(asked.n_tokens(), here.n_tokens());
        assert_eq!(asked.n_tokens(), [3, 1, 3, 0, 2]);
        // Document 1 left out: its term is still listed, with df 0.
        let docs = [0, 2, 3, 4];
        let frequencies = asked.frequencies(&docs).unwrap();
        assert_eq!(frequencies, here.frequencies(&docs).unwrap());
        assert_eq!(frequencies.terms, whole.terms);
        let themes = vec![
            Theme { name: "a".into(), label: "a".into(), terms: vec![("能源".into(), 1.0), ("金融".into(), 0.5)] },
            Theme { name: "b".into(), label: "b".into(), terms: vec![("合作".into(), 2.0)] },
        ];
        let wanted =
            RowsWanted { vocabulary: vec!["合作".into(), "金融".into()], lexicon: LexiconIndex::new(&themes) };
        let (a, b) = (asked.rows(&docs, wanted.clone(), 4).unwrap(), here.rows(&docs, wanted, 4).unwrap());
        assert_eq!((&a.counts, &a.hits), (&b.counts, &b.hits));
        assert_eq!(a.counts, Csr::from_rows(2, vec![vec![(0, 2)], vec![(1, 1)], vec![], vec![(0, 1), (1, 1)]]));
        assert_eq!(a.hits, [vec![1.0, 4.0], vec![1.5, 0.0], vec![0.0, 0.0], vec![0.5, 2.0]]);
        // Coherence's counts of the top words, "贸易" among them, over the same documents: added
        // up from the shards, the counts of the tokens held here.
        let words = || vec!["能源".to_string(), "合作".into(), "贸易".into()];
        let (a, b) = (asked.cooccurrence(&docs, words()).unwrap(), here.cooccurrence(&docs, words()).unwrap());
        let topics = [vec![0u32, 1, 2]];
        let from = |counts: Cooccurrence| {
            let source = move |_: &[u32]| Ok(counts.clone());
            crate::topics::coherence::coherence(&source, &topics).unwrap()
        };
        let x = NOT_RELEVANT;
        let by_hand =
            crate::topics::coherence::count_here(&[vec![1, 0, 1], vec![0, x, 2], vec![], vec![1, x]], &[0, 1, 2]);
        assert_eq!(from(b.clone()), from(by_hand));
        assert_eq!(from(a), from(b));
        assert_eq!(asked.into_tokenized().unwrap(), whole);
    }

    #[test]
    fn a_shard_asked_for_a_document_it_lacks_is_an_error() {
        let (mut shards, _) = corpus();
        shards[2] = Tokenized::from_token_lists(&[vec!["能源"]]);
        let lacking = asked_as(shards, &[2, 0, 3], vec![1; 5]);
        let error = lacking.frequencies(&[0, 4]).unwrap_err().to_string();
        assert!(error.contains("document 2 of a shard that holds 1 documents"), "{error}");
    }
}
