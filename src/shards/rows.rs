//! Rows of the TF-IDF matrix held by the shards' workers, and the randomized SVD's documents' side
//! ([`TallSide`]) run there: what the matrix models held away (NMF, [`crate::topics::nmf_shards`];
//! LSA, [`crate::cluster::lsa_shards`]) share. Their row shards are the plan's ([`RowShards`]): each
//! worker makes its shard's rows from the shard's tokens, so the driver never holds the matrix.
//! Each worker's part of a sum over documents is its shard's; the driver adds the parts in shard
//! order, as the same shards held here are added ([`crate::linalg`]), so both give the same bits.

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::away::{self, AwayShards, Packed};
use super::RowShards;
use crate::error::{Error, Result};
use crate::linalg::{Scatter, TallSide};
use crate::vectorize::{columns_of, count_rows, row_norms, Csr, TfidfWeights, Weights};

/// Where a matrix model (LSA + k-means, NMF) finds the TF-IDF rows of its documents' side: the
/// matrix held here (`X`), or a sharded run's workers, each making its shard's rows from its
/// tokens as `from` says.
pub enum MatrixRows<'a, X: ?Sized> {
    Here(&'a X),
    Away { away: &'a AwayShards, from: &'a TfidfFromTokens },
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

/// The shards' parts of a sum over documents added as they come, in shard order, as the shards
/// held here add them: an Xᵀ product from the first shard's part, the others added ([`Scatter`]);
/// Gram matrices and other sums from zero ([`crate::linalg::gram_by_shards`],
/// [`crate::linalg::sum_by_shards`]). Only the total is held, never every shard's part.
pub struct PartsAdded<T> {
    total: Option<Vec<T>>,
    from_zero: bool,
}

impl<T: Copy + Default + std::ops::AddAssign> PartsAdded<T> {
    pub fn from_first() -> Self {
        PartsAdded { total: None, from_zero: false }
    }

    pub fn from_zero() -> Self {
        PartsAdded { total: None, from_zero: true }
    }

    /// Shard `shard`'s part (of the same length as the others'; an error names `what` shard).
    pub fn add(&mut self, part: Vec<T>, what: &str, shard: usize) -> Result<()> {
        match &mut self.total {
            Some(total) if total.len() != part.len() => {
                Err(Error::Shards(format!("{what} shard {shard} sent back sums of the wrong size")))
            }
            Some(total) => {
                total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
                Ok(())
            }
            None if self.from_zero => {
                let mut total = vec![T::default(); part.len()];
                total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
                self.total = Some(total);
                Ok(())
            }
            None => {
                self.total = Some(part);
                Ok(())
            }
        }
    }

    /// The sum (of `size` zeros when no shard sent a part).
    pub fn total(self, size: usize) -> Vec<T> {
        self.total.unwrap_or_else(|| vec![T::default(); size])
    }
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
    /// Have each of the row shards `shards` (the plan's) make its rows of X from its tokens as `from`
    /// says: the model's `start` common message carrying `from`, and its request carrying the
    /// shard's documents; the shards' answers come back beside the rows held.
    pub fn from_tokens<R: Serialize>(
        away: &'a AwayShards,
        shards: &RowShards,
        what: &'static str,
        (step, answer): StepMessages<C, A>,
        (common, from): (fn(TfidfFromTokens) -> C, &TfidfFromTokens),
        start: fn(Vec<usize>) -> R,
    ) -> Result<(Self, Vec<A>)> {
        let v = from.vocabulary.len();
        let rows = AwayRows { away, bounds: shards.bounds.clone(), ids: shards.ids.clone(), v, what, step, answer };
        let starts = shards.places.iter().map(|docs| start(docs.clone())).enumerate().collect();
        let answers = rows.ask_each(&common(from.clone()), starts)?;
        Ok((rows, answers))
    }

    /// Every shard's answer to `common`, each shard sent `request` — in shard order.
    pub fn ask_all<R: Serialize>(&self, common: &C, request: &R) -> Result<Vec<A>> {
        self.fold_all(common, request, Vec::new(), |mut all, _, answer| {
            all.push(answer);
            Ok(all)
        })
    }

    /// Every shard's answer to `common` (each shard sent `request`), folded into `total` by
    /// `add(total, shard, answer)` as it comes, in shard order.
    pub fn fold_all<R: Serialize, T>(
        &self,
        common: &C,
        request: &R,
        total: T,
        add: impl FnMut(T, usize, A) -> Result<T>,
    ) -> Result<T> {
        let requests = (0..self.ids.len()).map(|s| Ok((self.ids[s], away::encode(request, self.what)?)));
        away::fold(self.away, self.what, common, requests.collect::<Result<Vec<_>>>()?, total, add)
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

    /// The shards' parts of a sum, picked by `part` from their answers to `step` and added as
    /// they come.
    fn added<T: Copy + Default + std::ops::AddAssign, R: Serialize>(
        &self,
        step: TallStep,
        request: &R,
        mut added: PartsAdded<T>,
        part: impl Fn(TallAnswer) -> Option<Vec<T>>,
    ) -> Result<Vec<T>> {
        self.fold_all(&(self.step)(step), request, (), |(), s, answer| {
            let picked = (self.answer)(answer).and_then(&part).ok_or_else(|| away::unexpected(self.what))?;
            added.add(picked, self.what, s)
        })?;
        Ok(added.total(0))
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
        let pick = |a| if let TallAnswer::Gram(g) = a { Some(g.0) } else { None };
        let total = self.rows.added(TallStep::Gram, &self.request, PartsAdded::from_zero(), pick)?;
        let l = (total.len() as f64).sqrt().round() as usize;
        shaped(total, l, l, self.rows.what, 0)
    }

    fn transform(&mut self, t: ArrayView2<f32>) -> Result<()> {
        let step = TallStep::Transform { t: Packed(t.iter().copied().collect()), rows: t.nrows(), cols: t.ncols() };
        self.rows.done(self.rows.step_answers(step, &self.request)?)
    }

    fn transposed_product(&mut self) -> Result<Array2<f32>> {
        let pick = |a| if let TallAnswer::Product(p) = a { Some(p.0) } else { None };
        let total = self.rows.added(TallStep::TransposedProduct, &self.request, PartsAdded::from_first(), pick)?;
        by_rows(total, self.rows.v, self.rows.what, 0)
    }
}

/// For the tests of the models held away: documents over `v` terms (`count(d, t)` occurrences of
/// term t in document d) in shards of the plan of `documents[s]` documents each, every seventh
/// document not analysed (a duplicate). Their TF-IDF matrix held here (`x`, sublinear tf) with its
/// count rows, its row shards, how the shards make it, and each shard's tokens as they travel.
#[cfg(test)]
pub struct TokenShards {
    pub x: Csr<f32>,
    pub counts: Csr<u32>,
    pub shards: RowShards,
    pub from: TfidfFromTokens,
    pub tokens: Vec<Vec<u8>>,
}

#[cfg(test)]
impl TokenShards {
    pub fn new(documents: &[usize], v: u32, count: impl Fn(u32, u32) -> u32) -> TokenShards {
        use crate::segment::Tokenized;
        let n_docs: usize = documents.iter().sum();
        let lists: Vec<Vec<String>> = (0..n_docs as u32)
            .map(|d| (0..v).flat_map(|t| std::iter::repeat_n(format!("w{t:03}"), count(d, t) as usize)).collect())
            .collect();
        let rows: Vec<usize> = (0..n_docs).filter(|d| d % 7 != 3).collect();
        let vocabulary: Vec<String> = (0..v).map(|t| format!("w{t:03}")).collect();
        let whole = Tokenized::from_token_lists(&lists);
        let counts = count_rows(&whole, &rows, &columns_of(&whole.terms, &vocabulary), v as usize);
        let idf: Vec<f64> = (0..v).map(|t| 1.0 + t as f64 / 37.0).collect();
        let norms = row_norms(&counts, &idf, true);
        let x = TfidfWeights::new(&counts, &idf, &norms, true).stored().into_owned();
        let mut start = 0;
        let tokens = documents
            .iter()
            .map(|&n| {
                start += n;
                super::encode_tokens(&Tokenized::from_token_lists(&lists[start - n..start])).unwrap()
            })
            .collect();
        let shards = RowShards::of(&rows, documents);
        TokenShards { x, counts, shards, from: TfidfFromTokens { vocabulary, idf, sublinear_tf: true }, tokens }
    }
}
