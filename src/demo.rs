//! A synthetic corpus with known shifts, so the pipeline can be shown and tested without data.
//!
//! Documents from 2013 to 2023 are assembled from our own sentence templates and five themes of
//! cooperation vocabulary. The chance that a sentence is about a theme changes over the years by
//! design: energy fades, connectivity and finance rise, trade and culture stay level. A correct
//! pipeline must rank the connectivity and finance terms as rising and the energy terms as falling.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::error::{Error, Result};
use crate::write::atomic;

pub const FIRST_YEAR: i32 = 2013;
pub const LAST_YEAR: i32 = 2023;
pub const DOCS_PER_YEAR: usize = 40;

/// A theme: its terms and its weight at the first and the last year (linear in between).
pub struct Theme {
    pub name: &'static str,
    pub terms: &'static [&'static str],
    pub start: f64,
    pub end: f64,
}

pub const THEMES: [Theme; 5] = [
    Theme {
        name: "energy", terms: &["石油", "天然气", "原油", "核电", "输油管道", "油气田"], start: 3.0, end: 0.3
    },
    Theme {
        name: "connectivity",
        terms: &["一带一路", "互联互通", "中欧班列", "物流", "口岸", "港口"],
        start: 0.3,
        end: 3.0,
    },
    Theme {
        name: "finance", terms: &["本币结算", "人民币", "银行", "支付系统", "金融"], start: 0.2, end: 2.5
    },
    Theme { name: "trade", terms: &["贸易", "投资", "农产品", "市场", "关税"], start: 1.5, end: 1.5 },
    Theme { name: "culture", terms: &["文化", "旅游", "教育", "留学生", "青年"], start: 1.0, end: 1.0 },
];

const TEMPLATES: [&str; 6] = [
    "双方同意在{a}和{b}方面深化合作。",
    "两国企业就{a}项目签署协议，{b}规模继续扩大。",
    "会议讨论了{a}问题，并决定推进{b}。",
    "专家认为，{a}与{b}将成为新的增长点。",
    "部长们回顾了{a}的进展，对{b}前景充满信心。",
    "地方政府把{a}列为重点，同时支持{b}。",
];
const FILLER: &str = "会谈在友好气氛中举行。";

fn weight(theme: &Theme, year: i32) -> f64 {
    let t = (year - FIRST_YEAR) as f64 / (LAST_YEAR - FIRST_YEAR) as f64;
    theme.start + (theme.end - theme.start) * t
}

/// The demo documents as JSON lines (`id`, `date`, `title`, `text`), the same for the same seed.
pub fn generate(seed: u64) -> Vec<String> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut lines = Vec::new();
    for year in FIRST_YEAR..=LAST_YEAR {
        let weights: Vec<f64> = THEMES.iter().map(|t| weight(t, year)).collect();
        let total: f64 = weights.iter().sum();
        for n in 0..DOCS_PER_YEAR {
            let date = NaiveDate::from_yo_opt(year, rng.gen_range(1..=365)).expect("day of year");
            let mut text = String::new();
            let mut main_theme = 0;
            for s in 0..rng.gen_range(6..=10) {
                let mut pick = rng.gen::<f64>() * total;
                let theme = weights.iter().position(|w| {
                    pick -= w;
                    pick < 0.0
                });
                let theme = &THEMES[theme.unwrap_or(THEMES.len() - 1)];
                if s == 0 {
                    main_theme = THEMES.iter().position(|t| t.name == theme.name).unwrap_or(0);
                }
                let pair: Vec<&&str> = theme.terms.choose_multiple(&mut rng, 2).collect();
                let template = TEMPLATES.choose(&mut rng).expect("templates");
                text.push_str(&template.replace("{a}", pair[0]).replace("{b}", pair[1]));
                if rng.gen_bool(0.3) {
                    text.push_str(FILLER);
                }
            }
            let title = format!("{}合作动态（{}）", THEMES[main_theme].terms[0], n + 1);
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
}
