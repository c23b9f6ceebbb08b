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

/// The periods of a run: fixed calendar units, or named date ranges from a study file
/// (`[periods]` with `"2013-2017" = ["2013-01-01", "2017-12-31"]`), in time order.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodSpec {
    Fixed(Period),
    Custom(Vec<NamedRange>),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NamedRange {
    pub name: String,
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl PeriodSpec {
    /// Ranges must be named, ordered and must not overlap.
    pub fn custom(ranges: Vec<NamedRange>) -> Result<PeriodSpec, String> {
        for r in &ranges {
            if r.first > r.last {
                return Err(format!("period '{}' ends before it starts", r.name));
            }
        }
        for w in ranges.windows(2) {
            if w[1].first <= w[0].last {
                return Err(format!(
                    "period '{}' starts before '{}' ends; list periods in time order without overlap",
                    w[1].name, w[0].name
                ));
            }
        }
        Ok(PeriodSpec::Custom(ranges))
    }

    /// The period of `date`; `None` when it falls outside every custom range.
    pub fn label(&self, date: NaiveDate) -> Option<String> {
        match self {
            PeriodSpec::Fixed(period) => Some(period.label(date)),
            PeriodSpec::Custom(ranges) => {
                ranges.iter().find(|r| r.first <= date && date <= r.last).map(|r| r.name.clone())
            }
        }
    }

    /// The labels seen, in time order.
    pub fn order(&self, seen: impl IntoIterator<Item = String>) -> Vec<String> {
        let seen: std::collections::BTreeSet<String> = seen.into_iter().collect();
        match self {
            PeriodSpec::Fixed(_) => seen.into_iter().collect(),
            PeriodSpec::Custom(ranges) => ranges.iter().map(|r| r.name.clone()).filter(|n| seen.contains(n)).collect(),
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

    #[test]
    fn custom_ranges_label_order_and_refuse_overlaps() {
        let d = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap();
        let r = |name: &str, a, b| NamedRange { name: name.into(), first: a, last: b };
        let spec =
            PeriodSpec::custom(vec![r("早期", d(2013, 1), d(2017, 12)), r("后期", d(2018, 1), d(2023, 12))]).unwrap();
        assert_eq!(spec.label(d(2015, 6)).as_deref(), Some("早期"));
        assert_eq!(spec.label(d(2025, 6)), None);
        assert_eq!(spec.order(["后期".to_string(), "早期".to_string()]), ["早期", "后期"]);
        assert!(PeriodSpec::custom(vec![r("a", d(2013, 1), d(2018, 12)), r("b", d(2018, 1), d(2023, 12))]).is_err());
    }
}
