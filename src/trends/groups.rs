//! How much of each period's documents a cluster or a topic holds.

use ndarray::ArrayView2;

#[derive(Debug, Clone, PartialEq)]
pub struct GroupPeriod {
    pub group: usize,
    pub period: usize,
    /// Mean share of the group over the period's documents (for clusters: the fraction in it).
    pub share: f64,
    /// Documents of the period whose largest share is this group.
    pub n_docs: u32,
}

/// The group with the largest share (the first on ties); `None` for an all-zero row.
pub fn leading_group(shares: &[f32]) -> Option<usize> {
    shares
        .iter()
        .any(|&s| s > 0.0)
        .then(|| shares.iter().enumerate().fold(0, |b, (g, &s)| if s > shares[b] { g } else { b }))
}

/// `shares` is rows × groups (each row sums to 1, or is all zero); rows without a period are
/// left out. Sorted by group, then period.
pub fn group_prevalence(
    shares: ArrayView2<f32>,
    period_of_row: &[Option<usize>],
    n_periods: usize,
) -> Vec<GroupPeriod> {
    let k = shares.ncols();
    let mut sum = vec![0f64; k * n_periods];
    let mut leading = vec![0u32; k * n_periods];
    let mut docs = vec![0u32; n_periods];
    for (row, period) in shares.rows().into_iter().zip(period_of_row) {
        let Some(p) = *period else { continue };
        docs[p] += 1;
        for (g, &s) in row.iter().enumerate() {
            sum[g * n_periods + p] += s as f64;
        }
        if let Some(best) = leading_group(row.as_slice().expect("standard layout")) {
            leading[best * n_periods + p] += 1;
        }
    }
    (0..k)
        .flat_map(|g| (0..n_periods).map(move |p| (g, p)))
        .map(|(g, p)| GroupPeriod {
            group: g,
            period: p,
            share: if docs[p] == 0 { 0.0 } else { sum[g * n_periods + p] / docs[p] as f64 },
            n_docs: leading[g * n_periods + p],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn shares_average_over_each_period() {
        let shares = array![[1.0f32, 0.0], [0.25, 0.75], [0.0, 1.0], [0.5, 0.5]];
        let rows = group_prevalence(shares.view(), &[Some(0), Some(0), Some(1), None], 2);
        let find = |g, p| rows.iter().find(|r| r.group == g && r.period == p).unwrap();
        assert_eq!(find(0, 0).share, 0.625);
        assert_eq!(find(1, 0).n_docs, 1);
        assert_eq!(find(1, 1).share, 1.0);
        assert_eq!(find(0, 1).n_docs, 0);
    }
}
