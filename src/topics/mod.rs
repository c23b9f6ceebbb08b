//! Topics: NMF of the TF-IDF matrix and LDA of the term counts, for one or several numbers of
//! topics; each fitted model is described by its top terms, its documents' topic shares, its
//! most representative documents and its coherence (gensim's c_npmi, c_v, u_mass).

pub mod away;
pub mod coherence;
mod draw;
pub mod keyatm;
pub mod keyatm_shards;
mod lanes;
pub mod lda;
pub mod lda_shards;
pub mod nmf;
pub mod nmf_shards;
pub mod theme_model;

use std::time::Instant;

use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

use crate::cluster::top;
use crate::error::{Error, Result};
use crate::shards::rows::{MatrixRows, TfidfFromTokens};
use crate::shards::RowShards;
use crate::vectorize::{Csr, Weights};
use coherence::{coherence, CooccurrenceSource, TopicCoherence};
use lda::{lda, LdaParams};
use nmf::{nmf, NmfParams};

/// `[topics]` in a study file. Defaults: one NMF model with 20 topics; 20 terms per topic,
/// coherence from the top 10, documents listed in doc_topics from a share of 0.05, 5
/// representative documents per topic.
///
/// ```toml
/// [topics]
/// k = [10, 15, 20, 30]      # several values: every model is fitted for each
/// [[topics.models]]
/// method = "nmf"
/// [[topics.models]]
/// method = "lda"
/// iterations = 500
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TopicsConfig {
    pub k: Vec<usize>,
    pub models: Vec<TopicMethod>,
    pub top_terms: usize,
    pub coherence_terms: usize,
    pub doc_topic_floor: f64,
    pub representatives: usize,
}

impl Default for TopicsConfig {
    fn default() -> Self {
        TopicsConfig {
            k: vec![20],
            models: vec![TopicMethod::Nmf(NmfParams::default())],
            top_terms: 20,
            coherence_terms: 10,
            doc_topic_floor: 0.05,
            representatives: 5,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum TopicMethod {
    Nmf(NmfParams),
    Lda(LdaParams),
}

impl TopicMethod {
    pub fn name(&self) -> &'static str {
        match self {
            TopicMethod::Nmf(_) => "nmf",
            TopicMethod::Lda(_) => "lda",
        }
    }
}

impl TopicsConfig {
    pub fn check(&self) -> Result<(), String> {
        if let Some(k) = self.k.iter().find(|&&k| !(2..=1000).contains(&k)) {
            return Err(format!("[topics] k = {k}: use 2 to 1000 topics"));
        }
        if !self.models.is_empty() && self.k.is_empty() {
            return Err("[topics] k is empty: give at least one number of topics".into());
        }
        if self.coherence_terms < 2 || self.top_terms < self.coherence_terms {
            return Err(format!(
                "[topics] coherence_terms = {} must be at least 2 and at most top_terms = {}",
                self.coherence_terms, self.top_terms
            ));
        }
        if !(0.0..1.0).contains(&self.doc_topic_floor) {
            return Err(format!("[topics] doc_topic_floor = {} must be in [0, 1)", self.doc_topic_floor));
        }
        for model in &self.models {
            if let TopicMethod::Lda(p) = model {
                if p.alpha.is_some_and(|a| a <= 0.0) || p.beta <= 0.0 {
                    return Err("[topics] LDA alpha and beta must be positive".into());
                }
                if p.iterations == 0 || p.burn_in >= p.iterations || p.thin == 0 {
                    return Err(format!(
                        "[topics] LDA needs iterations ({}) > burn_in ({}) and thin ≥ 1",
                        p.iterations, p.burn_in
                    ));
                }
            }
        }
        Ok(())
    }
}

/// One fitted model.
pub struct TopicModel {
    pub method: &'static str,
    pub k: usize,
    /// Per topic: (term id, weight), best first — NMF's H row or LDA's φ.
    pub terms: Vec<Vec<(u32, f64)>>,
    /// n × k topic shares of each document (rows sum to 1, or 0 for an empty row).
    pub shares: Array2<f32>,
    /// Per topic: (matrix row, share), the documents that carry the topic most.
    pub representatives: Vec<Vec<(usize, f64)>>,
    pub coherence: Vec<TopicCoherence>,
    pub iterations: usize,
    /// Time to fit the model (coherence and the rest not included).
    pub seconds: f64,
    /// Method-specific figures for the manifest: NMF's reconstruction error, LDA's tokens and
    /// token-iterations per second.
    pub diagnostics: Vec<(&'static str, f64)>,
}

impl TopicModel {
    pub fn mean_coherence(&self) -> TopicCoherence {
        let n = self.coherence.len().max(1) as f64;
        let sum = |f: fn(&TopicCoherence) -> f64| self.coherence.iter().map(f).sum::<f64>() / n;
        TopicCoherence { c_npmi: sum(|c| c.c_npmi), c_v: sum(|c| c.c_v), u_mass: sum(|c| c.u_mass) }
    }
}

/// What the models read.
pub struct TopicInputs<'a> {
    /// The TF-IDF and count matrices, when held here; `None` where a sharded run left the count
    /// rows with its shards (then only NMF held away can fit).
    pub matrix: Option<(&'a dyn Weights, &'a Csr<u32>)>,
    /// The row shards NMF's sums over documents are taken by (the plan's).
    pub row_shards: &'a RowShards,
    /// Coherence's counts of the top words over the matrix's rows; `None` when the tokens are
    /// not at hand.
    pub cooccurrence: Option<&'a CooccurrenceSource<'a>>,
    /// Where LDA's shards are sampled when not here (a sharded run's workers).
    pub lda_away: Option<&'a away::AwayShards>,
    /// Where NMF's documents' side is held when not here (a sharded run's workers), and how
    /// each makes its shard's rows from its tokens.
    pub nmf_away: Option<(&'a away::AwayShards, &'a TfidfFromTokens)>,
}

impl TopicInputs<'_> {
    fn matrix(&self) -> Result<(&dyn Weights, &Csr<u32>)> {
        self.matrix.ok_or_else(|| Error::Config("a topic model on this process needs the count matrix here".into()))
    }
}

/// Fit every model for every k, in that order.
pub fn fit_topics(inputs: &TopicInputs, config: &TopicsConfig, seed: u64) -> Result<Vec<TopicModel>> {
    let mut models = Vec::new();
    for method in &config.models {
        for &k in &config.k {
            models.push(fit_one(inputs, method, k, config, seed)?);
        }
    }
    Ok(models)
}

fn fit_one(
    inputs: &TopicInputs,
    method: &TopicMethod,
    k: usize,
    config: &TopicsConfig,
    seed: u64,
) -> Result<TopicModel> {
    let start = Instant::now();
    let (topic_terms, strength, shares, iterations, diagnostics) = match method {
        TopicMethod::Nmf(params) => {
            // NNDSVDa starts from the k leading singular pairs; their own SVD, so a model depends
            // only on the matrix, k and the seed (not on what else the run computes). A more
            // exact SVD (7–30 power iterations) does not give more coherent topics: on the
            // China–Russia subset it lands in a local optimum 0.006 NPMI lower as often as not.
            let fit = match inputs.nmf_away {
                Some((away, from)) => nmf(MatrixRows::Away { away, from }, inputs.row_shards, k, seed, params)?,
                None => {
                    // Every iteration reads every weight twice: they are stored for the fit.
                    let stored = inputs.matrix()?.0.stored();
                    nmf(MatrixRows::Here(stored.as_ref()), inputs.row_shards, k, seed, params)?
                }
            };
            let shares = row_shares(&fit.w);
            (fit.h, fit.w, shares, fit.iterations, vec![("reconstruction_error", fit.reconstruction_error)])
        }
        TopicMethod::Lda(params) => {
            let fit = lda(inputs.matrix()?.1, k, params, seed, inputs.lda_away)?;
            let seconds = start.elapsed().as_secs_f64();
            let rate = fit.tokens as f64 * fit.iterations as f64 / seconds.max(1e-9);
            let alpha_sum = fit.alpha.iter().sum::<f64>();
            let diagnostics = vec![
                ("tokens", fit.tokens as f64),
                ("token_iterations_per_second", rate),
                ("alpha_sum", alpha_sum),
                ("warm_up_sweeps", fit.warm_up as f64),
            ];
            (fit.phi, fit.assigned.mapv(|c| c as f32), fit.theta, fit.iterations, diagnostics)
        }
    };
    let terms: Vec<Vec<(u32, f64)>> = topic_terms
        .axis_iter(Axis(0))
        .map(|row| top(row.iter().enumerate().map(|(t, &w)| (t as u32, w as f64)).collect(), config.top_terms))
        .collect();
    let representatives = (0..k)
        .map(|t| {
            let by_strength: Vec<(usize, f64)> =
                strength.column(t).iter().enumerate().map(|(d, &s)| (d, s as f64)).collect();
            top(by_strength, config.representatives).into_iter().map(|(d, _)| (d, shares[[d, t]] as f64)).collect()
        })
        .collect();
    let fit_seconds = start.elapsed().as_secs_f64();
    let coherence = match inputs.cooccurrence {
        Some(source) => {
            let lists: Vec<Vec<u32>> =
                terms.iter().map(|t| t.iter().take(config.coherence_terms).map(|&(id, _)| id).collect()).collect();
            coherence(source, &lists)?
        }
        None => Vec::new(),
    };
    Ok(TopicModel {
        method: method.name(),
        k,
        terms,
        shares,
        representatives,
        coherence,
        iterations,
        seconds: fit_seconds,
        diagnostics: [diagnostics, vec![("coherence_seconds", start.elapsed().as_secs_f64() - fit_seconds)]].concat(),
    })
}

/// Rows scaled to sum to 1 (all-zero rows stay zero).
fn row_shares(m: &Array2<f32>) -> Array2<f32> {
    let mut out = m.clone();
    for mut row in out.rows_mut() {
        let sum: f32 = row.sum();
        if sum > 0.0 {
            row.mapv_inplace(|x| x / sum);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_reads_models_and_rejects_unknown_keys() {
        let text =
            "k = [10, 20]\n[[models]]\nmethod = \"nmf\"\n[[models]]\nmethod = \"lda\"\niterations = 50\nburn_in = 10";
        let config: TopicsConfig = toml::from_str(text).unwrap();
        assert_eq!(config.k, [10, 20]);
        assert_eq!(
            config.models[1],
            TopicMethod::Lda(LdaParams { iterations: 50, burn_in: 10, ..LdaParams::default() })
        );
        config.check().unwrap();
        let bad = toml::from_str::<TopicsConfig>("[[models]]\nmethod = \"lda\"\nalpah = 0.1").unwrap_err();
        assert!(bad.to_string().contains("unknown field `alpah`"), "{bad}");
        let wrong = toml::from_str::<TopicsConfig>("[[models]]\nmethod = \"plsa\"").unwrap_err();
        assert!(wrong.to_string().contains("unknown variant `plsa`"), "{wrong}");
        let few = TopicsConfig { k: vec![1], ..TopicsConfig::default() };
        assert!(few.check().unwrap_err().contains("k = 1"));
        let given: TopicsConfig = toml::from_str("[[models]]\nmethod = \"lda\"\nalpha = 0.5\nwarm_up = 0").unwrap();
        assert_eq!(
            given.models[0],
            TopicMethod::Lda(LdaParams { alpha: Some(0.5), warm_up: Some(0), ..LdaParams::default() })
        );
        let negative: TopicsConfig = toml::from_str("[[models]]\nmethod = \"lda\"\nalpha = -1.0").unwrap();
        assert!(negative.check().unwrap_err().contains("alpha and beta must be positive"));
    }
}
