//! The dense and sparse products the models need, and a randomized truncated SVD.
//!
//! Every parallel reduction here sums fixed blocks of rows in block order, so results are
//! bit-identical whatever the number of threads.
//!
//! The tall side of a factorization (one row per document) is also cut into row shards — the run's
//! plan's shards ([`crate::shards::RowShards`]), given to [`Scatter::with_row_shards`]: every sum
//! over its rows is taken within each shard (blocks counted from the shard's first row), then the
//! shards' sums are added in shard order. A worker holding one shard's rows therefore computes
//! exactly that shard's part, and the whole is the same bits whether the shards are summed here or
//! gathered from workers.

use linfa_linalg::eigh::{EigSort, Eigh};
use std::ops::Range;

use ndarray::{s, Array1, Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use crate::error::Result;
#[cfg(test)]
use crate::vectorize::Csr;
use crate::vectorize::Weights;

/// Rows per block in parallel reductions: fixed, so sums do not depend on the thread count.
pub const BLOCK: usize = 2048;

/// `shards` ranges of rows with about the same number of entries each, `starts` being the rows'
/// starts (a CSR `indptr`, or token offsets): range `s` is `bounds[s]..bounds[s + 1]`.
pub fn shard_bounds(starts: &[usize], shards: usize) -> Vec<usize> {
    let n = starts.len() - 1;
    let total = starts[n];
    let mut bounds = vec![0];
    for s in 1..shards {
        let target = total * s / shards;
        let d = starts.partition_point(|&x| x < target).min(n);
        bounds.push(d.max(*bounds.last().unwrap()));
    }
    bounds.push(n);
    bounds
}

/// Σ over the shards (in order) of `part(rows)`: a sum over rows as the row shards take it.
pub fn sum_by_shards(bounds: &[usize], part: impl Fn(Range<usize>) -> f64) -> f64 {
    bounds.windows(2).map(|w| part(w[0]..w[1])).fold(0.0, |total, p| total + p)
}

/// `$avx2` (a call of a kernel compiled for AVX2 and FMA) when `$wide` — from [`wide_simd`] —
/// says this CPU has them, else `$portable`: the one place the kernels are chosen.
macro_rules! fastest {
    ($wide:expr, $avx2:expr, $portable:expr) => {{
        #[cfg(target_arch = "x86_64")]
        let done = $wide && {
            // SAFETY: `$wide` comes from `wide_simd`, which checked AVX2 and FMA at run time.
            unsafe { $avx2 };
            true
        };
        #[cfg(not(target_arch = "x86_64"))]
        let done = {
            let _ = $wide;
            false
        };
        if !done {
            $portable
        }
    }};
}
pub(crate) use fastest;

/// `x · m` for sparse `x` (n × v) and dense `m` (v × l): one output row per task.
pub fn sparse_dense(x: &dyn Weights, m: ArrayView2<f32>) -> Array2<f32> {
    let mut out = Array2::<f32>::zeros((x.n_rows(), m.ncols()));
    sparse_dense_into(x, m, &mut out);
    out
}

/// [`sparse_dense`] into `out` (n × l, every value overwritten): iterations reuse one buffer
/// instead of faulting in fresh pages for each product.
pub fn sparse_dense_into(x: &dyn Weights, m: ArrayView2<f32>, out: &mut Array2<f32>) {
    assert_eq!(x.n_cols(), m.nrows(), "sparse_dense: inner dimensions differ");
    let l = m.ncols();
    assert_eq!(out.dim(), (x.n_rows(), l), "sparse_dense: output of the wrong shape");
    if l == 0 {
        return;
    }
    let m = m.as_standard_layout();
    let m = m.as_slice().expect("standard layout");
    let wide = wide_simd();
    let rows = out.as_slice_mut().expect("fresh array");
    rows.par_chunks_mut(l).with_min_len(256).enumerate().for_each_init(Vec::new, |buf, (r, row)| {
        let (cols, vals) = x.weight_row(r, buf);
        fastest!(wide, product_row_avx2(row, cols, vals, m), product_row(row, cols, vals, m));
    });
}

/// `xᵀ · m` by scattering: the rows of `x` stream past once while each entry adds its share
/// into an output row. Output rows are split into ranges with similar numbers of entries, one
/// task each; every output row is summed in row order of `x` (multiply, then add) — the same
/// sums, bit for bit, as [`sparse_dense`] on the stored transpose, whatever the number of tasks.
/// Scattering pays because the output rows hit follow the terms' frequencies (a few thousand hot
/// rows stay in cache), where gathering the rows of `m` reads all of it for every term.
/// With row shards, each shard's rows are summed on their own and the shards' sums added in order.
#[derive(Clone)]
pub struct Scatter {
    /// Output-row bounds of the ranges: range `p` is `bounds[p]..bounds[p + 1]`.
    bounds: Vec<usize>,
    /// `splits[p][r]`: where row `r`'s entries of range `p` start (its columns ascend), so the
    /// products never search a row.
    splits: Vec<Vec<usize>>,
    /// Bounds of the row shards (see [`shard_bounds`]).
    shards: Vec<usize>,
}

impl Scatter {
    /// One range per thread, each with about the same number of entries (more ranges balance
    /// no better and cost time: every range walks every row); `shards` row shards.
    pub fn new(x: &dyn Weights, threads: usize, shards: usize) -> Self {
        Scatter::with_row_shards(x, threads, shard_bounds(x.indptr(), shards.max(1)))
    }

    /// [`Scatter::new`] with the row shards' bounds given (`bounds[0]` = 0, the last = the rows).
    pub fn with_row_shards(x: &dyn Weights, threads: usize, row_shards: Vec<usize>) -> Self {
        assert!(
            row_shards.len() >= 2 && row_shards[0] == 0 && row_shards[row_shards.len() - 1] == x.n_rows(),
            "Scatter: row shards that cover the rows"
        );
        let v = x.n_cols();
        let parts = threads.max(1);
        let mut counts = vec![0usize; v];
        for &c in x.indices() {
            counts[c as usize] += 1;
        }
        let mut bounds = vec![0];
        let mut seen = 0;
        for (c, &n) in counts.iter().enumerate() {
            seen += n;
            if bounds.len() < parts && seen * parts >= x.nnz() * bounds.len() && c + 1 < v {
                bounds.push(c + 1);
            }
        }
        bounds.push(v);
        let splits = bounds
            .iter()
            .map(|&b| {
                let (indptr, indices) = (x.indptr(), x.indices());
                let before = |r: usize| indices[indptr[r]..indptr[r + 1]].partition_point(|&c| (c as usize) < b);
                (0..x.n_rows()).map(|r| indptr[r] + before(r)).collect()
            })
            .collect();
        Scatter { bounds, splits, shards: row_shards }
    }

    /// Bounds of the row shards the products sum by.
    pub fn row_shards(&self) -> &[usize] {
        &self.shards
    }

    /// `xᵀ · m`; `x` must be the matrix this was made for.
    pub fn product(&self, x: &dyn Weights, m: ArrayView2<f32>) -> Array2<f32> {
        let mut out = Array2::<f32>::zeros((x.n_cols(), m.ncols()));
        self.product_into(x, m, &mut out);
        out
    }

    /// [`Scatter::product`] into `out` (v × l, every value overwritten).
    pub fn product_into(&self, x: &dyn Weights, m: ArrayView2<f32>, out: &mut Array2<f32>) {
        assert_eq!(x.n_rows(), m.nrows(), "Scatter::product: inner dimensions differ");
        assert_eq!(self.splits[0].len(), x.n_rows(), "Scatter::product: made for another matrix");
        let (v, l) = (x.n_cols(), m.ncols());
        assert_eq!(out.dim(), (v, l), "Scatter::product: output of the wrong shape");
        if l == 0 || v == 0 {
            return;
        }
        let m = m.as_standard_layout();
        let m = m.as_slice().expect("standard layout");
        let wide = wide_simd();
        let mut tasks = Vec::new();
        let mut rest = out.as_slice_mut().expect("standard layout");
        for p in 0..self.bounds.len() - 1 {
            let (range, tail) = rest.split_at_mut((self.bounds[p + 1] - self.bounds[p]) * l);
            tasks.push((p, range));
            rest = tail;
        }
        tasks.into_par_iter().for_each(|(p, out)| {
            let first = self.bounds[p];
            let mut buf = Vec::new();
            let mut scatter_rows = |target: &mut [f32], rows: Range<usize>| {
                target.fill(0.0);
                for r in rows {
                    let (from, to) = (self.splits[p][r], self.splits[p + 1][r]);
                    let (cols, vals) = (&x.indices()[from..to], x.weights(r, from..to, &mut buf));
                    let source = &m[r * l..(r + 1) * l];
                    fastest!(
                        wide,
                        scatter_row_avx2(target, first, cols, vals, source),
                        scatter_row(target, first, cols, vals, source)
                    );
                }
            };
            let mut part = Vec::new();
            for (s, rows) in self.shards.windows(2).enumerate() {
                if s == 0 {
                    scatter_rows(out, rows[0]..rows[1]);
                } else {
                    part.resize(out.len(), 0.0);
                    scatter_rows(&mut part, rows[0]..rows[1]);
                    out.iter_mut().zip(&part).for_each(|(o, &v)| *o += v);
                }
            }
        });
    }
}

/// `out[c − first] += v · source` for each entry `(c, v)`; `out` has rows as long as `source`.
#[inline(always)]
fn scatter_row(out: &mut [f32], first: usize, cols: &[u32], vals: &[f32], source: &[f32]) {
    let l = source.len();
    for (&c, &v) in cols.iter().zip(vals) {
        let row = &mut out[(c as usize - first) * l..][..l];
        for (o, &s) in row.iter_mut().zip(source) {
            *o += v * s;
        }
    }
}

/// f32 lanes of one AVX2 vector.
const LANES_F32: usize = 8;

/// Output columns per pass of the AVX2 kernels: 8 of the 16 vector registers hold sums (or the
/// source row), the rest the broadcast value and loads. The LSA products (60 columns) take one
/// pass, not two.
#[cfg(target_arch = "x86_64")]
const SPAN_AVX2: usize = 64;

/// Calls `$span::<T>(args…, offset)` for each span of up to 64 of the `$l` columns, `T` the
/// span's vectors (the last one possibly partial).
#[cfg(target_arch = "x86_64")]
macro_rules! for_each_span {
    ($l:expr, $span:ident ( $($arg:expr),* )) => {{
        let mut offset = 0;
        while offset < $l {
            match ($l - offset).div_ceil(LANES_F32).min(SPAN_AVX2 / LANES_F32) {
                8 => $span::<8>($($arg,)* offset),
                7 => $span::<7>($($arg,)* offset),
                6 => $span::<6>($($arg,)* offset),
                5 => $span::<5>($($arg,)* offset),
                4 => $span::<4>($($arg,)* offset),
                3 => $span::<3>($($arg,)* offset),
                2 => $span::<2>($($arg,)* offset),
                _ => $span::<1>($($arg,)* offset),
            }
            offset += SPAN_AVX2;
        }
    }};
}

/// [`scatter_row`] with AVX2 vectors: the source row stays in registers, up to 8 vectors per
/// pass; a row's last vector is masked to its `l mod 8` lanes. Rows are not padded: 20 columns
/// take 80 bytes, not 96, and the hot rows of the output pack into fewer cache lines.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn scatter_row_avx2(out: &mut [f32], first: usize, cols: &[u32], vals: &[f32], source: &[f32]) {
    let l = source.len();
    assert!(cols.first().is_none_or(|&c| c as usize >= first), "entry before the output range");
    assert!(cols.last().is_none_or(|&c| (c as usize - first + 1) * l <= out.len()), "entry after the output range");
    // SAFETY: AVX2 is enabled here; entries lie inside `out` (checked above), and every vector
    // access is masked to the columns `..l` of its row.
    unsafe { for_each_span!(l, scatter_span_avx2(out, first, cols, vals, source)) }
}

/// Masks of the `T` vectors covering columns `offset..` of a row `l` long.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn lane_masks<const T: usize>(l: usize, offset: usize) -> [std::arch::x86_64::__m256i; T] {
    std::array::from_fn(|t| {
        let inside = (l - offset).saturating_sub(t * LANES_F32).min(LANES_F32);
        std::arch::x86_64::_mm256_loadu_si256(LANE_MASKS[LANES_F32 - inside..].as_ptr().cast())
    })
}

/// # Safety
/// Needs AVX2; every entry's output row (`source.len()` long) must lie inside `out`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn scatter_span_avx2<const T: usize>(
    out: &mut [f32],
    first: usize,
    cols: &[u32],
    vals: &[f32],
    source: &[f32],
    offset: usize,
) {
    use std::arch::x86_64::*;
    let l = source.len();
    let last = (l - offset) - (T - 1) * LANES_F32;
    let masks = lane_masks::<T>(l, offset);
    let src: [__m256; T] =
        std::array::from_fn(|t| _mm256_maskload_ps(source.as_ptr().add(offset + t * LANES_F32), masks[t]));
    let base = out.as_mut_ptr().add(offset);
    for (&c, &v) in cols.iter().zip(vals) {
        let v = _mm256_set1_ps(v);
        let row = base.add((c as usize - first) * l);
        for t in 0..T {
            let at = row.add(t * LANES_F32);
            if t + 1 < T || last >= LANES_F32 {
                _mm256_storeu_ps(at, _mm256_add_ps(_mm256_loadu_ps(at), _mm256_mul_ps(v, src[t])));
            } else if last == 4 {
                // A half vector (k = 20 ends so): plain 128-bit accesses, which a later load of the
                // same row can take straight from the store buffer; masked stores cannot forward.
                let product = _mm_mul_ps(_mm256_castps256_ps128(v), _mm256_castps256_ps128(src[t]));
                _mm_storeu_ps(at, _mm_add_ps(_mm_loadu_ps(at), product));
            } else {
                let sum = _mm256_add_ps(_mm256_maskload_ps(at, masks[t]), _mm256_mul_ps(v, src[t]));
                _mm256_maskstore_ps(at, masks[t], sum);
            }
        }
    }
}

/// `row = Σ vals[i] · m[cols[i]]`, where `m` has rows as long as `row`: up to 32 output columns
/// at a time stay in registers while the entries stream past, instead of a load and a store of
/// the output row per entry.
#[inline(always)]
fn product_row(row: &mut [f32], cols: &[u32], vals: &[f32], m: &[f32]) {
    let mut offset = 0;
    while offset < row.len() {
        match row.len() - offset {
            25.. => product_span::<32>(row, cols, vals, m, offset),
            17.. => product_span::<24>(row, cols, vals, m, offset),
            9.. => product_span::<16>(row, cols, vals, m, offset),
            _ => product_span::<8>(row, cols, vals, m, offset),
        }
        offset += 32;
    }
}

/// Output columns `offset..offset + N` of [`product_row`] (fewer at the row's end); each adds
/// its terms in entry order (multiply, then add), as a plain loop would.
#[inline(always)]
fn product_span<const N: usize>(row: &mut [f32], cols: &[u32], vals: &[f32], m: &[f32], offset: usize) {
    let l = row.len();
    let width = (l - offset).min(N);
    let mut acc = [0f32; N];
    for (&c, &v) in cols.iter().zip(vals) {
        let src = &m[c as usize * l + offset..][..width];
        for (a, &s) in acc.iter_mut().zip(src) {
            *a += v * s;
        }
    }
    row[offset..offset + width].copy_from_slice(&acc[..width]);
}

/// [`product_row`] with AVX2 vectors: 8 output columns per register, up to 8 registers per
/// pass over the entries (multiply, then add — the same roundings as the portable loop); a
/// row's last vector is read masked, so rows need no padding.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn product_row_avx2(row: &mut [f32], cols: &[u32], vals: &[f32], m: &[f32]) {
    let l = row.len();
    // Columns ascend, so checking the last one bounds every read below.
    assert!(cols.last().is_none_or(|&c| (c as usize + 1) * l <= m.len()), "column outside the dense operand");
    // SAFETY: AVX2 is enabled here; every read is masked to the columns `..l` of a row of `m`
    // just checked to lie inside it.
    unsafe { for_each_span!(l, product_span_avx2(row, cols, vals, m)) }
}

/// # Safety
/// Needs AVX2; every `(cols[i] + 1) · row.len()` must be at most `m.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn product_span_avx2<const T: usize>(row: &mut [f32], cols: &[u32], vals: &[f32], m: &[f32], offset: usize) {
    use std::arch::x86_64::*;
    let l = row.len();
    let full = l - offset >= T * LANES_F32;
    let masks = lane_masks::<T>(l, offset);
    let half = !full && l - offset - (T - 1) * LANES_F32 == 4;
    let mut acc = [_mm256_setzero_ps(); T];
    let base = m.as_ptr().add(offset);
    for (&c, &v) in cols.iter().zip(vals) {
        let v = _mm256_set1_ps(v);
        let source = base.add(c as usize * l);
        for (t, a) in acc.iter_mut().enumerate() {
            let at = source.add(t * LANES_F32);
            let s = match (t + 1 < T || full, half) {
                (true, _) => _mm256_loadu_ps(at),
                // A half vector (k = 20 ends so): one plain 128-bit load, upper lanes zero.
                (false, true) => _mm256_zextps128_ps256(_mm_loadu_ps(at)),
                (false, false) => _mm256_maskload_ps(at, masks[t]),
            };
            *a = _mm256_add_ps(*a, _mm256_mul_ps(v, s));
        }
    }
    let out = row.as_mut_ptr().add(offset);
    for (t, a) in acc.iter().enumerate() {
        _mm256_maskstore_ps(out.add(t * LANES_F32), masks[t], *a);
    }
}

/// Eight lanes in, eight out: `LANE_MASKS[8 − n..][..8]` selects the first n lanes of a vector.
#[cfg(target_arch = "x86_64")]
const LANE_MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// Whether the wide kernels can run here (checked at run time: the binary targets any x86-64).
pub fn wide_simd() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// `aᵀ · b` for tall dense `a` (n × p) and `b` (n × q), summed block by block in f64.
pub fn gram(a: ArrayView2<f32>, b: ArrayView2<f32>) -> Array2<f64> {
    gram_by_shards(a, b, &[0, a.nrows()])
}

/// [`gram`] summed within each row shard (`bounds`, blocks counted from the shard's first row),
/// the shards' sums then added in order.
pub fn gram_by_shards(a: ArrayView2<f32>, b: ArrayView2<f32>, bounds: &[usize]) -> Array2<f64> {
    assert_eq!(a.nrows(), b.nrows());
    assert_eq!(bounds.last().copied(), Some(a.nrows()), "gram_by_shards: shards do not cover the rows");
    let blocks: Vec<(usize, Range<usize>)> = bounds
        .windows(2)
        .enumerate()
        .flat_map(|(shard, w)| (w[0]..w[1]).step_by(BLOCK).map(move |s| (shard, s..(s + BLOCK).min(w[1]))))
        .collect();
    let parts: Vec<Array2<f32>> = blocks
        .par_iter()
        .map(|(_, rows)| a.slice(s![rows.clone(), ..]).t().dot(&b.slice(s![rows.clone(), ..])))
        .collect();
    let mut total = Array2::<f64>::zeros((a.ncols(), b.ncols()));
    let mut shard_sum = total.clone();
    let mut shard = 0;
    for ((of, _), part) in blocks.iter().zip(parts) {
        if *of != shard {
            total += &shard_sum;
            shard_sum.fill(0.0);
            shard = *of;
        }
        shard_sum.zip_mut_with(&part, |s, &p| *s += p as f64);
    }
    total += &shard_sum;
    total
}

/// `a · t` for tall `a` (n × p) and small `t` (p × q), in parallel row blocks.
pub fn tall_times_small(a: ArrayView2<f32>, t: ArrayView2<f32>) -> Array2<f32> {
    let mut out = Array2::<f32>::zeros((a.nrows(), t.ncols()));
    let mut blocks: Vec<_> = out.axis_chunks_iter_mut(Axis(0), BLOCK).zip(a.axis_chunks_iter(Axis(0), BLOCK)).collect();
    blocks.par_iter_mut().for_each(|(o, a)| o.assign(&a.dot(&t)));
    out
}

/// `a · t` for tall `a` (n × p) and small `t` (p × q, q ≤ p) in `a`'s own buffer, one row block
/// at a time: the same products as [`tall_times_small`] without a second tall array (143 MB at 8×
/// the xwlb corpus).
pub fn tall_times_small_in_place(mut a: Array2<f32>, t: ArrayView2<f32>) -> Array2<f32> {
    let (n, p) = a.dim();
    let q = t.ncols();
    assert!(t.nrows() == p && q <= p, "tall_times_small_in_place: t must be p × q with q ≤ p");
    assert!(a.is_standard_layout(), "tall_times_small_in_place: a must be in standard layout");
    a.axis_chunks_iter_mut(Axis(0), BLOCK).into_par_iter().for_each(|mut block| {
        let product = block.dot(&t);
        block.slice_mut(s![.., ..q]).assign(&product);
    });
    if q == p {
        return a;
    }
    // Each row's q values move to their packed place, which is never after where they are.
    let (mut data, _) = a.into_raw_vec_and_offset();
    for r in 1..n {
        data.copy_within(r * p..r * p + q, r * q);
    }
    data.truncate(n * q);
    data.shrink_to_fit();
    Array2::from_shape_vec((n, q), data).expect("n × q values")
}

/// An orthonormal basis of the column space of `y`, by eigendecomposition of its Gram matrix;
/// `passes` = 2 repeats it (as CholeskyQR2) so the basis is orthonormal to working precision.
/// Directions with no weight become zero columns. The Gram matrix is summed by the row shards
/// `bounds`.
pub fn orthonormalize(y: Array2<f32>, passes: usize, bounds: &[usize]) -> Array2<f32> {
    let mut q = y;
    for _ in 0..passes {
        let t = whitening(gram_by_shards(q.view(), q.view(), bounds));
        q = tall_times_small_in_place(q, t.view());
    }
    q
}

/// The `t` that makes `q · t` orthonormal, given `gram` = qᵀq (zero columns for directions with
/// no weight).
fn whitening(gram: Array2<f64>) -> Array2<f32> {
    let (values, vectors) = gram.eigh().expect("symmetric Gram matrix").sort_eig_desc();
    let floor = values[0].max(0.0) * 1e-12;
    let mut t = Array2::<f32>::zeros(vectors.dim());
    for (j, &lambda) in values.iter().enumerate() {
        if lambda > floor && lambda > 0.0 {
            let scale = 1.0 / lambda.sqrt();
            t.column_mut(j).assign(&vectors.column(j).mapv(|v| (v * scale) as f32));
        }
    }
    t
}

/// The documents' side of a randomized SVD: X's rows and the tall matrix Q beside them (the
/// basis, at the end U) — every row here ([`TallRows`]), or row shards held by workers. Every
/// sum over documents is taken by the row shards.
pub trait TallSide {
    /// Q ← X · `m` (`m` terms × l).
    fn multiply(&mut self, m: ArrayView2<f32>) -> Result<()>;
    /// QᵀQ.
    fn gram(&mut self) -> Result<Array2<f64>>;
    /// Q ← Q · `t` (`t` l × q, q ≤ l).
    fn transform(&mut self, t: ArrayView2<f32>) -> Result<()>;
    /// XᵀQ (terms × l).
    fn transposed_product(&mut self) -> Result<Array2<f32>>;
}

/// X's rows here, with the plan of their Xᵀ products (and row shards), and Q beside them (held by
/// whoever lends it: what holds the rows keeps Q between steps).
pub struct TallRows<'a> {
    pub x: &'a dyn Weights,
    pub scatter: &'a Scatter,
    pub q: &'a mut Array2<f32>,
}

impl TallSide for TallRows<'_> {
    fn multiply(&mut self, m: ArrayView2<f32>) -> Result<()> {
        if self.q.dim() == (self.x.n_rows(), m.ncols()) {
            // The old Q's buffer takes the product.
            sparse_dense_into(self.x, m, self.q);
        } else {
            *self.q = sparse_dense(self.x, m);
        }
        Ok(())
    }

    fn gram(&mut self) -> Result<Array2<f64>> {
        Ok(gram_by_shards(self.q.view(), self.q.view(), self.scatter.row_shards()))
    }

    fn transform(&mut self, t: ArrayView2<f32>) -> Result<()> {
        *self.q = tall_times_small_in_place(std::mem::take(self.q), t);
        Ok(())
    }

    fn transposed_product(&mut self) -> Result<Array2<f32>> {
        Ok(self.scatter.product(self.x, self.q.view()))
    }
}

/// Make the side's Q orthonormal (see [`orthonormalize`]).
fn orthonormalize_side(side: &mut dyn TallSide, passes: usize) -> Result<()> {
    for _ in 0..passes {
        let t = whitening(side.gram()?);
        side.transform(t.view())?;
    }
    Ok(())
}

/// Extra columns of the random test matrix beyond the components asked for (scikit-learn: 10).
pub const SVD_OVERSAMPLE: usize = 10;

/// Power iterations (scikit-learn's TruncatedSVD uses 5). Each costs two passes over the matrix;
/// clustering quality (NMI on the labelled check) and NMF coherence do not improve beyond 2.
pub const SVD_POWER_ITERATIONS: usize = 2;

/// A truncated SVD `x ≈ u · diag(s) · vt` with `k` components.
pub struct Svd {
    /// n × k left singular vectors.
    pub u: Array2<f32>,
    pub s: Array1<f64>,
    /// k × v right singular vectors.
    pub vt: Array2<f32>,
}

/// Randomized truncated SVD (Halko, Martinsson & Tropp 2011, as scikit-learn's
/// `randomized_svd`): a seeded random test matrix with `oversample` extra columns, `power_iters`
/// normalized power iterations, then the exact SVD of the small projected matrix. Signs are
/// fixed so the largest entry of each right singular vector is positive.
pub fn randomized_svd(
    x: &dyn Weights,
    scatter: &Scatter,
    k: usize,
    oversample: usize,
    power_iters: usize,
    seed: u64,
) -> Svd {
    let mut u = Array2::zeros((0, 0));
    let (s, vt) = randomized_svd_of(
        &mut TallRows { x, scatter, q: &mut u },
        x.n_rows(),
        x.n_cols(),
        k,
        oversample,
        power_iters,
        seed,
    )
    .expect("rows held here answer");
    Svd { u, s, vt }
}

/// [`randomized_svd`] of an `n` × `v` matrix whose documents' side is `side`: returns the singular
/// values and Vᵀ; U is left in the side (its Q).
pub fn randomized_svd_of(
    side: &mut dyn TallSide,
    n: usize,
    v: usize,
    k: usize,
    oversample: usize,
    power_iters: usize,
    seed: u64,
) -> Result<(Array1<f64>, Array2<f32>)> {
    let l = (k + oversample).min(n).min(v).max(1);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let omega = Array2::from_shape_simple_fn((v, l), || rng.gen_range(-1.0f32..1.0));
    // Power iterations only need a well-conditioned basis (scikit-learn normalizes them by LU);
    // the final basis is made orthonormal to working precision. The terms' side is whole.
    side.multiply(omega.view())?;
    drop(omega);
    orthonormalize_side(side, 1)?;
    let terms = [0, v];
    for i in 0..power_iters {
        crate::progress::check();
        let z = orthonormalize(side.transposed_product()?, 1, &terms);
        side.multiply(z.view())?;
        orthonormalize_side(side, if i + 1 == power_iters { 2 } else { 1 })?;
    }
    if power_iters == 0 {
        orthonormalize_side(side, 1)?;
    }
    // B = qᵀ x (l × v), held as its transpose xᵀ q (v × l); B Bᵀ = (xᵀq)ᵀ (xᵀq).
    let bt = side.transposed_product()?;
    let (values, vectors) = gram(bt.view(), bt.view()).eigh().expect("symmetric Gram matrix").sort_eig_desc();
    let k = k.min(l);
    let s: Array1<f64> = values.iter().take(k).map(|&v| v.max(0.0).sqrt()).collect();
    let mut ub = vectors.slice(s![.., ..k]).mapv(|v| v as f32);
    // vᵀ = diag(1/s) · ubᵀ · B, i.e. v = bt · ub · diag(1/s).
    let mut v = tall_times_small(bt.view(), ub.view());
    for (j, mut col) in v.axis_iter_mut(Axis(1)).enumerate() {
        let inv = if s[j] > 0.0 { (1.0 / s[j]) as f32 } else { 0.0 };
        col.mapv_inplace(|x| x * inv);
    }
    for j in 0..k {
        let col = v.column(j);
        let largest = col.iter().copied().fold(0f32, |m, x| if x.abs() > m.abs() { x } else { m });
        if largest < 0.0 {
            // Negated exactly: q · (−ub) is −(q · ub) bit for bit.
            v.column_mut(j).mapv_inplace(|x| -x);
            ub.column_mut(j).mapv_inplace(|x| -x);
        }
    }
    // U = q · ub.
    side.transform(ub.view())?;
    Ok((s, v.reversed_axes().as_standard_layout().to_owned()))
}

/// [`randomized_svd`] with the project's settings ([`SVD_OVERSAMPLE`], [`SVD_POWER_ITERATIONS`]):
/// what LSA and NMF's start use.
pub fn truncated_svd(x: &dyn Weights, scatter: &Scatter, k: usize, seed: u64) -> Svd {
    randomized_svd(x, scatter, k, SVD_OVERSAMPLE, SVD_POWER_ITERATIONS, seed)
}

/// Scale each row to unit Euclidean length (zero rows stay zero).
pub fn normalize_rows(m: &mut Array2<f32>) {
    m.axis_iter_mut(Axis(0)).into_par_iter().for_each(|mut row| {
        let norm = row.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>().sqrt();
        if norm > 0.0 {
            let inv = (1.0 / norm) as f32;
            row.mapv_inplace(|x| x * inv);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 6 × 5 matrix of rank 2 (two blocks of documents using two blocks of terms).
    fn blocks() -> Csr<f32> {
        let rows = vec![
            vec![(0, 3.0), (1, 1.0)],
            vec![(0, 2.0), (1, 2.0), (2, 1.0)],
            vec![(1, 1.0), (2, 2.0)],
            vec![(3, 1.0), (4, 4.0)],
            vec![(3, 2.0), (4, 1.0)],
            vec![(3, 3.0), (4, 3.0)],
        ];
        Csr::from_rows(5, rows)
    }

    fn dense(x: &Csr<f32>) -> Array2<f32> {
        let mut d = Array2::zeros((x.n_rows(), x.n_cols));
        for r in 0..x.n_rows() {
            let (c, v) = x.row(r);
            for (&c, &v) in c.iter().zip(v) {
                d[[r, c as usize]] = v;
            }
        }
        d
    }

    #[test]
    fn transpose_and_products_match_dense_algebra() {
        let x = blocks();
        let xt = x.transpose();
        assert_eq!(dense(&xt), dense(&x).t());
        let m = Array2::from_shape_fn((5, 3), |(i, j)| (i * 3 + j) as f32 * 0.5 - 2.0);
        assert_eq!(sparse_dense(&x, m.view()), dense(&x).dot(&m));
        let b = Array2::from_shape_fn((6, 3), |(i, j)| (i + 2 * j) as f32);
        assert_eq!(gram(dense(&x).view(), b.view()), dense(&x).t().dot(&b).mapv(|v| v as f64));
    }

    /// The AVX2 kernel and the portable one give bit-identical rows, for widths that leave
    /// every kind of span (8, 16, 24, 32 columns, partly used) and rows longer than a register set;
    /// rows are not padded, so the masked reads at a row's end are exercised too.
    #[test]
    fn wide_and_portable_kernels_agree_bit_for_bit() {
        let n_cols = 300;
        let rows: Vec<Vec<(u32, f32)>> = (0..40u32)
            .map(|r| {
                (0..n_cols as u32)
                    .filter(|c| (c * 7 + r * 13) % 5 == 0)
                    .map(|c| (c, 1.0 / (1 + c + r) as f32))
                    .collect()
            })
            .collect();
        let x = Csr::from_rows(n_cols, rows);
        for l in [1, 5, 8, 20, 24, 31, 37, 64, 70] {
            let m = Array2::from_shape_fn((n_cols, l), |(i, j)| ((i * 31 + j * 17) % 97) as f32 / 7.0 - 3.0);
            let product = sparse_dense(&x, m.view());
            for r in 0..x.n_rows() {
                let (cols, vals) = x.row(r);
                let mut portable = vec![0f32; l];
                product_row(&mut portable, cols, vals, m.as_slice().unwrap());
                let plain: Vec<f32> =
                    (0..l).map(|j| cols.iter().zip(vals).fold(0.0, |a, (&c, &v)| a + v * m[[c as usize, j]])).collect();
                assert_eq!(portable, plain, "portable kernel, l = {l}, row {r}");
                assert_eq!(product.row(r).to_vec(), plain, "sparse_dense, l = {l}, row {r}");
            }
        }
    }

    /// `xᵀ · m` by scattering equals the product with the stored transpose bit for bit — AVX2
    /// and portable kernels, one output range or several (1 and 3 threads), every span shape.
    #[test]
    fn scattered_transpose_product_equals_gathered_bit_for_bit() {
        let (n_rows, n_cols) = (90, 40);
        let rows: Vec<Vec<(u32, f32)>> = (0..n_rows as u32)
            .map(|r| {
                (0..n_cols as u32)
                    .filter(|c| (c * 7 + r * 13) % 4 == 0)
                    .map(|c| (c, 1.0 / (1 + c + r) as f32))
                    .collect()
            })
            .collect();
        let x = Csr::from_rows(n_cols, rows);
        let xt = x.transpose();
        for l in [1, 5, 8, 20, 31, 64, 70] {
            let m = Array2::from_shape_fn((n_rows, l), |(i, j)| ((i * 31 + j * 17) % 97) as f32 / 7.0 - 3.0);
            let gathered = sparse_dense(&xt, m.view());
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let scattered = pool.install(|| Scatter::new(&x, threads, 1).product(&x, m.view()));
                assert_eq!(scattered, gathered, "l = {l}, {threads} threads");
            }
            let mut portable = Array2::<f32>::zeros((n_cols, l));
            for r in 0..n_rows {
                let (cols, vals) = x.row(r);
                scatter_row(portable.as_slice_mut().unwrap(), 0, cols, vals, m.row(r).as_slice().unwrap());
            }
            assert_eq!(portable, gathered, "portable scatter, l = {l}");
        }
    }

    /// The rows of `x` in `range` as a matrix of their own (what a worker holding a shard has).
    fn rows_of(x: &Csr<f32>, range: Range<usize>) -> Csr<f32> {
        Csr::from_rows(
            x.n_cols,
            range.map(|r| x.row(r).0.iter().copied().zip(x.row(r).1.iter().copied()).collect()).collect(),
        )
    }

    /// A product or Gram matrix summed by row shards is, bit for bit, what workers each holding
    /// one shard would compute alone (one shard of their own) and the driver would add in shard
    /// order — and it does not depend on the thread count.
    #[test]
    fn sums_by_shards_equal_shards_summed_apart() {
        let (n_rows, n_cols, l) = (3 * BLOCK / 2 + 77, 50, 20);
        let rows: Vec<Vec<(u32, f32)>> = (0..n_rows as u32)
            .map(|r| {
                (0..n_cols as u32)
                    .filter(|c| (c * 7 + r * 13) % 6 == 0)
                    .map(|c| (c, 1.0 / (1 + c + r % 97) as f32))
                    .collect()
            })
            .collect();
        let x = Csr::from_rows(n_cols, rows);
        let m = Array2::from_shape_fn((n_rows, l), |(i, j)| ((i * 31 + j * 17) % 97) as f32 / 7.0 - 3.0);
        let here = Scatter::new(&x, 2, 3);
        let bounds = here.row_shards().to_vec();
        assert_eq!(bounds.len(), 4);
        assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{bounds:?}");
        let mut product = Array2::<f32>::zeros((n_cols, l));
        let mut gram_sum = Array2::<f64>::zeros((l, l));
        for w in bounds.windows(2) {
            let part = rows_of(&x, w[0]..w[1]);
            let block = m.slice(s![w[0]..w[1], ..]);
            product += &Scatter::new(&part, 1, 1).product(&part, block);
            gram_sum += &gram(block, block);
        }
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let scattered = pool.install(|| Scatter::new(&x, threads, 3).product(&x, m.view()));
            assert_eq!(scattered, product, "{threads} threads");
            assert_eq!(pool.install(|| gram_by_shards(m.view(), m.view(), &bounds)), gram_sum, "{threads} threads");
        }
        // One shard is the plain sum.
        assert_eq!(gram_by_shards(m.view(), m.view(), &[0, n_rows]), gram(m.view(), m.view()));
    }

    #[test]
    fn randomized_svd_recovers_singular_values_of_a_small_matrix() {
        let x = blocks();
        let svd = randomized_svd(&x, &Scatter::new(&x, 1, 1), 3, 2, 3, 7);
        // Exact values from the dense 6 × 5 matrix (numpy.linalg.svd): two blocks, rank 5 at most.
        let d = dense(&x);
        let gram_values = {
            let g = d.t().dot(&d).mapv(|v| v as f64);
            g.eigh().unwrap().sort_eig_desc().0
        };
        for j in 0..3 {
            assert!((svd.s[j] - gram_values[j].sqrt()).abs() < 1e-4, "{} vs {}", svd.s[j], gram_values[j].sqrt());
        }
        // u · diag(s) · vt reproduces the rank-3 approximation; u has orthonormal columns.
        let utu = gram(svd.u.view(), svd.u.view());
        for i in 0..3 {
            for j in 0..3 {
                assert!((utu[[i, j]] - if i == j { 1.0 } else { 0.0 }).abs() < 1e-5);
            }
        }
        let same = randomized_svd(&x, &Scatter::new(&x, 2, 1), 3, 2, 3, 7);
        assert_eq!(same.vt, svd.vt, "seeded: identical");
    }

    #[test]
    fn products_in_place_equal_products_beside_bit_for_bit() {
        let a = Array2::from_shape_fn((BLOCK + 37, 6), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 7.0 - 0.6);
        for q in [6, 4, 1] {
            let t = Array2::from_shape_fn((6, q), |(i, j)| ((i + 2 * j) % 5) as f32 / 3.0 - 0.5);
            let beside = tall_times_small(a.view(), t.view());
            let in_place = tall_times_small_in_place(a.clone(), t.view());
            assert_eq!(in_place.dim(), (BLOCK + 37, q));
            assert!(beside.iter().zip(&in_place).all(|(x, y)| x.to_bits() == y.to_bits()), "q = {q}");
        }
    }

    #[test]
    fn rows_normalize_to_unit_length() {
        let mut m = Array2::from_shape_vec((2, 2), vec![3.0f32, 4.0, 0.0, 0.0]).unwrap();
        normalize_rows(&mut m);
        assert_eq!(m.row(0).to_vec(), vec![0.6, 0.8]);
        assert_eq!(m.row(1).to_vec(), vec![0.0, 0.0]);
    }
}
