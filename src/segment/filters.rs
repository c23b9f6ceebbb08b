//! Token filters, applied in order after jieba: a token is kept only if every filter keeps it.

use rustc_hash::FxHashSet;

use super::dictionary::entry_lines;
use crate::corpus::is_word_char;

pub const STOPWORDS: &str = include_str!("../../data/stopwords/zh.txt");

/// One rule for dropping tokens.
#[derive(Debug, Clone)]
pub enum Filter {
    /// Drops tokens without a letter, digit or ideograph: punctuation, symbols, whitespace.
    Symbols,
    /// Drops numbers: Arabic digits, Chinese numerals and the signs inside numbers (3.5%, 二〇二三, 十万).
    Numbers,
    /// Drops the listed words.
    Stopwords(FxHashSet<String>),
}

impl Filter {
    pub fn keeps(&self, token: &str) -> bool {
        match self {
            Filter::Symbols => token.chars().any(is_word_char),
            Filter::Numbers => !token.chars().all(is_number_char),
            Filter::Stopwords(words) => !words.contains(token),
        }
    }

    /// Our shipped stopword list plus `extra` words.
    pub fn default_stopwords(extra: impl IntoIterator<Item = String>) -> Filter {
        let mut words: FxHashSet<String> = entry_lines(STOPWORDS).map(|(_, w)| w.to_string()).collect();
        words.extend(extra);
        Filter::Stopwords(words)
    }
}

fn is_number_char(c: char) -> bool {
    matches!(
        c,
        '0'..='9'
            | '.'
            | ','
            | '%'
            | '+'
            | '-'
            | '‰'
            | '〇'
            | '零'
            | '一'
            | '二'
            | '三'
            | '四'
            | '五'
            | '六'
            | '七'
            | '八'
            | '九'
            | '十'
            | '百'
            | '千'
            | '万'
            | '亿'
            | '两'
            | '壹'
            | '贰'
            | '叁'
            | '肆'
            | '伍'
            | '陆'
            | '柒'
            | '捌'
            | '玖'
            | '拾'
            | '佰'
            | '仟'
    )
}

/// The filters in run order.
#[derive(Debug, Clone)]
pub struct FilterChain(pub Vec<Filter>);

impl FilterChain {
    pub fn standard() -> FilterChain {
        FilterChain(vec![Filter::Symbols, Filter::Numbers, Filter::default_stopwords([])])
    }

    pub fn keeps(&self, token: &str) -> bool {
        self.0.iter().all(|f| f.keeps(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_numbers_and_stopwords_are_dropped() {
        let chain = FilterChain::standard();
        for dropped in ["，", "。", " ", "“", "2013", "3.5%", "二〇二三", "十万", "的", "我们", "记者"] {
            assert!(!chain.keeps(dropped), "{dropped} should be dropped");
        }
        for kept in ["合作", "俄罗斯", "G20", "5G", "十八大", "一带一路"] {
            assert!(chain.keeps(kept), "{kept} should be kept");
        }
    }
}
