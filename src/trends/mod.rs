//! Trends: how terms and themes move over periods — counts, rates per 10 000 tokens and document
//! shares with bootstrap intervals and their denominators; Mann–Kendall and Sen trend tests with
//! BH q-values; change points; keyness between periods; and the sentences behind the numbers.
//!
//! ```
//! use themeshift::trends::{term_trends, Period};
//! use themeshift::vectorize::Csr;
//! let counts = Csr::from_rows(1, vec![vec![(0, 2)], vec![(0, 1)]]);
//! let t = term_trends(vec!["2013".into()], &[vec![0, 1]], &[10, 10], &counts);
//! assert_eq!(t.per_10k(0, 0), 1500.0);
//! # let _ = Period::Year;
//! ```

pub mod analysis;
pub mod bootstrap;
pub mod effects;
pub mod evidence;
pub mod groups;
pub mod keyness;
pub mod period;
pub mod stats;
pub mod term_stats;
mod terms;
pub mod themes;

pub use period::{Period, PeriodSpec};
pub use terms::{
    rate_intervals, term_trends, Intervals, PeriodSums, PeriodTotals, RateInterval, RowFacts, SumsWanted, TermSums,
    TermTrends,
};
