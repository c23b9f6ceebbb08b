//! NMF's documents' side held away from the driver — on Ray actors, each holding one row shard
//! of the TF-IDF matrix and its rows of W from iteration to iteration — giving the same fit, bit
//! for bit, as holding them in this process: the row shards and every sum over documents are
//! [`super::nmf`]'s own (taken by the plan's shards, [`crate::shards::RowShards`]); only where a
//! shard's part runs changes.
//!
//! At the start, each shard makes its rows of X, once, from the shard's tokens (the driver never
//! holds the matrix). The start's randomized SVD then runs
//! with the shards holding its tall side (Q, at its end U): the driver sends the small matrices
//! (the test matrix, the basis of the terms' side, the transforms) and adds up the shards' Gram
//! matrices and Xᵀ products. NNDSVDa makes each shard's rows of W from its rows of U, with the
//! norms and the mean of X added up from the shards. Then, every iteration, the driver sends Ht (terms × k, with HtᵀHt) once for all; each shard sweeps its rows
//! of W against it and answers its violation, its part of XᵀW (terms × k) and its WᵀW; the driver
//! adds them up in shard order and sweeps Ht. At the end each shard sends back its W and its part
//! of the reconstruction error. Should a shard be lost, the fit starts again from the start, which
//! the driver keeps, so it does not change.

use std::borrow::Cow;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::nmf::{DocumentRows, DocumentSide, ErrorSums, StartSums, WColumn};
use crate::error::{Error, Result};
use crate::linalg::TallSide;
use crate::shards::away::{self, AwayShards, FetchTokens, Packed, ShardHost};
use crate::shards::rows::{
    self, by_rows, raw, shaped, AwayRows, AwayTall, PartsAdded, TallAnswer, TallStep, TfidfFromTokens,
};
use crate::shards::RowShards;

/// How errors and notes name these shards.
pub(super) const WHAT: &str = "NMF";

#[derive(Serialize, Deserialize)]
enum Common {
    Start(TfidfFromTokens),
    /// A step of the start's SVD.
    Tall(TallStep),
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

/// A shard's own part of a request: at the start, its documents (places in the shard) whose rows
/// it makes; after it, nothing (the common part says it all).
#[derive(Serialize, Deserialize)]
enum Request {
    Start(Vec<usize>),
    Step,
}

#[derive(Serialize, Deserialize)]
enum Answer {
    Done,
    Tall(TallAnswer),
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
    fn answer(&mut self, shard: usize, common: &[u8], request: &[u8], tokens: &FetchTokens) -> Result<Vec<u8>> {
        let (common, request) = (away::decode::<Common>(common, WHAT)?, away::decode::<Request>(request, WHAT)?);
        let answer = match (common, request) {
            (Common::Start(from), Request::Start(docs)) => {
                let (x, scatter) = from.rows(&tokens()?, &docs, WHAT, shard)?;
                let v = x.n_cols;
                let rows = DocumentRows::new(Cow::Owned(x), Cow::Owned(scatter));
                self.shards.start(shard, HeldShard { v, rows });
                Answer::Done
            }
            (Common::Finish { ht }, Request::Step) => {
                let held = self.shards.finish(shard, WHAT)?;
                let ht = by_rows(ht.0, held.v, WHAT, shard)?;
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
        Common::Tall(step) => Answer::Tall(rows::answer_step(&mut rows.tall(), step, v, WHAT, shard)?),
        Common::StartSums { k } => Answer::StartSums(rows.start_sums(k)?),
        Common::StartW { columns, k, mean } => {
            rows.start_w(&columns, k, mean)?;
            Answer::Done
        }
        Common::Sweep { ht, gram_h } => {
            let ht = by_rows(ht.0, v, WHAT, shard)?;
            let k = ht.ncols();
            let gram_h = shaped(gram_h.0, k, k, WHAT, shard)?;
            let mut xt_w = Array2::zeros((v, k));
            let (violation, wtw) = rows.sweep(&ht, &gram_h, &mut xt_w)?;
            Answer::Swept { violation, xt_w: Packed(raw(xt_w)), wtw: Packed(raw(wtw)) }
        }
        Common::Start(_) | Common::Finish { .. } => return Err(away::mismatched(WHAT, shard)),
    })
}

/// NMF's documents' side held by the shards' workers, as the driver sees it.
pub(super) struct NmfAway<'a> {
    rows: AwayRows<'a, Common, Answer>,
}

impl<'a> NmfAway<'a> {
    /// Have each of the row shards `shards` make its rows of X from its tokens, as `from` says.
    pub(super) fn start(away: &'a AwayShards, from: &TfidfFromTokens, shards: &RowShards) -> Result<Self> {
        let answer = |a: Answer| if let Answer::Tall(t) = a { Some(t) } else { None };
        let (rows, answers) =
            AwayRows::from_tokens(away, shards, WHAT, (Common::Tall, answer), (Common::Start, from), Request::Start)?;
        let nmf = NmfAway { rows };
        nmf.done(answers)?;
        Ok(nmf)
    }

    fn ask(&self, common: &Common) -> Result<Vec<Answer>> {
        self.rows.ask_all(common, &Request::Step)
    }

    fn done(&self, answers: Vec<Answer>) -> Result<()> {
        answers.into_iter().try_for_each(|a| if let Answer::Done = a { Ok(()) } else { Err(away::unexpected(WHAT)) })
    }
}

impl DocumentSide for NmfAway<'_> {
    fn tall(&mut self) -> Box<dyn TallSide + '_> {
        Box::new(AwayTall { rows: &self.rows, request: Request::Step })
    }

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
        self.done(self.ask(&Common::StartW { columns: columns.to_vec(), k, mean })?)
    }

    fn sweep(&mut self, ht: &Array2<f32>, gram_h: &Array2<f64>, xt_w: &mut Array2<f32>) -> Result<(f64, Array2<f64>)> {
        let k = ht.ncols();
        let common = Common::Sweep { ht: Packed(raw(ht.clone())), gram_h: Packed(raw(gram_h.clone())) };
        // Added up as the shards here are, each in shard order and as it comes: the violations and
        // WᵀW from zero, XᵀW from the first shard's part.
        let (mut products, mut grams) = (PartsAdded::from_first(), PartsAdded::from_zero());
        let violation = self.rows.fold_all(&common, &Request::Step, 0.0, |violation, s, answer| {
            let Answer::Swept { violation: part, xt_w: product, wtw } = answer else {
                return Err(away::unexpected(WHAT));
            };
            if product.0.len() != xt_w.len() || wtw.0.len() != k * k {
                return Err(Error::Shards(format!("{WHAT} shard {s} sent back sums of the wrong size")));
            }
            products.add(product.0, WHAT, s)?;
            grams.add(wtw.0, WHAT, s)?;
            Ok(violation + part)
        })?;
        let total = products.total(xt_w.len());
        xt_w.as_slice_mut().expect("standard layout").copy_from_slice(&total);
        Ok((violation, shaped(grams.total(k * k), k, k, WHAT, 0)?))
    }

    fn finish(self, ht: &Array2<f32>) -> Result<(Array2<f32>, ErrorSums)> {
        let (k, bounds) = (ht.ncols(), &self.rows.bounds);
        let n = *bounds.last().expect("bounds");
        let (mut w, mut squares, mut cross, mut grams) = (Vec::with_capacity(n * k), 0.0, 0.0, PartsAdded::from_zero());
        for (s, answer) in self.ask(&Common::Finish { ht: Packed(raw(ht.clone())) })?.into_iter().enumerate() {
            let Answer::Finished { w: rows, sums } = answer else { return Err(away::unexpected(WHAT)) };
            if rows.0.len() != (bounds[s + 1] - bounds[s]) * k || sums.wtw.len() != k * k {
                return Err(Error::Shards(format!("{WHAT} shard {s} sent back W of the wrong size")));
            }
            w.extend_from_slice(&rows.0);
            squares += sums.squares;
            cross += sums.cross;
            grams.add(sums.wtw, WHAT, s)?;
        }
        Ok((shaped(w, n, k, WHAT, 0)?, ErrorSums { squares, cross, wtw: grams.total(k * k) }))
    }
}
