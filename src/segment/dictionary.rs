//! The jieba dictionary we segment with: jieba's own, plus our political-terms dictionary
//! (`data/dict/political.txt`), minus the compounds in `data/dict/split.txt` that swallow terms we
//! count on their own, plus whatever user dictionaries are given. Both data files are compiled in.

use std::path::Path;

use jieba_rs::Jieba;

use crate::error::{Error, Origin, Result};

pub const POLITICAL_TERMS: &str = include_str!("../../data/dict/political.txt");
pub const SPLIT_WORDS: &str = include_str!("../../data/dict/split.txt");

/// Fixed expressions our dictionary must keep whole (checked by the tests).
pub const FIXED_EXPRESSIONS: [&str; 10] = [
    "一带一路",
    "人类命运共同体",
    "全面战略协作伙伴关系",
    "欧亚经济联盟",
    "丝绸之路经济带",
    "新冠肺炎",
    "互联互通",
    "本币结算",
    "数字经济",
    "泽连斯基",
];

/// jieba with our dictionaries loaded, then each user dictionary in order.
pub fn build_jieba(user_dicts: &[impl AsRef<Path>]) -> Result<Jieba> {
    let mut jieba = Jieba::new();
    add_entries(&mut jieba, POLITICAL_TERMS, &Origin::file("data/dict/political.txt"))?;
    for word in entry_lines(SPLIT_WORDS) {
        // Frequency zero takes the word out of every segmentation route, as jieba's del_word does.
        jieba.add_word(word.1, Some(0), None);
    }
    for path in user_dicts {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        add_entries(&mut jieba, &text, &Origin::file(path))?;
    }
    Ok(jieba)
}

/// Add theme seeds the dictionary does not know, with jieba's suggested frequency (so each is cut
/// whole where its characters appear); words it knows keep their entry, including the compounds
/// `split.txt` takes out. Returns how many were added.
pub fn add_seed_words<'a>(jieba: &mut Jieba, words: impl IntoIterator<Item = &'a str>) -> usize {
    let mut added = 0;
    for word in words {
        if !word.is_empty() && !jieba.has_word(word) {
            jieba.add_word(word, None, None);
            added += 1;
        }
    }
    added
}

/// Add `word [freq] [tag]` lines; a missing frequency gets jieba's suggested one, as in jieba's
/// `load_userdict`.
fn add_entries(jieba: &mut Jieba, text: &str, origin: &Origin) -> Result<()> {
    for (line, entry) in entry_lines(text) {
        let mut parts = entry.split_whitespace();
        let word = parts.next().unwrap_or_default();
        let freq = match parts.next() {
            Some(freq) => Some(freq.parse::<usize>().map_err(|_| Error::Dictionary {
                origin: Origin::line(&origin.path, line),
                message: format!("frequency '{freq}' of '{word}' is not a whole number (format: word [freq] [tag])"),
            })?),
            None => None,
        };
        jieba.add_word(word, freq, parts.next());
    }
    Ok(())
}

/// Non-empty, non-comment lines with their 1-based line numbers.
pub fn entry_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim().trim_start_matches('\u{FEFF}')))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_words_are_cut_whole_once_added() {
        let mut jieba = build_jieba(&[] as &[&str]).unwrap();
        let text = "双方讨论了北极航道和冰上丝路带建设";
        assert!(!jieba.cut(text, true).iter().any(|t| t.word == "冰上丝路带"));
        assert_eq!(add_seed_words(&mut jieba, ["冰上丝路带", "一带一路"]), 1);
        assert!(jieba.cut(text, true).iter().any(|t| t.word == "冰上丝路带"));
    }

    fn words(jieba: &Jieba, text: &str) -> Vec<String> {
        jieba.cut(text, true).into_iter().map(|t| t.word.to_string()).collect()
    }

    #[test]
    fn political_terms_stay_whole() {
        let jieba = build_jieba(&[] as &[&Path]).unwrap();
        for term in FIXED_EXPRESSIONS {
            let text = format!("他们讨论了{term}的问题");
            assert!(words(&jieba, &text).contains(&term.to_string()), "{term}: {:?}", words(&jieba, &text));
        }
    }

    #[test]
    fn split_words_release_the_terms_they_swallowed() {
        let jieba = build_jieba(&[] as &[&Path]).unwrap();
        assert_eq!(words(&jieba, "双边贸易稳步增长"), ["双边", "贸易", "稳步增长"]);
    }

    #[test]
    fn bad_user_dictionary_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.txt");
        std::fs::write(&path, "# mine\n新词 12 n\n坏词 many\n").unwrap();
        let err = build_jieba(&[&path]).unwrap_err().to_string();
        assert!(
            err.ends_with("mine.txt:3: frequency 'many' of '坏词' is not a whole number (format: word [freq] [tag])"),
            "{err}"
        );
    }
}
