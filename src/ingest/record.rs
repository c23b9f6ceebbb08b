//! One structured record (a JSONL object, a CSV row, a Parquet row) → a [`Document`], with the
//! same rules for every format: the text field must be a non-empty string; id, title, source and
//! extra columns are optional; the date field is parsed or the reason it could not be is kept.

use super::date::parse_date;
use super::FieldMap;
use crate::corpus::{DateSource, Document, Origin, SkipKind, Skipped};

/// A field's value as a reader found it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Missing,
    Null,
    Text(String),
    /// A non-string value: its kind ("a number") and its text.
    Other(&'static str, String),
}

impl Value {
    /// The value as text, if it has any.
    fn text(&self) -> Option<&str> {
        match self {
            Value::Text(s) | Value::Other(_, s) => Some(s),
            Value::Missing | Value::Null => None,
        }
    }
}

/// `field` gives a field's value by name; `fallback_id` names records without an id.
pub fn to_document(
    field: impl Fn(&str) -> Value,
    origin: Origin,
    fields: &FieldMap,
    fallback_id: String,
    source: &str,
) -> Result<Document, Skipped> {
    let skip = |kind, reason: String| Skipped::new(kind, &origin, reason);
    let text = match field(&fields.text) {
        Value::Text(text) if !text.trim().is_empty() => text,
        Value::Text(_) => return Err(skip(SkipKind::Empty, format!("field '{}' is empty", fields.text))),
        Value::Null => return Err(skip(SkipKind::Empty, format!("field '{}' is null", fields.text))),
        Value::Other(kind, _) => {
            return Err(skip(SkipKind::NoText, format!("field '{}' is {kind}, expected a string", fields.text)))
        }
        Value::Missing => {
            let reason = format!("no field '{}' (use --text-field to name another)", fields.text);
            return Err(skip(SkipKind::NoText, reason));
        }
    };
    let id = field(&fields.id).text().filter(|id| !id.is_empty()).map_or(fallback_id, str::to_string);
    let (date, date_problem) = match field(&fields.date) {
        Value::Text(value) => match parse_date(&value) {
            Ok(date) => (Some(date), None),
            Err(why) => (None, Some(format!("field '{}': {why}", fields.date))),
        },
        Value::Other(kind, _) => (None, Some(format!("field '{}' is {kind}, expected a date string", fields.date))),
        Value::Null => (None, Some(format!("field '{}' is null", fields.date))),
        Value::Missing => (None, Some(format!("no field '{}' (use --date-field to name another)", fields.date))),
    };
    Ok(Document {
        id,
        date_source: if date.is_some() { DateSource::Field } else { DateSource::None },
        date,
        date_problem,
        title: field(&fields.title).text().unwrap_or_default().to_string(),
        source: fields
            .source
            .as_deref()
            .and_then(|name| field(name).text().map(str::to_string))
            .unwrap_or_else(|| source.to_string()),
        extra: fields.extra.iter().map(|name| field(name).text().map(str::to_string)).collect(),
        text,
        origin,
        ..Document::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'a>(pairs: &'a [(&'a str, Value)]) -> impl Fn(&str) -> Value + 'a {
        move |name| pairs.iter().find(|(n, _)| *n == name).map_or(Value::Missing, |(_, v)| v.clone())
    }

    #[test]
    fn fields_map_to_a_document_and_problems_to_reasons() {
        let fields = FieldMap { extra: vec!["outlet".into(), "missing".into()], ..FieldMap::default() };
        let r = [
            ("text", Value::Text("正文".into())),
            ("date", Value::Text("2013-02-30".into())),
            ("id", Value::Other("a number", "7".into())),
            ("outlet", Value::Text("某报".into())),
        ];
        let doc = to_document(record(&r), Origin::line("a.csv", 3), &fields, "a:3".into(), "a.csv").unwrap();
        assert_eq!((doc.id.as_str(), doc.date, doc.source.as_str()), ("7", None, "a.csv"));
        assert_eq!(doc.date_problem.as_deref(), Some("field 'date': '2013-02-30' is not a calendar date"));
        assert_eq!(doc.extra, [Some("某报".to_string()), None]);
        let skipped = to_document(record(&[("text", Value::Null)]), Origin::line("a.csv", 4), &fields, "x".into(), "")
            .unwrap_err();
        assert_eq!((skipped.origin.as_str(), skipped.reason.as_str()), ("a.csv:4", "field 'text' is null"));
    }
}
