//! Cluster: documents → LSA space (the leading singular vectors of the TF-IDF matrix, rows scaled
//! to unit length) → k-means. Each cluster is described by its c-TF-IDF terms and by the
//! documents nearest its centre.

pub mod kmeans;

use ndarray::{Array2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::linalg::{normalize_rows, truncated_svd, Scatter, ROW_SHARDS};
use crate::vectorize::{Csr, Weights};
use kmeans::{kmeans, KMeansParams};

/// `[cluster]` in a study file: `method = "lsa-kmeans"` (the default) or `"none"`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum ClusterConfig {
    LsaKmeans(LsaKmeans),
    None,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig::LsaKmeans(LsaKmeans::default())
    }
}

/// LSA + k-means settings. Defaults: 20 clusters in 50 LSA dimensions, one k-means run of at
/// most 300 iterations (tolerance 1e-4 of the mean variance, as scikit-learn), 20 terms and 5
/// documents per cluster.
///
/// Why 50 dimensions and 1 run: on the labelled xwlb check (tests/peers/labelled.py, 12
/// families, 5 seeds) NMI was 0.764 for 50 dimensions, 0.764 for 100 and 0.738 for
/// scikit-learn's KMeans on the full TF-IDF matrix, while 100 dimensions double the SVD's cost;
/// a second run from another k-means++ start gave the same NMI (0.773 both) at twice the
/// k-means time. scikit-learn's `n_init="auto"` also makes one run from k-means++.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LsaKmeans {
    pub k: usize,
    pub dimensions: usize,
    pub runs: usize,
    pub max_iterations: usize,
    pub tolerance: f64,
    pub top_terms: usize,
    pub representatives: usize,
}

impl Default for LsaKmeans {
    fn default() -> Self {
        LsaKmeans {
            k: 20,
            dimensions: 50,
            runs: 1,
            max_iterations: 300,
            tolerance: 1e-4,
            top_terms: 20,
            representatives: 5,
        }
    }
}

impl LsaKmeans {
    pub fn check(&self) -> Result<(), String> {
        if self.k < 2 {
            return Err(format!("[cluster] k = {}: need at least 2 clusters", self.k));
        }
        if self.dimensions < 2 {
            return Err(format!("[cluster] dimensions = {}: need at least 2", self.dimensions));
        }
        if self.runs == 0 || self.max_iterations == 0 {
            return Err("[cluster] runs and max_iterations must be at least 1".into());
        }
        Ok(())
    }
}

pub struct Clustering {
    pub k: usize,
    /// Cluster of each matrix row.
    pub labels: Vec<u32>,
    /// Per cluster: (term id, c-TF-IDF weight), best first.
    pub terms: Vec<Vec<(u32, f64)>>,
    /// Per cluster: (matrix row, cosine similarity to the centre), nearest first.
    pub representatives: Vec<Vec<(usize, f64)>>,
    pub inertia: f64,
    pub iterations: usize,
    /// Wall time of the fit (SVD, k-means, terms and representatives).
    pub seconds: f64,
}

impl Clustering {
    /// Documents in each cluster.
    pub fn sizes(&self) -> Vec<u32> {
        let mut size = vec![0u32; self.k];
        self.labels.iter().for_each(|&l| size[l as usize] += 1);
        size
    }

    /// One-hot rows of the labels (n × k): clusters as shares, for prevalence per period.
    pub fn one_hot(&self) -> Array2<f32> {
        let mut m = Array2::zeros((self.labels.len(), self.k));
        self.labels.iter().enumerate().for_each(|(r, &l)| m[[r, l as usize]] = 1.0);
        m
    }
}

/// Cluster the rows of the TF-IDF matrix `x` (`counts` its term counts).
pub fn cluster(x: &dyn Weights, counts: &Csr<u32>, params: &LsaKmeans, seed: u64) -> Clustering {
    let start = std::time::Instant::now();
    let scatter = Scatter::new(x, rayon::current_num_threads(), ROW_SHARDS);
    let svd = truncated_svd(x, &scatter, params.dimensions, seed);
    // Document coordinates in LSA space: U · Σ (scikit-learn's TruncatedSVD.transform), unit rows;
    // U's own buffer becomes them.
    let mut points: Array2<f32> = svd.u;
    for (j, mut col) in points.axis_iter_mut(Axis(1)).enumerate() {
        let scale = svd.s[j] as f32;
        col.mapv_inplace(|x| x * scale);
    }
    normalize_rows(&mut points);
    let fit = kmeans(
        points.view(),
        scatter.row_shards(),
        &KMeansParams {
            k: params.k,
            runs: params.runs,
            max_iterations: params.max_iterations,
            tolerance: params.tolerance,
            seed,
        },
    );
    let k = fit.centroids.nrows();
    let terms = c_tf_idf(counts, &fit.labels, k, params.top_terms);
    let representatives = (0..k)
        .map(|c| {
            let centre = fit.centroids.row(c);
            let norm = centre.dot(&centre).sqrt().max(f32::MIN_POSITIVE);
            let members: Vec<(usize, f64)> = (0..points.nrows())
                .filter(|&d| fit.labels[d] as usize == c)
                .map(|d| (d, (points.row(d).dot(&centre) / norm) as f64))
                .collect();
            top(members, params.representatives)
        })
        .collect();
    Clustering {
        k,
        labels: fit.labels,
        terms,
        representatives,
        inertia: fit.inertia,
        iterations: fit.iterations,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// The `n` best (index, weight) pairs: highest weight first, ties by index. Selects before it
/// sorts: a topic's 20 best of 100,000 terms need no full sort.
pub fn top<T: Copy + Ord>(mut items: Vec<(T, f64)>, n: usize) -> Vec<(T, f64)> {
    let order = |a: &(T, f64), b: &(T, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if n < items.len() {
        items.select_nth_unstable_by(n, order);
        items.truncate(n);
    }
    items.sort_by(order);
    items
}

/// Class-based TF-IDF (Grootendorst 2022, BERTopic): a term's share of its cluster's tokens
/// times `ln(1 + A / f)`, where A is the mean tokens per cluster and f the term's total count.
pub fn c_tf_idf(counts: &Csr<u32>, labels: &[u32], k: usize, n_terms: usize) -> Vec<Vec<(u32, f64)>> {
    let v = counts.n_cols;
    let mut per_cluster = vec![vec![0u64; v]; k];
    for (r, &label) in labels.iter().enumerate() {
        let (terms, times) = counts.row(r);
        let row = &mut per_cluster[label as usize];
        for (&t, &c) in terms.iter().zip(times) {
            row[t as usize] += c as u64;
        }
    }
    let mut total = vec![0u64; v];
    for row in &per_cluster {
        total.iter_mut().zip(row).for_each(|(t, c)| *t += c);
    }
    let mean_tokens = total.iter().sum::<u64>() as f64 / k as f64;
    per_cluster
        .par_iter()
        .map(|row| {
            let size = row.iter().sum::<u64>().max(1) as f64;
            let scored: Vec<(u32, f64)> = row
                .iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .map(|(t, &c)| (t as u32, c as f64 / size * (1.0 + mean_tokens / total[t] as f64).ln()))
                .collect();
            top(scored, n_terms)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Selecting then sorting gives what a full sort would, ties broken by index.
    #[test]
    fn top_equals_a_full_sort() {
        let items: Vec<(u32, f64)> = (0..500u32).map(|i| (i, ((i * 37) % 23) as f64 / 4.0)).collect();
        for n in [0, 1, 5, 22, 499, 500, 600] {
            let mut sorted = items.clone();
            sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            sorted.truncate(n);
            assert_eq!(top(items.clone(), n), sorted, "n = {n}");
        }
    }

    #[test]
    fn c_tf_idf_prefers_terms_particular_to_a_cluster() {
        // Term 0 is everywhere; term 1 only in cluster 0; term 2 only in cluster 1.
        let counts = Csr::from_rows(3, vec![vec![(0, 5), (1, 2)], vec![(0, 5), (1, 3)], vec![(0, 5), (2, 4)]]);
        let terms = c_tf_idf(&counts, &[0, 0, 1], 2, 3);
        assert_eq!(terms[0][0].0, 1);
        assert_eq!(terms[1][0].0, 2);
        assert!(terms[0].iter().any(|&(t, _)| t == 0), "shared term still listed, lower");
    }

    #[test]
    fn config_rejects_unknown_keys_and_reads_the_method_tag() {
        let parsed: ClusterConfig = toml::from_str("method = \"lsa-kmeans\"\nk = 12").unwrap();
        assert_eq!(parsed, ClusterConfig::LsaKmeans(LsaKmeans { k: 12, ..LsaKmeans::default() }));
        assert_eq!(toml::from_str::<ClusterConfig>("method = \"none\"").unwrap(), ClusterConfig::None);
        let err = toml::from_str::<ClusterConfig>("method = \"lsa-kmeans\"\nclusters = 12").unwrap_err();
        assert!(err.to_string().contains("unknown field `clusters`"), "{err}");
    }
}
