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
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
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

    pub fn n_docs(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Tokens of each document.
    pub fn lengths(&self) -> Vec<u32> {
        self.offsets.windows(2).map(|w| (w[1] - w[0]) as u32).collect()
    }

    pub fn doc(&self, d: usize) -> &[u32] {
        &self.ids[self.offsets[d]..self.offsets[d + 1]]
    }

    pub fn doc_terms(&self, d: usize) -> impl Iterator<Item = &str> {
        self.doc(d).iter().map(|&id| self.terms[id as usize].as_str())
    }
}

/// Token lists with part-local ids (a shard's tokenization, a chunk of a segmentation) joined one
/// part at a time, in order, into one [`Tokenized`]: the same terms and ids as segmenting all their
/// documents at once. Each part's ids become provisional ids (first seen, first numbered) as it
/// comes, and the part can go; [`TokensJoin::finish`] turns them into sorted ranks. `K` is how a
/// term is held: borrowed from the texts while segmenting, owned when parts arrive from shards.
pub struct TokensJoin<K = String> {
    provisional: FxHashMap<K, u32>,
    offsets: Vec<usize>,
    ids: Vec<u32>,
}

impl<K> Default for TokensJoin<K> {
    fn default() -> Self {
        TokensJoin { provisional: FxHashMap::default(), offsets: vec![0], ids: Vec::new() }
    }
}

impl TokensJoin<String> {
    /// The next shard's tokenization.
    pub fn add(&mut self, part: Tokenized) {
        let lengths = part.offsets.windows(2).map(|w| w[1] - w[0]);
        self.add_part(part.terms, lengths, &part.ids);
    }
}

impl<K: std::hash::Hash + Eq + Ord + Send + Into<String>> TokensJoin<K> {
    /// A part: its terms (its ids index them), each document's token count, its ids.
    fn add_part(&mut self, terms: impl IntoIterator<Item = K>, lengths: impl Iterator<Item = usize>, ids: &[u32]) {
        let local: Vec<u32> = terms
            .into_iter()
            .map(|term| {
                let next = self.provisional.len() as u32;
                *self.provisional.entry(term).or_insert(next)
            })
            .collect();
        for length in lengths {
            self.offsets.push(self.offsets.last().expect("offsets start at 0") + length);
        }
        self.ids.extend(ids.iter().map(|&id| local[id as usize]));
    }

    pub fn finish(self) -> Tokenized {
        let mut terms: Vec<(K, u32)> = self.provisional.into_iter().collect();
        terms.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut rank = vec![0u32; terms.len()];
        for (sorted, (_, id)) in terms.iter().enumerate() {
            rank[*id as usize] = sorted as u32;
        }
        let mut ids = self.ids;
        ids.par_iter_mut().for_each(|id| *id = rank[*id as usize]);
        Tokenized { terms: terms.into_iter().map(|(t, _)| t.into()).collect(), offsets: self.offsets, ids }
    }
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

    pub fn segment_texts<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Tokenized {
        let progress = crate::progress::bar("segment", texts.len() as u64, "documents");
        let chunks: Vec<Chunk> = texts
            .par_chunks(CHUNK)
            .map(|chunk| progress.step(chunk.len() as u64, || self.intern_chunk(chunk)))
            .collect();
        let mut join = TokensJoin::<&str>::default();
        for chunk in chunks {
            join.add_part(chunk.terms, chunk.lengths.into_iter(), &chunk.ids);
        }
        join.finish()
    }

    /// The chunk's kept tokens as chunk-local ids. Every word jieba cuts is looked up once, and the
    /// filters judge a word only the first time the chunk meets it: words repeat, so most tokens
    /// cost one lookup, whether they are kept or dropped.
    fn intern_chunk<'a, S: AsRef<str>>(&self, texts: &'a [S]) -> Chunk<'a> {
        let mut index: FxHashMap<&str, Option<u32>> = FxHashMap::default();
        let mut chunk = Chunk { terms: Vec::new(), lengths: Vec::with_capacity(texts.len()), ids: Vec::new() };
        for text in texts {
            let before = chunk.ids.len();
            for token in self.jieba.cut(text.as_ref(), true) {
                let word = token.word;
                let kept = *index.entry(word).or_insert_with(|| {
                    self.filters.keeps(word).then(|| {
                        chunk.terms.push(word);
                        (chunk.terms.len() - 1) as u32
                    })
                });
                chunk.ids.extend(kept);
            }
            chunk.lengths.push(chunk.ids.len() - before);
        }
        chunk
    }
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
        let mut join = TokensJoin::default();
        parts.into_iter().for_each(|part| join.add(part));
        let joined = join.finish();
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
