use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use polars::prelude::*;

use crate::trends::effects::{bspline_basis, composition, Design, EffectsParams};
use crate::write::charts::{panel_chart, ChartFormat, Charts, Panel};
use crate::write::manifest::run_id_in;
use crate::write::schema;
use crate::write::staging::Staging;
use crate::write::tables::{read_parquet, write_parquet};

use super::common::{ChartArgs, Common};

#[derive(Debug, Args)]
pub struct EffectsArgs {
    /// Output folder of a `themeshift run --theme-model`.
    run: PathBuf,
    /// Terms joined by +: `period` (categories, the first period the reference), `time` (years,
    /// linear), `s(time)` / `s(time, DF)` (a cubic B-spline of the date, 5 columns by default), or any column of documents.parquet (`source`, an --extra-fields column; text
    /// columns are categories, number columns linear).
    #[arg(long, default_value = "period")]
    formula: String,
    /// Cluster the standard errors by this column of documents.parquet (e.g. source).
    #[arg(long)]
    cluster_by: Option<String>,
    /// Level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    ci_level: f64,
    /// Posterior draws of the documents' theme shares (stm's nsims is 25).
    #[arg(long, default_value_t = 100)]
    draws: usize,
    #[command(flatten)]
    chart: ChartArgs,
    #[command(flatten)]
    common: Common,
}

/// A covariate column of the analysed documents.
enum Column {
    Categories(Vec<Option<String>>),
    Numbers(Vec<Option<f64>>),
}

/// Regress each theme's document share on the formula by the method of composition; writes
/// `theme_effects.parquet`, `theme_effects_predicted.parquet` and `charts/theme_effects.*`.
pub fn run(args: EffectsArgs) -> anyhow::Result<u8> {
    args.common.start()?;
    if !(0.5..1.0).contains(&args.ci_level) || args.draws < 10 {
        bail!("--ci-level must be in [0.5, 1) and --draws at least 10");
    }
    let formats = match &args.chart.charts {
        Some(text) => ChartFormat::parse_list(text).map_err(|e| anyhow::anyhow!("--charts: {e}"))?,
        None => vec![ChartFormat::Png],
    };
    let charts = Charts::prepare(&formats, args.chart.font.as_deref())?;
    let staging = Staging::begin(&args.run)?;
    staging.carry_over()?;
    charts.make_folder(&staging.dir)?;
    let doc_themes = read_parquet(&args.run, &schema::DOC_THEMES).with_context(|| {
        format!("{} has no theme model: run `themeshift run --theme-model` first", args.run.display())
    })?;
    let (ids, tokens, alphas) = (
        doc_themes.column("doc_id")?.str()?.clone(),
        doc_themes.column("tokens")?.f32()?.clone(),
        doc_themes.column("alpha")?.f64()?.clone(),
    );
    // doc_themes holds each document's topics in the model's order.
    let topics = model_topics(&args.run)?;
    let themes: Vec<&str> = topics.iter().map(|t| t.name.as_str()).collect();
    let k = themes.len();
    let alpha: Vec<f64> = (0..k).map(|t| alphas.get(t).unwrap_or(0.0)).collect();
    let documents = read_parquet(&args.run, &schema::DOCUMENTS)?;
    let row_of: BTreeMap<&str, usize> =
        documents.column("doc_id")?.str()?.iter().enumerate().filter_map(|(i, id)| id.map(|id| (id, i))).collect();
    let analysed: Vec<(&str, usize)> = ids
        .iter()
        .step_by(k)
        .map(|id| {
            let id = id.unwrap_or_default();
            row_of
                .get(id)
                .map(|&r| (id, r))
                .with_context(|| format!("document {id} of doc_themes.parquet is not in documents.parquet"))
        })
        .collect::<anyhow::Result<_>>()?;
    let periods = documents.column("period")?.str()?.clone();
    let period_of: Vec<Option<String>> = analysed.iter().map(|&(_, r)| periods.get(r).map(str::to_string)).collect();

    let terms: Vec<String> = args.formula.split('+').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
    if terms.is_empty() {
        bail!("--formula '{}' has no terms (e.g. \"period + source\")", args.formula);
    }
    let mut columns = Vec::new();
    for term in &terms {
        match spline_of_time(term)? {
            Some(df) => {
                let Column::Numbers(time) = covariate(&documents, "time", &analysed)? else { unreachable!() };
                let known: Vec<f64> = time.iter().flatten().copied().collect();
                if known.is_empty() {
                    bail!("--formula: {term} needs dated documents");
                }
                let basis = bspline_basis(&time.iter().map(|v| v.unwrap_or(f64::NAN)).collect::<Vec<_>>(), df);
                for j in 0..df {
                    let values = time.iter().zip(&basis).map(|(v, b)| v.map(|_| b[j])).collect();
                    columns.push((format!("s(time){}", j + 1), Column::Numbers(values)));
                }
            }
            None => columns.push((term.clone(), covariate(&documents, term, &analysed)?)),
        }
    }
    let cluster = match &args.cluster_by {
        Some(name) => Some(match covariate(&documents, name, &analysed)? {
            Column::Categories(values) => values,
            Column::Numbers(values) => values.into_iter().map(|v| v.map(|x| x.to_string())).collect(),
        }),
        None => None,
    };
    // Documents with every covariate (and the period) known.
    let keep: Vec<usize> = (0..analysed.len())
        .filter(|&i| {
            period_of[i].is_some()
                && cluster.as_ref().is_none_or(|c| c[i].is_some())
                && columns.iter().all(|(_, c)| match c {
                    Column::Categories(v) => v[i].is_some(),
                    Column::Numbers(v) => v[i].is_some_and(f64::is_finite),
                })
        })
        .collect();
    let left_out = analysed.len() - keep.len();
    let mut names = vec!["(Intercept)".to_string()];
    let mut period_columns = Vec::new();
    let mut blocks: Vec<Vec<f64>> = Vec::new();
    for (term, column) in &columns {
        match column {
            Column::Categories(values) => {
                let mut levels: Vec<&str> = keep.iter().filter_map(|&i| values[i].as_deref()).collect();
                levels.sort_unstable();
                levels.dedup();
                if levels.len() < 2 {
                    bail!(
                        "--formula: '{term}' has one value ({}) in every analysed document, so it cannot explain \
                         a difference; drop it (is the column the one you meant? a JSONL source needs --source-field)",
                        levels.first().unwrap_or(&"null")
                    );
                }
                for level in levels.iter().skip(1) {
                    if term == "period" {
                        period_columns.push(names.len());
                    }
                    names.push(format!("{term}={level}"));
                    blocks.push(keep.iter().map(|&i| f64::from(values[i].as_deref() == Some(level))).collect());
                }
            }
            Column::Numbers(values) => {
                if term == "time" || term.starts_with("s(time)") {
                    period_columns.push(names.len());
                }
                names.push(term.clone());
                blocks.push(keep.iter().map(|&i| values[i].unwrap_or(0.0)).collect());
            }
        }
    }
    let (n, p) = (keep.len(), names.len());
    let mut x = Vec::with_capacity(n * p);
    for row in 0..n {
        x.push(1.0);
        x.extend(blocks.iter().map(|b| b[row]));
    }
    let clusters = cluster.map(|c| {
        let mut codes: BTreeMap<&str, u32> = BTreeMap::new();
        keep.iter()
            .map(|&i| {
                let next = codes.len() as u32;
                *codes.entry(c[i].as_deref().unwrap_or_default()).or_insert(next)
            })
            .collect()
    });
    let token_rows: Vec<f64> = keep
        .iter()
        .flat_map(|&i| (0..k).map(move |t| (i, t)))
        .map(|(i, t)| tokens.get(i * k + t).unwrap_or(0.0) as f64)
        .collect();

    // Predictions at each period: every covariate at its mean, the time terms at the period's own mean.
    let mut period_names: Vec<&str> = keep.iter().filter_map(|&i| period_of[i].as_deref()).collect();
    period_names.sort_unstable();
    period_names.dedup();
    let mean_of = |rows: &mut dyn Iterator<Item = usize>, j: usize| {
        let (mut sum, mut count) = (0.0, 0usize);
        for r in rows {
            sum += x[r * p + j];
            count += 1;
        }
        sum / count.max(1) as f64
    };
    let overall: Vec<f64> = (0..p).map(|j| mean_of(&mut (0..n), j)).collect();
    let at: Vec<Vec<f64>> = if period_columns.is_empty() {
        Vec::new()
    } else {
        period_names
            .iter()
            .map(|&period| {
                let mut row = overall.clone();
                for &j in &period_columns {
                    row[j] = mean_of(&mut (0..n).filter(|&r| period_of[keep[r]].as_deref() == Some(period)), j);
                }
                row
            })
            .collect()
    };
    let design = Design { terms: names.clone(), x, n, p, clusters };
    let params = EffectsParams { draws: args.draws, ci_level: args.ci_level, seed: args.common.seed };
    let all: Vec<usize> = (0..k).collect();
    let (effects, predicted) = composition(&design, &token_rows, &alpha, &all, &at, &params)
        .map_err(|e| anyhow::anyhow!("--formula '{}': {e}", args.formula))?;

    let run_id = run_id_in(&args.run);
    let frame = schema::THEME_EFFECTS.frame(vec![
        Series::new("".into(), effects.iter().map(|e| themes[e.theme]).collect::<Vec<_>>()),
        Series::new("".into(), effects.iter().map(|e| topics[e.theme].label.as_str()).collect::<Vec<_>>()),
        Series::new("".into(), effects.iter().map(|e| names[e.term].as_str()).collect::<Vec<_>>()),
        Series::new("".into(), effects.iter().map(|e| e.estimate).collect::<Vec<_>>()),
        Series::new("".into(), effects.iter().map(|e| e.std_error).collect::<Vec<_>>()),
        Series::new("".into(), effects.iter().map(|e| e.low).collect::<Vec<_>>()),
        Series::new("".into(), effects.iter().map(|e| e.high).collect::<Vec<_>>()),
    ]);
    write_parquet(&staging.dir.join(schema::THEME_EFFECTS.file), frame, &run_id)?;
    let frame = schema::THEME_EFFECTS_PREDICTED.frame(vec![
        Series::new("".into(), predicted.iter().map(|e| themes[e.theme]).collect::<Vec<_>>()),
        Series::new("".into(), predicted.iter().map(|e| topics[e.theme].label.as_str()).collect::<Vec<_>>()),
        Series::new("".into(), predicted.iter().map(|e| period_names[e.at]).collect::<Vec<_>>()),
        Series::new("".into(), predicted.iter().map(|e| e.estimate).collect::<Vec<_>>()),
        Series::new("".into(), predicted.iter().map(|e| e.low).collect::<Vec<_>>()),
        Series::new("".into(), predicted.iter().map(|e| e.high).collect::<Vec<_>>()),
    ]);
    write_parquet(&staging.dir.join(schema::THEME_EFFECTS_PREDICTED.file), frame, &run_id)?;
    let period_list: Vec<String> = period_names.iter().map(|s| s.to_string()).collect();
    let panels: Vec<Panel> = (0..k)
        .filter(|&t| topics[t].keyword)
        .map(|t| {
            let rows: Vec<_> = predicted.iter().filter(|e| e.theme == t).collect();
            Panel {
                title: topics[t].label.clone(),
                values: rows.iter().map(|e| 100.0 * e.estimate).collect(),
                low: rows.iter().map(|e| 100.0 * e.low).collect(),
                high: rows.iter().map(|e| 100.0 * e.high).collect(),
            }
        })
        .collect();
    let title = format!(
        "预测主题份额 · predicted theme share (%), {} ({:.0}% intervals, method of composition)",
        args.formula,
        100.0 * args.ci_level
    );
    let drawn = panel_chart(&charts, &staging.dir, "theme_effects", &title, &period_list, &panels)?;
    staging.commit()?;

    if !args.common.quiet {
        println!(
            "themeshift effects → {} ({n} documents, {p} coefficients, {} draws{})",
            args.run.display(),
            args.draws,
            if left_out > 0 {
                format!("; {left_out} documents left out for a missing covariate or period")
            } else {
                String::new()
            }
        );
        for e in effects.iter().filter(|e| e.term > 0 && !period_columns.contains(&e.term) && topics[e.theme].keyword) {
            println!(
                "  {:<16} {:<24} {:>8.4} [{:.4}, {:.4}]",
                topics[e.theme].label, names[e.term], e.estimate, e.low, e.high
            );
        }
        let files = [schema::THEME_EFFECTS.file, schema::THEME_EFFECTS_PREDICTED.file];
        println!("  wrote: {}", files.iter().map(|f| f.to_string()).chain(drawn).collect::<Vec<_>>().join(", "));
    }
    Ok(0)
}

/// `s(time)` or `s(time, DF)`: a cubic B-spline of the date with DF columns (default 5).
fn spline_of_time(term: &str) -> anyhow::Result<Option<usize>> {
    let Some(inner) = term.strip_prefix("s(").and_then(|t| t.strip_suffix(')')) else { return Ok(None) };
    let mut parts = inner.split(',').map(str::trim);
    if parts.next() != Some("time") {
        bail!("--formula: {term}: splines are of time only, e.g. s(time) or s(time, 5)");
    }
    match parts.next() {
        None => Ok(Some(5)),
        Some(df) => match df.parse::<usize>() {
            Ok(df) if (3..=20).contains(&df) => Ok(Some(df)),
            _ => bail!("--formula: {term}: the spline's degrees of freedom must be a whole number from 3 to 20"),
        },
    }
}

/// A formula term's values for the analysed documents.
fn covariate(documents: &DataFrame, term: &str, analysed: &[(&str, usize)]) -> anyhow::Result<Column> {
    if term == "time" {
        let dates = documents.column("date")?.cast(&DataType::Int32)?;
        let days = dates.i32()?;
        let values: Vec<Option<f64>> = analysed.iter().map(|&(_, r)| days.get(r).map(|d| d as f64 / 365.25)).collect();
        let first = values.iter().flatten().copied().fold(f64::INFINITY, f64::min);
        return Ok(Column::Numbers(values.into_iter().map(|v| v.map(|x| x - first)).collect()));
    }
    let Ok(column) = documents.column(term) else {
        let known: Vec<String> = documents.get_column_names().iter().map(|c| c.to_string()).collect();
        bail!("--formula: no column '{term}' in documents.parquet (use period, time or one of: {})", known.join(", "));
    };
    Ok(match column.dtype() {
        DataType::String => {
            let values = column.str()?;
            Column::Categories(analysed.iter().map(|&(_, r)| values.get(r).map(str::to_string)).collect())
        }
        DataType::Boolean => {
            let values = column.bool()?;
            Column::Categories(analysed.iter().map(|&(_, r)| values.get(r).map(|b| b.to_string())).collect())
        }
        dtype if dtype.is_primitive_numeric() => {
            let values = column.cast(&DataType::Float64)?;
            let values = values.f64()?;
            Column::Numbers(analysed.iter().map(|&(_, r)| values.get(r)).collect())
        }
        other => bail!("--formula: column '{term}' is {other}; use a text or number column"),
    })
}

/// A theme-model topic as theme_model.parquet names it.
struct Topic {
    name: String,
    label: String,
    keyword: bool,
}

/// The model's topics in its order (the order of their first rows in theme_model.parquet).
fn model_topics(run: &std::path::Path) -> anyhow::Result<Vec<Topic>> {
    let model = read_parquet(run, &schema::THEME_MODEL)?;
    let (names, labels, keyword) =
        (model.column("theme")?.str()?, model.column("label")?.str()?, model.column("keyword_topic")?.bool()?);
    let mut topics: Vec<Topic> = Vec::new();
    for i in 0..model.height() {
        let name = names.get(i).unwrap_or_default();
        if !topics.iter().any(|t| t.name == name) {
            let label = labels.get(i).unwrap_or(name).to_string();
            topics.push(Topic { name: name.to_string(), label, keyword: keyword.get(i).unwrap_or(false) });
        }
    }
    Ok(topics)
}
