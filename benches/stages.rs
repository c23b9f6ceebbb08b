//! Per-stage benchmarks on the generated demo corpus (no external data needed).
//! `cargo bench --bench stages`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use themeshift::demo;
use themeshift::normalize::{clean_whitespace_and_width, ScriptConverter};
use themeshift::segment::{build_jieba, FilterChain, Segmenter};
use themeshift::vectorize::{vectorize, VectorizeParams};

fn texts() -> Vec<String> {
    // Several seeds so the corpus is a few megabytes rather than a few hundred kilobytes.
    (0..8u64)
        .flat_map(demo::generate)
        .map(|line| serde_json::from_str::<serde_json::Value>(&line).unwrap()["text"].as_str().unwrap().to_string())
        .collect()
}

fn stages(c: &mut Criterion) {
    let texts = texts();
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
            assert_eq!(v.tfidf.n_rows(), texts.len());
        })
    });
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
