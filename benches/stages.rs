//! Per-stage benchmarks on the generated demo corpus (no external data needed).
//! `cargo bench --bench stages`
//!
//! Inputs are built outside the timed loops; each loop asserts on its result, so a change that is
//! fast because it is wrong fails here too.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use themeshift::cluster::{cluster, cluster_term_counts, ClusterRows, LsaKmeans};
use themeshift::demo;
use themeshift::normalize::{clean_whitespace_and_width, ScriptConverter};
use themeshift::segment::{build_jieba, FilterChain, Segmenter};
use themeshift::shards::rows::MatrixRows;
use themeshift::shards::RowShards;
use themeshift::topics::coherence::{coherence, count_here};
use themeshift::topics::lda::{lda, LdaParams};
use themeshift::topics::nmf::{nmf, NmfParams};
use themeshift::trends::analysis::{analyse, TrendParams};
use themeshift::trends::bootstrap::document_key;
use themeshift::trends::themes::{parse_lexicon, unseen_terms, LexiconIndex, CHINA_RUSSIA};
use themeshift::trends::RowFacts;
use themeshift::vectorize::{vectorize, VectorizeParams, Weights};
use themeshift::write::{schema, tables};

/// (year, text) of the demo corpus from several seeds: a few megabytes rather than a few hundred kilobytes.
fn corpus() -> Vec<(String, String)> {
    (0..8u64)
        .flat_map(demo::generate)
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            (v["date"].as_str().unwrap()[..4].to_string(), v["text"].as_str().unwrap().to_string())
        })
        .collect()
}

fn stages(c: &mut Criterion) {
    let corpus = corpus();
    let texts: Vec<String> = corpus.iter().map(|(_, t)| t.clone()).collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut group = c.benchmark_group("stages");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);

    let converter = ScriptConverter::new().unwrap();
    group.bench_function("normalize", |b| {
        b.iter(|| {
            let out: Vec<String> =
                texts.iter().map(|t| clean_whitespace_and_width(&converter.to_simplified(t))).collect();
            assert_eq!(out.len(), texts.len());
        })
    });

    let segmenter = Segmenter::new(build_jieba(&[] as &[&str]).unwrap(), FilterChain::standard());
    group.bench_function("segment", |b| {
        b.iter(|| {
            let tokenized = segmenter.segment_texts(&texts);
            assert!(tokenized.terms.iter().any(|t| t == "一带一路"));
        })
    });

    let tokenized = segmenter.segment_texts(&texts);
    group.bench_function("vectorize", |b| {
        b.iter(|| {
            let v = vectorize(&tokenized, (0..texts.len()).collect(), &VectorizeParams::default()).unwrap();
            assert_eq!(v.counts().n_rows(), texts.len());
        })
    });

    let vectorized = vectorize(&tokenized, (0..texts.len()).collect(), &VectorizeParams::default()).unwrap();
    let periods: Vec<String> = (demo::FIRST_YEAR..=demo::LAST_YEAR).map(|y| y.to_string()).collect();
    let period_of_row: Vec<Option<usize>> = corpus.iter().map(|(y, _)| periods.iter().position(|p| p == y)).collect();
    let n_tokens: Vec<u64> = (0..texts.len()).map(|d| tokenized.doc(d).len() as u64).collect();
    let held_texts = themeshift::shards::ShardTexts::here(texts.clone());
    let keys: Vec<u64> = (0..texts.len()).map(|d| document_key(&format!("demo-{d}"))).collect();
    let themes = parse_lexicon(CHINA_RUSSIA, "china_russia.toml").unwrap();
    let lexicon = LexiconIndex::new(&themes);
    group.bench_function("trends", |b| {
        b.iter(|| {
            let facts = RowFacts { period: &period_of_row, tokens: &n_tokens, keys: &keys };
            let t = analyse(
                periods.clone(),
                facts,
                &vectorized.rows,
                vectorized.counts(),
                &vectorized.vocabulary,
                &held_texts,
                (lexicon.hits(&tokenized, &vectorized.rows), unseen_terms(&themes, &tokenized.terms)),
                themes.clone(),
                &TrendParams::default(),
                1,
            )
            .unwrap();
            assert_eq!(t.terms.periods.len(), periods.len());
        })
    });

    let dir = tempfile::tempdir().unwrap();
    group.bench_function("write tfidf.parquet", |b| {
        b.iter(|| {
            let path = dir.path().join(schema::TFIDF.file);
            let v = &vectorized;
            let build = |entries| tables::tfidf(&v.tfidf(), v.counts(), &v.rows, entries);
            tables::write_parquet_in_groups(&path, v.counts().nnz(), build, "bench").unwrap();
            assert!(path.metadata().unwrap().len() > 0);
        })
    });
    group.finish();

    // The models: their cost follows the matrix (documents × nonzeros), not the bytes of text.
    let mut models = c.benchmark_group("models");
    models.sample_size(10);
    // A run's clustering reads weights made from the counts as it goes; the stored matrix is
    // what NMF and a refit from tfidf.parquet read. The two benches give the cost of making them.
    let made = vectorized.tfidf();
    let stored = made.stored();
    let x = stored.as_ref();
    // One shard of the plan: the corpus a bench reads is a single small file.
    let shards = RowShards::of(&vectorized.rows, &[vectorized.rows.len()]);
    for (name, weights) in [("", &made as &dyn Weights), (" (stored weights)", x as &dyn Weights)] {
        models.bench_function(format!("cluster: LSA 50 + k-means k=5{name}"), |b| {
            b.iter(|| {
                let term_counts = |labels: &[u32], k: usize| Ok(cluster_term_counts(vectorized.counts(), labels, k));
                let params = LsaKmeans { k: 5, ..LsaKmeans::default() };
                let c = cluster(ClusterRows::Here(weights), &shards, &term_counts, &params, 1).unwrap();
                assert_eq!(c.labels.len(), x.n_rows());
            })
        });
    }
    models.bench_function("topics: NMF k=5", |b| {
        b.iter(|| {
            let fit = nmf(MatrixRows::Here(x), &shards, 5, 1, &NmfParams::default()).unwrap();
            assert!(fit.reconstruction_error.is_finite() && fit.iterations > 1);
        })
    });
    let params = LdaParams { iterations: 50, burn_in: 30, ..LdaParams::default() };
    models.bench_function("topics: LDA k=5, 50 sweeps", |b| {
        b.iter(|| {
            let fit = lda(vectorized.counts(), 5, &params, 1, None).unwrap();
            assert_eq!(fit.assigned.sum() as usize, fit.tokens);
        })
    });
    models.bench_function("topics: LDA k=50 (dense draw), 50 sweeps", |b| {
        b.iter(|| {
            let fit = lda(vectorized.counts(), 50, &params, 1, None).unwrap();
            assert_eq!(fit.assigned.sum() as usize, fit.tokens);
        })
    });
    // k = 200 is past the switch to SparseLDA's buckets (k = 160).
    models.bench_function("topics: LDA k=200 (sparse sampler), 50 sweeps", |b| {
        b.iter(|| {
            let fit = lda(vectorized.counts(), 200, &params, 1, None).unwrap();
            assert_eq!(fit.assigned.sum() as usize, fit.tokens);
        })
    });
    let docs: Vec<&[u32]> = (0..texts.len()).map(|d| tokenized.doc(d)).collect();
    // Term ids are given in order of first appearance, so ids 0..50 all occur.
    let topics: Vec<Vec<u32>> = (0..5u32).map(|t| (t * 10..t * 10 + 10).collect()).collect();
    models.bench_function("coherence: 5 topics × 10 words", |b| {
        b.iter(|| {
            let c = coherence(&|relevant: &[u32]| Ok(count_here(&docs, relevant)), &topics).unwrap();
            assert!(c.iter().all(|t| t.c_npmi.is_finite() && t.u_mass.is_finite()));
            assert_eq!(c.len(), 5);
        })
    });
    models.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
