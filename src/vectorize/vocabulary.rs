//! Vocabulary selection with scikit-learn's `CountVectorizer` rules: a term is kept when its
//! document frequency `df` satisfies `min_df ≤ df ≤ max_df` (a whole number is a count of
//! documents, a fraction a share of them); then, if `max_features` is set, the terms with the
//! highest corpus frequency are kept, ties broken by term order. Kept terms stay sorted.

use rayon::prelude::*;

use super::matrix::Csr;
use crate::error::{Error, Result};
use crate::segment::Tokenized;

/// A document-frequency bound: a number of documents or a share of them.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocFreq {
    Count(u32),
    Share(f64),
}

impl DocFreq {
    pub(crate) fn resolve(self, n_docs: usize) -> f64 {
        match self {
            DocFreq::Count(n) => n as f64,
            DocFreq::Share(s) => s * n_docs as f64,
        }
    }
}

impl std::str::FromStr for DocFreq {
    type Err = String;

    /// `5` is five documents; `0.5` (any value with a decimal point) is half of them.
    fn from_str(s: &str) -> Result<Self, String> {
        if s.contains('.') {
            let share: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
            if !(0.0..=1.0).contains(&share) {
                return Err(format!("share '{s}' must be between 0.0 and 1.0"));
            }
            Ok(DocFreq::Share(share))
        } else {
            s.parse()
                .map(DocFreq::Count)
                .map_err(|_| format!("'{s}' is not a whole number of documents or a share like 0.5"))
        }
    }
}

/// Which terms to keep; see the module docs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VocabularyParams {
    pub min_df: DocFreq,
    pub max_df: DocFreq,
    pub max_features: Option<usize>,
}

impl Default for VocabularyParams {
    /// `min_df = 2` (a term seen in one document says nothing about change), `max_df = 1.0`.
    fn default() -> Self {
        VocabularyParams { min_df: DocFreq::Count(2), max_df: DocFreq::Share(1.0), max_features: None }
    }
}

#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub terms: Vec<String>,
    /// Documents containing the term.
    pub df: Vec<u32>,
    /// Occurrences in the corpus.
    pub cf: Vec<u64>,
}

impl Vocabulary {
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

/// How often each term of a tokenized corpus (or one shard of it) occurs among some of its
/// documents: `df`, the documents holding it, and `cf`, its occurrences. Every term is listed,
/// sorted, even those the documents lack (df 0), so the terms of several shards' frequencies
/// merged are the terms of the whole corpus.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TermFrequencies {
    pub terms: Vec<String>,
    pub df: Vec<u32>,
    pub cf: Vec<u64>,
}

impl TermFrequencies {
    /// The frequencies of `tokenized`'s terms over its documents `docs`.
    pub fn of(tokenized: &Tokenized, docs: &[usize]) -> TermFrequencies {
        let n_terms = tokenized.terms.len();
        let chunk = docs.len().div_ceil(4 * rayon::current_num_threads()).max(1024);
        // Integer sums: the same whatever the chunks, at any thread count.
        let (df, cf) = docs
            .par_chunks(chunk)
            .map(|chunk| {
                let (mut df, mut cf, mut last) = (vec![0u32; n_terms], vec![0u64; n_terms], vec![usize::MAX; n_terms]);
                for &d in chunk {
                    for &id in tokenized.doc(d) {
                        let t = id as usize;
                        cf[t] += 1;
                        if last[t] != d {
                            (last[t], df[t]) = (d, df[t] + 1);
                        }
                    }
                }
                (df, cf)
            })
            .reduce_with(|(mut df, mut cf), (df2, cf2)| {
                df.iter_mut().zip(df2).for_each(|(a, b)| *a += b);
                cf.iter_mut().zip(cf2).for_each(|(a, b)| *a += b);
                (df, cf)
            })
            .unwrap_or_else(|| (vec![0; n_terms], vec![0; n_terms]));
        TermFrequencies { terms: tokenized.terms.clone(), df, cf }
    }

    /// The frequencies over the documents of both (two shards' documents, which do not overlap):
    /// the sorted union of their terms, counts added.
    pub fn merge(self, other: TermFrequencies) -> TermFrequencies {
        let n = self.terms.len().max(other.terms.len());
        let mut out =
            TermFrequencies { terms: Vec::with_capacity(n), df: Vec::with_capacity(n), cf: Vec::with_capacity(n) };
        let mut a = self.terms.into_iter().zip(self.df).zip(self.cf).peekable();
        let mut b = other.terms.into_iter().zip(other.df).zip(other.cf).peekable();
        loop {
            let order = match (a.peek(), b.peek()) {
                (Some(((x, _), _)), Some(((y, _), _))) => x.cmp(y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => break,
            };
            let ((term, df), cf) = match order {
                std::cmp::Ordering::Less => a.next(),
                std::cmp::Ordering::Greater => b.next(),
                std::cmp::Ordering::Equal => {
                    let (((term, df), cf), ((_, df2), cf2)) = (a.next().unwrap(), b.next().unwrap());
                    Some(((term, df + df2), cf + cf2))
                }
            }
            .expect("peeked");
            out.terms.push(term);
            out.df.push(df);
            out.cf.push(cf);
        }
        out
    }
}

/// The vocabulary of a corpus of `n_docs` documents with term frequencies `frequencies`.
pub fn select(frequencies: &TermFrequencies, n_docs: usize, params: &VocabularyParams) -> Result<Vocabulary> {
    let TermFrequencies { terms, df, cf } = frequencies;
    let (low, high) = (params.min_df.resolve(n_docs), params.max_df.resolve(n_docs));
    if high < low {
        return Err(Error::Config(format!(
            "max_df ({high} documents) is below min_df ({low} documents) with {n_docs} analysed documents; \
             lower --min-df (e.g. --min-df 1) or raise --max-df"
        )));
    }
    // A term no analysed document holds is never kept, whatever the limits.
    let mut kept: Vec<usize> =
        (0..terms.len()).filter(|&t| df[t] > 0 && (low..=high).contains(&(df[t] as f64))).collect();
    if let Some(limit) = params.max_features {
        // Stable sort by descending frequency keeps term order among ties, as scikit-learn does.
        kept.sort_by(|&a, &b| cf[b].cmp(&cf[a]));
        kept.truncate(limit);
        kept.sort_unstable();
    }
    if kept.is_empty() {
        let distinct = df.iter().filter(|&&d| d > 0).count();
        return Err(Error::Config(format!(
            "no terms left after min_df/max_df/max_features ({n_docs} documents, {distinct} distinct terms); relax the limits"
        )));
    }
    Ok(Vocabulary {
        terms: kept.iter().map(|&t| terms[t].clone()).collect(),
        df: kept.iter().map(|&t| df[t]).collect(),
        cf: kept.iter().map(|&t| cf[t]).collect(),
    })
}

/// For each term of `terms` (a tokenized corpus's or shard's), its column among the vocabulary's
/// `vocabulary` terms, if kept.
pub fn columns_of(terms: &[String], vocabulary: &[String]) -> Vec<Option<u32>> {
    let ids: rustc_hash::FxHashMap<&str, u32> =
        vocabulary.iter().enumerate().map(|(i, t)| (t.as_str(), i as u32)).collect();
    terms.iter().map(|t| ids.get(t.as_str()).copied()).collect()
}

/// Term counts of the documents `docs` of `tokenized`, a matrix row each, over `n_cols` columns:
/// `columns[t]` is term t's column, and a term without one is not counted.
pub fn count_rows(tokenized: &Tokenized, docs: &[usize], columns: &[Option<u32>], n_cols: usize) -> Csr<u32> {
    let sorted_columns = |d: usize| {
        let mut ids: Vec<u32> = tokenized.doc(d).iter().filter_map(|&t| columns[t as usize]).collect();
        ids.sort_unstable();
        ids
    };
    // Two passes (sorting each document twice) so that the matrix is built once, in place.
    let lens: Vec<usize> = docs
        .par_iter()
        .map(|&d| {
            let ids = sorted_columns(d);
            ids.windows(2).filter(|w| w[0] != w[1]).count() + usize::from(!ids.is_empty())
        })
        .collect();
    Csr::fill_rows(n_cols, &lens, |r, columns, counts| {
        let mut at = 0;
        for (i, id) in sorted_columns(docs[r]).into_iter().enumerate() {
            if i > 0 && columns[at] == id {
                counts[at] += 1;
            } else {
                at += usize::from(i > 0);
                (columns[at], counts[at]) = (id, 1);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenized(docs: &[&[u32]], n_terms: usize) -> Tokenized {
        let mut t = Tokenized { terms: (0..n_terms).map(|i| format!("t{i}")).collect(), offsets: vec![0], ids: vec![] };
        for d in docs {
            t.ids.extend_from_slice(d);
            t.offsets.push(t.ids.len());
        }
        t
    }

    fn all_columns(n_terms: usize) -> Vec<Option<u32>> {
        (0..n_terms as u32).map(Some).collect()
    }

    #[test]
    fn counts_rows_are_sorted_with_multiplicities() {
        let t = tokenized(&[&[2, 0, 2], &[], &[1]], 3);
        let m = count_rows(&t, &[0, 1, 2], &all_columns(3), 3);
        assert_eq!(count_rows(&t, &[2], &all_columns(3), 3).row(0), (&[1u32][..], &[1u32][..]));
        assert_eq!(m.row(0), (&[0u32, 2][..], &[1u32, 2][..]));
        assert!(m.row(1).0.is_empty());
        // Term 0 without a column, term 2 in column 0: rows over the columns, the rest not counted.
        let m = count_rows(&t, &[0, 2], &[None, Some(1), Some(0)], 2);
        assert_eq!((m.row(0), m.row(1)), ((&[0u32][..], &[2u32][..]), (&[1u32][..], &[1u32][..])));
    }

    #[test]
    fn counts_built_in_blocks_match_counting_row_by_row() {
        // More rows than one block of `Csr::fill_rows`, empty rows among them.
        let docs: Vec<Vec<u32>> = (0..3000u32).map(|d| (0..d % 17).map(|i| (d * 7 + i * i) % 29).collect()).collect();
        let t = tokenized(&docs.iter().map(Vec::as_slice).collect::<Vec<_>>(), 29);
        let rows: Vec<usize> = (0..3000).rev().step_by(2).collect();
        let m = count_rows(&t, &rows, &all_columns(29), 29);
        let expected: Vec<Vec<(u32, u32)>> = rows
            .iter()
            .map(|&d| {
                let mut counts = std::collections::BTreeMap::new();
                docs[d].iter().for_each(|&id| *counts.entry(id).or_insert(0) += 1);
                counts.into_iter().collect()
            })
            .collect();
        assert_eq!(m, Csr::from_rows(29, expected));
        // The frequencies agree with the matrix: df its entries per column, cf their sum.
        let f = TermFrequencies::of(&t, &rows);
        let (mut df, mut cf) = (vec![0u32; 29], vec![0u64; 29]);
        for (&c, &n) in m.indices.iter().zip(&m.values) {
            (df[c as usize], cf[c as usize]) = (df[c as usize] + 1, cf[c as usize] + n as u64);
        }
        assert_eq!((f.df, f.cf), (df, cf));
    }

    #[test]
    fn frequencies_merged_over_shards_are_the_frequencies_of_the_whole() {
        let whole =
            Tokenized::from_token_lists(&[vec!["甲", "乙", "甲"], vec!["丙"], vec!["乙", "丁"], vec!["戊", "甲"]]);
        let shard = |lists: &[Vec<&str>]| Tokenized::from_token_lists(lists);
        let (a, b) = (shard(&[vec!["甲", "乙", "甲"], vec!["丙"]]), shard(&[vec!["乙", "丁"], vec!["戊", "甲"]]));
        // Documents 1 and 2 left out (duplicates, say): their terms stay listed with df 0.
        let merged = TermFrequencies::of(&a, &[0]).merge(TermFrequencies::of(&b, &[1]));
        assert_eq!(merged, TermFrequencies::of(&whole, &[0, 3]));
        assert_eq!(merged.terms, whole.terms);
        let df: Vec<(&str, u32)> = merged.terms.iter().map(String::as_str).zip(merged.df.iter().copied()).collect();
        assert!(df.contains(&("甲", 2)) && df.contains(&("丙", 0)), "{df:?}");
        assert_eq!(TermFrequencies::default().merge(merged.clone()), merged);
    }

    #[test]
    fn min_df_max_df_and_max_features_follow_scikit_learn() {
        // df: t0=3, t1=1, t2=2, t3=2; cf: t0=3, t1=1, t2=4, t3=2
        let t = tokenized(&[&[0, 2, 2, 3], &[0, 2, 2], &[0, 1, 3]], 4);
        let f = TermFrequencies::of(&t, &[0, 1, 2]);
        let params = |min_df, max_df, max_features| VocabularyParams { min_df, max_df, max_features };
        let kept = |p| select(&f, 3, &p).unwrap().terms;
        assert_eq!(kept(params(DocFreq::Count(2), DocFreq::Share(1.0), None)), ["t0", "t2", "t3"]);
        assert_eq!(kept(params(DocFreq::Count(1), DocFreq::Share(0.7), None)), ["t1", "t2", "t3"]);
        assert_eq!(kept(params(DocFreq::Count(1), DocFreq::Share(1.0), Some(2))), ["t0", "t2"]);
        // A term no analysed document holds is never a column, even with min_df 0.
        assert_eq!(
            select(&TermFrequencies::of(&t, &[0]), 1, &params(DocFreq::Count(0), DocFreq::Share(1.0), None))
                .unwrap()
                .terms,
            ["t0", "t2", "t3"]
        );
        let vocab = select(&f, 3, &params(DocFreq::Count(2), DocFreq::Count(2), None)).unwrap();
        assert_eq!(vocab.terms, ["t2", "t3"]);
        assert_eq!(vocab.cf, [4, 2]);
        let restricted = count_rows(&t, &[0, 1, 2], &columns_of(&t.terms, &vocab.terms), vocab.len());
        assert_eq!(restricted.row(0), (&[0u32, 1][..], &[2u32, 1][..]));
        assert_eq!(restricted.row(1), (&[0u32][..], &[2u32][..]));
        assert_eq!(restricted.row(2), (&[1u32][..], &[1u32][..]));
        assert_eq!(*restricted.indptr, [0, 2, 3, 4]);
        assert!(select(&f, 3, &params(DocFreq::Count(5), DocFreq::Share(1.0), None)).is_err());
        assert!(select(&f, 3, &params(DocFreq::Count(3), DocFreq::Count(2), None)).is_err());
    }

    #[test]
    fn doc_freq_parses_counts_and_shares() {
        assert_eq!("3".parse::<DocFreq>(), Ok(DocFreq::Count(3)));
        assert_eq!("0.25".parse::<DocFreq>(), Ok(DocFreq::Share(0.25)));
        assert!("1.5".parse::<DocFreq>().is_err());
    }
}
