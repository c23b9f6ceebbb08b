//! The cluster and topic tables: frames built from fitted models, one builder per table.

use polars::prelude::*;

use super::charts::Charts;
use super::schema;
use crate::cluster::Clustering;
use crate::topics::TopicModel;
use crate::trends::groups::group_prevalence;

/// What the model tables need to name rows: the documents behind the matrix rows and the periods.
pub struct RowNames<'a> {
    /// Document id and title of each matrix row.
    pub doc_ids: Vec<&'a str>,
    pub titles: Vec<&'a str>,
    pub periods: &'a [String],
    pub period_of_row: &'a [Option<usize>],
}

fn series<T>(name: &str, values: Vec<T>) -> Series
where
    Series: NamedFrom<Vec<T>, [T]>,
{
    Series::new(name.into(), values)
}

pub fn clusters(c: &Clustering, terms: &[String]) -> PolarsResult<DataFrame> {
    let size = c.sizes();
    let rows: Vec<(u32, u32, &str, f64, u32)> = c
        .terms
        .iter()
        .enumerate()
        .flat_map(|(g, list)| {
            let size = size[g];
            list.iter()
                .enumerate()
                .map(move |(r, &(t, w))| (g as u32, r as u32 + 1, terms[t as usize].as_str(), w, size))
        })
        .collect();
    schema::CLUSTERS.frame(vec![
        series("", rows.iter().map(|r| r.0).collect()),
        series("", rows.iter().map(|r| r.1).collect()),
        series("", rows.iter().map(|r| r.2).collect()),
        series("", rows.iter().map(|r| r.3).collect()),
        series("", rows.iter().map(|r| r.4).collect()),
    ])
}

pub fn cluster_trends(c: &Clustering, names: &RowNames) -> PolarsResult<DataFrame> {
    let rows = group_prevalence(c.one_hot().view(), names.period_of_row, names.periods.len());
    schema::CLUSTER_TRENDS.frame(vec![
        series("", rows.iter().map(|r| r.group as u32).collect()),
        series("", rows.iter().map(|r| names.periods[r.period].as_str()).collect()),
        series("", rows.iter().map(|r| r.share).collect()),
        series("", rows.iter().map(|r| r.n_docs).collect()),
    ])
}

pub fn topics(models: &[TopicModel], terms: &[String]) -> PolarsResult<DataFrame> {
    let rows: Vec<(&str, u32, u32, u32, &str, f64)> = models
        .iter()
        .flat_map(|m| {
            m.terms.iter().enumerate().flat_map(move |(t, list)| {
                list.iter().enumerate().map(move |(r, &(id, w))| {
                    (m.method, m.k as u32, t as u32, r as u32 + 1, terms[id as usize].as_str(), w)
                })
            })
        })
        .collect();
    schema::TOPICS.frame(vec![
        series("", rows.iter().map(|r| r.0).collect()),
        series("", rows.iter().map(|r| r.1).collect()),
        series("", rows.iter().map(|r| r.2).collect()),
        series("", rows.iter().map(|r| r.3).collect()),
        series("", rows.iter().map(|r| r.4).collect()),
        series("", rows.iter().map(|r| r.5).collect()),
    ])
}

pub fn doc_topics(models: &[TopicModel], names: &RowNames, floor: f64) -> PolarsResult<DataFrame> {
    let mut rows: Vec<(&str, u32, &str, u32, f32)> = Vec::new();
    for m in models {
        for (r, shares) in m.shares.rows().into_iter().enumerate() {
            for (t, &w) in shares.iter().enumerate() {
                if w > 0.0 && w as f64 >= floor {
                    rows.push((m.method, m.k as u32, names.doc_ids[r], t as u32, w));
                }
            }
        }
    }
    schema::DOC_TOPICS.frame(vec![
        series("", rows.iter().map(|r| r.0).collect()),
        series("", rows.iter().map(|r| r.1).collect()),
        series("", rows.iter().map(|r| r.2).collect()),
        series("", rows.iter().map(|r| r.3).collect()),
        series("", rows.iter().map(|r| r.4).collect()),
    ])
}

pub fn topic_trends(models: &[TopicModel], names: &RowNames) -> PolarsResult<DataFrame> {
    let mut rows = Vec::new();
    for m in models {
        for g in group_prevalence(m.shares.view(), names.period_of_row, names.periods.len()) {
            rows.push((m.method, m.k as u32, g));
        }
    }
    schema::TOPIC_TRENDS.frame(vec![
        series("", rows.iter().map(|r| r.0).collect()),
        series("", rows.iter().map(|r| r.1).collect()),
        series("", rows.iter().map(|r| r.2.group as u32).collect()),
        series("", rows.iter().map(|r| names.periods[r.2.period].as_str()).collect()),
        series("", rows.iter().map(|r| r.2.share).collect()),
        series("", rows.iter().map(|r| r.2.n_docs).collect()),
    ])
}

pub fn cluster_representatives(c: &Clustering, names: &RowNames) -> PolarsResult<DataFrame> {
    let rows: Vec<(u32, u32, usize, f64)> = c
        .representatives
        .iter()
        .enumerate()
        .flat_map(|(g, list)| list.iter().enumerate().map(move |(r, &(row, w))| (g as u32, r as u32 + 1, row, w)))
        .collect();
    schema::CLUSTER_REPRESENTATIVES.frame(vec![
        series("", rows.iter().map(|r| r.0).collect()),
        series("", rows.iter().map(|r| r.1).collect()),
        series("", rows.iter().map(|r| names.doc_ids[r.2]).collect()),
        series("", rows.iter().map(|r| names.titles[r.2]).collect()),
        series("", rows.iter().map(|r| r.3).collect()),
    ])
}

pub fn topic_representatives(models: &[TopicModel], names: &RowNames) -> PolarsResult<DataFrame> {
    let rows: Vec<(&str, u32, u32, u32, usize, f64)> = models
        .iter()
        .flat_map(|m| {
            m.representatives.iter().enumerate().flat_map(move |(t, list)| {
                list.iter()
                    .enumerate()
                    .map(move |(r, &(row, w))| (m.method, m.k as u32, t as u32, r as u32 + 1, row, w))
            })
        })
        .collect();
    schema::TOPIC_REPRESENTATIVES.frame(vec![
        series("", rows.iter().map(|r| r.0).collect()),
        series("", rows.iter().map(|r| r.1).collect()),
        series("", rows.iter().map(|r| r.2).collect()),
        series("", rows.iter().map(|r| r.3).collect()),
        series("", rows.iter().map(|r| names.doc_ids[r.4]).collect()),
        series("", rows.iter().map(|r| names.titles[r.4]).collect()),
        series("", rows.iter().map(|r| r.5).collect()),
    ])
}

pub fn coherence(models: &[TopicModel]) -> PolarsResult<DataFrame> {
    let mut rows: Vec<(&str, u32, Option<u32>, [f64; 3])> = Vec::new();
    for m in models.iter().filter(|m| !m.coherence.is_empty()) {
        let mean = m.mean_coherence();
        rows.push((m.method, m.k as u32, None, [mean.c_npmi, mean.c_v, mean.u_mass]));
        for (t, c) in m.coherence.iter().enumerate() {
            rows.push((m.method, m.k as u32, Some(t as u32), [c.c_npmi, c.c_v, c.u_mass]));
        }
    }
    schema::COHERENCE.frame(vec![
        series("", rows.iter().map(|r| r.0).collect()),
        series("", rows.iter().map(|r| r.1).collect()),
        series("", rows.iter().map(|r| r.2).collect()),
        series("", rows.iter().map(|r| r.3[0]).collect()),
        series("", rows.iter().map(|r| r.3[1]).collect()),
        series("", rows.iter().map(|r| r.3[2]).collect()),
    ])
}

/// Every cluster output: the three tables, `charts/clusters.*` and `clusters.md`. Used by
/// `run` and by `clusters` (which re-fits them from a run's tables). Returns the files.
pub fn write_cluster_outputs(
    charts: &Charts,
    out: &std::path::Path,
    run_id: &str,
    c: &Clustering,
    names: &RowNames,
    terms: &[String],
) -> crate::Result<Vec<String>> {
    use super::report::{write_clusters_report, ModelsReport};
    use super::tables::write_parquet;
    let builds: [(&schema::Table, &dyn Fn() -> PolarsResult<DataFrame>); 3] = [
        (&schema::CLUSTERS, &|| clusters(c, terms)),
        (&schema::CLUSTER_TRENDS, &|| cluster_trends(c, names)),
        (&schema::CLUSTER_REPRESENTATIVES, &|| cluster_representatives(c, names)),
    ];
    let mut written = Vec::new();
    for (table, build) in builds {
        write_parquet(&out.join(table.file), build(), run_id)?;
        written.push(table.file.to_string());
    }
    written.extend(super::charts::cluster_chart(charts, out, names.periods, names.period_of_row, c, terms)?);
    let report = ModelsReport { terms, periods: names.periods, period_of_row: names.period_of_row };
    write_clusters_report(&out.join("clusters.md"), c, &report)?;
    written.push("clusters.md".into());
    Ok(written)
}

/// Every topic output of a set of models: the five tables, `charts/topics.*` and `topics.md`.
/// Used by `run` and by `topics` (which re-fits models from a run's tables). Returns the files.
pub fn write_topic_outputs(
    charts: &Charts,
    out: &std::path::Path,
    run_id: &str,
    models: &[TopicModel],
    names: &RowNames,
    terms: &[String],
    doc_topic_floor: f64,
) -> crate::Result<Vec<String>> {
    use super::report::{write_topics_report, ModelsReport};
    use super::tables::write_parquet;
    let mut written = Vec::new();
    if models.is_empty() {
        return Ok(written);
    }
    let builds: [(&schema::Table, &dyn Fn() -> PolarsResult<DataFrame>); 5] = [
        (&schema::TOPICS, &|| topics(models, terms)),
        (&schema::DOC_TOPICS, &|| doc_topics(models, names, doc_topic_floor)),
        (&schema::TOPIC_TRENDS, &|| topic_trends(models, names)),
        (&schema::COHERENCE, &|| coherence(models)),
        (&schema::TOPIC_REPRESENTATIVES, &|| topic_representatives(models, names)),
    ];
    for (table, build) in builds {
        write_parquet(&out.join(table.file), build(), run_id)?;
        written.push(table.file.to_string());
    }
    written.extend(super::charts::topic_chart(charts, out, names.periods, names.period_of_row, &models[0], terms)?);
    let report = ModelsReport { terms, periods: names.periods, period_of_row: names.period_of_row };
    write_topics_report(&out.join("topics.md"), models, &report)?;
    written.push("topics.md".into());
    Ok(written)
}
