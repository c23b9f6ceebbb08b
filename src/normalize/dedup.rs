//! Near-duplicate documents (reprints, reruns with small edits) form groups.
//!
//! Each text becomes a set of character 5-shingles (whitespace and punctuation left out), sketched
//! with one-permutation MinHash: 64 bins, each keeping the smallest shingle hash that falls in it,
//! empty bins filled from the next full one. The share of equal bins estimates the Jaccard
//! similarity of two shingle sets. LSH banding (16 bands of 4 bins) proposes candidate pairs, so
//! the work grows with the corpus, not with its square; a pair joins a group when its estimate
//! reaches the threshold and their dates lie within `window_days` of each other (an undated
//! document joins the group of its most similar dated partner): edited reprints come within weeks, while a yearly notice that
//! repeats last year's wording with new numbers is news of its own year. Identical texts group
//! whatever their dates: a verbatim repeat is a rerun. Groups are closed under union; the earliest member (by date, then input
//! order) is the one the others point to.
//!
//! Grouping reads no text: each document's [`Fingerprints`] (a 128-bit xxh3 digest of its text,
//! for verbatim repeats, and its sketch) are made where the text is — by each shard's map in a
//! sharded run — and joined in shard order. Two different texts share a digest with a chance of
//! about n²/2¹²⁹ (below 10⁻²⁷ for a million documents).

use std::hash::{BuildHasher, Hash};

use chrono::NaiveDate;
use rayon::prelude::*;
use rustc_hash::{FxBuildHasher, FxHashMap};
use serde::{Deserialize, Serialize};

use crate::corpus::is_word_char;

const BINS: usize = 64;
const BANDS: usize = 16;
const ROWS: usize = BINS / BANDS;
const SHINGLE: usize = 5;
/// Members of one LSH bucket compared with each other, at most; a bucket larger than this is
/// almost always one template, and its members are compared with the first ones only.
const BUCKET_CAP: usize = 64;

type Sketch = [u64; BINS];

/// What duplicate grouping needs of each document, in document order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Fingerprints {
    /// xxh3-128 of each text, as (high, low) halves.
    digests: Vec<(u64, u64)>,
    /// `BINS` values per document; meaningful only where `shingled`.
    sketches: Vec<u64>,
    /// Whether the text has any shingle at all (an empty text has no sketch).
    shingled: Vec<bool>,
}

impl Fingerprints {
    pub fn of<S: AsRef<str> + Sync>(texts: &[S]) -> Fingerprints {
        // Ctrl-C is honoured between documents (see `progress::check`).
        let each: Vec<((u64, u64), Option<Sketch>)> = texts
            .par_iter()
            .map(|t| {
                crate::progress::check();
                let digest = xxhash_rust::xxh3::xxh3_128(t.as_ref().as_bytes());
                (((digest >> 64) as u64, digest as u64), sketch(t.as_ref()))
            })
            .collect();
        let mut out = Fingerprints {
            digests: Vec::with_capacity(each.len()),
            sketches: Vec::with_capacity(each.len() * BINS),
            shingled: Vec::with_capacity(each.len()),
        };
        for (digest, sketch) in each {
            out.digests.push(digest);
            out.shingled.push(sketch.is_some());
            out.sketches.extend_from_slice(&sketch.unwrap_or([0; BINS]));
        }
        out
    }

    /// The next shard's fingerprints after these (shards joined in order).
    pub fn append(&mut self, part: Fingerprints) {
        self.digests.extend(part.digests);
        self.sketches.extend(part.sketches);
        self.shingled.extend(part.shingled);
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    fn sketch(&self, doc: usize) -> Option<&[u64]> {
        self.shingled[doc].then(|| &self.sketches[doc * BINS..(doc + 1) * BINS])
    }
}

/// For each document, the index of the earliest member of its group when it is not that member.
pub fn duplicate_groups(
    prints: &Fingerprints,
    dates: &[Option<NaiveDate>],
    threshold: f64,
    window_days: i64,
) -> Vec<Option<usize>> {
    assert_eq!(prints.len(), dates.len(), "one fingerprint and one date per document");
    let n_docs = prints.len();
    let near_in_time = |a: usize, b: usize| match (dates[a], dates[b]) {
        (Some(x), Some(y)) => (x - y).num_days().abs() <= window_days,
        _ => false,
    };
    let mut groups = UnionFind::new(n_docs);
    // Identical texts always group, whatever their dates and however crowded their LSH buckets.
    let mut first_with_text: FxHashMap<(u64, u64), usize> = FxHashMap::default();
    for (doc, digest) in prints.digests.iter().enumerate() {
        crate::progress::check_every(doc, 4096);
        let first = *first_with_text.entry(*digest).or_insert(doc);
        groups.union(first, doc);
    }
    // Band by band (only one band's keys are held: all sixteen were ~230 MB at 8× the xwlb
    // corpus), each document's key, sorted: a bucket is a run of equal keys, its members in
    // document order (no map of mostly one-member lists). Pairs come band by band, as from all
    // bands' keys sorted at once.
    let mut pairs: Vec<(u32, u32, f64)> = Vec::new();
    for band in 0..BANDS {
        let mut keyed: Vec<(u64, u32)> = (0..n_docs)
            .into_par_iter()
            .filter_map(|doc| {
                let sketch = prints.sketch(doc)?;
                Some((FxBuildHasher.hash_one(&sketch[band * ROWS..(band + 1) * ROWS]), doc as u32))
            })
            .collect();
        crate::progress::check();
        keyed.par_sort_unstable();
        let in_order: Vec<u32> = keyed.iter().map(|&(_, doc)| doc).collect();
        let mut bucket_list: Vec<&[u32]> = Vec::new();
        let mut start = 0;
        for run in keyed.chunk_by(|a, b| a.0 == b.0) {
            if run.len() > 1 {
                bucket_list.push(&in_order[start..start + run.len()]);
            }
            start += run.len();
        }
        drop(keyed);
        pairs.par_extend(bucket_list.par_iter().flat_map_iter(|members| {
            crate::progress::check();
            let heads = &members[..members.len().min(BUCKET_CAP)];
            members.iter().enumerate().flat_map(move |(i, &b)| {
                // Every earlier member up to the cap, and always the one just before.
                let previous = (i >= heads.len()).then(|| members[i - 1]);
                heads[..i.min(heads.len())].iter().copied().chain(previous).filter_map(move |a| {
                    // Identical texts are grouped already; their pair matters below only when
                    // exactly one of them is undated. Skipping the rest keeps a corpus of many
                    // reruns (a replica, a feed that repeats) from listing each pair in every band.
                    let (x, y) = (a as usize, b as usize);
                    if prints.digests[x] == prints.digests[y] && dates[x].is_some() == dates[y].is_some() {
                        return None;
                    }
                    let (sa, sb) = (prints.sketch(x)?, prints.sketch(y)?);
                    let s = similarity(sa, sb);
                    (s >= threshold).then_some((a, b, s))
                })
            })
        }));
    }
    // Dated pairs join within the window. An undated document joins only its most similar dated
    // partner, so that it never bridges two groups the window keeps apart; undated documents with
    // no dated partner group among themselves.
    let mut best_dated: Vec<Option<(f64, usize)>> = vec![None; n_docs];
    let mut undated_pairs = Vec::new();
    for &(a, b, s) in &pairs {
        let (a, b) = (a as usize, b as usize);
        match (dates[a], dates[b]) {
            (Some(_), Some(_)) if near_in_time(a, b) => groups.union(a, b),
            (Some(_), Some(_)) => {}
            (None, None) => undated_pairs.push((a, b)),
            (None, Some(_)) | (Some(_), None) => {
                let (u, d) = if dates[a].is_none() { (a, b) } else { (b, a) };
                let better = best_dated[u].is_none_or(|(bs, bd)| s > bs || (s == bs && d < bd));
                if better {
                    best_dated[u] = Some((s, d));
                }
            }
        }
    }
    for (u, best) in best_dated.iter().enumerate() {
        if let Some((_, d)) = best {
            groups.union(u, *d);
        }
    }
    for (a, b) in undated_pairs {
        if best_dated[a].is_none() && best_dated[b].is_none() {
            groups.union(a, b);
        }
    }
    // The earliest member of each group: dated before undated, then by input order.
    let key = |d: usize| (dates[d].is_none(), dates[d], d);
    let mut earliest: FxHashMap<usize, usize> = FxHashMap::default();
    for d in 0..n_docs {
        let root = groups.find(d);
        let best = earliest.entry(root).or_insert(d);
        if key(d) < key(*best) {
            *best = d;
        }
    }
    (0..n_docs)
        .map(|d| {
            let first = earliest[&groups.find(d)];
            (first != d).then_some(first)
        })
        .collect()
}

/// Share of equal bins: an estimate of the Jaccard similarity of the two shingle sets.
fn similarity(a: &[u64], b: &[u64]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / BINS as f64
}

/// The sketch of a text, or `None` when it has no shingle at all.
fn sketch(text: &str) -> Option<Sketch> {
    let chars: Vec<char> = text.chars().filter(|&c| is_word_char(c)).collect();
    if chars.is_empty() {
        return None;
    }
    let mut bins = [u64::MAX; BINS];
    for window in chars.windows(SHINGLE.min(chars.len())) {
        let mut state = rustc_hash::FxHasher::default();
        window.hash(&mut state);
        let h = mix(std::hash::Hasher::finish(&state));
        let bin = (h >> 58) as usize;
        bins[bin] = bins[bin].min(h & ((1 << 58) - 1));
    }
    // Fill an empty bin from the next full one, marked by the distance so fills rarely collide.
    let full: Vec<usize> = (0..BINS).filter(|&i| bins[i] != u64::MAX).collect();
    let mut out = bins;
    for i in (0..BINS).filter(|&i| bins[i] == u64::MAX) {
        let next = full.iter().copied().find(|&j| j > i).unwrap_or(full[0]);
        let distance = (next + BINS - i) % BINS;
        out[i] = mix(bins[next] ^ (distance as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
    Some(out)
}

/// splitmix64's finalizer: spreads FxHash's output over all 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind((0..n).collect())
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra.max(rb)] = ra.min(rb);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORY: &str = "两国元首在首都举行会谈，双方同意扩大能源、贸易和投资合作，推进交通基础设施互联互通，加强人文交流，并就地区和国际问题交换了意见。会谈后，双方签署了多项合作文件。";

    #[test]
    fn reprints_and_small_edits_group_with_the_earliest_and_others_stay_alone() {
        let edited = STORY.replace("多项", "十余项");
        let other = "气象部门发布寒潮预警，北方大部地区气温将下降八到十度，请公众注意防寒保暖，交通部门提示出行注意安全，农业部门指导农户做好防冻准备。";
        let next_year = STORY.replace("人文交流", "青年往来");
        let texts = [STORY, other, STORY, edited.as_str(), "", next_year.as_str(), STORY];
        let d = |y, m| NaiveDate::from_ymd_opt(y, m, 1);
        let dates = [d(2020, 3), d(2020, 1), d(2020, 2), None, None, d(2021, 3), d(2022, 1)];
        // The copy from February is the earliest: the March copy, the undated edit and the verbatim
        // rerun two years later point to it; the edited copy a year later is news of its own year.
        assert_eq!(
            duplicate_groups(&Fingerprints::of(&texts), &dates, 0.8, 90),
            [Some(2), None, None, Some(2), None, None, Some(2)]
        );
    }

    #[test]
    fn many_reruns_and_an_undated_copy_join_the_earliest_and_an_edit_joins_through_its_neighbour() {
        // Forty verbatim reruns over three years (more than a bucket holds), an undated copy, and an
        // edit dated beside the last rerun only: it joins through that rerun.
        let edited = STORY.replace("多项", "十余项");
        let mut texts: Vec<&str> = vec![STORY; 40];
        texts.extend([STORY, edited.as_str()]);
        let mut dates: Vec<Option<NaiveDate>> =
            (0..40).map(|i| NaiveDate::from_ymd_opt(2020, 1, 1).map(|d| d + chrono::Days::new(30 * i))).collect();
        dates.extend([None, dates[39].map(|d| d + chrono::Days::new(10))]);
        let groups = duplicate_groups(&Fingerprints::of(&texts), &dates, 0.8, 90);
        assert_eq!(groups[0], None);
        assert!(groups[1..].iter().all(|g| *g == Some(0)), "{groups:?}");
    }

    #[test]
    fn fingerprints_of_shards_joined_are_the_fingerprints_of_the_whole() {
        let texts = [STORY, "", "气象部门发布寒潮预警。", STORY];
        let mut joined = Fingerprints::of(&texts[..1]);
        joined.append(Fingerprints::of(&texts[1..]));
        let whole = Fingerprints::of(&texts);
        assert_eq!((joined.digests, joined.sketches, joined.shingled), (whole.digests, whole.sketches, whole.shingled));
    }

    #[test]
    fn similarity_estimates_jaccard() {
        let a = sketch(STORY).unwrap();
        assert_eq!(similarity(&a, &a), 1.0);
        let half: String = STORY.chars().take(STORY.chars().count() / 2).collect();
        let s = similarity(&a, &sketch(&half).unwrap());
        assert!((0.3..0.75).contains(&s), "{s}");
    }
}
