//! Trends: how often each vocabulary term occurs per period, as counts, rates per 10 000 tokens
//! and document shares, always with the period's document and token totals beside them.
//!
//! ```
//! use themeshift::trends::{term_trends, Period};
//! use themeshift::vectorize::Csr;
//! let counts = Csr::from_rows(1, vec![vec![(0, 2)], vec![(0, 1)]]);
//! let t = term_trends(vec!["2013".into()], &[Some(0), Some(0)], &[10, 10], &counts);
//! assert_eq!(t.per_10k(0, 0), 1500.0);
//! # let _ = Period::Year;
//! ```

mod period;
mod terms;

pub use period::Period;
pub use terms::{term_trends, PeriodTotals, TermTrends};
