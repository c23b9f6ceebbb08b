//! The statistics of trend analysis, each with its formula:
//!
//! - **Mann–Kendall** (as `pymannkendall.original_test`): S = Σ_{i<j} sign(x_j − x_i);
//!   Var(S) = [n(n−1)(2n+5) − Σ_t t(t−1)(2t+5)] / 18 over groups of t tied values;
//!   z = (S − 1)/√Var if S > 0, (S + 1)/√Var if S < 0, else 0; two-sided p = 2·(1 − Φ(|z|));
//!   tau = S / (n(n−1)/2).
//! - **Sen's slope**: the median of (x_j − x_i)/(j − i) over all pairs i < j.
//! - **Benjamini–Hochberg** (as `scipy.stats.false_discovery_control(method="bh")`):
//!   q_(i) = min_{k ≥ i} min(1, p_(k)·m/k) over p-values sorted ascending.
//! - **G²** (as quanteda `textstat_keyness(measure = "lr")`): for a term with counts a (target) and
//!   b (reference), c and d the other tokens of each side, N = a+b+c+d and E the expected cells,
//!   G² = ±2 Σ O·ln(O/E + 1e−9), positive when a > E11; the default correction is Yates' (±0.5 on
//!   the cells) when some expected cell is below 5 and |ad − bc| > N/2; Williams' divides by
//!   q = 1 + (N/(a+b) + N/(c+d) − 1)(N/(a+c) + N/(b+d) − 1)/(6N) when no cell is zero.
//!   p = P(χ²₁ > |G²|).
//! - **log ratio** (Hardie's effect size): log₂((a + 0.5)/(a + c) ÷ (b + 0.5)/(b + d)).
//! - **Change points**: binary segmentation of a series by squared-error cost; a split is kept when it
//!   lowers the cost by more than penalty · σ̂² · ln n, σ̂² estimated from first differences
//!   (median absolute difference scaled for a normal, squared, halved).

use serde::Serialize;

/// P(Z > z) for a standard normal Z.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

/// P(X > x) for X ~ χ² with one degree of freedom.
pub fn chi2_1_sf(x: f64) -> f64 {
    libm::erfc((x.max(0.0) / 2.0).sqrt())
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannKendall {
    pub s: f64,
    pub var_s: f64,
    pub z: f64,
    pub p: f64,
    pub tau: f64,
}

pub fn mann_kendall(x: &[f64]) -> MannKendall {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        for j in i + 1..n {
            s += (x[j] - x[i]).signum() * ((x[j] - x[i]) != 0.0) as u8 as f64;
        }
    }
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut ties = 0.0;
    let mut i = 0;
    while i < n {
        let t = sorted[i..].iter().take_while(|&&v| v == sorted[i]).count() as f64;
        ties += t * (t - 1.0) * (2.0 * t + 5.0);
        i += t as usize;
    }
    let nf = n as f64;
    let var_s = (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0;
    let z = if var_s <= 0.0 {
        0.0
    } else if s > 0.0 {
        (s - 1.0) / var_s.sqrt()
    } else if s < 0.0 {
        (s + 1.0) / var_s.sqrt()
    } else {
        0.0
    };
    let pairs = nf * (nf - 1.0) / 2.0;
    MannKendall { s, var_s, z, p: 2.0 * normal_sf(z.abs()), tau: if pairs > 0.0 { s / pairs } else { 0.0 } }
}

pub fn sen_slope(x: &[f64]) -> f64 {
    let mut slopes = Vec::with_capacity(x.len() * x.len() / 2);
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            slopes.push((x[j] - x[i]) / (j - i) as f64);
        }
    }
    median(&mut slopes)
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Benjamini–Hochberg adjusted p-values, in the order of `p`.
pub fn bh_adjust(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let mut q = vec![0.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m as f64 / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}

/// quanteda's choices for the G² correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// Yates' correction where an expected cell is below 5 (quanteda's default).
    #[default]
    Default,
    /// Yates' correction, under the same conditions.
    Yates,
    Williams,
    None,
}

/// Signed G² of a term counted `a` times among `total_a` target tokens and `b` times among
/// `total_b` reference tokens.
pub fn g2(a: f64, b: f64, total_a: f64, total_b: f64, correction: Correction) -> f64 {
    const EPSILON: f64 = 1e-9;
    let (mut a, mut b, mut c, mut d) = (a, b, total_a - a, total_b - b);
    let n = a + b + c + d;
    let e11 = (a + b) * (a + c) / n;
    if matches!(correction, Correction::Default | Correction::Yates) {
        let small =
            [(a + b) * (a + c), (a + b) * (b + d), (a + c) * (c + d), (c + d) * (b + d)].iter().any(|e| e / n < 5.0);
        if small && (a * d - b * c).abs() > n / 2.0 {
            let shift = if a * d - b * c > 0.0 { 0.5 } else { -0.5 };
            (a, d, b, c) = (a - shift, d - shift, b + shift, c + shift);
        }
    }
    let term = |o: f64, e: f64| if o == 0.0 { 0.0 } else { o * (o / e + EPSILON).ln() };
    let g = 2.0
        * (term(a, e11)
            + term(b, (a + b) * (b + d) / n)
            + term(c, (a + c) * (c + d) / n)
            + term(d, (b + d) * (c + d) / n));
    let mut g = if a > e11 { g } else { -g };
    if correction == Correction::Williams && a * b * c * d != 0.0 {
        g /= 1.0 + (n / (a + b) + n / (c + d) - 1.0) * (n / (a + c) + n / (b + d) - 1.0) / (6.0 * n);
    }
    g
}

pub fn log_ratio(a: f64, b: f64, total_a: f64, total_b: f64) -> f64 {
    (((a + 0.5) / total_a) / ((b + 0.5) / total_b)).log2()
}

/// Indices where a new segment starts (each in 1..n), in order.
pub fn change_points(x: &[f64], penalty: f64, min_segment: usize) -> Vec<usize> {
    let n = x.len();
    if n < 2 * min_segment {
        return Vec::new();
    }
    let mut diffs: Vec<f64> = x.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let sigma = median(&mut diffs) / 0.6745 / std::f64::consts::SQRT_2;
    let threshold = penalty * (sigma * sigma).max(1e-12) * (n as f64).ln();
    let mut cuts = Vec::new();
    split(x, 0, n, threshold, min_segment, &mut cuts);
    cuts.sort_unstable();
    cuts
}

fn cost(x: &[f64]) -> f64 {
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    x.iter().map(|v| (v - mean).powi(2)).sum()
}

fn split(x: &[f64], start: usize, end: usize, threshold: f64, min: usize, cuts: &mut Vec<usize>) {
    if end - start < 2 * min {
        return;
    }
    let whole = cost(&x[start..end]);
    let best = (start + min..=end - min)
        .map(|k| (whole - cost(&x[start..k]) - cost(&x[k..end]), k))
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
    if let Some((gain, k)) = best {
        if gain > threshold {
            cuts.push(k);
            split(x, start, k, threshold, min, cuts);
            split(x, k, end, threshold, min, cuts);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    #[test]
    fn mann_kendall_by_hand() {
        // 1 3 2 4 5: 9 concordant, 1 discordant pair → S = 8, Var = 5·4·15/18 = 50/3.
        let mk = mann_kendall(&[1.0, 3.0, 2.0, 4.0, 5.0]);
        assert_eq!(mk.s, 8.0);
        assert!(close(mk.var_s, 50.0 / 3.0, 1e-12));
        assert!(close(mk.z, 7.0 / (50.0f64 / 3.0).sqrt(), 1e-12));
        assert!(close(mk.tau, 0.8, 1e-12));
        // Ties: 1 1 2 → S = 2; Var = (3·2·11 − 2·1·9)/18 = 48/18.
        let tied = mann_kendall(&[1.0, 1.0, 2.0]);
        assert_eq!(tied.s, 2.0);
        assert!(close(tied.var_s, 48.0 / 18.0, 1e-12));
    }

    #[test]
    fn sen_slope_is_the_median_pairwise_slope() {
        assert_eq!(sen_slope(&[1.0, 3.0, 2.0, 4.0, 5.0]), 1.0);
        assert_eq!(sen_slope(&[0.0, 10.0]), 10.0);
    }

    #[test]
    fn bh_by_hand() {
        // m = 4: sorted 0.01 0.02 0.03 0.5 → 0.04 0.04 0.04 0.5
        let q = bh_adjust(&[0.5, 0.01, 0.03, 0.02]);
        for (got, want) in q.iter().zip([0.5, 0.04, 0.04, 0.04]) {
            assert!(close(*got, want, 1e-12), "{q:?}");
        }
    }

    #[test]
    fn g2_by_hand_without_correction() {
        // a = 10 of 100, b = 2 of 100: E11 = 6, E12 = 6, E21 = 94, E22 = 94.
        let want = 2.0
            * (10.0 * (10.0f64 / 6.0).ln()
                + 2.0 * (2.0f64 / 6.0).ln()
                + 90.0 * (90.0f64 / 94.0).ln()
                + 98.0 * (98.0f64 / 94.0).ln());
        assert!(close(g2(10.0, 2.0, 100.0, 100.0, Correction::None), want, 1e-6));
        assert!(close(g2(2.0, 10.0, 100.0, 100.0, Correction::None), -want, 1e-6));
        // Yates applies here (expected 6 … no cell below 5 → none): same as uncorrected.
        assert!(close(g2(10.0, 2.0, 100.0, 100.0, Correction::Default), want, 1e-6));
        // With an expected cell below 5 the cells move by 0.5 towards independence.
        let (a, b, c, d) = (4.5, 1.5, 95.5, 98.5);
        let yates =
            2.0 * (a * (a / 3.0f64).ln() + b * (b / 3.0f64).ln() + c * (c / 97.0f64).ln() + d * (d / 97.0f64).ln());
        assert!(close(g2(5.0, 1.0, 100.0, 100.0, Correction::Default), yates, 1e-6));
        assert!(close(chi2_1_sf(3.841458820694124), 0.05, 1e-9));
    }

    /// Values from pymannkendall 1.4 and scipy (tests/peers/make_stats_reference.py).
    #[test]
    fn agree_with_pymannkendall_and_scipy() {
        let reference: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/stats_reference.json")).unwrap();
        let floats =
            |v: &serde_json::Value| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect::<Vec<_>>();
        for case in reference["mann_kendall"].as_array().unwrap() {
            let x = floats(&case["x"]);
            let ours = mann_kendall(&x);
            for (name, got) in [("s", ours.s), ("var_s", ours.var_s), ("z", ours.z), ("p", ours.p), ("tau", ours.tau)] {
                assert!(close(got, case[name].as_f64().unwrap(), 1e-9), "{name} of {x:?}: {got} vs {}", case[name]);
            }
            assert!(close(sen_slope(&x), case["sen_slope"].as_f64().unwrap(), 1e-9), "sen slope of {x:?}");
        }
        for case in reference["bh"].as_array().unwrap() {
            for (got, want) in bh_adjust(&floats(&case["p"])).iter().zip(floats(&case["q"])) {
                assert!(close(*got, want, 1e-12));
            }
        }
    }

    #[test]
    fn log_ratio_doubles_with_double_the_rate() {
        assert!(close(log_ratio(15.5, 7.5, 100.0, 100.0), 1.0, 1e-12));
    }

    #[test]
    fn change_points_find_a_step() {
        let x = [1.0, 1.1, 0.9, 1.0, 1.05, 5.0, 5.1, 4.9, 5.0, 5.05];
        assert_eq!(change_points(&x, 2.0, 2), [5]);
        assert!(change_points(&[1.0, 1.1, 0.9, 1.0, 1.05, 0.95], 2.0, 2).is_empty());
    }
}
