//! Rows of the TF-IDF matrix held by the shards' workers, and the randomized SVD's documents' side
//! ([`TallSide`]) run there: what the matrix models held away (NMF, [`crate::topics::nmf_shards`];
//! LSA, [`crate::cluster::lsa_shards`]) share. Each worker's part of a sum over documents is its
//! shard's; the driver adds the parts in shard order, as the same shards held here are added
//! ([`crate::linalg`]), so both give the same bits.

use std::ops::Range;

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::away::{self, AwayShards, Packed};
use crate::error::{Error, Result};
use crate::linalg::{Scatter, TallSide};
use crate::vectorize::{columns_of, count_rows, row_norms, Csr, TfidfWeights, Weights};

/// A shard's rows of X as they travel: each row's length, then the columns and weights of all.
#[derive(Serialize, Deserialize)]
pub struct SentRows {
    lengths: Packed<u32>,
    columns: Packed<u32>,
    weights: Packed<f32>,
}

impl SentRows {
    /// Rows `rows` of `x`.
    pub fn of(x: &Csr<f32>, rows: Range<usize>) -> SentRows {
        let entries = x.indptr[rows.start]..x.indptr[rows.end];
        SentRows {
            lengths: Packed(x.indptr[rows.start..=rows.end].windows(2).map(|p| (p[1] - p[0]) as u32).collect()),
            columns: Packed(x.indices[entries.clone()].to_vec()),
            weights: Packed(x.values[entries].to_vec()),
        }
    }

    /// The rows as held, checked to fit `v` terms (an error names `what` shard `shard`), with a plan
    /// of one row shard of their own.
    pub fn held(self, v: usize, what: &str, shard: usize) -> Result<(Csr<f32>, Scatter)> {
        let mut indptr = vec![0usize];
        for &length in &self.lengths.0 {
            indptr.push(indptr.last().unwrap() + length as usize);
        }
        let entries = *indptr.last().unwrap();
        let fits = [self.columns.0.len(), self.weights.0.len()] == [entries; 2]
            && indptr.windows(2).all(|w| self.columns.0[w[0]..w[1]].windows(2).all(|c| c[0] < c[1]))
            && self.columns.0.iter().all(|&c| (c as usize) < v);
        if !fits {
            return Err(Error::Shards(format!(
                "{what} shard {shard}: its rows' lengths, columns and weights disagree"
            )));
        }
        let x = Csr {
            n_cols: v,
            indptr: std::sync::Arc::new(indptr),
            indices: std::sync::Arc::new(self.columns.0),
            values: self.weights.0,
        };
        let scatter = Scatter::new(&x, rayon::current_num_threads(), 1);
        Ok((x, scatter))
    }
}

/// How a shard of the plan makes its rows of the TF-IDF matrix from its tokens: the vocabulary
/// (X's columns), its idf and tf. Travels once, common to every shard.
#[derive(Clone, Serialize, Deserialize)]
pub struct TfidfFromTokens {
    pub vocabulary: Vec<String>,
    pub idf: Vec<f64>,
    pub sublinear_tf: bool,
}

impl TfidfFromTokens {
    /// The TF-IDF rows of documents `docs` (places in the shard) of a shard's `tokens` (encoded),
    /// with a plan of one row shard of their own: the weights the driver would make from the same
    /// counts ([`crate::vectorize::TfidfWeights`]), bit for bit.
    pub fn rows(&self, tokens: &[u8], docs: &[usize], what: &str, shard: usize) -> Result<(Csr<f32>, Scatter)> {
        let tokenized: crate::segment::Tokenized = super::decode(tokens, "a shard's tokens")?;
        if let Some(d) = docs.iter().find(|&&d| d >= tokenized.n_docs()) {
            return Err(Error::Shards(format!(
                "{what} shard {shard}: no document {d} among its {} (was it read again from changed input?)",
                tokenized.n_docs()
            )));
        }
        let v = self.vocabulary.len();
        if self.idf.len() != v {
            return Err(Error::Shards(format!("{what} shard {shard}: an idf for each of {v} terms was not sent")));
        }
        let counts = count_rows(&tokenized, docs, &columns_of(&tokenized.terms, &self.vocabulary), v);
        drop(tokenized);
        let norms = row_norms(&counts, &self.idf, self.sublinear_tf);
        let x = TfidfWeights::new(&counts, &self.idf, &norms, self.sublinear_tf).stored().into_owned();
        let scatter = Scatter::new(&x, rayon::current_num_threads(), 1);
        Ok((x, scatter))
    }
}

/// One step of the SVD's documents' side as it travels ([`TallSide`]'s methods): Q ← X·m (`m`
/// v × `l`), QᵀQ, Q ← Q·t (`t` rows × cols), XᵀQ.
#[derive(Serialize, Deserialize)]
pub enum TallStep {
    Multiply { m: Packed<f32>, l: usize },
    Gram,
    Transform { t: Packed<f32>, rows: usize, cols: usize },
    TransposedProduct,
}

/// A shard's answer to a [`TallStep`].
#[derive(Serialize, Deserialize)]
pub enum TallAnswer {
    Done,
    Gram(Packed<f64>),
    Product(Packed<f32>),
}

/// `side`'s answer to `step` (`v` terms; errors name `what` shard `shard`).
pub fn answer_step(side: &mut dyn TallSide, step: TallStep, v: usize, what: &str, shard: usize) -> Result<TallAnswer> {
    Ok(match step {
        TallStep::Multiply { m, l } => {
            side.multiply(shaped(m.0, v, l, what, shard)?.view())?;
            TallAnswer::Done
        }
        TallStep::Gram => TallAnswer::Gram(Packed(raw(side.gram()?))),
        TallStep::Transform { t, rows, cols } => {
            side.transform(shaped(t.0, rows, cols, what, shard)?.view())?;
            TallAnswer::Done
        }
        TallStep::TransposedProduct => TallAnswer::Product(Packed(raw(side.transposed_product()?))),
    })
}

/// `values` as a `rows` × `cols` matrix, or an error naming `what` shard `shard`.
pub fn shaped<T>(values: Vec<T>, rows: usize, cols: usize, what: &str, shard: usize) -> Result<Array2<T>> {
    Array2::from_shape_vec((rows, cols), values)
        .map_err(|_| Error::Shards(format!("{what} shard {shard}: a matrix that is not {rows} × {cols}")))
}

/// `values` as a matrix of `rows` rows, its columns as many as they make (an error names `what`
/// shard `shard` when they do not divide).
pub fn by_rows<T>(values: Vec<T>, rows: usize, what: &str, shard: usize) -> Result<Array2<T>> {
    let cols = values.len().checked_div(rows).unwrap_or(0);
    shaped(values, rows, cols, what, shard)
}

/// A matrix's values row by row (every matrix sent is made in standard layout).
pub fn raw<T>(m: Array2<T>) -> Vec<T> {
    assert!(m.is_standard_layout(), "a matrix in standard layout");
    m.into_raw_vec_and_offset().0
}

/// Σ of the shards' `parts` (each `size` long) from zero, in shard order — as
/// [`crate::linalg::gram_by_shards`] and [`crate::linalg::sum_by_shards`] add them.
pub fn added_from_zero(parts: Vec<Vec<f64>>, size: usize) -> Vec<f64> {
    let mut total = vec![0.0; size];
    for part in parts {
        total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
    }
    total
}

/// The shards' parts of an Xᵀ product added as [`Scatter`] adds them: from the first shard's
/// part, the others' added in shard order.
pub fn added_from_first(parts: Vec<Vec<f32>>) -> Vec<f32> {
    let mut parts = parts.into_iter();
    let mut total = parts.next().unwrap_or_default();
    for part in parts {
        total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
    }
    total
}

/// How a model's messages carry the SVD's steps: its common message wrapping a [`TallStep`], and
/// the [`TallAnswer`] in its answer.
pub type StepMessages<C, A> = (fn(TallStep) -> C, fn(A) -> Option<TallAnswer>);

/// The shards' rows held by workers, as the driver sees them: asks every shard, in shard order,
/// with a model's own messages (`common` wraps a step, `request` is a shard's own part).
pub struct AwayRows<'a, C, A> {
    pub away: &'a AwayShards,
    /// Row bounds of the shards.
    pub bounds: Vec<usize>,
    /// The number each shard is asked under (its place, or its id in the plan).
    pub ids: Vec<usize>,
    /// Terms (X's columns).
    pub v: usize,
    pub what: &'static str,
    /// The model's common message carrying a [`TallStep`], and its answer carrying a [`TallAnswer`].
    pub step: fn(TallStep) -> C,
    pub answer: fn(A) -> Option<TallAnswer>,
}

impl<'a, C: Serialize, A: serde::de::DeserializeOwned> AwayRows<'a, C, A> {
    /// Send each of the row shards `bounds` its rows of `x` (in the model's `start` request, with
    /// `common`); the shards' answers come back beside the rows held.
    pub fn start<R: Serialize>(
        away: &'a AwayShards,
        x: &Csr<f32>,
        bounds: &[usize],
        what: &'static str,
        (step, answer): StepMessages<C, A>,
        common: &C,
        start: impl Fn(SentRows) -> R,
    ) -> Result<(Self, Vec<A>)> {
        let starts = bounds.windows(2).enumerate().map(|(s, r)| (s, start(SentRows::of(x, r[0]..r[1])))).collect();
        let ids = (0..bounds.len() - 1).collect();
        let rows = AwayRows { away, bounds: bounds.to_vec(), ids, v: x.n_cols, what, step, answer };
        let answers = rows.ask_each(common, starts)?;
        Ok((rows, answers))
    }

    /// Every shard's answer to `common`, each shard sent `request` — in shard order.
    pub fn ask_all<R: Serialize>(&self, common: &C, request: &R) -> Result<Vec<A>> {
        let requests = (0..self.ids.len()).map(|s| Ok((self.ids[s], away::encode(request, self.what)?)));
        away::ask(self.away, self.what, common, requests.collect::<Result<Vec<_>>>()?)
    }

    /// The answers to `common` of the shards (by place) each with its own request — in the order asked.
    pub fn ask_each<R: Serialize>(&self, common: &C, requests: Vec<(usize, R)>) -> Result<Vec<A>> {
        let requests = requests.into_iter().map(|(s, r)| Ok((self.ids[s], away::encode(&r, self.what)?)));
        away::ask(self.away, self.what, common, requests.collect::<Result<Vec<_>>>()?)
    }

    /// The shards' answers to `step` (each shard sent `request`), as steps answer.
    fn step_answers<R: Serialize>(&self, step: TallStep, request: &R) -> Result<Vec<TallAnswer>> {
        let answers = self.ask_all(&(self.step)(step), request)?;
        answers.into_iter().map(|a| (self.answer)(a).ok_or_else(|| away::unexpected(self.what))).collect()
    }

    /// The shards' parts (each `size` long, or of one size if `size` is `None`) picked by `part`.
    fn parts<T>(
        &self,
        answers: Vec<TallAnswer>,
        size: Option<usize>,
        part: impl Fn(TallAnswer) -> Option<Vec<T>>,
    ) -> Result<Vec<Vec<T>>> {
        let parts: Vec<Vec<T>> =
            answers.into_iter().map(|a| part(a).ok_or_else(|| away::unexpected(self.what))).collect::<Result<_>>()?;
        let size = size.or_else(|| parts.first().map(Vec::len)).unwrap_or(0);
        if let Some(s) = parts.iter().position(|p| p.len() != size) {
            return Err(Error::Shards(format!("{} shard {s} sent back sums of the wrong size", self.what)));
        }
        Ok(parts)
    }

    fn done(&self, answers: Vec<TallAnswer>) -> Result<()> {
        answers.into_iter().try_for_each(|a| match a {
            TallAnswer::Done => Ok(()),
            _ => Err(away::unexpected(self.what)),
        })
    }
}

/// With every shard sent the same `request` alongside each step.
pub struct AwayTall<'a, 'b, C, A, R> {
    pub rows: &'b AwayRows<'a, C, A>,
    pub request: R,
}

impl<C: Serialize, A: serde::de::DeserializeOwned, R: Serialize> TallSide for AwayTall<'_, '_, C, A, R> {
    fn multiply(&mut self, m: ArrayView2<f32>) -> Result<()> {
        let step = TallStep::Multiply { m: Packed(m.iter().copied().collect()), l: m.ncols() };
        self.rows.done(self.rows.step_answers(step, &self.request)?)
    }

    fn gram(&mut self) -> Result<Array2<f64>> {
        let answers = self.rows.step_answers(TallStep::Gram, &self.request)?;
        let parts = self.rows.parts(answers, None, |a| if let TallAnswer::Gram(g) = a { Some(g.0) } else { None })?;
        let size = parts.first().map_or(0, Vec::len);
        let l = (size as f64).sqrt().round() as usize;
        shaped(added_from_zero(parts, size), l, l, self.rows.what, 0)
    }

    fn transform(&mut self, t: ArrayView2<f32>) -> Result<()> {
        let step = TallStep::Transform { t: Packed(t.iter().copied().collect()), rows: t.nrows(), cols: t.ncols() };
        self.rows.done(self.rows.step_answers(step, &self.request)?)
    }

    fn transposed_product(&mut self) -> Result<Array2<f32>> {
        let answers = self.rows.step_answers(TallStep::TransposedProduct, &self.request)?;
        let parts =
            self.rows.parts(answers, None, |a| if let TallAnswer::Product(p) = a { Some(p.0) } else { None })?;
        by_rows(added_from_first(parts), self.rows.v, self.rows.what, 0)
    }
}
