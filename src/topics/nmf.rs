//! Non-negative matrix factorization `X ≈ W · H` of the sparse TF-IDF matrix, Frobenius loss,
//! by coordinate descent (HALS) as scikit-learn's `NMF(solver="cd")`: NNDSVDa start, W then H
//! updated per iteration, stop when the projected-gradient "violation" falls below `tolerance`
//! times the first iteration's.
//!
//! The data only enters through two sparse × dense products per iteration (`X · Hᵀ` gathered,
//! `Xᵀ · W` scattered from the rows of X, see [`Scatter`]); each row of W (and of Hᵀ) is then
//! updated on its own, so rows run in parallel and the result does not depend on the thread count.
//! Every sum over documents (`Xᵀ · W`, `WᵀW`, the violation, the start's norms) is taken by the
//! scatter plan's row shards (the plan's shards, [`crate::shards::RowShards`]), so a shard's part
//! is the same wherever its rows are held.

use std::borrow::Cow;

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::lanes::{from_lanes, to_lanes, LANES};
use super::nmf_shards::NmfAway;
use crate::error::Result;
use crate::linalg::{
    fastest, gram, gram_by_shards, randomized_svd_of, sparse_dense, sparse_dense_into, sum_by_shards, wide_simd,
    Scatter, TallRows, TallSide, BLOCK, SVD_OVERSAMPLE, SVD_POWER_ITERATIONS,
};
use crate::shards::away::retried_from_start;
#[cfg(test)]
use crate::shards::away::AwayShards;
use crate::shards::rows::MatrixRows;
use crate::shards::RowShards;
use crate::vectorize::Csr;

/// NMF settings: `max_iterations` 200 and `tolerance` 1e-4, as scikit-learn.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NmfParams {
    pub max_iterations: usize,
    pub tolerance: f64,
}

impl Default for NmfParams {
    fn default() -> Self {
        NmfParams { max_iterations: 200, tolerance: 1e-4 }
    }
}

pub struct NmfFit {
    /// n × k document weights.
    pub w: Array2<f32>,
    /// k × v topic–term weights (scikit-learn's `components_`).
    pub h: Array2<f32>,
    pub iterations: usize,
    /// ‖X − WH‖_F at the end.
    pub reconstruction_error: f64,
}

#[cfg(test)] // what the tests check the fit's own start and error against
/// NNDSVDa (Boutsidis & Gallopoulos 2008; zeros filled with the mean of X) from the first `k`
/// components of `svd` of `x`; sums over documents by the row shards `bounds`. Returns W (n × k)
/// and Hᵀ (v × k).
pub fn nndsvda(svd: &crate::linalg::Svd, x: &Csr<f32>, k: usize, bounds: &[usize]) -> (Array2<f32>, Array2<f32>) {
    let sums = start_sums(&svd.u, x, k, bounds);
    let mean = sums.mean(x.n_rows(), x.n_cols);
    let (columns, ht) = start_h(&svd.s, &svd.vt, k, &sums, mean);
    (start_w(&svd.u, &columns, k, mean), ht)
}

/// What NNDSVDa needs of the documents' side: per component j, Σ of the squares of the positive
/// and negative parts of U's column j (both of |U_j| for the leading pair, which has one sign
/// throughout), and the mean of X's entries — summed over documents by the row shards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct StartSums {
    parts: Vec<[f64; 2]>,
    /// Σ of X's entries.
    values: f64,
}

/// The part of `u` in U's column `j` that NNDSVDa keeps for `sign`.
fn kept(j: usize, sign: f32, u: f32) -> f32 {
    if j == 0 {
        u.abs()
    } else {
        (u * sign).max(0.0)
    }
}

/// [`StartSums`] of `u`'s rows (U's, `k` components) and `x`'s.
pub(super) fn start_sums(u: &Array2<f32>, x: &Csr<f32>, k: usize, bounds: &[usize]) -> StartSums {
    let parts = (0..k.min(u.ncols()))
        .map(|j| {
            let column = u.column(j);
            let squares = |sign: f32| {
                sum_by_shards(bounds, |rows| {
                    column.slice(ndarray::s![rows]).iter().map(|&v| (kept(j, sign, v) as f64).powi(2)).sum()
                })
            };
            [squares(1.0), squares(-1.0)]
        })
        .collect();
    let sum = sum_by_shards(bounds, |rows| {
        x.values[x.indptr[rows.start]..x.indptr[rows.end]].iter().map(|&v| v as f64).sum()
    });
    StartSums { parts, values: sum }
}

impl StartSums {
    /// Add a shard's sums (shards in order, from zero).
    pub(super) fn add(&mut self, shard: &StartSums) {
        for (total, part) in self.parts.iter_mut().zip(&shard.parts) {
            total[0] += part[0];
            total[1] += part[1];
        }
        self.values += shard.values;
    }

    pub(super) fn zero(components: usize) -> StartSums {
        StartSums { parts: vec![[0.0; 2]; components], values: 0.0 }
    }

    /// The mean of the entries of X (n × v, zeros included).
    pub(super) fn mean(&self, n: usize, v: usize) -> f32 {
        (self.values / (n * v).max(1) as f64) as f32
    }

    pub(super) fn components(&self) -> usize {
        self.parts.len()
    }
}

/// How W's column j comes from U's: the part kept (`sign`) and its scale λ / ‖part‖.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) struct WColumn {
    sign: f32,
    lambda: f64,
    norm: f64,
}

/// From the singular values `s`, Vᵀ and the documents' [`StartSums`]: each pair keeps the larger
/// of its positive and negative parts (by the product of the two norms). Returns how W's columns
/// are made and the start's Hᵀ (v × k, zeros filled with X's `mean`).
pub(super) fn start_h(
    s: &ndarray::Array1<f64>,
    vt: &Array2<f32>,
    k: usize,
    sums: &StartSums,
    mean: f32,
) -> (Vec<Option<WColumn>>, Array2<f32>) {
    let v = vt.ncols();
    let mut ht = Array2::<f32>::zeros((v, k));
    let terms = [0, v];
    let columns = (0..k.min(s.len()))
        .map(|j| {
            let y = vt.row(j);
            let part = |sign: f32| -> Vec<f32> { y.iter().map(|&b| kept(j, sign, b)).collect() };
            let term_norm =
                |b: &[f32]| sum_by_shards(&terms, |r| b[r].iter().map(|&x| (x as f64).powi(2)).sum::<f64>()).sqrt();
            let (pos, neg) = (part(1.0), part(-1.0));
            let (na_pos, na_neg) = (sums.parts[j][0].sqrt(), sums.parts[j][1].sqrt());
            let (nb_pos, nb_neg) = (term_norm(&pos), term_norm(&neg));
            let (sign, na, b, nb) = if na_pos * nb_pos >= na_neg * nb_neg {
                (1.0, na_pos, pos, nb_pos)
            } else {
                (-1.0, na_neg, neg, nb_neg)
            };
            if na == 0.0 || nb == 0.0 {
                return None;
            }
            let lambda = (s[j] * na * nb).sqrt();
            for (o, v) in ht.column_mut(j).iter_mut().zip(&b) {
                *o = (lambda * *v as f64 / nb) as f32;
            }
            Some(WColumn { sign, lambda, norm: na })
        })
        .collect();
    ht.mapv_inplace(|x| if x < 1e-6 { mean } else { x });
    (columns, ht)
}

/// The start's rows of W from U's rows `u`, as `columns` say (`k` columns; zeros filled with the
/// `mean` of X).
pub(super) fn start_w(u: &Array2<f32>, columns: &[Option<WColumn>], k: usize, mean: f32) -> Array2<f32> {
    let mut w = Array2::<f32>::zeros((u.nrows(), k));
    for (j, column) in columns.iter().enumerate() {
        if let Some(WColumn { sign, lambda, norm }) = *column {
            for (o, &v) in w.column_mut(j).iter_mut().zip(u.column(j)) {
                *o = (lambda * kept(j, sign, v) as f64 / norm) as f32;
            }
        }
    }
    w.mapv_inplace(|x| if x < 1e-6 { mean } else { x });
    w
}

/// One HALS sweep over every row of `factor` (n × k) given `cross` = X·other (n × k) and
/// `gram` = otherᵀ·other (k × k). Returns Σ |projected gradient| (scikit-learn's violation),
/// summed by the row shards `bounds`.
fn sweep(factor: &mut Array2<f32>, cross: ArrayView2<f32>, gram: &Array2<f64>, bounds: &[usize]) -> f64 {
    let k = factor.ncols();
    let gram: Vec<f32> = gram.iter().map(|&g| g as f32).collect();
    let (factor, cross) = (factor.as_slice_mut().expect("standard layout"), cross.as_slice().expect("standard layout"));
    let mut violation = 0.0;
    for rows in bounds.windows(2) {
        let span = rows[0] * k..rows[1] * k;
        let parts: Vec<f64> = factor[span.clone()]
            .par_chunks_mut(BLOCK * k)
            .zip(cross[span].par_chunks(BLOCK * k))
            .map(|(block, cross)| sweep_block(block, cross, &gram, k))
            .collect();
        violation += parts.iter().sum::<f64>();
    }
    violation
}

fn sweep_block(block: &mut [f32], cross: &[f32], gram: &[f32], k: usize) -> f64 {
    // The rows in hand, their cross products and projected gradients, topic-major, one lane per
    // row (see `lanes`). Each lane's chain of additions is the row's own, in the same order as
    // one row at a time (multiply, then add — never fused), so the result does not depend on
    // the grouping. Spare lanes of a last, short group are swept along, never written back.
    let mut lanes = vec![0f32; k * LANES];
    let mut cross_lanes = vec![0f32; k * LANES];
    let mut projected = vec![0f32; k * LANES];
    // Violation summed per lane (independent chains), lanes added at the end.
    let mut violation = [0f64; LANES];
    let wide = wide_simd();
    for (group, c) in block.chunks_mut(LANES * k).zip(cross.chunks(LANES * k)) {
        let rows = group.len() / k;
        to_lanes(wide, group, k, &mut lanes);
        to_lanes(wide, c, k, &mut cross_lanes);
        sweep_lanes_fastest(wide, &mut lanes, &cross_lanes, gram, k, &mut projected);
        from_lanes(wide, &lanes, k, group);
        for gradients in projected.chunks_exact(LANES) {
            for (sum, &g) in violation[..rows].iter_mut().zip(gradients) {
                *sum += g as f64;
            }
        }
    }
    violation.iter().sum()
}

/// [`sweep_lanes`] compiled for AVX2 when `wide` (checked by [`wide_simd`]), else as is.
fn sweep_lanes_fastest(wide: bool, lanes: &mut [f32], cross: &[f32], gram: &[f32], k: usize, projected: &mut [f32]) {
    fastest!(wide, sweep_lanes_avx2(lanes, cross, gram, k, projected), sweep_lanes(lanes, cross, gram, k, projected));
}

/// One HALS step per topic over `LANES` rows held topic-major in `lanes`: gradient, |projected
/// gradient| into `projected`, update. In f32, as the factors are stored and as scikit-learn
/// sweeps float32 data (the violation is summed in f64 by the caller); against the f64 sweep
/// this moved no top term and no iteration count, and halves the arithmetic.
#[inline(always)]
fn sweep_lanes(lanes: &mut [f32], cross: &[f32], gram: &[f32], k: usize, projected: &mut [f32]) {
    for t in 0..k {
        let g = &gram[t * k..(t + 1) * k];
        let mut grads = [-0.0f32; LANES];
        for (r, &gr) in g.iter().enumerate() {
            let x: &[f32; LANES] = lanes[r * LANES..(r + 1) * LANES].try_into().expect("one lane per row");
            for (sum, &x) in grads.iter_mut().zip(x) {
                *sum += gr * x;
            }
        }
        let span = t * LANES..(t + 1) * LANES;
        let values: &mut [f32; LANES] = (&mut lanes[span.clone()]).try_into().expect("one lane per row");
        let cross: &[f32; LANES] = cross[span.clone()].try_into().expect("one lane per row");
        let projected: &mut [f32; LANES] = (&mut projected[span]).try_into().expect("one lane per row");
        let hess = g[t];
        for i in 0..LANES {
            let grad = grads[i] - cross[i];
            projected[i] = if values[i] == 0.0 { grad.min(0.0) } else { grad }.abs();
            if hess != 0.0 {
                values[i] = (values[i] - grad / hess).max(0.0);
            }
        }
    }
}

/// The same loop compiled for AVX2 (8 lanes of f32 instead of SSE2's 4).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sweep_lanes_avx2(lanes: &mut [f32], cross: &[f32], gram: &[f32], k: usize, projected: &mut [f32]) {
    sweep_lanes(lanes, cross, gram, k, projected)
}

/// Fit `k` topics to the TF-IDF matrix (n × v) from NNDSVDa on a seeded randomized SVD, every sum
/// over documents taken by the row shards `shards`. Its rows are held here, or with a sharded
/// run's workers, each making its shard's rows from its tokens ([`super::nmf_shards`]; the
/// documents' side — X's rows, U's and W's — stays there): the same fit, bit for bit.
pub fn nmf(rows: MatrixRows<Csr<f32>>, shards: &RowShards, k: usize, seed: u64, params: &NmfParams) -> Result<NmfFit> {
    let n = *shards.bounds.last().expect("row shards' bounds");
    match rows {
        MatrixRows::Here(x) => {
            // One plan for the Xᵀ products of the start's SVD and of the fit.
            let scatter = Scatter::with_row_shards(x, rayon::current_num_threads(), shards.bounds.clone());
            let documents = DocumentRows::new(Cow::Borrowed(x), Cow::Owned(scatter));
            fit_from_start(documents, (n, x.n_cols), k, seed, params)
        }
        MatrixRows::Away { away, from } => retried_from_start(super::nmf_shards::WHAT, || {
            fit_from_start(NmfAway::start(away, from, shards)?, (n, from.vocabulary.len()), k, seed, params)
        }),
    }
}

/// NNDSVDa's start (the SVD's and W's documents' side on `documents`), then the fit.
fn fit_from_start(
    mut documents: impl DocumentSide,
    (n, v): (usize, usize),
    k: usize,
    seed: u64,
    params: &NmfParams,
) -> Result<NmfFit> {
    let (s, vt) = randomized_svd_of(&mut *documents.tall(), n, v, k, SVD_OVERSAMPLE, SVD_POWER_ITERATIONS, seed)?;
    let sums = documents.start_sums(k)?;
    let mean = sums.mean(n, v);
    let (columns, ht) = start_h(&s, &vt, k, &sums, mean);
    documents.start_w(&columns, k, mean)?;
    fit(documents, ht, params)
}

/// Where the documents' side of the fit — X's rows, and U's then W's beside them — is held: here
/// ([`DocumentRows`]) or by the shards' workers ([`NmfAway`]). Its [`TallSide`] holds the start's
/// SVD, leaving U.
pub(super) trait DocumentSide {
    /// The SVD's side of the documents.
    fn tall(&mut self) -> Box<dyn TallSide + '_>;
    /// NNDSVDa's sums of U (`k` components) and X.
    fn start_sums(&mut self, k: usize) -> Result<StartSums>;
    /// W from U as `columns` say (`k` columns, zeros filled with X's `mean`); U is let go.
    fn start_w(&mut self, columns: &[Option<WColumn>], k: usize, mean: f32) -> Result<()>;
    /// Sweep W against `ht` (`gram_h` = HtᵀHt); `xt_w` gets XᵀW. Returns the violation and WᵀW,
    /// every sum over documents taken by the row shards.
    fn sweep(&mut self, ht: &Array2<f32>, gram_h: &Array2<f64>, xt_w: &mut Array2<f32>) -> Result<(f64, Array2<f64>)>;
    /// W, and the sums over documents of the reconstruction error given `ht`.
    fn finish(self, ht: &Array2<f32>) -> Result<(Array2<f32>, ErrorSums)>;
}

/// The sums over documents in ‖X − W Htᵀ‖²: ‖X‖², Σ W∘(X·Ht) and WᵀW.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct ErrorSums {
    pub(super) squares: f64,
    pub(super) cross: f64,
    pub(super) wtw: Vec<f64>,
}

impl ErrorSums {
    /// ‖X − W Htᵀ‖_F from these sums and `ht`.
    fn error(&self, ht: &Array2<f32>) -> f64 {
        let model: f64 = self.wtw.iter().zip(gram(ht.view(), ht.view()).iter()).map(|(a, b)| a * b).sum();
        (self.squares - 2.0 * self.cross + model).max(0.0).sqrt()
    }
}

fn fit(mut documents: impl DocumentSide, mut ht: Array2<f32>, params: &NmfParams) -> Result<NmfFit> {
    let terms = [0, ht.nrows()];
    let mut xt_w = Array2::zeros(ht.dim());
    let mut first = None;
    let mut iterations = 0;
    let progress = crate::progress::bar("NMF", params.max_iterations as u64, "iterations (at most)");
    for _ in 0..params.max_iterations {
        iterations += 1;
        progress.add(1);
        let (mut violation, wtw) = documents.sweep(&ht, &gram(ht.view(), ht.view()), &mut xt_w)?;
        violation += sweep(&mut ht, xt_w.view(), &wtw, &terms);
        let first = *first.get_or_insert(violation);
        if first == 0.0 || violation / first <= params.tolerance {
            break;
        }
    }
    let (w, sums) = documents.finish(&ht)?;
    let reconstruction_error = sums.error(&ht);
    Ok(NmfFit { w, h: ht.reversed_axes().as_standard_layout().to_owned(), iterations, reconstruction_error })
}

/// X's rows and U's or W's beside them, with the plan of their Xᵀ products: every row here, by the
/// plan's row shards, or one shard's rows held by a worker (one shard of its own).
pub(super) struct DocumentRows<'a> {
    x: Cow<'a, Csr<f32>>,
    scatter: Cow<'a, Scatter>,
    /// The SVD's tall matrix (U at its end), until W is made from it.
    q: Array2<f32>,
    w: Array2<f32>,
    x_ht: Array2<f32>,
}

impl<'a> DocumentRows<'a> {
    pub(super) fn new(x: Cow<'a, Csr<f32>>, scatter: Cow<'a, Scatter>) -> Self {
        let empty = || Array2::zeros((0, 0));
        DocumentRows { x, scatter, q: empty(), w: empty(), x_ht: empty() }
    }

    #[cfg(test)] // what the tests check the fit's own start and error against
    /// These rows with `w` beside them.
    fn with_w(x: Cow<'a, Csr<f32>>, scatter: Cow<'a, Scatter>, w: Array2<f32>) -> Self {
        DocumentRows { x_ht: Array2::zeros(w.dim()), w, ..DocumentRows::new(x, scatter) }
    }

    /// The SVD's side of these rows.
    pub(super) fn tall(&mut self) -> TallRows<'_> {
        TallRows { x: &*self.x, scatter: &self.scatter, q: &mut self.q }
    }

    /// The error's sums over these rows given `ht`.
    pub(super) fn error_sums(&self, ht: &Array2<f32>) -> ErrorSums {
        let (x, bounds) = (&*self.x, self.scatter.row_shards());
        let x_ht = sparse_dense(x, ht.view());
        let k = self.w.ncols();
        let (w_all, x_ht_all) =
            (self.w.as_slice().expect("standard layout"), x_ht.as_slice().expect("standard layout"));
        let cross = sum_by_shards(bounds, |rows| {
            let span = rows.start * k..rows.end * k;
            w_all[span.clone()].iter().zip(&x_ht_all[span]).map(|(&a, &b)| a as f64 * b as f64).sum()
        });
        let squares = sum_by_shards(bounds, |rows| {
            x.values[x.indptr[rows.start]..x.indptr[rows.end]].iter().map(|&v| (v as f64) * (v as f64)).sum()
        });
        let wtw = gram_by_shards(self.w.view(), self.w.view(), bounds).into_raw_vec_and_offset().0;
        ErrorSums { squares, cross, wtw }
    }
}

impl DocumentSide for DocumentRows<'_> {
    fn tall(&mut self) -> Box<dyn TallSide + '_> {
        Box::new(DocumentRows::tall(self))
    }

    fn start_sums(&mut self, k: usize) -> Result<StartSums> {
        Ok(start_sums(&self.q, &self.x, k, self.scatter.row_shards()))
    }

    fn start_w(&mut self, columns: &[Option<WColumn>], k: usize, mean: f32) -> Result<()> {
        self.w = start_w(&std::mem::take(&mut self.q), columns, k, mean);
        self.x_ht = Array2::zeros(self.w.dim());
        Ok(())
    }

    fn sweep(&mut self, ht: &Array2<f32>, gram_h: &Array2<f64>, xt_w: &mut Array2<f32>) -> Result<(f64, Array2<f64>)> {
        let bounds = self.scatter.row_shards();
        sparse_dense_into(&*self.x, ht.view(), &mut self.x_ht);
        let violation = sweep(&mut self.w, self.x_ht.view(), gram_h, bounds);
        self.scatter.product_into(&*self.x, self.w.view(), xt_w);
        Ok((violation, gram_by_shards(self.w.view(), self.w.view(), bounds)))
    }

    fn finish(self, ht: &Array2<f32>) -> Result<(Array2<f32>, ErrorSums)> {
        let sums = self.error_sums(ht);
        Ok((self.w, sums))
    }
}

#[cfg(test)] // what the tests check the fit's own start and error against
/// ‖X − W Hᵀᵀ‖_F = sqrt(‖X‖² − 2 Σ W∘(X·Ht) + Σ (WᵀW)∘(HtᵀHt)), without forming W·H; sums over
/// documents by the row shards of `scatter`.
pub fn frobenius_error(x: &Csr<f32>, scatter: &Scatter, w: &Array2<f32>, ht: &Array2<f32>) -> f64 {
    DocumentRows::with_w(Cow::Borrowed(x), Cow::Borrowed(scatter), w.clone()).error_sums(ht).error(ht)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::truncated_svd;
    use ndarray::Axis;

    /// Documents mixing two planted topics over six terms.
    fn planted() -> Csr<f32> {
        let topics = [[1.0f32, 0.8, 0.6, 0.0, 0.0, 0.05], [0.0, 0.0, 0.1, 1.0, 0.9, 0.7]];
        let rows = (0..40)
            .map(|d| {
                let a = (d % 5) as f32 / 4.0;
                (0..6u32)
                    .filter_map(|t| {
                        let v = a * topics[0][t as usize] + (1.0 - a) * topics[1][t as usize];
                        (v > 0.0).then_some((t, v))
                    })
                    .collect()
            })
            .collect();
        Csr::from_rows(6, rows)
    }

    /// Rows swept sixteen at a time (SIMD lanes) end exactly as rows swept one by one.
    #[test]
    fn lanes_sweep_rows_as_one_at_a_time() {
        let (n, k) = (37, 6);
        let start: Vec<f32> = (0..n * k).map(|i| ((i * 37) % 11) as f32 / 5.0).collect();
        let cross: Vec<f32> = (0..n * k).map(|i| ((i * 13) % 7) as f32 / 3.0 - 0.5).collect();
        let gram: Vec<f32> =
            (0..k * k).map(|i| if i % (k + 1) == 0 { 2.0 } else { ((i * 5) % 3) as f32 / 10.0 }).collect();
        let mut together = start.clone();
        let violation = sweep_block(&mut together, &cross, &gram, k);
        let mut alone = start;
        let mut total = 0.0;
        for (row, c) in alone.chunks_mut(k).zip(cross.chunks(k)) {
            total += sweep_block(row, c, &gram, k);
        }
        assert_eq!(together, alone);
        assert!((violation - total).abs() <= 1e-12 * total.abs(), "{violation} vs {total}");
    }

    /// The documents' side held by two hosts, each shard of the plan making its rows from its
    /// tokens (the start's SVD and W made there, every message encoded), gives the fit of holding
    /// it here, bit for bit — also when a host dies in the start or mid-fit (the fit starts
    /// again); a host that always fails fails the fit.
    #[test]
    fn documents_held_away_give_the_same_fit() {
        use super::super::nmf_shards::NmfShardHost;
        use crate::shards::away::two_hosts_with_tokens;
        use crate::shards::rows::TokenShards;
        // Documents of three planted topics over 60 terms, more than a block of rows so that the
        // shards' sums cross block bounds, in three shards of the plan.
        let count = |d: u32, t: u32| {
            u32::from(t / 20 == d % 3 || (t * 7 + d * 11).is_multiple_of(13)) * (1 + (t * 5 + d * 3) % 3)
        };
        let made = TokenShards::new(&[900, BLOCK + 100, 500], 60, count);
        let k = 4;
        let params = NmfParams { max_iterations: 30, tolerance: 1e-9 };
        let fit = |rows: MatrixRows<Csr<f32>>| nmf(rows, &made.shards, k, 3, &params);
        let here = fit(MatrixRows::Here(&made.x)).unwrap();
        assert_eq!(here.iterations, 30);
        for dies_on_call in [None, Some(5), Some(30)] {
            let away = two_hosts_with_tokens::<NmfShardHost>(dies_on_call, made.tokens.clone());
            let there = fit(MatrixRows::Away { away: &away, from: &made.from }).unwrap();
            assert_eq!(there.iterations, here.iterations, "dies on call {dies_on_call:?}");
            assert!(there.w.iter().zip(&here.w).all(|(a, b)| a.to_bits() == b.to_bits()), "W, {dies_on_call:?}");
            assert!(there.h.iter().zip(&here.h).all(|(a, b)| a.to_bits() == b.to_bits()), "H, {dies_on_call:?}");
            assert_eq!(there.reconstruction_error.to_bits(), here.reconstruction_error.to_bits());
        }
        let broken: AwayShards = std::sync::Arc::new(|_, _| Err(crate::error::Error::Config("no workers".into())));
        assert!(fit(MatrixRows::Away { away: &broken, from: &made.from }).is_err());
    }

    #[test]
    fn recovers_planted_topics_and_lowers_the_error() {
        let x = planted();
        let scatter = Scatter::new(&x, 1, 3);
        // The start the fit makes itself.
        let start = nndsvda(&truncated_svd(&x, &scatter, 2, 1), &x, 2, scatter.row_shards());
        let start_error = frobenius_error(&x, &scatter, &start.0, &start.1);
        let fit = nmf(
            MatrixRows::Here(&x),
            &RowShards::of(&(0..x.n_rows()).collect::<Vec<_>>(), &[x.n_rows()]),
            2,
            1,
            &NmfParams::default(),
        )
        .unwrap();
        assert!(fit.reconstruction_error < 1e-2, "error {}", fit.reconstruction_error);
        assert!(fit.reconstruction_error < start_error);
        // Each fitted topic puts its weight on one planted block of terms.
        let mut leaders: Vec<usize> = fit
            .h
            .axis_iter(Axis(0))
            .map(|row| row.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0)
            .collect();
        leaders.sort();
        assert_eq!(leaders, vec![0, 3]);
        assert!(fit.w.iter().chain(fit.h.iter()).all(|&v| v >= 0.0));
    }
}
