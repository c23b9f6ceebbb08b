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
//!
//! The counts ([`Cooccurrence`]) are integers and windows never cross documents, so each shard of
//! a sharded run counts its own documents and the shards' counts add up to the corpus's exactly;
//! only the top words' counts travel, never the tokens.

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::Result;

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

/// Occurrence and co-occurrence counts of the relevant words (dense `r × r`, symmetric; only
/// the pairs that occur together travel).
#[derive(Clone, Serialize, Deserialize)]
#[serde(into = "SparseCounts", try_from = "SparseCounts")]
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
        assert_eq!(self.r, other.r, "counts of the same words");
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

/// [`Counts`] as they travel: the pairs counted (a < b), not all r².
#[derive(Serialize, Deserialize)]
struct SparseCounts {
    r: usize,
    units: u64,
    occurrences: Vec<u64>,
    pairs: Vec<(u32, u32, u64)>,
}

impl From<Counts> for SparseCounts {
    fn from(c: Counts) -> Self {
        let r = c.r;
        let pairs = (0..r)
            .flat_map(|a| (a + 1..r).map(move |b| (a, b)))
            .filter_map(|(a, b)| Some((a as u32, b as u32, c.pairs[a * r + b])).filter(|p| p.2 > 0))
            .collect();
        SparseCounts { r, units: c.units, occurrences: c.occurrences, pairs }
    }
}

impl TryFrom<SparseCounts> for Counts {
    type Error = String;
    fn try_from(s: SparseCounts) -> std::result::Result<Self, String> {
        let r = s.r;
        if s.occurrences.len() != r || s.pairs.iter().any(|&(a, b, _)| a >= b || b as usize >= r) {
            return Err(format!("co-occurrence counts that are not of {r} words"));
        }
        let mut counts = Counts::new(r);
        counts.units = s.units;
        counts.occurrences = s.occurrences;
        for (a, b, n) in s.pairs {
            let (a, b) = (a as usize, b as usize);
            counts.pairs[a * r + b] = n;
            counts.pairs[b * r + a] = n;
        }
        Ok(counts)
    }
}

/// A token that is none of the relevant words.
pub const NOT_RELEVANT: u32 = u32::MAX;
const NONE: u32 = NOT_RELEVANT;

/// The counts every coherence measure reads, of some relevant words (0..r): in windows of
/// [`NPMI_WINDOW`] and of [`CV_WINDOW`] tokens, and in documents.
#[derive(Clone, Serialize, Deserialize)]
pub struct Cooccurrence {
    npmi: Counts,
    cv: Counts,
    documents: Counts,
}

impl Cooccurrence {
    /// Counts over `docs`, each token as its relevant word's index (0..r) or [`NOT_RELEVANT`].
    pub fn count<D: AsRef<[u32]> + Sync>(docs: &[D], r: usize) -> Cooccurrence {
        let ((npmi, cv), documents) = rayon::join(
            || rayon::join(|| windows(docs, r, NPMI_WINDOW), || windows(docs, r, CV_WINDOW)),
            || documents(docs, r),
        );
        Cooccurrence { npmi, cv, documents }
    }

    /// No units yet, of `r` words: what the shards' counts are added to.
    pub fn empty(r: usize) -> Cooccurrence {
        Cooccurrence { npmi: Counts::new(r), cv: Counts::new(r), documents: Counts::new(r) }
    }

    /// The counts of both corpora together (of the same words).
    pub fn merge(self, other: Cooccurrence) -> Cooccurrence {
        Cooccurrence {
            npmi: self.npmi.merge(other.npmi),
            cv: self.cv.merge(other.cv),
            documents: self.documents.merge(other.documents),
        }
    }

    /// How many relevant words are counted.
    pub fn words(&self) -> usize {
        self.npmi.r
    }
}

/// Counts the co-occurrence of `relevant` (vocabulary ids; index i is relevant word i) over the
/// documents the run analyses: here, or asked of the shards that hold their tokens.
pub type CooccurrenceSource<'a> = dyn Fn(&[u32]) -> Result<Cooccurrence> + Sync + 'a;

/// gensim's `WordOccurrenceAccumulator` over sliding windows of `window` tokens.
fn windows<D: AsRef<[u32]> + Sync>(docs: &[D], r: usize, window: usize) -> Counts {
    docs.par_iter()
        .fold(
            || (Counts::new(r), vec![false; r], Vec::new()),
            |(mut counts, mut flag, mut present), doc| {
                let doc = doc.as_ref();
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
fn documents<D: AsRef<[u32]> + Sync>(docs: &[D], r: usize) -> Counts {
    docs.par_iter()
        .fold(
            || Counts::new(r),
            |mut counts, doc| {
                let mut present: Vec<usize> =
                    doc.as_ref().iter().filter(|&&w| w != NONE).map(|&w| w as usize).collect();
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

/// Coherence of each topic (its top words, best first, as token ids) from the counts `source`
/// gives of their words.
pub fn coherence(source: &CooccurrenceSource, topics: &[Vec<u32>]) -> Result<Vec<TopicCoherence>> {
    let mut relevant: FxHashMap<u32, usize> = FxHashMap::default();
    let mut words = Vec::new();
    for &w in topics.iter().flatten() {
        relevant.entry(w).or_insert_with(|| {
            words.push(w);
            words.len() - 1
        });
    }
    let counts = source(&words)?;
    if counts.words() != words.len() {
        return Err(crate::error::Error::Shards(format!(
            "co-occurrence counts of {} words came back for {}",
            counts.words(),
            words.len()
        )));
    }
    Ok(topics
        .iter()
        .map(|topic| {
            let ids: Vec<usize> = topic.iter().map(|w| relevant[w]).collect();
            TopicCoherence {
                c_npmi: c_npmi(&counts.npmi, &ids),
                c_v: c_v(&counts.cv, &ids),
                u_mass: u_mass(&counts.documents, &ids),
            }
        })
        .collect())
}

/// The counts of `relevant` (ids; index i is relevant word i) over `docs`, token id sequences in
/// text order in the same id space.
pub fn count_here<D: AsRef<[u32]> + Sync>(docs: &[D], relevant: &[u32]) -> Cooccurrence {
    let position: FxHashMap<u32, u32> = relevant.iter().enumerate().map(|(i, &w)| (w, i as u32)).collect();
    // Each token as its relevant-word index (u32, NONE outside): half the memory of usize.
    let mapped: Vec<Vec<u32>> = docs
        .par_iter()
        .map(|d| d.as_ref().iter().map(|t| position.get(t).copied().unwrap_or(NONE)).collect())
        .collect();
    Cooccurrence::count(&mapped, relevant.len())
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
        let here = |relevant: &[u32]| Ok(count_here(&docs, relevant));
        let got = coherence(&here, &topics).unwrap();
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
        // Counted in two parts that travel and are added up: the same coherence, bit for bit.
        let in_parts = |relevant: &[u32]| {
            let travel = |part: &[Vec<u32>]| -> Cooccurrence {
                let bytes = crate::shards::encode(&count_here(part, relevant), "counts").unwrap();
                crate::shards::decode(&bytes, "counts").unwrap()
            };
            Ok(Cooccurrence::empty(relevant.len()).merge(travel(&docs[..3])).merge(travel(&docs[3..])))
        };
        let parts = coherence(&in_parts, &topics).unwrap();
        assert_eq!(got, parts);
    }
}
