//! Boilerplate removal: leads, datelines, photo captions and trailers that repeat across news
//! stories and would otherwise swamp topics with 记者/摄/电. Patterns are regular expressions,
//! one a line, applied to each line of a normalized text (shipped in `data/boilerplate/zh.txt`;
//! users add files of their own).

use regex::Regex;

use crate::error::{Error, Origin, Result};

pub const PATTERNS: &str = include_str!("../../data/boilerplate/zh.txt");

/// Compiled size allowed for one pattern (bytes).
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

pub struct Boilerplate {
    patterns: Vec<Regex>,
}

impl Boilerplate {
    /// Our shipped patterns plus those of `extra` files (name, contents).
    pub fn new(extra: &[(String, String)]) -> Result<Self> {
        let mut patterns = Vec::new();
        let shipped = ("data/boilerplate/zh.txt".to_string(), PATTERNS.to_string());
        for (name, text) in std::iter::once(&shipped).chain(extra) {
            for (i, line) in text.lines().enumerate() {
                let line = line.trim_end();
                if line.trim().is_empty() || line.trim_start().starts_with('#') {
                    continue;
                }
                // Bounds well above any boilerplate line, far below what would exhaust memory on
                // a long document (tens of thousands of nested groups do).
                let regex = regex::RegexBuilder::new(&format!("(?m){line}"))
                    .size_limit(PATTERN_SIZE_LIMIT)
                    .nest_limit(64)
                    .build()
                    .map_err(|e| {
                        Error::input(Origin::line(name, i + 1), format!("not a usable regular expression: {e}"))
                    })?;
                patterns.push(regex);
            }
        }
        Ok(Boilerplate { patterns })
    }

    /// The text without boilerplate, and how many characters were removed.
    pub fn strip(&self, text: &str) -> (String, u32) {
        let mut out = text.to_string();
        for pattern in &self.patterns {
            if pattern.is_match(&out) {
                out = pattern.replace_all(&out, "").into_owned();
            }
        }
        let removed = text.chars().count() - out.chars().count();
        (out, removed as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leads_datelines_captions_and_trailers_go_and_the_story_stays() {
        let b = Boilerplate::new(&[]).unwrap();
        let text = "某台网消息(晚间新闻)：两国举行会谈。\n（新华社北京5月2日电 记者 王某）双方讨论能源合作。\n5月2日，两国代表会谈。 新华社记者 张某 摄\n会谈取得成果。\n责任编辑：李某\n（完）";
        let (clean, removed) = b.strip(text);
        assert_eq!(clean, "两国举行会谈。\n双方讨论能源合作。\n\n会谈取得成果。\n\n");
        assert_eq!(removed as usize, text.chars().count() - clean.chars().count());
        assert!(removed > 30);
    }

    #[test]
    fn a_sentence_that_only_mentions_a_reporter_stays() {
        let b = Boilerplate::new(&[]).unwrap();
        let text = "记者从商务部获悉，两国贸易额增长。";
        assert_eq!(b.strip(text), (text.to_string(), 0));
    }

    #[test]
    fn user_patterns_add_to_ours_and_bad_ones_are_named() {
        let b = Boilerplate::new(&[("mine.txt".into(), "# mine\n^本期完$\n".into())]).unwrap();
        assert_eq!(b.strip("正文。\n本期完").0, "正文。\n");
        let err = Boilerplate::new(&[("mine.txt".into(), "\n(unclosed\n".into())]).err().unwrap().to_string();
        assert!(err.starts_with("mine.txt:2: not a usable regular expression"), "{err}");
    }
}
