//! `report.html`: one self-contained page per run — no network, data and scripts inline — that a
//! reader opens first: accounting, periods, theme shares over time (hover for values and
//! intervals, click the legend to toggle), emerging and fading terms with sparklines and the
//! sentences behind them, a keyness explorer between any two periods, clusters and topics with
//! their prevalence and representative titles, and the coherence table.
//!
//! The page is built from the run's own tables and manifest, so `themeshift topics` and
//! `themeshift clusters` rebuild it after a re-fit, and it always shows what the tables say. The
//! script (`report.js`) and style (`report.css`) are ours and small; charts are inline SVG drawn by
//! the script.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use polars::prelude::*;
use serde_json::{json, Map, Value};

use super::atomic;
use super::schema::{self, Table};
use super::tables::ReadTable;
use crate::error::{Error, Result};

const SCRIPT: &str = include_str!("report.js");
const STYLE: &str = include_str!("report.css");

/// Terms shown in each of the emerging and fading lists.
const LISTED_TERMS: usize = 15;
/// Most frequent terms the keyness explorer compares (plus every listed term).
const EXPLORER_TERMS: usize = 2000;
/// Terms and titles shown per cluster or topic.
const GROUP_TERMS: usize = 8;
const GROUP_TITLES: usize = 3;

/// Write `report.html` into the run folder `dir` from its tables and `manifest.json`.
pub fn write_html_report(dir: &Path) -> Result<()> {
    let data = report_data(dir)?;
    // `</` inside the JSON would end the script element early; `<\/` is the same JSON string.
    let json = data.to_string().replace("</", "<\\/");
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"zh-Hans\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>themeshift report</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <main id=\"report\"><noscript>This report draws its sections with JavaScript; the numbers are also in \
         report.md and the Parquet tables.</noscript></main>\n\
         <script type=\"application/json\" id=\"data\">{json}</script>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n"
    );
    atomic::write_bytes(&dir.join("report.html"), page.as_bytes())
}

fn report_data(dir: &Path) -> Result<Value> {
    let manifest_path = dir.join("manifest.json");
    let manifest: Value = std::fs::read(&manifest_path)
        .map_err(|e| Error::io(&manifest_path, e))
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| Error::write(&manifest_path, e)))?;
    let read = |table: &Table| -> Result<Option<ReadTable>> {
        if dir.join(table.file).is_file() {
            ReadTable::read(dir, table).map(Some)
        } else {
            Ok(None)
        }
    };
    let periods =
        read(&schema::PERIODS)?.map(|f| rows(&f.frame, &["period", "n_docs", "n_tokens", "underpowered"], |_| true));
    let themes = read(&schema::THEMES)?.map(|f| {
        let cols = ["theme", "label", "period", "share", "share_low", "share_high", "hits", "per_10k", "doc_share"];
        rows(&f.frame, &cols, |_| true)
    });
    let theme_stats = read(&schema::THEME_STATS)?.map(|f| rows(&f.frame, &column_names(&f.frame), |_| true));

    let stats = read(&schema::TERM_TREND_STATS)?;
    let listed = stats.as_ref().map(listed_terms).transpose()?.unwrap_or_default();
    let listed_set: BTreeSet<&str> = listed.iter().flat_map(|(_, terms)| terms.iter().map(String::as_str)).collect();
    let term_stats = match &stats {
        Some(f) => {
            let terms = f.strings("term")?;
            rows(&f.frame, &column_names(&f.frame), |i| terms[i].as_deref().is_some_and(|t| listed_set.contains(t)))
        }
        None => Value::Null,
    };
    let lists: Map<String, Value> = listed.iter().map(|(d, t)| (d.to_string(), json!(t))).collect();

    let (series, counts) = match read(&schema::TERM_TRENDS)? {
        Some(f) => term_tables(&f, &listed_set, read(&schema::VOCABULARY)?.as_ref())?,
        None => (Value::Null, Value::Null),
    };
    let evidence = read(&schema::EVIDENCE)?
        .map(|f| {
            let (kinds, keys, ranks) = (f.strings("kind")?, f.strings("key")?, f.numbers::<UInt64Type>("rank")?);
            let keep = |i: usize| {
                ranks[i] <= 2
                    && (kinds[i].as_deref() == Some("theme")
                        || keys[i].as_deref().is_some_and(|k| listed_set.contains(k)))
            };
            Ok::<_, Error>(rows(
                &f.frame,
                &["kind", "key", "period", "rank", "doc_id", "date", "sentence", "start", "end"],
                keep,
            ))
        })
        .transpose()?;

    Ok(json!({
        "manifest": {
            "version": manifest["version"],
            "seed": manifest["seed"],
            "counts": manifest["counts"],
            "adjustments": manifest["adjustments"],
            "skipped": skip_reasons(&manifest),
            "undated": manifest["ingest"]["undated"].as_array().map_or(0, Vec::len),
            "date_sources": manifest["ingest"]["date_sources"],
            "inputs": manifest["ingest"]["files"].as_array().map_or(0, Vec::len),
            "stages": manifest["stages"],
            "models": manifest["models"],
        },
        "periods": periods,
        "themes": themes,
        "theme_stats": theme_stats,
        "term_lists": lists,
        "term_stats": term_stats,
        "term_series": series,
        "term_counts": counts,
        "evidence": evidence,
        "clusters": groups(
            read(&schema::CLUSTERS)?, read(&schema::CLUSTER_TRENDS)?, read(&schema::CLUSTER_REPRESENTATIVES)?, "cluster", "share"
        )?,
        "topics": groups(
            read(&schema::TOPICS)?, read(&schema::TOPIC_TRENDS)?, read(&schema::TOPIC_REPRESENTATIVES)?, "topic", "prevalence"
        )?,
        "theme_model": theme_model(read(&schema::THEME_MODEL)?, read(&schema::THEME_PREVALENCE)?, read(&schema::THEME_PREVALENCE_STATS)?)?,
        "coherence": read(&schema::COHERENCE)?.map(|f| rows(&f.frame, &column_names(&f.frame), |_| true)),
    }))
}

/// The theme model's keyword themes: prevalence rows, trend tests and each theme's top words split into seeds
/// and words found (null without a theme model).
fn theme_model(model: Option<ReadTable>, prevalence: Option<ReadTable>, stats: Option<ReadTable>) -> Result<Value> {
    let (Some(model), Some(prevalence), Some(stats)) = (model, prevalence, stats) else { return Ok(Value::Null) };
    let (names, labels, terms) = (model.strings("theme")?, model.strings("label")?, model.strings("term")?);
    let kinds = model.strings("list")?;
    let keyword = model.frame.column("keyword_topic").and_then(|c| c.bool().cloned()).map_err(|e| model.error(e))?;
    let seed = model.frame.column("seed").and_then(|c| c.bool().cloned()).map_err(|e| model.error(e))?;
    let mut words: Vec<(String, String, Vec<String>, Vec<String>)> = Vec::new();
    for i in 0..model.frame.height() {
        if keyword.get(i) != Some(true) {
            continue;
        }
        let name = names[i].clone().unwrap_or_default();
        // The table lists every theme's top words, then every theme's found words: one entry a theme.
        let at = match words.iter().position(|w| w.0 == name) {
            Some(at) => at,
            None => {
                words.push((name, labels[i].clone().unwrap_or_default(), Vec::new(), Vec::new()));
                words.len() - 1
            }
        };
        let entry = &mut words[at];
        let list = match (kinds[i].as_deref(), seed.get(i)) {
            (Some("top"), Some(true)) => &mut entry.2,
            (Some("found"), _) => &mut entry.3,
            _ => continue,
        };
        if list.len() < 10 {
            list.push(terms[i].clone().unwrap_or_default());
        }
    }
    let keyword_names: BTreeSet<&str> = words.iter().map(|w| w.0.as_str()).collect();
    let is_keyword = |table: &ReadTable| -> Result<Vec<bool>> {
        Ok(table.strings("theme")?.iter().map(|t| t.as_deref().is_some_and(|t| keyword_names.contains(t))).collect())
    };
    let (keep_rows, keep_stats) = (is_keyword(&prevalence)?, is_keyword(&stats)?);
    Ok(json!({
        "prevalence": rows(&prevalence.frame, &["theme", "label", "period", "share", "share_low", "share_high"], |i| keep_rows[i]),
        "stats": rows(&stats.frame, &column_names(&stats.frame), |i| keep_stats[i]),
        "words": words.iter().map(|(name, label, seeds, found)| json!({"name": name, "label": label, "seeds": seeds, "found": found})).collect::<Vec<_>>(),
    }))
}

/// The emerging and fading terms the report lists: significant trends by |Sen slope|.
fn listed_terms(stats: &ReadTable) -> Result<Vec<(&'static str, Vec<String>)>> {
    let (terms, directions, slopes) = (stats.strings("term")?, stats.strings("direction")?, stats.floats("sen_slope")?);
    let mut lists = Vec::new();
    for direction in ["rising", "falling"] {
        let mut chosen: Vec<usize> =
            (0..terms.len()).filter(|&i| directions[i].as_deref() == Some(direction)).collect();
        chosen.sort_by(|&a, &b| slopes[b].abs().total_cmp(&slopes[a].abs()));
        let names = chosen.into_iter().take(LISTED_TERMS).filter_map(|i| terms[i].clone()).collect();
        lists.push((direction, names));
    }
    Ok(lists)
}

/// The per-10k series (with intervals) of the listed terms, and a term × period count matrix of
/// the most frequent terms for the keyness explorer (with each period's token total).
fn term_tables(trends: &ReadTable, listed: &BTreeSet<&str>, vocabulary: Option<&ReadTable>) -> Result<(Value, Value)> {
    // The table has a row per term and period (1.6 M on the full xwlb corpus): its texts are read
    // in place, and only the listed and explored terms' rows are kept.
    let (terms, periods) = (trends.texts("term")?, trends.texts("period")?);
    let (counts, n_tokens) = (trends.numbers::<UInt64Type>("count")?, trends.numbers::<UInt64Type>("n_tokens")?);
    let (rate, low, high) = (trends.floats("per_10k")?, trends.floats("per_10k_low")?, trends.floats("per_10k_high")?);
    let mut explored: BTreeSet<String> = listed.iter().map(|t| t.to_string()).collect();
    if let Some(v) = vocabulary {
        let (names, cf) = (v.strings("term")?, v.numbers::<UInt64Type>("cf")?);
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| cf[b].cmp(&cf[a]).then(a.cmp(&b)));
        explored.extend(order.into_iter().take(EXPLORER_TERMS).filter_map(|i| names[i].clone()));
    }
    let mut period_order: Vec<String> = Vec::new();
    let mut totals: Vec<u64> = Vec::new();
    let mut series: HashMap<&str, Vec<Value>> = HashMap::new();
    let mut matrix: HashMap<&str, Vec<u64>> = HashMap::new();
    for (i, (term, period)) in terms.iter().zip(periods.iter()).enumerate() {
        let (Some(term), Some(period)) = (term, period) else { continue };
        let p = match period_order.iter().position(|q| q == period) {
            Some(p) => p,
            None => {
                period_order.push(period.to_string());
                totals.push(n_tokens[i]);
                period_order.len() - 1
            }
        };
        if listed.contains(term) {
            series.entry(term).or_default().push(json!([period, finite(rate[i]), finite(low[i]), finite(high[i])]));
        }
        if explored.contains(term) {
            let row = matrix.entry(term).or_default();
            row.resize(row.len().max(p + 1), 0);
            row[p] = counts[i];
        }
    }
    let explored: Vec<&str> = explored.iter().map(String::as_str).filter(|t| matrix.contains_key(t)).collect();
    let rows: Vec<Value> = explored
        .iter()
        .map(|t| {
            let mut row = matrix[t].clone();
            row.resize(period_order.len(), 0);
            json!(row)
        })
        .collect();
    let counts = json!({"periods": period_order, "totals": totals, "terms": explored, "counts": rows});
    Ok((json!(series), counts))
}

/// Clusters or the first topic model: per group its size, top terms, share per period and
/// representative titles.
fn groups(
    terms: Option<ReadTable>,
    trends: Option<ReadTable>,
    representatives: Option<ReadTable>,
    key: &str,
    measure: &str,
) -> Result<Value> {
    let Some(terms) = terms else { return Ok(Value::Null) };
    // Topics tables hold every model and k; the page shows the first model's first k.
    let first_model = |f: &ReadTable| -> Result<Vec<bool>> {
        if f.frame.column("model").is_err() {
            return Ok(vec![true; f.frame.height()]);
        }
        let (models, ks) = (f.strings("model")?, f.numbers::<UInt64Type>("k")?);
        Ok((0..f.frame.height()).map(|i| models[i] == models[0] && ks[i] == ks[0]).collect())
    };
    let model = if terms.frame.column("model").is_ok() {
        json!({"model": terms.strings("model")?.first().cloned().flatten(), "k": terms.numbers::<UInt64Type>("k")?.first()})
    } else {
        Value::Null
    };
    let mut out: Vec<Map<String, Value>> = Vec::new();
    let group_of = |out: &mut Vec<Map<String, Value>>, g: u64| -> usize {
        let g = g as usize;
        while out.len() <= g {
            let mut m = Map::new();
            m.insert("id".into(), json!(out.len()));
            for list in ["terms", "series", "titles"] {
                m.insert(list.into(), json!([]));
            }
            out.push(m);
        }
        g
    };
    let keep = first_model(&terms)?;
    let (ids, ranks, words) =
        (terms.numbers::<UInt64Type>(key)?, terms.numbers::<UInt64Type>("rank")?, terms.strings("term")?);
    let sizes = if terms.frame.column("size").is_ok() { Some(terms.numbers::<UInt64Type>("size")?) } else { None };
    for i in (0..terms.frame.height()).filter(|&i| keep[i] && ranks[i] <= GROUP_TERMS as u64) {
        let g = group_of(&mut out, ids[i]);
        push(&mut out[g], "terms", json!(words[i]));
        if let Some(sizes) = &sizes {
            out[g].insert("size".into(), json!(sizes[i]));
        }
    }
    if let Some(trends) = trends {
        let keep = first_model(&trends)?;
        let (ids, periods, values, docs) = (
            trends.numbers::<UInt64Type>(key)?,
            trends.strings("period")?,
            trends.floats(measure)?,
            trends.numbers::<UInt64Type>("n_docs")?,
        );
        for i in (0..trends.frame.height()).filter(|&i| keep[i]) {
            let g = group_of(&mut out, ids[i]);
            push(&mut out[g], "series", json!([periods[i], finite(values[i]), docs[i]]));
        }
    }
    if let Some(reps) = representatives {
        let keep = first_model(&reps)?;
        let (ids, ranks, titles) =
            (reps.numbers::<UInt64Type>(key)?, reps.numbers::<UInt64Type>("rank")?, reps.strings("title")?);
        for i in (0..reps.frame.height()).filter(|&i| keep[i] && ranks[i] <= GROUP_TITLES as u64) {
            let g = group_of(&mut out, ids[i]);
            push(&mut out[g], "titles", json!(titles[i]));
        }
    }
    Ok(json!({"model": model, "groups": out}))
}

fn push(group: &mut Map<String, Value>, list: &str, value: Value) {
    if let Some(Value::Array(items)) = group.get_mut(list) {
        items.push(value);
    }
}

/// Skipped records counted by reason (the reasons' first words), for the accounting table.
fn skip_reasons(manifest: &Value) -> Value {
    let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
    for skip in manifest["ingest"]["skipped"].as_array().into_iter().flatten() {
        let reason = skip["reason"].as_str().unwrap_or("unknown");
        let short: String = reason.split([':', ';', '(']).next().unwrap_or(reason).trim().chars().take(80).collect();
        *counts.entry(short).or_default() += 1;
    }
    json!(counts)
}

fn column_names(frame: &DataFrame) -> Vec<&str> {
    frame.get_column_names().into_iter().map(|n| n.as_str()).collect()
}

/// The rows `keep` chooses, as objects of the named columns.
fn rows(frame: &DataFrame, columns: &[&str], keep: impl Fn(usize) -> bool) -> Value {
    let cols: Vec<&Column> = columns.iter().filter_map(|c| frame.column(c).ok()).collect();
    let out: Vec<Value> = (0..frame.height())
        .filter(|&i| keep(i))
        .map(|i| {
            let row: Map<String, Value> =
                cols.iter().map(|c| (c.name().to_string(), cell(c.get(i).unwrap_or(AnyValue::Null)))).collect();
            Value::Object(row)
        })
        .collect();
    Value::Array(out)
}

fn cell(value: AnyValue) -> Value {
    match value {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => json!(b),
        AnyValue::String(s) => json!(s),
        AnyValue::StringOwned(s) => json!(s.as_str()),
        AnyValue::UInt32(v) => json!(v),
        AnyValue::UInt64(v) => json!(v),
        AnyValue::Int32(v) => json!(v),
        AnyValue::Int64(v) => json!(v),
        AnyValue::Float32(v) => finite(v as f64),
        AnyValue::Float64(v) => finite(v),
        AnyValue::Date(days) => {
            json!(chrono::NaiveDate::from_num_days_from_ce_opt(days + 719_163).map(|d| d.format("%Y-%m-%d").to_string()))
        }
        AnyValue::List(items) => Value::Array(items.iter().map(cell).collect()),
        other => json!(other.to_string()),
    }
}

/// JSON has no NaN or infinity: those become null.
fn finite(v: f64) -> Value {
    if v.is_finite() {
        json!((v * 1e6).round() / 1e6)
    } else {
        Value::Null
    }
}
