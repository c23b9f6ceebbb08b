//! `report.md`: a run's results for a reader — what was read and analysed, emerging and fading
//! terms, theme trends with their change points, the charts, and where the tables are.

use std::fmt::Write as _;
use std::path::Path;

use super::atomic;
use super::manifest::Counts;
use crate::cluster::Clustering;
use crate::corpus::Undated;
use crate::error::Result;
use crate::topics::TopicModel;
use crate::trends::analysis::TrendResults;
use crate::trends::groups::{group_prevalence, GroupPeriod};
use crate::trends::term_stats::ranked;
use crate::trends::themes::share_series;
use crate::vectorize::Vocabulary;

/// Rows in the term lists.
const LISTED: usize = 15;

/// What a reader of a small or unusual run must be told: limits that were changed, models that
/// were skipped, undated documents and how to date them, and (for a handful of documents) each
/// document's keywords.
#[derive(Debug, Default)]
pub struct RunNotes<'a> {
    pub adjustments: &'a [String],
    pub undated: &'a [Undated],
    /// (title, keywords) of each document, for runs of a few documents.
    pub keywords: &'a [(String, Vec<String>)],
    /// The theme model's section (Markdown), when it ran.
    pub theme_model: Option<String>,
}

/// How to date documents that no rule could date.
pub const DATING_HINT: &str =
    "date them with --dates FILE (a CSV of document,date rows; the document named by id or file name) \
     or give them all one date with --default-date YYYY-MM-DD";

pub fn write_report(
    path: &Path,
    counts: &Counts,
    trends: &TrendResults,
    vocabulary: &Vocabulary,
    charts: &[String],
    notes: &RunNotes,
) -> Result<()> {
    let mut md = String::new();
    let period = |p: usize| trends.terms.periods[p].period.as_str();
    let _ = writeln!(md, "# themeshift report\n");
    let _ = writeln!(
        md,
        "{} records read: {} documents kept, {} skipped, {} undated; {} near-duplicate groups ({} documents counted once \
         through their earliest member); {} documents analysed over {} periods, {} tokens, {} terms in the vocabulary.\n",
        counts.records_read,
        counts.documents_kept,
        counts.documents_skipped,
        counts.documents_undated,
        counts.duplicate_groups,
        counts.documents_duplicate,
        counts.documents_analysed,
        counts.periods,
        counts.tokens,
        counts.vocabulary
    );
    if !notes.adjustments.is_empty() || !notes.undated.is_empty() {
        let _ = writeln!(md, "## Notes\n");
        for note in notes.adjustments {
            let _ = writeln!(md, "- {note}");
        }
        for u in notes.undated {
            let _ = writeln!(md, "- undated, so in no period: `{}` ({}): {}", u.doc_id, u.origin, u.reason);
        }
        if !notes.undated.is_empty() {
            let _ = writeln!(md, "- to use undated documents in the trends, {DATING_HINT}.");
        }
        let _ = writeln!(md);
    }
    if !notes.keywords.is_empty() {
        let _ = writeln!(md, "## Keywords of each document\n\njieba TF-IDF (as `themeshift keywords`).\n");
        let _ = writeln!(md, "| document | keywords |\n|---|---|");
        for (title, words) in notes.keywords {
            let _ = writeln!(md, "| {} | {} |", title.replace('|', "/"), words.join(" "));
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(md, "## Periods\n\n| period | documents | tokens | |\n|---|---:|---:|---|");
    for (p, totals) in trends.terms.periods.iter().enumerate() {
        let flag = if trends.underpowered[p] { "under-powered" } else { "" };
        let _ = writeln!(md, "| {} | {} | {} | {flag} |", totals.period, totals.n_docs, totals.n_tokens);
    }
    for (direction, title) in [("rising", "Emerging terms"), ("falling", "Fading terms")] {
        let _ = writeln!(
            md,
            "\n## {title}\n\nMann–Kendall trend of the per-10k rate, BH q < 0.05, strongest Sen slope first.\n\n\
             | term | Sen slope (per 10k / period) | tau | q | peak | change points |\n|---|---:|---:|---:|---|---|"
        );
        for s in ranked(&trends.stats, direction).iter().take(LISTED) {
            let changes: Vec<&str> = s.change_points.iter().map(|&p| period(p)).collect();
            let _ = writeln!(
                md,
                "| {} | {:.2} | {:.2} | {:.3} | {} | {} |",
                vocabulary.terms[s.term],
                s.sen_slope,
                s.mk_tau,
                s.mk_q,
                period(s.peak_period),
                changes.join(", ")
            );
        }
    }
    if !trends.themes.is_empty() && !trends.terms.periods.is_empty() {
        let _ = writeln!(md, "\n## Themes\n\nShare of all theme-term hits (%), per period.\n");
        let header: Vec<&str> = (0..trends.terms.periods.len()).map(period).collect();
        let _ = writeln!(md, "| theme | {} | trend | change points |", header.join(" | "));
        let _ = writeln!(md, "|---|{}---|---|", "---:|".repeat(header.len()));
        for (k, theme) in trends.themes.iter().enumerate() {
            let shares: Vec<String> = share_series(&trends.theme_periods, trends.themes.len(), k, header.len())
                .iter()
                .map(|share| format!("{:.1}", 100.0 * share))
                .collect();
            let stat = trends.theme_stats.get(k);
            let trend = stat.map_or("", |s| {
                if s.mk_p < 0.05 {
                    if s.mk_tau > 0.0 {
                        "rising"
                    } else {
                        "falling"
                    }
                } else {
                    "—"
                }
            });
            let changes: Vec<&str> =
                stat.map(|s| s.change_points.iter().map(|&p| period(p)).collect()).unwrap_or_default();
            let _ = writeln!(md, "| {} | {} | {trend} | {} |", theme.label, shares.join(" | "), changes.join(", "));
        }
    }
    if let Some(section) = &notes.theme_model {
        md.push_str(section);
    }
    // One picture per chart: the PNG where there is one, else the SVG.
    let shown: Vec<&String> =
        charts.iter().filter(|c| c.ends_with(".png") || !charts.contains(&c.replace(".svg", ".png"))).collect();
    if !shown.is_empty() {
        let _ = writeln!(md, "\n## Charts\n");
        for chart in shown {
            let _ = writeln!(md, "![{chart}]({chart})\n");
        }
    } else {
        let _ = writeln!(
            md,
            "\n## Charts\n\nNone drawn (`--charts none`, or no dated periods); every number is in the tables below.\n"
        );
    }
    let _ = writeln!(
        md,
        "## Tables\n\nClusters are described in `clusters.md`, topics and their coherence in `topics.md`. \
         `documents`, `vocabulary`, `tfidf`, `term_trends`, `periods`, `term_trend_stats`, `keyness`, `themes`, \
         `theme_stats` and `evidence` (`.parquet`) hold every number above and the sentences behind them; `manifest.json` \
         says how the run was made."
    );
    atomic::write_bytes(path, md.as_bytes())
}

/// What the model reports need besides the models.
pub struct ModelsReport<'a> {
    pub terms: &'a [String],
    pub periods: &'a [String],
    pub period_of_row: &'a [Option<usize>],
}

impl ModelsReport<'_> {
    fn words(&self, list: &[(u32, f64)], n: usize) -> String {
        list.iter().take(n).map(|&(t, _)| self.terms[t as usize].as_str()).collect::<Vec<_>>().join(" ")
    }

    /// "first → last" period share (%) of group `g`.
    fn span(&self, rows: &[GroupPeriod], g: usize) -> String {
        let at = |p: usize| rows.iter().find(|r| r.group == g && r.period == p).map_or(0.0, |r| 100.0 * r.share);
        match self.periods.len() {
            0 => String::new(),
            n => format!("{:.1} → {:.1}", at(0), at(n - 1)),
        }
    }

    fn span_header(&self) -> String {
        match (self.periods.first(), self.periods.last()) {
            (Some(a), Some(b)) => format!("share % {a} → {b}"),
            _ => "share %".into(),
        }
    }
}

/// `clusters.md`: each cluster's size, share in the first and last period, and c-TF-IDF terms.
pub fn write_clusters_report(path: &Path, c: &Clustering, m: &ModelsReport) -> Result<()> {
    let mut md = String::from("# themeshift clusters\n");
    let rows = group_prevalence(c.one_hot().view(), m.period_of_row, m.periods.len());
    let size = c.sizes();
    let _ = writeln!(
        md,
        "\nLSA + k-means, {} clusters (inertia {:.1} after {} iterations); terms by c-TF-IDF.\n\n\
         | cluster | documents | {} | terms |\n|---:|---:|---|---|",
        c.k,
        c.inertia,
        c.iterations,
        m.span_header()
    );
    for (g, (size, terms)) in size.iter().zip(&c.terms).enumerate() {
        let _ = writeln!(md, "| {g} | {size} | {} | {} |", m.span(&rows, g), m.words(terms, 10));
    }
    let _ = writeln!(md, "\n`clusters`, `cluster_trends` and `cluster_representatives` (`.parquet`) hold the numbers.");
    atomic::write_bytes(path, md.as_bytes())
}

/// `topics.md`: each model's topics with coherence and prevalence in the first and last period,
/// then the coherence of every model side by side (the k sweep).
pub fn write_topics_report(path: &Path, models: &[TopicModel], m: &ModelsReport) -> Result<()> {
    let mut md = String::from("# themeshift topics\n");
    if models.iter().any(|t| !t.coherence.is_empty()) {
        let _ = writeln!(
            md,
            "\n## Coherence of each model\n\nAs gensim's CoherenceModel: c_npmi and c_v over sliding windows (10 and \
             110 tokens), u_mass over documents; top 10 terms.\n\n| model | k | c_npmi | c_v | u_mass |\n|---|---:|---:|---:|---:|"
        );
        for model in models.iter().filter(|t| !t.coherence.is_empty()) {
            let c = model.mean_coherence();
            let _ =
                writeln!(md, "| {} | {} | {:.4} | {:.4} | {:.4} |", model.method, model.k, c.c_npmi, c.c_v, c.u_mass);
        }
    }
    for model in models {
        let rows = group_prevalence(model.shares.view(), m.period_of_row, m.periods.len());
        let _ = writeln!(
            md,
            "\n## {} k = {}\n\n{} iterations (fit times are in the manifest, so this file repeats exactly).\n\n| topic | c_npmi | {} | terms |\n|---:|---:|---|---|",
            model.method,
            model.k,
            model.iterations,
            m.span_header()
        );
        for t in 0..model.k {
            let npmi = model.coherence.get(t).map_or(String::from("—"), |c| format!("{:.3}", c.c_npmi));
            let _ = writeln!(md, "| {t} | {npmi} | {} | {} |", m.span(&rows, t), m.words(&model.terms[t], 10));
        }
    }
    let _ = writeln!(
        md,
        "\n`topics`, `doc_topics`, `topic_trends`, `topic_representatives` and `coherence` (`.parquet`) hold the numbers."
    );
    atomic::write_bytes(path, md.as_bytes())
}

/// The models in a few numbers, for the manifest and the console.
pub fn models_summary(clustering: Option<&Clustering>, topics: &[TopicModel]) -> serde_json::Value {
    let topics: Vec<serde_json::Value> = topics
        .iter()
        .map(|t| {
            let mut v = serde_json::json!({
                "model": t.method,
                "k": t.k,
                "iterations": t.iterations,
                "seconds": t.seconds,
            });
            if !t.coherence.is_empty() {
                v["coherence"] = serde_json::to_value(t.mean_coherence()).unwrap_or_default();
            }
            for (name, value) in &t.diagnostics {
                v[*name] = serde_json::json!(value);
            }
            v
        })
        .collect();
    serde_json::json!({
        "clusters": clustering.map(|c| serde_json::json!({"k": c.k, "inertia": c.inertia, "iterations": c.iterations, "seconds": c.seconds})),
        "topics": topics,
    })
}
