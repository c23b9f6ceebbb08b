//! CSV and TSV files with a header row. A missing text column stops the run (no row could be
//! read); a row with the wrong number of fields is skipped with its line number.

use std::path::Path;

use super::record::{to_document, Value};
use super::{FieldMap, FileDocuments};
use crate::corpus::{Origin, SkipKind, Skipped};
use crate::error::{Error, Result};

pub fn read(path: &Path, text: &str, fields: &FieldMap, delimiter: u8) -> Result<FileDocuments> {
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::input(Origin::line(path, 1), format!("unreadable header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if !header.contains(&fields.text) {
        return Err(Error::input(
            Origin::line(path, 1),
            format!(
                "no column '{}' in the header ({}); name the text column with --text-field",
                fields.text,
                header.join(", ")
            ),
        ));
    }
    let stem = super::stem(path);
    let source = path.display().to_string();
    let mut results = Vec::new();
    for row in reader.records() {
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                let origin = Origin::line(path, line);
                results.push(Err(Skipped::new(SkipKind::Malformed, origin, format!("unreadable row: {e}"))));
                continue;
            }
        };
        let line = row.position().map_or(0, |p| p.line() as usize);
        let origin = Origin::line(path, line);
        if row.len() != header.len() {
            let reason = format!("row has {} fields, the header has {}", row.len(), header.len());
            results.push(Err(Skipped::new(SkipKind::Malformed, origin, reason)));
            continue;
        }
        let field = |name: &str| match header.iter().position(|h| h == name) {
            Some(i) if row[i].is_empty() => Value::Null,
            Some(i) => Value::Text(row[i].to_string()),
            None => Value::Missing,
        };
        results.push(to_document(field, origin, fields, format!("{stem}:{line}"), &source));
    }
    Ok(FileDocuments::from_results(results.len(), results))
}
