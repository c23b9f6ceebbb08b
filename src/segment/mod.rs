//! Segment: normalized documents → [`Tokenized`]: each document's tokens as ids into one sorted
//! term list.
//!
//! jieba-rs cuts every document (HMM on, as Python jieba's default `cut`), in parallel over
//! documents with one shared dictionary; the [`FilterChain`] drops punctuation, numbers and
//! stopwords. Each worker interns the tokens of its chunk of documents; the chunks' terms are
//! then merged into one sorted list, so ids do not depend on the number of threads.
//!
//! ```
//! use themeshift::segment::{Segmenter, FilterChain};
//! let segmenter = Segmenter::new(themeshift::segment::build_jieba(&[] as &[&str]).unwrap(), FilterChain::standard());
//! let tokenized = segmenter.segment_texts(&["推进一带一路建设"]);
//! assert!(tokenized.doc_terms(0).any(|t| t == "一带一路"));
//! ```

mod dictionary;
mod filters;
pub mod keywords;

use jieba_rs::Jieba;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

pub use dictionary::{add_seed_words, build_jieba, entry_lines, FIXED_EXPRESSIONS};
pub use filters::{Filter, FilterChain, STOPWORDS};

/// Documents per work item: large enough that interning pays off, small enough to balance.
const CHUNK: usize = 512;

pub struct Segmenter {
    jieba: Jieba,
    filters: FilterChain,
}

/// Every document's kept tokens, as ids into `terms` (sorted, unique).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Tokenized {
    pub terms: Vec<String>,
    /// `ids[offsets[d]..offsets[d + 1]]` are document `d`'s tokens, in text order.
    pub offsets: Vec<usize>,
    pub ids: Vec<u32>,
}

impl Tokenized {
    /// Token lists made elsewhere (the Python package's `tfidf`), interned as segmentation
    /// interns them: terms sorted, a token's id its term's rank.
    pub fn from_token_lists<S: AsRef<str>>(lists: &[Vec<S>]) -> Tokenized {
        let mut terms: Vec<&str> = lists.iter().flatten().map(AsRef::as_ref).collect();
        terms.sort_unstable();
        terms.dedup();
        let index: FxHashMap<&str, u32> = terms.iter().enumerate().map(|(i, &t)| (t, i as u32)).collect();
        let mut offsets = vec![0];
        let mut ids = Vec::new();
        for list in lists {
            ids.extend(list.iter().map(|s| index[s.as_ref()]));
            offsets.push(ids.len());
        }
        Tokenized { terms: terms.into_iter().map(str::to_string).collect(), offsets, ids }
    }

    /// Several tokenizations (shards, in order) as one: the same terms and ids as segmenting all
    /// their documents at once.
    pub fn concat(parts: Vec<Tokenized>) -> Tokenized {
        let mut join = TokensJoin::default();
        parts.into_iter().for_each(|part| join.add(part));
        join.finish()
    }

    pub fn n_docs(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn doc(&self, d: usize) -> &[u32] {
        &self.ids[self.offsets[d]..self.offsets[d + 1]]
    }

    pub fn doc_terms(&self, d: usize) -> impl Iterator<Item = &str> {
        self.doc(d).iter().map(|&id| self.terms[id as usize].as_str())
    }
}

/// [`Tokenized::concat`] one part at a time, in order: each part's ids are rewritten to ids of
/// the terms seen so far as it comes (and the part let go), then to sorted ranks at the end.
#[derive(Default)]
pub struct TokensJoin {
    /// Every term seen, with its provisional id (first-seen order).
    provisional: FxHashMap<String, u32>,
    offsets: Vec<usize>,
    ids: Vec<u32>,
}

impl TokensJoin {
    pub fn add(&mut self, part: Tokenized) {
        let local: Vec<u32> = part
            .terms
            .into_iter()
            .map(|term| {
                let next = self.provisional.len() as u32;
                *self.provisional.entry(term).or_insert(next)
            })
            .collect();
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        let base = *self.offsets.last().expect("offsets start at 0");
        self.offsets.extend(part.offsets.iter().skip(1).map(|o| base + o));
        self.ids.extend(part.ids.iter().map(|&id| local[id as usize]));
    }

    pub fn finish(self) -> Tokenized {
        let mut terms: Vec<(String, u32)> = self.provisional.into_iter().collect();
        terms.par_sort_unstable();
        let rank = sorted_ranks(terms.iter().map(|(_, id)| *id));
        let mut ids = self.ids;
        ids.par_iter_mut().for_each(|id| *id = rank[*id as usize]);
        let offsets = if self.offsets.is_empty() { vec![0] } else { self.offsets };
        Tokenized { terms: terms.into_iter().map(|(t, _)| t).collect(), offsets, ids }
    }
}

/// `rank[provisional id]` = the term's place in sorted order, from the provisional ids listed in
/// sorted term order.
fn sorted_ranks(provisional_in_sorted_order: impl ExactSizeIterator<Item = u32>) -> Vec<u32> {
    let mut rank = vec![0u32; provisional_in_sorted_order.len()];
    for (sorted, id) in provisional_in_sorted_order.enumerate() {
        rank[id as usize] = sorted as u32;
    }
    rank
}

/// One chunk's tokens with chunk-local ids.
struct Chunk<'a> {
    terms: Vec<&'a str>,
    lengths: Vec<usize>,
    ids: Vec<u32>,
}

impl Segmenter {
    pub fn new(jieba: Jieba, filters: FilterChain) -> Self {
        Segmenter { jieba, filters }
    }

    /// The dictionary back, for another use of the same words (keyword extraction).
    pub fn into_jieba(self) -> Jieba {
        self.jieba
    }

    /// The kept tokens of one text, in order.
    pub fn tokens<'a>(&self, text: &'a str) -> Vec<&'a str> {
        self.jieba.cut(text, true).into_iter().map(|t| t.word).filter(|w| self.filters.keeps(w)).collect()
    }

    pub fn segment_texts<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Tokenized {
        let progress = crate::progress::bar("segment", texts.len() as u64, "documents");
        let chunks: Vec<Chunk> = texts
            .par_chunks(CHUNK)
            .map(|chunk| progress.step(chunk.len() as u64, || self.intern_chunk(chunk)))
            .collect();
        merge(chunks)
    }

    fn intern_chunk<'a, S: AsRef<str>>(&self, texts: &'a [S]) -> Chunk<'a> {
        let mut index: FxHashMap<&str, u32> = FxHashMap::default();
        let mut chunk = Chunk { terms: Vec::new(), lengths: Vec::with_capacity(texts.len()), ids: Vec::new() };
        for text in texts {
            let before = chunk.ids.len();
            for token in self.tokens(text.as_ref()) {
                let id = *index.entry(token).or_insert_with(|| {
                    chunk.terms.push(token);
                    (chunk.terms.len() - 1) as u32
                });
                chunk.ids.push(id);
            }
            chunk.lengths.push(chunk.ids.len() - before);
        }
        chunk
    }
}

/// Merge chunk vocabularies into one sorted term list and rewrite the ids.
fn merge(chunks: Vec<Chunk>) -> Tokenized {
    // Provisional ids in first-seen order, then each term's rank in sorted order.
    let mut provisional: FxHashMap<&str, u32> = FxHashMap::default();
    let to_provisional: Vec<Vec<u32>> = chunks
        .iter()
        .map(|chunk| {
            chunk
                .terms
                .iter()
                .map(|&term| {
                    let next = provisional.len() as u32;
                    *provisional.entry(term).or_insert(next)
                })
                .collect()
        })
        .collect();
    let mut terms: Vec<(&str, u32)> = provisional.into_iter().collect();
    terms.par_sort_unstable();
    let rank = sorted_ranks(terms.iter().map(|(_, id)| *id));
    let remapped: Vec<Vec<u32>> = chunks
        .par_iter()
        .zip(&to_provisional)
        .map(|(chunk, local)| chunk.ids.iter().map(|&id| rank[local[id as usize] as usize]).collect())
        .collect();
    let mut offsets = Vec::with_capacity(chunks.iter().map(|c| c.lengths.len()).sum::<usize>() + 1);
    offsets.push(0);
    for length in chunks.iter().flat_map(|c| c.lengths.iter()) {
        offsets.push(offsets.last().unwrap() + length);
    }
    Tokenized { terms: terms.into_iter().map(|(t, _)| t.to_string()).collect(), offsets, ids: remapped.concat() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segmenter() -> Segmenter {
        Segmenter::new(build_jieba(&[] as &[&str]).unwrap(), FilterChain::standard())
    }

    #[test]
    fn ids_point_into_a_sorted_vocabulary_that_does_not_depend_on_chunking() {
        let texts: Vec<String> = (0..600).map(|i| format!("第{i}次会谈讨论能源合作和数字经济，贸易增长。")).collect();
        let tokenized = segmenter().segment_texts(&texts);
        assert!(tokenized.terms.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(tokenized.n_docs(), 600);
        let expected: Vec<&str> = vec!["会谈", "讨论", "能源", "合作", "数字经济", "贸易", "增长"];
        assert_eq!(tokenized.doc_terms(0).collect::<Vec<_>>(), expected);
        assert_eq!(tokenized.doc_terms(599).collect::<Vec<_>>(), expected);
    }

    #[test]
    fn shards_joined_equal_one_segmentation() {
        let texts: Vec<String> =
            (0..50).map(|i| format!("第{i}次会谈：能源合作、数字经济{}。", "和贸易".repeat(i % 3))).collect();
        let all = segmenter().segment_texts(&texts);
        let mut parts: Vec<Tokenized> = texts.chunks(7).map(|c| segmenter().segment_texts(c)).collect();
        // A shard with no documents (all skipped) joins as nothing.
        parts.insert(3, segmenter().segment_texts(&[] as &[String]));
        let joined = Tokenized::concat(parts);
        assert_eq!((all.terms, all.offsets, all.ids), (joined.terms, joined.offsets, joined.ids));
    }

    #[test]
    fn empty_documents_keep_their_place() {
        let tokenized = segmenter().segment_texts(&["，。", "能源合作", ""]);
        assert_eq!(tokenized.n_docs(), 3);
        assert!(tokenized.doc(0).is_empty() && tokenized.doc(2).is_empty());
        assert_eq!(tokenized.doc_terms(1).collect::<Vec<_>>(), ["能源", "合作"]);
    }
}
