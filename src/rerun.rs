//! Re-fit the models from a previous run's tables (`themeshift topics RUN`, `themeshift
//! clusters RUN`): the TF-IDF weights and counts, vocabulary, documents and periods are read
//! back, so a new k or method costs only the models, not ingest and segmentation again.

use std::path::{Path, PathBuf};
use std::time::Instant;

use polars::prelude::*;

use crate::cluster::{cluster, cluster_term_counts, ClusterRows, LsaKmeans};
use crate::error::{Error, Origin, Result};
use crate::shards::RowShards;
use crate::topics::coherence::{count_here, CooccurrenceSource};
use crate::topics::{fit_topics, TopicInputs, TopicsConfig};
use crate::trends::groups::leading_group;
use crate::vectorize::Csr;
use crate::write::charts::{ChartFormat, Charts};
use crate::write::manifest::run_id_in;
use crate::write::models::{write_cluster_outputs, write_topic_outputs, RowNames};
use crate::write::report::models_summary;
use crate::write::staging::Staging;
use crate::write::tables::ReadTable;
use crate::write::{atomic, html, schema, tables};

/// A run's matrices and names, as `run` had them after vectorizing.
pub struct RunTables {
    pub doc_ids: Vec<String>,
    pub titles: Vec<String>,
    pub periods: Vec<String>,
    /// documents.parquet row of each matrix row.
    pub rows: Vec<usize>,
    pub period_of_row: Vec<Option<usize>>,
    pub terms: Vec<String>,
    pub tfidf: Csr<f32>,
    pub counts: Csr<u32>,
    /// Each matrix row's tokens as vocabulary ids (u32::MAX outside it), if tokens.parquet exists.
    pub token_ids: Option<Vec<Vec<u32>>>,
    /// The run's id (its manifest's): the tables a re-fit writes carry it, so the set stays one run.
    pub run_id: String,
    /// Documents of each shard of the run's plan, as its manifest records them (one shard of all
    /// documents for a run that recorded none).
    pub shard_documents: Vec<usize>,
}

impl RunTables {
    /// Names of the matrix rows, for the model tables.
    pub fn names(&self) -> RowNames<'_> {
        RowNames {
            doc_ids: self.rows.iter().map(|&d| self.doc_ids[d].as_str()).collect(),
            titles: self.rows.iter().map(|&d| self.titles[d].as_str()).collect(),
            periods: &self.periods,
            period_of_row: &self.period_of_row,
        }
    }
}

/// The documents of each shard of the plan of the run in `dir`, as its manifest records them; one
/// shard of all `n_docs` documents where it records none that add up to them.
fn shard_documents_in(dir: &Path, n_docs: usize) -> Vec<usize> {
    let recorded = std::fs::read(dir.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|m| serde_json::from_value::<Vec<usize>>(m["sharding"]["shard_documents"].clone()).ok());
    recorded.filter(|documents| documents.iter().sum::<usize>() == n_docs).unwrap_or_else(|| vec![n_docs])
}

/// Read what the models need from the run folder `dir`; tokens (for coherence) only if asked.
pub fn read_run(dir: &Path, with_tokens: bool) -> Result<RunTables> {
    let documents = ReadTable::read(dir, &schema::DOCUMENTS)?;
    let doc_ids: Vec<String> = documents.strings("doc_id")?.into_iter().map(Option::unwrap_or_default).collect();
    let titles: Vec<String> = documents.strings("title")?.into_iter().map(Option::unwrap_or_default).collect();
    let period_of_doc = documents.strings("period")?;
    let periods: Vec<String> =
        ReadTable::read(dir, &schema::PERIODS)?.strings("period")?.into_iter().flatten().collect();
    let terms: Vec<String> = ReadTable::read(dir, &schema::VOCABULARY)?
        .strings("term")?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();

    let tfidf = ReadTable::read(dir, &schema::TFIDF)?;
    let path = &tfidf.path;
    let doc_index = tfidf.numbers::<UInt32Type>("doc_index")?;
    let term_id = tfidf.numbers::<UInt32Type>("term_id")?;
    let count = tfidf.numbers::<UInt32Type>("count")?;
    let weight = tfidf.numbers::<Float32Type>("weight")?;
    // Rows come sorted by document, then term (as `run` writes them); check rather than trust.
    let mut rows: Vec<usize> = Vec::new();
    let mut indptr = vec![0usize];
    for (i, &d) in doc_index.iter().enumerate() {
        let d = d as usize;
        if d >= doc_ids.len() || term_id[i] as usize >= terms.len() {
            return Err(Error::input(
                Origin::file(path),
                format!("row {i}: doc_index {d} or term_id {} outside documents/vocabulary", term_id[i]),
            ));
        }
        match rows.last() {
            Some(&last) if last == d => {}
            Some(&last) if last > d => {
                return Err(Error::input(Origin::file(path), format!("row {i}: doc_index not sorted")));
            }
            Some(_) => {
                indptr.push(i);
                rows.push(d);
            }
            None => rows.push(d),
        }
    }
    indptr.push(doc_index.len());
    let n_cols = terms.len();
    let (indptr, indices) = (std::sync::Arc::new(indptr), std::sync::Arc::new(term_id));
    let tfidf = Csr { n_cols, indptr: indptr.clone(), indices: indices.clone(), values: weight };
    let counts = Csr { n_cols, indptr, indices, values: count };
    let period_of_row =
        rows.iter().map(|&d| period_of_doc[d].as_ref().and_then(|p| periods.iter().position(|q| q == p))).collect();
    let token_ids = if with_tokens { read_tokens(dir, &doc_ids, &rows, &terms)? } else { None };
    Ok(RunTables {
        run_id: run_id_in(dir),
        shard_documents: shard_documents_in(dir, doc_ids.len()),
        doc_ids,
        titles,
        periods,
        rows,
        period_of_row,
        terms,
        tfidf,
        counts,
        token_ids,
    })
}

fn read_tokens(dir: &Path, doc_ids: &[String], rows: &[usize], terms: &[String]) -> Result<Option<Vec<Vec<u32>>>> {
    let path = dir.join(schema::TOKENS.file);
    if !path.exists() {
        return Ok(None);
    }
    let table = ReadTable::read(dir, &schema::TOKENS)?;
    let ids = table.strings("doc_id")?;
    if ids.len() != doc_ids.len() {
        return Err(Error::input(Origin::file(&path), "not the same documents as documents.parquet"));
    }
    let lists = table.frame.column("tokens").and_then(|c| c.list().cloned()).map_err(|e| table.error(e))?;
    let vocabulary: rustc_hash::FxHashMap<&str, u32> =
        terms.iter().enumerate().map(|(i, t)| (t.as_str(), i as u32)).collect();
    let all: Vec<Option<Series>> = lists.series_iter().collect();
    let mut out = Vec::with_capacity(rows.len());
    for &d in rows {
        let tokens = match &all[d] {
            Some(series) => {
                let s = series.str().map_err(|e| table.error(e))?;
                s.iter().map(|t| t.and_then(|t| vocabulary.get(t).copied()).unwrap_or(u32::MAX)).collect()
            }
            None => Vec::new(),
        };
        out.push(tokens);
    }
    Ok(Some(out))
}

pub struct RerunSummary {
    pub out: PathBuf,
    pub outputs: Vec<String>,
    pub models: serde_json::Value,
    /// Coherence was not computed: the run has no tokens.parquet.
    pub without_tokens: bool,
    pub seconds: f64,
}

/// Fit `config`'s models on the run in `run_dir` and write the topic outputs to `out`; when
/// `out` is the run folder, documents.parquet's `top_topic` follows the first model.
pub fn rerun_topics(
    run_dir: &Path,
    out: &Path,
    config: &TopicsConfig,
    seed: u64,
    charts: &Charts,
) -> Result<RerunSummary> {
    config.check().map_err(Error::Config)?;
    if config.models.is_empty() {
        return Err(Error::Config("no topic models asked for (--topics nmf,lda)".into()));
    }
    let job = Refit { tool: "topics", options: serde_json::json!(config), seed, with_tokens: true };
    job.run(run_dir, out, charts, |run, out| {
        // Coherence counts the top words in the run's tokens (its tokens.parquet), when it kept them.
        let counted = |relevant: &[u32]| Ok(count_here(run.token_ids.as_deref().unwrap_or_default(), relevant));
        let cooccurrence = run.token_ids.is_some().then_some(&counted as &CooccurrenceSource);
        let inputs = TopicInputs {
            matrix: Some((&run.tfidf, &run.counts)),
            row_shards: &RowShards::of(&run.rows, &run.shard_documents),
            cooccurrence,
            lda_away: None,
            nmf_away: None,
        };
        let models = fit_topics(&inputs, config, seed)?;
        let outputs =
            write_topic_outputs(charts, out, &run.run_id, &models, &run.names(), &run.terms, config.doc_topic_floor)?;
        let top = (0..run.rows.len()).map(|r| models[0].shares.row(r).as_slice().and_then(leading_group)).collect();
        Ok(Fitted { outputs, models: models_summary(None, &models), column: ("top_topic", top) })
    })
}

/// Fit LSA + k-means on the run in `run_dir` and write the cluster outputs to `out`; when `out`
/// is the run folder, documents.parquet's `cluster` follows.
pub fn rerun_clusters(
    run_dir: &Path,
    out: &Path,
    params: &LsaKmeans,
    seed: u64,
    charts: &Charts,
) -> Result<RerunSummary> {
    params.check().map_err(Error::Config)?;
    let job = Refit { tool: "clusters", options: serde_json::json!(params), seed, with_tokens: false };
    job.run(run_dir, out, charts, |run, out| {
        let term_counts = |labels: &[u32], k: usize| Ok(cluster_term_counts(&run.counts, labels, k));
        let shards = RowShards::of(&run.rows, &run.shard_documents);
        let clustering = cluster(ClusterRows::Here(&run.tfidf), &shards, &term_counts, params, seed)?;
        let outputs = write_cluster_outputs(charts, out, &run.run_id, &clustering, &run.names(), &run.terms)?;
        let labels = clustering.labels.iter().map(|&c| Some(c as usize)).collect();
        Ok(Fitted { outputs, models: models_summary(Some(&clustering), &[]), column: ("cluster", labels) })
    })
}

/// One re-fit command: `themeshift <tool> RUN`, with the options and seed its manifest records.
struct Refit {
    tool: &'static str,
    options: serde_json::Value,
    seed: u64,
    /// Whether the models read tokens.parquet (coherence).
    with_tokens: bool,
}

/// What a re-fit wrote, its models' summary, and the documents.parquet column it owns (one
/// value per matrix row).
struct Fitted {
    outputs: Vec<String>,
    models: serde_json::Value,
    column: (&'static str, Vec<Option<usize>>),
}

impl Refit {
    /// Read the run, `fit` and write, then the documents column (when writing into the run
    /// folder) and `<tool>_manifest.json`.
    fn run(
        &self,
        run_dir: &Path,
        out: &Path,
        charts: &Charts,
        fit: impl FnOnce(&RunTables, &Path) -> Result<Fitted>,
    ) -> Result<RerunSummary> {
        // The folder's other files are carried into the staging folder (hard links), the re-fit's
        // files replace theirs there, and the whole swaps into place: never half a re-fit.
        let in_place = same_folder(run_dir, out);
        let staging = Staging::begin(out)?;
        staging.carry_over()?;
        let dir = staging.dir.as_path();
        // The tool's chart of the previous fit describes models that are being replaced.
        for format in ChartFormat::ALL {
            let _ = std::fs::remove_file(dir.join(format!("charts/{}.{}", self.tool, format.extension())));
        }
        charts.make_folder(dir)?;
        let start = Instant::now();
        let run = read_run(run_dir, self.with_tokens)?;
        let Fitted { mut outputs, models, column: (name, values) } = fit(&run, dir)?;
        outputs.push(self.write_manifest(dir, run_dir, &models)?);
        if in_place {
            update_documents(dir, &run, name, values)?;
            outputs.push(schema::DOCUMENTS.file.into());
            // The run's page shows its tables, so it follows the re-fit.
            html::write_html_report(dir)?;
            outputs.push("report.html".into());
        }
        staging.commit()?;
        Ok(RerunSummary {
            out: out.to_path_buf(),
            outputs,
            models,
            without_tokens: self.with_tokens && run.token_ids.is_none(),
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// `<tool>_manifest.json` (e.g. topics_manifest.json): what was fitted, on which run, how.
    fn write_manifest(&self, out: &Path, run_dir: &Path, models: &serde_json::Value) -> Result<String> {
        let manifest = serde_json::json!({
            "tool": format!("themeshift {}", self.tool),
            "version": env!("CARGO_PKG_VERSION"),
            "run": run_dir.display().to_string(),
            "options": self.options,
            "seed": self.seed,
            "threads": rayon::current_num_threads(),
            "models": models,
        });
        let file = format!("{}_manifest.json", self.tool);
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::write(out.join(&file), e))?;
        atomic::write_bytes(&out.join(&file), &json)?;
        Ok(file)
    }
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Replace documents.parquet's column `name` with `values` (one per matrix row; other
/// documents get null).
fn update_documents(dir: &Path, run: &RunTables, name: &str, values: Vec<Option<usize>>) -> Result<()> {
    let mut column: Vec<Option<u32>> = vec![None; run.doc_ids.len()];
    for (&d, value) in run.rows.iter().zip(values) {
        column[d] = value.map(|v| v as u32);
    }
    let mut documents = ReadTable::read(dir, &schema::DOCUMENTS)?;
    let added = documents.frame.with_column(Series::new(name.into(), column).into_column()).map(|_| ());
    added.map_err(|e| documents.error(e))?;
    tables::write_parquet(&documents.path, Ok(documents.frame), &run.run_id)
}
