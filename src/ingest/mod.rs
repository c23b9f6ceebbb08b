//! Ingest: input paths (read by a shard plan, [`plan`]) → [`Corpus`] with an [`IngestReport`](crate::corpus::IngestReport).
//!
//! A path is a file or a folder searched recursively in sorted order. Formats by extension:
//! `.jsonl`/`.ndjson`, `.csv`, `.tsv`, `.parquet`, `.txt`/`.md`, each also gzipped (`.jsonl.gz`).
//! Text is decoded from UTF-8, UTF-16 (BOM), GB18030/GBK or Big5 ([`encoding`]). Every record read
//! ends up either as a document or as a counted skip with its file, line and reason. Dates come,
//! in order, from a dates file, a field, a header line, the file name, the text, or the default.
//!
//! ```no_run
//! use themeshift::ingest::{ingest, IngestOptions};
//! let corpus = ingest(&["corpus/".into()], &IngestOptions::default(), 64.0).unwrap();
//! println!("{} documents, {} skipped", corpus.documents.len(), corpus.report.skipped.len());
//! ```

mod csv;
pub mod date;
pub mod encoding;
pub mod header;
mod jsonl;
mod parquet;
pub mod plan;
mod record;
mod text_file;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::corpus::{Corpus, DateSource, Document, IngestReport, InputFile, SkipKind, Skipped, Undated};
use crate::error::{Error, Origin, Result};
use date::{date_in_text, parse_date, TextDate};
pub use plan::{ShardPlan, DEFAULT_SHARD_MB};

/// Names of the fields (JSONL) or columns (CSV, Parquet) that hold each part of a document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FieldMap {
    pub id: String,
    pub date: String,
    pub title: String,
    pub text: String,
    /// Column naming the outlet or source; without it, the input file.
    pub source: Option<String>,
    /// Further metadata columns, kept through to `documents.parquet`.
    pub extra: Vec<String>,
}

impl Default for FieldMap {
    fn default() -> Self {
        FieldMap {
            id: "id".into(),
            date: "date".into(),
            title: "title".into(),
            text: "text".into(),
            source: None,
            extra: Vec::new(),
        }
    }
}

/// How to read the inputs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestOptions {
    pub fields: FieldMap,
    /// Force one encoding for every text file (see [`encoding::by_name`]).
    pub encoding: Option<String>,
    /// Skip files that do not decode (counted) instead of stopping.
    pub skip_bad: bool,
    /// Date for documents no other source dates.
    pub default_date: Option<NaiveDate>,
    /// CSV of `document,date` rows; the document is an id, a file name or a path.
    pub dates_file: Option<PathBuf>,
    /// Documents whose text is longer than this many MB (10⁶ bytes of UTF-8) are skipped, counted,
    /// with the reason [default: [`DEFAULT_MAX_DOCUMENT_MB`]].
    pub max_document_mb: Option<u64>,
}

/// A run needs about ten bytes of memory per byte of its largest document (segmenting a 100 MB
/// document peaks near 1 GB, measured), so the default keeps one document under ~3 GB.
pub const DEFAULT_MAX_DOCUMENT_MB: u64 = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Format {
    JsonLines,
    Csv,
    Tsv,
    Parquet,
    Text,
}

impl Format {
    /// The format of a file name, and whether it is gzipped.
    fn of(path: &Path) -> Option<(Format, bool)> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let (name, gzip) = match name.strip_suffix(".gz") {
            Some(inner) => (inner.to_string(), true),
            None => (name, false),
        };
        let format = match name.rsplit_once('.')?.1 {
            "jsonl" | "ndjson" => Format::JsonLines,
            "csv" => Format::Csv,
            "tsv" => Format::Tsv,
            "parquet" => Format::Parquet,
            "txt" | "md" => Format::Text,
            _ => return None,
        };
        Some((format, gzip))
    }
}

/// What one file contributed.
#[derive(Debug, Default)]
pub(crate) struct FileDocuments {
    pub records: usize,
    pub documents: Vec<Document>,
    pub skipped: Vec<Skipped>,
}

impl FileDocuments {
    /// A file that counts as one record, skipped.
    fn skipped_file(skip: Skipped) -> Self {
        FileDocuments { records: 1, skipped: vec![skip], ..FileDocuments::default() }
    }

    fn from_results(records: usize, results: Vec<std::result::Result<Document, Skipped>>) -> Self {
        let mut out = FileDocuments { records, ..FileDocuments::default() };
        for result in results {
            match result {
                Ok(doc) => out.documents.push(doc),
                Err(skip) => out.skipped.push(skip),
            }
        }
        out
    }
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

struct Found {
    root: PathBuf,
    path: PathBuf,
    format: Format,
    gzip: bool,
}

/// Read every input into one corpus, files in the order given (folders sorted): the shards of
/// one plan, read side by side and joined in shard order.
pub fn ingest(inputs: &[PathBuf], options: &IngestOptions, shard_mb: f64) -> Result<Corpus> {
    ingest_plan(&plan::plan(inputs, options, shard_mb)?, options)
}

/// Every shard of the plan, read side by side, joined in shard order.
pub fn ingest_plan(plan: &ShardPlan, options: &IngestOptions) -> Result<Corpus> {
    Ok(ingest_by_shard(plan, options)?.0)
}

/// [`ingest_plan`], with the number of documents each shard of the plan gave.
pub fn ingest_by_shard(plan: &ShardPlan, options: &IngestOptions) -> Result<(Corpus, Vec<usize>)> {
    let dates = options.dates_file.as_deref().map(read_dates_file).transpose()?;
    let bytes: u64 = plan.shards.iter().map(|s| s.bytes(plan)).sum();
    let progress = crate::progress::bar("ingest", bytes, "bytes");
    let shards: Vec<Result<Corpus>> = (0..plan.shards.len())
        .into_par_iter()
        .map(|id| read_shard(plan, id, options, dates.as_ref(), &progress))
        .collect();
    let shards = first_error_in_order(shards)?;
    let documents = shards.iter().map(|shard| shard.documents.len()).collect();
    Ok((join_shards(plan, shards), documents))
}

/// Every value, or the error of the first input in the plan's order that failed. (A parallel
/// `collect` into a `Result` stops at whichever error comes first in time, so a run with two bad
/// files would name either.)
fn first_error_in_order<T>(results: Vec<Result<T>>) -> Result<Vec<T>> {
    results.into_iter().collect()
}

/// One shard of the plan as a corpus of its own (its report counts only its own records).
pub fn ingest_shard(plan: &ShardPlan, id: usize, options: &IngestOptions) -> Result<Corpus> {
    let dates = options.dates_file.as_deref().map(read_dates_file).transpose()?;
    read_shard(plan, id, options, dates.as_ref(), &crate::progress::bar("ingest", 0, "bytes"))
}

fn read_shard(
    plan: &ShardPlan,
    id: usize,
    options: &IngestOptions,
    dates: Option<&HashMap<String, NaiveDate>>,
    progress: &crate::progress::Bar,
) -> Result<Corpus> {
    let shard = plan.shards.get(id).ok_or_else(|| {
        Error::Config(format!("shard {id} is not in the plan, which has {} shards", plan.shards.len()))
    })?;
    let forced = options.encoding.as_deref().map(encoding::by_name).transpose()?;
    let read: Vec<Result<(InputFile, FileDocuments)>> = shard
        .pieces
        .par_iter()
        .map(|piece| {
            let bytes = piece.range.map_or(plan.files[piece.file].bytes, |(a, b)| b - a);
            progress.step(bytes, || read_piece(plan, piece, options, forced))
        })
        .collect();
    let read = first_error_in_order(read)?;
    let limit_mb = options.max_document_mb.unwrap_or(DEFAULT_MAX_DOCUMENT_MB);
    let mut corpus = Corpus::default();
    for (file, docs) in read {
        corpus.report.files.push(file);
        corpus.report.records_read += docs.records;
        corpus.report.skipped.extend(docs.skipped);
        for doc in docs.documents {
            match too_long(&doc, limit_mb) {
                Some(skip) => corpus.report.skipped.push(skip),
                None => corpus.documents.push(doc),
            }
        }
    }
    resolve_dates(&mut corpus, dates, options.default_date);
    Ok(corpus)
}

/// The shards' corpora, in shard order, as the one corpus of the plan: the walk's account first,
/// then each shard's; the pieces of a cut file become one file again.
pub fn join_shards(plan: &ShardPlan, shards: Vec<Corpus>) -> Corpus {
    let mut join = CorpusJoin::new(plan);
    shards.into_iter().for_each(|shard| join.add(shard));
    join.finish()
}

/// [`join_shards`] one shard at a time, in shard order: a driver folds each shard's corpus in as
/// it comes and lets it go.
pub struct CorpusJoin(Corpus);

impl CorpusJoin {
    pub fn new(plan: &ShardPlan) -> CorpusJoin {
        CorpusJoin(Corpus { documents: Vec::new(), report: plan.walk.clone() })
    }

    /// The next shard's corpus (shards must come in order).
    pub fn add(&mut self, shard: Corpus) {
        let report = &mut self.0.report;
        for file in shard.report.files {
            match report.files.last_mut() {
                Some(last) if last.path == file.path => last.documents += file.documents,
                _ => report.files.push(file),
            }
        }
        report.records_read += shard.report.records_read;
        report.skipped.extend(shard.report.skipped);
        report.undated.extend(shard.report.undated);
        for (source, n) in shard.report.date_sources {
            *report.date_sources.entry(source).or_default() += n;
        }
        self.0.documents.extend(shard.documents);
    }

    pub fn finish(self) -> Corpus {
        self.0
    }
}

/// A whole file as [`read_file`] reads it, or one cut piece of a plain UTF-8 JSONL file.
fn read_piece(
    plan: &ShardPlan,
    piece: &plan::Piece,
    options: &IngestOptions,
    forced: Option<&'static encoding_rs::Encoding>,
) -> Result<(InputFile, FileDocuments)> {
    let planned = &plan.files[piece.file];
    let Some((start, end)) = piece.range else { return read_file(&planned.found(), options, forced) };
    let path = planned.path.as_path();
    let mut bytes = vec![0u8; (end - start) as usize];
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(start)).map_err(|e| Error::io(path, e))?;
    file.read_exact(&mut bytes).map_err(|e| Error::io(path, e))?;
    let text = match std::str::from_utf8(&bytes) {
        // The plan saw a UTF-8 BOM at most at the very start.
        Ok(text) => text.strip_prefix('\u{feff}').filter(|_| start == 0).unwrap_or(text),
        Err(e) => {
            let at = start + e.valid_up_to() as u64;
            let message = format!("byte {at} is no longer valid UTF-8: the file changed during the run; run again");
            return Err(Error::input(Origin::file(path), message));
        }
    };
    let docs = jsonl::read(path, text, &options.fields, piece.first_line);
    let file = InputFile {
        path: path.display().to_string(),
        encoding: "UTF-8".into(),
        bytes: planned.bytes,
        sha256: planned.sha256.clone().unwrap_or_default(),
        documents: docs.documents.len(),
    };
    Ok((file, docs))
}

/// The skip for a document over the size limit.
fn too_long(doc: &Document, limit_mb: u64) -> Option<Skipped> {
    let bytes = doc.text.len() as u64;
    let reason = || {
        format!(
            "document of {:.1} MB is over the {limit_mb} MB limit (a run needs ~10× its largest document in memory); \
             split it, or raise --max-document-mb",
            bytes as f64 / 1e6
        )
    };
    (bytes > limit_mb * 1_000_000).then(|| Skipped::new(SkipKind::TooLong, &doc.origin, reason()))
}

/// Fill in dates from the dates file, the text and the default, and account for the rest.
fn resolve_dates(corpus: &mut Corpus, dates: Option<&HashMap<String, NaiveDate>>, default: Option<NaiveDate>) {
    corpus.documents.par_iter_mut().for_each(|doc| {
        let file_name = doc.origin.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let path = doc.origin.path.display().to_string();
        if let Some(&date) = dates.and_then(|d| d.get(&doc.id).or_else(|| d.get(&file_name)).or_else(|| d.get(&path))) {
            (doc.date, doc.date_source, doc.date_problem) = (Some(date), DateSource::Sidecar, None);
            return;
        }
        if doc.date.is_some() {
            return;
        }
        let problem = doc.date_problem.take().unwrap_or_default();
        match date_in_text(&doc.text) {
            TextDate::Full(date) => (doc.date, doc.date_source) = (Some(date), DateSource::Text),
            TextDate::MonthDayOnly(md) => {
                doc.date_problem = Some(format!("{problem}; the text gives a month and day ({md}) but no year"))
            }
            TextDate::None => doc.date_problem = Some(format!("{problem}; no full date in the text")),
        }
        if doc.date.is_none() {
            if let Some(date) = default {
                (doc.date, doc.date_source) = (Some(date), DateSource::Default);
            }
        }
    });
    for doc in &mut corpus.documents {
        *corpus.report.date_sources.entry(doc.date_source.as_str().to_string()).or_default() += 1;
        if doc.date.is_none() {
            let reason = doc.date_problem.clone().unwrap_or_default();
            corpus.report.undated.push(Undated { doc_id: doc.id.clone(), origin: doc.origin.to_string(), reason });
        }
    }
}

/// The user's dates file: a CSV with a header and rows of `document,date`.
fn read_dates_file(path: &Path) -> Result<HashMap<String, NaiveDate>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut reader = ::csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let mut dates = HashMap::new();
    for row in reader.records() {
        let row = row.map_err(|e| Error::input(Origin::file(path), format!("unreadable dates file: {e}")))?;
        let line = row.position().map_or(0, |p| p.line() as usize);
        let bad = |m: String| Error::input(Origin::line(path, line), m);
        if row.len() < 2 {
            return Err(bad("expected two columns: document (id, file name or path), date".into()));
        }
        let date = parse_date(&row[1]).map_err(bad)?;
        dates.insert(row[0].trim().to_string(), date);
    }
    Ok(dates)
}

/// Expand one input path into the files to read, each with the folder it was found under.
/// Entries that cannot be read (a folder without permission) become counted skips.
fn collect(input: &Path, files: &mut Vec<Found>, report: &mut IngestReport) -> Result<()> {
    let meta = std::fs::metadata(input).map_err(|e| Error::io(input, e))?;
    if meta.is_file() {
        let (format, gzip) = Format::of(input).ok_or_else(|| {
            Error::input(
                Origin::file(input),
                "unsupported file type: expected .jsonl, .csv, .tsv, .parquet, .txt or .md (optionally .gz)",
            )
        })?;
        let root = input.parent().unwrap_or(Path::new("")).to_path_buf();
        files.push(Found { root, path: input.to_path_buf(), format, gzip });
        return Ok(());
    }
    let mut walk = Walk::default();
    walk.folder(input, true)?;
    walk.files.sort();
    let before = files.len();
    for path in walk.files {
        match Format::of(&path) {
            Some((format, gzip)) => files.push(Found { root: input.to_path_buf(), path, format, gzip }),
            None => report.ignored_files.push(path.display().to_string()),
        }
    }
    report.links_not_followed.extend(walk.loops);
    // An entry that could not be read counts as one record, skipped.
    report.records_read += walk.unreadable.len();
    report.skipped.extend(walk.unreadable);
    if files.len() == before {
        let message = "no .jsonl, .csv, .tsv, .parquet, .txt or .md files in this folder (searched recursively); point --input at your corpus";
        return Err(Error::input(Origin::file(input), message));
    }
    Ok(())
}

/// A recursive folder walk that follows symbolic links, except one leading back into a folder it
/// is inside (a loop, which would never end).
#[derive(Default)]
struct Walk {
    files: Vec<PathBuf>,
    /// Folders on the current path, by (device, inode): a link back to one of them is a loop.
    open: Vec<(u64, u64, PathBuf)>,
    loops: Vec<String>,
    unreadable: Vec<Skipped>,
}

impl Walk {
    fn folder(&mut self, dir: &Path, top: bool) -> Result<()> {
        use std::os::unix::fs::MetadataExt;
        let opened = std::fs::read_dir(dir).and_then(|entries| Ok((std::fs::metadata(dir)?, entries)));
        let (meta, entries) = match opened {
            Ok(opened) => opened,
            Err(e) if top => return Err(Error::io(dir, e)),
            Err(e) => {
                let reason = format!("unreadable folder: {e}; fix its permissions or leave it out of the input");
                self.unreadable.push(Skipped::new(SkipKind::Unreadable, dir.display(), reason));
                return Ok(());
            }
        };
        let key = (meta.dev(), meta.ino());
        if let Some((_, _, first)) = self.open.iter().find(|(d, i, _)| (*d, *i) == key) {
            self.loops.push(format!("{} leads back to {}", dir.display(), first.display()));
            return Ok(());
        }
        self.open.push((key.0, key.1, dir.to_path_buf()));
        for entry in entries {
            let path = entry.map_err(|e| Error::io(dir, e))?.path();
            if path.is_dir() {
                self.folder(&path, false)?;
            } else {
                self.files.push(path);
            }
        }
        self.open.pop();
        Ok(())
    }
}

/// The file's bytes, or why it cannot be input: missing (a broken link), not a regular file (reading
/// a FIFO would block the run forever), or not permitted.
fn read_bytes(path: &Path) -> std::result::Result<Vec<u8>, String> {
    let advice = "fix it or leave it out of the input";
    let unreadable = |e: std::io::Error| format!("unreadable file: {e}; {advice}");
    if !std::fs::metadata(path).map_err(unreadable)?.is_file() {
        return Err(format!("not a regular file (a pipe, socket or device); {advice}"));
    }
    std::fs::read(path).map_err(unreadable)
}

fn read_file(
    found: &Found,
    options: &IngestOptions,
    forced: Option<&'static encoding_rs::Encoding>,
) -> Result<(InputFile, FileDocuments)> {
    let path = found.path.as_path();
    let raw = match read_bytes(path) {
        Ok(raw) => raw,
        Err(reason) => {
            let file =
                InputFile { path: path.display().to_string(), encoding: "unreadable".into(), ..InputFile::default() };
            let skip = Skipped::new(SkipKind::Unreadable, path.display(), reason);
            return Ok((file, FileDocuments::skipped_file(skip)));
        }
    };
    let (size, sha256) = (raw.len() as u64, format!("{:x}", Sha256::digest(&raw)));
    let file = |encoding: &str, documents| InputFile {
        path: path.display().to_string(),
        encoding: encoding.to_string(),
        bytes: size,
        sha256: sha256.clone(),
        documents,
    };
    let bytes = if found.gzip { gunzip(&raw, path)? } else { raw };
    if found.format == Format::Parquet {
        let docs = parquet::read(path, bytes, &options.fields)?;
        return Ok((file("parquet", docs.documents.len()), docs));
    }
    let (text, encoding) = match encoding::decode(&bytes, path, forced) {
        Ok(decoded) => decoded,
        Err(Error::Input { origin, message }) if options.skip_bad => {
            let skip = Skipped::new(SkipKind::Undecodable, origin, format!("file skipped (--skip-bad): {message}"));
            return Ok((file("undecodable", 0), FileDocuments::skipped_file(skip)));
        }
        Err(e) => return Err(e),
    };
    let fields = &options.fields;
    let docs = match found.format {
        Format::JsonLines => jsonl::read(path, &text, fields, 1),
        Format::Csv => csv::read(path, &text, fields, b',')?,
        Format::Tsv => csv::read(path, &text, fields, b'\t')?,
        Format::Text => {
            let id = path.strip_prefix(&found.root).unwrap_or(path).display().to_string();
            text_file::read(path, id, &text)
        }
        Format::Parquet => unreachable!("read above"),
    };
    Ok((file(encoding, docs.documents.len()), docs))
}

fn gunzip(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| Error::input(Origin::file(path), format!("not a readable gzip file: {e}")))?;
    Ok(out)
}
