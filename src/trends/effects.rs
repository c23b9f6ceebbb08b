//! Effects of time and covariates on theme prevalence by the method of composition (Tanner 1996;
//! stm's `estimateEffect`, Roberts et al.): the uncertainty of the measured shares is carried
//! into the regression by refitting it on posterior draws of θ.
//!
//! For each of D draws: every document's shares θ_d ~ Dirichlet(n_d + α) (its tokens assigned to
//! each topic plus the prior — θ's posterior given the assignments); for each theme, the OLS fit
//! β̂ = (XᵀX)⁻¹Xᵀθ_k with covariance σ̂²(XᵀX)⁻¹ — or, clustered by a column, the CR1 sandwich
//! (XᵀX)⁻¹ (Σ_g X_gᵀe_g e_gᵀX_g) (XᵀX)⁻¹ · G/(G−1) · (n−1)/(n−p); then one β drawn from
//! N(β̂, V). The D drawn β give each coefficient's estimate (mean), standard error (sd) and
//! interval (quantiles), and each prediction's band.
//!
//! Draw d uses its own random stream (seed, d), so results do not depend on the threads.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::bootstrap::percentile;

/// The regression's design: `x` is n × p, row-major, its first column the intercept.
pub struct Design {
    pub terms: Vec<String>,
    pub x: Vec<f64>,
    pub n: usize,
    pub p: usize,
    /// Cluster of each row, for clustered standard errors.
    pub clusters: Option<Vec<u32>>,
}

pub struct EffectsParams {
    pub draws: usize,
    pub ci_level: f64,
    pub seed: u64,
}

/// One coefficient of one theme's regression.
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    pub theme: usize,
    pub term: usize,
    pub estimate: f64,
    pub std_error: f64,
    pub low: f64,
    pub high: f64,
}

/// One theme's prediction at one row of `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub theme: usize,
    pub at: usize,
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

/// `tokens[d * k + t]`: tokens of document d assigned to topic t; `alpha[t]` the prior; `themes`
/// the topics to regress; `at` rows of covariates (length p each) to predict at.
pub fn composition(
    design: &Design,
    tokens: &[f64],
    alpha: &[f64],
    themes: &[usize],
    at: &[Vec<f64>],
    params: &EffectsParams,
) -> Result<(Vec<Effect>, Vec<Prediction>), String> {
    let (n, p, k) = (design.n, design.p, alpha.len());
    if n <= p {
        return Err(format!("{n} documents for {p} coefficients: the regression needs more documents than terms"));
    }
    let mut gram = vec![0.0; p * p];
    for row in design.x.chunks(p) {
        for i in 0..p {
            for j in 0..p {
                gram[i * p + j] += row[i] * row[j];
            }
        }
    }
    let gram_inverse = invert(&gram, p).ok_or_else(|| {
        format!(
            "the formula's terms are collinear ({}): drop one of the terms that say the same",
            design.terms.join(", ")
        )
    })?;
    let per_draw: Vec<Vec<Vec<f64>>> = (0..params.draws)
        .into_par_iter()
        .map(|draw| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(params.seed ^ 0x6566_6665_6374 ^ ((draw as u64 + 1) << 16));
            let theta = dirichlet_rows(tokens, alpha, n, k, &mut rng);
            themes.iter().map(|&t| draw_coefficients(design, &gram_inverse, &theta, k, t, &mut rng)).collect()
        })
        .collect();
    let tail = (1.0 - params.ci_level) / 2.0;
    let summarise = |mut values: Vec<f64>| {
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (values.len().max(2) - 1) as f64;
        values.sort_by(f64::total_cmp);
        (mean, var.sqrt(), percentile(&values, 100.0 * tail), percentile(&values, 100.0 * (1.0 - tail)))
    };
    let mut effects = Vec::new();
    let mut predictions = Vec::new();
    for (i, &theme) in themes.iter().enumerate() {
        for term in 0..p {
            let (estimate, std_error, low, high) = summarise(per_draw.iter().map(|d| d[i][term]).collect());
            effects.push(Effect { theme, term, estimate, std_error, low, high });
        }
        for (a, row) in at.iter().enumerate() {
            let values = per_draw.iter().map(|d| row.iter().zip(&d[i]).map(|(x, b)| x * b).sum()).collect();
            let (estimate, _, low, high) = summarise(values);
            predictions.push(Prediction { theme, at: a, estimate, low, high });
        }
    }
    Ok((effects, predictions))
}

/// One OLS fit of topic t's shares and one β drawn from N(β̂, V).
fn draw_coefficients(
    design: &Design,
    gram_inverse: &[f64],
    theta: &[f64],
    k: usize,
    t: usize,
    rng: &mut Xoshiro256PlusPlus,
) -> Vec<f64> {
    let (n, p) = (design.n, design.p);
    let mut xty = vec![0.0; p];
    for (d, row) in design.x.chunks(p).enumerate() {
        let y = theta[d * k + t];
        row.iter().zip(&mut xty).for_each(|(x, s)| *s += x * y);
    }
    let beta = mat_vec(gram_inverse, &xty, p);
    let residual =
        |d: usize| theta[d * k + t] - design.x[d * p..(d + 1) * p].iter().zip(&beta).map(|(x, b)| x * b).sum::<f64>();
    let covariance = match &design.clusters {
        None => {
            let sigma2 = (0..n).map(|d| residual(d).powi(2)).sum::<f64>() / (n - p) as f64;
            gram_inverse.iter().map(|v| v * sigma2).collect::<Vec<_>>()
        }
        Some(clusters) => {
            let groups = clusters.iter().max().map_or(0, |&g| g as usize + 1);
            let mut scores = vec![0.0; groups * p];
            for (d, &g) in clusters.iter().enumerate() {
                let (e, g) = (residual(d), g as usize);
                for j in 0..p {
                    scores[g * p + j] += design.x[d * p + j] * e;
                }
            }
            let mut meat = vec![0.0; p * p];
            for s in scores.chunks(p) {
                for i in 0..p {
                    for j in 0..p {
                        meat[i * p + j] += s[i] * s[j];
                    }
                }
            }
            let g = groups as f64;
            let factor = g / (g - 1.0).max(1.0) * (n as f64 - 1.0) / (n - p) as f64;
            let sandwich = mat_mul(&mat_mul(gram_inverse, &meat, p), gram_inverse, p);
            sandwich.into_iter().map(|v| v * factor).collect()
        }
    };
    let lower = cholesky(&covariance, p);
    let z: Vec<f64> = (0..p).map(|_| standard_normal(rng)).collect();
    (0..p).map(|i| beta[i] + (0..=i).map(|j| lower[i * p + j] * z[j]).sum::<f64>()).collect()
}

/// θ_d ~ Dirichlet(tokens_d + α) for every document, as normalised gamma draws.
fn dirichlet_rows(tokens: &[f64], alpha: &[f64], n: usize, k: usize, rng: &mut Xoshiro256PlusPlus) -> Vec<f64> {
    let mut theta = vec![0.0; n * k];
    for d in 0..n {
        let row = &mut theta[d * k..(d + 1) * k];
        for t in 0..k {
            row[t] = gamma(tokens[d * k + t].max(0.0) + alpha[t], rng);
        }
        let sum: f64 = row.iter().sum();
        row.iter_mut().for_each(|x| *x /= sum);
    }
    theta
}

/// Gamma(shape, 1) by Marsaglia & Tsang (2000); shapes below 1 by the boost U^{1/shape}.
fn gamma(shape: f64, rng: &mut Xoshiro256PlusPlus) -> f64 {
    if shape < 1.0 {
        let u: f64 = rng.gen::<f64>().max(f64::MIN_POSITIVE);
        return gamma(shape + 1.0, rng) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = standard_normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u: f64 = rng.gen();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// N(0, 1) by Box–Muller.
fn standard_normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let u1: f64 = rng.gen::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Cubic B-spline basis of `x` with `df` columns, as R's `splines::bs(x, df)` (no intercept
/// column): boundary knots at the range of `x`, `df − 3` interior knots at its quantiles; the
/// first of the `df + 1` B-splines is left out, since the intercept spans it with the rest.
pub fn bspline_basis(x: &[f64], df: usize) -> Vec<Vec<f64>> {
    const DEGREE: usize = 3;
    let df = df.max(DEGREE);
    let mut sorted: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let (low, high) = (sorted[0], sorted[sorted.len() - 1]);
    let interior = df - DEGREE;
    let mut knots = vec![low; DEGREE + 1];
    knots.extend((1..=interior).map(|i| percentile(&sorted, 100.0 * i as f64 / (interior + 1) as f64)));
    knots.extend(std::iter::repeat_n(high, DEGREE + 1));
    let n_basis = knots.len() - DEGREE - 1;
    x.iter()
        .map(|&v| {
            // Cox–de Boor from degree 0 up; the right end belongs to the last interval.
            let v = v.clamp(low, high);
            let mut b: Vec<f64> = (0..knots.len() - 1)
                .map(|i| {
                    let last = knots[i + 1] == high && knots[i] < high;
                    f64::from((knots[i] <= v && v < knots[i + 1]) || (last && v == high))
                })
                .collect();
            for d in 1..=DEGREE {
                b = (0..knots.len() - 1 - d)
                    .map(|i| {
                        let left = if knots[i + d] > knots[i] {
                            (v - knots[i]) / (knots[i + d] - knots[i]) * b[i]
                        } else {
                            0.0
                        };
                        let right = if knots[i + d + 1] > knots[i + 1] {
                            (knots[i + d + 1] - v) / (knots[i + d + 1] - knots[i + 1]) * b[i + 1]
                        } else {
                            0.0
                        };
                        left + right
                    })
                    .collect();
            }
            b[1..n_basis].to_vec()
        })
        .collect()
}

fn mat_vec(a: &[f64], x: &[f64], p: usize) -> Vec<f64> {
    a.chunks(p).map(|row| row.iter().zip(x).map(|(a, x)| a * x).sum()).collect()
}

fn mat_mul(a: &[f64], b: &[f64], p: usize) -> Vec<f64> {
    let mut out = vec![0.0; p * p];
    for i in 0..p {
        for l in 0..p {
            let a_il = a[i * p + l];
            for j in 0..p {
                out[i * p + j] += a_il * b[l * p + j];
            }
        }
    }
    out
}

/// Lower-triangular L with L Lᵀ = a; a tiny ridge keeps a (numerically) semi-definite matrix drawable.
fn cholesky(a: &[f64], p: usize) -> Vec<f64> {
    let scale = (0..p).map(|i| a[i * p + i].abs()).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let mut l = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..=i {
            let s: f64 = (0..j).map(|m| l[i * p + m] * l[j * p + m]).sum();
            if i == j {
                l[i * p + i] = (a[i * p + i] - s).max(scale * 1e-14).sqrt();
            } else {
                l[i * p + j] = (a[i * p + j] - s) / l[j * p + j];
            }
        }
    }
    l
}

/// Inverse of a symmetric positive-definite matrix (Gauss–Jordan with partial pivoting); None if singular.
fn invert(a: &[f64], p: usize) -> Option<Vec<f64>> {
    let mut m = a.to_vec();
    let mut inv: Vec<f64> = (0..p * p).map(|i| if i / p == i % p { 1.0 } else { 0.0 }).collect();
    let scale = a.iter().map(|v| v.abs()).fold(0.0, f64::max);
    for col in 0..p {
        let pivot = (col..p).max_by(|&x, &y| m[x * p + col].abs().total_cmp(&m[y * p + col].abs()))?;
        if m[pivot * p + col].abs() <= scale * 1e-12 {
            return None;
        }
        for j in 0..p {
            m.swap(col * p + j, pivot * p + j);
            inv.swap(col * p + j, pivot * p + j);
        }
        let d = m[col * p + col];
        for j in 0..p {
            m[col * p + j] /= d;
            inv[col * p + j] /= d;
        }
        for r in (0..p).filter(|&r| r != col) {
            let f = m[r * p + col];
            if f != 0.0 {
                for j in 0..p {
                    m[r * p + j] -= f * m[col * p + j];
                    inv[r * p + j] -= f * inv[col * p + j];
                }
            }
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two groups of documents; in group 1 topic 0 holds 0.3 more of each document.
    fn planted(n: usize) -> (Design, Vec<f64>) {
        let mut x = Vec::new();
        let mut tokens = Vec::new();
        for d in 0..n {
            let group = (d % 2) as f64;
            x.extend([1.0, group]);
            let share = 0.3 + 0.3 * group;
            tokens.extend([200.0 * share, 200.0 * (1.0 - share)]);
        }
        (Design { terms: vec!["(Intercept)".into(), "group".into()], x, n, p: 2, clusters: None }, tokens)
    }

    #[test]
    fn recovers_a_planted_difference_with_an_honest_interval() {
        let (design, tokens) = planted(400);
        let params = EffectsParams { draws: 200, ci_level: 0.95, seed: 3 };
        let at = vec![vec![1.0, 0.0], vec![1.0, 1.0]];
        let (effects, predicted) = composition(&design, &tokens, &[0.5, 0.5], &[0], &at, &params).unwrap();
        let group = &effects[1];
        assert!((group.estimate - 0.3).abs() < 0.01, "{group:?}");
        assert!(group.low < 0.3 && 0.3 < group.high && group.std_error > 0.0, "{group:?}");
        assert!((predicted[0].estimate - 0.3).abs() < 0.01 && (predicted[1].estimate - 0.6).abs() < 0.01);
    }

    #[test]
    fn same_seed_same_draws_at_any_thread_count() {
        let (design, tokens) = planted(300);
        let params = EffectsParams { draws: 40, ci_level: 0.9, seed: 1 };
        let fit = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| composition(&design, &tokens, &[0.5, 0.5], &[0, 1], &[], &params).unwrap().0)
        };
        assert_eq!(fit(1), fit(3));
    }

    #[test]
    fn clustered_errors_widen_when_clusters_share_noise() {
        // Ten clusters of 30 documents, each cluster's shares moved together.
        let (_, mut tokens) = planted(300);
        for d in 0..300 {
            let bump = ((d / 30) as f64 - 4.5) * 4.0;
            tokens[d * 2] += bump;
            tokens[d * 2 + 1] -= bump;
        }
        let params = EffectsParams { draws: 60, ci_level: 0.95, seed: 2 };
        let se = |clusters: Option<Vec<u32>>| {
            let design = Design { clusters, ..planted(300).0 };
            composition(&design, &tokens, &[0.5, 0.5], &[0], &[], &params).unwrap().0[0].std_error
        };
        let clustered = se(Some((0..300).map(|d| (d / 30) as u32).collect()));
        assert!(clustered > 2.0 * se(None), "{clustered} vs {}", se(None));
    }

    #[test]
    fn spline_basis_is_a_partition_of_unity_and_fits_a_curve() {
        let x: Vec<f64> = (0..200).map(|i| i as f64 / 20.0).collect();
        let basis = bspline_basis(&x, 5);
        assert!(basis.iter().all(|row| row.len() == 5 && row.iter().all(|&b| b >= -1e-12)));
        // The B-splines sum to one; the dropped first one is zero past the first interior knot (≈ 3.3).
        assert!(basis.iter().all(|row| row.iter().sum::<f64>() <= 1.0 + 1e-9));
        for (v, row) in x.iter().zip(&basis).filter(|(v, _)| **v >= 3.5) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9, "at {v}");
        }
        // A smooth prevalence curve is recovered by the spline regression.
        let truth = |v: f64| 0.2 + 0.05 * (v / 2.0).sin();
        let n = x.len();
        let mut design = Vec::new();
        for row in &basis {
            design.push(1.0);
            design.extend(row);
        }
        let tokens: Vec<f64> = x.iter().flat_map(|&v| [2000.0 * truth(v), 2000.0 * (1.0 - truth(v))]).collect();
        let terms = (0..6).map(|i| format!("b{i}")).collect();
        let design = Design { terms, x: design, n, p: 6, clusters: None };
        let at: Vec<Vec<f64>> = [0usize, 100, 199].iter().map(|&i| [vec![1.0], basis[i].clone()].concat()).collect();
        let params = EffectsParams { draws: 50, ci_level: 0.95, seed: 4 };
        let (_, predicted) = composition(&design, &tokens, &[0.5, 0.5], &[0], &at, &params).unwrap();
        for (p, &i) in predicted.iter().zip(&[0usize, 100, 199]) {
            assert!((p.estimate - truth(x[i])).abs() < 0.01, "at {}: {} vs {}", x[i], p.estimate, truth(x[i]));
        }
    }

    #[test]
    fn collinear_terms_are_refused() {
        let x = (0..20).flat_map(|d| [1.0, d as f64, 2.0 * d as f64]).collect();
        let design =
            Design { terms: vec!["(Intercept)".into(), "a".into(), "b".into()], x, n: 20, p: 3, clusters: None };
        let tokens = vec![1.0; 40];
        let params = EffectsParams { draws: 5, ci_level: 0.95, seed: 1 };
        let err = composition(&design, &tokens, &[0.1, 0.1], &[0], &[], &params).unwrap_err();
        assert!(err.contains("collinear"), "{err}");
    }
}
