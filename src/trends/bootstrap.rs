//! Percentile bootstrap over documents: a period's documents are drawn with replacement, the
//! statistic recomputed, and the 2.5th and 97.5th percentiles of the replicates form a 95% interval.
//! Every (period, replicate) has its own seeded stream, so results do not depend on thread count.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Positions into a period's `n` documents for replicate `replicate` of period `period`.
pub fn draw(n: usize, seed: u64, period: usize, replicate: usize) -> Vec<usize> {
    let stream = seed ^ ((period as u64) << 32 | replicate as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(stream);
    (0..n).map(|_| rng.gen_range(0..n)).collect()
}

/// The central 95% of `values` (percentiles by linear interpolation, as numpy's default).
pub fn interval(values: &mut [f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    values.sort_by(f64::total_cmp);
    (percentile(values, 2.5), percentile(values, 97.5))
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_reproducible_and_intervals_interpolate() {
        assert_eq!(draw(50, 7, 1, 2), draw(50, 7, 1, 2));
        assert_ne!(draw(50, 7, 1, 2), draw(50, 7, 1, 3));
        let mut v: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(interval(&mut v), (2.5, 97.5));
    }
}
