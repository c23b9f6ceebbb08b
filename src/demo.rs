//! A synthetic corpus with known shifts, so the pipeline can be shown and tested without data.
//!
//! Stories from 2013 to 2024 are built from our own lexicon (`data/demo/lexicon.toml`): twenty
//! themes of news vocabulary, pools of places, countries, organisations and verbs, and thirty
//! sentence templates. Each story has a main and a second theme, drawn by the themes' weights for
//! its year, and draws their terms with Zipf-like frequencies, so the corpus has the long-tailed
//! vocabulary of real news. The weights plant the shifts a correct pipeline must find: energy
//! fades; connectivity and finance rise; the pandemic appears in 2020–2022 only; winter sports
//! peak in 2022; the other themes stay level.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::write::atomic;

pub const FIRST_YEAR: i32 = 2013;
pub const LAST_YEAR: i32 = 2024;
pub const DOCS_PER_YEAR: usize = 190;

const LEXICON: &str = include_str!("../data/demo/lexicon.toml");

#[derive(Deserialize)]
struct Lexicon {
    themes: BTreeMap<String, ThemeSpec>,
    pools: BTreeMap<String, String>,
    text: TextSpec,
}

#[derive(Deserialize)]
struct ThemeSpec {
    weights: Vec<f64>,
    terms: String,
}

#[derive(Deserialize)]
struct TextSpec {
    templates: Vec<String>,
    fillers: Vec<String>,
    titles: Vec<String>,
}

/// A theme of the demo: its name, terms (most frequent first) and weight per year.
pub struct Theme {
    pub name: String,
    pub terms: Vec<String>,
    pub weights: Vec<f64>,
}

/// The demo's themes, as the lexicon defines them.
pub fn themes() -> Vec<Theme> {
    themes_of(lexicon().themes)
}

fn themes_of(specs: BTreeMap<String, ThemeSpec>) -> Vec<Theme> {
    specs.into_iter().map(|(name, t)| Theme { name, terms: words(&t.terms), weights: t.weights }).collect()
}

fn lexicon() -> Lexicon {
    let lexicon: Lexicon = toml::from_str(LEXICON).expect("data/demo/lexicon.toml is valid (checked by a test)");
    lexicon
}

fn words(list: &str) -> Vec<String> {
    list.split_whitespace().map(str::to_string).collect()
}

/// Draw an index with probability proportional to `weights`.
fn weighted(rng: &mut Xoshiro256PlusPlus, weights: &[f64]) -> usize {
    let mut pick = rng.gen::<f64>() * weights.iter().sum::<f64>();
    for (i, w) in weights.iter().enumerate() {
        pick -= w;
        if pick < 0.0 {
            return i;
        }
    }
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
}

/// The demo documents as JSON lines (`id`, `date`, `title`, `text`), the same for the same seed.
pub fn generate(seed: u64) -> Vec<String> {
    let Lexicon { themes, pools, text: spec } = lexicon();
    let themes = themes_of(themes);
    let pools: BTreeMap<&str, Vec<String>> = pools.iter().map(|(k, v)| (k.as_str(), words(v))).collect();
    // Zipf-like term frequencies inside a theme: the r-th term is drawn with weight 1 / (r + 1).
    let zipf: Vec<Vec<f64>> =
        themes.iter().map(|t| (0..t.terms.len()).map(|r| 1.0 / (r as f64 + 1.0)).collect()).collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut lines = Vec::new();
    for year in FIRST_YEAR..=LAST_YEAR {
        let weights: Vec<f64> = themes.iter().map(|t| t.weights[(year - FIRST_YEAR) as usize]).collect();
        for n in 0..DOCS_PER_YEAR {
            let date = NaiveDate::from_yo_opt(year, rng.gen_range(1..=365)).expect("day of year");
            let main = weighted(&mut rng, &weights);
            // The second theme is another theme of the year (never one its weights leave out).
            let mut others = weights.clone();
            others[main] = 0.0;
            let second = weighted(&mut rng, &others);
            let fill = |template: &str, rng: &mut Xoshiro256PlusPlus, theme: usize, other: usize| -> String {
                let mut out = template.to_string();
                let a = weighted(rng, &zipf[theme]);
                let mut b = weighted(rng, &zipf[theme]);
                if b == a {
                    b = (a + 1) % themes[theme].terms.len();
                }
                let c = weighted(rng, &zipf[other]);
                for (slot, word) in [
                    ("{a}", &themes[theme].terms[a]),
                    ("{b}", &themes[theme].terms[b]),
                    ("{c}", &themes[other].terms[c]),
                ] {
                    out = out.replace(slot, word);
                }
                for (pool, list) in &pools {
                    let slot = format!("{{{pool}}}");
                    while out.contains(&slot) {
                        out = out.replacen(&slot, list.choose(rng).expect("pools are not empty"), 1);
                    }
                }
                out
            };
            let mut text = String::new();
            for _ in 0..rng.gen_range(6..=12) {
                // Most sentences are about the main theme, a quarter about the second one.
                let (theme, other) = if rng.gen_bool(0.75) { (main, second) } else { (second, main) };
                let template = spec.templates.choose(&mut rng).expect("templates");
                text.push_str(&fill(template, &mut rng, theme, other));
                if rng.gen_bool(0.15) {
                    text.push_str(spec.fillers.choose(&mut rng).expect("fillers"));
                }
            }
            let title = fill(spec.titles.choose(&mut rng).expect("titles"), &mut rng, main, second);
            let record = serde_json::json!({
                "id": format!("demo-{year}-{:03}", n + 1),
                "date": date.format("%Y-%m-%d").to_string(),
                "title": title,
                "text": text,
            });
            lines.push(record.to_string());
        }
    }
    lines
}

/// Write the demo corpus to `path` as JSONL.
pub fn write_demo_corpus(path: &Path, seed: u64) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    atomic::write_with(path, |w| {
        for line in generate(seed) {
            writeln!(w, "{line}").map_err(|e| Error::io(path, e))?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_corpus_other_seed_other_corpus() {
        assert_eq!(generate(7), generate(7));
        assert_ne!(generate(7), generate(8));
        assert_eq!(generate(7).len(), DOCS_PER_YEAR * (LAST_YEAR - FIRST_YEAR + 1) as usize);
    }

    #[test]
    fn the_lexicon_gives_every_theme_a_weight_per_year_and_fills_every_slot() {
        let years = (LAST_YEAR - FIRST_YEAR + 1) as usize;
        for theme in themes() {
            assert_eq!(theme.weights.len(), years, "{}", theme.name);
            assert!(theme.terms.len() >= 30, "{}", theme.name);
        }
        let corpus = generate(1).join("\n");
        for slot in ["{a}", "{b}", "{c}", "{place}", "{country}", "{organisation}", "{role}", "{verb}", "{noun}"] {
            assert!(!corpus.contains(slot), "{slot} left unfilled");
        }
        let distinct: std::collections::BTreeSet<String> = themes().into_iter().flat_map(|t| t.terms).collect();
        assert!(distinct.len() > 700, "{} theme terms", distinct.len());
    }
}
