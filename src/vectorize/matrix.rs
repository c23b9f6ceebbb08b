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
