//! `themeshift._themeshift`: the engine for Python — a whole run, the stages on their own, and the
//! command line — with the GIL released during the work, Ctrl-C honoured within a step, and the
//! library's errors raised as a small hierarchy of exceptions with the CLI's messages.
//!
//! The pure-Python package (`python/themeshift/`) wraps these in Python's habits (keyword arguments,
//! `Run` objects, polars frames, scipy matrices); this module only moves data and errors across.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::time::Duration;

use clap::{CommandFactory, Parser};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyboardInterrupt};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyIterator, PyList, PyString};

use themeshift::cli::run::{resolve, RunCommand};
use themeshift::ingest::date::{date_in_text, TextDate};
use themeshift::ingest::header::split_header;
use themeshift::ingest::ShardPlan;
use themeshift::normalize::{Boilerplate, Normalizer, ScriptConverter};
use themeshift::pipeline::{RunSummary, Sharding};
use themeshift::progress;
use themeshift::segment::keywords::KeywordExtractor;
use themeshift::segment::{build_jieba, FilterChain, Segmenter, Tokenized};
use themeshift::shards::{PartialJoin, ShardPartial};
use themeshift::vectorize::{vectorize, DocFreq, VectorizeParams, Weights};
use themeshift::Error;

create_exception!(_themeshift, ThemeshiftError, PyException, "Base class of every themeshift error.");
create_exception!(
    _themeshift,
    InputError,
    ThemeshiftError,
    "An input file, line or record is unreadable (the message names it)."
);
create_exception!(_themeshift, ConfigError, ThemeshiftError, "An option, study file or lexicon is invalid or unknown.");
create_exception!(_themeshift, FontError, ThemeshiftError, "No usable CJK font for the charts (use charts='none').");
create_exception!(_themeshift, WriteError, ThemeshiftError, "An output could not be written.");

/// The library's error as the exception of its kind, with the message the CLI prints.
fn raise(error: &Error) -> PyErr {
    let message = error.to_string();
    match error {
        Error::Input { .. } | Error::Io { .. } | Error::Dictionary { .. } | Error::Strict { .. } => {
            InputError::new_err(message)
        }
        Error::Config(_) => ConfigError::new_err(message),
        Error::Font(_) => FontError::new_err(message),
        Error::Write { .. } => WriteError::new_err(message),
        Error::Shards(_) => ThemeshiftError::new_err(message),
    }
}

/// An error from the CLI layer: the library's own kind when it is one, else a configuration error.
fn raise_any(error: anyhow::Error) -> PyErr {
    match error.downcast_ref::<Error>() {
        Some(e) => raise(e),
        None => ConfigError::new_err(format!("{error:#}")),
    }
}

/// Run `work` on its own thread with the GIL released, in a pool of `threads` workers (0: one
/// per core), checking for Ctrl-C every 100 ms: on KeyboardInterrupt the work is cancelled at its
/// next step and the interrupt is raised once it has stopped.
fn interruptible<T: Send + 'static>(
    py: Python<'_>,
    threads: usize,
    work: impl FnOnce() -> PyResult<T> + Send + 'static,
) -> PyResult<T> {
    progress::clear_cancel();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| ConfigError::new_err(format!("starting {threads} threads: {e}")))?;
            pool.install(work)
        }));
        let _ = send.send(outcome);
    });
    let mut interrupt = None;
    let mut receive = receive;
    loop {
        // The receiver moves into the GIL-free wait and back (it may not be shared across threads).
        let (back, message) = py.detach(move || {
            let message = receive.recv_timeout(Duration::from_millis(100));
            (receive, message)
        });
        receive = back;
        match message {
            // Finished anyway after Ctrl-C: the interrupt still wins.
            Ok(Ok(result)) => return interrupt.map_or(result, Err),
            Ok(Err(payload)) => {
                return if interrupt.is_some() || payload.downcast_ref::<progress::Cancelled>().is_some() {
                    Err(interrupt.unwrap_or_else(|| PyKeyboardInterrupt::new_err("themeshift: interrupted")))
                } else {
                    Err(ThemeshiftError::new_err(format!("internal error: {}", panic_text(&payload))))
                };
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if interrupt.is_none() {
                    if let Err(err) = py.check_signals() {
                        progress::cancel();
                        interrupt = Some(err);
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(ThemeshiftError::new_err("internal error: the worker thread ended without a result"))
            }
        }
    }
}

fn panic_text(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a worker stopped".into())
}

fn parse_run(args: &[String]) -> PyResult<RunCommand> {
    RunCommand::try_parse_from(args).map_err(|e| ConfigError::new_err(e.render().to_string()))
}

fn summary_json(summary: &RunSummary) -> String {
    serde_json::json!({
        "out": summary.out,
        "counts": summary.counts,
        "trends": summary.trends,
        "models": summary.models,
        "outputs": summary.outputs,
        "adjustments": summary.adjustments,
        "stages": summary.stages,
    })
    .to_string()
}

fn plan_from_json(plan: &str) -> PyResult<ShardPlan> {
    serde_json::from_str(plan).map_err(|e| ConfigError::new_err(format!("not a themeshift shard plan: {e}")))
}

/// Run the pipeline as `themeshift run ARGS` does (ARGS without the program and subcommand
/// names); returns the run summary as JSON. Unknown options are refused by the caller before.
#[pyfunction]
fn run(py: Python<'_>, args: Vec<String>) -> PyResult<String> {
    let parsed = parse_run(&args)?;
    let threads = parsed.args.threads();
    interruptible(py, threads, move || {
        let config = resolve(parsed.args).map_err(raise_any)?;
        let summary = themeshift::pipeline::run(&config).map_err(|e| raise(&e))?;
        Ok(summary_json(&summary))
    })
}

/// The shard plan of `themeshift run ARGS` as JSON (the driver of a sharded run sends it to every
/// worker). The cheap checks of a run (options, font) come first, before any shard is read.
#[pyfunction]
fn shard_plan(py: Python<'_>, args: Vec<String>) -> PyResult<String> {
    let parsed = parse_run(&args)?;
    interruptible(py, 1, move || {
        let config = resolve(parsed.args).map_err(raise_any)?;
        config.check().map_err(|e| raise(&e))?;
        themeshift::write::charts::Charts::prepare(&config.charts, config.font.as_deref()).map_err(|e| raise(&e))?;
        let plan = themeshift::pipeline::shard_plan(&config).map_err(|e| raise(&e))?;
        serde_json::to_string(&plan).map_err(|e| ThemeshiftError::new_err(format!("internal error: {e}")))
    })
}

/// The map of one shard (read, normalize, segment) on `threads` threads: its partial (for the
/// driver), its texts and its tokens (kept where the shard was read until the driver asks about
/// them), as bytes.
#[pyfunction]
fn map_shard<'py>(
    py: Python<'py>,
    args: Vec<String>,
    plan: String,
    shard: usize,
    threads: usize,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let parsed = parse_run(&args)?;
    let (partial, texts, tokens) = interruptible(py, threads, move || {
        let config = resolve(parsed.args).map_err(raise_any)?;
        let plan = plan_from_json(&plan)?;
        let (partial, texts, tokens) = themeshift::pipeline::map_shard(&config, &plan, shard).map_err(|e| raise(&e))?;
        let encoded = (|| {
            Ok((
                partial.encode()?,
                themeshift::shards::encode_texts(&texts)?,
                themeshift::shards::encode_tokens(&tokens)?,
            ))
        })();
        drop((partial, texts, tokens));
        themeshift::shards::release_memory();
        encoded.map_err(|e: themeshift::Error| raise(&e))
    })?;
    Ok((PyBytes::new(py, &partial), PyBytes::new(py, &texts), PyBytes::new(py, &tokens)))
}

/// Let go of what `map_shard` keeps for the next shard (the normalizer and segmenter, tens of MB):
/// for a driver that read shards while its Ray started and will read no more.
#[pyfunction]
fn forget_reading_tools() {
    themeshift::pipeline::forget_reading_tools();
}

/// A shard's answer to one of the driver's requests about its texts (sentences for evidence,
/// occurrences of seeds, texts): `texts` as `map_shard` made them, `common` and `request` as the
/// driver's `ask_shards` got them. Runs where the texts are, so only the answer travels.
#[pyfunction]
fn answer_texts<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyBytes>,
    common: &Bound<'py, PyBytes>,
    request: &Bound<'py, PyBytes>,
) -> PyResult<Bound<'py, PyBytes>> {
    answer_about(py, texts, common, request, themeshift::shards::answer_texts)
}

/// A shard's answer to one of the driver's requests about its tokens (terms' frequencies, count
/// rows, theme hits, tokens): `tokens` as `map_shard` made them, `common` and `request` as the
/// driver's `ask_shards` got them. Runs where the tokens are, so only the answer travels.
#[pyfunction]
fn answer_tokens<'py>(
    py: Python<'py>,
    tokens: &Bound<'py, PyBytes>,
    common: &Bound<'py, PyBytes>,
    request: &Bound<'py, PyBytes>,
) -> PyResult<Bound<'py, PyBytes>> {
    answer_about(py, tokens, common, request, themeshift::shards::answer_tokens)
}

/// How a shard answers about what it holds: (held, common, request) bytes → the answer's.
type Answer = fn(&[u8], &[u8], &[u8]) -> themeshift::Result<Vec<u8>>;

/// A shard's answer about what it holds, made without the GIL.
fn answer_about<'py>(
    py: Python<'py>,
    held: &Bound<'py, PyBytes>,
    common: &Bound<'py, PyBytes>,
    request: &Bound<'py, PyBytes>,
    answer: Answer,
) -> PyResult<Bound<'py, PyBytes>> {
    let (held, common, request) = (held.as_bytes(), common.as_bytes(), request.as_bytes());
    let answer = py.detach(|| answer(held, common, request)).map_err(|e| raise(&e))?;
    Ok(PyBytes::new(py, &answer))
}

/// The answers `ask_shards` returns (any Python iterable of bytes), read one at a time.
struct PyAnswers(Py<PyIterator>);

impl Iterator for PyAnswers {
    type Item = themeshift::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        Python::attach(|py| {
            let answer = self.0.bind(py).clone().next()?;
            Some(
                answer
                    .and_then(|a| Ok(a.cast::<PyBytes>()?.as_bytes().to_vec()))
                    .map_err(|e| themeshift::Error::Shards(format!("asking the shards: {e}"))),
            )
        })
    }
}

/// The driver's side of a sharded run: partials are added as they arrive (each decoded at once
/// and folded into the join in shard order, so the driver holds neither every partial's bytes nor
/// every decoded partial), then `finish` runs every stage after segmentation. Returns the run
/// summary as JSON.
#[pyclass]
struct ShardJoin {
    args: Vec<String>,
    plan: ShardPlan,
    join: Option<PartialJoin>,
}

#[pymethods]
impl ShardJoin {
    #[new]
    fn new(args: Vec<String>, plan: String) -> PyResult<Self> {
        parse_run(&args)?;
        let plan = plan_from_json(&plan)?;
        Ok(ShardJoin { args, join: Some(PartialJoin::new(&plan)), plan })
    }

    fn add(&mut self, py: Python<'_>, partial: &Bound<'_, PyBytes>) -> PyResult<()> {
        let bytes = partial.as_bytes();
        let join = self.join.as_mut().ok_or_else(|| ConfigError::new_err("this join has finished"))?;
        py.detach(|| join.add(ShardPartial::decode(bytes)?)).map_err(|e| raise(&e))
    }

    /// `sharding`: the driver's account for the manifest, as JSON (`engine`, `map_seconds`,
    /// `driver_shards`, `models_on_workers`).
    /// `ask_shards(holding, common, requests)`: for `holding` (`"texts"`, `"tokens"`, or a
    /// model's shards: `"lda"`, `"theme_model"`), `common` (bytes, the same for every shard) and
    /// a list of `(shard, request bytes)`, the answers (an iterable of bytes, in the same order)
    /// that `answer_texts`, `answer_tokens` or a [`ModelShards`] gives on what the shard holds,
    /// wherever it is. `shards_done()`, if given, is called once the run will ask
    /// the shards nothing more (before the tables are written).
    #[pyo3(signature = (sharding, ask_shards, shards_done=None))]
    fn finish(
        &mut self,
        py: Python<'_>,
        sharding: String,
        ask_shards: Py<PyAny>,
        shards_done: Option<Py<PyAny>>,
    ) -> PyResult<String> {
        let parsed = parse_run(&self.args)?;
        let threads = parsed.args.threads();
        let plan = self.plan.clone();
        let join = self.join.take().ok_or_else(|| ConfigError::new_err("this join has finished"))?;
        interruptible(py, threads, move || {
            let config = resolve(parsed.args).map_err(raise_any)?;
            let account: serde_json::Value = serde_json::from_str(&sharding)
                .map_err(|e| ConfigError::new_err(format!("sharding account is not JSON: {e}")))?;
            let sharding = Sharding {
                engine: account["engine"].as_str().unwrap_or("ray").to_string(),
                shard_mb: config.shard_mb,
                map_seconds: account["map_seconds"].as_f64(),
                driver_shards: serde_json::from_value(account["driver_shards"].clone()).unwrap_or_default(),
                models_on_workers: serde_json::from_value(account["models_on_workers"].clone()).unwrap_or_default(),
                ..Sharding::default()
            };
            let done = WhenDropped(shards_done);
            let ask: themeshift::shards::AskShards = std::sync::Arc::new(move |holding, common, requests| {
                // The last handle on the shards is the last copy of this function.
                let _tell_when_dropped = &done;
                Python::attach(|py| -> PyResult<themeshift::shards::Answers> {
                    let requests: Vec<(usize, Bound<'_, PyBytes>)> =
                        requests.into_iter().map(|(s, r)| (s, PyBytes::new(py, &r))).collect();
                    let common = PyBytes::new(py, &common);
                    let answers = ask_shards.call1(py, (holding.name(), common, requests))?;
                    Ok(Box::new(PyAnswers(answers.bind(py).try_iter()?.unbind())))
                })
                .map_err(|e| {
                    themeshift::Error::Shards(format!("asking the shards about their {}: {e}", holding.name()))
                })
            });
            let summary =
                themeshift::pipeline::run_sharded(&config, &plan, join, ask, sharding).map_err(|e| raise(&e))?;
            Ok(summary_json(&summary))
        })
    }
}

/// One model's shards a Ray worker holds from sweep to sweep (an actor's state): `ModelShards(model)`
/// for `model` `"lda"`, `"nmf"`, `"lsa"` or `"theme_model"` (as the driver's `ask_shards` names them); `answer(shard,
/// common, request)` gives the encoded answer to what the driver's sampler sent for that shard.
#[pyclass]
struct ModelShards(Box<dyn themeshift::topics::away::ShardHost + Sync>);

#[pymethods]
impl ModelShards {
    #[new]
    fn new(model: &str) -> PyResult<Self> {
        use themeshift::topics::{keyatm_shards::ThemeShardHost, lda_shards::LdaShardHost, nmf_shards::NmfShardHost};
        match model {
            "lda" => Ok(ModelShards(Box::new(LdaShardHost::default()))),
            "nmf" => Ok(ModelShards(Box::new(NmfShardHost::default()))),
            "lsa" => Ok(ModelShards(Box::new(themeshift::cluster::lsa_shards::LsaShardHost::default()))),
            "theme_model" => Ok(ModelShards(Box::new(ThemeShardHost::default()))),
            other => Err(ConfigError::new_err(format!(
                "no model {other:?} has shards: use \"lda\", \"nmf\", \"lsa\" or \"theme_model\""
            ))),
        }
    }

    /// `tokens`: for LSA and NMF, whose shards are the plan's, a function of no arguments that gives the
    /// shard's tokens (bytes, as `answer_tokens` is given them); called only by a request that
    /// makes the shard's rows.
    #[pyo3(signature = (shard, common, request, tokens=None))]
    fn answer<'py>(
        &mut self,
        py: Python<'py>,
        shard: usize,
        common: &Bound<'py, PyBytes>,
        request: &Bound<'py, PyBytes>,
        tokens: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let (common, request, host) = (common.as_bytes(), request.as_bytes(), &mut self.0);
        let fetch = || -> themeshift::Result<Vec<u8>> {
            let Some(tokens) = &tokens else { return themeshift::shards::away::no_tokens() };
            Python::attach(|py| -> PyResult<Vec<u8>> {
                let bytes = tokens.call0(py)?.into_bound(py);
                Ok(bytes.cast::<PyBytes>()?.as_bytes().to_vec())
            })
            .map_err(|e| themeshift::Error::Shards(format!("fetching shard {shard}'s tokens: {e}")))
        };
        let answer = py.detach(|| host.answer(shard, common, request, &fetch)).map_err(|e| raise(&e))?;
        Ok(PyBytes::new(py, &answer))
    }
}

/// Calls its function (with no arguments) when dropped; an error there is reported as Python
/// reports an exception it cannot raise.
struct WhenDropped(Option<Py<PyAny>>);

impl Drop for WhenDropped {
    fn drop(&mut self) {
        if let Some(function) = self.0.take() {
            Python::attach(|py| {
                if let Err(error) = function.call0(py) {
                    error.write_unraisable(py, None);
                }
            });
        }
    }
}

/// `themeshift run`'s options: (flag, how it takes values, help). The ways, read from the
/// parser itself: `switch` (no value), `one` (one value), `list` (comma-separated values in one
/// flag), `repeat` (the flag once per value).
#[pyfunction]
fn run_options() -> Vec<(String, &'static str, String)> {
    RunCommand::command()
        .get_arguments()
        .filter_map(|a| {
            let long = a.get_long()?.to_string();
            let way = if !a.get_action().takes_values() {
                "switch"
            } else if a.get_value_delimiter().is_some() {
                "list"
            } else if matches!(a.get_action(), clap::ArgAction::Append) {
                "repeat"
            } else {
                "one"
            };
            Some((long, way, a.get_help().map(|h| h.to_string()).unwrap_or_default()))
        })
        .collect()
}

/// The command line, served from this extension (`themeshift` on the path after `pip install`).
#[pyfunction]
fn cli(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(|| themeshift::cli::run_command_line(argv))
}

/// Each text normalized as a run normalizes documents: traditional → simplified, widths,
/// whitespace, boilerplate and repeated paragraphs removed.
#[pyfunction]
fn normalize(py: Python<'_>, texts: Vec<String>) -> PyResult<Vec<String>> {
    interruptible(py, 0, move || {
        use rayon::prelude::*;
        let normalizer = Normalizer {
            converter: ScriptConverter::new().map_err(|e| raise(&e))?,
            boilerplate: Boilerplate::new(&[]).map_err(|e| raise(&e))?,
        };
        Ok(texts.par_iter().map(|t| normalizer.clean(t).0).collect())
    })
}

fn segment_texts(py: Python<'_>, texts: Vec<String>, user_dicts: Vec<String>, threads: usize) -> PyResult<Tokenized> {
    // The shipped dictionary's segmenter is built once per session (~0.1 s); with user
    // dictionaries, a new one each call (the files may have changed).
    static SHIPPED: std::sync::OnceLock<Segmenter> = std::sync::OnceLock::new();
    interruptible(py, threads, move || {
        if user_dicts.is_empty() {
            let segmenter = match SHIPPED.get() {
                Some(s) => s,
                None => {
                    let jieba = build_jieba(&user_dicts).map_err(|e| raise(&e))?;
                    SHIPPED.get_or_init(|| Segmenter::new(jieba, FilterChain::standard()))
                }
            };
            return Ok(segmenter.segment_texts(&texts));
        }
        let jieba = build_jieba(&user_dicts).map_err(|e| raise(&e))?;
        Ok(Segmenter::new(jieba, FilterChain::standard()).segment_texts(&texts))
    })
}

/// Each text's tokens, exactly as a run segments (jieba-rs with our dictionary and stopwords,
/// plus `user_dicts`): a list of token lists. Each distinct term is one Python string, shared by
/// every list it occurs in.
#[pyfunction]
#[pyo3(signature = (texts, user_dicts = Vec::new(), threads = 0))]
fn segment<'py>(
    py: Python<'py>,
    texts: Vec<String>,
    user_dicts: Vec<String>,
    threads: usize,
) -> PyResult<Bound<'py, PyList>> {
    let tokenized = segment_texts(py, texts, user_dicts, threads)?;
    let terms: Vec<Bound<'py, PyString>> = tokenized.terms.iter().map(|t| PyString::new(py, t)).collect();
    let lists: Vec<Bound<'py, PyList>> = (0..tokenized.n_docs())
        .map(|d| PyList::new(py, tokenized.doc(d).iter().map(|&id| &terms[id as usize])))
        .collect::<PyResult<_>>()?;
    PyList::new(py, lists)
}

/// The same tokens as flat buffers for Arrow: (terms, term ids as little-endian u32 bytes,
/// document offsets as little-endian u64 bytes).
#[pyfunction]
#[pyo3(signature = (texts, user_dicts = Vec::new(), threads = 0))]
fn segment_ids<'py>(
    py: Python<'py>,
    texts: Vec<String>,
    user_dicts: Vec<String>,
    threads: usize,
) -> PyResult<(Vec<String>, Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let tokenized = segment_texts(py, texts, user_dicts, threads)?;
    let ids: Vec<u8> = tokenized.ids.iter().flat_map(|i| i.to_le_bytes()).collect();
    let offsets: Vec<u8> = tokenized.offsets.iter().flat_map(|&o| (o as u64).to_le_bytes()).collect();
    Ok((tokenized.terms, PyBytes::new(py, &ids), PyBytes::new(py, &offsets)))
}

/// jieba-style TF-IDF keywords of one text (as `themeshift keywords`): (word, weight) pairs.
#[pyfunction]
#[pyo3(signature = (text, top = 20))]
fn keywords(py: Python<'_>, text: String, top: usize) -> PyResult<Vec<(String, f64)>> {
    interruptible(py, 0, move || {
        static EXTRACTOR: std::sync::OnceLock<KeywordExtractor> = std::sync::OnceLock::new();
        let extractor = EXTRACTOR.get_or_init(|| KeywordExtractor::new(jieba_rs::Jieba::new()));
        Ok(extractor.extract(&text, top).into_iter().map(|k| (k.word, k.weight)).collect())
    })
}

/// TF-IDF of token lists with scikit-learn's semantics, as a run computes it: (indptr, indices,
/// data) of a CSR matrix as little-endian bytes (u64, u32, f32), its shape, and the vocabulary.
/// `min_df`/`max_df` as the CLI takes them: `"2"` documents or a `"0.5"` share.
#[pyfunction]
#[pyo3(signature = (token_lists, min_df = "1".to_string(), max_df = "1.0".to_string(), max_features = None, sublinear_tf = false))]
#[allow(clippy::type_complexity)]
fn tfidf<'py>(
    py: Python<'py>,
    token_lists: Vec<Vec<String>>,
    min_df: String,
    max_df: String,
    max_features: Option<usize>,
    sublinear_tf: bool,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyBytes>, (usize, usize), Vec<String>)> {
    let doc_freq = |text: &str, name: &str| -> PyResult<DocFreq> {
        text.parse().map_err(|e: String| ConfigError::new_err(format!("{name}: {e}")))
    };
    let mut params = VectorizeParams::default();
    params.vocabulary.min_df = doc_freq(&min_df, "min_df")?;
    params.vocabulary.max_df = doc_freq(&max_df, "max_df")?;
    params.vocabulary.max_features = max_features;
    params.sublinear_tf = sublinear_tf;
    let v = interruptible(py, 0, move || {
        let tokenized = Tokenized::from_token_lists(&token_lists);
        let rows = (0..tokenized.n_docs()).collect();
        let v = vectorize(&tokenized, rows, &params).map_err(|e| raise(&e))?;
        // Stored here, in the call's thread pool (rayon's global pool is the CLI's to start).
        let m = v.tfidf().stored().into_owned();
        Ok((m, v.vocabulary.terms))
    })?;
    let (m, terms) = v;
    let indptr: Vec<u8> = m.indptr.iter().flat_map(|&o| (o as u64).to_le_bytes()).collect();
    let indices: Vec<u8> = m.indices.iter().flat_map(|i| i.to_le_bytes()).collect();
    let data: Vec<u8> = m.values.iter().flat_map(|x| x.to_le_bytes()).collect();
    let shape = (m.n_rows(), m.n_cols);
    Ok((PyBytes::new(py, &indptr), PyBytes::new(py, &indices), PyBytes::new(py, &data), shape, terms))
}

/// The date rules of ingest for texts without metadata: a `发布时间：` (or 日期/时间) header line,
/// else a full date in the opening 300 characters. Per text: (ISO date or None, where it came
/// from, why there is none).
#[pyfunction]
fn dates(texts: Vec<String>) -> Vec<(Option<String>, String, Option<String>)> {
    texts
        .iter()
        .map(|text| {
            let (header, body) = split_header(text.trim_start_matches('\u{FEFF}'));
            match header.date {
                Some(Ok(date)) => (Some(date.to_string()), "header".into(), None),
                Some(Err(reason)) => (None, "none".into(), Some(format!("the header's date line: {reason}"))),
                None => match date_in_text(body) {
                    TextDate::Full(date) => (Some(date.to_string()), "text".into(), None),
                    TextDate::MonthDayOnly(md) => (
                        None,
                        "none".into(),
                        Some(format!("no date line; the text gives a month and day ({md}) but no year")),
                    ),
                    TextDate::None => (
                        None,
                        "none".into(),
                        Some("no date line and no full date in the opening 300 characters".into()),
                    ),
                },
            }
        })
        .collect()
}

#[pymodule]
fn _themeshift(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ThemeshiftError", py.get_type::<ThemeshiftError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("FontError", py.get_type::<FontError>())?;
    m.add("WriteError", py.get_type::<WriteError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<ShardJoin>()?;
    m.add_class::<ModelShards>()?;
    for f in [
        wrap_pyfunction!(run, m)?,
        wrap_pyfunction!(run_options, m)?,
        wrap_pyfunction!(shard_plan, m)?,
        wrap_pyfunction!(map_shard, m)?,
        wrap_pyfunction!(forget_reading_tools, m)?,
        wrap_pyfunction!(answer_texts, m)?,
        wrap_pyfunction!(answer_tokens, m)?,
        wrap_pyfunction!(cli, m)?,
        wrap_pyfunction!(normalize, m)?,
        wrap_pyfunction!(segment, m)?,
        wrap_pyfunction!(segment_ids, m)?,
        wrap_pyfunction!(keywords, m)?,
        wrap_pyfunction!(tfidf, m)?,
        wrap_pyfunction!(dates, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
