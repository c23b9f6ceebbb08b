//! Plain-text and Markdown files, one document each. A header (`关键词`, source, title,
//! `发布时间：`) is split off the body; without a header date, the date comes from the file name;
//! the title from the header, else the file name.

use std::path::Path;

use super::date::date_in_file_name;
use super::header::split_header;
use super::FileDocuments;
use crate::corpus::{DateSource, Document, Origin, SkipKind, Skipped};

pub fn read(path: &Path, id: String, text: &str) -> FileDocuments {
    let origin = Origin::file(path);
    let (header, body) = split_header(text);
    if body.trim().is_empty() {
        let reason = if text.trim().is_empty() { "empty file" } else { "no text after the header lines" };
        return FileDocuments::skipped_file(Skipped::new(SkipKind::Empty, &origin, reason));
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (date, date_source, date_problem) = match (header.date, date_in_file_name(&name)) {
        (Some(Ok(date)), _) => (Some(date), DateSource::Header, None),
        (_, Some(date)) => (Some(date), DateSource::FileName, None),
        (Some(Err(why)), None) => {
            (None, DateSource::None, Some(format!("header date on line {}: {why}", header.date_line.unwrap_or(0))))
        }
        (None, None) => {
            (None, DateSource::None, Some("no 发布时间 header line and no date in the file name".to_string()))
        }
    };
    let document = Document {
        id,
        date,
        date_source,
        date_problem,
        title: header.title.unwrap_or_else(|| super::stem(path)),
        source: header.source.unwrap_or_else(|| path.display().to_string()),
        keywords: header.keywords,
        text: body.to_string(),
        origin,
        ..Document::default()
    };
    FileDocuments { records: 1, documents: vec![document], ..FileDocuments::default() }
}
