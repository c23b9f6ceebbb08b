//! Rows of an NMF factor ↔ topic-major lanes, the layout in which the HALS sweep updates
//! [`LANES`] rows at once: `lanes[t · LANES + i]` holds row `i`'s value for topic `t`. With AVX2
//! the copy goes by 8 × 8 blocks transposed in registers, otherwise one value at a time; either
//! way it only moves values, so the lanes of the rows present are the same.

/// Rows updated together, one per SIMD lane.
pub const LANES: usize = 16;

/// Copy `rows` (up to [`LANES`] rows of `k` values) into `lanes` (`k · LANES` values). Lanes
/// past the last row are not meaningful afterwards.
pub fn to_lanes(wide: bool, rows: &[f32], k: usize, lanes: &mut [f32]) {
    check(rows, k, lanes);
    fastest!(wide, to_lanes_avx2(rows, k, lanes), {
        for (i, row) in rows.chunks_exact(k).enumerate() {
            for (t, &value) in row.iter().enumerate() {
                lanes[t * LANES + i] = value;
            }
        }
    });
}

/// Copy `lanes` back into `rows` (the rows present only).
pub fn from_lanes(wide: bool, lanes: &[f32], k: usize, rows: &mut [f32]) {
    check(rows, k, lanes);
    fastest!(wide, from_lanes_avx2(lanes, k, rows), {
        for (i, row) in rows.chunks_exact_mut(k).enumerate() {
            for (t, value) in row.iter_mut().enumerate() {
                *value = lanes[t * LANES + i];
            }
        }
    });
}

fn check(rows: &[f32], k: usize, lanes: &[f32]) {
    assert!(k > 0 && rows.len().is_multiple_of(k) && rows.len() <= LANES * k, "up to {LANES} whole rows");
    assert_eq!(lanes.len(), k * LANES, "one lane per row and topic");
}

use crate::linalg::fastest;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// The first `n` (≤ 8) lanes of a vector set.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn first_lanes(n: usize) -> __m256i {
    _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
}

/// Rows of an 8 × 8 block become its columns.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    let t = [
        _mm256_unpacklo_ps(r[0], r[1]),
        _mm256_unpackhi_ps(r[0], r[1]),
        _mm256_unpacklo_ps(r[2], r[3]),
        _mm256_unpackhi_ps(r[2], r[3]),
        _mm256_unpacklo_ps(r[4], r[5]),
        _mm256_unpackhi_ps(r[4], r[5]),
        _mm256_unpacklo_ps(r[6], r[7]),
        _mm256_unpackhi_ps(r[6], r[7]),
    ];
    let u = [
        _mm256_shuffle_ps::<0x44>(t[0], t[2]),
        _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
        _mm256_shuffle_ps::<0x44>(t[1], t[3]),
        _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
        _mm256_shuffle_ps::<0x44>(t[4], t[6]),
        _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
        _mm256_shuffle_ps::<0x44>(t[5], t[7]),
        _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
    ];
    [
        _mm256_permute2f128_ps::<0x20>(u[0], u[4]),
        _mm256_permute2f128_ps::<0x20>(u[1], u[5]),
        _mm256_permute2f128_ps::<0x20>(u[2], u[6]),
        _mm256_permute2f128_ps::<0x20>(u[3], u[7]),
        _mm256_permute2f128_ps::<0x31>(u[0], u[4]),
        _mm256_permute2f128_ps::<0x31>(u[1], u[5]),
        _mm256_permute2f128_ps::<0x31>(u[2], u[6]),
        _mm256_permute2f128_ps::<0x31>(u[3], u[7]),
    ]
}

/// # Safety
/// Needs AVX2; shapes as [`check`] accepts. Reads are masked to each row's `k` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn to_lanes_avx2(rows: &[f32], k: usize, lanes: &mut [f32]) {
    let n = rows.len() / k;
    for first_row in (0..n).step_by(8) {
        let present = (n - first_row).min(8);
        for first_topic in (0..k).step_by(8) {
            let width = (k - first_topic).min(8);
            let mask = first_lanes(width);
            let block = std::array::from_fn(|i| match i < present {
                true => _mm256_maskload_ps(rows.as_ptr().add((first_row + i) * k + first_topic), mask),
                false => _mm256_setzero_ps(),
            });
            for (j, column) in transpose8(block).into_iter().take(width).enumerate() {
                _mm256_storeu_ps(lanes.as_mut_ptr().add((first_topic + j) * LANES + first_row), column);
            }
        }
    }
}

/// # Safety
/// Needs AVX2; shapes as [`check`] accepts. Writes are masked to each row's `k` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn from_lanes_avx2(lanes: &[f32], k: usize, rows: &mut [f32]) {
    let n = rows.len() / k;
    for first_row in (0..n).step_by(8) {
        let present = (n - first_row).min(8);
        for first_topic in (0..k).step_by(8) {
            let width = (k - first_topic).min(8);
            let mask = first_lanes(width);
            let block = std::array::from_fn(|j| match j < width {
                true => _mm256_loadu_ps(lanes.as_ptr().add((first_topic + j) * LANES + first_row)),
                false => _mm256_setzero_ps(),
            });
            for (i, row) in transpose8(block).into_iter().take(present).enumerate() {
                _mm256_maskstore_ps(rows.as_mut_ptr().add((first_row + i) * k + first_topic), mask, row);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::wide_simd;

    /// Both ways, the AVX2 copy and the one-at-a-time copy agree on every row present, for
    /// topic counts that leave partial blocks and for groups of 1 to 16 rows.
    #[test]
    fn block_transposes_move_values_as_one_at_a_time() {
        for k in [1, 3, 8, 13, 20, 24] {
            for n in 1..=LANES {
                let rows: Vec<f32> = (0..n * k).map(|i| i as f32 * 0.5 - 7.0).collect();
                let (mut plain, mut wide) = (vec![f32::NAN; k * LANES], vec![f32::NAN; k * LANES]);
                to_lanes(false, &rows, k, &mut plain);
                to_lanes(wide_simd(), &rows, k, &mut wide);
                for t in 0..k {
                    for i in 0..n {
                        assert_eq!(wide[t * LANES + i], rows[i * k + t], "k = {k}, n = {n}");
                        assert_eq!(plain[t * LANES + i], rows[i * k + t], "k = {k}, n = {n}");
                    }
                }
                let (mut back_plain, mut back_wide) = (vec![0f32; n * k], vec![0f32; n * k]);
                from_lanes(false, &plain, k, &mut back_plain);
                from_lanes(wide_simd(), &wide, k, &mut back_wide);
                assert_eq!(back_plain, rows, "k = {k}, n = {n}");
                assert_eq!(back_wide, rows, "k = {k}, n = {n}");
            }
        }
    }
}
