//! LSA + k-means with the documents' side held away from the driver — on Ray actors, each holding
//! one row shard of the TF-IDF matrix, then its documents' points in LSA space, from step to step
//! — giving the same clusters, bit for bit, as holding them in this process: the row shards and
//! every sum over documents are [`super::lsa`]'s and [`super::kmeans`]'s own; only where a shard's
//! part runs changes.
//!
//! The row shards are the plan's (their documents' analysed rows, [`RowShards`]): each worker makes
//! its shard's rows of X once, from the shard's tokens, so the driver never holds the matrix. The SVD runs on them as NMF's start does
//! ([`crate::shards::rows`]); each shard then makes its points from its rows of U and keeps them.
//! k-means asks the shards for their sums (coordinates, k-means++'s potentials, the clusters' sums)
//! and adds them in shard order; a point it needs (a centre) it asks of its shard. At the end each
//! shard sends its labels and its members nearest each centroid. Should a shard be lost, the fit
//! starts again from the start.

use std::borrow::Cow;

use ndarray::{Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use super::kmeans::{ClusterSums, PointSide};
use super::lsa::{LsaHere, LsaSide, Nearest, Rows};
use crate::error::{Error, Result};
use crate::linalg::TallSide;
use crate::shards::away::{self, AwayShards, FetchTokens, Packed, ShardHost};
use crate::shards::rows::{self, by_rows, raw, AwayRows, AwayTall, TallAnswer, TallStep, TfidfFromTokens};
use crate::shards::RowShards;

/// How errors and notes name these shards.
pub(super) const WHAT: &str = "LSA";

#[derive(Serialize, Deserialize)]
enum Common {
    Start(TfidfFromTokens),
    Tall(TallStep),
    MakePoints {
        s: Vec<f64>,
    },
    CoordinateSums,
    SquaredDeviations {
        mean: Vec<f64>,
    },
    /// The shards' own requests say which points.
    Points,
    FirstCentre {
        centre: Vec<f32>,
    },
    /// The shards' own requests carry the targets.
    Locate,
    TryCentres {
        candidates: Packed<f32>,
        count: usize,
    },
    TakeCentre {
        i: usize,
    },
    Assign {
        centroids: Packed<f32>,
        k: usize,
    },
    Farthest {
        centroids: Packed<f32>,
        k: usize,
    },
    KeepLabels,
    /// The last request: the labels and each cluster's nearest members; the shard is let go.
    Finish {
        centroids: Packed<f32>,
        k: usize,
        n: usize,
    },
}

#[derive(Serialize, Deserialize)]
enum Request {
    /// The shard's documents (places in it) whose rows it makes.
    Start(Vec<usize>),
    Step,
    /// Points of the shard (its own numbering).
    Points(Vec<usize>),
    /// What is left of each target within the shard.
    Locate(Vec<f64>),
}

#[derive(Serialize, Deserialize)]
enum Answer {
    Done,
    Tall(TallAnswer),
    Sums(Vec<f64>),
    Total(f64),
    Totals(Vec<f64>),
    Points(Packed<f32>),
    Located(Vec<Option<usize>>),
    Clusters(ClusterSums),
    Farthest(Option<(usize, f32)>),
    Finished { labels: Packed<u32>, nearest: Vec<Vec<(usize, f64)>> },
}

/// The LSA shards one worker holds, each as the driver last left it.
#[derive(Default)]
pub struct LsaShardHost {
    shards: away::Held<(usize, LsaHere<'static>)>,
}

impl ShardHost for LsaShardHost {
    fn answer(&mut self, shard: usize, common: &[u8], request: &[u8], tokens: &FetchTokens) -> Result<Vec<u8>> {
        let (common, request) = (away::decode::<Common>(common, WHAT)?, away::decode::<Request>(request, WHAT)?);
        let answer = match (common, request) {
            (Common::Start(from), Request::Start(docs)) => {
                let (x, scatter) = from.rows(&tokens()?, &docs, WHAT, shard)?;
                let v = x.n_cols;
                let side = LsaHere::new(Rows::Held(x), Cow::Owned(scatter));
                self.shards.start(shard, (v, side));
                Answer::Done
            }
            (Common::Finish { centroids, k, n }, Request::Step) => {
                let (_, mut side) = self.shards.finish(shard, WHAT)?;
                let (labels, nearest) = side.finish(&by_rows(centroids.0, k, WHAT, shard)?, n)?;
                Answer::Finished { labels: Packed(labels), nearest }
            }
            (Common::Points, Request::Points(ids)) => {
                let (_, side) = self.shards.get(shard, WHAT)?;
                check_ids(&ids, side.shape().0, shard)?;
                Answer::Points(Packed(raw(side.points(&ids)?)))
            }
            (Common::Locate, Request::Locate(left)) => {
                let (_, side) = self.shards.get(shard, WHAT)?;
                let targets: Vec<(usize, f64)> = left.into_iter().map(|l| (0, l)).collect();
                Answer::Located(side.locate(&targets)?)
            }
            (common, Request::Step) => {
                let (v, side) = self.shards.get(shard, WHAT)?;
                step(*v, side, common, shard)?
            }
            _ => return Err(away::mismatched(WHAT, shard)),
        };
        away::encode(&answer, WHAT)
    }
}

/// A held shard's answer to a step (it holds one row shard: each per-shard list has one entry).
fn step(v: usize, side: &mut LsaHere<'static>, common: Common, shard: usize) -> Result<Answer> {
    let one = |mut parts: Vec<f64>| parts.pop().ok_or_else(|| away::unexpected(WHAT));
    Ok(match common {
        Common::Tall(step) => Answer::Tall(rows::answer_step(&mut *side.tall()?, step, v, WHAT, shard)?),
        Common::MakePoints { s } => {
            side.make_points(&s)?;
            Answer::Done
        }
        Common::CoordinateSums => Answer::Sums(side.coordinate_sums()?.pop().unwrap_or_default()),
        Common::SquaredDeviations { mean } => Answer::Total(one(side.squared_deviations(&mean)?)?),
        Common::FirstCentre { centre } => Answer::Total(one(side.first_centre(ArrayView1::from(&centre))?)?),
        Common::TryCentres { candidates, count } => {
            let candidates = by_rows(candidates.0, count, WHAT, shard)?;
            Answer::Totals(side.try_centres(candidates.view())?.into_iter().map(one).collect::<Result<_>>()?)
        }
        Common::TakeCentre { i } => {
            side.take_centre(i)?;
            Answer::Done
        }
        Common::Assign { centroids, k } => {
            let sums = side.assign(&by_rows(centroids.0, k, WHAT, shard)?)?;
            Answer::Clusters(sums.into_iter().next().ok_or_else(|| away::unexpected(WHAT))?)
        }
        Common::Farthest { centroids, k } => {
            Answer::Farthest(side.farthest(&by_rows(centroids.0, k, WHAT, shard)?)?.into_iter().flatten().next())
        }
        Common::KeepLabels => {
            side.keep_labels()?;
            Answer::Done
        }
        _ => return Err(away::mismatched(WHAT, shard)),
    })
}

fn check_ids(ids: &[usize], n: usize, shard: usize) -> Result<()> {
    match ids.iter().find(|&&i| i >= n) {
        Some(i) => Err(Error::Shards(format!("{WHAT} shard {shard}: no point {i} among its {n}"))),
        None => Ok(()),
    }
}

/// LSA's documents' side held by the shards' workers, as the driver sees it.
pub(super) struct LsaAway<'a> {
    rows: AwayRows<'a, Common, Answer>,
    /// The points' dimensions, once made.
    dims: usize,
}

impl<'a> LsaAway<'a> {
    /// Have each of the row shards `shards` make its rows of X from its tokens, as `from` says.
    pub(super) fn start(away: &'a AwayShards, from: &TfidfFromTokens, shards: &RowShards) -> Result<Self> {
        let answer = |a: Answer| if let Answer::Tall(t) = a { Some(t) } else { None };
        let (rows, answers) =
            AwayRows::from_tokens(away, shards, WHAT, (Common::Tall, answer), (Common::Start, from), Request::Start)?;
        let lsa = LsaAway { rows, dims: 0 };
        lsa.done(answers)?;
        Ok(lsa)
    }

    fn ask(&self, common: &Common) -> Result<Vec<Answer>> {
        self.rows.ask_all(common, &Request::Step)
    }

    /// Ask the shards in `requests` (shard, its own request) only.
    fn ask_some(&self, common: &Common, requests: Vec<(usize, Request)>) -> Result<Vec<Answer>> {
        self.rows.ask_each(common, requests)
    }

    fn done(&self, answers: Vec<Answer>) -> Result<()> {
        answers.into_iter().try_for_each(|a| if let Answer::Done = a { Ok(()) } else { Err(away::unexpected(WHAT)) })
    }

    /// The shard of point `i`, and its number there.
    fn place(&self, i: usize) -> (usize, usize) {
        let bounds = &self.rows.bounds;
        let shard = bounds.partition_point(|&b| b <= i) - 1;
        (shard, i - bounds[shard])
    }

    /// Every shard's answer picked by `pick` (one per shard, in shard order).
    fn each<T>(&self, common: &Common, pick: impl Fn(Answer) -> Option<T>) -> Result<Vec<T>> {
        self.ask(common)?.into_iter().map(|a| pick(a).ok_or_else(|| away::unexpected(WHAT))).collect()
    }
}

impl LsaSide for LsaAway<'_> {
    fn tall(&mut self) -> Result<Box<dyn TallSide + '_>> {
        Ok(Box::new(AwayTall { rows: &self.rows, request: Request::Step }))
    }

    fn make_points(&mut self, s: &[f64]) -> Result<()> {
        self.dims = s.len();
        self.done(self.ask(&Common::MakePoints { s: s.to_vec() })?)
    }

    fn finish(&mut self, centroids: &Array2<f32>, n: usize) -> Result<(Vec<u32>, Nearest)> {
        let k = centroids.nrows();
        let common = Common::Finish { centroids: Packed(raw(centroids.clone())), k, n };
        let (mut labels, mut nearest) = (Vec::new(), vec![Vec::new(); k]);
        for (s, answer) in self.ask(&common)?.into_iter().enumerate() {
            let Answer::Finished { labels: shard_labels, nearest: shard_nearest } = answer else {
                return Err(away::unexpected(WHAT));
            };
            let offset = self.rows.bounds[s];
            if shard_labels.0.len() != self.rows.bounds[s + 1] - offset || shard_nearest.len() != k {
                return Err(Error::Shards(format!("{WHAT} shard {s} sent back labels of the wrong size")));
            }
            labels.extend(shard_labels.0);
            for (all, part) in nearest.iter_mut().zip(shard_nearest) {
                all.extend(part.into_iter().map(|(d, score)| (d + offset, score)));
            }
        }
        Ok((labels, nearest.into_iter().map(|best| super::top(best, n)).collect()))
    }
}

impl PointSide for LsaAway<'_> {
    fn shape(&self) -> (usize, usize) {
        (*self.rows.bounds.last().expect("bounds"), self.dims)
    }

    fn bounds(&self) -> &[usize] {
        &self.rows.bounds
    }

    fn coordinate_sums(&mut self) -> Result<Vec<Vec<f64>>> {
        self.each(&Common::CoordinateSums, |a| if let Answer::Sums(s) = a { Some(s) } else { None })
    }

    fn squared_deviations(&mut self, mean: &[f64]) -> Result<Vec<f64>> {
        self.each(&Common::SquaredDeviations { mean: mean.to_vec() }, |a| {
            if let Answer::Total(t) = a {
                Some(t)
            } else {
                None
            }
        })
    }

    fn points(&mut self, ids: &[usize]) -> Result<Array2<f32>> {
        // Grouped by shard; each id's place in its group puts its row back in the order asked.
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut places = Vec::with_capacity(ids.len());
        for &i in ids {
            let (shard, local) = self.place(i);
            let g = groups.iter().position(|(s, _)| *s == shard).unwrap_or_else(|| {
                groups.push((shard, Vec::new()));
                groups.len() - 1
            });
            places.push((g, groups[g].1.len()));
            groups[g].1.push(local);
        }
        let requests = groups.iter().map(|(s, locals)| (*s, Request::Points(locals.clone()))).collect();
        let dims = self.dims;
        let mut values = Vec::new();
        for ((shard, locals), answer) in groups.iter().zip(self.ask_some(&Common::Points, requests)?) {
            let Answer::Points(rows) = answer else { return Err(away::unexpected(WHAT)) };
            if rows.0.len() != locals.len() * dims {
                return Err(Error::Shards(format!("{WHAT} shard {shard} sent back points of the wrong size")));
            }
            values.push(rows.0);
        }
        let mut out = Array2::<f32>::zeros((ids.len(), dims));
        for (row, (g, at)) in places.into_iter().enumerate() {
            out.row_mut(row).assign(&ArrayView1::from(&values[g][at * dims..(at + 1) * dims]));
        }
        Ok(out)
    }

    fn first_centre(&mut self, centre: ArrayView1<f32>) -> Result<Vec<f64>> {
        self.each(&Common::FirstCentre { centre: centre.to_vec() }, |a| {
            if let Answer::Total(t) = a {
                Some(t)
            } else {
                None
            }
        })
    }

    fn locate(&mut self, targets: &[(usize, f64)]) -> Result<Vec<Option<usize>>> {
        let mut shards: Vec<usize> = targets.iter().map(|&(s, _)| s).collect();
        shards.sort_unstable();
        shards.dedup();
        let requests = shards
            .iter()
            .map(|&s| (s, Request::Locate(targets.iter().filter(|t| t.0 == s).map(|t| t.1).collect())))
            .collect();
        let mut found: Vec<std::vec::IntoIter<Option<usize>>> = Vec::new();
        for answer in self.ask_some(&Common::Locate, requests)? {
            let Answer::Located(places) = answer else { return Err(away::unexpected(WHAT)) };
            found.push(places.into_iter());
        }
        targets
            .iter()
            .map(|&(s, _)| {
                let i = shards.binary_search(&s).expect("asked");
                let place = found[i].next().ok_or_else(|| away::unexpected(WHAT))?;
                Ok(place.map(|local| local + self.rows.bounds[s]))
            })
            .collect()
    }

    fn try_centres(&mut self, candidates: ArrayView2<f32>) -> Result<Vec<Vec<f64>>> {
        let common =
            Common::TryCentres { candidates: Packed(candidates.iter().copied().collect()), count: candidates.nrows() };
        let per_shard = self.each(&common, |a| if let Answer::Totals(t) = a { Some(t) } else { None })?;
        if per_shard.iter().any(|t| t.len() != candidates.nrows()) {
            return Err(Error::Shards(format!("a {WHAT} shard sent back totals for other candidates")));
        }
        Ok((0..candidates.nrows()).map(|c| per_shard.iter().map(|t| t[c]).collect()).collect())
    }

    fn take_centre(&mut self, i: usize) -> Result<()> {
        self.done(self.ask(&Common::TakeCentre { i })?)
    }

    fn assign(&mut self, centroids: &Array2<f32>) -> Result<Vec<ClusterSums>> {
        let common = Common::Assign { centroids: Packed(raw(centroids.clone())), k: centroids.nrows() };
        self.each(&common, |a| if let Answer::Clusters(c) = a { Some(c) } else { None })
    }

    fn farthest(&mut self, centroids: &Array2<f32>) -> Result<Vec<Option<(usize, f32)>>> {
        let common = Common::Farthest { centroids: Packed(raw(centroids.clone())), k: centroids.nrows() };
        let found = self.each(&common, |a| if let Answer::Farthest(f) = a { Some(f) } else { None })?;
        Ok(found.into_iter().enumerate().map(|(s, f)| f.map(|(i, d)| (i + self.rows.bounds[s], d))).collect())
    }

    fn keep_labels(&mut self) -> Result<()> {
        self.done(self.ask(&Common::KeepLabels)?)
    }
}
