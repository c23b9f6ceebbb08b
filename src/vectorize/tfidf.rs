//! TF-IDF with scikit-learn `TfidfVectorizer` semantics (its defaults `smooth_idf=True`,
//! `norm='l2'`):
//!
//! - idf(t) = ln((1 + n) / (1 + df(t))) + 1, with n documents;
//! - tf(t, d) = count(t, d), or 1 + ln(count(t, d)) with `sublinear_tf`;
//! - each row of tf · idf is divided by its Euclidean norm (empty rows stay empty).
//!
//! Computed in f64, stored as f32 (the weights lie in [0, 1], so the rounding error is below 6e-8).

use std::borrow::Cow;
use std::ops::Range;

use rayon::prelude::*;

use super::matrix::{Csr, Weights};

pub fn idf(df: &[u32], n_docs: usize) -> Vec<f64> {
    df.iter().map(|&d| ((1.0 + n_docs as f64) / (1.0 + d as f64)).ln() + 1.0).collect()
}

/// The TF-IDF weights of `counts`, made when read: a weight costs a few arithmetic operations
/// next to the products that read it, and a run so never holds the weights beside the counts.
/// Every weight is computed in the same operations, in the same order, whenever it is read, so
/// it is the same f32 each time and the same as [`tfidf`] stores.
pub struct TfidfWeights<'a> {
    counts: &'a Csr<u32>,
    idf: &'a [f64],
    /// Each row's Euclidean norm of tf · idf.
    norms: &'a [f64],
    sublinear_tf: bool,
}

impl<'a> TfidfWeights<'a> {
    /// `norms` from [`row_norms`] of the same counts, idf and `sublinear_tf`.
    pub fn new(counts: &'a Csr<u32>, idf: &'a [f64], norms: &'a [f64], sublinear_tf: bool) -> Self {
        assert_eq!(norms.len(), counts.n_rows(), "TfidfWeights: a norm per row");
        TfidfWeights { counts, idf, norms, sublinear_tf }
    }
}

impl TfidfWeights<'_> {
    /// The weights of entries (`cols`, `counts`) of row `r`: (tf · idf) / the row's norm.
    fn made<'b>(&'b self, r: usize, cols: &'b [u32], counts: &'b [u32]) -> impl Iterator<Item = f32> + 'b {
        let norm = self.norms[r];
        cols.iter().zip(counts).map(move |(&c, &n)| (tf_idf(n, self.idf[c as usize], self.sublinear_tf) / norm) as f32)
    }
}

fn tf_idf(count: u32, idf: f64, sublinear_tf: bool) -> f64 {
    let tf = if sublinear_tf { 1.0 + (count as f64).ln() } else { count as f64 };
    tf * idf
}

/// Each row's Euclidean norm of tf · idf (what its weights are divided by).
pub fn row_norms(counts: &Csr<u32>, idf: &[f64], sublinear_tf: bool) -> Vec<f64> {
    (0..counts.n_rows())
        .into_par_iter()
        .with_min_len(1024)
        .map(|r| {
            let (cols, vals) = counts.row(r);
            let squares = cols.iter().zip(vals).map(|(&c, &n)| {
                let w = tf_idf(n, idf[c as usize], sublinear_tf);
                w * w
            });
            squares.sum::<f64>().sqrt()
        })
        .collect()
}

impl Weights for TfidfWeights<'_> {
    fn n_cols(&self) -> usize {
        self.counts.n_cols
    }

    fn indptr(&self) -> &[usize] {
        &self.counts.indptr
    }

    fn indices(&self) -> &[u32] {
        &self.counts.indices
    }

    fn weights<'b>(&'b self, r: usize, span: Range<usize>, buf: &'b mut Vec<f32>) -> &'b [f32] {
        buf.clear();
        buf.extend(self.made(r, &self.counts.indices[span.clone()], &self.counts.values[span]));
        buf
    }

    fn stored(&self) -> Cow<'_, Csr<f32>> {
        Cow::Owned(self.counts.map_rows(|r, cols, counts, out| {
            out.iter_mut().zip(self.made(r, cols, counts)).for_each(|(o, w)| *o = w);
        }))
    }
}

/// The TF-IDF matrix with its weights stored (what the tests compare the weights made on demand
/// with; a run stores them through [`Weights::stored`] only where a model needs it).
#[cfg(test)]
pub fn tfidf(counts: &Csr<u32>, idf: &[f64], sublinear_tf: bool) -> Csr<f32> {
    let norms = row_norms(counts, idf, sublinear_tf);
    TfidfWeights::new(counts, idf, &norms, sublinear_tf).stored().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_match_a_hand_computed_scikit_learn_example() {
        // Three documents over two terms: d0 = {a:2, b:1}, d1 = {a:1}, d2 = {}.
        let counts = Csr::from_rows(2, vec![vec![(0, 2), (1, 1)], vec![(0, 1)], vec![]]);
        let idf = idf(&[2, 1], 3);
        assert!((idf[0] - ((4.0f64 / 3.0).ln() + 1.0)).abs() < 1e-12);
        assert!((idf[1] - (2.0f64.ln() + 1.0)).abs() < 1e-12);
        let m = tfidf(&counts, &idf, false);
        let (a, b) = (2.0 * idf[0], idf[1]);
        let norm = (a * a + b * b).sqrt();
        assert!((m.values[0] as f64 - a / norm).abs() < 1e-7);
        assert!((m.values[1] as f64 - b / norm).abs() < 1e-7);
        assert_eq!(m.row(1).1, &[1.0]);
        assert!(m.row(2).0.is_empty());
        let sub = tfidf(&counts, &idf, true);
        let a = (1.0 + 2f64.ln()) * idf[0];
        assert!((sub.values[0] as f64 - a / (a * a + b * b).sqrt()).abs() < 1e-7);
    }

    #[test]
    fn weights_made_on_demand_are_the_stored_bits_for_whole_rows_and_parts() {
        let rows: Vec<Vec<(u32, u32)>> = (0..50u32)
            .map(|r| (0..7u32).filter(|c| (r + c) % 3 != 0).map(|c| (c, 1 + (r * 7 + c * 13) % 9)).collect())
            .collect();
        let counts = Csr::from_rows(7, rows);
        let idf = idf(&[30, 31, 32, 33, 34, 35, 36], 50);
        for sublinear in [false, true] {
            let stored = tfidf(&counts, &idf, sublinear);
            let norms = row_norms(&counts, &idf, sublinear);
            let made = TfidfWeights::new(&counts, &idf, &norms, sublinear);
            assert_eq!(made.stored().as_ref(), &stored);
            let mut buf = Vec::new();
            for r in 0..counts.n_rows() {
                let (cols, weights) = made.weight_row(r, &mut buf);
                assert_eq!((cols, weights), stored.row(r));
                // A part of a row (as a scatter range reads it) is the same part of the stored row.
                let span = counts.indptr[r] + 1..counts.indptr[r + 1];
                let part = made.weights(r, span.clone(), &mut buf).to_vec();
                assert_eq!(
                    part.iter().map(|w| w.to_bits()).collect::<Vec<_>>(),
                    stored.values[span].iter().map(|w| w.to_bits()).collect::<Vec<_>>()
                );
            }
        }
    }
}
