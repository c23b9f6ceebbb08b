//! Periods: a date's year (`2013`), quarter (`2013-Q1`) or month (`2013-03`). Labels sort in time
//! order as strings.

use chrono::{Datelike, NaiveDate};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    #[default]
    Year,
    Quarter,
    Month,
}

impl Period {
    pub fn label(self, date: NaiveDate) -> String {
        match self {
            Period::Year => format!("{}", date.year()),
            Period::Quarter => format!("{}-Q{}", date.year(), date.month0() / 3 + 1),
            Period::Month => format!("{}-{:02}", date.year(), date.month()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_sort_in_time_order() {
        let d = |y, m| NaiveDate::from_ymd_opt(y, m, 5).unwrap();
        assert_eq!(Period::Year.label(d(2013, 3)), "2013");
        assert_eq!(Period::Quarter.label(d(2013, 12)), "2013-Q4");
        assert_eq!(Period::Month.label(d(2013, 3)), "2013-03");
        assert!(Period::Month.label(d(2013, 11)) > Period::Month.label(d(2013, 9)));
    }
}
