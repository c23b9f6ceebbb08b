//! Bad input, case by case: each asserts the exact message (after the file's folder) and that the
//! counts still account for every record — nothing is lost silently.

use std::io::Write;
use std::path::Path;

use super::{manifest, text, themeshift};

/// One folder of input files, the extra flags, and what must happen.
struct Case {
    name: &'static str,
    files: Vec<(&'static str, Vec<u8>)>,
    args: &'static [&'static str],
    exit: i32,
    says: &'static [&'static str],
    /// records read, documents kept, skipped, undated (for runs that complete).
    counts: Option<[u64; 4]>,
}

fn jsonl(lines: &[&str]) -> Vec<u8> {
    lines.iter().map(|l| format!("{l}\n")).collect::<String>().into_bytes()
}

const GOOD: &str = r#"{"id":"g1","date":"2015-06-01","text":"两国代表讨论能源合作和贸易投资问题。"}"#;

fn gb18030(text: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(text).0.into_owned()
}

fn big5(text: &str) -> Vec<u8> {
    encoding_rs::BIG5.encode(text).0.into_owned()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn parquet(columns: Vec<polars::prelude::Column>) -> Vec<u8> {
    use polars::prelude::*;
    let mut frame = DataFrame::new_infer_height(columns).unwrap();
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes).finish(&mut frame).unwrap();
    bytes
}

fn cases() -> Vec<Case> {
    use polars::prelude::Column;
    let huge = format!(r#"{{"id":"h","date":"2016-01-01","text":"{}"}}"#, "合作发展，".repeat(400_000));
    vec![
        Case {
            name: "truncated UTF-8 at the end of a file",
            files: vec![("cut.txt", b"\xe8\x83\xbd\xe6\xba\x90\xe5\x90".to_vec())],
            args: &[],
            exit: 2,
            says: &["cut.txt:1: truncated UTF-8 sequence at the end: byte 0xE5 at offset 6 (line 1)"],
            counts: None,
        },
        Case {
            name: "UTF-8, GB18030 and Big5 files in one folder",
            files: vec![
                ("a_utf8.txt", "发布时间：2014-01-02\n能源合作继续推进。".as_bytes().to_vec()),
                ("b_gbk.txt", gb18030("发布时间：2014-01-03\n贸易投资稳步增长。")),
                ("c_big5.txt", big5("發布時間：2014-01-04\n兩國擴大貿易合作。")),
            ],
            args: &[],
            exit: 0,
            says: &["documents: 3 read, 3 kept, 0 skipped, 0 undated"],
            counts: Some([3, 3, 0, 0]),
        },
        Case {
            name: "empty file",
            files: vec![("empty.txt", vec![]), ("good.jsonl", jsonl(&[GOOD]))],
            args: &[],
            exit: 1,
            says: &["empty.txt: empty file"],
            counts: Some([2, 1, 1, 0]),
        },
        Case {
            name: "whitespace-only file",
            files: vec![("blank.md", b"\n  \n\t\n".to_vec()), ("good.jsonl", jsonl(&[GOOD]))],
            args: &[],
            exit: 1,
            says: &["blank.md: empty file"],
            counts: Some([2, 1, 1, 0]),
        },
        Case {
            name: "header without a body",
            files: vec![("head.txt", "标题\n发布时间：2014-01-02\n\n".as_bytes().to_vec()), ("good.jsonl", jsonl(&[GOOD]))],
            args: &[],
            exit: 1,
            says: &["head.txt: no text after the header lines"],
            counts: Some([2, 1, 1, 0]),
        },
        Case {
            name: "binary file named .txt",
            files: vec![("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec())],
            args: &[],
            exit: 2,
            says: &["image.txt:3: binary data (a NUL byte), not text, at offset 8 (line 3)"],
            counts: None,
        },
        Case {
            name: "binary file skipped with --skip-bad",
            files: vec![("image.txt", b"\x89PNG\x00\x00".to_vec()), ("good.jsonl", jsonl(&[GOOD]))],
            args: &["--skip-bad"],
            exit: 1,
            says: &["image.txt:1: file skipped (--skip-bad): binary data (a NUL byte), not text, at offset 4 (line 1)"],
            counts: Some([2, 1, 1, 0]),
        },
        Case {
            name: "forced encoding that does not fit",
            files: vec![("gbk.txt", gb18030("发布时间：2014-01-03\n贸易投资稳步增长。"))],
            args: &["--encoding", "utf-8"],
            exit: 2,
            says: &["gbk.txt:1: invalid UTF-8: byte 0xB7 at offset 0 (line 1)"],
            counts: None,
        },
        Case {
            name: "unknown forced encoding",
            files: vec![("good.jsonl", jsonl(&[GOOD]))],
            args: &["--encoding", "latin9"],
            exit: 2,
            says: &["--encoding latin9: unknown; use utf-8, gb18030 (also for GBK/GB2312), big5, utf-16le or utf-16be"],
            counts: None,
        },
        Case {
            name: "UTF-16 with BOM and UTF-8 with BOM",
            files: vec![
                ("le.txt", [vec![0xFF, 0xFE], "发布时间：2014-01-02\n能源合作。".encode_utf16().flat_map(u16::to_le_bytes).collect()].concat()),
                ("bom.jsonl", [b"\xEF\xBB\xBF".to_vec(), jsonl(&[GOOD])].concat()),
            ],
            args: &[],
            exit: 0,
            says: &["documents: 2 read, 2 kept, 0 skipped, 0 undated"],
            counts: Some([2, 2, 0, 0]),
        },
        Case {
            name: "CSV without the text column",
            files: vec![("wire.csv", b"id,date,body\n1,2014-01-02,abc\n".to_vec())],
            args: &[],
            exit: 2,
            says: &["wire.csv:1: no column 'text' in the header (id, date, body); name the text column with --text-field"],
            counts: None,
        },
        Case {
            name: "CSV with a ragged row",
            files: vec![(
                "wire.csv",
                "id,date,text\n1,2014-01-02,能源合作继续推进\n2,2014-01-03\n3,2014-01-04,\"贸易投资\n稳步增长\"\n".as_bytes().to_vec(),
            )],
            args: &[],
            exit: 1,
            says: &["wire.csv:3: row has 2 fields, the header has 3"],
            counts: Some([3, 2, 1, 0]),
        },
        Case {
            name: "TSV with a column mapping and extra metadata",
            files: vec![("wire.tsv", "编号\t日期\t正文\t栏目\nA\t2014/1/2\t能源合作继续推进\t国际\n".as_bytes().to_vec())],
            args: &["--id-field", "编号", "--date-field", "日期", "--text-field", "正文", "--extra-fields", "栏目"],
            exit: 0,
            says: &["documents: 1 read, 1 kept, 0 skipped, 0 undated"],
            counts: Some([1, 1, 0, 0]),
        },
        Case {
            name: "JSONL text that is a number",
            files: vec![("a.jsonl", jsonl(&[GOOD, r#"{"id":"n","date":"2015-06-02","text":42}"#]))],
            args: &[],
            exit: 1,
            says: &["a.jsonl:2: field 'text' is a number, expected a string"],
            counts: Some([2, 1, 1, 0]),
        },
        Case {
            name: "JSONL line that is not an object",
            files: vec![("a.jsonl", jsonl(&[GOOD, r#"["x", "y"]"#]))],
            args: &[],
            exit: 1,
            says: &["a.jsonl:2: expected a JSON object, found an array"],
            counts: Some([2, 1, 1, 0]),
        },
        Case {
            name: "JSONL line that is not JSON",
            files: vec![("a.jsonl", jsonl(&[GOOD, r#"{"id":"x","text":"能源"#]))],
            args: &[],
            exit: 1,
            says: &["a.jsonl:2: invalid JSON: EOF while parsing a string at line 1 column "],
            counts: Some([2, 1, 1, 0]),
        },
        Case {
            name: "JSONL with empty, null and missing text",
            files: vec![("a.jsonl", jsonl(&[GOOD, r#"{"text":"  "}"#, r#"{"text":null}"#, r#"{"body":"能源"}"#]))],
            args: &[],
            exit: 1,
            says: &[
                "a.jsonl:2: field 'text' is empty",
                "a.jsonl:3: field 'text' is null",
                "a.jsonl:4: no field 'text' (use --text-field to name another)",
            ],
            counts: Some([4, 1, 3, 0]),
        },
        Case {
            name: "impossible and non-string dates",
            files: vec![(
                "a.jsonl",
                jsonl(&[GOOD, r#"{"id":"f","date":"2013-02-30","text":"能源合作。"}"#, r#"{"id":"n","date":20130323,"text":"贸易合作。"}"#]),
            )],
            args: &[],
            exit: 0,
            says: &[
                "a.jsonl:2 (f): field 'date': '2013-02-30' is not a calendar date; no full date in the text",
                "a.jsonl:3 (n): field 'date' is a number, expected a date string; no full date in the text",
            ],
            counts: Some([3, 3, 0, 2]),
        },
        Case {
            name: "a huge single line",
            files: vec![("big.jsonl", jsonl(&[&huge]))],
            args: &[],
            exit: 0,
            says: &["documents: 1 read, 1 kept, 0 skipped, 0 undated"],
            counts: Some([1, 1, 0, 0]),
        },
        Case {
            name: "CRLF line endings",
            files: vec![("a.jsonl", format!("{GOOD}\r\n{GOOD}\r\n").into_bytes())],
            args: &["--keep-duplicates"],
            exit: 0,
            says: &["documents: 2 read, 2 kept, 0 skipped, 0 undated"],
            counts: Some([2, 2, 0, 0]),
        },
        Case {
            name: "gzipped JSONL, and a broken gzip file",
            files: vec![("a.jsonl.gz", gzip(&jsonl(&[GOOD]))), ("b.jsonl.gz", b"\x1f\x8b\x08\x00broken".to_vec())],
            args: &[],
            exit: 2,
            says: &["b.jsonl.gz: not a readable gzip file"],
            counts: None,
        },
        Case {
            name: "Parquet without the text column",
            files: vec![("t.parquet", parquet(vec![Column::new("id".into(), ["a"]), Column::new("body".into(), ["能源"])]))],
            args: &[],
            exit: 2,
            says: &["t.parquet: no column 'text' (id, body); name the text column with --text-field"],
            counts: None,
        },
        Case {
            name: "Parquet with a null text",
            files: vec![(
                "t.parquet",
                parquet(vec![
                    Column::new("id".into(), ["a", "b"]),
                    Column::new("date".into(), ["2014-01-02", "2014-01-03"]),
                    Column::new("text".into(), [Some("能源合作继续推进。"), None]),
                ]),
            )],
            args: &[],
            exit: 1,
            says: &["t.parquet:2: field 'text' is null"],
            counts: Some([2, 1, 1, 0]),
        },
        Case {
            name: "a text with month and day but no year",
            files: vec![("note.txt", "当地时间3月20日，代表团抵达。目标是2030年前完成。".as_bytes().to_vec())],
            args: &[],
            exit: 0,
            says: &["no 发布时间 header line and no date in the file name; the text gives a month and day (3月20日) but no year"],
            counts: Some([1, 1, 0, 1]),
        },
        Case {
            name: "the default date fills the gap",
            files: vec![("note.txt", "当地时间3月20日，代表团抵达。".as_bytes().to_vec())],
            args: &["--default-date", "2023-03-20"],
            exit: 0,
            says: &["dates from: default 1"],
            counts: Some([1, 1, 0, 0]),
        },
        Case {
            name: "a dates file with an impossible date",
            files: vec![("note.txt", "代表团抵达。".as_bytes().to_vec()), ("dates.csv.ignored", vec![])],
            args: &["--dates", "DIR/../dates.csv"],
            exit: 2,
            says: &["dates.csv:3: '2023-02-29' is not a calendar date"],
            counts: None,
        },
        Case {
            name: "an unsupported file given by name",
            files: vec![],
            args: &["--input", "DIR/../report.docx"],
            exit: 2,
            says: &["report.docx: unsupported file type: expected .jsonl, .csv, .tsv, .parquet, .txt or .md (optionally .gz)"],
            counts: None,
        },
        Case {
            name: "a missing input path",
            files: vec![],
            args: &["--input", "DIR/../nowhere"],
            exit: 2,
            says: &["nowhere: No such file or directory"],
            counts: None,
        },
        Case {
            name: "--strict stops at the first skip",
            files: vec![("a.jsonl", jsonl(&[GOOD, "{"]))],
            args: &["--strict"],
            exit: 2,
            says: &["1 document(s) were skipped and --strict is set; first:", "a.jsonl:2: invalid JSON"],
            counts: None,
        },
    ]
}

#[test]
fn bad_input_cases_say_what_and_where_and_lose_nothing() {
    let cases = cases();
    assert!(cases.len() >= 25);
    let mut failures = Vec::new();
    for case in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("in");
        std::fs::create_dir(&dir).unwrap();
        for (name, bytes) in &case.files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        std::fs::write(tmp.path().join("dates.csv"), "document,date\nnote.txt,2023-03-20\nother.txt,2023-02-29\n")
            .unwrap();
        std::fs::write(tmp.path().join("report.docx"), "x").unwrap();
        let out = tmp.path().join("out");
        let dir_text = dir.to_str().unwrap();
        let mut args: Vec<String> =
            ["run", "--out", out.to_str().unwrap(), "--quiet", "--min-df", "1"].map(String::from).to_vec();
        if !case.args.contains(&"--input") {
            args.extend(["--input".to_string(), dir_text.to_string()]);
        }
        args.extend(case.args.iter().map(|a| a.replace("DIR", dir_text)));
        let result = themeshift(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let said = format!("{}{}", text(&result.stdout), text(&result.stderr));
        let mut problems = Vec::new();
        if result.status.code() != Some(case.exit) {
            problems.push(format!("exit {:?}, expected {}", result.status.code(), case.exit));
        }
        for expected in case.says {
            if !said.contains(expected) {
                problems.push(format!("does not say «{expected}»"));
            }
        }
        if let Some([read, kept, skipped, undated]) = case.counts {
            if !out.join("manifest.json").exists() {
                failures.push(format!("{}: no manifest.json\n--- output ---\n{said}", case.name));
                continue;
            }
            let c = &manifest(Path::new(&out))["counts"];
            let got = [&c["records_read"], &c["documents_kept"], &c["documents_skipped"], &c["documents_undated"]];
            if got.iter().map(|v| v.as_u64().unwrap_or(u64::MAX)).ne([read, kept, skipped, undated]) {
                problems.push(format!("counts {got:?}, expected {:?}", [read, kept, skipped, undated]));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}\n--- output ---\n{said}", case.name, problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
