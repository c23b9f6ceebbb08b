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

/// Term counts of the documents `rows` over all terms of `tokenized`, a matrix row each.
pub fn count_matrix(tokenized: &Tokenized, rows: &[usize]) -> Csr<u32> {
    let sorted_ids = |d: usize| {
        let mut ids = tokenized.doc(d).to_vec();
        ids.sort_unstable();
        ids
    };
    // Two passes (sorting each document twice) so that the matrix is built once, in place.
    let lens: Vec<usize> = rows
        .par_iter()
        .map(|&d| {
            let ids = sorted_ids(d);
            ids.windows(2).filter(|w| w[0] != w[1]).count() + usize::from(!ids.is_empty())
        })
        .collect();
    Csr::fill_rows(tokenized.terms.len(), &lens, |r, columns, counts| {
        let mut at = 0;
        for (i, id) in sorted_ids(rows[r]).into_iter().enumerate() {
            if i > 0 && columns[at] == id {
                counts[at] += 1;
            } else {
                at += usize::from(i > 0);
                (columns[at], counts[at]) = (id, 1);
            }
        }
    })
}

/// Select the vocabulary and return it with the counts restricted to it.
pub fn select(terms: &[String], mut counts: Csr<u32>, params: &VocabularyParams) -> Result<(Vocabulary, Csr<u32>)> {
    let n_docs = counts.n_rows();
    let (low, high) = (params.min_df.resolve(n_docs), params.max_df.resolve(n_docs));
    if high < low {
        return Err(Error::Config(format!(
            "max_df ({high} documents) is below min_df ({low} documents) with {n_docs} analysed documents; \
             lower --min-df (e.g. --min-df 1) or raise --max-df"
        )));
    }
    let mut df = vec![0u32; terms.len()];
    let mut cf = vec![0u64; terms.len()];
    for (&t, &n) in counts.indices.iter().zip(&counts.values) {
        df[t as usize] += 1;
        cf[t as usize] += n as u64;
    }
    let mut kept: Vec<usize> = (0..terms.len()).filter(|&t| (low..=high).contains(&(df[t] as f64))).collect();
    if let Some(limit) = params.max_features {
        // Stable sort by descending frequency keeps term order among ties, as scikit-learn does.
        kept.sort_by(|&a, &b| cf[b].cmp(&cf[a]));
        kept.truncate(limit);
        kept.sort_unstable();
    }
    if kept.is_empty() {
        return Err(Error::Config(format!(
            "no terms left after min_df/max_df/max_features ({n_docs} documents, {} distinct terms); relax the limits",
            terms.len()
        )));
    }
    let vocabulary = Vocabulary {
        terms: kept.iter().map(|&t| terms[t].clone()).collect(),
        df: kept.iter().map(|&t| df[t]).collect(),
        cf: kept.iter().map(|&t| cf[t]).collect(),
    };
    let mut new_id = vec![u32::MAX; terms.len()];
    for (new, &old) in kept.iter().enumerate() {
        new_id[old] = new as u32;
    }
    // Compacted in place: kept terms keep their order, so every row stays sorted.
    let mut indices = std::sync::Arc::unwrap_or_clone(counts.indices);
    let mut at = 0;
    let mut indptr = Vec::with_capacity(counts.indptr.len());
    indptr.push(0);
    for r in 0..n_docs {
        for i in counts.indptr[r]..counts.indptr[r + 1] {
            let new = new_id[indices[i] as usize];
            if new != u32::MAX {
                (indices[at], counts.values[at]) = (new, counts.values[i]);
                at += 1;
            }
        }
        indptr.push(at);
    }
    indices.truncate(at);
    indices.shrink_to_fit();
    counts.values.truncate(at);
    counts.values.shrink_to_fit();
    Ok((vocabulary, Csr { n_cols: kept.len(), indptr: indptr.into(), indices: indices.into(), values: counts.values }))
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

    #[test]
    fn counts_rows_are_sorted_with_multiplicities() {
        let m = count_matrix(&tokenized(&[&[2, 0, 2], &[], &[1]], 3), &[0, 1, 2]);
        assert_eq!(count_matrix(&tokenized(&[&[2, 0, 2], &[], &[1]], 3), &[2]).row(0), (&[1u32][..], &[1u32][..]));
        assert_eq!(m.row(0), (&[0u32, 2][..], &[1u32, 2][..]));
        assert!(m.row(1).0.is_empty());
    }

    #[test]
    fn counts_built_in_blocks_match_counting_row_by_row() {
        // More rows than one block of `Csr::fill_rows`, empty rows among them.
        let docs: Vec<Vec<u32>> = (0..3000u32).map(|d| (0..d % 17).map(|i| (d * 7 + i * i) % 29).collect()).collect();
        let t = tokenized(&docs.iter().map(Vec::as_slice).collect::<Vec<_>>(), 29);
        let rows: Vec<usize> = (0..3000).rev().step_by(2).collect();
        let m = count_matrix(&t, &rows);
        let expected: Vec<Vec<(u32, u32)>> = rows
            .iter()
            .map(|&d| {
                let mut counts = std::collections::BTreeMap::new();
                docs[d].iter().for_each(|&id| *counts.entry(id).or_insert(0) += 1);
                counts.into_iter().collect()
            })
            .collect();
        assert_eq!(m, Csr::from_rows(29, expected));
    }

    #[test]
    fn min_df_max_df_and_max_features_follow_scikit_learn() {
        // df: t0=3, t1=1, t2=2, t3=2; cf: t0=3, t1=1, t2=4, t3=2
        let t = tokenized(&[&[0, 2, 2, 3], &[0, 2, 2], &[0, 1, 3]], 4);
        let counts = count_matrix(&t, &[0, 1, 2]);
        let params = |min_df, max_df, max_features| VocabularyParams { min_df, max_df, max_features };
        let kept = |p| select(&t.terms, counts.clone(), &p).unwrap().0.terms;
        assert_eq!(kept(params(DocFreq::Count(2), DocFreq::Share(1.0), None)), ["t0", "t2", "t3"]);
        assert_eq!(kept(params(DocFreq::Count(1), DocFreq::Share(0.7), None)), ["t1", "t2", "t3"]);
        assert_eq!(kept(params(DocFreq::Count(1), DocFreq::Share(1.0), Some(2))), ["t0", "t2"]);
        let (vocab, restricted) =
            select(&t.terms, counts.clone(), &params(DocFreq::Count(2), DocFreq::Count(2), None)).unwrap();
        assert_eq!(vocab.terms, ["t2", "t3"]);
        assert_eq!(vocab.cf, [4, 2]);
        assert_eq!(restricted.row(0), (&[0u32, 1][..], &[2u32, 1][..]));
        assert_eq!(restricted.row(1), (&[0u32][..], &[2u32][..]));
        assert_eq!(restricted.row(2), (&[1u32][..], &[1u32][..]));
        assert_eq!(*restricted.indptr, [0, 2, 3, 4]);
        let (_, all) = select(&t.terms, counts.clone(), &params(DocFreq::Count(1), DocFreq::Share(1.0), None)).unwrap();
        assert_eq!(all, counts);
        assert!(select(&t.terms, counts.clone(), &params(DocFreq::Count(5), DocFreq::Share(1.0), None)).is_err());
    }

    #[test]
    fn doc_freq_parses_counts_and_shares() {
        assert_eq!("3".parse::<DocFreq>(), Ok(DocFreq::Count(3)));
        assert_eq!("0.25".parse::<DocFreq>(), Ok(DocFreq::Share(0.25)));
        assert!("1.5".parse::<DocFreq>().is_err());
    }
}
