//! What one shard's map hands back to the driver of a sharded run, and how it travels: the
//! shard's documents (read and normalized) with their ingest account, and its tokens. The driver
//! joins partials in shard-id order (`pipeline::run_sharded`), which gives exactly the corpus and
//! tokens one process makes from the same plan.
//!
//! Partials travel as MessagePack (compact, and readable from Python with `msgpack`).

use serde::{Deserialize, Serialize};

use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::segment::Tokenized;
use crate::write::manifest::peak_rss_mib;

#[derive(Debug, Serialize, Deserialize)]
pub struct ShardPartial {
    pub id: usize,
    pub bytes: u64,
    pub corpus: Corpus,
    pub tokenized: Tokenized,
    pub seconds: f64,
    /// The worker process's peak RSS when the shard was done.
    pub peak_rss_mib: f64,
    pub worker: String,
}

impl ShardPartial {
    pub fn new(id: usize, bytes: u64, corpus: Corpus, tokenized: Tokenized, seconds: f64) -> ShardPartial {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let worker = format!("{}:{}", host.trim(), std::process::id());
        ShardPartial { id, bytes, corpus, tokenized, seconds, peak_rss_mib: peak_rss_mib(), worker }
    }

    pub fn encode(&self) -> Result<Vec<u8>> {
        rmp_serde::to_vec(self).map_err(|e| Error::Config(format!("shard {}: cannot encode its partial: {e}", self.id)))
    }

    pub fn decode(bytes: &[u8]) -> Result<ShardPartial> {
        rmp_serde::from_slice(bytes).map_err(|e| {
            Error::Config(format!(
                "a shard partial does not decode ({e}); were the workers running another themeshift version?"
            ))
        })
    }

    /// The manifest's line for this shard.
    pub fn stats(&self) -> serde_json::Value {
        serde_json::json!({
            "shard": self.id,
            "bytes": self.bytes,
            "documents": self.corpus.documents.len(),
            "seconds": self.seconds,
            "peak_rss_mib": self.peak_rss_mib,
            "worker": self.worker,
        })
    }
}
