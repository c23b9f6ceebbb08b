//! Results → polars frames (one builder per table of [`schema`](super::schema)) → Parquet.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::io::parquet::write::KeyValueMetadata;
use polars::prelude::*;

use super::atomic;
use super::schema::{self, Table};
use crate::corpus::Document;
use crate::error::{Error, Origin, Result};
use crate::segment::Tokenized;
use crate::trends::analysis::TrendResults;
use crate::trends::keyness::Keyness;
use crate::trends::themes::ThemePeriod;
use crate::trends::RateInterval;
use crate::vectorize::{Csr, Vocabulary, Weights};

/// The key-value metadata entry naming the run a table belongs to (as `manifest.json`'s `run_id`).
pub const RUN_ID_KEY: &str = "themeshift:run_id";

/// Write `frame` to `path`, atomically, marked as a table of run `run_id`. Zstd, the writer's
/// defaults otherwise, and a portable Arrow schema (see [`portable_arrow_schema`]).
pub fn write_parquet(path: &Path, frame: PolarsResult<DataFrame>, run_id: &str) -> Result<()> {
    crate::progress::check();
    let mut frame = frame.map_err(|e| Error::write(path, e))?;
    let metadata = table_metadata(&frame, run_id);
    atomic::write_with(path, |w| {
        ParquetWriter::new(w)
            .with_key_value_metadata(Some(metadata))
            .finish(&mut frame)
            .map(|_| ())
            .map_err(|e| Error::write(path, e))
    })
}

/// Rows per row group of a table written in groups (polars' own default row group size).
pub const ROW_GROUP: usize = 512 * 512;

/// Write a table of `n_rows` rows that is built [`ROW_GROUP`] rows at a time by `build(range)`, so
/// that a large table (TF-IDF coordinates: tens of millions of rows) never exists whole as a frame
/// beside the data it is made from. A table of one group is written as [`write_parquet`] writes it.
pub fn write_parquet_in_groups(
    path: &Path,
    n_rows: usize,
    build: impl Fn(std::ops::Range<usize>) -> PolarsResult<DataFrame>,
    run_id: &str,
) -> Result<()> {
    if n_rows <= ROW_GROUP {
        return write_parquet(path, build(0..n_rows), run_id);
    }
    let fail = |e: PolarsError| Error::write(path, e);
    let first = build(0..ROW_GROUP).map_err(fail)?;
    let metadata = table_metadata(&first, run_id);
    atomic::write_with(path, |w| {
        let mut writer =
            ParquetWriter::new(w).with_key_value_metadata(Some(metadata)).batched(first.schema()).map_err(fail)?;
        writer.write_batch(&first).map_err(fail)?;
        for start in (ROW_GROUP..n_rows).step_by(ROW_GROUP) {
            crate::progress::check();
            let group = build(start..(start + ROW_GROUP).min(n_rows)).map_err(fail)?;
            writer.write_batch(&group).map_err(fail)?;
        }
        writer.finish().map(|_| ()).map_err(fail)
    })
}

fn table_metadata(frame: &DataFrame, run_id: &str) -> KeyValueMetadata {
    KeyValueMetadata::from_static(vec![
        ("ARROW:schema".into(), portable_arrow_schema(frame)),
        ("themeshift:version".into(), env!("CARGO_PKG_VERSION").into()),
        (RUN_ID_KEY.into(), run_id.into()),
    ])
}

/// The frame's Arrow schema at polars' oldest compatibility level (`large_string`,
/// `large_list<large_string>`; no view types), encoded as Parquet files carry it: base64 of an IPC
/// schema message behind a continuation marker and its length. Readers restore column types from
/// this entry; polars' writer would store view types there, which pandas cannot convert inside
/// lists. The stored pages are the same either way.
fn portable_arrow_schema(frame: &DataFrame) -> String {
    use base64::Engine;
    use polars_arrow::io::ipc::write::{default_ipc_fields, schema_to_bytes};
    let schema = frame.schema().to_arrow(CompatLevel::oldest());
    let message = schema_to_bytes(&schema, &default_ipc_fields(schema.iter_values()), None);
    let mut framed = Vec::with_capacity(message.len() + 8);
    framed.extend_from_slice(&[0xff; 4]);
    framed.extend_from_slice(&(message.len() as u32).to_le_bytes());
    framed.extend_from_slice(&message);
    base64::engine::general_purpose::STANDARD.encode(framed)
}

/// The run a Parquet file says it belongs to, if it says.
pub fn run_id_of(path: &Path) -> Result<Option<String>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = ParquetReader::new(file);
    let metadata =
        reader.get_metadata().map_err(|e| Error::input(Origin::file(path), format!("unreadable Parquet: {e}")))?;
    Ok(metadata.key_value_metadata().iter().flatten().find(|kv| kv.key == RUN_ID_KEY).and_then(|kv| kv.value.clone()))
}

/// One of a run's tables read back, with its file, so that a missing or mistyped column is an
/// error naming the file (the readers of `rerun` and `html` share these).
pub struct ReadTable {
    pub frame: DataFrame,
    pub path: PathBuf,
}

impl ReadTable {
    pub fn read(dir: &Path, table: &Table) -> Result<ReadTable> {
        Ok(ReadTable { frame: read_parquet(dir, table)?, path: dir.join(table.file) })
    }

    /// A column error, naming the file and what to do about it.
    pub fn error(&self, e: PolarsError) -> Error {
        Error::input(
            Origin::file(&self.path),
            format!("{e}; this table was not written by this version of `themeshift run` — run it again"),
        )
    }

    pub fn strings(&self, name: &str) -> Result<Vec<Option<String>>> {
        Ok(self.texts(name)?.iter().map(|v| v.map(str::to_string)).collect())
    }

    /// A text column as it is held, read without a copy of each value.
    pub fn texts(&self, name: &str) -> Result<&StringChunked> {
        self.frame.column(name).and_then(|c| c.str()).map_err(|e| self.error(e))
    }

    /// The column as `T` (cast from narrower types), nulls as zero.
    pub fn numbers<T: PolarsNumericType>(&self, name: &str) -> Result<Vec<T::Native>> {
        let column = self.frame.column(name).and_then(|c| c.cast(&T::get_static_dtype())).map_err(|e| self.error(e))?;
        let values = column.as_materialized_series().unpack::<T>().map_err(|e| self.error(e))?;
        Ok(values.iter().map(Option::unwrap_or_default).collect())
    }

    /// The column as f64, nulls as NaN.
    pub fn floats(&self, name: &str) -> Result<Vec<f64>> {
        let column = self.frame.column(name).and_then(|c| c.cast(&DataType::Float64)).map_err(|e| self.error(e))?;
        let values = column.f64().map_err(|e| self.error(e))?;
        Ok(values.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    }
}

/// Read one of a run's tables.
pub fn read_parquet(dir: &Path, table: &Table) -> Result<DataFrame> {
    let path = dir.join(table.file);
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
    ParquetReader::new(file).finish().map_err(|e| Error::input(Origin::file(&path), format!("unreadable Parquet: {e}")))
}

fn days_since_epoch(date: NaiveDate) -> i32 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid epoch")).num_days() as i32
}

/// `extra` names the user's metadata columns, in the order of `Document::extra`.
/// Each document's cluster and leading topic (null when not analysed or not modelled).
#[derive(Debug, Clone, Default)]
pub struct DocumentGroups {
    pub cluster: Vec<Option<u32>>,
    pub top_topic: Vec<Option<u32>>,
}

pub fn documents(
    docs: &[Document],
    periods: &[Option<String>],
    n_tokens: &[u64],
    groups: &DocumentGroups,
    extra: &[String],
) -> PolarsResult<DataFrame> {
    let strings = |f: fn(&Document) -> &str| Series::new("".into(), docs.iter().map(f).collect::<Vec<_>>());
    let dates: Vec<Option<i32>> = docs.iter().map(|d| d.date.map(days_since_epoch)).collect();
    let mut keywords = ListStringChunkedBuilder::new("".into(), docs.len(), docs.len());
    for doc in docs {
        keywords.append_values_iter(doc.keywords.iter().map(String::as_str));
    }
    let mut frame = schema::DOCUMENTS.frame(vec![
        strings(|d| &d.id),
        Series::new("".into(), dates).into_date(),
        Series::new("".into(), periods.to_vec()),
        strings(|d| &d.title),
        strings(|d| &d.source),
        strings(|d| d.script.as_str()),
        strings(|d| d.date_source.as_str()),
        Series::new("".into(), docs.iter().map(|d| d.chars).collect::<Vec<_>>()),
        Series::new("".into(), n_tokens.iter().map(|&n| n as u32).collect::<Vec<_>>()),
        keywords.finish().into_series(),
        Series::new("".into(), docs.iter().map(|d| d.boilerplate_chars).collect::<Vec<_>>()),
        Series::new("".into(), docs.iter().map(|d| d.repeated_chars).collect::<Vec<_>>()),
        Series::new("".into(), docs.iter().map(|d| d.duplicate_of.as_deref()).collect::<Vec<_>>()),
        Series::new("".into(), groups.cluster.clone()),
        Series::new("".into(), groups.top_topic.clone()),
    ])?;
    for (i, name) in extra.iter().enumerate() {
        let values: Vec<Option<&str>> = docs.iter().map(|d| d.extra.get(i).and_then(|v| v.as_deref())).collect();
        frame.with_column(Series::new(name.as_str().into(), values).into_column())?;
    }
    Ok(frame)
}

pub fn tokens(docs: &[Document], texts: &[String], tokenized: &Tokenized) -> PolarsResult<DataFrame> {
    let mut builder = ListStringChunkedBuilder::new("".into(), docs.len(), tokenized.ids.len());
    for d in 0..docs.len() {
        builder.append_values_iter(tokenized.doc_terms(d));
    }
    let ids = Series::new("".into(), docs.iter().map(|d| d.id.as_str()).collect::<Vec<_>>());
    let texts = Series::new("".into(), texts.iter().map(String::as_str).collect::<Vec<_>>());
    schema::TOKENS.frame(vec![ids, texts, builder.finish().into_series()])
}

pub fn vocabulary(vocabulary: &Vocabulary, idf: &[f64]) -> PolarsResult<DataFrame> {
    schema::VOCABULARY.frame(vec![
        Series::new("".into(), (0..vocabulary.len() as u32).collect::<Vec<_>>()),
        Series::new("".into(), vocabulary.terms.as_slice()),
        Series::new("".into(), vocabulary.df.as_slice()),
        Series::new("".into(), vocabulary.cf.as_slice()),
        Series::new("".into(), idf),
    ])
}

/// `doc_of_row[r]` is the row of `documents.parquet` that matrix row `r` belongs to.
pub fn tfidf(
    matrix: &dyn Weights,
    counts: &Csr<u32>,
    doc_of_row: &[usize],
    entries: std::ops::Range<usize>,
) -> PolarsResult<DataFrame> {
    let indptr = matrix.indptr();
    // The matrix rows the range's entries lie in, found from the row offsets.
    let first = indptr.partition_point(|&start| start <= entries.start).saturating_sub(1);
    let (mut rows, mut weights) = (Vec::with_capacity(entries.len()), Vec::with_capacity(entries.len()));
    let mut buf = Vec::new();
    for r in (first..matrix.n_rows()).take_while(|&r| indptr[r] < entries.end) {
        let span = indptr[r].max(entries.start)..indptr[r + 1].min(entries.end);
        rows.extend(std::iter::repeat_n(doc_of_row[r] as u32, span.len()));
        weights.extend_from_slice(matrix.weights(r, span, &mut buf));
    }
    schema::TFIDF.frame(vec![
        Series::new("".into(), rows),
        Series::new("".into(), &matrix.indices()[entries.clone()]),
        Series::new("".into(), &counts.values[entries]),
        Series::new("".into(), weights),
    ])
}

/// tfidf.parquet's rows made from count rows fetched a chunk of rows at a time, in order (a
/// sharded run's shards' rows, each shard's made where its tokens are): only one chunk is held,
/// and a range of entries is built as [`tfidf`] builds it from the whole matrix, so the table's
/// bytes are the same.
pub struct TfidfByChunks<'a> {
    /// Consecutive ranges of rows covering all rows.
    chunks: Vec<std::ops::Range<usize>>,
    fetch: Box<dyn Fn(std::ops::Range<usize>) -> Result<Csr<u32>> + Send + Sync + 'a>,
    idf: &'a [f64],
    sublinear_tf: bool,
    doc_of_row: &'a [usize],
    held: std::sync::Mutex<Option<HeldChunk>>,
}

/// The chunk of rows [`TfidfByChunks`] holds: its index, its first entry, its counts and row norms.
type HeldChunk = (usize, usize, Csr<u32>, Vec<f64>);

impl<'a> TfidfByChunks<'a> {
    pub fn new(
        chunks: Vec<std::ops::Range<usize>>,
        fetch: impl Fn(std::ops::Range<usize>) -> Result<Csr<u32>> + Send + Sync + 'a,
        idf: &'a [f64],
        sublinear_tf: bool,
        doc_of_row: &'a [usize],
    ) -> Self {
        TfidfByChunks { chunks, fetch: Box::new(fetch), idf, sublinear_tf, doc_of_row, held: Default::default() }
    }

    /// The frame of `entries`, which must follow the last range asked (or start at 0).
    pub fn frame(&self, entries: std::ops::Range<usize>) -> PolarsResult<DataFrame> {
        let failed = |e: Error| PolarsError::ComputeError(e.to_string().into());
        let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut pieces: Option<DataFrame> = None;
        let mut at = entries.start;
        while at < entries.end {
            // The next chunk once the one held ends before `at`.
            while held.as_ref().is_none_or(|(_, first, counts, _)| first + counts.nnz() <= at) {
                let (next, first) = match held.as_ref() {
                    Some((i, first, counts, _)) => (i + 1, first + counts.nnz()),
                    None => (0, 0),
                };
                let rows = self.chunks.get(next).ok_or_else(|| {
                    PolarsError::ComputeError(format!("tfidf: entry {at} lies past the rows' last chunk").into())
                })?;
                let counts = (self.fetch)(rows.clone()).map_err(failed)?;
                let norms = crate::vectorize::row_norms(&counts, self.idf, self.sublinear_tf);
                *held = Some((next, first, counts, norms));
            }
            let (i, first, counts, norms) = held.as_ref().expect("a chunk is held");
            let end = entries.end.min(first + counts.nnz());
            let weights = crate::vectorize::TfidfWeights::new(counts, self.idf, norms, self.sublinear_tf);
            let piece = tfidf(&weights, counts, &self.doc_of_row[self.chunks[*i].clone()], at - first..end - first)?;
            match pieces.as_mut() {
                Some(frame) => {
                    frame.vstack_mut(&piece)?;
                }
                None => pieces = Some(piece),
            }
            at = end;
        }
        let mut frame = match pieces {
            Some(frame) => frame,
            None => {
                let none = Csr::from_rows(self.idf.len(), Vec::new());
                tfidf(&crate::vectorize::TfidfWeights::new(&none, self.idf, &[], false), &none, &[], 0..0)?
            }
        };
        frame.rechunk_mut();
        Ok(frame)
    }
}

/// Rows of term_trends.parquet: one per term and period, zeros included, sorted by term then period.
pub fn term_trend_rows(vocabulary: &Vocabulary, trends: &TrendResults) -> usize {
    vocabulary.len() * trends.terms.periods.len()
}

/// Rows `rows` of term_trends.parquet (of [`term_trend_rows`]; built a row group at a time).
pub fn term_trends(
    vocabulary: &Vocabulary,
    trends: &TrendResults,
    rows: std::ops::Range<usize>,
) -> PolarsResult<DataFrame> {
    let t = &trends.terms;
    let n_periods = t.periods.len();
    let cell = |i: usize| (i % n_periods, i / n_periods);
    let slot: std::collections::HashMap<usize, usize> =
        trends.interval_terms.iter().enumerate().map(|(i, &t)| (t, i)).collect();
    let ci = |pick: fn(&RateInterval) -> f64| {
        let values: Vec<Option<f64>> = rows
            .clone()
            .map(|i| {
                let (p, term) = cell(i);
                slot.get(&term).map(|&s| pick(&trends.intervals[p][s]))
            })
            .collect();
        Series::new("".into(), values)
    };
    schema::TERM_TRENDS.frame(vec![
        Series::new("".into(), rows.clone().map(|i| vocabulary.terms[cell(i).1].as_str()).collect::<Vec<_>>()),
        Series::new("".into(), rows.clone().map(|i| t.periods[cell(i).0].period.as_str()).collect::<Vec<_>>()),
        Series::new("".into(), rows.clone().map(|i| t.count[cell(i).0][cell(i).1]).collect::<Vec<_>>()),
        Series::new("".into(), rows.clone().map(|i| t.per_10k(cell(i).0, cell(i).1)).collect::<Vec<_>>()),
        Series::new("".into(), rows.clone().map(|i| t.doc_freq[cell(i).0][cell(i).1]).collect::<Vec<_>>()),
        Series::new("".into(), rows.clone().map(|i| t.doc_share(cell(i).0, cell(i).1)).collect::<Vec<_>>()),
        Series::new("".into(), rows.clone().map(|i| t.periods[cell(i).0].n_docs).collect::<Vec<_>>()),
        Series::new("".into(), rows.clone().map(|i| t.periods[cell(i).0].n_tokens).collect::<Vec<_>>()),
        ci(|c| c.0 .0),
        ci(|c| c.0 .1),
        ci(|c| c.1 .0),
        ci(|c| c.1 .1),
    ])
}

pub fn periods(trends: &TrendResults) -> PolarsResult<DataFrame> {
    let p = &trends.terms.periods;
    schema::PERIODS.frame(vec![
        Series::new("".into(), p.iter().map(|t| t.period.as_str()).collect::<Vec<_>>()),
        Series::new("".into(), p.iter().map(|t| t.n_docs).collect::<Vec<_>>()),
        Series::new("".into(), p.iter().map(|t| t.n_tokens).collect::<Vec<_>>()),
        Series::new("".into(), trends.underpowered.as_slice()),
    ])
}

pub fn string_lists<'a>(lists: impl ExactSizeIterator<Item = Vec<&'a str>>) -> Series {
    let mut builder = ListStringChunkedBuilder::new("".into(), lists.len(), lists.len());
    for list in lists {
        builder.append_values_iter(list.into_iter());
    }
    builder.finish().into_series()
}

pub fn term_trend_stats(vocabulary: &Vocabulary, trends: &TrendResults) -> PolarsResult<DataFrame> {
    let s = &trends.stats;
    let period = |p: usize| trends.terms.periods[p].period.as_str();
    schema::TERM_TREND_STATS.frame(vec![
        Series::new("".into(), s.iter().map(|x| vocabulary.terms[x.term].as_str()).collect::<Vec<_>>()),
        Series::new("".into(), s.iter().map(|x| x.n_periods).collect::<Vec<_>>()),
        Series::new("".into(), s.iter().map(|x| x.sen_slope).collect::<Vec<_>>()),
        Series::new("".into(), s.iter().map(|x| x.mk_tau).collect::<Vec<_>>()),
        Series::new("".into(), s.iter().map(|x| x.mk_p).collect::<Vec<_>>()),
        Series::new("".into(), s.iter().map(|x| x.mk_q).collect::<Vec<_>>()),
        Series::new("".into(), s.iter().map(|x| x.direction).collect::<Vec<_>>()),
        Series::new("".into(), s.iter().map(|x| period(x.peak_period)).collect::<Vec<_>>()),
        Series::new("".into(), s.iter().map(|x| period(x.first_period)).collect::<Vec<_>>()),
        string_lists(s.iter().map(|x| x.change_points.iter().map(|&p| period(p)).collect())),
    ])
}

/// `terms[k.term]` names each row's term.
pub fn keyness(terms: &[String], rows: &[Keyness]) -> PolarsResult<DataFrame> {
    schema::KEYNESS.frame(vec![
        Series::new("".into(), rows.iter().map(|k| terms[k.term].as_str()).collect::<Vec<_>>()),
        Series::new("".into(), rows.iter().map(|k| &*k.target).collect::<Vec<_>>()),
        Series::new("".into(), rows.iter().map(|k| &*k.reference).collect::<Vec<_>>()),
        Series::new("".into(), rows.iter().map(|k| k.g2).collect::<Vec<_>>()),
        Series::new("".into(), rows.iter().map(|k| k.p_value).collect::<Vec<_>>()),
        Series::new("".into(), rows.iter().map(|k| k.q_value).collect::<Vec<_>>()),
        Series::new("".into(), rows.iter().map(|k| k.log_ratio).collect::<Vec<_>>()),
        Series::new("".into(), rows.iter().map(|k| k.count_target).collect::<Vec<_>>()),
        Series::new("".into(), rows.iter().map(|k| k.count_reference).collect::<Vec<_>>()),
        Series::new("".into(), rows.iter().map(|k| k.total_target).collect::<Vec<_>>()),
        Series::new("".into(), rows.iter().map(|k| k.total_reference).collect::<Vec<_>>()),
    ])
}

pub fn themes(trends: &TrendResults) -> PolarsResult<DataFrame> {
    let t = &trends.theme_periods;
    let f = |pick: fn(&ThemePeriod) -> f64| Series::new("".into(), t.iter().map(pick).collect::<Vec<_>>());
    schema::THEMES.frame(vec![
        Series::new("".into(), t.iter().map(|x| trends.themes[x.theme].name.as_str()).collect::<Vec<_>>()),
        Series::new("".into(), t.iter().map(|x| trends.themes[x.theme].label.as_str()).collect::<Vec<_>>()),
        Series::new("".into(), t.iter().map(|x| trends.terms.periods[x.period].period.as_str()).collect::<Vec<_>>()),
        f(|x| x.hits),
        Series::new("".into(), t.iter().map(|x| x.n_docs).collect::<Vec<_>>()),
        Series::new("".into(), t.iter().map(|x| x.n_tokens).collect::<Vec<_>>()),
        f(|x| x.share),
        f(|x| x.share_ci.0),
        f(|x| x.share_ci.1),
        f(|x| x.per_10k),
        f(|x| x.per_10k_ci.0),
        f(|x| x.per_10k_ci.1),
        f(|x| x.doc_share),
        f(|x| x.doc_share_ci.0),
        f(|x| x.doc_share_ci.1),
    ])
}

pub fn theme_stats(trends: &TrendResults) -> PolarsResult<DataFrame> {
    let s = &trends.theme_stats;
    let theme = |k: usize| &trends.themes[k];
    let period = |p: usize| trends.terms.periods[p].period.as_str();
    schema::THEME_STATS.frame(vec![
        Series::new("".into(), s.iter().map(|x| theme(x.term).name.as_str()).collect::<Vec<_>>()),
        Series::new("".into(), s.iter().map(|x| theme(x.term).label.as_str()).collect::<Vec<_>>()),
        Series::new("".into(), s.iter().map(|x| x.sen_slope).collect::<Vec<_>>()),
        Series::new("".into(), s.iter().map(|x| x.mk_tau).collect::<Vec<_>>()),
        Series::new("".into(), s.iter().map(|x| x.mk_p).collect::<Vec<_>>()),
        Series::new("".into(), s.iter().map(|x| x.direction).collect::<Vec<_>>()),
        Series::new("".into(), s.iter().map(|x| period(x.peak_period)).collect::<Vec<_>>()),
        string_lists(s.iter().map(|x| x.change_points.iter().map(|&p| period(p)).collect())),
    ])
}

pub fn evidence(docs: &[Document], trends: &TrendResults) -> PolarsResult<DataFrame> {
    let e = &trends.evidence;
    let dates: Vec<Option<i32>> = e.iter().map(|x| docs[x.doc].date.map(days_since_epoch)).collect();
    schema::EVIDENCE.frame(vec![
        Series::new("".into(), e.iter().map(|x| x.kind).collect::<Vec<_>>()),
        Series::new("".into(), e.iter().map(|x| x.key.as_str()).collect::<Vec<_>>()),
        Series::new("".into(), e.iter().map(|x| trends.terms.periods[x.period].period.as_str()).collect::<Vec<_>>()),
        Series::new("".into(), e.iter().map(|x| x.rank).collect::<Vec<_>>()),
        Series::new("".into(), e.iter().map(|x| docs[x.doc].id.as_str()).collect::<Vec<_>>()),
        Series::new("".into(), dates).into_date(),
        Series::new("".into(), e.iter().map(|x| x.sentence.text.as_str()).collect::<Vec<_>>()),
        Series::new("".into(), e.iter().map(|x| x.sentence.term.as_str()).collect::<Vec<_>>()),
        Series::new("".into(), e.iter().map(|x| x.sentence.start).collect::<Vec<_>>()),
        Series::new("".into(), e.iter().map(|x| x.sentence.end).collect::<Vec<_>>()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectorize::{idf, row_norms, tfidf as stored_tfidf, TfidfWeights};

    #[test]
    fn tfidf_from_chunks_of_rows_is_the_frame_of_the_whole_matrix() {
        // Rows fetched in chunks (one empty of entries), entries asked in ranges that cross the
        // chunks' ends or lie inside one: the same frames as from the whole matrix.
        let rows: Vec<Vec<(u32, u32)>> = (0..11u32)
            .map(|r| {
                if r == 4 {
                    vec![]
                } else {
                    (0..6u32).filter(|c| (r + c) % 3 != 0).map(|c| (c, 1 + (r * c) % 4)).collect()
                }
            })
            .collect();
        let counts = Csr::from_rows(6, rows.clone());
        let idf = idf(&[3, 4, 5, 6, 7, 8], 11);
        let norms = row_norms(&counts, &idf, true);
        let doc_of_row: Vec<usize> = (0..11).map(|r| 3 * r + 1).collect();
        let whole = |entries| tfidf(&TfidfWeights::new(&counts, &idf, &norms, true), &counts, &doc_of_row, entries);
        let fetched = std::sync::Mutex::new(Vec::new());
        let fetch = |range: std::ops::Range<usize>| {
            fetched.lock().unwrap().push(range.clone());
            Ok(Csr::from_rows(6, rows[range].to_vec()))
        };
        let chunks = TfidfByChunks::new(vec![0..3, 3..5, 5..6, 6..11], fetch, &idf, true, &doc_of_row);
        let nnz = counts.nnz();
        let mut at = 0;
        for end in [2, 3, 9, 10, nnz - 1, nnz] {
            assert!(chunks.frame(at..end).unwrap().equals(&whole(at..end).unwrap()), "entries {at}..{end}");
            at = end;
        }
        assert_eq!(*fetched.lock().unwrap(), [0..3, 3..5, 5..6, 6..11], "each chunk fetched once, in order");
    }

    #[test]
    fn tfidf_rows_cut_anywhere_hold_each_entry_once_with_its_document_and_weight() {
        let rows: Vec<Vec<(u32, u32)>> =
            (0..9u32).map(|r| (0..5u32).filter(|c| (r * c) % 4 != 1).map(|c| (c, 1 + r % 3 + c)).collect()).collect();
        let counts = Csr::from_rows(5, rows);
        let idf = idf(&[5, 6, 7, 8, 9], 9);
        let norms = row_norms(&counts, &idf, false);
        let made = TfidfWeights::new(&counts, &idf, &norms, false);
        let stored = stored_tfidf(&counts, &idf, false);
        let doc_of_row: Vec<usize> = (0..9).map(|r| 10 + 2 * r).collect();
        let nnz = counts.nnz();
        for cut in [0, 1, 4, nnz / 2, nnz - 1, nnz] {
            let parts = [
                tfidf(&made, &counts, &doc_of_row, 0..cut).unwrap(),
                tfidf(&made, &counts, &doc_of_row, cut..nnz).unwrap(),
            ];
            let column = |name: &str| -> Vec<f64> {
                parts
                    .iter()
                    .flat_map(|f| {
                        f.column(name)
                            .unwrap()
                            .cast(&DataType::Float64)
                            .unwrap()
                            .f64()
                            .unwrap()
                            .into_no_null_iter()
                            .collect::<Vec<_>>()
                    })
                    .collect()
            };
            let expected_docs: Vec<f64> =
                (0..9).flat_map(|r| std::iter::repeat_n(doc_of_row[r] as f64, stored.row(r).0.len())).collect();
            assert_eq!(column("doc_index"), expected_docs, "cut at {cut}");
            assert_eq!(column("weight"), stored.values.iter().map(|&w| w as f64).collect::<Vec<_>>());
            assert_eq!(column("count"), counts.values.iter().map(|&n| n as f64).collect::<Vec<_>>());
            assert_eq!(column("term_id"), counts.indices.iter().map(|&c| c as f64).collect::<Vec<_>>());
        }
    }
}
