//! Parquet files: each row a document; columns are read as text (dates of type Date become
//! `2013-03-23`), so any column can serve as id, date, title, source or extra metadata.

use std::path::Path;

use polars::prelude::*;

use super::record::{to_document, Value};
use super::{FieldMap, FileDocuments};
use crate::corpus::Origin;
use crate::error::{Error, Result};

pub fn read(path: &Path, bytes: &[u8], fields: &FieldMap) -> Result<FileDocuments> {
    let bad = |e: PolarsError| Error::input(Origin::file(path), format!("unreadable Parquet: {e}"));
    let frame = ParquetReader::new(std::io::Cursor::new(bytes)).finish().map_err(bad)?;
    if frame.column(&fields.text).is_err() {
        let columns: Vec<String> = frame.get_column_names().iter().map(|c| c.to_string()).collect();
        return Err(Error::input(
            Origin::file(path),
            format!("no column '{}' ({}); name the text column with --text-field", fields.text, columns.join(", ")),
        ));
    }
    let mut columns: Vec<(String, bool, StringChunked)> = Vec::new();
    for column in frame.columns() {
        let is_text = column.dtype() == &DataType::String;
        let as_text = column.cast(&DataType::String).map_err(bad)?;
        columns.push((column.name().to_string(), is_text, as_text.str().map_err(bad)?.clone()));
    }
    let stem = super::stem(path);
    let source = path.display().to_string();
    let results = (0..frame.height())
        .map(|row| {
            let field = |name: &str| match columns.iter().find(|(n, _, _)| n == name) {
                None => Value::Missing,
                Some((_, is_text, values)) => match values.get(row) {
                    None => Value::Null,
                    Some(v) if *is_text => Value::Text(v.to_string()),
                    Some(v) => Value::Other("not a string column", v.to_string()),
                },
            };
            // Rows are numbered from 1, like lines, so messages read the same across formats.
            to_document(field, Origin::line(path, row + 1), fields, format!("{stem}:{}", row + 1), &source)
        })
        .collect();
    Ok(FileDocuments::from_results(frame.height(), results))
}
