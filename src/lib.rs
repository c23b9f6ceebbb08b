//! themeshift: topic and trend analysis of dated Chinese text.
//!
//! The stages, in the order [`pipeline`] runs them:
//!
//! 1. [`ingest`] — JSONL files and folders of `.txt`/`.md` → [`corpus::Corpus`], every skip counted;
//! 2. [`normalize`] — traditional → simplified (OpenCC phrases), full-width → half-width, whitespace;
//! 3. [`segment`] — jieba-rs with our political-terms dictionary and stopwords, in parallel;
//! 4. [`vectorize`] — sorted vocabulary, sparse counts and scikit-learn-compatible TF-IDF;
//! 5. [`trends`] — term counts, rates and document shares per period, with denominators;
//! 6. [`write`] — Parquet tables, PNG charts and `manifest.json`, each written atomically.
//!
//! [`demo`] generates a corpus with planted shifts; [`config`] holds a run's resolved options;
//! [`progress`] draws the long stages' progress on stderr when asked; [`cli`] is the command line
//! (the binary and the Python package's `themeshift` command both run it).

pub mod cli;
pub mod cluster;
pub mod config;
pub mod corpus;
pub mod demo;
pub mod error;
pub mod ingest;
pub mod linalg;
pub mod normalize;
pub mod pipeline;
pub mod progress;
pub mod rerun;
pub mod segment;
pub mod shards;
pub mod topics;
pub mod trends;
pub mod vectorize;
pub mod write;

pub use error::{Error, Result};
