//! What the stages pass on: documents with their dates and origins, and the account of what was
//! read and what was skipped.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use crate::error::Origin;

/// A character of the CJK Unified Ideographs block, most of what Chinese text is made of: the
/// stages test it first, before Unicode's general tables (an ideograph is alphanumeric, not
/// whitespace and has no half-width form), which are slow outside ASCII.
#[inline]
pub fn is_common_ideograph(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// A letter, digit or ideograph (`char::is_alphanumeric`), ideographs answered first.
#[inline]
pub fn is_word_char(c: char) -> bool {
    is_common_ideograph(c) || c.is_alphanumeric()
}

/// Where a document's date came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateSource {
    /// The user's dates file (`--dates`), which overrides every other source.
    Sidecar,
    /// A field of a structured record (JSONL `date`).
    Field,
    /// A header line such as `发布时间：2013-03-23`.
    Header,
    /// A date in the file name (`20130323`, `2013-03-23`).
    FileName,
    /// A full date expression near the start of the text (`2013年3月23日`).
    Text,
    /// The user's `--default-date`.
    Default,
    /// No date was found.
    #[default]
    None,
}

impl DateSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DateSource::Sidecar => "sidecar",
            DateSource::Field => "field",
            DateSource::Header => "header",
            DateSource::FileName => "file_name",
            DateSource::Text => "text",
            DateSource::Default => "default",
            DateSource::None => "none",
        }
    }
}

/// The writing system a document was in before normalization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Script {
    #[default]
    Simplified,
    Traditional,
    Mixed,
}

impl Script {
    pub fn as_str(self) -> &'static str {
        match self {
            Script::Simplified => "simplified",
            Script::Traditional => "traditional",
            Script::Mixed => "mixed",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Document {
    pub id: String,
    pub date: Option<NaiveDate>,
    pub date_source: DateSource,
    /// Why the primary date source failed, while the date is still unknown.
    pub date_problem: Option<String>,
    pub title: String,
    /// The source field or header line, else the input file the document was read from.
    pub source: String,
    /// Keywords from a `关键词` header line.
    pub keywords: Vec<String>,
    /// Values of the user's extra metadata columns, in the order they were named.
    pub extra: Vec<Option<String>>,
    /// Empty once the run holds the texts apart from the documents ([`Corpus::take_texts`]).
    pub text: String,
    /// The text's length in characters, kept when the text is taken.
    pub chars: u32,
    pub origin: Origin,
    /// Set by normalize; `Simplified` until then.
    pub script: Script,
    /// Characters of leads, datelines, captions and trailers removed by normalize.
    pub boilerplate_chars: u32,
    /// Characters of paragraphs removed because they repeat an earlier paragraph of the document.
    pub repeated_chars: u32,
    /// The earliest member of this document's near-duplicate group, when it is not that member.
    pub duplicate_of: Option<String>,
}

/// One input file, for the manifest: enough to tell later whether a rerun saw the same bytes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InputFile {
    pub path: String,
    pub encoding: String,
    pub bytes: u64,
    pub sha256: String,
    pub documents: usize,
}

/// A document that did not make it into the corpus, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Skipped {
    pub origin: String,
    pub kind: SkipKind,
    pub reason: String,
}

impl Skipped {
    pub fn new(kind: SkipKind, origin: impl ToString, reason: impl Into<String>) -> Skipped {
        Skipped { origin: origin.to_string(), kind, reason: reason.into() }
    }
}

/// The kinds of skip the manifest counts (`counts.skipped_by_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// An empty file, or an empty or null text field.
    Empty,
    /// A record that does not parse: invalid JSON, a CSV row that does not fit its header.
    Malformed,
    /// A record without a usable text field (missing, or not a string).
    NoText,
    /// A file that does not decode, skipped under `--skip-bad`.
    Undecodable,
    /// A file or folder that cannot be read (permissions, a broken link, not a regular file).
    Unreadable,
    /// A document over `--max-document-mb`.
    TooLong,
}

impl SkipKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipKind::Empty => "empty",
            SkipKind::Malformed => "malformed",
            SkipKind::NoText => "no_text",
            SkipKind::Undecodable => "undecodable",
            SkipKind::Unreadable => "unreadable",
            SkipKind::TooLong => "too_long",
        }
    }
}

/// A document that was kept but cannot be placed in a period.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Undated {
    pub doc_id: String,
    pub origin: String,
    pub reason: String,
}

/// The account of ingestion: every record read is either a document or a skip.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IngestReport {
    pub files: Vec<InputFile>,
    /// Files found in input folders whose extension no reader handles.
    pub ignored_files: Vec<String>,
    /// Symbolic links to a folder already being read (a loop), not followed again.
    pub links_not_followed: Vec<String>,
    pub records_read: usize,
    pub skipped: Vec<Skipped>,
    pub undated: Vec<Undated>,
    /// Documents whose date was taken from each source (field, header, file_name, …).
    pub date_sources: std::collections::BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Corpus {
    pub documents: Vec<Document>,
    pub report: IngestReport,
}

impl Corpus {
    /// The documents' texts, moved out (in document order); each document keeps its length.
    pub fn take_texts(&mut self) -> Vec<String> {
        self.documents
            .iter_mut()
            .map(|d| {
                d.chars = d.text.chars().count() as u32;
                std::mem::take(&mut d.text)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast paths answer as Unicode's tables do, for every character there is.
    #[test]
    fn ideographs_first_changes_no_answer() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            assert_eq!(is_word_char(c), c.is_alphanumeric(), "{c:?}");
            if is_common_ideograph(c) {
                assert!(c.is_alphanumeric() && !c.is_whitespace(), "{c:?}");
            }
        }
    }
}
