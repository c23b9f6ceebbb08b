//! JSON Lines: one object a line with (by default) fields `id`, `date`, `title` and `text`.
//! A line that cannot become a document is skipped with its line number and the reason.

use std::path::Path;

use rayon::prelude::*;
use serde_json::Value as Json;

use super::record::{to_document, Value};
use super::{FieldMap, FileDocuments};
use crate::corpus::{Origin, SkipKind, Skipped};

/// `text` begins at line `first_line` of the file (1 unless it is a piece of a cut file).
pub fn read(path: &Path, text: &str, fields: &FieldMap, first_line: usize) -> FileDocuments {
    let stem = super::stem(path);
    let source = path.display().to_string();
    let lines: Vec<(usize, &str)> = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).collect();
    let results: Vec<_> = lines
        .par_iter()
        .map(|&(index, line)| {
            let number = index + first_line;
            let origin = Origin::line(path, number);
            let skip = |reason: String| Skipped::new(SkipKind::Malformed, &origin, reason);
            match serde_json::from_str::<Json>(line) {
                Ok(Json::Object(object)) => {
                    let field = |name: &str| object.get(name).map_or(Value::Missing, value);
                    to_document(field, origin.clone(), fields, format!("{stem}:{number}"), &source)
                }
                Ok(other) => Err(skip(format!("expected a JSON object, found {}", kind(&other)))),
                Err(e) => Err(skip(format!("invalid JSON: {e}"))),
            }
        })
        .collect();
    FileDocuments::from_results(lines.len(), results)
}

fn value(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::String(s) => Value::Text(s.clone()),
        other => Value::Other(kind(other), other.to_string()),
    }
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}
