//! The resolved options of a run: what the CLI (or a library caller) asked for, checked, and
//! written into the manifest so the run can be repeated.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ingest::FieldMap;
use crate::trends::Period;
use crate::vectorize::VectorizeParams;

#[derive(Debug, Clone, Serialize)]
pub struct RunConfig {
    /// Files or folders; empty means the built-in demo corpus.
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    pub fields: FieldMap,
    pub period: Period,
    pub seed: u64,
    /// Worker threads; 0 = one per core.
    pub threads: usize,
    pub keep_tokens: bool,
    pub user_dicts: Vec<PathBuf>,
    pub font: Option<PathBuf>,
    pub vectorize: VectorizeParams,
    /// Any skipped document stops the run.
    pub strict: bool,
    /// Lines in `charts/term_trends.png`.
    pub chart_terms: usize,
    #[serde(skip)]
    pub quiet: bool,
}

impl RunConfig {
    pub fn new(inputs: Vec<PathBuf>, out: PathBuf) -> Self {
        RunConfig {
            inputs,
            out,
            fields: FieldMap::default(),
            period: Period::Year,
            seed: 42,
            threads: 0,
            keep_tokens: false,
            user_dicts: Vec::new(),
            font: None,
            vectorize: VectorizeParams::default(),
            strict: false,
            chart_terms: 8,
            quiet: false,
        }
    }

    pub fn check(&self) -> Result<()> {
        if self.chart_terms == 0 || self.chart_terms > 10 {
            return Err(Error::Config(format!("chart terms must be 1 to 10, not {}", self.chart_terms)));
        }
        if self.vectorize.vocabulary.max_features == Some(0) {
            return Err(Error::Config("max_features must be at least 1".into()));
        }
        for path in &self.user_dicts {
            if !path.is_file() {
                return Err(Error::Config(format!("--user-dict {}: no such file", path.display())));
            }
        }
        Ok(())
    }
}
