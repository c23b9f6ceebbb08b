//! Charts as PNG and/or SVG, drawn with plotters' pure-Rust font backend from a font we found and
//! checked ([`font`](super::font)), so Chinese labels render or the run stops before it starts.
//! With no format asked for (`--charts none`) nothing is drawn and no font is needed. Sized for
//! print: a figure spans a journal's text width (~7 in) with labels of about 7–9 pt, titles and
//! axes in Chinese and English.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use serde::{Deserialize, Serialize};

use super::atomic;
use super::font::find_cjk_font;
use super::png::PngBackend;
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

/// A picture format of the charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartFormat {
    Png,
    Svg,
}

impl ChartFormat {
    pub const ALL: [ChartFormat; 2] = [ChartFormat::Png, ChartFormat::Svg];

    pub fn extension(self) -> &'static str {
        match self {
            ChartFormat::Png => "png",
            ChartFormat::Svg => "svg",
        }
    }

    /// `png`, `svg`, `png,svg` or `none` (no charts).
    pub fn parse_list(text: &str) -> std::result::Result<Vec<ChartFormat>, String> {
        let mut formats = Vec::new();
        for word in text.split(',').map(str::trim) {
            let format = match word {
                "png" => ChartFormat::Png,
                "svg" => ChartFormat::Svg,
                "none" | "" => continue,
                other => return Err(format!("chart format '{other}': use png, svg, png,svg or none")),
            };
            if !formats.contains(&format) {
                formats.push(format);
            }
        }
        Ok(formats)
    }
}

/// Which chart files to draw, with the font registered for them (none when no format is asked).
#[derive(Debug, Clone)]
pub struct Charts {
    formats: Vec<ChartFormat>,
    /// The font file (and face) drawn with, for the manifest.
    pub font: Option<String>,
    /// The same face, for the text of PNG charts (see [`PngBackend`]).
    glyphs: Option<ab_glyph::FontRef<'static>>,
}

impl Charts {
    /// Find and register the font for `formats` — before any expensive work, so a missing font
    /// stops a run at once; with no formats, no font is looked for.
    pub fn prepare(formats: &[ChartFormat], font: Option<&Path>) -> Result<Charts> {
        if formats.is_empty() {
            return Ok(Charts::none());
        }
        let found = find_cjk_font(font)?;
        let unreadable = || Error::Font(format!("{}: plotters could not load this font", found.path.display()));
        register_font(FAMILY, FontStyle::Normal, found.bytes).map_err(|_| unreadable())?;
        let glyphs = ab_glyph::FontRef::try_from_slice(found.bytes).map_err(|_| unreadable())?;
        Ok(Charts { formats: formats.to_vec(), font: Some(found.describe()), glyphs: Some(glyphs) })
    }

    pub fn none() -> Charts {
        Charts { formats: Vec::new(), font: None, glyphs: None }
    }

    pub fn enabled(&self) -> bool {
        !self.formats.is_empty()
    }

    /// Make `dir/charts` when charts are drawn.
    pub fn make_folder(&self, dir: &Path) -> Result<()> {
        let folder = dir.join("charts");
        match self.enabled() {
            true => std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e)),
            false => Ok(()),
        }
    }

    /// Draw `picture` as `charts/<stem>.<ext>` in every format; returns the files written.
    fn render(&self, out: &Path, stem: &str, picture: &impl Picture) -> Result<Vec<String>> {
        let mut written = Vec::new();
        for &format in &self.formats {
            let file = format!("charts/{stem}.{}", format.extension());
            let path = out.join(&file);
            let temp = atomic::temp_path(&path);
            let size = picture.size();
            let drawn = match format {
                ChartFormat::Png => {
                    let glyphs = self.glyphs.clone().expect("a font is registered with the formats");
                    picture.draw(PngBackend::new(BitMapBackend::new(&temp, size), glyphs).into_drawing_area())
                }
                ChartFormat::Svg => picture.draw(SVGBackend::new(&temp, size).into_drawing_area()),
            };
            drawn.map_err(|e| {
                let _ = std::fs::remove_file(&temp);
                Error::write(&path, e)
            })?;
            atomic::commit(&path)?;
            written.push(file);
        }
        Ok(written)
    }
}

type Drawn = std::result::Result<(), Box<dyn std::error::Error>>;

/// Something drawable on any plotters backend (PNG or SVG).
trait Picture {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Drawn
    where
        DB::ErrorType: 'static;
}

/// `charts/term_trends.*` and `charts/themes.*` of a run; returns the files drawn.
pub fn trend_charts(
    charts: &Charts,
    out: &Path,
    trends: &TrendResults,
    vocabulary: &Vocabulary,
    n_terms: usize,
) -> Result<Vec<String>> {
    let periods: Vec<String> = trends.terms.periods.iter().map(|p| p.period.clone()).collect();
    if periods.is_empty() || charts.formats.is_empty() {
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
    let mut drawn = charts.render(out, "term_trends", &terms)?;
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
        drawn.extend(charts.render(out, "themes", &Panels { title, periods: &periods, panels: &panels })?);
    }
    Ok(drawn)
}

/// `charts/<stem>.*`: small multiples with bands, one panel per series; no chart without periods.
pub fn panel_chart(
    charts: &Charts,
    out: &Path,
    stem: &str,
    title: &str,
    periods: &[String],
    panels: &[Panel],
) -> Result<Vec<String>> {
    if periods.is_empty() || charts.formats.is_empty() || panels.is_empty() {
        return Ok(Vec::new());
    }
    charts.render(out, stem, &Panels { title, periods, panels })
}

/// "g: first three terms" — how a cluster or a topic is named on charts and in reports.
pub fn group_label(group: usize, list: &[(u32, f64)], terms: &[String]) -> String {
    let words: Vec<&str> = list.iter().take(3).map(|&(t, _)| terms[t as usize].as_str()).collect();
    format!("{group}: {}", words.join(" "))
}

/// `charts/<stem>.*`: one panel per group (cluster or topic) with its share of each period's
/// documents (%), labelled by its first terms; no chart without periods.
#[allow(clippy::too_many_arguments)]
fn share_chart(
    charts: &Charts,
    out: &Path,
    stem: &str,
    title: &str,
    periods: &[String],
    period_of_row: &[Option<usize>],
    shares: ArrayView2<f32>,
    group_terms: &[Vec<(u32, f64)>],
    terms: &[String],
) -> Result<Vec<String>> {
    if periods.is_empty() || charts.formats.is_empty() {
        return Ok(Vec::new());
    }
    let rows = group_prevalence(shares, period_of_row, periods.len());
    let panels: Vec<Panel> = (0..shares.ncols())
        .map(|g| {
            let values: Vec<f64> = rows.iter().filter(|r| r.group == g).map(|r| 100.0 * r.share).collect();
            Panel { title: group_label(g, &group_terms[g], terms), low: values.clone(), high: values.clone(), values }
        })
        .collect();
    charts.render(out, stem, &Panels { title, periods, panels: &panels })
}

/// `charts/clusters.*`: the share of each period's documents in each cluster.
pub fn cluster_chart(
    charts: &Charts,
    out: &Path,
    periods: &[String],
    period_of_row: &[Option<usize>],
    c: &Clustering,
    terms: &[String],
) -> Result<Vec<String>> {
    let title = "聚类份额 · share of each period's documents per cluster (%)";
    share_chart(charts, out, "clusters", title, periods, period_of_row, c.one_hot().view(), &c.terms, terms)
}

/// `charts/topics.*`: each topic's mean share per period, for one model.
pub fn topic_chart(
    charts: &Charts,
    out: &Path,
    periods: &[String],
    period_of_row: &[Option<usize>],
    m: &TopicModel,
    terms: &[String],
) -> Result<Vec<String>> {
    let title = format!("话题流行度 · mean topic share per period (%), {} k = {}", m.method, m.k);
    share_chart(charts, out, "topics", &title, periods, period_of_row, m.shares.view(), &m.terms, terms)
}

/// One small chart of a grid: a series with its interval band.
pub struct Panel {
    pub title: String,
    pub values: Vec<f64>,
    pub low: Vec<f64>,
    pub high: Vec<f64>,
}

/// Small multiples, one panel per series (two rows, or rows of five beyond ten panels), one
/// y-axis scale for all so panels compare, unless one panel would flatten the rest ([`y_scales`]).
struct Panels<'a> {
    title: &'a str,
    periods: &'a [String],
    panels: &'a [Panel],
}

impl Panels<'_> {
    fn grid(&self) -> (usize, usize) {
        let rows = if self.panels.len() <= 10 { 2 } else { self.panels.len().div_ceil(5) };
        (rows, self.panels.len().div_ceil(rows).max(1))
    }
}

impl Picture for Panels<'_> {
    fn size(&self) -> (u32, u32) {
        let (rows, columns) = self.grid();
        (340 * columns as u32 + 40, 410 * rows as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        let Panels { title, periods, panels } = *self;
        let (grid_rows, columns) = self.grid();
        draw_panels(root, title, periods, panels, grid_rows, columns)
    }
}

fn draw_panels<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    periods: &[String],
    panels: &[Panel],
    grid_rows: usize,
    columns: usize,
) -> Drawn
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let n = periods.len();
    let x_max = (n.max(2) - 1) as f64;
    let (scales, own) = y_scales(panels);
    let title = if own { format!("{title} (own y-scales)") } else { title.to_string() };
    let root = root.margin(12, 0, 0, 0).titled(&title, (FAMILY, 34))?;
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
    for (i, ((area, panel), &y_max)) in
        root.split_evenly((grid_rows, columns)).iter().zip(panels).zip(&scales).enumerate()
    {
        let colour = COLOURS[i % COLOURS.len()];
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, (FAMILY, 26))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(54)
            .build_cartesian_2d(-0.3..x_max + 0.3, 0.0..y_max)?;
        chart
            .configure_mesh()
            .x_labels(n.min(16))
            .x_label_formatter(&label_of)
            .y_labels(5)
            .label_style((FAMILY, 18))
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

/// Each panel's y-axis top, and whether they are the panels' own. One scale for all, so panels
/// compare — unless the tallest panel would flatten the others (its top over 3× the median
/// panel's), as when one theme holds 40% of the documents and the rest 2–5%: then each panel gets
/// its own scale (and the title says so).
fn y_scales(panels: &[Panel]) -> (Vec<f64>, bool) {
    let tops: Vec<f64> = panels
        .iter()
        .map(|p| p.high.iter().chain(&p.values).fold(0.0, |a: f64, &b| a.max(b)).max(1e-9) * 1.05)
        .collect();
    let mut sorted = tops.clone();
    sorted.sort_by(f64::total_cmp);
    let (tallest, median) =
        (sorted.last().copied().unwrap_or(1.0), sorted.get(sorted.len() / 2).copied().unwrap_or(1.0));
    if tallest > 3.0 * median {
        (tops, true)
    } else {
        (vec![tallest; panels.len()], false)
    }
}

/// One line per series over the periods.
pub struct LineChart<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    pub periods: &'a [String],
    pub series: &'a [(String, Vec<f64>)],
}

impl Picture for LineChart<'_> {
    fn size(&self) -> (u32, u32) {
        (1400, 800)
    }

    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Drawn
    where
        DB::ErrorType: 'static,
    {
        draw_lines(root, self)
    }
}

fn draw_lines<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, spec: &LineChart) -> Drawn
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let n = spec.periods.len();
    let x_max = (n.max(2) - 1) as f64;
    let y_max = spec.series.iter().flat_map(|(_, v)| v.iter().copied()).fold(0.0, f64::max).max(1e-9) * 1.08;
    let mut chart = ChartBuilder::on(&root)
        .caption(spec.title, (FAMILY, 36))
        .margin(24)
        .x_label_area_size(76)
        .y_label_area_size(100)
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
        .x_desc("时期 · period")
        .label_style((FAMILY, 24))
        .axis_desc_style((FAMILY, 26))
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
        .label_font((FAMILY, 24))
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(values: &[f64]) -> Panel {
        Panel { title: String::new(), values: values.to_vec(), low: values.to_vec(), high: values.to_vec() }
    }

    #[test]
    fn panels_share_a_scale_unless_one_would_flatten_the_rest() {
        let similar = [panel(&[1.0, 4.0]), panel(&[2.0, 3.0]), panel(&[9.0, 1.0])];
        assert_eq!(y_scales(&similar), (vec![9.0 * 1.05; 3], false));
        let one_tall = [panel(&[1.0, 4.0]), panel(&[2.0, 3.0]), panel(&[40.0, 1.0])];
        assert_eq!(y_scales(&one_tall), (vec![4.0 * 1.05, 3.0 * 1.05, 40.0 * 1.05], true));
    }
}
