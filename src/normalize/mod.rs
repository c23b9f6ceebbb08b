//! Normalize: every document's script is recorded, then its title and text are converted to
//! simplified script, full-width letters and digits made half-width and whitespace collapsed.
//! Documents are changed in place and never removed.
//!
//! ```
//! use themeshift::normalize::ScriptConverter;
//! let converter = ScriptConverter::new().unwrap();
//! assert_eq!(converter.to_simplified("貿易"), "贸易");
//! ```

mod script;
mod width;

use rayon::prelude::*;

pub use script::ScriptConverter;
pub use width::{clean_whitespace_and_width, half_width};

use crate::corpus::Corpus;

pub fn normalize(corpus: &mut Corpus, converter: &ScriptConverter) {
    corpus.documents.par_iter_mut().for_each(|doc| {
        doc.script = converter.detect(&doc.text);
        doc.text = clean_whitespace_and_width(&converter.to_simplified(&doc.text));
        doc.title = clean_whitespace_and_width(&converter.to_simplified(&doc.title));
    });
}
