//! Ingest: input paths → [`Corpus`] with an [`IngestReport`](crate::corpus::IngestReport).
//!
//! A path is a file (`.jsonl`, `.txt`, `.md`) or a folder searched recursively in sorted order.
//! Every record read ends up either as a document or as a counted skip with its file, line and
//! reason; a file that is not UTF-8 stops the run with the byte offset of the first bad byte.
//!
//! ```no_run
//! use themeshift::ingest::{ingest, FieldMap};
//! let corpus = ingest(&["corpus/".into()], &FieldMap::default()).unwrap();
//! println!("{} documents, {} skipped", corpus.documents.len(), corpus.report.skipped.len());
//! ```

pub mod date;
pub mod header;
mod jsonl;
mod text_file;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::corpus::{Corpus, Document, InputFile, Skipped, Undated};
use crate::error::{Error, Origin, Result};

/// Names of the JSONL fields that hold each part of a document.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FieldMap {
    pub id: String,
    pub date: String,
    pub title: String,
    pub text: String,
}

impl Default for FieldMap {
    fn default() -> Self {
        FieldMap { id: "id".into(), date: "date".into(), title: "title".into(), text: "text".into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    JsonLines,
    Text,
}

impl Format {
    fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            "txt" | "md" => Some(Format::Text),
            _ => None,
        }
    }
}

/// What one file contributed.
#[derive(Debug, Default)]
pub(crate) struct FileDocuments {
    pub records: usize,
    pub documents: Vec<Document>,
    pub skipped: Vec<Skipped>,
    pub undated: Vec<Undated>,
}

/// Read every input into one corpus, files in the order given (folders sorted).
pub fn ingest(inputs: &[PathBuf], fields: &FieldMap) -> Result<Corpus> {
    let mut files = Vec::new();
    let mut ignored = Vec::new();
    for input in inputs {
        collect(input, &mut files, &mut ignored)?;
    }
    let read: Vec<(InputFile, FileDocuments)> =
        files.par_iter().map(|(root, path, format)| read_file(root, path, *format, fields)).collect::<Result<_>>()?;

    let mut corpus = Corpus::default();
    corpus.report.ignored_files = ignored;
    for (file, docs) in read {
        corpus.report.files.push(file);
        corpus.report.records_read += docs.records;
        corpus.report.skipped.extend(docs.skipped);
        corpus.report.undated.extend(docs.undated);
        corpus.documents.extend(docs.documents);
    }
    Ok(corpus)
}

/// Expand one input path into the files to read, each with the folder it was found under.
fn collect(input: &Path, files: &mut Vec<(PathBuf, PathBuf, Format)>, ignored: &mut Vec<String>) -> Result<()> {
    let meta = std::fs::metadata(input).map_err(|e| Error::io(input, e))?;
    if meta.is_file() {
        let format = Format::of(input)
            .ok_or_else(|| Error::input(Origin::file(input), "unsupported file type: expected .jsonl, .txt or .md"))?;
        let root = input.parent().unwrap_or(Path::new("")).to_path_buf();
        files.push((root, input.to_path_buf(), format));
        return Ok(());
    }
    let mut found = Vec::new();
    walk(input, &mut found)?;
    found.sort();
    let before = files.len();
    for path in found {
        match Format::of(&path) {
            Some(format) => files.push((input.to_path_buf(), path, format)),
            None => ignored.push(path.display().to_string()),
        }
    }
    if files.len() == before {
        let message =
            "no .jsonl, .txt or .md files in this folder (searched recursively); point --input at your corpus";
        return Err(Error::input(Origin::file(input), message));
    }
    Ok(())
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_dir() {
            walk(&path, found)?;
        } else {
            found.push(path);
        }
    }
    Ok(())
}

fn read_file(root: &Path, path: &Path, format: Format, fields: &FieldMap) -> Result<(InputFile, FileDocuments)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = utf8(&bytes, path)?;
    let docs = match format {
        Format::JsonLines => jsonl::read(path, text, fields),
        Format::Text => {
            let id = path.strip_prefix(root).unwrap_or(path).display().to_string();
            text_file::read(path, id, text)
        }
    };
    let file = InputFile {
        path: path.display().to_string(),
        bytes: bytes.len() as u64,
        sha256: format!("{:x}", Sha256::digest(&bytes)),
        documents: docs.documents.len(),
    };
    Ok((file, docs))
}

/// The file's text without a UTF-8 byte-order mark; an error naming the first bad byte otherwise.
fn utf8<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a str> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let skip = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    std::str::from_utf8(&bytes[skip..]).map_err(|e| {
        let offset = skip + e.valid_up_to();
        let line = 1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count();
        let message = format!(
            "not valid UTF-8: byte 0x{:02X} at offset {offset} (line {line}). Convert the file to UTF-8 \
             (e.g. `iconv -f GB18030 -t UTF-8`); automatic detection of other encodings is not supported yet",
            bytes[offset]
        );
        Error::input(Origin::line(path, line), message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_utf8_names_offset_and_line() {
        let bytes = b"\xEF\xBB\xBFok\nstill ok\n\xD6\xD0\xCE\xC4".to_vec();
        let err = utf8(&bytes, Path::new("gbk.txt")).unwrap_err().to_string();
        assert!(err.starts_with("gbk.txt:3: not valid UTF-8: byte 0xD6 at offset 15 (line 3)"), "{err}");
    }

    #[test]
    fn bom_is_dropped() {
        assert_eq!(utf8(b"\xEF\xBB\xBF\xE4\xB8\xAD", Path::new("x")).unwrap(), "中");
    }
}
