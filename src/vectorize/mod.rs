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

pub use matrix::Csr;
pub use tfidf::{idf, tfidf};
pub use vocabulary::{count_matrix, select, DocFreq, Vocabulary, VocabularyParams};

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
    pub counts: Csr<u32>,
    pub tfidf: Csr<f32>,
}

/// Vectorize the documents `rows` of `tokenized` (e.g. all but near-duplicates).
pub fn vectorize(tokenized: &Tokenized, rows: Vec<usize>, params: &VectorizeParams) -> Result<Vectorized> {
    let all_counts = count_matrix(tokenized, &rows);
    let (vocabulary, counts) = select(&tokenized.terms, &all_counts, &params.vocabulary)?;
    let idf = idf(&vocabulary.df, counts.n_rows());
    let tfidf = tfidf(&counts, &idf, params.sublinear_tf);
    Ok(Vectorized { rows, vocabulary, idf, counts, tfidf })
}
