//! Percentile bootstrap over documents by Poisson weights: in replicate r every document counts
//! w times, w ~ Poisson(1) drawn from (seed, the document's id, r) alone, the statistic is
//! recomputed with those weights, and the 2.5th and 97.5th percentiles of the replicates form a
//! 95% interval. A document's weights depend on nothing else — not its period's other documents,
//! the thread count, nor how a corpus is cut into shards — so per-shard weighted sums merge into
//! exactly the replicates of a single pass (the Poisson bootstrap of Hanley & MacGibbon 2006, as
//! used for data too large to resample in one place; close to the classic n-out-of-n bootstrap
//! once a period has more than a few dozen documents).

/// A stable key for a document id (64-bit FNV-1a): the same id gives the same weights in every
/// run, version and platform.
pub fn document_key(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// P(W ≤ k) for W ~ Poisson(1), k = 0, 1, …; past the table the weight is 12 (probability < 1e-9).
const POISSON_CDF: [f64; 12] = {
    let mut cdf = [0.0; 12];
    let (mut term, mut sum, mut k) = (1.0f64, 0.0f64, 0);
    while k < 12 {
        if k > 0 {
            term /= k as f64;
        }
        sum += term;
        cdf[k] = sum * 0.367_879_441_171_442_33; // e⁻¹
        k += 1;
    }
    cdf
};

/// The weight of the document with key `key` in replicate `replicate`.
pub fn weight(seed: u64, key: u64, replicate: usize) -> u32 {
    let u = (splitmix(seed ^ splitmix(key ^ splitmix(replicate as u64 + 1))) >> 11) as f64 / (1u64 << 53) as f64;
    POISSON_CDF.iter().position(|&c| u < c).unwrap_or(12) as u32
}

/// SplitMix64's finalizer: a counter-based generator, so a weight is a pure function of its inputs.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The central 95% of `values` (percentiles by linear interpolation, as numpy's default).
pub fn interval(values: &mut [f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    values.sort_by(f64::total_cmp);
    (percentile(values, 2.5), percentile(values, 97.5))
}

/// The q-th percentile (0–100) of sorted values, interpolated linearly.
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_poisson_one_and_depend_only_on_seed_document_and_replicate() {
        let key = document_key("xwlb-2015-0001");
        assert_eq!(weight(7, key, 3), weight(7, key, 3));
        let draws: Vec<u32> = (0..200_000).map(|r| weight(7, key, r)).collect();
        let mean = draws.iter().map(|&w| w as f64).sum::<f64>() / draws.len() as f64;
        let var = draws.iter().map(|&w| (w as f64 - mean).powi(2)).sum::<f64>() / draws.len() as f64;
        assert!((mean - 1.0).abs() < 0.01 && (var - 1.0).abs() < 0.02, "mean {mean}, variance {var}");
        let zeros = draws.iter().filter(|&&w| w == 0).count() as f64 / draws.len() as f64;
        assert!((zeros - (-1.0f64).exp()).abs() < 0.005, "P(0) = {zeros}");
        // Other documents and seeds give other streams.
        let other: Vec<u32> = (0..64).map(|r| weight(7, document_key("xwlb-2015-0002"), r)).collect();
        assert_ne!(other, draws[..64]);
        assert_ne!((0..64).map(|r| weight(8, key, r)).collect::<Vec<_>>(), draws[..64]);
    }

    #[test]
    fn document_keys_are_fnv1a() {
        assert_eq!(document_key(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(document_key("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn intervals_interpolate_like_numpy() {
        let mut v: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(interval(&mut v), (2.5, 97.5));
    }
}
