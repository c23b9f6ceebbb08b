//! Script detection and traditional → simplified conversion.
//!
//! Conversion is OpenCC's phrase-level `t2s` (ferrous-opencc, Apache-2.0, byte-identical to
//! reference OpenCC on our traditional seed). Two character sets, derived once from OpenCC's own
//! tables, make detection a bitmap lookup: characters that `t2s` changes are traditional, those
//! that `s2t` changes are simplified; a character in both is ambiguous and not counted.

use ferrous_opencc::{config::BuiltinConfig, OpenCC};

use crate::corpus::Script;
use crate::error::{Error, Result};

/// OpenCC leaves the particle 著 unconverted (本著, 隨著 → 本著, 随著). In simplified text 著 is
/// only the "write / notable" morpheme, so every other 著 becomes 着.
const ZHU_WORDS: [&str; 24] = [
    "著名", "著作", "著称", "著述", "著者", "著录", "著书", "著有", "显著", "卓著", "名著", "原著", "论著", "专著",
    "编著", "土著", "昭著", "撰著", "巨著", "遗著", "译著", "合著", "新著", "拙著",
];

/// Share of script-specific characters above which a document counts as one script.
const DOMINANT: f64 = 0.9;

pub struct ScriptConverter {
    t2s: OpenCC,
    traditional: CharSet,
    simplified: CharSet,
}

impl ScriptConverter {
    pub fn new() -> Result<Self> {
        let open = |config| OpenCC::from_config(config).map_err(|e| Error::Config(format!("OpenCC tables: {e}")));
        let t2s = open(BuiltinConfig::T2s)?;
        let s2t = open(BuiltinConfig::S2t)?;
        let traditional = CharSet::changed_by(&t2s);
        let simplified = CharSet::changed_by(&s2t);
        Ok(ScriptConverter { t2s, traditional, simplified })
    }

    pub fn detect(&self, text: &str) -> Script {
        let (mut traditional, mut simplified) = (0usize, 0usize);
        for c in text.chars() {
            match (self.traditional.contains(c), self.simplified.contains(c)) {
                (true, false) => traditional += 1,
                (false, true) => simplified += 1,
                _ => {}
            }
        }
        let specific = traditional + simplified;
        if traditional == 0 {
            Script::Simplified
        } else if traditional as f64 >= DOMINANT * specific as f64 {
            Script::Traditional
        } else if simplified as f64 >= DOMINANT * specific as f64 {
            Script::Simplified
        } else {
            Script::Mixed
        }
    }

    /// Simplified text, converted only where traditional characters occur.
    pub fn to_simplified(&self, text: &str) -> String {
        if !text.chars().any(|c| self.traditional.contains(c)) {
            return text.to_string();
        }
        fix_zhu(&self.t2s.convert(text))
    }
}

fn fix_zhu(text: &str) -> String {
    if !text.contains('著') {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let keeps = |i: usize| {
        ZHU_WORDS.iter().any(|word| {
            let w: Vec<char> = word.chars().collect();
            let at = w.iter().position(|&c| c == '著').unwrap_or(0);
            i >= at && i - at + w.len() <= chars.len() && chars[i - at..i - at + w.len()] == w[..]
        })
    };
    chars.iter().enumerate().map(|(i, &c)| if c == '著' && !keeps(i) { '着' } else { c }).collect()
}

/// A set of Basic Multilingual Plane characters as a bitmap.
struct CharSet(Vec<u64>);

impl CharSet {
    /// The CJK characters (Unified Ideographs and Extension A) that `converter` maps to another.
    fn changed_by(converter: &OpenCC) -> CharSet {
        let candidates: Vec<char> = (0x3400..=0x4DBF).chain(0x4E00..=0x9FFF).filter_map(char::from_u32).collect();
        // One character a line, so phrase rules never join neighbours.
        let joined: String = candidates.iter().flat_map(|&c| [c, '\n']).collect();
        let converted = converter.convert(&joined);
        let mut set = CharSet(vec![0; 0x10000 / 64]);
        for (&c, out) in candidates.iter().zip(converted.split('\n')) {
            if out.chars().ne(std::iter::once(c)) {
                set.insert(c);
            }
        }
        set
    }

    fn insert(&mut self, c: char) {
        let i = c as usize;
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn contains(&self, c: char) -> bool {
        let i = c as usize;
        i < 0x10000 && self.0[i / 64] & (1 << (i % 64)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_text_is_detected_and_converted_by_phrase() {
        let converter = ScriptConverter::new().unwrap();
        let text = "兩國元首舉行會談，雙方同意擴大貿易與能源合作。";
        assert_eq!(converter.detect(text), Script::Traditional);
        assert_eq!(converter.to_simplified(text), "两国元首举行会谈，双方同意扩大贸易与能源合作。");
    }

    #[test]
    fn simplified_and_mixed_text_are_told_apart() {
        let converter = ScriptConverter::new().unwrap();
        assert_eq!(converter.detect("两国元首举行会谈，双方同意扩大贸易合作。"), Script::Simplified);
        assert_eq!(converter.detect("两国元首举行会谈，雙方同意擴大貿易與能源合作。"), Script::Mixed);
        assert_eq!(converter.detect("2023 ABC"), Script::Simplified);
    }

    #[test]
    fn particle_zhu_becomes_zhe_but_notable_zhu_stays() {
        let converter = ScriptConverter::new().unwrap();
        assert_eq!(
            converter.to_simplified("本著互利原則，隨著合作深入，成果顯著，著名學者"),
            "本着互利原则，随着合作深入，成果显著，著名学者"
        );
    }
}
