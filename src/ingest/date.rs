//! Dates in the forms Chinese sources write them: `2013-03-23`, `2013/3/23`, `2013.3.23`,
//! `2013年3月23日`, `20130323`, and ISO date-times (`2013-03-23T08:00:00Z`, `2013-03-23 08:00`).
//!
//! A string that looks like a date but names no calendar day (`2013-02-30`) is an error, never a
//! guess.

use chrono::{Datelike, NaiveDate};

/// Parse a whole field value as a date. Trailing time-of-day is allowed after `T` or a space.
pub fn parse_date(value: &str) -> Result<NaiveDate, String> {
    let s = value.trim();
    let (date, rest) = split_date_prefix(s).ok_or_else(|| {
        format!("'{value}' is not a date (expected e.g. 2013-03-23, 2013/3/23, 2013年3月23日 or 20130323)")
    })?;
    let rest_ok = rest.is_empty() || rest.starts_with('T') || rest.starts_with(' ');
    if !rest_ok {
        return Err(format!("'{value}' has unexpected text after the date"));
    }
    date
}

/// Find a date in a file name: 8 digits `YYYYMMDD` or `YYYY-MM-DD`, not part of a longer number.
pub fn date_in_file_name(name: &str) -> Option<NaiveDate> {
    let bytes = name.as_bytes();
    (0..bytes.len()).find_map(|start| {
        let preceded_by_digit = start > 0 && bytes[start - 1].is_ascii_digit();
        if preceded_by_digit || !bytes[start].is_ascii_digit() {
            return None;
        }
        let (date, rest) = split_date_prefix(&name[start..])?;
        let followed_by_digit = rest.as_bytes().first().is_some_and(u8::is_ascii_digit);
        if followed_by_digit {
            return None;
        }
        date.ok()
    })
}

/// What the start of a text says about its date.
#[derive(Debug, PartialEq)]
pub enum TextDate {
    /// A full date expression such as `2013年3月23日`.
    Full(NaiveDate),
    /// Only a month and day (`3月20日`): the year is unknown and is not guessed.
    MonthDayOnly(String),
    None,
}

/// How far into a text we look for its date, in characters: datelines and leads come first.
const TEXT_DATE_WINDOW: usize = 300;

/// The first full date expression in the opening of `text`; a year alone (`2030年前`) is none.
pub fn date_in_text(text: &str) -> TextDate {
    let opening: String = text
        .chars()
        .take(TEXT_DATE_WINDOW)
        .map(|c| if ('０'..='９').contains(&c) { char::from_u32(c as u32 - 0xFEE0).unwrap_or(c) } else { c })
        .collect();
    let bytes = opening.as_bytes();
    let starts = (0..bytes.len()).filter(|&i| bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit()));
    let mut month_day = None;
    for start in starts {
        let rest = &opening[start..];
        if let Some((Ok(date), _)) = split_date_prefix(rest) {
            if (1900..=2100).contains(&date.year()) {
                return TextDate::Full(date);
            }
        }
        if month_day.is_none() {
            month_day = month_day_prefix(rest);
        }
    }
    month_day.map_or(TextDate::None, TextDate::MonthDayOnly)
}

/// `3月20日` at the start of `s`.
fn month_day_prefix(s: &str) -> Option<String> {
    let month = s.bytes().take_while(u8::is_ascii_digit).count();
    let rest = s[month..].strip_prefix('月')?;
    let day = rest.bytes().take_while(u8::is_ascii_digit).count();
    ((1..=2).contains(&month) && (1..=2).contains(&day) && rest[day..].starts_with('日'))
        .then(|| s[..month + '月'.len_utf8() + day + '日'.len_utf8()].to_string())
}

/// Recognise a date at the start of `s`: returns the parsed date (or why it is not a calendar
/// day) and the text after it; `None` when `s` does not start with a date shape at all.
fn split_date_prefix(s: &str) -> Option<(Result<NaiveDate, String>, &str)> {
    let digits = |t: &str| t.bytes().take_while(u8::is_ascii_digit).count();
    let year_len = digits(s);
    if year_len == 8 {
        let (y, m, d) = (&s[0..4], &s[4..6], &s[6..8]);
        return Some((ymd(y, m, d, &s[..8]), &s[8..]));
    }
    if year_len != 4 {
        return None;
    }
    let (year, rest) = s.split_at(4);
    let (sep, rest) = take_separator(rest)?;
    let month_len = digits(rest);
    if !(1..=2).contains(&month_len) {
        return None;
    }
    let (month, rest) = rest.split_at(month_len);
    let rest = match sep {
        '年' => rest.strip_prefix('月')?,
        _ => rest.strip_prefix(sep)?,
    };
    let day_len = digits(rest);
    if !(1..=2).contains(&day_len) {
        return None;
    }
    let (day, rest) = rest.split_at(day_len);
    let rest = if sep == '年' { rest.strip_prefix('日').unwrap_or(rest) } else { rest };
    let shown = &s[..s.len() - rest.len()];
    Some((ymd(year, month, day, shown), rest))
}

fn take_separator(s: &str) -> Option<(char, &str)> {
    let c = s.chars().next()?;
    matches!(c, '-' | '/' | '.' | '年').then(|| (c, &s[c.len_utf8()..]))
}

fn ymd(y: &str, m: &str, d: &str, shown: &str) -> Result<NaiveDate, String> {
    let (y, m, d) = (y.parse().unwrap_or(0), m.parse().unwrap_or(0), d.parse().unwrap_or(0));
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| format!("'{shown}' is not a calendar date"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn common_forms_parse_to_the_same_day() {
        for s in [
            "2013-03-23",
            "2013/3/23",
            "2013.03.23",
            "2013年3月23日",
            "20130323",
            " 2013-03-23T08:00:00Z",
            "2013-03-23 08:00",
        ] {
            assert_eq!(parse_date(s), Ok(d(2013, 3, 23)), "{s}");
        }
    }

    #[test]
    fn impossible_days_are_errors_not_guesses() {
        assert_eq!(parse_date("2013-02-30"), Err("'2013-02-30' is not a calendar date".into()));
        assert!(parse_date("20131341").is_err());
        assert!(parse_date("March 2013").unwrap_err().contains("is not a date"));
        assert!(parse_date("2013-03-23abc").unwrap_err().contains("unexpected text"));
    }

    #[test]
    fn text_dates_need_year_month_and_day() {
        assert_eq!(date_in_text("本报讯 ２０１３年３月２２日，代表团抵达。"), TextDate::Full(d(2013, 3, 22)));
        assert_eq!(date_in_text("目标是2030年前实现，会谈于3月20日举行。"), TextDate::MonthDayOnly("3月20日".into()));
        assert_eq!(date_in_text("目标是2030年前实现。"), TextDate::None);
        assert_eq!(date_in_text("编号12345678的文件"), TextDate::None);
    }

    #[test]
    fn file_names_yield_dates_only_from_standalone_digit_runs() {
        assert_eq!(date_in_file_name("xwlb_20130323_01.txt"), Some(d(2013, 3, 23)));
        assert_eq!(date_in_file_name("report-2023-03-21.md"), Some(d(2023, 3, 21)));
        assert_eq!(date_in_file_name("000_fcc7e1297d7c3b9d.txt"), None);
        assert_eq!(date_in_file_name("id1201303231.txt"), None);
        assert_eq!(date_in_file_name("20130230.txt"), None);
    }
}
