//! jieba-style TF-IDF keywords of one document: jieba's IDF table, jieba's segmentation with HMM
//! (as Python `jieba.analyse.extract_tags` does), jieba's default stop words. The score of a word
//! is its share of the document's candidate words times its IDF (the median IDF for words not in
//! the table).

use jieba_rs::{Jieba, KeywordExtract, KeywordExtractConfig, TfIdf};

#[derive(Debug, Clone, PartialEq)]
pub struct Keyword {
    pub word: String,
    pub weight: f64,
}

pub struct KeywordExtractor {
    jieba: Jieba,
    tfidf: TfIdf,
}

impl KeywordExtractor {
    /// Same behaviour as Python jieba's `extract_tags` with its defaults when `jieba` is
    /// `Jieba::new()`.
    pub fn new(jieba: Jieba) -> Self {
        let mut tfidf = TfIdf::default();
        // jieba-rs turns HMM off by default; Python jieba's extract_tags has it on.
        *tfidf.config_mut() = KeywordExtractConfig::builder().use_hmm(true).build();
        KeywordExtractor { jieba, tfidf }
    }

    pub fn extract(&self, text: &str, top: usize) -> Vec<Keyword> {
        self.tfidf
            .extract_keywords(&self.jieba, text, top, vec![])
            .into_iter()
            .map(|k| Keyword { word: k.keyword, weight: k.weight })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_rare_words_outrank_common_ones() {
        let extractor = KeywordExtractor::new(Jieba::new());
        let text = "天然气管道项目进展顺利。天然气供应稳定，管道运输安全。我们今天在这里开会。";
        let words: Vec<String> = extractor.extract(text, 3).into_iter().map(|k| k.word).collect();
        assert!(words.contains(&"天然气".to_string()), "{words:?}");
        assert!(!words.contains(&"我们".to_string()));
    }
}
