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
use crate::linalg::Scatter;
use crate::shards::away::retried_from_start;
#[cfg(test)]
use crate::shards::away::AwayShards;
use crate::shards::rows::MatrixRows;
use crate::shards::RowShards;
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

/// Each cluster's term counts from the rows' labels and k ([`cluster_term_counts`], or the same
/// asked of a sharded run's shards).
pub type TermCounts<'a> = dyn Fn(&[u32], usize) -> Result<Vec<Vec<u64>>> + 'a;

/// Where the fit finds the TF-IDF matrix's rows: held here, or with a sharded run's workers, each
/// making its shard's rows from the shard's tokens ([`lsa_shards`]; the driver never holds them).
pub type ClusterRows<'a> = MatrixRows<'a, dyn Weights + 'a>;

/// Cluster the rows of the TF-IDF matrix, every sum over them taken by the row shards `shards`
/// (the same clusters, bit for bit, wherever the rows are held). `term_counts(labels, k)` gives
/// each cluster's term counts (a row of the vocabulary's length per cluster), for the c-TF-IDF.
pub fn cluster(
    rows: ClusterRows,
    shards: &RowShards,
    term_counts: &TermCounts,
    params: &LsaKmeans,
    seed: u64,
) -> Result<Clustering> {
    let start = std::time::Instant::now();
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
    let n = *shards.bounds.last().expect("row shards' bounds");
    let (clusters, representatives) = match rows {
        ClusterRows::Here(x) => {
            let scatter = Scatter::with_row_shards(x, rayon::current_num_threads(), shards.bounds.clone());
            lsa_kmeans(&mut LsaHere::new(Rows::Here(x), Cow::Borrowed(&scatter)), (n, x.n_cols()), &fit, seed)?
        }
        ClusterRows::Away { away, from } => retried_from_start(lsa_shards::WHAT, || {
            lsa_kmeans(&mut LsaAway::start(away, from, shards)?, (n, from.vocabulary.len()), &fit, seed)
        })?,
    };
    let k = clusters.centroids.nrows();
    let terms = c_tf_idf(term_counts(&clusters.labels, k)?, params.top_terms);
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

/// Each cluster's term counts (`labels`: the cluster of each row of `counts`): a row of the
/// vocabulary's length per cluster. Integer sums: a sharded run adds its shards' in any order.
pub fn cluster_term_counts(counts: &Csr<u32>, labels: &[u32], k: usize) -> Vec<Vec<u64>> {
    let mut per_cluster = vec![vec![0u64; counts.n_cols]; k];
    for (r, &label) in labels.iter().enumerate() {
        let (terms, times) = counts.row(r);
        let row = &mut per_cluster[label as usize];
        for (&t, &c) in terms.iter().zip(times) {
            row[t as usize] += c as u64;
        }
    }
    per_cluster
}

/// Class-based TF-IDF (Grootendorst 2022, BERTopic): a term's share of its cluster's tokens
/// times `ln(1 + A / f)`, where A is the mean tokens per cluster and f the term's total count;
/// from each cluster's term counts ([`cluster_term_counts`]).
pub fn c_tf_idf(per_cluster: Vec<Vec<u64>>, n_terms: usize) -> Vec<Vec<(u32, f64)>> {
    let k = per_cluster.len();
    let v = per_cluster.first().map_or(0, Vec::len);
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
        let terms = c_tf_idf(cluster_term_counts(&counts, &[0, 0, 1], 2), 3);
        assert_eq!(terms[0][0].0, 1);
        assert_eq!(terms[1][0].0, 2);
        assert!(terms[0].iter().any(|&(t, _)| t == 0), "shared term still listed, lower");
    }

    /// The documents' side held by two hosts, each shard of the plan making its rows from its
    /// tokens (the SVD, the points and k-means there; every message encoded), gives the clusters
    /// of holding the matrix here, bit for bit — also when a host dies (the fit starts again); a
    /// host that always fails fails the fit.
    #[test]
    fn documents_held_away_give_the_same_clusters() {
        use crate::shards::away::two_hosts_with_tokens;
        use crate::shards::rows::TokenShards;
        use lsa_shards::LsaShardHost;
        // Four groups of documents over 80 terms, more than a block of rows, in three shards.
        let n_docs = crate::linalg::BLOCK as u32 + 900;
        let count = |d: u32, t: u32| {
            if t / 20 == d % 4 || (t * 7 + d * 13).is_multiple_of(17) {
                1 + (t * 5 + d * 3) % 4
            } else {
                0
            }
        };
        let made = TokenShards::new(&[1000, 1500, n_docs as usize - 2500], 80, count);
        assert_eq!(made.shards.ids, [0, 1, 2]);
        let term_counts = |labels: &[u32], k: usize| Ok(cluster_term_counts(&made.counts, labels, k));
        let params = LsaKmeans { k: 5, dimensions: 6, runs: 2, ..LsaKmeans::default() };
        let fit = |rows: ClusterRows| cluster(rows, &made.shards, &term_counts, &params, 7);
        let here = fit(ClusterRows::Here(&made.x)).unwrap();
        assert_eq!(here.sizes().iter().filter(|&&s| s > 0).count(), 5);
        for dies_on_call in [None, Some(4), Some(40)] {
            let away = two_hosts_with_tokens::<LsaShardHost>(dies_on_call, made.tokens.clone());
            let there = fit(ClusterRows::Away { away: &away, from: &made.from }).unwrap();
            assert_eq!(there.labels, here.labels, "dies on call {dies_on_call:?}");
            assert_eq!(there.representatives, here.representatives, "dies on call {dies_on_call:?}");
            assert_eq!(there.terms, here.terms);
            assert_eq!((there.inertia.to_bits(), there.iterations), (here.inertia.to_bits(), here.iterations));
        }
        let broken: AwayShards = std::sync::Arc::new(|_, _| Err(crate::error::Error::Config("no workers".into())));
        assert!(fit(ClusterRows::Away { away: &broken, from: &made.from }).is_err());
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
