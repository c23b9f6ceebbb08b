//! Themes: named lexicons of (optionally weighted) terms, and their weight per period.
//!
//! For theme θ and period p, with h(d, θ) = Σ weight(t) · count(t, d) over θ's terms:
//! `share` = Σ_d h(d, θ) / Σ_d Σ_θ' h(d, θ') (θ's part of all theme hits in p); `per_10k` =
//! 10 000 · Σ_d h(d, θ) / tokens(p); `doc_share` = share of p's documents with h(d, θ) > 0. Each
//! comes with a 95% percentile-bootstrap interval over p's documents.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Deserialize;

use super::bootstrap::{interval, weight};
use crate::error::{Error, Result};
use crate::segment::Tokenized;

pub const CHINA_RUSSIA: &str = include_str!("../../data/themes/china_russia.toml");

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub label: String,
    pub terms: Vec<(String, f64)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    label: Option<String>,
    terms: Vec<String>,
    #[serde(default)]
    weights: BTreeMap<String, f64>,
}

/// Parse a lexicon file (`name` is used in messages). Themes keep the file's order.
pub fn parse_lexicon(text: &str, name: &str) -> Result<Vec<Theme>> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| Error::Config(format!("{name}: {}", e.to_string().trim())))?;
    let mut themes = Vec::new();
    for (theme, value) in table {
        let file: ThemeFile = value.try_into().map_err(|e: toml::de::Error| {
            Error::Config(format!("{name}: theme [{theme}]: {}", e.to_string().trim()))
        })?;
        if let Some(term) = file.weights.keys().find(|t| !file.terms.contains(t)) {
            return Err(Error::Config(format!(
                "{name}: theme [{theme}]: weight for '{term}', which is not in its terms"
            )));
        }
        let terms = file.terms.iter().map(|t| (t.clone(), *file.weights.get(t).unwrap_or(&1.0))).collect();
        themes.push(Theme { label: file.label.unwrap_or_else(|| theme.clone()), name: theme, terms });
    }
    // toml tables iterate sorted by key; keep the author's order instead.
    let order: Vec<usize> = themes.iter().map(|t| text.find(&format!("[{}]", t.name)).unwrap_or(usize::MAX)).collect();
    let mut indexed: Vec<(usize, Theme)> = order.into_iter().zip(themes).collect();
    indexed.sort_by_key(|(i, _)| *i);
    Ok(indexed.into_iter().map(|(_, t)| t).collect())
}

/// One theme in one period, with 95% intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemePeriod {
    pub theme: usize,
    pub period: usize,
    pub hits: f64,
    pub n_docs: u32,
    pub n_tokens: u64,
    pub share: f64,
    pub share_ci: (f64, f64),
    pub per_10k: f64,
    pub per_10k_ci: (f64, f64),
    pub doc_share: f64,
    pub doc_share_ci: (f64, f64),
}

/// Theme `theme` in period `period`: [`theme_trends`] lays its rows out period by period, each
/// period with all `n_themes` themes in order.
pub fn cell(theme_periods: &[ThemePeriod], n_themes: usize, theme: usize, period: usize) -> &ThemePeriod {
    let row = &theme_periods[period * n_themes + theme];
    debug_assert!(row.theme == theme && row.period == period);
    row
}

/// Theme `theme`'s share in each of `n_periods` periods.
pub fn share_series(theme_periods: &[ThemePeriod], n_themes: usize, theme: usize, n_periods: usize) -> Vec<f64> {
    (0..n_periods).map(|p| cell(theme_periods, n_themes, theme, p).share).collect()
}

/// The themes' lexicons by term, as a shard needs them to count hits in its tokens: each term
/// with its (theme, weight) entries in theme order, terms sorted.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LexiconIndex {
    pub n_themes: usize,
    pub entries: Vec<(String, Vec<(usize, f64)>)>,
}

impl LexiconIndex {
    pub fn new(themes: &[Theme]) -> LexiconIndex {
        let mut by_term: BTreeMap<&str, Vec<(usize, f64)>> = BTreeMap::new();
        for (k, theme) in themes.iter().enumerate() {
            for (term, w) in &theme.terms {
                by_term.entry(term).or_default().push((k, *w));
            }
        }
        let entries = by_term.into_iter().map(|(t, ws)| (t.to_string(), ws)).collect();
        LexiconIndex { n_themes: themes.len(), entries }
    }

    /// Theme hits of the documents `docs` of `tokenized` (a corpus or one shard): `hits[i][θ]` for
    /// `docs[i]`, weights added in token order.
    pub fn hits(&self, tokenized: &Tokenized, docs: &[usize]) -> Vec<Vec<f64>> {
        let weight_of: rustc_hash::FxHashMap<u32, &[(usize, f64)]> = self
            .entries
            .iter()
            .filter_map(|(term, ws)| Some((tokenized.terms.binary_search(term).ok()? as u32, ws.as_slice())))
            .collect();
        docs.par_iter()
            .map(|&d| {
                let mut h = vec![0.0; self.n_themes];
                for id in tokenized.doc(d) {
                    for &(k, w) in weight_of.get(id).copied().unwrap_or_default() {
                        h[k] += w;
                    }
                }
                h
            })
            .collect()
    }
}

/// The themes' terms that are none of the corpus's `terms` (sorted), as "theme: term".
pub fn unseen_terms(themes: &[Theme], terms: &[String]) -> Vec<String> {
    themes
        .iter()
        .flat_map(|theme| theme.terms.iter().map(move |(term, _)| (theme, term)))
        .filter(|(_, term)| terms.binary_search(term).is_err())
        .map(|(theme, term)| format!("{}: {term}", theme.name))
        .collect()
}

/// `rows_by_period[p]` are the matrix rows of period p; `tokens[r]` the kept tokens of row r.
/// `keys[r]` is row r's [`document_key`](super::bootstrap::document_key), which seeds its
/// bootstrap weights.
pub fn theme_trends(
    hits: &[Vec<f64>],
    rows_by_period: &[Vec<usize>],
    tokens: &[u64],
    keys: &[u64],
    n_themes: usize,
    seed: u64,
    replicates: usize,
) -> Vec<ThemePeriod> {
    // Each row counted `weight(row)` times: once for the estimate, Poisson(1) times in a replicate.
    let stats = |rows: &[usize], weight: &dyn Fn(usize) -> u32| {
        let mut sum = vec![0.0; n_themes];
        let mut with = vec![0u64; n_themes];
        let (mut n_tokens, mut n_docs) = (0u64, 0u64);
        for &r in rows {
            let w = weight(r);
            if w == 0 {
                continue;
            }
            n_tokens += w as u64 * tokens[r];
            n_docs += w as u64;
            for k in 0..n_themes {
                sum[k] += w as f64 * hits[r][k];
                with[k] += w as u64 * (hits[r][k] > 0.0) as u64;
            }
        }
        let all: f64 = sum.iter().sum();
        let per_theme = (0..n_themes)
            .map(|k| {
                let share = if all > 0.0 { sum[k] / all } else { 0.0 };
                let per_10k = if n_tokens > 0 { 1e4 * sum[k] / n_tokens as f64 } else { 0.0 };
                (sum[k], share, per_10k, with[k] as f64 / n_docs.max(1) as f64)
            })
            .collect::<Vec<_>>();
        (per_theme, n_tokens)
    };
    rows_by_period
        .par_iter()
        .enumerate()
        .flat_map_iter(|(p, rows)| {
            let (point, n_tokens) = stats(rows, &|_| 1);
            let reps: Vec<Vec<(f64, f64, f64, f64)>> =
                (0..replicates).map(|r| stats(rows, &|row| weight(seed, keys[row], r)).0).collect();
            (0..n_themes)
                .map(|k| {
                    let pick = |f: fn(&(f64, f64, f64, f64)) -> f64| {
                        interval(&mut reps.iter().map(|rep| f(&rep[k])).collect::<Vec<_>>())
                    };
                    ThemePeriod {
                        theme: k,
                        period: p,
                        hits: point[k].0,
                        n_docs: rows.len() as u32,
                        n_tokens,
                        share: point[k].1,
                        share_ci: pick(|s| s.1),
                        per_10k: point[k].2,
                        per_10k_ci: pick(|s| s.2),
                        doc_share: point[k].3,
                        doc_share_ci: pick(|s| s.3),
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicons_keep_order_and_weights_and_reject_strays() {
        let themes =
            parse_lexicon("[b]\nterms=[\"x\",\"y\"]\n[b.weights]\ny=0.5\n[a]\nlabel=\"甲\"\nterms=[\"z\"]\n", "t.toml")
                .unwrap();
        assert_eq!(themes[0].name, "b");
        assert_eq!(themes[0].terms, [("x".to_string(), 1.0), ("y".to_string(), 0.5)]);
        assert_eq!(themes[1].label, "甲");
        let err = parse_lexicon("[a]\nterms=[\"x\"]\n[a.weights]\nq=2.0\n", "t.toml").unwrap_err().to_string();
        assert!(err.contains("weight for 'q', which is not in its terms"), "{err}");
        assert!(parse_lexicon("[a]\nterm=[\"x\"]\n", "t.toml").is_err());
        assert_eq!(parse_lexicon(CHINA_RUSSIA, "shipped").unwrap().len(), 10);
    }

    #[test]
    fn shares_rates_and_document_shares() {
        let tokenized = Tokenized {
            terms: vec!["a".into(), "b".into(), "c".into()],
            offsets: vec![0, 3, 4, 6],
            ids: vec![0, 0, 2, 1, 2, 2],
        };
        let themes = vec![
            Theme { name: "A".into(), label: "A".into(), terms: vec![("a".into(), 1.0)] },
            Theme { name: "B".into(), label: "B".into(), terms: vec![("b".into(), 2.0), ("zz".into(), 1.0)] },
        ];
        let lexicon = LexiconIndex::new(&themes);
        let hits = lexicon.hits(&tokenized, &[0, 1, 2]);
        assert_eq!(hits, [vec![2.0, 0.0], vec![0.0, 2.0], vec![0.0, 0.0]]);
        assert_eq!(unseen_terms(&themes, &tokenized.terms), ["B: zz"]);
        // A shard holding documents 1 and 2 only, with its own term ids: the same hits.
        let shard = Tokenized { terms: vec!["b".into(), "c".into()], offsets: vec![0, 1, 3], ids: vec![0, 1, 1] };
        assert_eq!(lexicon.hits(&shard, &[0, 1]), hits[1..]);
        let t = theme_trends(&hits, &[vec![0, 1, 2]], &[3, 1, 2], &[11, 12, 13], 2, 1, 50);
        assert_eq!((t[0].share, t[0].per_10k, t[0].doc_share), (0.5, 1e4 * 2.0 / 6.0, 1.0 / 3.0));
        assert!(t[0].share_ci.0 <= t[0].share && t[0].share <= t[0].share_ci.1);
    }
}
