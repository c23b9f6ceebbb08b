//! Cluster: documents → LSA space (the leading singular vectors of the TF-IDF matrix, rows scaled
//! to unit length) → k-means. Each cluster is described by its c-TF-IDF terms and by the
//! documents nearest its centre.

pub mod kmeans;
pub mod lsa;
pub mod lsa_shards;

use std::borrow::Cow;

use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::linalg::{Scatter, ROW_SHARDS};
use crate::shards::away::{retried_from_start, AwayShards};
use crate::vectorize::{Csr, Weights};
use kmeans::KMeansParams;
use lsa::{lsa_kmeans, LsaFit, LsaHere, Rows};
use lsa_shards::LsaAway;

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

/// Cluster the rows of the TF-IDF matrix `x` (`counts` its term counts). With `away`, the
/// documents' side (X's rows, then their points) is held by the shards' workers
/// ([`lsa_shards`]) — the same clusters, bit for bit.
pub fn cluster(
    x: &dyn Weights,
    counts: &Csr<u32>,
    params: &LsaKmeans,
    seed: u64,
    away: Option<&AwayShards>,
) -> Result<Clustering> {
    let start = std::time::Instant::now();
    let scatter = Scatter::new(x, rayon::current_num_threads(), ROW_SHARDS);
    let fit = LsaFit {
        dimensions: params.dimensions,
        kmeans: KMeansParams {
            k: params.k,
            runs: params.runs,
            max_iterations: params.max_iterations,
            tolerance: params.tolerance,
            seed,
        },
        representatives: params.representatives,
    };
    let shape = (x.n_rows(), x.n_cols());
    let (clusters, representatives) = match away {
        None => lsa_kmeans(&mut LsaHere::new(Rows::Here(x), Cow::Borrowed(&scatter)), shape, &fit, seed)?,
        Some(away) => {
            let stored = x.stored();
            retried_from_start(lsa_shards::WHAT, || {
                lsa_kmeans(&mut LsaAway::start(away, &stored, scatter.row_shards())?, shape, &fit, seed)
            })?
        }
    };
    let k = clusters.centroids.nrows();
    let terms = c_tf_idf(counts, &clusters.labels, k, params.top_terms);
    Ok(Clustering {
        k,
        labels: clusters.labels,
        terms,
        representatives,
        inertia: clusters.inertia,
        iterations: clusters.iterations,
        seconds: start.elapsed().as_secs_f64(),
    })
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

    /// The documents' side held by two hosts (each shard's rows sent once; the SVD, the points and
    /// k-means there; every message encoded) gives the clusters of holding it here, bit for bit —
    /// also when a host dies (the fit starts again); a host that always fails fails the fit.
    #[test]
    fn documents_held_away_give_the_same_clusters() {
        use crate::shards::away::two_hosts;
        use lsa_shards::LsaShardHost;
        // Four groups of documents over 80 terms, more than a block of rows.
        let rows: Vec<Vec<(u32, u32)>> = (0..crate::linalg::BLOCK as u32 + 900)
            .map(|d| {
                (0..80u32)
                    .filter(|t| t / 20 == d % 4 || (t * 7 + d * 13) % 17 == 0)
                    .map(|t| (t, 1 + (t * 5 + d * 3) % 4))
                    .collect()
            })
            .collect();
        let counts = Csr::from_rows(80, rows);
        let x = counts.map_rows(|_, _, values, out: &mut [f32]| {
            let norm = values.iter().map(|&c| (c * c) as f32).sum::<f32>().sqrt();
            out.iter_mut().zip(values).for_each(|(o, &c)| *o = c as f32 / norm);
        });
        let params = LsaKmeans { k: 5, dimensions: 6, runs: 2, ..LsaKmeans::default() };
        let here = cluster(&x, &counts, &params, 7, None).unwrap();
        assert_eq!(here.sizes().iter().filter(|&&s| s > 0).count(), 5);
        for dies_on_call in [None, Some(4), Some(40)] {
            let there = cluster(&x, &counts, &params, 7, Some(&two_hosts::<LsaShardHost>(dies_on_call))).unwrap();
            assert_eq!(there.labels, here.labels, "dies on call {dies_on_call:?}");
            assert_eq!(there.representatives, here.representatives, "dies on call {dies_on_call:?}");
            assert_eq!(there.terms, here.terms);
            assert_eq!((there.inertia.to_bits(), there.iterations), (here.inertia.to_bits(), here.iterations));
        }
        let broken: AwayShards = std::sync::Arc::new(|_, _| Err(crate::error::Error::Config("no workers".into())));
        assert!(cluster(&x, &counts, &params, 7, Some(&broken)).is_err());
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
