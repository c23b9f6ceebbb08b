//! The theme model's tables, chart and report section: frames built from a fitted
//! [`ThemeModel`], one builder per table.

use polars::prelude::*;

use super::charts::{self, Charts, Panel};
use super::models::RowNames;
use super::schema;
use super::tables::{string_lists, write_parquet};
use crate::topics::theme_model::{ThemeModel, UNSETTLED};
use crate::trends::term_stats::TermStat;

fn series<T>(values: Vec<T>) -> Series
where
    Series: NamedFrom<Vec<T>, [T]>,
{
    Series::new("".into(), values)
}

/// One row of theme_model.parquet: topic, list, rank, term id, weight, relevance.
type ModelRow = (usize, &'static str, u32, u32, f64, Option<f64>);

pub fn theme_model(m: &ThemeModel, terms: &[String]) -> PolarsResult<DataFrame> {
    let mut rows: Vec<ModelRow> = Vec::new();
    for (k, list) in m.terms.iter().enumerate() {
        rows.extend(list.iter().enumerate().map(|(r, &(t, w))| (k, "top", r as u32 + 1, t, w, None)));
    }
    for (k, list) in m.found.iter().enumerate() {
        rows.extend(
            list.iter()
                .enumerate()
                .map(|(r, &(t, relevance))| (k, "found", r as u32 + 1, t, m.weight(k, t), Some(relevance))),
        );
    }
    let is_seed = |k: usize, t: u32| k < m.n_key && m.seeds[k].binary_search(&t).is_ok();
    schema::THEME_MODEL.frame(vec![
        series(rows.iter().map(|r| m.names[r.0].as_str()).collect()),
        series(rows.iter().map(|r| m.labels[r.0].as_str()).collect()),
        series(rows.iter().map(|r| r.0 < m.n_key).collect()),
        series(rows.iter().map(|r| r.1).collect()),
        series(rows.iter().map(|r| r.2).collect()),
        series(rows.iter().map(|r| terms[r.3 as usize].as_str()).collect()),
        series(rows.iter().map(|r| r.4).collect()),
        series(rows.iter().map(|r| r.5).collect()),
        series(rows.iter().map(|r| is_seed(r.0, r.3)).collect()),
    ])
}

pub fn doc_themes(m: &ThemeModel, names: &RowNames) -> PolarsResult<DataFrame> {
    let k = m.names.len();
    let n = m.shares.nrows();
    let cells = || (0..n).flat_map(|d| (0..k).map(move |t| (d, t)));
    schema::DOC_THEMES.frame(vec![
        series(cells().map(|(d, _)| names.doc_ids[d]).collect()),
        series(cells().map(|(_, t)| m.names[t].as_str()).collect()),
        series(cells().map(|(d, t)| m.shares[[d, t]]).collect()),
        series(cells().map(|(d, t)| m.assigned[[d, t]]).collect()),
        series(cells().map(|(_, t)| m.alpha[t]).collect()),
    ])
}

pub fn theme_prevalence(m: &ThemeModel, periods: &[String]) -> PolarsResult<DataFrame> {
    let p = &m.prevalence;
    schema::THEME_PREVALENCE.frame(vec![
        series(p.iter().map(|x| m.names[x.topic].as_str()).collect()),
        series(p.iter().map(|x| m.labels[x.topic].as_str()).collect()),
        series(p.iter().map(|x| periods[x.period].as_str()).collect()),
        series(p.iter().map(|x| x.share).collect()),
        series(p.iter().map(|x| x.low).collect()),
        series(p.iter().map(|x| x.high).collect()),
        series(p.iter().map(|x| x.n_docs).collect()),
    ])
}

pub fn theme_prevalence_stats(m: &ThemeModel, stats: &[TermStat], periods: &[String]) -> PolarsResult<DataFrame> {
    schema::THEME_PREVALENCE_STATS.frame(vec![
        series(stats.iter().map(|x| m.names[x.term].as_str()).collect()),
        series(stats.iter().map(|x| m.labels[x.term].as_str()).collect()),
        series(stats.iter().map(|x| x.sen_slope).collect()),
        series(stats.iter().map(|x| x.mk_tau).collect()),
        series(stats.iter().map(|x| x.mk_p).collect()),
        series(stats.iter().map(|x| x.direction).collect()),
        series(stats.iter().map(|x| periods[x.peak_period].as_str()).collect()),
        string_lists(stats.iter().map(|x| x.change_points.iter().map(|&p| periods[p].as_str()).collect())),
    ])
}

pub fn theme_words_by_period(m: &ThemeModel, periods: &[String], terms: &[String]) -> PolarsResult<DataFrame> {
    let w = &m.words_by_period;
    schema::THEME_WORDS_BY_PERIOD.frame(vec![
        series(w.iter().map(|x| m.names[x.topic].as_str()).collect()),
        series(w.iter().map(|x| m.labels[x.topic].as_str()).collect()),
        series(w.iter().map(|x| periods[x.period].as_str()).collect()),
        series(w.iter().map(|x| x.rank).collect()),
        series(w.iter().map(|x| terms[x.term as usize].as_str()).collect()),
        series(w.iter().map(|x| x.count).collect()),
        series(w.iter().map(|x| x.share).collect()),
        series(w.iter().map(|x| x.distinctiveness).collect()),
        series(w.iter().map(|x| m.seeds[x.topic].binary_search(&x.term).is_ok()).collect()),
    ])
}

/// Every theme-model table and `charts/theme_model.*`; returns the files written.
pub fn write_theme_model_outputs(
    charts: &Charts,
    out: &std::path::Path,
    run_id: &str,
    m: &ThemeModel,
    stats: &[TermStat],
    names: &RowNames,
    terms: &[String],
) -> crate::Result<Vec<String>> {
    let periods = names.periods;
    let builds: [(&schema::Table, &dyn Fn() -> PolarsResult<DataFrame>); 5] = [
        (&schema::THEME_MODEL, &|| theme_model(m, terms)),
        (&schema::DOC_THEMES, &|| doc_themes(m, names)),
        (&schema::THEME_PREVALENCE, &|| theme_prevalence(m, periods)),
        (&schema::THEME_PREVALENCE_STATS, &|| theme_prevalence_stats(m, stats, periods)),
        (&schema::THEME_WORDS_BY_PERIOD, &|| theme_words_by_period(m, periods, terms)),
    ];
    let mut written = Vec::new();
    for (table, build) in builds {
        write_parquet(&out.join(table.file), build(), run_id)?;
        written.push(table.file.to_string());
    }
    if !periods.is_empty() && m.n_key > 0 {
        let k = m.names.len();
        let panels: Vec<Panel> = (0..m.n_key)
            .map(|t| {
                let pick = |f: fn(&crate::topics::theme_model::Prevalence) -> f64| -> Vec<f64> {
                    (0..periods.len()).map(|p| 100.0 * f(&m.prevalence[p * k + t])).collect()
                };
                Panel {
                    title: m.labels[t].clone(),
                    values: pick(|x| x.share),
                    low: pick(|x| x.low),
                    high: pick(|x| x.high),
                }
            })
            .collect();
        let title =
            "主题模型流行度 · keyword-assisted theme prevalence (mean document share, %), 95% credible intervals";
        written.extend(charts::panel_chart(charts, out, "theme_model", title, periods, &panels)?);
    }
    Ok(written)
}

/// The themes' seed documents the model gave to other topics, and which topics took them: where
/// the seeds and the model part ways, which a reader should see before trusting a theme's share.
fn seed_documents_table(md: &mut String, m: &ThemeModel, terms: &[String]) {
    use crate::topics::theme_model::{SEED_DOCUMENT_HITS, TAKEN_BELOW};
    use std::fmt::Write;
    let rows: Vec<usize> = (0..m.n_key).filter(|&t| m.seed_documents[t].documents > 0).collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "\nSeed documents (a theme's seeds {SEED_DOCUMENT_HITS} or more times) that the model gives mostly to other \
         topics (the theme's share under {:.0}%). Many means a seed also marks another subject, or a free topic holds \
         part of the theme: read the takers' words, and sharpen the seeds or merge the topic in.\n\n\
         | theme | seed documents | given elsewhere | mostly to (top words: documents) |\n|---|---:|---:|---|",
        100.0 * TAKEN_BELOW
    );
    for t in rows {
        let s = &m.seed_documents[t];
        let takers: Vec<String> = s
            .takers
            .iter()
            .map(|&(j, n)| format!("{} ({}): {n}", m.labels[j], ThemeModel::words(&m.terms[j], 5, terms).join(" ")))
            .collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} ({:.0}%) | {} |",
            m.labels[t],
            s.documents,
            s.taken_elsewhere,
            100.0 * s.taken_elsewhere as f64 / s.documents as f64,
            if takers.is_empty() { "—".to_string() } else { takers.join("; ") }
        );
    }
}

/// The theme model's part of `report.md`: prevalence first → last with intervals and trend,
/// the words the model found beside the seeds, the seed documents it gave elsewhere, each theme's
/// most distinctive words in the first and last period, and the seeds it could not use.
pub fn report_section(
    m: &ThemeModel,
    stats: &[TermStat],
    lost: &[crate::topics::theme_model::LostSeed],
    dropped: &[String],
    periods: &[String],
    terms: &[String],
) -> String {
    use std::fmt::Write;
    let mut md = String::new();
    let k = m.names.len();
    let _ = writeln!(
        md,
        "\n## Theme model\n\nKeyword-assisted topics (keyATM base) seeded by the lexicons: {} themes and {} free topics, \
         {} chain(s) of {} sweeps, {} posterior draws pooled. Share: mean document share (%) with its 95% credible interval.{}\n",
        m.n_key,
        k - m.n_key,
        m.chains.len(),
        m.iterations,
        m.draws,
        if m.chains.len() > 1 {
            " Chains agree: the lowest correlation over periods between two chains' prevalence of the theme."
        } else {
            ""
        }
    );
    // The first and the last period (one column when there is one period).
    let shown: Vec<usize> = match periods.len() {
        0 => Vec::new(),
        1 => vec![0],
        n => vec![0, n - 1],
    };
    if !shown.is_empty() {
        let names: Vec<&str> = shown.iter().map(|&p| periods[p].as_str()).collect();
        let cell = |t: usize, p: usize| {
            let x = &m.prevalence[p * k + t];
            format!("{:.1} [{:.1}–{:.1}]", 100.0 * x.share, 100.0 * x.low, 100.0 * x.high)
        };
        let _ = writeln!(
            md,
            "| theme | {} | trend | change points | chains agree | found beside the seeds (by relevance) |\n|---|{}---|---|---:|---|",
            names.join(" | "),
            "---:|".repeat(shown.len())
        );
        for t in 0..m.n_key {
            let stat = stats.iter().find(|s| s.term == t);
            let trend = stat.map_or("—", |s| if s.mk_p < 0.05 { s.direction } else { "—" });
            let changes: Vec<&str> =
                stat.map(|s| s.change_points.iter().map(|&p| periods[p].as_str()).collect()).unwrap_or_default();
            let found = ThemeModel::words(&m.found[t], 10, terms);
            let cells: Vec<String> = shown.iter().map(|&p| cell(t, p)).collect();
            let agree = m.agreement[t].map_or("—".to_string(), |r| format!("{r:.2}"));
            let _ = writeln!(
                md,
                "| {} | {} | {trend} | {} | {agree} | {} |",
                m.labels[t],
                cells.join(" | "),
                changes.join(", "),
                found.join(" ")
            );
        }
        let unsettled: Vec<&str> = m.unsettled().into_iter().map(|t| m.labels[t].as_str()).collect();
        if !unsettled.is_empty() {
            let _ = writeln!(
                md,
                "\nThe chains disagree on how {} moved (r < {UNSETTLED}): their seeds do not pin them to one \
                 subject in this corpus. Their intervals include that disagreement; more or sharper seeds help.",
                unsettled.join(", ")
            );
        }
        seed_documents_table(&mut md, m, terms);
        let _ = writeln!(
            md,
            "\nMost distinctive words of each theme in {} (from that period's tokens only; \
             `theme_words_by_period.parquet` has every period).\n\n| theme | {} |\n|---|{}",
            names.join(" and in "),
            names.join(" | "),
            "---|".repeat(shown.len())
        );
        for t in 0..m.n_key {
            let words = |p: usize| {
                let mut list: Vec<_> = m.words_by_period.iter().filter(|w| w.topic == t && w.period == p).collect();
                list.sort_by(|a, b| b.distinctiveness.total_cmp(&a.distinctiveness).then(a.rank.cmp(&b.rank)));
                list.iter().take(8).map(|w| terms[w.term as usize].as_str()).collect::<Vec<_>>().join(" ")
            };
            let cells: Vec<String> = shown.iter().map(|&p| words(p)).collect();
            let _ = writeln!(md, "| {} | {} |", m.labels[t], cells.join(" | "));
        }
    }
    if !lost.is_empty() || !dropped.is_empty() {
        let _ = writeln!(md, "\nSeeds the model could not use:\n");
        for s in lost {
            let why = match s.reason {
                "not_a_token" => format!("never a token (its characters occur {} times in the texts)", s.raw_count),
                _ => "a token, but outside the vocabulary (--min-df / --max-df)".to_string(),
            };
            let _ = writeln!(md, "- {}: {} — {why}", s.theme, s.term);
        }
        for name in dropped {
            let _ = writeln!(md, "- theme {name} dropped: none of its seeds is a vocabulary term");
        }
    }
    md
}
