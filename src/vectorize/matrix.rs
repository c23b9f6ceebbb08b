//! Compressed sparse rows: the document–term matrices stay sparse from counting to TF-IDF.

/// Row `r` holds `indices[indptr[r]..indptr[r + 1]]` (column ids, ascending) with `values` beside.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Csr<T> {
    pub n_cols: usize,
    pub indptr: Vec<usize>,
    pub indices: Vec<u32>,
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
        let mut m = Csr {
            n_cols,
            indptr: Vec::with_capacity(rows.len() + 1),
            indices: Vec::with_capacity(nnz),
            values: Vec::with_capacity(nnz),
        };
        m.indptr.push(0);
        for row in rows {
            for (c, v) in row {
                m.indices.push(c);
                m.values.push(v);
            }
            m.indptr.push(m.indices.len());
        }
        m
    }

    /// Build in place, rows filled in parallel: `row_lens[r]` entries for row `r`, written by
    /// `fill(r, columns, values)`. Unlike [`Csr::from_rows`] nothing is held twice, so the
    /// largest matrices of a run (counts and TF-IDF) cost their own size and no more.
    pub fn fill_rows(n_cols: usize, row_lens: &[usize], fill: impl Fn(usize, &mut [u32], &mut [T]) + Sync) -> Self
    where
        T: Default + Send + Sync,
    {
        use rayon::prelude::*;
        let mut indptr = Vec::with_capacity(row_lens.len() + 1);
        indptr.push(0);
        for len in row_lens {
            indptr.push(indptr.last().unwrap() + len);
        }
        let nnz = *indptr.last().unwrap();
        let (mut indices, mut values) = (vec![0u32; nnz], vec![T::default(); nnz]);
        // One slice pair per block of rows, handed to the threads.
        const BLOCK: usize = 1024;
        let mut blocks = Vec::with_capacity(row_lens.len().div_ceil(BLOCK));
        let (mut rest_c, mut rest_v) = (indices.as_mut_slice(), values.as_mut_slice());
        for first in (0..row_lens.len()).step_by(BLOCK) {
            let last = (first + BLOCK).min(row_lens.len());
            let (c, tail_c) = std::mem::take(&mut rest_c).split_at_mut(indptr[last] - indptr[first]);
            let (v, tail_v) = std::mem::take(&mut rest_v).split_at_mut(indptr[last] - indptr[first]);
            (rest_c, rest_v) = (tail_c, tail_v);
            blocks.push((first..last, c, v));
        }
        blocks.into_par_iter().for_each(|(rows, c, v)| {
            let base = indptr[rows.start];
            for r in rows {
                let span = indptr[r] - base..indptr[r + 1] - base;
                fill(r, &mut c[span.clone()], &mut v[span]);
            }
        });
        Csr { n_cols, indptr, indices, values }
    }
}

impl Csr<f32> {
    /// The same matrix stored by columns (a CSR of the transpose). The models scatter instead
    /// (`linalg::Scatter`, no second copy of the matrix); tests check them against this.
    #[cfg(test)]
    pub fn transpose(&self) -> Csr<f32> {
        let mut counts = vec![0usize; self.n_cols + 1];
        for &c in &self.indices {
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
        Csr { n_cols: self.n_rows(), indptr, indices, values }
    }

    /// Σ of squared entries (the Frobenius norm squared), accumulated in f64.
    pub fn squared_norm(&self) -> f64 {
        self.values.iter().map(|&v| (v as f64) * (v as f64)).sum()
    }
}
