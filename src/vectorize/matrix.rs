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
