//! The shard plan: which bytes of which input files each shard reads.
//!
//! It depends on the inputs and the shard size only — never on threads or workers — so a run on
//! Ray and a run in one process read the same documents into the same shards. Files are taken in
//! input order (folders sorted). Small files are packed together until a shard holds `shard_bytes`;
//! a larger plain UTF-8 JSONL file is cut at line starts into pieces of about `shard_bytes`, each
//! its own shard. Every other large file (gzip, CSV, Parquet, other encodings) is one shard, read
//! whole as before. A cut file's digest is taken here, over the whole file, so the manifest and
//! the run id are the same whatever the plan.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{collect, Format, Found, IngestOptions};
use crate::corpus::IngestReport;
use crate::error::{Error, Result};

/// Bytes per shard when the user does not say (`--shard-mb`).
pub const DEFAULT_SHARD_MB: f64 = 64.0;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardPlan {
    pub shard_bytes: u64,
    pub files: Vec<PlannedFile>,
    pub shards: Vec<Shard>,
    /// What the folder walk found besides input files: ignored files, link loops, unreadable entries.
    pub walk: IngestReport,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlannedFile {
    pub path: PathBuf,
    /// The folder the file was found under (text files' ids are relative to it).
    pub root: PathBuf,
    pub(super) format: Format,
    pub(super) gzip: bool,
    pub bytes: u64,
    /// The whole file's SHA-256 when the file is cut (its pieces never see all of it).
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Shard {
    pub pieces: Vec<Piece>,
}

impl Shard {
    pub fn bytes(&self, plan: &ShardPlan) -> u64 {
        self.pieces.iter().map(|p| p.range.map_or(plan.files[p.file].bytes, |(a, b)| b - a)).sum()
    }
}

/// A whole file, or the byte range `[start, end)` of a cut one, which begins at line `first_line`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Piece {
    pub file: usize,
    pub range: Option<(u64, u64)>,
    pub first_line: usize,
}

impl PlannedFile {
    pub(super) fn found(&self) -> Found {
        Found { root: self.root.clone(), path: self.path.clone(), format: self.format, gzip: self.gzip }
    }
}

/// The plan for these inputs at `shard_mb` megabytes (10⁶ bytes) per shard.
pub fn plan(inputs: &[PathBuf], options: &IngestOptions, shard_mb: f64) -> Result<ShardPlan> {
    if !(shard_mb.is_finite() && shard_mb > 0.0) {
        return Err(Error::Config(format!("--shard-mb must be a positive number of megabytes, not {shard_mb}")));
    }
    let shard_bytes = ((shard_mb * 1e6) as u64).max(1);
    let mut walk = IngestReport::default();
    let mut found = Vec::new();
    for input in inputs {
        collect(input, &mut found, &mut walk)?;
    }
    let utf8_only = match options.encoding.as_deref() {
        None => true,
        Some(name) => super::encoding::by_name(name)? == encoding_rs::UTF_8,
    };
    let mut plan = ShardPlan { shard_bytes, files: Vec::new(), shards: Vec::new(), walk };
    let mut open = Shard::default();
    let mut open_bytes = 0;
    for f in found {
        let bytes = f.path.metadata().map_or(0, |m| m.len());
        let cut = if utf8_only && f.format == Format::JsonLines && !f.gzip && bytes > shard_bytes {
            line_cuts(&f.path, shard_bytes)?
        } else {
            None
        };
        let file = plan.files.len();
        plan.files.push(PlannedFile {
            path: f.path,
            root: f.root,
            format: f.format,
            gzip: f.gzip,
            bytes,
            sha256: cut.as_ref().map(|c| c.sha256.clone()),
        });
        let whole = Piece { file, range: None, first_line: 1 };
        if open_bytes > 0 && (open_bytes + bytes > shard_bytes || cut.is_some()) {
            plan.shards.push(std::mem::take(&mut open));
            open_bytes = 0;
        }
        match cut {
            Some(cut) => plan.shards.extend(cut.pieces(file, bytes).map(|piece| Shard { pieces: vec![piece] })),
            None => {
                open.pieces.push(whole);
                open_bytes += bytes.max(1);
            }
        }
    }
    if !open.pieces.is_empty() {
        plan.shards.push(open);
    }
    Ok(plan)
}

/// Where a file is cut, with its digest.
struct Cuts {
    sha256: String,
    /// (byte offset of a line start, that line's 1-based number).
    at: Vec<(u64, usize)>,
}

impl Cuts {
    fn pieces(&self, file: usize, bytes: u64) -> impl Iterator<Item = Piece> + '_ {
        let starts = std::iter::once((0, 1)).chain(self.at.iter().copied());
        let ends = self.at.iter().map(|&(at, _)| at).chain(std::iter::once(bytes));
        starts.zip(ends).map(move |((start, first_line), end)| Piece { file, range: Some((start, end)), first_line })
    }
}

/// Line starts about every `shard_bytes`, found in one streaming pass (the file is never held
/// whole). `None` when the file is not plain UTF-8 text (a NUL byte, invalid UTF-8, a UTF-16
/// BOM): such a file is read whole, so its error or encoding guess is exactly the uncut one's.
fn line_cuts(path: &Path, shard_bytes: u64) -> Result<Option<Cuts>> {
    const BLOCK: usize = 8 << 20;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut digest = Sha256::new();
    let mut block = vec![0u8; BLOCK];
    let mut unchecked: Vec<u8> = Vec::new();
    let (mut at, mut lines, mut target) = (Vec::new(), 0usize, shard_bytes);
    let mut offset = 0u64;
    loop {
        let n = file.read(&mut block).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        let bytes = &block[..n];
        if bytes.contains(&0) {
            return Ok(None);
        }
        digest.update(bytes);
        // UTF-8 checked across block ends: a sequence cut by the block waits for the next.
        unchecked.extend_from_slice(bytes);
        match std::str::from_utf8(&unchecked) {
            Ok(_) => unchecked.clear(),
            Err(e) if e.error_len().is_none() => drop(unchecked.drain(..e.valid_up_to())),
            Err(_) => return Ok(None),
        }
        for i in memchr::memchr_iter(b'\n', bytes) {
            lines += 1;
            if offset + i as u64 >= target {
                let cut = offset + i as u64 + 1;
                at.push((cut, lines + 1));
                target = cut + shard_bytes;
            }
        }
        offset += n as u64;
    }
    if !unchecked.is_empty() {
        return Ok(None);
    }
    at.retain(|&(cut, _)| cut < offset);
    Ok(Some(Cuts { sha256: format!("{:x}", digest.finalize()), at }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{ingest_plan, IngestOptions};

    /// 120 records, with a malformed line, a blank line and a record without text among them.
    fn jsonl(dir: &Path) -> PathBuf {
        let mut text = String::from("\u{feff}");
        for i in 0..120 {
            match i {
                17 => text.push_str("{not json\n"),
                40 => text.push('\n'),
                77 => text.push_str("{\"id\": \"n77\", \"date\": \"2013-03-22\"}\n"),
                _ => text.push_str(&format!(
                    "{{\"id\": \"d{i}\", \"date\": \"2013-03-{:02}\", \"title\": \"第{i}条\", \"text\": \"中俄能源合作第{i}次会谈。\"}}\r\n",
                    1 + i % 28
                )),
            }
        }
        let path = dir.join("news.jsonl");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn cut_files_read_as_the_uncut_file_does() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = vec![jsonl(dir.path())];
        std::fs::write(dir.path().join("a.txt"), "2013年3月22日\n短文。").unwrap();
        let inputs = [inputs, vec![dir.path().join("a.txt")]].concat();
        let options = IngestOptions::default();
        let whole_plan = plan(&inputs, &options, 64.0).unwrap();
        assert_eq!(whole_plan.shards.len(), 1);
        let cut_plan = plan(&inputs, &options, 0.001).unwrap();
        assert!(cut_plan.shards.len() >= 8, "{} shards", cut_plan.shards.len());
        // Every piece but the first starts a line; together they cover the file once.
        let pieces: Vec<(u64, u64)> = cut_plan.shards.iter().flat_map(|s| &s.pieces).filter_map(|p| p.range).collect();
        assert_eq!(pieces[0].0, 0);
        assert!(pieces.windows(2).all(|w| w[0].1 == w[1].0));
        let bytes = std::fs::read(&inputs[0]).unwrap();
        assert_eq!(pieces.last().unwrap().1, bytes.len() as u64);
        assert!(pieces[1..].iter().all(|&(start, _)| bytes[start as usize - 1] == b'\n'));

        let (whole, cut) = (ingest_plan(&whole_plan, &options).unwrap(), ingest_plan(&cut_plan, &options).unwrap());
        let show = |c: &crate::corpus::Corpus| {
            let docs: Vec<String> = c
                .documents
                .iter()
                .map(|d| format!("{} {} {:?} {} {}", d.id, d.origin, d.date, d.title, d.text))
                .collect();
            let skips: Vec<String> = c.report.skipped.iter().map(|s| format!("{} {}", s.origin, s.reason)).collect();
            let files: Vec<String> = c
                .report
                .files
                .iter()
                .map(|f| format!("{} {} {} {} {}", f.path, f.encoding, f.bytes, f.sha256, f.documents))
                .collect();
            (docs, skips, files, c.report.records_read, c.report.date_sources.clone(), c.report.undated.len())
        };
        assert_eq!(show(&whole), show(&cut));
        assert_eq!(whole.documents.len(), 118);
        assert!(show(&cut).1.iter().any(|s| s.contains("news.jsonl:18 ")), "{:?}", show(&cut).1);
        assert!(cut.documents[0].id == "d0" && cut.documents[0].origin.line == Some(1));
    }

    #[test]
    fn files_that_cannot_be_cut_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let lines = "{\"id\": \"g\", \"text\": \"中俄贸易\"}\n".repeat(200);
        let (gbk, _, _) = encoding_rs::GB18030.encode(&lines);
        std::fs::write(dir.path().join("gbk.jsonl"), &gbk).unwrap();
        let csv = "id,date,text\n".to_string() + &"c,2013-01-01,中俄合作\n".repeat(200);
        std::fs::write(dir.path().join("rows.csv"), csv).unwrap();
        let plan = plan(&[dir.path().to_path_buf()], &IngestOptions::default(), 0.001).unwrap();
        assert_eq!(plan.shards.len(), 2);
        assert!(plan.shards.iter().flat_map(|s| &s.pieces).all(|p| p.range.is_none()));
        assert!(plan.files.iter().all(|f| f.sha256.is_none()));
    }

    #[test]
    fn small_files_share_a_shard_and_the_plan_depends_on_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..10 {
            std::fs::write(dir.path().join(format!("{i}.txt")), "中俄能源合作。".repeat(20)).unwrap();
        }
        let inputs = [dir.path().to_path_buf()];
        let small = plan(&inputs, &IngestOptions::default(), 0.001).unwrap();
        assert_eq!(small.shards.len(), 5, "two 420-byte files to a 1000-byte shard");
        let threads = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let again = threads.install(|| plan(&inputs, &IngestOptions::default(), 0.001).unwrap());
        assert_eq!(serde_json::to_string(&small).unwrap(), serde_json::to_string(&again).unwrap());
        assert!(plan(&inputs, &IngestOptions::default(), 0.0).is_err());
    }
}
