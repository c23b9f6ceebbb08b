//! `manifest.json`: what a run read, with which options, what it skipped and why, and how long
//! each stage took, so that the run can be checked and repeated.

use std::path::Path;

use serde::Serialize;

use super::atomic;
use crate::corpus::IngestReport;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize)]
pub struct StageTiming {
    pub stage: &'static str,
    pub seconds: f64,
    /// The process's peak resident memory so far, in MiB (Linux; 0 elsewhere).
    pub peak_rss_mib: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    pub records_read: usize,
    pub documents_kept: usize,
    pub documents_skipped: usize,
    /// The skips by kind (`empty`, `malformed`, `no_text`, `undecodable`, `unreadable`, `too_long`):
    /// records_read = documents_analysed + documents_set_aside + the sum of these.
    pub skipped_by_kind: std::collections::BTreeMap<&'static str, usize>,
    /// Kept documents left out of the analysis as later members of a near-duplicate group
    /// (0 with `--keep-duplicates`, which analyses them).
    pub documents_set_aside: usize,
    pub documents_undated: usize,
    /// Near-duplicate groups with more than one member.
    pub duplicate_groups: usize,
    /// Documents that are not the earliest member of their group.
    pub documents_duplicate: usize,
    /// Documents in the TF-IDF matrix and trend tables.
    pub documents_analysed: usize,
    pub boilerplate_chars: u64,
    pub repeated_chars: u64,
    pub periods: usize,
    pub tokens: usize,
    pub distinct_terms: usize,
    pub vocabulary: usize,
    pub tfidf_nonzeros: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Manifest<'a, O: Serialize> {
    pub tool: &'static str,
    pub version: &'static str,
    /// This run's id; every table carries it in its Parquet metadata (`themeshift:run_id`).
    pub run_id: &'a str,
    pub options: &'a O,
    pub seed: u64,
    pub threads: usize,
    /// The font the charts were drawn with (`file#face` for a collection); none without charts.
    pub font: Option<String>,
    pub counts: Counts,
    pub ingest: &'a IngestReport,
    /// Emerging and fading terms, under-powered periods, theme terms never seen.
    pub trends: serde_json::Value,
    /// Clusters and topic models: sizes, iterations, coherence, speed.
    pub models: serde_json::Value,
    /// Limits changed and models skipped because the corpus was too small for them.
    pub adjustments: Vec<String>,
    pub outputs: Vec<String>,
    pub stages: &'a [StageTiming],
    /// In this process or on shards (engine, shard size, each shard's time and memory).
    pub sharding: &'a crate::pipeline::Sharding,
}

pub fn write_manifest<O: Serialize>(path: &Path, manifest: &Manifest<O>) -> Result<()> {
    let json = serde_json::to_vec_pretty(manifest).map_err(|e| Error::write(path, e))?;
    atomic::write_bytes(path, &json)
}

/// A run's id: a digest of what determines its tables — the tool's version, the resolved options
/// (less where the run is written and how many threads it used) and the content of every input
/// file. Runs that differ in any of these get different ids; the same input and options give the
/// same id, and so still byte-identical tables at any thread count or output folder.
pub fn run_id<O: Serialize>(options: &O, inputs: &IngestReport) -> String {
    use sha2::{Digest, Sha256};
    let mut options = serde_json::to_value(options).unwrap_or_default();
    if let Some(map) = options.as_object_mut() {
        for key in ["out", "threads", "inputs", "shard_mb"] {
            map.remove(key);
        }
    }
    let mut digest = Sha256::new();
    digest.update(env!("CARGO_PKG_VERSION"));
    digest.update(options.to_string());
    for file in &inputs.files {
        digest.update(&file.sha256);
    }
    digest.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A fresh id, for a run folder whose manifest has none.
pub fn new_run_id() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("{:x}{:08x}", now.as_secs(), now.subsec_nanos())
}

/// The id of the run in `dir` (from its manifest), or a new one for a run without.
pub fn run_id_in(dir: &Path) -> String {
    std::fs::read(dir.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|m| m["run_id"].as_str().map(str::to_string))
        .unwrap_or_else(new_run_id)
}

/// Peak resident set size of this process in MiB, from `/proc/self/status` (`VmHWM`).
pub fn peak_rss_mib() -> f64 {
    process_status_mib("VmHWM:")
}

/// A memory line of `/proc/self/status` (`VmRSS:`, `RssShmem:`, …) in MiB; 0 where there is none.
pub fn process_status_mib(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Start a new peak: a long-lived worker measures each task's own (Linux ≥ 4.0; elsewhere the
/// peak stays the process's).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
