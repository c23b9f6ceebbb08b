//! The resolved options of a run: what the CLI, a study file or a library caller asked for,
//! checked, and written into the manifest so the run can be repeated.
//!
//! A study file (`--config study.toml`) holds the input settings of a study; flags given on the
//! command line override it. Unknown keys are errors.
//!
//! ```toml
//! [input]
//! paths = ["articles/", "wire.csv"]   # relative to the study file
//! text = "body"                       # field / column names: id, date, title, text, source
//! date = "published"
//! source = "outlet"
//! extra = ["section", "author"]       # kept through to documents.parquet
//! encoding = "gb18030"                # force one; detected when absent
//! default_date = "2023-01-01"
//! dates_file = "dates.csv"            # document,date rows
//! boilerplate = ["my_patterns.txt"]
//! skip_bad = false
//! max_document_mb = 256               # longer documents are skipped (counted, with the reason)
//!
//! [cluster]                           # or method = "none"
//! method = "lsa-kmeans"
//! k = 20
//! dimensions = 100
//!
//! [charts]
//! formats = ["png", "svg"]            # or [] / "none": tables and reports only, no font needed
//! font = "fonts/NotoSansCJKsc-Regular.otf"
//!
//! [topics]
//! k = [10, 15, 20, 30]                # each model is fitted for each k
//! [[topics.models]]
//! method = "nmf"
//! [[topics.models]]
//! method = "lda"
//! iterations = 500
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cluster::ClusterConfig;
use crate::error::{Error, Result};
use crate::ingest::date::parse_date;
use crate::ingest::IngestOptions;
use crate::topics::keyatm::KeyAtmParams;
use crate::topics::TopicsConfig;
use crate::trends::analysis::TrendParams;
use crate::trends::period::NamedRange;
use crate::trends::{Period, PeriodSpec};
use crate::vectorize::VectorizeParams;
use crate::write::charts::ChartFormat;

#[derive(Debug, Clone, Serialize)]
pub struct RunConfig {
    /// Files or folders; empty means the built-in demo corpus.
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    pub ingest: IngestOptions,
    /// Boilerplate pattern files added to ours.
    pub boilerplate: Vec<PathBuf>,
    /// Estimated Jaccard similarity of character shingles from which two documents are duplicates.
    pub duplicate_threshold: f64,
    /// Two dated documents further apart than this are never duplicates of each other.
    pub duplicate_window_days: i64,
    /// Analyse every member of a duplicate group, not only the earliest.
    pub keep_duplicates: bool,
    pub periods: PeriodSpec,
    /// Use the shipped China–Russia theme lexicon (besides any `themes` files).
    pub default_themes: bool,
    /// Theme lexicon files (TOML).
    pub themes: Vec<PathBuf>,
    pub trends: TrendParams,
    pub cluster: ClusterConfig,
    pub topics: TopicsConfig,
    /// The keyword-assisted theme model (off unless asked for): the themes' seeds as keyword topics.
    pub theme_model: Option<KeyAtmParams>,
    pub seed: u64,
    /// Worker threads; 0 = one per core.
    pub threads: usize,
    pub keep_tokens: bool,
    /// Megabytes of input per shard: the unit of work of a sharded (Ray) run, and of reading in
    /// every run. It does not change any table or the run id.
    pub shard_mb: f64,
    pub user_dicts: Vec<PathBuf>,
    pub font: Option<PathBuf>,
    /// Chart files to draw; empty: none (and no font needed).
    pub charts: Vec<ChartFormat>,
    pub vectorize: VectorizeParams,
    /// Any skipped document stops the run.
    pub strict: bool,
    /// Lines in `charts/term_trends.png`.
    pub chart_terms: usize,
    #[serde(skip)]
    pub quiet: bool,
}

impl RunConfig {
    pub fn new(inputs: Vec<PathBuf>, out: PathBuf) -> Self {
        RunConfig {
            inputs,
            out,
            ingest: IngestOptions::default(),
            boilerplate: Vec::new(),
            duplicate_threshold: 0.8,
            duplicate_window_days: 90,
            keep_duplicates: false,
            periods: PeriodSpec::Fixed(Period::Year),
            default_themes: true,
            themes: Vec::new(),
            trends: TrendParams::default(),
            cluster: ClusterConfig::default(),
            topics: TopicsConfig::default(),
            theme_model: None,
            seed: 42,
            threads: 0,
            keep_tokens: false,
            shard_mb: crate::ingest::DEFAULT_SHARD_MB,
            user_dicts: Vec::new(),
            font: None,
            charts: vec![ChartFormat::Png],
            vectorize: VectorizeParams::default(),
            strict: false,
            chart_terms: 8,
            quiet: false,
        }
    }

    pub fn check(&self) -> Result<()> {
        if let ClusterConfig::LsaKmeans(params) = &self.cluster {
            params.check().map_err(Error::Config)?;
        }
        self.topics.check().map_err(Error::Config)?;
        if let Some(params) = &self.theme_model {
            params.check().map_err(Error::Config)?;
            if !self.default_themes && self.themes.is_empty() {
                return Err(Error::Config(
                    "the theme model needs themes: drop --no-default-themes or give --themes FILE".into(),
                ));
            }
        }
        if self.chart_terms == 0 || self.chart_terms > 10 {
            return Err(Error::Config(format!("chart terms must be 1 to 10, not {}", self.chart_terms)));
        }
        if !(0.0..=1.0).contains(&self.duplicate_threshold) || self.duplicate_threshold < 0.3 {
            return Err(Error::Config(format!(
                "duplicate threshold {} must be between 0.3 and 1.0 (share of shared shingles)",
                self.duplicate_threshold
            )));
        }
        if self.vectorize.vocabulary.max_features == Some(0) {
            return Err(Error::Config("max_features must be at least 1".into()));
        }
        if self.trends.bootstrap_replicates < 20 {
            return Err(Error::Config("bootstrap replicates must be at least 20 for a 95% interval".into()));
        }
        for (flag, paths) in
            [("--user-dict", &self.user_dicts), ("--boilerplate", &self.boilerplate), ("--themes", &self.themes)]
        {
            if let Some(path) = paths.iter().find(|p| !p.is_file()) {
                return Err(Error::Config(format!("{flag} {}: no such file", path.display())));
            }
        }
        Ok(())
    }
}

/// A study file: its `[input]` section and named `[periods]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Study {
    #[serde(default)]
    pub input: InputSection,
    /// Named date ranges in time order: `"2013-2017" = ["2013-01-01", "2017-12-31"]`.
    #[serde(default)]
    pub periods: toml::Table,
    /// `[cluster]`: `method = "lsa-kmeans"` (with k, dimensions, …) or `"none"`.
    pub cluster: Option<ClusterConfig>,
    /// `[topics]`: k values and `[[topics.models]]`; see [`TopicsConfig`].
    pub topics: Option<TopicsConfig>,
    /// `[theme_model]`: the keyword-assisted theme model's settings (its presence turns it on);
    /// see [`KeyAtmParams`].
    pub theme_model: Option<KeyAtmParams>,
    /// `[charts]`: formats and font.
    pub charts: Option<ChartsSection>,
    /// The file it was read from, named in its errors.
    #[serde(skip)]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChartsSection {
    /// `["png", "svg"]`, `[]` or `"none"`.
    pub formats: Option<ChartFormats>,
    pub font: Option<PathBuf>,
}

/// `formats = ["png", "svg"]` or `formats = "none"` (also `"png,svg"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ChartFormats {
    List(Vec<ChartFormat>),
    Text(String),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputSection {
    pub paths: Vec<PathBuf>,
    pub id: Option<String>,
    pub date: Option<String>,
    pub title: Option<String>,
    pub text: Option<String>,
    pub source: Option<String>,
    pub extra: Vec<String>,
    pub encoding: Option<String>,
    pub default_date: Option<String>,
    pub dates_file: Option<PathBuf>,
    pub boilerplate: Vec<PathBuf>,
    pub skip_bad: bool,
    pub max_document_mb: Option<u64>,
}

impl Study {
    /// Read a study file; its relative paths are taken relative to its folder.
    pub fn load(path: &Path) -> Result<Study> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut study: Study = toml::from_str(&text)
            .map_err(|e| Error::Config(format!("{}: {}", path.display(), e.to_string().trim())))?;
        study.path = path.to_path_buf();
        let dir = path.parent().unwrap_or(Path::new(""));
        let input = &mut study.input;
        let font = study.charts.as_mut().and_then(|c| c.font.as_mut());
        for p in
            input.paths.iter_mut().chain(input.dates_file.iter_mut()).chain(input.boilerplate.iter_mut()).chain(font)
        {
            *p = dir.join(&*p);
        }
        Ok(study)
    }

    /// Apply the study to `config`; an error names the study file.
    pub fn apply(&self, config: &mut RunConfig) -> Result<()> {
        self.apply_sections(config).map_err(|e| match e {
            Error::Config(message) => Error::Config(format!("{}: {message}", self.path.display())),
            other => other,
        })
    }

    fn apply_sections(&self, config: &mut RunConfig) -> Result<()> {
        let i = &self.input;
        let fields = &mut config.ingest.fields;
        for (slot, value) in [
            (&mut fields.id, &i.id),
            (&mut fields.date, &i.date),
            (&mut fields.title, &i.title),
            (&mut fields.text, &i.text),
        ] {
            if let Some(v) = value {
                *slot = v.clone();
            }
        }
        fields.source = i.source.clone().or(fields.source.take());
        fields.extra.extend(i.extra.iter().cloned());
        config.inputs.extend(i.paths.iter().cloned());
        config.ingest.encoding = i.encoding.clone().or(config.ingest.encoding.take());
        if let Some(date) = &i.default_date {
            config.ingest.default_date =
                Some(parse_date(date).map_err(|e| Error::Config(format!("[input] default_date: {e}")))?);
        }
        config.ingest.dates_file = i.dates_file.clone().or(config.ingest.dates_file.take());
        config.boilerplate.extend(i.boilerplate.iter().cloned());
        config.ingest.skip_bad |= i.skip_bad;
        config.ingest.max_document_mb = i.max_document_mb.or(config.ingest.max_document_mb);
        if !self.periods.is_empty() {
            config.periods = self.period_spec()?;
        }
        if let Some(cluster) = &self.cluster {
            config.cluster = cluster.clone();
        }
        if let Some(params) = &self.theme_model {
            config.theme_model = Some(params.clone());
        }
        if let Some(topics) = &self.topics {
            config.topics = topics.clone();
        }
        if let Some(charts) = &self.charts {
            match &charts.formats {
                Some(ChartFormats::List(list)) => config.charts = list.clone(),
                Some(ChartFormats::Text(text)) => {
                    config.charts = ChartFormat::parse_list(text).map_err(|e| Error::Config(format!("[charts] {e}")))?
                }
                None => {}
            }
            config.font = charts.font.clone().or(config.font.take());
        }
        Ok(())
    }

    fn period_spec(&self) -> Result<PeriodSpec> {
        let mut ranges = Vec::new();
        for (name, value) in &self.periods {
            let bad = |why: &str| {
                Error::Config(format!("[periods] {name}: {why}; write \"{name}\" = [\"2013-01-01\", \"2017-12-31\"]"))
            };
            let pair =
                value.as_array().filter(|a| a.len() == 2).ok_or_else(|| bad("expected a first and a last date"))?;
            let date = |v: &toml::Value| {
                v.as_str().ok_or_else(|| bad("dates are strings")).and_then(|s| parse_date(s).map_err(|e| bad(&e)))
            };
            ranges.push(NamedRange { name: name.clone(), first: date(&pair[0])?, last: date(&pair[1])? });
        }
        // toml tables iterate by key; time order is what the periods mean.
        ranges.sort_by_key(|r| r.first);
        PeriodSpec::custom(ranges).map_err(|e| Error::Config(format!("[periods]: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn study_input_section_maps_fields_and_resolves_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("study.toml");
        std::fs::write(
            &path,
            "[input]\npaths = [\"a.csv\"]\ntext = \"body\"\nextra = [\"section\"]\ndefault_date = \"2020-01-01\"\n",
        )
        .unwrap();
        let mut config = RunConfig::new(vec![], "out".into());
        Study::load(&path).unwrap().apply(&mut config).unwrap();
        assert_eq!(config.inputs, [dir.path().join("a.csv")]);
        assert_eq!(
            (config.ingest.fields.text.as_str(), config.ingest.fields.extra.as_slice()),
            ("body", &["section".to_string()][..])
        );
        assert_eq!(config.ingest.default_date, chrono::NaiveDate::from_ymd_opt(2020, 1, 1));
    }

    #[test]
    fn named_periods_come_in_time_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("study.toml");
        std::fs::write(
            &path,
            "[periods]\nlate = [\"2018-01-01\", \"2023-12-31\"]\nearly = [\"2013-01-01\", \"2017-12-31\"]\n",
        )
        .unwrap();
        let mut config = RunConfig::new(vec![], "out".into());
        Study::load(&path).unwrap().apply(&mut config).unwrap();
        let date = chrono::NaiveDate::from_ymd_opt(2015, 1, 1).unwrap();
        assert_eq!(config.periods.label(date).as_deref(), Some("early"));
        assert_eq!(config.periods.order(["late".into(), "early".into()]), ["early", "late"]);
    }

    #[test]
    fn the_charts_section_turns_charts_off_or_picks_formats_and_a_font() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("study.toml");
        let mut config = RunConfig::new(vec![], "out".into());
        std::fs::write(&path, "[charts]\nformats = \"none\"\n").unwrap();
        Study::load(&path).unwrap().apply(&mut config).unwrap();
        assert!(config.charts.is_empty());
        std::fs::write(&path, "[charts]\nformats = [\"svg\", \"png\"]\nfont = \"f.ttf\"\n").unwrap();
        Study::load(&path).unwrap().apply(&mut config).unwrap();
        assert_eq!(config.charts, [ChartFormat::Svg, ChartFormat::Png]);
        assert_eq!(config.font, Some(dir.path().join("f.ttf")));
        std::fs::write(&path, "[charts]\nformats = \"gif\"\n").unwrap();
        let err = Study::load(&path).unwrap().apply(&mut config).unwrap_err().to_string();
        assert!(err.contains("[charts] chart format 'gif'"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("study.toml");
        std::fs::write(&path, "[input]\ntxet = \"body\"\n").unwrap();
        let err = Study::load(&path).unwrap_err().to_string();
        assert!(err.contains("study.toml") && err.contains("unknown field `txet`"), "{err}");
    }

    #[test]
    fn model_sections_choose_methods_and_unknown_keys_name_the_section() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("study.toml");
        let text = "[cluster]\nmethod = \"none\"\n[topics]\nk = [10, 30]\n[[topics.models]]\nmethod = \"lda\"\niterations = 90\nburn_in = 60\n";
        std::fs::write(&path, text).unwrap();
        let mut config = RunConfig::new(vec![], "out".into());
        Study::load(&path).unwrap().apply(&mut config).unwrap();
        assert_eq!(config.cluster, ClusterConfig::None);
        assert_eq!(config.topics.k, [10, 30]);
        assert_eq!(config.topics.models[0].name(), "lda");
        config.check().unwrap();
        std::fs::write(&path, "[topics]\nks = [10]\n").unwrap();
        let err = Study::load(&path).unwrap_err().to_string();
        assert!(err.contains("study.toml") && err.contains("unknown field `ks`"), "{err}");
        std::fs::write(&path, "[topics]\nk = [1]\n").unwrap();
        let mut config = RunConfig::new(vec![], "out".into());
        Study::load(&path).unwrap().apply(&mut config).unwrap();
        assert!(config.check().unwrap_err().to_string().contains("k = 1"));
    }
}
