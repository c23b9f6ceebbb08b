//! Lloyd's k-means with greedy k-means++ seeding (scikit-learn's defaults), several seeded runs,
//! the best inertia kept.
//!
//! Why not linfa-clustering's `KMeans`: on 74,000 × 100 points it takes 0.2–0.27 s per
//! iteration (only the assignment step is parallel; ../shared/STACK.md), ten times our budget for
//! the whole clustering. This one does an iteration in ~15 ms and is checked against linfa's
//! inertia in the tests.
//!
//! The points are held by a [`PointSide`]: here ([`PointsHere`]) or by the shards' workers
//! ([`super::lsa_shards`]). Every sum over points is taken within fixed row shards (in fixed
//! blocks counted from each shard's first point), then the shards' sums are added in order, so
//! results depend neither on the number of threads nor on where the shards are.

use std::ops::Range;

use ndarray::{s, Array2, ArrayView1, ArrayView2, Axis, CowArray, Ix2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::linalg::BLOCK;

#[derive(Debug, Clone)]
pub struct KMeansFit {
    pub centroids: Array2<f32>,
    pub labels: Vec<u32>,
    /// Σ squared distance of each point to its centroid.
    pub inertia: f64,
    pub iterations: usize,
}

pub struct KMeansParams {
    pub k: usize,
    pub runs: usize,
    pub max_iterations: usize,
    /// Stop when the centroids move less than this share of the data's mean variance.
    pub tolerance: f64,
    pub seed: u64,
}

/// Where the points are held, and what k-means asks of them; sums over points come back per
/// shard, in shard order.
pub trait PointSide {
    /// Number of points and their dimensions.
    fn shape(&self) -> (usize, usize);
    /// The row shards' bounds.
    fn bounds(&self) -> &[usize];
    /// Per shard, Σ of each coordinate over its points.
    fn coordinate_sums(&mut self) -> Result<Vec<Vec<f64>>>;
    /// Per shard, Σ over its points of the squared distance to `mean`.
    fn squared_deviations(&mut self, mean: &[f64]) -> Result<Vec<f64>>;
    /// The coordinates of points `ids`.
    fn points(&mut self, ids: &[usize]) -> Result<Array2<f32>>;
    /// Each point's squared distance to the nearest centre so far becomes its distance to
    /// `centre`; returns, per shard, Σ of those distances.
    fn first_centre(&mut self, centre: ArrayView1<f32>) -> Result<Vec<f64>>;
    /// For each of `targets` (shard, value): the first of the shard's points where the running
    /// sum (from the shard's first point) of the distances so far passes the value, if any.
    fn locate(&mut self, targets: &[(usize, f64)]) -> Result<Vec<Option<usize>>>;
    /// For each candidate centre (a row of `candidates`): per shard, Σ over its points of the
    /// smaller of the distance so far and the distance to the candidate.
    fn try_centres(&mut self, candidates: ArrayView2<f32>) -> Result<Vec<Vec<f64>>>;
    /// The distances so far become those with candidate `i` of the last try.
    fn take_centre(&mut self, i: usize) -> Result<()>;
    /// Label every point by its nearest centroid; per shard, the clusters' sums.
    fn assign(&mut self, centroids: &Array2<f32>) -> Result<Vec<ClusterSums>>;
    /// Per shard, its point farthest from its centroid (labels of the last assign), and how far.
    fn farthest(&mut self, centroids: &Array2<f32>) -> Result<Vec<Option<(usize, f32)>>>;
    /// Keep the last assign's labels as the best run's.
    fn keep_labels(&mut self) -> Result<()>;
}

/// Cluster the rows of `points` (row shards `bounds`); `k` is capped at the number of points.
pub fn kmeans(points: ArrayView2<f32>, bounds: &[usize], params: &KMeansParams) -> KMeansFit {
    let mut here = PointsHere::new(points, bounds);
    let mut fit = kmeans_of(&mut here, params).expect("points held here answer");
    fit.labels = here.kept_labels();
    fit
}

/// [`kmeans`] of the points `side` holds; the best run's labels stay with the side (its
/// `keep_labels`), the fit's are left empty.
pub fn kmeans_of(side: &mut dyn PointSide, params: &KMeansParams) -> Result<KMeansFit> {
    let (n, _) = side.shape();
    let k = params.k.min(n).max(1);
    let tolerance = params.tolerance * mean_variance(side)?;
    let mut best: Option<KMeansFit> = None;
    for run in 0..params.runs.max(1) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(params.seed.wrapping_add(run as u64 * 0x9E37_79B9));
        let centroids = plus_plus(side, k, &mut rng)?;
        let fit = lloyd(side, centroids, params.max_iterations, tolerance)?;
        if best.as_ref().is_none_or(|b| fit.inertia < b.inertia) {
            side.keep_labels()?;
            best = Some(fit);
        }
    }
    Ok(best.expect("at least one run"))
}

/// Σ in shard order, from zero.
fn added(parts: &[f64]) -> f64 {
    parts.iter().fold(0.0, |total, p| total + p)
}

fn mean_variance(side: &mut dyn PointSide) -> Result<f64> {
    let (n, d) = side.shape();
    let mut mean = vec![0.0f64; d];
    for part in side.coordinate_sums()? {
        mean.iter_mut().zip(part).for_each(|(m, p)| *m += p);
    }
    let count = n.max(1) as f64;
    mean.iter_mut().for_each(|m| *m /= count);
    let total = added(&side.squared_deviations(&mean)?);
    Ok(total / (count * d.max(1) as f64))
}

fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Greedy k-means++ (as scikit-learn): each new centre is the best of 2 + ln k candidates drawn
/// in proportion to the squared distance to the nearest centre so far.
fn plus_plus(side: &mut dyn PointSide, k: usize, rng: &mut Xoshiro256PlusPlus) -> Result<Array2<f32>> {
    let ((n, d), bounds) = (side.shape(), side.bounds().to_vec());
    let trials = 2 + (k as f64).ln() as usize;
    let mut centroids = Array2::<f32>::zeros((k, d));
    let first = side.points(&[rng.gen_range(0..n)])?;
    centroids.row_mut(0).assign(&first.row(0));
    let mut totals = side.first_centre(first.row(0))?;
    for c in 1..k {
        let potential = added(&totals);
        // A draw is a point, or a target: the shard where the running sum of the shards' totals
        // passes it, and what is left of it there (located by the shard).
        let mut candidates = Vec::with_capacity(trials);
        let mut targets = Vec::new();
        for _ in 0..trials {
            if potential <= 0.0 {
                candidates.push(rng.gen_range(0..n));
                continue;
            }
            let target = rng.gen::<f64>() * potential;
            let mut before = 0.0;
            for (shard, &total) in totals.iter().enumerate() {
                if before + total > target {
                    targets.push((candidates.len(), (shard, target - before)));
                    break;
                }
                before += total;
            }
            // Where no shard's running sum passes the target (rounding): the last point.
            candidates.push(n - 1);
        }
        let asked: Vec<(usize, f64)> = targets.iter().map(|&(_, target)| target).collect();
        for ((slot, (shard, _)), found) in targets.iter().zip(side.locate(&asked)?) {
            // A target a shard's running sum never passes (rounding) falls on its last point.
            candidates[*slot] = found.unwrap_or(bounds[shard + 1] - 1);
        }
        let coordinates = side.points(&candidates)?;
        let tried = side.try_centres(coordinates.view())?;
        let best = (0..candidates.len())
            .map(|i| (i, added(&tried[i])))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
            .expect("at least one candidate");
        side.take_centre(best)?;
        centroids.row_mut(c).assign(&coordinates.row(best));
        totals = tried[best].clone();
    }
    Ok(centroids)
}

/// Per shard of points: Σ coordinates per cluster (f64), counts, and the shard's inertia.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterSums {
    sums: Vec<f64>,
    counts: Vec<u64>,
    inertia: f64,
}

impl ClusterSums {
    fn zero(k: usize, d: usize) -> Self {
        ClusterSums { sums: vec![0.0; k * d], counts: vec![0; k], inertia: 0.0 }
    }

    fn add(&mut self, part: &ClusterSums) {
        self.sums.iter_mut().zip(&part.sums).for_each(|(t, p)| *t += p);
        self.counts.iter_mut().zip(&part.counts).for_each(|(t, p)| *t += p);
        self.inertia += part.inertia;
    }
}

/// The shards' [`ClusterSums`] added in order.
fn assigned(side: &mut dyn PointSide, centroids: &Array2<f32>) -> Result<ClusterSums> {
    let (k, d) = centroids.dim();
    let mut total = ClusterSums::zero(k, d);
    side.assign(centroids)?.iter().for_each(|part| total.add(part));
    Ok(total)
}

/// The larger of two (point, distance) pairs: the farther, then the first.
fn farther(a: (usize, f32), b: (usize, f32)) -> (usize, f32) {
    if b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)).is_gt() {
        b
    } else {
        a
    }
}

fn lloyd(
    side: &mut dyn PointSide,
    mut centroids: Array2<f32>,
    max_iterations: usize,
    tolerance: f64,
) -> Result<KMeansFit> {
    let (k, d) = centroids.dim();
    let mut iterations = 0;
    loop {
        crate::progress::check();
        let sums = assigned(side, &centroids)?;
        iterations += 1;
        let mut moved = 0.0f64;
        let mut next = centroids.clone();
        for c in 0..k {
            if sums.counts[c] == 0 {
                // An empty cluster takes the point farthest from its centroid.
                let far = side.farthest(&centroids)?.into_iter().flatten().reduce(farther).map_or(0, |(i, _)| i);
                next.row_mut(c).assign(&side.points(&[far])?.row(0));
            } else {
                for j in 0..d {
                    next[[c, j]] = (sums.sums[c * d + j] / sums.counts[c] as f64) as f32;
                }
            }
            moved += squared_distance(next.row(c).to_slice().unwrap(), centroids.row(c).to_slice().unwrap()) as f64;
        }
        centroids = next;
        if moved <= tolerance || iterations >= max_iterations {
            // Labels and inertia for the final centroids.
            let sums = assigned(side, &centroids)?;
            return Ok(KMeansFit { centroids, labels: Vec::new(), inertia: sums.inertia, iterations });
        }
    }
}

/// Points held here (or by a worker, one shard of its own), in row shards `bounds`.
pub struct PointsHere<'a> {
    points: CowArray<'a, f32, Ix2>,
    /// The points' squared lengths.
    norms: Vec<f32>,
    bounds: Vec<usize>,
    /// Each point's squared distance to the nearest centre so far (k-means++).
    closest: Vec<f32>,
    /// The distances with each candidate of the last try.
    tried: Vec<Vec<f32>>,
    labels: Vec<u32>,
    kept: Vec<u32>,
}

impl<'a> PointsHere<'a> {
    pub fn new(points: impl Into<CowArray<'a, f32, Ix2>>, bounds: &[usize]) -> Self {
        let points = points.into();
        assert_eq!(bounds.last().copied(), Some(points.nrows()), "the shards cover the points");
        let norms = points.rows().into_iter().map(|p| p.dot(&p)).collect();
        let n = points.nrows();
        PointsHere {
            points,
            norms,
            bounds: bounds.to_vec(),
            closest: Vec::new(),
            tried: Vec::new(),
            labels: vec![0; n],
            kept: Vec::new(),
        }
    }

    fn shards(&self) -> impl Iterator<Item = Range<usize>> + '_ {
        self.bounds.windows(2).map(|w| w[0]..w[1])
    }

    /// Fixed blocks of points: counted from each shard's first point.
    fn blocks(&self) -> Vec<Range<usize>> {
        self.shards().flat_map(|r| r.clone().step_by(BLOCK).map(move |s| s..(s + BLOCK).min(r.end))).collect()
    }

    /// Squared distances of every point to each of `centres` (one vector per centre).
    fn distances(&self, centres: ArrayView2<f32>) -> Vec<Vec<f32>> {
        let products: Vec<Array2<f32>> =
            self.blocks().par_iter().map(|rows| self.points.slice(s![rows.clone(), ..]).dot(&centres.t())).collect();
        centres
            .rows()
            .into_iter()
            .enumerate()
            .map(|(j, centre)| {
                let tn = centre.dot(&centre);
                products
                    .iter()
                    .flat_map(|b| b.column(j).to_vec())
                    .zip(&self.norms)
                    .map(|(dot, &pn)| (pn - 2.0 * dot + tn).max(0.0))
                    .collect()
            })
            .collect()
    }

    /// Per shard, Σ of `values` over its points (f64, in order).
    fn shard_totals(&self, values: &[f32]) -> Vec<f64> {
        self.shards().map(|r| values[r].iter().map(|&v| v as f64).sum()).collect()
    }
}

impl PointsHere<'_> {
    /// The labels kept as the best run's.
    pub fn kept_labels(&self) -> Vec<u32> {
        self.kept.clone()
    }

    /// Per cluster, its `n` members (by the kept labels) nearest its centroid, by cosine
    /// similarity: each shard's best, then the best of those.
    pub fn nearest(&self, centroids: &Array2<f32>, n: usize) -> Vec<Vec<(usize, f64)>> {
        (0..centroids.nrows())
            .map(|c| {
                let centre = centroids.row(c);
                let norm = centre.dot(&centre).sqrt().max(f32::MIN_POSITIVE);
                let best = self.shards().flat_map(|rows| {
                    let members: Vec<(usize, f64)> = rows
                        .filter(|&d| self.kept[d] as usize == c)
                        .map(|d| (d, (self.points.row(d).dot(&centre) / norm) as f64))
                        .collect();
                    super::top(members, n)
                });
                super::top(best.collect(), n)
            })
            .collect()
    }
}

impl PointSide for PointsHere<'_> {
    fn shape(&self) -> (usize, usize) {
        self.points.dim()
    }

    fn bounds(&self) -> &[usize] {
        &self.bounds
    }

    fn coordinate_sums(&mut self) -> Result<Vec<Vec<f64>>> {
        // Row by row in f64, without a widened copy of the points (at 8× the full corpus that copy
        // was 240 MB, the largest thing held while clustering).
        Ok(self
            .shards()
            .map(|rows| {
                let mut sums = vec![0.0f64; self.points.ncols()];
                for row in self.points.slice(s![rows, ..]).axis_iter(Axis(0)) {
                    sums.iter_mut().zip(row).for_each(|(m, &x)| *m += x as f64);
                }
                sums
            })
            .collect())
    }

    fn squared_deviations(&mut self, mean: &[f64]) -> Result<Vec<f64>> {
        Ok(self
            .shards()
            .map(|rows| {
                self.points
                    .slice(s![rows, ..])
                    .axis_iter(Axis(0))
                    .map(|row| row.iter().zip(mean).map(|(&x, m)| (x as f64 - m).powi(2)).sum::<f64>())
                    .sum()
            })
            .collect())
    }

    fn points(&mut self, ids: &[usize]) -> Result<Array2<f32>> {
        Ok(self.points.select(Axis(0), ids))
    }

    fn first_centre(&mut self, centre: ArrayView1<f32>) -> Result<Vec<f64>> {
        self.closest = self.distances(centre.insert_axis(Axis(0))).remove(0);
        Ok(self.shard_totals(&self.closest))
    }

    fn locate(&mut self, targets: &[(usize, f64)]) -> Result<Vec<Option<usize>>> {
        Ok(targets
            .iter()
            .map(|&(shard, left)| {
                let rows = self.bounds[shard]..self.bounds[shard + 1];
                let mut sum = 0.0;
                rows.clone().find(|&r| {
                    sum += self.closest[r] as f64;
                    sum > left
                })
            })
            .collect())
    }

    fn try_centres(&mut self, candidates: ArrayView2<f32>) -> Result<Vec<Vec<f64>>> {
        self.tried = self
            .distances(candidates)
            .into_iter()
            .map(|dist| self.closest.iter().zip(dist).map(|(&a, b)| a.min(b)).collect())
            .collect();
        Ok(self.tried.iter().map(|updated| self.shard_totals(updated)).collect())
    }

    fn take_centre(&mut self, i: usize) -> Result<()> {
        self.closest = std::mem::take(&mut self.tried).swap_remove(i);
        Ok(())
    }

    fn assign(&mut self, centroids: &Array2<f32>) -> Result<Vec<ClusterSums>> {
        let (k, d) = centroids.dim();
        let norms: Vec<f32> = centroids.axis_iter(Axis(0)).map(|c| c.dot(&c)).collect();
        let blocks = self.blocks();
        let (points, point_norms) = (&self.points, &self.norms);
        let mut chunks = Vec::with_capacity(blocks.len());
        let mut rest = &mut self.labels[..];
        for rows in &blocks {
            let (chunk, tail) = std::mem::take(&mut rest).split_at_mut(rows.len());
            chunks.push((rows.clone(), chunk));
            rest = tail;
        }
        let parts: Vec<ClusterSums> = chunks
            .into_par_iter()
            .map(|(rows, chunk)| {
                let block = points.slice(s![rows.clone(), ..]);
                // ‖p − c‖² = ‖p‖² − 2 p·c + ‖c‖², the dot products as one small matrix product.
                let dots = block.dot(&centroids.t());
                // Block sums in f32 (2,048 points at most), added up across blocks in f64.
                let mut sums = vec![0f32; k * d];
                let mut part = ClusterSums::zero(k, d);
                for (((label, p), dots), &pn) in
                    chunk.iter_mut().zip(block.rows()).zip(dots.rows()).zip(&point_norms[rows])
                {
                    let (mut best, mut best_d) = (0usize, f32::INFINITY);
                    for (c, (&dot, &norm)) in dots.iter().zip(&norms).enumerate() {
                        let dist = pn - 2.0 * dot + norm;
                        if dist < best_d {
                            (best, best_d) = (c, dist);
                        }
                    }
                    *label = best as u32;
                    part.counts[best] += 1;
                    part.inertia += best_d.max(0.0) as f64;
                    for (s, &x) in sums[best * d..(best + 1) * d].iter_mut().zip(p) {
                        *s += x;
                    }
                }
                part.sums = sums.into_iter().map(f64::from).collect();
                part
            })
            .collect();
        // Each shard's blocks added from zero, in order.
        let mut parts = parts.into_iter();
        Ok(self
            .shards()
            .map(|shard| {
                let mut total = ClusterSums::zero(k, d);
                parts.by_ref().take(shard.len().div_ceil(BLOCK)).for_each(|part| total.add(&part));
                total
            })
            .collect())
    }

    fn farthest(&mut self, centroids: &Array2<f32>) -> Result<Vec<Option<(usize, f32)>>> {
        Ok(self
            .shards()
            .map(|rows| {
                rows.map(|i| {
                    let c = centroids.row(self.labels[i] as usize);
                    (i, squared_distance(self.points.row(i).to_slice().unwrap(), c.to_slice().unwrap()))
                })
                .reduce(farther)
            })
            .collect())
    }

    fn keep_labels(&mut self) -> Result<()> {
        self.kept = self.labels.clone();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::prelude::*;
    use linfa_clustering::KMeans;
    use rand_xoshiro::Xoshiro256Plus;

    /// Four Gaussian-ish blobs in 5 dimensions, 400 points, from a seeded generator.
    fn blobs() -> (Array2<f32>, Vec<u32>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let mut truth = Vec::new();
        let points = Array2::from_shape_fn((400, 5), |(i, j)| {
            let blob = i % 4;
            if j == 0 {
                truth.push(blob as u32);
            }
            let centre = if j == blob { 4.0 } else { 0.0 };
            centre + rng.gen_range(-1.0f32..1.0)
        });
        (points, truth)
    }

    fn params(k: usize) -> KMeansParams {
        KMeansParams { k, runs: 3, max_iterations: 300, tolerance: 1e-4, seed: 11 }
    }

    #[test]
    fn recovers_separated_blobs() {
        let (points, truth) = blobs();
        let fit = kmeans(points.view(), &[0, 130, 260, 400], &params(4));
        // Same partition up to renaming: each true blob maps to exactly one label.
        for blob in 0..4u32 {
            let labels: std::collections::BTreeSet<u32> =
                truth.iter().zip(&fit.labels).filter(|(t, _)| **t == blob).map(|(_, l)| *l).collect();
            assert_eq!(labels.len(), 1, "blob {blob} split across {labels:?}");
        }
    }

    #[test]
    fn inertia_is_no_worse_than_linfa() {
        let (points, _) = blobs();
        let ours = kmeans(points.view(), &[0, 130, 260, 400], &params(6));
        let data = DatasetBase::from(points.mapv(|x| x as f64));
        let model = KMeans::params_with_rng(6, Xoshiro256Plus::seed_from_u64(11))
            .n_runs(3)
            .max_n_iterations(300)
            .tolerance(1e-4)
            .fit(&data)
            .unwrap();
        let linfa_inertia = model.inertia();
        // linfa reports the mean squared distance per point.
        assert!(ours.inertia / 400.0 <= linfa_inertia * 1.02, "ours {} vs linfa {}", ours.inertia, linfa_inertia);
    }

    #[test]
    fn seeded_runs_repeat_exactly() {
        let (points, _) = blobs();
        let a = kmeans(points.view(), &[0, 130, 260, 400], &params(5));
        let b = kmeans(points.view(), &[0, 130, 260, 400], &params(5));
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.centroids, b.centroids);
    }
}
