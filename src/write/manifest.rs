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
}

pub fn write_manifest<O: Serialize>(path: &Path, manifest: &Manifest<O>) -> Result<()> {
    let json = serde_json::to_vec_pretty(manifest).map_err(|e| Error::write(path, e))?;
    atomic::write_bytes(path, &json)
}

/// Peak resident set size of this process in MiB, from `/proc/self/status` (`VmHWM`).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
