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

/// Give the memory a finished shard freed back to the system: a long-lived worker would otherwise
/// keep each task's peak in its allocator's free lists and grow from task to task.
pub fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ShardPartial {
    pub id: usize,
    pub bytes: u64,
    pub corpus: Corpus,
    pub tokenized: Tokenized,
    pub seconds: f64,
    /// The worker's resident memory when the shard began (the process, and what earlier tasks
    /// left: allocator caches, pages of Ray's shared object store it has touched).
    pub start_rss_mib: f64,
    /// The worker's peak RSS during this shard's map.
    pub peak_rss_mib: f64,
    pub worker: String,
}

/// The worker's memory at the start of a shard's map; the peak is reset, so the partial reports
/// this shard's own.
pub fn begin_shard() -> f64 {
    crate::write::manifest::reset_peak_rss();
    crate::write::manifest::process_status_mib("VmRSS:")
}

impl ShardPartial {
    pub fn new(
        id: usize,
        bytes: u64,
        corpus: Corpus,
        tokenized: Tokenized,
        seconds: f64,
        start_rss_mib: f64,
    ) -> ShardPartial {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let worker = format!("{}:{}", host.trim(), std::process::id());
        ShardPartial { id, bytes, corpus, tokenized, seconds, start_rss_mib, peak_rss_mib: peak_rss_mib(), worker }
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
            "start_rss_mib": self.start_rss_mib,
            "peak_rss_mib": self.peak_rss_mib,
            "worker": self.worker,
        })
    }
}
