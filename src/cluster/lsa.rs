//! LSA + k-means on the documents' side of the TF-IDF matrix: the randomized SVD's tall side
//! (X's rows and Q's), then the documents' points in LSA space, clustered by k-means — all held
//! here ([`LsaHere`], every row in the plan's row shards) or by the shards' workers
//! ([`super::lsa_shards`], a shard each), with the same sums over documents either way.

use std::borrow::Cow;

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};

use super::kmeans::{kmeans_of, ClusterSums, KMeansFit, KMeansParams, PointSide, PointsHere};
use crate::error::{Error, Result};
use crate::linalg::{
    normalize_rows, randomized_svd_of, Scatter, TallRows, TallSide, SVD_OVERSAMPLE, SVD_POWER_ITERATIONS,
};
use crate::vectorize::{Csr, Weights};

/// Per cluster, its members nearest its centroid, with their cosine similarity, nearest first.
pub type Nearest = Vec<Vec<(usize, f64)>>;

/// The documents' side of LSA + k-means: the SVD's, then the points'.
pub trait LsaSide: PointSide {
    /// The SVD's side of the documents.
    fn tall(&mut self) -> Result<Box<dyn TallSide + '_>>;
    /// The points: the SVD's U scaled by the singular values `s` (scikit-learn's
    /// TruncatedSVD.transform), rows scaled to unit length. X and U are let go.
    fn make_points(&mut self, s: &[f64]) -> Result<()>;
    /// The best run's labels and, per cluster, its `n` members nearest its `centroids` (by cosine);
    /// the side is done.
    fn finish(&mut self, centroids: &Array2<f32>, n: usize) -> Result<(Vec<u32>, Nearest)>;
}

/// Settings of one LSA + k-means fit.
pub struct LsaFit {
    pub dimensions: usize,
    pub kmeans: KMeansParams,
    pub representatives: usize,
}

/// The SVD of the `n` × `v` matrix on `side`, its points, k-means on them and each cluster's
/// nearest members.
pub fn lsa_kmeans<S: LsaSide>(
    side: &mut S,
    (n, v): (usize, usize),
    fit: &LsaFit,
    seed: u64,
) -> Result<(KMeansFit, Nearest)> {
    let (s, _) =
        randomized_svd_of(&mut *side.tall()?, n, v, fit.dimensions, SVD_OVERSAMPLE, SVD_POWER_ITERATIONS, seed)?;
    side.make_points(s.as_slice().expect("a vector"))?;
    let mut clusters = kmeans_of(side, &fit.kmeans)?;
    let (labels, nearest) = side.finish(&clusters.centroids, fit.representatives)?;
    clusters.labels = labels;
    Ok((clusters, nearest))
}

/// X's rows: borrowed here, owned where a worker holds them.
pub enum Rows<'a> {
    Here(&'a dyn Weights),
    Held(Csr<f32>),
}

impl Rows<'_> {
    fn get(&self) -> &dyn Weights {
        match self {
            Rows::Here(x) => *x,
            Rows::Held(x) => x,
        }
    }
}

/// The documents' side held in this process (every row, by the scatter plan's row shards), or by a
/// worker (its shard's rows, one shard of their own).
pub struct LsaHere<'a> {
    x: Option<Rows<'a>>,
    scatter: Cow<'a, Scatter>,
    q: Array2<f32>,
    points: Option<PointsHere<'static>>,
}

impl<'a> LsaHere<'a> {
    pub fn new(x: Rows<'a>, scatter: Cow<'a, Scatter>) -> Self {
        LsaHere { x: Some(x), scatter, q: Array2::zeros((0, 0)), points: None }
    }

    fn held_points(&mut self) -> Result<&mut PointsHere<'static>> {
        self.points.as_mut().ok_or_else(|| Error::Shards("LSA: the points are not made yet".into()))
    }
}

impl LsaSide for LsaHere<'_> {
    fn tall(&mut self) -> Result<Box<dyn TallSide + '_>> {
        let x = self.x.as_ref().ok_or_else(|| Error::Shards("LSA: the rows were let go".into()))?;
        Ok(Box::new(TallRows { x: x.get(), scatter: &self.scatter, q: &mut self.q }))
    }

    fn make_points(&mut self, s: &[f64]) -> Result<()> {
        // U's own buffer becomes the points.
        let mut points = std::mem::take(&mut self.q);
        for (j, mut col) in points.axis_iter_mut(Axis(1)).enumerate() {
            let scale = s[j] as f32;
            col.mapv_inplace(|x| x * scale);
        }
        normalize_rows(&mut points);
        self.x = None;
        self.points = Some(PointsHere::new(points, self.scatter.row_shards()));
        Ok(())
    }

    fn finish(&mut self, centroids: &Array2<f32>, n: usize) -> Result<(Vec<u32>, Nearest)> {
        let points = self.held_points()?;
        Ok((points.kept_labels(), points.nearest(centroids, n)))
    }
}

impl PointSide for LsaHere<'_> {
    fn shape(&self) -> (usize, usize) {
        self.points.as_ref().map_or((0, 0), |p| p.shape())
    }

    fn bounds(&self) -> &[usize] {
        self.scatter.row_shards()
    }

    fn coordinate_sums(&mut self) -> Result<Vec<Vec<f64>>> {
        self.held_points()?.coordinate_sums()
    }

    fn squared_deviations(&mut self, mean: &[f64]) -> Result<Vec<f64>> {
        self.held_points()?.squared_deviations(mean)
    }

    fn points(&mut self, ids: &[usize]) -> Result<Array2<f32>> {
        self.held_points()?.points(ids)
    }

    fn first_centre(&mut self, centre: ArrayView1<f32>) -> Result<Vec<f64>> {
        self.held_points()?.first_centre(centre)
    }

    fn locate(&mut self, targets: &[(usize, f64)]) -> Result<Vec<Option<usize>>> {
        self.held_points()?.locate(targets)
    }

    fn try_centres(&mut self, candidates: ArrayView2<f32>) -> Result<Vec<Vec<f64>>> {
        self.held_points()?.try_centres(candidates)
    }

    fn take_centre(&mut self, i: usize) -> Result<()> {
        self.held_points()?.take_centre(i)
    }

    fn assign(&mut self, centroids: &Array2<f32>) -> Result<Vec<ClusterSums>> {
        self.held_points()?.assign(centroids)
    }

    fn farthest(&mut self, centroids: &Array2<f32>) -> Result<Vec<Option<(usize, f32)>>> {
        self.held_points()?.farthest(centroids)
    }

    fn keep_labels(&mut self) -> Result<()> {
        self.held_points()?.keep_labels()
    }
}
