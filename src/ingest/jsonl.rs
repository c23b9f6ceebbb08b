//! JSON Lines: one object a line with (by default) fields `id`, `date`, `title` and `text`.
//! A line that cannot become a document is skipped with its line number and the reason.

use std::path::Path;

use rayon::prelude::*;
use serde_json::{Map, Value};

use super::date::parse_date;
use super::{FieldMap, FileDocuments};
use crate::corpus::{DateSource, Document, Origin, Skipped, Undated};

pub fn read(path: &Path, text: &str, fields: &FieldMap) -> FileDocuments {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let source = path.display().to_string();
    let lines: Vec<(usize, &str)> = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).collect();
    let results: Vec<_> = lines
        .par_iter()
        .map(|&(index, line)| {
            let origin = Origin::line(path, index + 1);
            record(line, origin, fields, &stem, &source)
        })
        .collect();
    let mut out = FileDocuments { records: lines.len(), ..FileDocuments::default() };
    for result in results {
        match result {
            Ok((doc, undated)) => {
                out.undated.extend(undated);
                out.documents.push(doc);
            }
            Err(skip) => out.skipped.push(skip),
        }
    }
    out
}

fn record(
    line: &str,
    origin: Origin,
    fields: &FieldMap,
    stem: &str,
    source: &str,
) -> Result<(Document, Option<Undated>), Skipped> {
    let skip = |reason: String| Skipped { origin: origin.to_string(), reason };
    let object: Map<String, Value> = match serde_json::from_str(line) {
        Ok(Value::Object(object)) => object,
        Ok(other) => return Err(skip(format!("expected a JSON object, found {}", kind(&other)))),
        Err(e) => return Err(skip(format!("invalid JSON: {e}"))),
    };
    let text = match object.get(&fields.text) {
        Some(Value::String(text)) if !text.trim().is_empty() => text.clone(),
        Some(Value::String(_)) => return Err(skip(format!("field '{}' is empty", fields.text))),
        Some(other) => {
            return Err(skip(format!("field '{}' is {}, expected a string", fields.text, kind(other))));
        }
        None => return Err(skip(format!("no field '{}' (use --text-field to name another)", fields.text))),
    };
    let id = match object.get(&fields.id) {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => format!("{stem}:{}", origin.line.unwrap_or(0)),
    };
    let title = match object.get(&fields.title) {
        Some(Value::String(title)) => title.clone(),
        _ => String::new(),
    };
    let (date, undated_reason) = match object.get(&fields.date) {
        Some(Value::String(value)) => match parse_date(value) {
            Ok(date) => (Some(date), None),
            Err(why) => (None, Some(format!("field '{}': {why}", fields.date))),
        },
        Some(other) => (None, Some(format!("field '{}' is {}, expected a string", fields.date, kind(other)))),
        None => (None, Some(format!("no field '{}' (use --date-field to name another)", fields.date))),
    };
    let undated = undated_reason.map(|reason| Undated { doc_id: id.clone(), origin: origin.to_string(), reason });
    let date_source = if date.is_some() { DateSource::Field } else { DateSource::None };
    let doc =
        Document { id, date, date_source, title, source: source.to_string(), text, origin, script: Default::default() };
    Ok((doc, undated))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
