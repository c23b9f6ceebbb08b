//! Normalize: every document's script is recorded; its title and text are converted to simplified
//! script, full-width letters and digits made half-width and whitespace collapsed; boilerplate
//! and repeated paragraphs are removed from the text (and counted); near-duplicate documents are
//! marked with the earliest member of their group. Documents are changed in place, never removed.
//!
//! ```
//! use themeshift::normalize::ScriptConverter;
//! let converter = ScriptConverter::new().unwrap();
//! assert_eq!(converter.to_simplified("貿易"), "贸易");
//! ```

mod boilerplate;
mod dedup;
mod paragraphs;
mod script;
mod width;

use rayon::prelude::*;

pub use boilerplate::Boilerplate;
pub use dedup::{duplicate_groups, Fingerprints};
pub use paragraphs::drop_repeated_paragraphs;
pub use script::ScriptConverter;
pub use width::{clean_whitespace_and_width, half_width};

use crate::corpus::Corpus;

pub struct Normalizer {
    pub converter: ScriptConverter,
    pub boilerplate: Boilerplate,
}

impl Normalizer {
    /// The cleaned text of one document, with the characters of boilerplate and of repeated
    /// paragraphs removed.
    pub fn clean(&self, text: &str) -> (String, u32, u32) {
        let text = clean_whitespace_and_width(&self.converter.to_simplified(text));
        let (text, boilerplate) = self.boilerplate.strip(&text);
        let (text, repeated) = drop_repeated_paragraphs(&clean_whitespace_and_width(&text));
        (text, boilerplate, repeated)
    }
}

pub fn normalize(corpus: &mut Corpus, normalizer: &Normalizer) {
    let progress = crate::progress::bar("normalize", corpus.documents.len() as u64, "documents");
    corpus.documents.par_iter_mut().for_each(|doc| {
        progress.step(1, || {
            doc.script = normalizer.converter.detect(&doc.text);
            (doc.text, doc.boilerplate_chars, doc.repeated_chars) = normalizer.clean(&doc.text);
            doc.title = clean_whitespace_and_width(&normalizer.converter.to_simplified(&doc.title));
        })
    });
}

/// Mark near-duplicates (estimated Jaccard similarity of character shingles ≥ `threshold`, dated
/// at most `window_days` apart); returns the number of groups with more than one member.
pub fn mark_duplicates(corpus: &mut Corpus, prints: &Fingerprints, threshold: f64, window_days: i64) -> usize {
    let dates: Vec<_> = corpus.documents.iter().map(|d| d.date).collect();
    let first_of = duplicate_groups(prints, &dates, threshold, window_days);
    let ids: Vec<String> =
        first_of.iter().map(|f| f.map(|f| corpus.documents[f].id.clone()).unwrap_or_default()).collect();
    let mut heads = rustc_hash::FxHashSet::default();
    for ((doc, first), id) in corpus.documents.iter_mut().zip(&first_of).zip(ids) {
        if let Some(first) = first {
            heads.insert(*first);
            doc.duplicate_of = Some(id);
        }
    }
    heads.len()
}
