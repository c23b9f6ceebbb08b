//! TF-IDF with scikit-learn `TfidfVectorizer` semantics (its defaults `smooth_idf=True`,
//! `norm='l2'`):
//!
//! - idf(t) = ln((1 + n) / (1 + df(t))) + 1, with n documents;
//! - tf(t, d) = count(t, d), or 1 + ln(count(t, d)) with `sublinear_tf`;
//! - each row of tf · idf is divided by its Euclidean norm (empty rows stay empty).
//!
//! Computed in f64, stored as f32 (the weights lie in [0, 1], so the rounding error is below 6e-8).

use super::matrix::Csr;

pub fn idf(df: &[u32], n_docs: usize) -> Vec<f64> {
    df.iter().map(|&d| ((1.0 + n_docs as f64) / (1.0 + d as f64)).ln() + 1.0).collect()
}

pub fn tfidf(counts: &Csr<u32>, idf: &[f64], sublinear_tf: bool) -> Csr<f32> {
    counts.map_rows(|_, cols, vals, weights| {
        let weight = |(&c, &n): (&u32, &u32)| {
            let tf = if sublinear_tf { 1.0 + (n as f64).ln() } else { n as f64 };
            tf * idf[c as usize]
        };
        let norm = cols.iter().zip(vals).map(weight).map(|w| w * w).sum::<f64>().sqrt();
        for (out, w) in weights.iter_mut().zip(cols.iter().zip(vals).map(weight)) {
            *out = (w / norm) as f32;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_match_a_hand_computed_scikit_learn_example() {
        // Three documents over two terms: d0 = {a:2, b:1}, d1 = {a:1}, d2 = {}.
        let counts = Csr::from_rows(2, vec![vec![(0, 2), (1, 1)], vec![(0, 1)], vec![]]);
        let idf = idf(&[2, 1], 3);
        assert!((idf[0] - ((4.0f64 / 3.0).ln() + 1.0)).abs() < 1e-12);
        assert!((idf[1] - (2.0f64.ln() + 1.0)).abs() < 1e-12);
        let m = tfidf(&counts, &idf, false);
        let (a, b) = (2.0 * idf[0], idf[1]);
        let norm = (a * a + b * b).sqrt();
        assert!((m.values[0] as f64 - a / norm).abs() < 1e-7);
        assert!((m.values[1] as f64 - b / norm).abs() < 1e-7);
        assert_eq!(m.row(1).1, &[1.0]);
        assert!(m.row(2).0.is_empty());
        let sub = tfidf(&counts, &idf, true);
        let a = (1.0 + 2f64.ln()) * idf[0];
        assert!((sub.values[0] as f64 - a / (a * a + b * b).sqrt()).abs() < 1e-7);
    }
}
