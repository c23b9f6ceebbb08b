//! NMF's documents' side held away from the driver — on Ray actors, each holding one row shard
//! of the TF-IDF matrix and its rows of W from iteration to iteration — giving the same fit, bit
//! for bit, as holding them in this process: the row shards and every sum over documents are
//! [`super::nmf`]'s own (taken by [`crate::linalg::ROW_SHARDS`]); only where a shard's part runs
//! changes.
//!
//! At the start, each shard is sent, once, its rows of X and of the start's W. Then, every
//! iteration, the driver sends Ht (terms × k, with HtᵀHt) once for all; each shard sweeps its rows
//! of W against it and answers its violation, its part of XᵀW (terms × k) and its WᵀW; the driver
//! adds them up in shard order and sweeps Ht. At the end each shard sends back its W and its part
//! of the reconstruction error. Should a shard be lost, the fit starts again from the start, which
//! the driver keeps, so it does not change.

use std::borrow::Cow;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::away::{self, AwayShards, Packed, ShardHost};
use super::nmf::{DocumentRows, DocumentSide, ErrorSums};
use crate::error::{Error, Result};
use crate::linalg::Scatter;
use crate::vectorize::Csr;

/// How errors and notes name these shards.
pub(super) const WHAT: &str = "NMF";

#[derive(Serialize, Deserialize)]
enum Common {
    Start {
        v: usize,
        k: usize,
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

/// A shard's rows of X (each row's length, then the columns and weights of all) and of W.
#[derive(Serialize, Deserialize)]
struct ShardStart {
    lengths: Packed<u32>,
    columns: Packed<u32>,
    weights: Packed<f32>,
    w: Packed<f32>,
}

#[derive(Serialize, Deserialize)]
enum Request {
    Start(ShardStart),
    Sweep,
    Finish,
}

#[derive(Serialize, Deserialize)]
enum Answer {
    Started,
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
    k: usize,
    rows: DocumentRows<'static>,
}

impl ShardHost for NmfShardHost {
    fn answer(&mut self, shard: usize, common: &[u8], request: &[u8]) -> Result<Vec<u8>> {
        let answer = match (away::decode::<Common>(common, WHAT)?, away::decode::<Request>(request, WHAT)?) {
            (Common::Start { v, k }, Request::Start(start)) => {
                let rows = held_rows(start, v, k, shard)?;
                self.shards.start(shard, HeldShard { v, k, rows });
                Answer::Started
            }
            (Common::Sweep { ht, gram_h }, Request::Sweep) => {
                let held = self.shards.get(shard, WHAT)?;
                let (ht, gram_h) = (matrix(ht.0, held.v, held.k, shard)?, matrix(gram_h.0, held.k, held.k, shard)?);
                let mut xt_w = Array2::zeros((held.v, held.k));
                let (violation, wtw) = held.rows.sweep(&ht, &gram_h, &mut xt_w)?;
                Answer::Swept { violation, xt_w: Packed(raw(xt_w)), wtw: Packed(raw(wtw)) }
            }
            (Common::Finish { ht }, Request::Finish) => {
                let held = self.shards.finish(shard, WHAT)?;
                let (w, sums) = held.rows.finish(&matrix(ht.0, held.v, held.k, shard)?)?;
                Answer::Finished { w: Packed(raw(w)), sums }
            }
            _ => return Err(away::mismatched(WHAT, shard)),
        };
        away::encode(&answer, WHAT)
    }
}

/// A shard's rows as held: X's (checked to fit `v` terms) with a plan of one shard of their own,
/// and W's (`k` columns).
fn held_rows(start: ShardStart, v: usize, k: usize, shard: usize) -> Result<DocumentRows<'static>> {
    let mut indptr = vec![0usize];
    for &length in &start.lengths.0 {
        indptr.push(indptr.last().unwrap() + length as usize);
    }
    let n = start.lengths.0.len();
    let entries = indptr[n];
    let ascending = indptr.windows(2).all(|w| start.columns.0[w[0]..w[1]].windows(2).all(|c| c[0] < c[1]));
    let fits = [start.columns.0.len(), start.weights.0.len()] == [entries; 2]
        && ascending
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
    let w = matrix(start.w.0, n, k, shard)?;
    let scatter = Scatter::new(&x, rayon::current_num_threads(), 1);
    Ok(DocumentRows::new(Cow::Owned(x), Cow::Owned(scatter), w))
}

/// `values` as a `rows` × `cols` matrix, or an error naming the shard.
fn matrix<T>(values: Vec<T>, rows: usize, cols: usize, shard: usize) -> Result<Array2<T>> {
    Array2::from_shape_vec((rows, cols), values)
        .map_err(|_| Error::Shards(format!("{WHAT} shard {shard}: a matrix that is not {rows} × {cols}")))
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
    k: usize,
}

impl<'a> AwayRows<'a> {
    /// Send each of the row shards `bounds` its rows of `x` and of `w`.
    pub(super) fn start(away: &'a AwayShards, x: &Csr<f32>, bounds: &[usize], w: &Array2<f32>) -> Result<Self> {
        let k = w.ncols();
        let w_all = w.as_slice().expect("standard layout");
        let requests = bounds
            .windows(2)
            .enumerate()
            .map(|(s, rows)| {
                let entries = x.indptr[rows[0]]..x.indptr[rows[1]];
                let start = ShardStart {
                    lengths: Packed(x.indptr[rows[0]..=rows[1]].windows(2).map(|p| (p[1] - p[0]) as u32).collect()),
                    columns: Packed(x.indices[entries.clone()].to_vec()),
                    weights: Packed(x.values[entries].to_vec()),
                    w: Packed(w_all[rows[0] * k..rows[1] * k].to_vec()),
                };
                Ok((s, away::encode(&Request::Start(start), WHAT)?))
            })
            .collect::<Result<Vec<_>>>()?;
        for answer in away::ask::<_, Answer>(away, WHAT, &Common::Start { v: x.n_cols, k }, requests)? {
            let Answer::Started = answer else { return Err(away::unexpected(WHAT)) };
        }
        Ok(AwayRows { away, bounds: bounds.to_vec(), k })
    }

    fn requests(&self, request: &Request) -> Result<Vec<(usize, Vec<u8>)>> {
        (0..self.bounds.len() - 1).map(|s| Ok((s, away::encode(request, WHAT)?))).collect()
    }
}

impl DocumentSide for AwayRows<'_> {
    fn sweep(&mut self, ht: &Array2<f32>, gram_h: &Array2<f64>, xt_w: &mut Array2<f32>) -> Result<(f64, Array2<f64>)> {
        let common = Common::Sweep { ht: Packed(raw(ht.clone())), gram_h: Packed(raw(gram_h.clone())) };
        let (k, size) = (self.k, xt_w.len());
        // Added up as the shards here are: the violations from zero, XᵀW from the first shard's
        // part, WᵀW from zero — each in shard order.
        let (mut violation, mut wtw) = (0.0, Array2::<f64>::zeros((k, k)));
        for (s, answer) in
            away::ask::<_, Answer>(self.away, WHAT, &common, self.requests(&Request::Sweep)?)?.into_iter().enumerate()
        {
            let Answer::Swept { violation: part, xt_w: product, wtw: gram } = answer else {
                return Err(away::unexpected(WHAT));
            };
            if product.0.len() != size || gram.0.len() != k * k {
                return Err(Error::Shards(format!("{WHAT} shard {s} sent back sums of the wrong size")));
            }
            violation += part;
            let out = xt_w.as_slice_mut().expect("standard layout");
            if s == 0 {
                out.copy_from_slice(&product.0);
            } else {
                out.iter_mut().zip(&product.0).for_each(|(o, &p)| *o += p);
            }
            wtw.iter_mut().zip(&gram.0).for_each(|(o, &g)| *o += g);
        }
        Ok((violation, wtw))
    }

    fn finish(self, ht: &Array2<f32>) -> Result<(Array2<f32>, ErrorSums)> {
        let common = Common::Finish { ht: Packed(raw(ht.clone())) };
        let (n, k) = (*self.bounds.last().expect("bounds"), self.k);
        let mut w = Vec::with_capacity(n * k);
        let mut total = ErrorSums { squares: 0.0, cross: 0.0, wtw: vec![0.0; k * k] };
        let answers = away::ask::<_, Answer>(self.away, WHAT, &common, self.requests(&Request::Finish)?)?;
        for (s, answer) in answers.into_iter().enumerate() {
            let Answer::Finished { w: rows, sums } = answer else { return Err(away::unexpected(WHAT)) };
            if rows.0.len() != (self.bounds[s + 1] - self.bounds[s]) * k || sums.wtw.len() != k * k {
                return Err(Error::Shards(format!("{WHAT} shard {s} sent back W of the wrong size")));
            }
            w.extend_from_slice(&rows.0);
            total.squares += sums.squares;
            total.cross += sums.cross;
            total.wtw.iter_mut().zip(&sums.wtw).for_each(|(o, &g)| *o += g);
        }
        Ok((matrix(w, n, k, 0)?, total))
    }
}
