//! Vectorize: tokens → a sorted [`Vocabulary`] and sparse document–term matrices (counts and
//! TF-IDF), never dense.
//!
//! ```
//! use themeshift::vectorize::{vectorize, VectorizeParams};
//! use themeshift::segment::Tokenized;
//! let tokens = Tokenized { terms: vec!["合作".into(), "能源".into()], offsets: vec![0, 2, 3], ids: vec![0, 1, 0] };
//! let v = vectorize(&tokens, vec![0, 1], &VectorizeParams::default()).unwrap();
//! assert_eq!(v.vocabulary.terms, ["合作"]); // 能源 is in one document only (min_df = 2)
//! ```

mod matrix;
mod tfidf;
mod vocabulary;

pub use matrix::{Csr, Weights};
#[cfg(test)]
pub use tfidf::tfidf;
pub use tfidf::{idf, row_norms, TfidfWeights};
pub use vocabulary::{columns_of, count_rows, select, DocFreq, TermFrequencies, Vocabulary, VocabularyParams};

use crate::error::Result;
use crate::segment::Tokenized;

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct VectorizeParams {
    #[serde(flatten)]
    pub vocabulary: VocabularyParams,
    pub sublinear_tf: bool,
}

pub struct Vectorized {
    /// The documents (indices into the tokenized corpus) that are the matrix rows, in order.
    pub rows: Vec<usize>,
    pub vocabulary: Vocabulary,
    pub idf: Vec<f64>,
    /// The count rows; `None` where a sharded run leaves them with its shards, which make them
    /// again from their tokens for what is asked of them (no model needs the matrix).
    counts: Option<Csr<u32>>,
    /// Each row's norm of tf · idf: with the counts and idf, the TF-IDF weights ([`Vectorized::tfidf`]).
    pub norms: Vec<f64>,
    /// Stored counts in all (the vocabulary's document frequencies summed).
    pub entries: usize,
    pub sublinear_tf: bool,
    /// Limits changed because the corpus was too small for them, each said in a sentence.
    pub adjustments: Vec<String>,
}

/// Vectorize the documents `rows` of `tokenized` (e.g. all but near-duplicates), all in this
/// process. A run does the same in steps its shards can answer: the terms' frequencies of each
/// shard, merged ([`TermFrequencies::merge`]), give the vocabulary ([`vocabulary_for`]); each shard
/// counts its rows over it ([`count_rows`]); the rows make the matrices ([`Vectorized::new`]).
pub fn vectorize(tokenized: &Tokenized, rows: Vec<usize>, params: &VectorizeParams) -> Result<Vectorized> {
    let frequencies = TermFrequencies::of(tokenized, &rows);
    crate::progress::check();
    let (vocabulary, adjustments) = vocabulary_for(&frequencies, rows.len(), &params.vocabulary)?;
    let counts = count_rows(tokenized, &rows, &columns_of(&tokenized.terms, &vocabulary.terms), vocabulary.len());
    crate::progress::check();
    Ok(Vectorized::new(rows, vocabulary, counts, params.sublinear_tf, adjustments))
}

/// The vocabulary of `n_docs` analysed documents with these term frequencies, the limits fitted to
/// a corpus too small for them (each change said).
pub fn vocabulary_for(
    frequencies: &TermFrequencies,
    n_docs: usize,
    params: &VocabularyParams,
) -> Result<(Vocabulary, Vec<String>)> {
    let (limits, adjustments) = fit_to_corpus(params, n_docs);
    Ok((select(frequencies, n_docs, &limits)?, adjustments))
}

impl Vectorized {
    /// The matrices of documents `rows` from their counts over `vocabulary`.
    pub fn new(
        rows: Vec<usize>,
        vocabulary: Vocabulary,
        counts: Csr<u32>,
        sublinear_tf: bool,
        adjustments: Vec<String>,
    ) -> Vectorized {
        assert_eq!((counts.n_rows(), counts.n_cols), (rows.len(), vocabulary.len()), "a count row per document");
        let idf = idf(&vocabulary.df, counts.n_rows());
        let norms = row_norms(&counts, &idf, sublinear_tf);
        let entries = counts.nnz();
        Vectorized { rows, vocabulary, idf, counts: Some(counts), norms, entries, sublinear_tf, adjustments }
    }

    /// The vector space of documents `rows` over `vocabulary`, their count rows left where they are.
    pub fn without_counts(
        rows: Vec<usize>,
        vocabulary: Vocabulary,
        sublinear_tf: bool,
        adjustments: Vec<String>,
    ) -> Vectorized {
        let idf = idf(&vocabulary.df, rows.len());
        let entries = vocabulary.df.iter().map(|&d| d as usize).sum();
        Vectorized { rows, vocabulary, idf, counts: None, norms: Vec::new(), entries, sublinear_tf, adjustments }
    }

    /// The count matrix. Panics where the counts were left with the shards (see [`Vectorized::holds_counts`]).
    pub fn counts(&self) -> &Csr<u32> {
        self.counts.as_ref().expect("the count rows are held here (a model needs them)")
    }

    pub fn holds_counts(&self) -> bool {
        self.counts.is_some()
    }

    /// The TF-IDF matrix, its weights made from the counts as they are read.
    pub fn tfidf(&self) -> TfidfWeights<'_> {
        TfidfWeights::new(self.counts(), &self.idf, &self.norms, self.sublinear_tf)
    }
}

/// Document-frequency limits a corpus this small can meet: when `min_df` asks for more documents
/// than there are (one or two articles), every term is kept instead (`min_df` 1, `max_df` all), and
/// the change is said.
fn fit_to_corpus(params: &VocabularyParams, n_docs: usize) -> (VocabularyParams, Vec<String>) {
    let (low, high) = (params.min_df.resolve(n_docs), params.max_df.resolve(n_docs));
    if n_docs == 0 || (low <= n_docs as f64 && low <= high) {
        return (params.clone(), Vec::new());
    }
    let fitted = VocabularyParams { min_df: DocFreq::Count(1), max_df: DocFreq::Share(1.0), ..params.clone() };
    let note = format!(
        "min_df {low} and max_df {high} documents cannot both hold with {n_docs} analysed document(s): \
         every term kept (min_df 1, max_df 1.0)"
    );
    (fitted, vec![note])
}
