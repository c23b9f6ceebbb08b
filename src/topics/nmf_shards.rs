//! NMF's documents' side held away from the driver — on Ray actors, each holding one row shard
//! of the TF-IDF matrix and its rows of W from iteration to iteration — giving the same fit, bit
//! for bit, as holding them in this process: the row shards and every sum over documents are
//! [`super::nmf`]'s own (taken by [`crate::linalg::ROW_SHARDS`]); only where a shard's part runs
//! changes.
//!
//! At the start, each shard is sent, once, its rows of X. The start's randomized SVD then runs
//! with the shards holding its tall side (Q, at its end U): the driver sends the small matrices
//! (the test matrix, the basis of the terms' side, the transforms) and adds up the shards' Gram
//! matrices and Xᵀ products. NNDSVDa makes each shard's rows of W from its rows of U, with the
//! norms and the mean of X added up from the shards. Then, every iteration, the driver sends Ht (terms × k, with HtᵀHt) once for all; each shard sweeps its rows
//! of W against it and answers its violation, its part of XᵀW (terms × k) and its WᵀW; the driver
//! adds them up in shard order and sweeps Ht. At the end each shard sends back its W and its part
//! of the reconstruction error. Should a shard be lost, the fit starts again from the start, which
//! the driver keeps, so it does not change.

use std::borrow::Cow;

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::nmf::{DocumentRows, DocumentSide, ErrorSums, StartSums, WColumn};
use crate::error::{Error, Result};
use crate::linalg::{Scatter, TallSide};
use crate::shards::away::{self, AwayShards, Packed, ShardHost};
use crate::vectorize::Csr;

/// How errors and notes name these shards.
pub(super) const WHAT: &str = "NMF";

#[derive(Serialize, Deserialize)]
enum Common {
    Start {
        v: usize,
    },
    /// The SVD's steps ([`TallSide`]): Q ← X·m (`m` v × `l`), QᵀQ, Q ← Q·t (`t` rows × cols), XᵀQ.
    Multiply {
        m: Packed<f32>,
        l: usize,
    },
    Gram,
    Transform {
        t: Packed<f32>,
        rows: usize,
        cols: usize,
    },
    TransposedProduct,
    /// NNDSVDa's sums of U (`k` components) and X, then W from U.
    StartSums {
        k: usize,
    },
    StartW {
        columns: Vec<Option<WColumn>>,
        k: usize,
        mean: f32,
    },
    /// Ht (v × k) and HtᵀHt (k × k), row by row.
    Sweep {
        ht: Packed<f32>,
        gram_h: Packed<f64>,
    },
    Finish {
        ht: Packed<f32>,
    },
}

/// A shard's rows of X: each row's length, then the columns and weights of all.
#[derive(Serialize, Deserialize)]
struct ShardStart {
    lengths: Packed<u32>,
    columns: Packed<u32>,
    weights: Packed<f32>,
}

/// A shard's own part of a request: its rows at the start; after it, nothing (the common part
/// says it all).
#[derive(Serialize, Deserialize)]
enum Request {
    Start(ShardStart),
    Step,
}

#[derive(Serialize, Deserialize)]
enum Answer {
    Done,
    Gram { gram: Packed<f64> },
    Product { product: Packed<f32> },
    StartSums(StartSums),
    Swept { violation: f64, xt_w: Packed<f32>, wtw: Packed<f64> },
    Finished { w: Packed<f32>, sums: ErrorSums },
}

/// The NMF shards one worker holds, each as the driver last left it.
#[derive(Default)]
pub struct NmfShardHost {
    shards: away::Held<HeldShard>,
}

struct HeldShard {
    v: usize,
    rows: DocumentRows<'static>,
}

impl ShardHost for NmfShardHost {
    fn answer(&mut self, shard: usize, common: &[u8], request: &[u8]) -> Result<Vec<u8>> {
        let (common, request) = (away::decode::<Common>(common, WHAT)?, away::decode::<Request>(request, WHAT)?);
        let answer = match (common, request) {
            (Common::Start { v }, Request::Start(start)) => {
                self.shards.start(shard, HeldShard { v, rows: held_rows(start, v, shard)? });
                Answer::Done
            }
            (Common::Finish { ht }, Request::Step) => {
                let held = self.shards.finish(shard, WHAT)?;
                let ht = matrix(ht.0, held.v, shard)?;
                let (w, sums) = held.rows.finish(&ht)?;
                Answer::Finished { w: Packed(raw(w)), sums }
            }
            (common, Request::Step) => {
                let held = self.shards.get(shard, WHAT)?;
                step(held, common, shard)?
            }
            _ => return Err(away::mismatched(WHAT, shard)),
        };
        away::encode(&answer, WHAT)
    }
}

/// A held shard's answer to a step of the fit.
fn step(held: &mut HeldShard, common: Common, shard: usize) -> Result<Answer> {
    let (v, rows) = (held.v, &mut held.rows);
    Ok(match common {
        Common::Multiply { m, l } => {
            rows.multiply(shaped(m.0, v, l, shard)?.view())?;
            Answer::Done
        }
        Common::Gram => Answer::Gram { gram: Packed(raw(rows.gram()?)) },
        Common::Transform { t, rows: r, cols } => {
            rows.transform(shaped(t.0, r, cols, shard)?.view())?;
            Answer::Done
        }
        Common::TransposedProduct => Answer::Product { product: Packed(raw(rows.transposed_product()?)) },
        Common::StartSums { k } => Answer::StartSums(rows.start_sums(k)?),
        Common::StartW { columns, k, mean } => {
            rows.start_w(&columns, k, mean)?;
            Answer::Done
        }
        Common::Sweep { ht, gram_h } => {
            let ht = matrix(ht.0, v, shard)?;
            let k = ht.ncols();
            let gram_h = shaped(gram_h.0, k, k, shard)?;
            let mut xt_w = Array2::zeros((v, k));
            let (violation, wtw) = rows.sweep(&ht, &gram_h, &mut xt_w)?;
            Answer::Swept { violation, xt_w: Packed(raw(xt_w)), wtw: Packed(raw(wtw)) }
        }
        Common::Start { .. } | Common::Finish { .. } => return Err(away::mismatched(WHAT, shard)),
    })
}

/// A shard's rows of X as held (checked to fit `v` terms), with a plan of one shard of their own.
fn held_rows(start: ShardStart, v: usize, shard: usize) -> Result<DocumentRows<'static>> {
    let mut indptr = vec![0usize];
    for &length in &start.lengths.0 {
        indptr.push(indptr.last().unwrap() + length as usize);
    }
    let entries = *indptr.last().unwrap();
    let fits = [start.columns.0.len(), start.weights.0.len()] == [entries; 2]
        && indptr.windows(2).all(|w| start.columns.0[w[0]..w[1]].windows(2).all(|c| c[0] < c[1]))
        && start.columns.0.iter().all(|&c| (c as usize) < v);
    if !fits {
        return Err(Error::Shards(format!("{WHAT} shard {shard}: its rows' lengths, columns and weights disagree")));
    }
    let x = Csr {
        n_cols: v,
        indptr: std::sync::Arc::new(indptr),
        indices: std::sync::Arc::new(start.columns.0),
        values: start.weights.0,
    };
    let scatter = Scatter::new(&x, rayon::current_num_threads(), 1);
    Ok(DocumentRows::new(Cow::Owned(x), Cow::Owned(scatter)))
}

/// `values` as a `rows` × `cols` matrix, or an error naming the shard.
fn shaped<T>(values: Vec<T>, rows: usize, cols: usize, shard: usize) -> Result<Array2<T>> {
    Array2::from_shape_vec((rows, cols), values)
        .map_err(|_| Error::Shards(format!("{WHAT} shard {shard}: a matrix that is not {rows} × {cols}")))
}

/// `values` as a matrix of `rows` rows (its columns as many as they make).
fn matrix<T>(values: Vec<T>, rows: usize, shard: usize) -> Result<Array2<T>> {
    let cols = values.len().checked_div(rows).unwrap_or(0);
    shaped(values, rows, cols, shard)
}

/// A matrix's values row by row (every matrix here is made in standard layout).
fn raw<T>(m: Array2<T>) -> Vec<T> {
    assert!(m.is_standard_layout(), "a matrix in standard layout");
    m.into_raw_vec_and_offset().0
}

/// The documents' side held by the shards' workers, as the driver sees it.
pub(super) struct AwayRows<'a> {
    away: &'a AwayShards,
    /// Row bounds of the shards.
    bounds: Vec<usize>,
    v: usize,
}

impl<'a> AwayRows<'a> {
    /// Send each of the row shards `bounds` its rows of `x`.
    pub(super) fn start(away: &'a AwayShards, x: &Csr<f32>, bounds: &[usize]) -> Result<Self> {
        let requests = bounds
            .windows(2)
            .enumerate()
            .map(|(s, rows)| {
                let entries = x.indptr[rows[0]]..x.indptr[rows[1]];
                let start = ShardStart {
                    lengths: Packed(x.indptr[rows[0]..=rows[1]].windows(2).map(|p| (p[1] - p[0]) as u32).collect()),
                    columns: Packed(x.indices[entries.clone()].to_vec()),
                    weights: Packed(x.values[entries].to_vec()),
                };
                Ok((s, away::encode(&Request::Start(start), WHAT)?))
            })
            .collect::<Result<Vec<_>>>()?;
        let rows = AwayRows { away, bounds: bounds.to_vec(), v: x.n_cols };
        rows.expect_done(away::ask(away, WHAT, &Common::Start { v: x.n_cols }, requests)?)?;
        Ok(rows)
    }

    /// Every shard's answer to `common`, in shard order.
    fn ask(&self, common: &Common) -> Result<Vec<Answer>> {
        let requests = (0..self.bounds.len() - 1)
            .map(|s| Ok((s, away::encode(&Request::Step, WHAT)?)))
            .collect::<Result<Vec<_>>>()?;
        away::ask(self.away, WHAT, common, requests)
    }

    fn expect_done(&self, answers: Vec<Answer>) -> Result<()> {
        answers.into_iter().try_for_each(|a| if let Answer::Done = a { Ok(()) } else { Err(away::unexpected(WHAT)) })
    }

    /// The shards' parts of a sum of `size` numbers, in shard order.
    fn parts<T>(
        &self,
        answers: Vec<Answer>,
        size: usize,
        part: impl Fn(Answer) -> Option<Vec<T>>,
    ) -> Result<Vec<Vec<T>>> {
        answers
            .into_iter()
            .enumerate()
            .map(|(s, answer)| match part(answer) {
                Some(values) if values.len() == size => Ok(values),
                Some(_) => Err(Error::Shards(format!("{WHAT} shard {s} sent back sums of the wrong size"))),
                None => Err(away::unexpected(WHAT)),
            })
            .collect()
    }
}

/// Σ of the shards' `parts` from zero, in shard order (as [`crate::linalg::gram_by_shards`] and
/// [`crate::linalg::sum_by_shards`] add them).
fn added_from_zero(parts: Vec<Vec<f64>>, size: usize) -> Vec<f64> {
    let mut total = vec![0.0; size];
    for part in parts {
        total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
    }
    total
}

/// The shards' parts of an Xᵀ product added as [`Scatter`] adds them: from the first shard's
/// part, the others' added in shard order.
fn added_from_first(parts: Vec<Vec<f32>>) -> Vec<f32> {
    let mut parts = parts.into_iter();
    let mut total = parts.next().unwrap_or_default();
    for part in parts {
        total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
    }
    total
}

impl TallSide for AwayRows<'_> {
    fn multiply(&mut self, m: ArrayView2<f32>) -> Result<()> {
        let common = Common::Multiply { m: Packed(m.iter().copied().collect()), l: m.ncols() };
        self.expect_done(self.ask(&common)?)
    }

    fn gram(&mut self) -> Result<Array2<f64>> {
        let answers = self.ask(&Common::Gram)?;
        // Q's width is the gram's: l × l, l unknown here until the first answer.
        let l2 = match answers.first() {
            Some(Answer::Gram { gram }) => gram.0.len(),
            _ => 0,
        };
        let l = (l2 as f64).sqrt() as usize;
        let parts = self.parts(answers, l * l, |a| if let Answer::Gram { gram } = a { Some(gram.0) } else { None })?;
        shaped(added_from_zero(parts, l * l), l, l, 0)
    }

    fn transform(&mut self, t: ArrayView2<f32>) -> Result<()> {
        let common = Common::Transform { t: Packed(t.iter().copied().collect()), rows: t.nrows(), cols: t.ncols() };
        self.expect_done(self.ask(&common)?)
    }

    fn transposed_product(&mut self) -> Result<Array2<f32>> {
        let answers = self.ask(&Common::TransposedProduct)?;
        let size = match answers.first() {
            Some(Answer::Product { product }) => product.0.len(),
            _ => 0,
        };
        let parts =
            self.parts(answers, size, |a| if let Answer::Product { product } = a { Some(product.0) } else { None })?;
        matrix(added_from_first(parts), self.v, 0)
    }
}

impl DocumentSide for AwayRows<'_> {
    fn start_sums(&mut self, k: usize) -> Result<StartSums> {
        let mut total: Option<StartSums> = None;
        for (s, answer) in self.ask(&Common::StartSums { k })?.into_iter().enumerate() {
            let Answer::StartSums(part) = answer else { return Err(away::unexpected(WHAT)) };
            let total = total.get_or_insert_with(|| StartSums::zero(part.components()));
            if part.components() != total.components() {
                return Err(Error::Shards(format!("{WHAT} shard {s} sent back sums of the wrong size")));
            }
            total.add(&part);
        }
        total.ok_or_else(|| Error::Shards(format!("no {WHAT} shard answered")))
    }

    fn start_w(&mut self, columns: &[Option<WColumn>], k: usize, mean: f32) -> Result<()> {
        self.expect_done(self.ask(&Common::StartW { columns: columns.to_vec(), k, mean })?)
    }

    fn sweep(&mut self, ht: &Array2<f32>, gram_h: &Array2<f64>, xt_w: &mut Array2<f32>) -> Result<(f64, Array2<f64>)> {
        let k = ht.ncols();
        let common = Common::Sweep { ht: Packed(raw(ht.clone())), gram_h: Packed(raw(gram_h.clone())) };
        // Added up as the shards here are: the violations and WᵀW from zero, XᵀW from the first
        // shard's part — each in shard order.
        let (mut violation, mut products, mut grams) = (0.0, Vec::new(), Vec::new());
        for (s, answer) in self.ask(&common)?.into_iter().enumerate() {
            let Answer::Swept { violation: part, xt_w: product, wtw } = answer else {
                return Err(away::unexpected(WHAT));
            };
            if product.0.len() != xt_w.len() || wtw.0.len() != k * k {
                return Err(Error::Shards(format!("{WHAT} shard {s} sent back sums of the wrong size")));
            }
            violation += part;
            products.push(product.0);
            grams.push(wtw.0);
        }
        xt_w.as_slice_mut().expect("standard layout").copy_from_slice(&added_from_first(products));
        Ok((violation, shaped(added_from_zero(grams, k * k), k, k, 0)?))
    }

    fn finish(self, ht: &Array2<f32>) -> Result<(Array2<f32>, ErrorSums)> {
        let k = ht.ncols();
        let n = *self.bounds.last().expect("bounds");
        let (mut w, mut squares, mut cross, mut grams) = (Vec::with_capacity(n * k), 0.0, 0.0, Vec::new());
        for (s, answer) in self.ask(&Common::Finish { ht: Packed(raw(ht.clone())) })?.into_iter().enumerate() {
            let Answer::Finished { w: rows, sums } = answer else { return Err(away::unexpected(WHAT)) };
            if rows.0.len() != (self.bounds[s + 1] - self.bounds[s]) * k || sums.wtw.len() != k * k {
                return Err(Error::Shards(format!("{WHAT} shard {s} sent back W of the wrong size")));
            }
            w.extend_from_slice(&rows.0);
            squares += sums.squares;
            cross += sums.cross;
            grams.push(sums.wtw);
        }
        Ok((shaped(w, n, k, 0)?, ErrorSums { squares, cross, wtw: added_from_zero(grams, k * k) }))
    }
}
