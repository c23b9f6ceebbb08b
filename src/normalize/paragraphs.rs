//! Repeated paragraphs inside one document are kept once: database exports often print a body
//! twice (once with blank lines between paragraphs, once without), which would double every count.

use rustc_hash::FxHashSet;

/// Paragraphs shorter than this may repeat legitimately (a refrain, a heading) and are kept.
const MIN_CHARS: usize = 10;

/// The lines of `text` with later copies of a long line removed, and the characters removed.
pub fn drop_repeated_paragraphs(text: &str) -> (String, u32) {
    let mut seen = FxHashSet::default();
    let mut out = String::with_capacity(text.len());
    let mut removed = 0;
    for line in text.lines() {
        let long = line.chars().count() >= MIN_CHARS;
        if long && !seen.insert(line) {
            removed += line.chars().count() as u32;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    (out, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_printed_twice_is_kept_once() {
        let text = "第一段讲的是能源合作问题。\n第二段讲的是贸易投资问题。\n好。\n第一段讲的是能源合作问题。\n第二段讲的是贸易投资问题。\n好。";
        let (once, removed) = drop_repeated_paragraphs(text);
        assert_eq!(once, "第一段讲的是能源合作问题。\n第二段讲的是贸易投资问题。\n好。\n好。");
        assert_eq!(removed, 26);
    }
}
