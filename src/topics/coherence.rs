//! Topic coherence with gensim's definitions (`CoherenceModel`, gensim 4.x, one process):
//!
//! - **c_npmi**: mean normalized PMI over all pairs of a topic's top words, probabilities from
//!   boolean sliding windows of 10 tokens;
//! - **c_v**: windows of 110 tokens; each word's vector of NPMIs with the topic's words is
//!   compared (cosine) with the topic's summed vector, averaged over words;
//! - **u_mass**: log conditional probability of each word given each higher-ranked one, from
//!   document co-occurrence.
//!
//! Windows follow gensim exactly, including two details that change the numbers: a document
//! shorter than the window counts as one window, and when a window slides the token leaving it
//! is marked absent even if another copy of it is still inside (gensim's `_slide_window`).

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

/// gensim's smoothing constant in the log ratios.
const EPSILON: f64 = 1e-12;
pub const NPMI_WINDOW: usize = 10;
pub const CV_WINDOW: usize = 110;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TopicCoherence {
    pub c_npmi: f64,
    pub c_v: f64,
    pub u_mass: f64,
}

/// Occurrence and co-occurrence counts of the relevant words (dense `r × r`, symmetric).
#[derive(Clone)]
struct Counts {
    r: usize,
    units: u64,
    occurrences: Vec<u64>,
    pairs: Vec<u64>,
}

impl Counts {
    fn new(r: usize) -> Self {
        Counts { r, units: 0, occurrences: vec![0; r], pairs: vec![0; r * r] }
    }

    /// Add `times` units (windows or documents) in which exactly the words `present` occur.
    fn add(&mut self, present: &[usize], times: u64) {
        if times == 0 {
            return;
        }
        for (i, &a) in present.iter().enumerate() {
            self.occurrences[a] += times;
            for &b in &present[i + 1..] {
                self.pairs[a * self.r + b] += times;
                self.pairs[b * self.r + a] += times;
            }
        }
    }

    fn merge(mut self, other: Counts) -> Counts {
        self.units += other.units;
        self.occurrences.iter_mut().zip(other.occurrences).for_each(|(a, b)| *a += b);
        self.pairs.iter_mut().zip(other.pairs).for_each(|(a, b)| *a += b);
        self
    }

    fn together(&self, a: usize, b: usize) -> u64 {
        if a == b {
            self.occurrences[a]
        } else {
            self.pairs[a * self.r + b]
        }
    }

    /// Normalized PMI as gensim's `log_ratio_measure(normalize=True)`.
    fn npmi(&self, a: usize, b: usize) -> f64 {
        let n = self.units as f64;
        let joint = self.together(a, b) as f64 / n;
        let (pa, pb) = (self.occurrences[a] as f64 / n, self.occurrences[b] as f64 / n);
        ((joint + EPSILON) / (pa * pb)).ln() / -(joint + EPSILON).ln()
    }
}

/// Which relevant word (0..r) each token is, if any.
const NONE: u32 = u32::MAX;

/// gensim's `WordOccurrenceAccumulator` over sliding windows of `window` tokens.
fn windows(docs: &[Vec<u32>], r: usize, window: usize) -> Counts {
    docs.par_iter()
        .fold(
            || (Counts::new(r), vec![false; r], Vec::new()),
            |(mut counts, mut flag, mut present), doc| {
                let n = doc.len();
                if n == 0 {
                    counts.units += 1;
                    return (counts, flag, present);
                }
                let first = &doc[..window.min(n)];
                present.clear();
                for &w in first {
                    if w != NONE && !flag[w as usize] {
                        flag[w as usize] = true;
                        present.push(w as usize);
                    }
                }
                let n_windows = if n <= window { 1 } else { n - window + 1 };
                counts.units += n_windows as u64;
                // Runs of windows with the same set of words are added at once.
                let mut run = 1u64;
                for i in 1..n_windows {
                    let (leaving, entering) = (doc[i - 1], doc[i + window - 1]);
                    // gensim unsets the leaving word, then sets the entering one.
                    let unset = leaving != NONE && leaving != entering && flag[leaving as usize];
                    let set = entering != NONE && !flag[entering as usize];
                    if !unset && !set {
                        run += 1;
                        continue;
                    }
                    counts.add(&present, run);
                    run = 1;
                    if unset {
                        flag[leaving as usize] = false;
                        present.retain(|&w| w != leaving as usize);
                    }
                    if set {
                        flag[entering as usize] = true;
                        present.push(entering as usize);
                    }
                }
                counts.add(&present, run);
                for &w in &present {
                    flag[w] = false;
                }
                (counts, flag, present)
            },
        )
        .map(|(counts, _, _)| counts)
        .reduce(|| Counts::new(r), Counts::merge)
}

/// gensim's `CorpusAccumulator`: each document is one unit.
fn documents(docs: &[Vec<u32>], r: usize) -> Counts {
    docs.par_iter()
        .fold(
            || Counts::new(r),
            |mut counts, doc| {
                let mut present: Vec<usize> = doc.iter().filter(|&&w| w != NONE).map(|&w| w as usize).collect();
                present.sort_unstable();
                present.dedup();
                counts.units += 1;
                counts.add(&present, 1);
                counts
            },
        )
        .reduce(|| Counts::new(r), Counts::merge)
}

fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = values.into_iter().fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

fn c_npmi(counts: &Counts, topic: &[usize]) -> f64 {
    mean(topic.iter().enumerate().flat_map(|(i, &a)| topic[i + 1..].iter().map(move |&b| counts.npmi(a, b))))
}

fn c_v(counts: &Counts, topic: &[usize]) -> f64 {
    let vectors: Vec<Vec<f64>> = topic.iter().map(|&a| topic.iter().map(|&b| counts.npmi(a, b)).collect()).collect();
    let whole: Vec<f64> = (0..topic.len()).map(|j| vectors.iter().map(|v| v[j]).sum()).collect();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    mean(vectors.iter().map(|v| v.iter().zip(&whole).map(|(a, b)| a * b).sum::<f64>() / (norm(v) * norm(&whole))))
}

fn u_mass(counts: &Counts, topic: &[usize]) -> f64 {
    let n = counts.units as f64;
    mean(topic.iter().enumerate().skip(1).flat_map(|(i, &prime)| {
        topic[..i].iter().map(move |&star| {
            ((counts.together(prime, star) as f64 / n + EPSILON) / (counts.occurrences[star] as f64 / n)).ln()
        })
    }))
}

/// Coherence of each topic (its top words, best first, as token ids) over `docs` (token id
/// sequences in text order, the same id space).
pub fn coherence<D: AsRef<[u32]> + Sync>(docs: &[D], topics: &[Vec<u32>]) -> Vec<TopicCoherence> {
    let mut relevant: FxHashMap<u32, u32> = FxHashMap::default();
    for &w in topics.iter().flatten() {
        let next = relevant.len() as u32;
        relevant.entry(w).or_insert(next);
    }
    let r = relevant.len();
    // Each token as its relevant-word index (u32, NONE outside): half the memory of usize.
    let mapped: Vec<Vec<u32>> = docs
        .par_iter()
        .map(|d| d.as_ref().iter().map(|t| relevant.get(t).copied().unwrap_or(NONE)).collect())
        .collect();
    let ((npmi_counts, cv_counts), doc_counts) = rayon::join(
        || rayon::join(|| windows(&mapped, r, NPMI_WINDOW), || windows(&mapped, r, CV_WINDOW)),
        || documents(&mapped, r),
    );
    topics
        .iter()
        .map(|topic| {
            let ids: Vec<usize> = topic.iter().map(|w| relevant[w] as usize).collect();
            TopicCoherence {
                c_npmi: c_npmi(&npmi_counts, &ids),
                c_v: c_v(&cv_counts, &ids),
                u_mass: u_mass(&doc_counts, &ids),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values computed with gensim 4.4.0 `CoherenceModel(..., processes=1)` on the
    /// same texts and topics (a dozen lines of Python; tests/peers/check_coherence.py does the same on the real corpus).
    #[test]
    fn matches_gensim_on_a_small_corpus() {
        // Token ids: 0 能源 1 石油 2 天然气 3 金融 4 银行 5 贸易 6 合作 7 其他
        let docs: Vec<Vec<u32>> = vec![
            // 能源 leaves the window while a copy is still inside, then re-enters as it leaves:
            // gensim marks it absent, then present again.
            vec![0, 0, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0, 7, 7, 1],
            vec![0, 1, 2, 6, 7, 7, 0, 1],
            vec![3, 4, 5, 6, 7, 3, 4],
            vec![0, 2, 6, 5, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0, 2, 1],
            vec![3, 4, 3, 4, 6],
            vec![],
            vec![5, 6, 5, 6, 0, 1, 2, 3, 4, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 5],
        ];
        let topics = vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 5, 0]];
        let got = coherence(&docs, &topics);
        let expected = [
            (0.472_346_229, 0.983_744_727, -0.191_788_048),
            (0.264_142_580, 0.917_684_633, -0.270_310_072),
            (0.127_261_997, 0.757_517_896, -0.475_705_452),
        ];
        for (g, e) in got.iter().zip(expected) {
            assert!((g.c_npmi - e.0).abs() < 1e-6, "c_npmi {} vs {}", g.c_npmi, e.0);
            assert!((g.c_v - e.1).abs() < 1e-6, "c_v {} vs {}", g.c_v, e.1);
            assert!((g.u_mass - e.2).abs() < 1e-6, "u_mass {} vs {}", g.u_mass, e.2);
        }
    }
}
