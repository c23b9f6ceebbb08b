//! `report.md`: a run's results for a reader — what was read and analysed, emerging and fading
//! terms, theme trends with their change points, the charts, and where the tables are.

use std::fmt::Write as _;
use std::path::Path;

use super::atomic;
use super::manifest::Counts;
use crate::error::Result;
use crate::trends::analysis::TrendResults;
use crate::trends::term_stats::ranked;
use crate::trends::themes::share_series;
use crate::vectorize::Vocabulary;

/// Rows in the term lists.
const LISTED: usize = 15;

pub fn write_report(
    path: &Path,
    counts: &Counts,
    trends: &TrendResults,
    vocabulary: &Vocabulary,
    charts: &[String],
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
    if !charts.is_empty() {
        let _ = writeln!(md, "\n## Charts\n");
        for chart in charts {
            let _ = writeln!(md, "![{chart}]({chart})\n");
        }
    }
    let _ = writeln!(
        md,
        "## Tables\n\n`documents`, `vocabulary`, `tfidf`, `term_trends`, `periods`, `term_trend_stats`, `keyness`, `themes`, \
         `theme_stats` and `evidence` (`.parquet`) hold every number above and the sentences behind them; `manifest.json` \
         says how the run was made."
    );
    atomic::write_bytes(path, md.as_bytes())
}
