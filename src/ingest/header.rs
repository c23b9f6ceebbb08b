//! Header lines of exported articles: database exports put a keywords line, a source name, a
//! title and a `发布时间：` line before the body. We split them off so that neither the keywords
//! nor the title are counted as body text.

use chrono::NaiveDate;

use super::date::parse_date;

/// Labels of the line that carries the publication date.
const DATE_LABELS: [&str; 4] = ["发布时间", "发布日期", "日期", "时间"];
/// How far into a file a header may reach, in non-empty lines.
const MAX_HEADER_LINES: usize = 12;

#[derive(Debug, Default, PartialEq)]
pub struct Header {
    pub title: Option<String>,
    pub source: Option<String>,
    pub keywords: Vec<String>,
    /// The date line's value: parsed, or the reason it could not be.
    pub date: Option<Result<NaiveDate, String>>,
    /// 1-based line number of the date line.
    pub date_line: Option<usize>,
}

/// Split `text` into its header and body. Without a date line there is no header and the whole
/// text is the body.
pub fn split_header(text: &str) -> (Header, &str) {
    let mut offset = 0;
    let mut lines = Vec::new();
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let content = line.trim();
        if !content.is_empty() {
            if let Some(value) = date_value(content) {
                let body = &text[offset + line.len()..];
                return (header_from(&lines, value, index + 1), body);
            }
            lines.push(content);
            if lines.len() >= MAX_HEADER_LINES {
                break;
            }
        }
        offset += line.len();
    }
    (Header::default(), text)
}

fn date_value(line: &str) -> Option<&str> {
    DATE_LABELS.iter().find_map(|label| {
        let rest = line.strip_prefix(label)?.trim_start();
        rest.strip_prefix('：').or_else(|| rest.strip_prefix(':')).map(str::trim)
    })
}

fn header_from(lines: &[&str], date_value: &str, date_line: usize) -> Header {
    let mut header = Header { date: Some(parse_date(date_value)), date_line: Some(date_line), ..Header::default() };
    let mut rest = Vec::new();
    let mut iter = lines.iter();
    while let Some(line) = iter.next() {
        match keywords_value(line) {
            Some("") => header.keywords = split_keywords(iter.next().copied().unwrap_or("")),
            Some(inline) => header.keywords = split_keywords(inline),
            None => rest.push(line.to_string()),
        }
    }
    header.title = rest.pop();
    header.source = rest.pop();
    header
}

fn keywords_value(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("关键词")?.trim_start();
    rest.strip_prefix('：').or_else(|| rest.strip_prefix(':')).map(str::trim)
}

fn split_keywords(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || matches!(c, ',' | '，' | ';' | '；' | '、'))
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPORT: &str = "关键词：\n能源 贸易 合作 \n\n某某文献库\n\n两国签署能源协议\n\n发布时间：2014-05-21\n\n\n　　正文第一段。\n　　正文第二段。\n";

    #[test]
    fn export_header_is_split_into_fields_and_body() {
        let (header, body) = split_header(EXPORT);
        assert_eq!(header.keywords, ["能源", "贸易", "合作"]);
        assert_eq!(header.source.as_deref(), Some("某某文献库"));
        assert_eq!(header.title.as_deref(), Some("两国签署能源协议"));
        assert_eq!(header.date, Some(Ok(NaiveDate::from_ymd_opt(2014, 5, 21).unwrap())));
        assert_eq!(header.date_line, Some(8));
        assert!(body.trim_start().starts_with("正文第一段"));
        assert!(!body.contains("发布时间"));
    }

    #[test]
    fn text_without_date_line_has_no_header() {
        let text = "\n\n当地时间3月20日，代表团抵达。\n第二段。";
        let (header, body) = split_header(text);
        assert_eq!(header, Header::default());
        assert_eq!(body, text);
    }

    #[test]
    fn a_bad_date_line_is_reported_not_guessed() {
        let (header, _) = split_header("标题\n发布时间：2013-02-30\n正文");
        assert_eq!(header.date, Some(Err("'2013-02-30' is not a calendar date".into())));
        assert_eq!(header.title.as_deref(), Some("标题"));
    }
}
