//! Compressed sparse rows: the document–term matrices stay sparse from counting to TF-IDF.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;

/// Row `r` holds `indices[indptr[r]..indptr[r + 1]]` (column ids, ascending) with `values` beside.
/// The structure is shared by matrices of the same shape: the counts and the TF-IDF weights made
/// from them hold one copy of the column ids between them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Csr<T> {
    pub n_cols: usize,
    pub indptr: Arc<Vec<usize>>,
    pub indices: Arc<Vec<u32>>,
    pub values: Vec<T>,
}

impl<T: Copy> Csr<T> {
    pub fn n_rows(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    pub fn row(&self, r: usize) -> (&[u32], &[T]) {
        let span = self.indptr[r]..self.indptr[r + 1];
        (&self.indices[span.clone()], &self.values[span])
    }

    /// Build from rows given as (column, value) pairs with ascending columns.
    pub fn from_rows(n_cols: usize, rows: Vec<Vec<(u32, T)>>) -> Self {
        let nnz = rows.iter().map(Vec::len).sum();
        let (mut indptr, mut indices, mut values) =
            (Vec::with_capacity(rows.len() + 1), Vec::with_capacity(nnz), Vec::with_capacity(nnz));
        indptr.push(0);
        for row in rows {
            for (c, v) in row {
                indices.push(c);
                values.push(v);
            }
            indptr.push(indices.len());
        }
        Csr { n_cols, indptr: Arc::new(indptr), indices: Arc::new(indices), values }
    }

    /// Build in place, rows filled in parallel: `row_lens[r]` entries for row `r`, written by
    /// `fill(r, columns, values)`. Unlike [`Csr::from_rows`] nothing is held twice, so the
    /// largest matrices of a run (counts and TF-IDF) cost their own size and no more.
    pub fn fill_rows(n_cols: usize, row_lens: &[usize], fill: impl Fn(usize, &mut [u32], &mut [T]) + Sync) -> Self
    where
        T: Default + Send + Sync,
    {
        let mut indptr = Vec::with_capacity(row_lens.len() + 1);
        indptr.push(0);
        for len in row_lens {
            indptr.push(indptr.last().unwrap() + len);
        }
        let nnz = *indptr.last().unwrap();
        let (mut indices, mut values) = (vec![0u32; nnz], vec![T::default(); nnz]);
        let blocks = row_blocks(&indptr, &mut indices).into_iter().zip(row_blocks(&indptr, &mut values));
        blocks.collect::<Vec<_>>().into_par_iter().for_each(|((rows, columns), (_, values))| {
            let base = indptr[rows.start];
            for r in rows {
                let span = indptr[r] - base..indptr[r + 1] - base;
                fill(r, &mut columns[span.clone()], &mut values[span]);
            }
        });
        Csr { n_cols, indptr: Arc::new(indptr), indices: Arc::new(indices), values }
    }

    /// A matrix of the same shape, its structure shared rather than copied, with each row's values
    /// written by `fill(r, columns, values, new_values)` (rows in parallel).
    pub fn map_rows<U>(&self, fill: impl Fn(usize, &[u32], &[T], &mut [U]) + Sync) -> Csr<U>
    where
        T: Sync,
        U: Copy + Default + Send,
    {
        let mut values = vec![U::default(); self.nnz()];
        row_blocks(&self.indptr, &mut values).into_par_iter().for_each(|(rows, block)| {
            let base = self.indptr[rows.start];
            for r in rows {
                let (cols, vals) = self.row(r);
                fill(r, cols, vals, &mut block[self.indptr[r] - base..self.indptr[r + 1] - base]);
            }
        });
        Csr { n_cols: self.n_cols, indptr: Arc::clone(&self.indptr), indices: Arc::clone(&self.indices), values }
    }
}

/// `entries` (laid out by `indptr`) cut into blocks of rows, for the threads to fill: each block's
/// row range and its entries.
fn row_blocks<'a, V>(indptr: &[usize], entries: &'a mut [V]) -> Vec<(std::ops::Range<usize>, &'a mut [V])> {
    const BLOCK: usize = 1024;
    let n_rows = indptr.len() - 1;
    let mut blocks = Vec::with_capacity(n_rows.div_ceil(BLOCK));
    let mut rest = entries;
    for first in (0..n_rows).step_by(BLOCK) {
        let last = (first + BLOCK).min(n_rows);
        let (block, tail) = std::mem::take(&mut rest).split_at_mut(indptr[last] - indptr[first]);
        blocks.push((first..last, block));
        rest = tail;
    }
    blocks
}

/// A sparse matrix of f32 weights as the models read it, a row (or part of one) at a time:
/// stored ([`Csr<f32>`], e.g. read back from tfidf.parquet) or made on demand from the counts
/// ([`crate::vectorize::TfidfWeights`]), which spares a run the matrix's values (at 8× the xwlb
/// corpus, 250 MB beside the counts).
pub trait Weights: Sync {
    fn n_cols(&self) -> usize;
    fn indptr(&self) -> &[usize];
    fn indices(&self) -> &[u32];
    /// The weights of the stored entries `span` (positions in [`Weights::indices`], all of row
    /// `r`): borrowed when stored, else made into `buf`.
    fn weights<'a>(&'a self, r: usize, span: Range<usize>, buf: &'a mut Vec<f32>) -> &'a [f32];
    /// The matrix with its weights stored: itself when they are, else a copy made once (for a
    /// model that reads every weight hundreds of times, as NMF does).
    fn stored(&self) -> Cow<'_, Csr<f32>>;

    fn n_rows(&self) -> usize {
        self.indptr().len().saturating_sub(1)
    }

    fn nnz(&self) -> usize {
        self.indices().len()
    }

    /// Row `r`'s columns and weights.
    fn weight_row<'a>(&'a self, r: usize, buf: &'a mut Vec<f32>) -> (&'a [u32], &'a [f32]) {
        let span = self.indptr()[r]..self.indptr()[r + 1];
        (&self.indices()[span.clone()], self.weights(r, span, buf))
    }
}

impl Weights for Csr<f32> {
    fn n_cols(&self) -> usize {
        self.n_cols
    }

    fn indptr(&self) -> &[usize] {
        &self.indptr
    }

    fn indices(&self) -> &[u32] {
        &self.indices
    }

    fn weights<'a>(&'a self, _: usize, span: Range<usize>, _: &'a mut Vec<f32>) -> &'a [f32] {
        &self.values[span]
    }

    fn stored(&self) -> Cow<'_, Csr<f32>> {
        Cow::Borrowed(self)
    }
}

impl Csr<f32> {
    /// The same matrix stored by columns (a CSR of the transpose). The models scatter instead
    /// (`linalg::Scatter`, no second copy of the matrix); tests check them against this.
    #[cfg(test)]
    pub fn transpose(&self) -> Csr<f32> {
        let mut counts = vec![0usize; self.n_cols + 1];
        for &c in self.indices.iter() {
            counts[c as usize + 1] += 1;
        }
        for c in 0..self.n_cols {
            counts[c + 1] += counts[c];
        }
        let indptr = counts.clone();
        let mut next = counts;
        let mut indices = vec![0u32; self.nnz()];
        let mut values = vec![0f32; self.nnz()];
        for r in 0..self.n_rows() {
            let (cols, vals) = self.row(r);
            for (&c, &v) in cols.iter().zip(vals) {
                let slot = &mut next[c as usize];
                indices[*slot] = r as u32;
                values[*slot] = v;
                *slot += 1;
            }
        }
        Csr { n_cols: self.n_rows(), indptr: Arc::new(indptr), indices: Arc::new(indices), values }
    }

    /// Σ of squared entries (the Frobenius norm squared), accumulated in f64.
    pub fn squared_norm(&self) -> f64 {
        self.values.iter().map(|&v| (v as f64) * (v as f64)).sum()
    }
}
