//! Plain-text and Markdown files, one document each. The date comes from a `发布时间：` header
//! line, else from a date in the file name; the title from the header, else the file name.

use std::path::Path;

use super::date::date_in_file_name;
use super::header::split_header;
use super::FileDocuments;
use crate::corpus::{DateSource, Document, Origin, Skipped, Undated};

pub fn read(path: &Path, id: String, text: &str) -> FileDocuments {
    let mut out = FileDocuments { records: 1, ..FileDocuments::default() };
    let origin = Origin::file(path);
    let (header, body) = split_header(text);
    if body.trim().is_empty() {
        let reason = if text.trim().is_empty() { "empty file" } else { "no text after the header lines" };
        out.skipped.push(Skipped { origin: origin.to_string(), reason: reason.into() });
        return out;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (date, date_source, undated_reason) = match (header.date, date_in_file_name(&name)) {
        (Some(Ok(date)), _) => (Some(date), DateSource::Header, None),
        (_, Some(date)) => (Some(date), DateSource::FileName, None),
        (Some(Err(why)), None) => {
            let line = header.date_line.unwrap_or(0);
            (None, DateSource::None, Some(format!("header date on line {line}: {why}")))
        }
        (None, None) => {
            (None, DateSource::None, Some("no 发布时间 header line and no date in the file name".to_string()))
        }
    };
    let title =
        header.title.unwrap_or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
    if let Some(reason) = undated_reason {
        out.undated.push(Undated { doc_id: id.clone(), origin: origin.to_string(), reason });
    }
    out.documents.push(Document {
        id,
        date,
        date_source,
        title,
        source: header.source.unwrap_or_else(|| path.display().to_string()),
        text: body.to_string(),
        origin,
        script: Default::default(),
    });
    out
}
