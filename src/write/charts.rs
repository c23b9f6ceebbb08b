//! PNG charts, drawn with plotters' pure-Rust font backend from a font we found and checked
//! ([`font`](super::font)), so Chinese labels render or the run stops before it starts.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::atomic;
use super::font::CjkFont;
use ndarray::ArrayView2;

use crate::cluster::Clustering;
use crate::error::{Error, Result};
use crate::topics::TopicModel;
use crate::trends::analysis::TrendResults;
use crate::trends::groups::group_prevalence;
use crate::trends::term_stats::ranked;
use crate::trends::themes::{cell, ThemePeriod};
use crate::vectorize::Vocabulary;

/// plotters looks fonts up by family name; every text we draw uses this one.
const FAMILY: &str = "sans-serif";

/// Ten distinct colours (matplotlib's tab10), so a reader can match lines to the legend.
const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// `charts/term_trends.png` and `charts/themes.png` of a run; returns the files drawn.
pub fn trend_charts(out: &Path, trends: &TrendResults, vocabulary: &Vocabulary, n_terms: usize) -> Result<Vec<String>> {
    let periods: Vec<String> = trends.terms.periods.iter().map(|p| p.period.clone()).collect();
    if periods.is_empty() {
        return Ok(Vec::new());
    }
    // Significant risers (Mann–Kendall, BH) by Sen slope; without enough periods for a test,
    // the terms whose rate rose most between the earlier and the later half.
    let mut chosen: Vec<usize> = ranked(&trends.stats, "rising").iter().map(|s| s.term).take(n_terms).collect();
    if chosen.is_empty() {
        chosen = trends.terms.rising().into_iter().map(|(t, _)| t).take(n_terms).collect();
    }
    let series: Vec<(String, Vec<f64>)> = chosen
        .into_iter()
        .map(|t| (vocabulary.terms[t].clone(), (0..periods.len()).map(|p| trends.terms.per_10k(p, t)).collect()))
        .collect();
    let terms = LineChart {
        title: "上升最快的词语 · terms whose rate rose most",
        y_label: "每万词出现次数 (per 10k tokens)",
        periods: &periods,
        series: &series,
    };
    draw_lines(&out.join("charts/term_trends.png"), &terms)?;
    let mut drawn = vec!["charts/term_trends.png".to_string()];
    if !trends.themes.is_empty() {
        let n_themes = trends.themes.len();
        let panels: Vec<Panel> = (0..n_themes)
            .map(|k| {
                let percent = |pick: fn(&ThemePeriod) -> f64| -> Vec<f64> {
                    (0..periods.len()).map(|p| 100.0 * pick(cell(&trends.theme_periods, n_themes, k, p))).collect()
                };
                Panel {
                    title: trends.themes[k].label.clone(),
                    values: percent(|x| x.share),
                    low: percent(|x| x.share_ci.0),
                    high: percent(|x| x.share_ci.1),
                }
            })
            .collect();
        let title = "主题份额 · theme share of all theme-term hits (%), with 95% intervals";
        write_panels(&out.join("charts/themes.png"), title, &periods, &panels)?;
        drawn.push("charts/themes.png".into());
    }
    Ok(drawn)
}

/// "g: first three terms" — how a cluster or a topic is named on charts and in reports.
pub fn group_label(group: usize, list: &[(u32, f64)], terms: &[String]) -> String {
    let words: Vec<&str> = list.iter().take(3).map(|&(t, _)| terms[t as usize].as_str()).collect();
    format!("{group}: {}", words.join(" "))
}

/// `charts/<file>`: one panel per group (cluster or topic) with its share of each period's
/// documents (%), labelled by its first terms; no chart without periods.
#[allow(clippy::too_many_arguments)]
fn share_chart(
    out: &Path,
    file: &str,
    title: &str,
    periods: &[String],
    period_of_row: &[Option<usize>],
    shares: ArrayView2<f32>,
    group_terms: &[Vec<(u32, f64)>],
    terms: &[String],
) -> Result<Option<String>> {
    if periods.is_empty() {
        return Ok(None);
    }
    let rows = group_prevalence(shares, period_of_row, periods.len());
    let panels: Vec<Panel> = (0..shares.ncols())
        .map(|g| {
            let values: Vec<f64> = rows.iter().filter(|r| r.group == g).map(|r| 100.0 * r.share).collect();
            Panel { title: group_label(g, &group_terms[g], terms), low: values.clone(), high: values.clone(), values }
        })
        .collect();
    let path = format!("charts/{file}");
    write_panels(&out.join(&path), title, periods, &panels)?;
    Ok(Some(path))
}

/// `charts/clusters.png`: the share of each period's documents in each cluster.
pub fn cluster_chart(
    out: &Path,
    periods: &[String],
    period_of_row: &[Option<usize>],
    c: &Clustering,
    terms: &[String],
) -> Result<Option<String>> {
    let title = "聚类份额 · share of each period's documents per cluster (%)";
    share_chart(out, "clusters.png", title, periods, period_of_row, c.one_hot().view(), &c.terms, terms)
}

/// `charts/topics.png`: each topic's mean share per period, for one model.
pub fn topic_chart(
    out: &Path,
    periods: &[String],
    period_of_row: &[Option<usize>],
    m: &TopicModel,
    terms: &[String],
) -> Result<Option<String>> {
    let title = format!("话题流行度 · mean topic share per period (%), {} k = {}", m.method, m.k);
    share_chart(out, "topics.png", &title, periods, period_of_row, m.shares.view(), &m.terms, terms)
}

/// Draw small multiples to a temporary file and move it into place.
fn write_panels(path: &Path, title: &str, periods: &[String], panels: &[Panel]) -> Result<()> {
    let temp = atomic::temp_path(path);
    draw_panels(&temp, title, periods, panels).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::write(path, e)
    })?;
    atomic::commit(path)
}

/// One small chart of a grid: a series with its interval band.
pub struct Panel {
    pub title: String,
    pub values: Vec<f64>,
    pub low: Vec<f64>,
    pub high: Vec<f64>,
}

/// Small multiples, one panel per series (two rows, or rows of five beyond ten panels), one
/// y-axis scale for all so panels compare.
fn draw_panels(
    path: &Path,
    title: &str,
    periods: &[String],
    panels: &[Panel],
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let grid_rows = if panels.len() <= 10 { 2 } else { panels.len().div_ceil(5) };
    let columns = panels.len().div_ceil(grid_rows).max(1);
    let root = BitMapBackend::new(path, (340 * columns as u32 + 40, 410 * grid_rows as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.margin(12, 0, 0, 0).titled(title, (FAMILY, 30))?;
    let n = periods.len();
    let x_max = (n.max(2) - 1) as f64;
    let y_max =
        panels.iter().flat_map(|p| p.high.iter().chain(&p.values)).fold(0.0, |a: f64, &b| a.max(b)).max(1e-9) * 1.05;
    // Label the first, middle and last period only; panels are narrow.
    let shown = [0, n / 2, n.saturating_sub(1)];
    let label_of = |x: &f64| {
        let i = x.round() as usize;
        if (x - x.round()).abs() < 1e-6 && shown.contains(&i) && i < n {
            periods[i].clone()
        } else {
            String::new()
        }
    };
    for (i, (area, panel)) in root.split_evenly((grid_rows, columns)).iter().zip(panels).enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, (FAMILY, 22))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(44)
            .build_cartesian_2d(-0.3..x_max + 0.3, 0.0..y_max)?;
        chart
            .configure_mesh()
            .x_labels(n.min(16))
            .x_label_formatter(&label_of)
            .y_labels(5)
            .label_style((FAMILY, 14))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        let band: Vec<(f64, f64)> =
            (0..n).map(|x| (x as f64, panel.high[x])).chain((0..n).rev().map(|x| (x as f64, panel.low[x]))).collect();
        chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.18).filled())))?;
        let points: Vec<(f64, f64)> = panel.values.iter().enumerate().map(|(x, &y)| (x as f64, y)).collect();
        chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(3)))?;
        chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, colour.filled())))?;
    }
    root.present()?;
    Ok(())
}

pub fn use_font(font: &CjkFont) -> Result<()> {
    register_font(FAMILY, FontStyle::Normal, font.bytes)
        .map_err(|_| Error::Font(format!("{}: plotters could not load this font", font.path.display())))
}

/// One line per series over the periods.
pub struct LineChart<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    pub periods: &'a [String],
    pub series: &'a [(String, Vec<f64>)],
}

/// Draw `chart` to `path` (PNG). [`use_font`] must have been called.
pub fn draw_lines(path: &Path, chart: &LineChart) -> Result<()> {
    let temp = atomic::temp_path(path);
    draw(&temp, chart).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::write(path, e)
    })?;
    atomic::commit(path)
}

fn draw(path: &Path, spec: &LineChart) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(path, (1400, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = spec.periods.len();
    let x_max = (n.max(2) - 1) as f64;
    let y_max = spec.series.iter().flat_map(|(_, v)| v.iter().copied()).fold(0.0, f64::max).max(1e-9) * 1.08;
    let mut chart = ChartBuilder::on(&root)
        .caption(spec.title, (FAMILY, 32))
        .margin(24)
        .x_label_area_size(56)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.2..x_max + 0.2, 0.0..y_max)?;
    let label_of = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
            spec.periods[i as usize].clone()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_labels(n.min(16))
        .x_label_formatter(&label_of)
        .y_desc(spec.y_label)
        .label_style((FAMILY, 18))
        .axis_desc_style((FAMILY, 20))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (i, (name, values)) in spec.series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<(f64, f64)> = values.iter().enumerate().map(|(x, &y)| (x as f64, y)).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(3)))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(4)));
        chart.draw_series(points.into_iter().map(|p| Circle::new(p, 4, colour.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font((FAMILY, 20))
        .draw()?;
    root.present()?;
    Ok(())
}
