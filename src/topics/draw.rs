//! Drawing one topic from k unnormalised weights `p_t = c_t · (n_wt + β)`, eight topics at a
//! time: the dense Gibbs step of LDA, where `c_t = (α_t + n_dt) / (Vβ + n_t)` is kept per topic
//! and only the word's row of counts is new for each token.
//!
//! The weights and each block of eight's sum are f32, made in one fixed order of operations (no
//! fused multiply-add; the block sum as a fixed tree of pairs), so the AVX2 kernel and the
//! portable one give the same bits and a draw does not depend on which ran. The blocks are then
//! walked in f64: first block by block, then within the block whose sum passes the target.

use crate::linalg::fastest;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Topics per block (one AVX2 vector of f32).
pub const BLOCK: usize = 8;

/// `k` rounded up to whole blocks: the length of the coefficient and weight buffers.
pub fn padded(k: usize) -> usize {
    k.div_ceil(BLOCK) * BLOCK
}

/// `p[t] = coefficient[t] · (row[t] + β)` for the `row.len()` topics (0 past them: the padding
/// of `coefficient` must be 0) and each block's sum into `blocks`.
pub fn weights(wide: bool, coefficient: &[f32], row: &[u32], beta: f32, p: &mut [f32], blocks: &mut [f32]) {
    let k = row.len();
    assert!(coefficient.len() == padded(k) && p.len() == padded(k), "buffers of whole blocks");
    assert_eq!(blocks.len(), padded(k) / BLOCK, "a sum per block");
    fastest!(
        wide,
        weights_avx2(coefficient, row, beta, p, blocks),
        weights_portable(coefficient, row, beta, p, blocks)
    );
}

/// The sum of a block's eight weights, in the pairs the AVX2 kernel adds them in.
fn block_sum(l: &[f32]) -> f32 {
    let quads = [l[0] + l[4], l[1] + l[5], l[2] + l[6], l[3] + l[7]];
    let pairs = [quads[0] + quads[2], quads[1] + quads[3]];
    pairs[0] + pairs[1]
}

fn weights_portable(coefficient: &[f32], row: &[u32], beta: f32, p: &mut [f32], blocks: &mut [f32]) {
    for (t, out) in p.iter_mut().enumerate() {
        let count = row.get(t).map_or(0.0, |&n| n as i32 as f32);
        *out = coefficient[t] * (count + beta);
    }
    for (sum, block) in blocks.iter_mut().zip(p.chunks_exact(BLOCK)) {
        *sum = block_sum(block);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn weights_avx2(coefficient: &[f32], row: &[u32], beta: f32, p: &mut [f32], blocks: &mut [f32]) {
    let k = row.len();
    let beta = _mm256_set1_ps(beta);
    for (j, sum) in blocks.iter_mut().enumerate() {
        let first = j * BLOCK;
        // SAFETY: `first + BLOCK` ≤ the padded length of `coefficient` and `p` (checked by
        // `weights`); the row is read in full only when the block lies inside it, else masked to
        // its remaining topics (masked lanes read nothing and are 0).
        unsafe {
            let counts = if first + BLOCK <= k {
                _mm256_loadu_si256(row.as_ptr().add(first) as *const __m256i)
            } else {
                let mask = _mm256_cmpgt_epi32(
                    _mm256_set1_epi32((k - first) as i32),
                    _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                );
                _mm256_maskload_epi32(row.as_ptr().add(first) as *const i32, mask)
            };
            let weight = _mm256_mul_ps(
                _mm256_loadu_ps(coefficient.as_ptr().add(first)),
                _mm256_add_ps(_mm256_cvtepi32_ps(counts), beta),
            );
            _mm256_storeu_ps(p.as_mut_ptr().add(first), weight);
            let quads = _mm_add_ps(_mm256_castps256_ps128(weight), _mm256_extractf128_ps(weight, 1));
            let pairs = _mm_add_ps(quads, _mm_movehl_ps(quads, quads));
            *sum = _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)));
        }
    }
}

/// Tokens ahead of the one being drawn whose word rows are asked into the cache.
pub const PREFETCH_AHEAD: usize = 4;

/// Ask the cache for the lines of `row` before they are read: consecutive tokens' words lie
/// far apart in the word–topic table, and a row that comes from memory stalls the draw. Only a
/// hint — it changes no value.
#[inline(always)]
pub fn prefetch<T>(row: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let (start, end) = (row.as_ptr() as usize, row.as_ptr() as usize + std::mem::size_of_val(row));
        // Every cache line the row touches, from the one its first byte lies on.
        for line in (start & !63..end).step_by(64) {
            // SAFETY: a prefetch reads nothing architecturally, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line as *const i8) }
        }
    }
}

/// The row of counts in `table` (`k` per word) of the word `words[i + PREFETCH_AHEAD]`, asked
/// into the cache ([`prefetch`]); that word, if there is one.
#[inline(always)]
pub fn prefetch_ahead(table: &[u32], words: &[u32], i: usize, k: usize) -> Option<usize> {
    let ahead = *words.get(i + PREFETCH_AHEAD)? as usize;
    prefetch(&table[ahead * k..][..k]);
    Some(ahead)
}

/// The weights of one token's draw over `k` topics and each block's sum: buffers kept from
/// token to token.
pub struct Draw {
    k: usize,
    wide: bool,
    p: Vec<f32>,
    blocks: Vec<f32>,
}

impl Draw {
    pub fn new(k: usize) -> Self {
        Draw { k, wide: crate::linalg::wide_simd(), p: vec![0.0; padded(k)], blocks: vec![0.0; padded(k) / BLOCK] }
    }

    /// The weights `coefficient[t] · (row[t] + β)` (see [`weights`]).
    pub fn weigh(&mut self, coefficient: &[f32], row: &[u32], beta: f32) {
        debug_assert_eq!(row.len(), self.k);
        weights(self.wide, coefficient, row, beta, &mut self.p, &mut self.blocks);
    }

    /// The topic where the running sum of the weights first passes `u` (in [0, 1)) times their
    /// total: the blocks walked by their sums (f64), then the weights of the block that passes.
    pub fn pick(&self, u: f64) -> usize {
        let target = u * self.blocks.iter().map(|&s| s as f64).sum::<f64>();
        let mut before = 0.0;
        let mut j = 0;
        while j + 1 < self.blocks.len() && before + self.blocks[j] as f64 <= target {
            before += self.blocks[j] as f64;
            j += 1;
        }
        let last = (j * BLOCK + BLOCK).min(self.k);
        for t in j * BLOCK..last {
            before += self.p[t] as f64;
            if before > target {
                return t;
            }
        }
        // The block's own sum passed the target but its walk fell just short (another order of
        // the same additions): its last topic.
        last - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernels_give_the_same_bits_and_the_blocks_their_sums() {
        for k in [1, 5, 8, 13, 20, 64, 203] {
            let row: Vec<u32> = (0..k as u32).map(|t| (t * 7919) % 97 + (t % 3) * 100_000).collect();
            let mut coefficient: Vec<f32> = (0..k).map(|t| 1.0 / (3.0 + t as f32 * 0.37)).collect();
            coefficient.resize(padded(k), 0.0);
            let (mut p, mut blocks) = (vec![0f32; padded(k)], vec![0f32; padded(k) / BLOCK]);
            weights(false, &coefficient, &row, 0.01, &mut p, &mut blocks);
            for t in 0..k {
                assert_eq!(p[t], coefficient[t] * (row[t] as f32 + 0.01));
            }
            assert!(p[k..].iter().all(|&w| w == 0.0), "padding weighs nothing");
            if crate::linalg::wide_simd() {
                let (mut q, mut sums) = (vec![1f32; padded(k)], vec![1f32; padded(k) / BLOCK]);
                weights(true, &coefficient, &row, 0.01, &mut q, &mut sums);
                assert_eq!(
                    q.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    p.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                );
                assert_eq!(
                    sums.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    blocks.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                );
            }
            let direct: f64 = p.iter().map(|&w| w as f64).sum();
            let summed: f64 = blocks.iter().map(|&s| s as f64).sum();
            assert!((direct - summed).abs() <= 1e-6 * direct, "k {k}: {direct} vs {summed}");
        }
    }

    #[test]
    fn picks_follow_the_running_sum() {
        for k in [3, 8, 11, 20, 37] {
            let weights: Vec<f32> =
                (0..k).map(|t| [1.0, 0.0, 2.0, 1.0, 0.5, 0.5, 1.0, 1.0, 3.0, 0.0, 2.0][t % 11]).collect();
            let row: Vec<u32> = weights.iter().map(|&w| (w * 2.0) as u32).collect();
            // coefficient 0.5, β 0: the weights are the row's halves.
            let mut coefficient = vec![0.5f32; k];
            coefficient.resize(padded(k), 0.0);
            let mut draw = Draw::new(k);
            draw.weigh(&coefficient, &row, 0.0);
            let total: f64 = weights.iter().map(|&w| w as f64).sum();
            let expect = |u: f64| {
                let mut acc = 0.0;
                (0..k).find(|&t| {
                    acc += weights[t] as f64;
                    acc > u * total
                })
            };
            for i in 0..1200 {
                let u = i as f64 / 1200.0;
                assert_eq!(Some(draw.pick(u)), expect(u), "k {k}, u {u}");
            }
            let last = (0..k).rev().find(|&t| weights[t] > 0.0);
            assert_eq!(Some(draw.pick(0.999_999)), last);
        }
    }
}
