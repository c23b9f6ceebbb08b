//! Parquet files: each row a document; columns are read as text (dates of type Date become
//! `2013-03-23`), so any column can serve as id, date, title, source or extra metadata.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use polars::prelude::*;

use super::record::{to_document, Value};
use super::{FieldMap, FileDocuments};
use crate::corpus::Origin;
use crate::error::{Error, Result};

pub fn read(path: &Path, bytes: Vec<u8>, fields: &FieldMap) -> Result<FileDocuments> {
    let bad = |e: PolarsError| Error::input(Origin::file(path), format!("unreadable Parquet: {e}"));
    // One shared buffer for the page check and the reader: the file is not copied.
    let bytes = polars_buffer::Buffer::from(bytes);
    // A corrupt file can trip an assertion inside the Parquet reader: that is this file's error,
    // not the end of the run (the buffer is only read, so nothing is left half-changed).
    let frame = quietly(std::panic::AssertUnwindSafe(|| {
        check_pages(&bytes).map_err(|why| Error::input(Origin::file(path), format!("unreadable Parquet: {why}")))?;
        ParquetReader::new(std::io::Cursor::new(&bytes[..])).finish().map_err(bad)
    }))
    .map_err(|_| {
        Error::input(Origin::file(path), "unreadable Parquet: the file is corrupt (the reader failed on it)")
    })??;
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
        if as_text.len() != frame.height() {
            let why = format!("column '{}' has {} values for {} rows", column.name(), as_text.len(), frame.height());
            return Err(Error::input(Origin::file(path), format!("unreadable Parquet: the file is corrupt ({why})")));
        }
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

/// Readers running [`quietly`] now.
static READING: AtomicUsize = AtomicUsize::new(0);

/// Run `read` catching a panic of the Parquet reader, which then prints nothing: the caller
/// turns it into this file's error. Other panics print as before (the hook chains to the one it
/// replaces).
fn quietly<T>(read: impl FnOnce() -> T + std::panic::UnwindSafe) -> std::thread::Result<T> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_reader = info.location().is_some_and(|l| l.file().contains("/polars-"));
            if !(in_reader && READING.load(Ordering::Relaxed) > 0) {
                previous(info);
            }
        }));
    });
    READING.fetch_add(1, Ordering::Relaxed);
    let outcome = std::panic::catch_unwind(read);
    READING.fetch_sub(1, Ordering::Relaxed);
    outcome
}

/// Check the page headers against the row groups before the reader trusts them: a page of a flat
/// column holds at most its row group's rows. A corrupt count (negative, or huge) would otherwise
/// make the reader ask for exabytes and abort the process — found by fuzzing.
fn check_pages(buffer: &polars_buffer::Buffer<u8>) -> std::result::Result<(), String> {
    use polars_parquet::parquet::page::CompressedPage;
    use polars_parquet::parquet::read::{get_page_iterator, read_metadata};
    let metadata = read_metadata(&mut std::io::Cursor::new(&buffer[..])).map_err(|e| e.to_string())?;
    for (g, group) in metadata.row_groups.iter().enumerate() {
        let rows = group.num_rows();
        for column in group.parquet_columns() {
            let flat = column.descriptor().descriptor.max_rep_level == 0;
            let pages = get_page_iterator(column, std::io::Cursor::new(buffer.clone()), Vec::new(), buffer.len())
                .map_err(|e| e.to_string())?;
            for page in pages {
                if let CompressedPage::Data(page) = page.map_err(|e| e.to_string())? {
                    if flat && page.num_values() > rows {
                        return Err(format!(
                            "a page of column '{}' in row group {g} claims {} values for {rows} rows",
                            column.descriptor().path_in_schema.join("."),
                            page.num_values() as isize
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}
