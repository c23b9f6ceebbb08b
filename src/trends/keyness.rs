//! Keyness: which terms are over-used in a target period compared with a reference (another
//! period, or all other periods together). G² with quanteda's semantics, Hardie's log ratio, and
//! BH q-values within each comparison — formulas in [`stats`](super::stats).

use std::sync::Arc;

use super::stats::{bh_adjust, chi2_1_sf, g2, log_ratio, Correction};

#[derive(Debug, Clone, PartialEq)]
pub struct Keyness {
    pub term: usize,
    /// The two sides' names, shared by every row of one comparison (a period against the rest
    /// has a row per term: a copy of the names in each would cost more than the numbers).
    pub target: Arc<str>,
    pub reference: Arc<str>,
    pub g2: f64,
    pub p_value: f64,
    pub q_value: f64,
    pub log_ratio: f64,
    pub count_target: u64,
    pub count_reference: u64,
    pub total_target: u64,
    pub total_reference: u64,
}

/// Keyness of every term counted at least `min_count` times on the two sides together;
/// `target` and `reference` are per-term counts over the same vocabulary. Sorted by G², largest first.
pub fn keyness(
    target: &[u64],
    reference: &[u64],
    names: (&str, &str),
    correction: Correction,
    min_count: u64,
) -> Vec<Keyness> {
    let (target_name, reference_name): (Arc<str>, Arc<str>) = (names.0.into(), names.1.into());
    let total_a = target.iter().sum::<u64>() as f64;
    let total_b = reference.iter().sum::<u64>() as f64;
    let mut rows: Vec<Keyness> = (0..target.len())
        .filter(|&t| target[t] + reference[t] >= min_count)
        .map(|t| {
            let (a, b) = (target[t] as f64, reference[t] as f64);
            let g = g2(a, b, total_a, total_b, correction);
            Keyness {
                term: t,
                target: Arc::clone(&target_name),
                reference: Arc::clone(&reference_name),
                g2: g,
                p_value: chi2_1_sf(g.abs()),
                q_value: 1.0,
                log_ratio: log_ratio(a, b, total_a, total_b),
                count_target: target[t],
                count_reference: reference[t],
                total_target: total_a as u64,
                total_reference: total_b as u64,
            }
        })
        .collect();
    let q = bh_adjust(&rows.iter().map(|r| r.p_value).collect::<Vec<_>>());
    for (row, q) in rows.iter_mut().zip(q) {
        row.q_value = q;
    }
    rows.sort_by(|a, b| b.g2.total_cmp(&a.g2).then(a.term.cmp(&b.term)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_used_terms_come_first_and_under_used_last() {
        let rows = keyness(&[30, 5, 100], &[2, 40, 100], ("2013", "2023"), Correction::None, 1);
        assert_eq!(rows.iter().map(|r| r.term).collect::<Vec<_>>(), [0, 2, 1]);
        assert!(rows[0].g2 > 0.0 && rows[2].g2 < 0.0 && rows[0].log_ratio > 3.0);
        assert!(rows[0].q_value >= rows[0].p_value);
    }
}
