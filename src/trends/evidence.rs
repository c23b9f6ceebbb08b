//! Evidence: for a term (or a theme) in a period, the sentences that support the number, so every
//! point on a chart can be checked against the text. Documents are ranked by how often they use the
//! term (theme terms), and each contributes its first sentence that holds it, with character offsets.

/// Sentences end at these marks or at a line break.
const ENDS: [char; 6] = ['。', '！', '？', '；', '!', '?'];

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sentence {
    pub text: String,
    /// The term found, and its character span in `text`.
    pub term: String,
    pub start: u32,
    pub end: u32,
}

/// The first sentence of `text` containing one of `terms` (earlier terms preferred within a sentence).
pub fn first_sentence_with(text: &str, terms: &[&str]) -> Option<Sentence> {
    for sentence in text.split_inclusive(|c| ENDS.contains(&c) || c == '\n') {
        let sentence = sentence.trim();
        let found = terms.iter().filter_map(|t| sentence.find(t).map(|at| (at, *t))).min();
        if let Some((at, term)) = found {
            let start = sentence[..at].chars().count() as u32;
            return Some(Sentence {
                text: sentence.to_string(),
                term: term.to_string(),
                start,
                end: start + term.chars().count() as u32,
            });
        }
    }
    None
}

/// The `top` documents (matrix rows) of `rows` by `score`, highest first, ties by row; zero scores
/// never count as support.
pub fn top_rows(rows: &[usize], score: impl Fn(usize) -> f64, top: usize) -> Vec<usize> {
    best(rows.iter().map(|&r| (score(r), r)).collect(), top).into_iter().map(|(_, r)| r).collect()
}

/// The `top` of (score, row) pairs as [`top_rows`] ranks them. The best of each part's best are
/// the best of the whole, so shards each send their own `top` and this merges them.
pub fn best(mut scored: Vec<(f64, usize)>, top: usize) -> Vec<(f64, usize)> {
    scored.retain(|(s, _)| *s > 0.0);
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.truncate(top);
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_in_characters_of_the_sentence() {
        let s = first_sentence_with("开头一句。双方扩大本币结算规模！结尾", &["本币结算"]).unwrap();
        assert_eq!(s.text, "双方扩大本币结算规模！");
        assert_eq!((s.start, s.end), (4, 8));
        assert_eq!(s.text.chars().skip(4).take(4).collect::<String>(), "本币结算");
        assert!(first_sentence_with("无关内容。", &["能源"]).is_none());
    }
}
