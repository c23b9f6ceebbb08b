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
    /// What the case needs besides plain files (links, pipes, study files), made in the input folder.
    setup: Option<fn(&Path)>,
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

fn two_bad_files() -> Vec<(&'static str, Vec<u8>)> {
    let mut late = jsonl(&[GOOD; 30000]);
    late.extend_from_slice(b"{\"id\": \"x\", \"text\": \"\xff\"}\n");
    vec![("a_late.jsonl", late), ("b_early.jsonl", b"{\"id\": \"y\", \"text\": \"\xff\"}\n".to_vec())]
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
            setup: None,
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
            setup: None,
        },
        Case {
            name: "empty file",
            files: vec![("empty.txt", vec![]), ("good.jsonl", jsonl(&[GOOD]))],
            args: &[],
            exit: 1,
            says: &["empty.txt: empty file"],
            counts: Some([2, 1, 1, 0]),
            setup: None,
        },
        Case {
            name: "whitespace-only file",
            files: vec![("blank.md", b"\n  \n\t\n".to_vec()), ("good.jsonl", jsonl(&[GOOD]))],
            args: &[],
            exit: 1,
            says: &["blank.md: empty file"],
            counts: Some([2, 1, 1, 0]),
            setup: None,
        },
        Case {
            name: "header without a body",
            files: vec![("head.txt", "标题\n发布时间：2014-01-02\n\n".as_bytes().to_vec()), ("good.jsonl", jsonl(&[GOOD]))],
            args: &[],
            exit: 1,
            says: &["head.txt: no text after the header lines"],
            counts: Some([2, 1, 1, 0]),
            setup: None,
        },
        Case {
            name: "binary file named .txt",
            files: vec![("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec())],
            args: &[],
            exit: 2,
            says: &["image.txt:3: binary data (a NUL byte), not text, at offset 8 (line 3)"],
            counts: None,
            setup: None,
        },
        Case {
            name: "binary file skipped with --skip-bad",
            files: vec![("image.txt", b"\x89PNG\x00\x00".to_vec()), ("good.jsonl", jsonl(&[GOOD]))],
            args: &["--skip-bad"],
            exit: 1,
            says: &["image.txt:1: file skipped (--skip-bad): binary data (a NUL byte), not text, at offset 4 (line 1)"],
            counts: Some([2, 1, 1, 0]),
            setup: None,
        },
        Case {
            name: "forced encoding that does not fit",
            files: vec![("gbk.txt", gb18030("发布时间：2014-01-03\n贸易投资稳步增长。"))],
            args: &["--encoding", "utf-8"],
            exit: 2,
            says: &["gbk.txt:1: invalid UTF-8: byte 0xB7 at offset 0 (line 1)"],
            counts: None,
            setup: None,
        },
        Case {
            name: "unknown forced encoding",
            files: vec![("good.jsonl", jsonl(&[GOOD]))],
            args: &["--encoding", "latin9"],
            exit: 2,
            says: &["--encoding latin9: unknown; use utf-8, gb18030 (also for GBK/GB2312), big5, utf-16le or utf-16be"],
            counts: None,
            setup: None,
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
            setup: None,
        },
        Case {
            name: "CSV without the text column",
            files: vec![("wire.csv", b"id,date,body\n1,2014-01-02,abc\n".to_vec())],
            args: &[],
            exit: 2,
            says: &["wire.csv:1: no column 'text' in the header (id, date, body); name the text column with --text-field"],
            counts: None,
            setup: None,
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
            setup: None,
        },
        Case {
            name: "TSV with a column mapping and extra metadata",
            files: vec![("wire.tsv", "编号\t日期\t正文\t栏目\nA\t2014/1/2\t能源合作继续推进\t国际\n".as_bytes().to_vec())],
            args: &["--id-field", "编号", "--date-field", "日期", "--text-field", "正文", "--extra-fields", "栏目"],
            exit: 0,
            says: &["documents: 1 read, 1 kept, 0 skipped, 0 undated"],
            counts: Some([1, 1, 0, 0]),
            setup: None,
        },
        Case {
            name: "JSONL text that is a number",
            files: vec![("a.jsonl", jsonl(&[GOOD, r#"{"id":"n","date":"2015-06-02","text":42}"#]))],
            args: &[],
            exit: 1,
            says: &["a.jsonl:2: field 'text' is a number, expected a string"],
            counts: Some([2, 1, 1, 0]),
            setup: None,
        },
        Case {
            name: "JSONL line that is not an object",
            files: vec![("a.jsonl", jsonl(&[GOOD, r#"["x", "y"]"#]))],
            args: &[],
            exit: 1,
            says: &["a.jsonl:2: expected a JSON object, found an array"],
            counts: Some([2, 1, 1, 0]),
            setup: None,
        },
        Case {
            name: "JSONL line that is not JSON",
            files: vec![("a.jsonl", jsonl(&[GOOD, r#"{"id":"x","text":"能源"#]))],
            args: &[],
            exit: 1,
            says: &["a.jsonl:2: invalid JSON: EOF while parsing a string at line 1 column "],
            counts: Some([2, 1, 1, 0]),
            setup: None,
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
            setup: None,
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
            setup: None,
        },
        Case {
            name: "a huge single line",
            files: vec![("big.jsonl", jsonl(&[&huge]))],
            args: &[],
            exit: 0,
            says: &["documents: 1 read, 1 kept, 0 skipped, 0 undated"],
            counts: Some([1, 1, 0, 0]),
            setup: None,
        },
        Case {
            name: "CRLF line endings",
            files: vec![("a.jsonl", format!("{GOOD}\r\n{GOOD}\r\n").into_bytes())],
            args: &["--keep-duplicates"],
            exit: 0,
            says: &["documents: 2 read, 2 kept, 0 skipped, 0 undated"],
            counts: Some([2, 2, 0, 0]),
            setup: None,
        },
        Case {
            name: "gzipped JSONL, and a broken gzip file",
            files: vec![("a.jsonl.gz", gzip(&jsonl(&[GOOD]))), ("b.jsonl.gz", b"\x1f\x8b\x08\x00broken".to_vec())],
            args: &[],
            exit: 2,
            says: &["b.jsonl.gz: not a readable gzip file"],
            counts: None,
            setup: None,
        },
        Case {
            name: "Parquet without the text column",
            files: vec![("t.parquet", parquet(vec![Column::new("id".into(), ["a"]), Column::new("body".into(), ["能源"])]))],
            args: &[],
            exit: 2,
            says: &["t.parquet: no column 'text' (id, body); name the text column with --text-field"],
            counts: None,
            setup: None,
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
            setup: None,
        },
        Case {
            name: "a text with month and day but no year",
            files: vec![("note.txt", "当地时间3月20日，代表团抵达。目标是2030年前完成。".as_bytes().to_vec())],
            args: &[],
            exit: 0,
            says: &["no 发布时间 header line and no date in the file name; the text gives a month and day (3月20日) but no year"],
            counts: Some([1, 1, 0, 1]),
            setup: None,
        },
        Case {
            name: "the default date fills the gap",
            files: vec![("note.txt", "当地时间3月20日，代表团抵达。".as_bytes().to_vec())],
            args: &["--default-date", "2023-03-20"],
            exit: 0,
            says: &["dates from: default 1"],
            counts: Some([1, 1, 0, 0]),
            setup: None,
        },
        Case {
            name: "a dates file with an impossible date",
            files: vec![("note.txt", "代表团抵达。".as_bytes().to_vec()), ("dates.csv.ignored", vec![])],
            args: &["--dates", "DIR/../dates.csv"],
            exit: 2,
            says: &["dates.csv:3: '2023-02-29' is not a calendar date"],
            counts: None,
            setup: None,
        },
        Case {
            name: "an unsupported file given by name",
            files: vec![],
            args: &["--input", "DIR/../report.docx"],
            exit: 2,
            says: &["report.docx: unsupported file type: expected .jsonl, .csv, .tsv, .parquet, .txt or .md (optionally .gz)"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a missing input path",
            files: vec![],
            args: &["--input", "DIR/../nowhere"],
            exit: 2,
            says: &["nowhere: No such file or directory"],
            counts: None,
            setup: None,
        },
        Case {
            name: "--strict stops at the first skip",
            files: vec![("a.jsonl", jsonl(&[GOOD, "{"]))],
            args: &["--strict"],
            exit: 2,
            says: &["1 document(s) were skipped and --strict is set; first:", "a.jsonl:2: invalid JSON"],
            counts: None,
            setup: None,
        },
    ]
}

/// Faults of the file system, resource limits and bad option files.
fn edge_cases() -> Vec<Case> {
    use polars::prelude::Column;
    let two_mb = format!(r#"{{"id":"big","date":"2016-01-01","text":"{}"}}"#, "合作发展，".repeat(140_000));
    // Inputs the fuzzers found (tests/fixtures/fuzz/README.md).
    let found = |file: &str| std::fs::read(super::fixtures().join("fuzz").join(file)).unwrap();
    vec![
        Case {
            name: "a folder link that loops back",
            files: vec![("good.jsonl", jsonl(&[GOOD]))],
            args: &[],
            exit: 0,
            says: &["not followed (a folder link loop): ", "/in/sub/back leads back to "],
            counts: Some([1, 1, 0, 0]),
            setup: Some(|dir| {
                std::fs::create_dir(dir.join("sub")).unwrap();
                std::os::unix::fs::symlink(dir, dir.join("sub/back")).unwrap();
            }),
        },
        Case {
            name: "a broken link named .txt",
            files: vec![("good.jsonl", jsonl(&[GOOD]))],
            args: &[],
            exit: 1,
            says: &["gone.txt: unreadable file: No such file or directory (os error 2); fix it or leave it out of the input"],
            counts: Some([2, 1, 1, 0]),
            setup: Some(|dir| std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("gone.txt")).unwrap()),
        },
        Case {
            name: "a named pipe named .txt (reading it would block forever)",
            files: vec![("good.jsonl", jsonl(&[GOOD]))],
            args: &[],
            exit: 1,
            says: &["pipe.txt: not a regular file (a pipe, socket or device); fix it or leave it out of the input"],
            counts: Some([2, 1, 1, 0]),
            setup: Some(|dir| {
                let path = std::ffi::CString::new(dir.join("pipe.txt").to_str().unwrap()).unwrap();
                assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
            }),
        },
        Case {
            name: "an unreadable entry under --strict",
            files: vec![("good.jsonl", jsonl(&[GOOD]))],
            args: &["--strict"],
            exit: 2,
            says: &["1 document(s) were skipped and --strict is set; first:", "gone.txt: unreadable file"],
            counts: None,
            setup: Some(|dir| std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("gone.txt")).unwrap()),
        },
        Case {
            name: "a document over --max-document-mb",
            files: vec![("big.jsonl", jsonl(&[GOOD, &two_mb]))],
            args: &["--max-document-mb", "1"],
            exit: 1,
            says: &[
                "big.jsonl:2: document of 2.1 MB is over the 1 MB limit (a run needs ~10× its largest document in memory); split it, or raise --max-document-mb",
                "1 skipped (too_long 1)",
            ],
            counts: Some([2, 1, 1, 0]),
            setup: None,
        },
        Case {
            name: "every document over the limit",
            files: vec![("big.jsonl", jsonl(&[&two_mb]))],
            args: &["--max-document-mb", "1"],
            exit: 2,
            says: &["no documents to analyse: all 1 records read were skipped (first: ", "big.jsonl:1: document of 2.1 MB"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a Parquet page claiming a negative number of values",
            files: vec![("good.jsonl", jsonl(&[GOOD])), ("bad.parquet", found("parquet/db29ba752f58998d-input.parquet.case"))],
            args: &[],
            exit: 2,
            says: &["bad.parquet: unreadable Parquet: a page of column 'date' in row group 0 claims -54 values for 4 rows"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a Parquet footer the reader panics on",
            files: vec![("bad.parquet", found("parquet/76f243653ca79c06-input.parquet.case"))],
            args: &[],
            exit: 2,
            says: &["bad.parquet: unreadable Parquet: the file is corrupt (the reader failed on it)"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a Parquet column shorter than its file",
            files: vec![("bad.parquet", found("parquet/5119f9b22c69d2c0-input.parquet.case"))],
            args: &[],
            exit: 2,
            says: &["bad.parquet: unreadable Parquet: the file is corrupt (column 'text' has 0 values for 3 rows)"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a Parquet file cut short",
            files: vec![("cut.parquet", {
                let whole = parquet(vec![Column::new("text".into(), ["能源合作继续推进"; 50])]);
                whole[..whole.len() - 20].to_vec()
            })],
            args: &[],
            exit: 2,
            says: &["cut.parquet: unreadable Parquet: File out of specification: The file must end with PAR1"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a CSV file named .parquet",
            files: vec![("table.parquet", b"id,text\n1,hello\n".to_vec())],
            args: &[],
            exit: 2,
            says: &["table.parquet: unreadable Parquet: File out of specification: The file must end with PAR1"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a Parquet text column of numbers",
            files: vec![
                ("good.jsonl", jsonl(&[GOOD])),
                ("numbers.parquet", parquet(vec![Column::new("text".into(), [1i64, 2])])),
            ],
            args: &[],
            exit: 1,
            says: &["numbers.parquet:1: field 'text' is not a string column, expected a string", "skipped (no_text 2)"],
            counts: Some([3, 1, 2, 0]),
            setup: None,
        },
        Case {
            name: "a boilerplate pattern with an open group",
            files: vec![("good.jsonl", jsonl(&[GOOD])), ("patterns.re", b"# mine\n(unclosed\n".to_vec())],
            args: &["--boilerplate", "DIR/patterns.re"],
            exit: 2,
            says: &["patterns.re:2: not a usable regular expression: regex parse error"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a boilerplate pattern too large to compile",
            files: vec![("good.jsonl", jsonl(&[GOOD])), ("patterns.re", b"(a*)*{1000}{1000}\n".to_vec())],
            args: &["--boilerplate", "DIR/patterns.re"],
            exit: 2,
            says: &["patterns.re:1: not a usable regular expression: ", "exceeds size limit"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a missing boilerplate file",
            files: vec![("good.jsonl", jsonl(&[GOOD]))],
            args: &["--boilerplate", "DIR/nope.re"],
            exit: 2,
            says: &["--boilerplate ", "nope.re: no such file"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a theme lexicon that is not TOML",
            files: vec![("good.jsonl", jsonl(&[GOOD])), ("themes.toml", b"[energy\nterms = [\n".to_vec())],
            args: &["--themes", "DIR/themes.toml"],
            exit: 2,
            says: &["themes.toml: TOML parse error at line 1, column 8"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a theme without terms",
            files: vec![("good.jsonl", jsonl(&[GOOD])), ("themes.toml", b"[energy]\nlabel = \"x\"\n".to_vec())],
            args: &["--themes", "DIR/themes.toml"],
            exit: 2,
            says: &["themes.toml: theme [energy]: missing field `terms`"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a theme whose terms are not strings",
            files: vec![("good.jsonl", jsonl(&[GOOD])), ("themes.toml", b"[energy]\nterms = [1, 2]\n".to_vec())],
            args: &["--themes", "DIR/themes.toml"],
            exit: 2,
            says: &["themes.toml: theme [energy]: invalid type: integer `1`, expected a string"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a study file with an unknown key",
            files: vec![("good.jsonl", jsonl(&[GOOD])), ("study.toml", b"[input]\ntexts = \"body\"\n".to_vec())],
            args: &["--config", "DIR/study.toml"],
            exit: 2,
            says: &["study.toml: TOML parse error at line 2, column 1", "unknown field `texts`"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a study period with an impossible date",
            files: vec![
                ("good.jsonl", jsonl(&[GOOD])),
                ("study.toml", b"[periods]\nearly = [\"2013-01-01\", \"2013-02-30\"]\n".to_vec()),
            ],
            args: &["--config", "DIR/study.toml"],
            exit: 2,
            says: &["study.toml: [periods] early: '2013-02-30' is not a calendar date; write \"early\" = [\"2013-01-01\", \"2017-12-31\"]"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a study file that does not exist",
            files: vec![("good.jsonl", jsonl(&[GOOD]))],
            args: &["--config", "DIR/none.toml"],
            exit: 2,
            says: &["none.toml: No such file or directory"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a dates file with one column",
            files: vec![("good.jsonl", jsonl(&[GOOD])), ("dates.csv", b"document\ng1\n".to_vec())],
            args: &["--dates", "DIR/dates.csv"],
            exit: 2,
            says: &["dates.csv:2: expected two columns: document (id, file name or path), date"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a dates file that is missing",
            files: vec![("good.jsonl", jsonl(&[GOOD]))],
            args: &["--dates", "DIR/none.csv"],
            exit: 2,
            says: &["none.csv: No such file or directory"],
            counts: None,
            setup: None,
        },
        Case {
            name: "JSONL nested past the parser's depth limit",
            files: vec![("deep.jsonl", jsonl(&[GOOD, &format!(r#"{{"text":"x","a":{}1{}}}"#, "[".repeat(5000), "]".repeat(5000))]))],
            args: &[],
            exit: 1,
            says: &["deep.jsonl:2: invalid JSON: recursion limit exceeded"],
            counts: Some([2, 1, 1, 0]),
            setup: None,
        },
        Case {
            name: "JSONL with a BOM and NUL bytes in a text",
            files: vec![("bom.jsonl", [&b"\xEF\xBB\xBF"[..], &jsonl(&[GOOD, r#"{"id":"n","date":"2015-06-02","text":"能源\u0000合作"}"#])].concat())],
            args: &[],
            exit: 0,
            says: &["documents: 2 read, 2 kept, 0 skipped"],
            counts: Some([2, 2, 0, 0]),
            setup: None,
        },
        Case {
            name: "JSONL with a date that is an object",
            files: vec![("obj.jsonl", jsonl(&[r#"{"id":"o","date":{"y":2015},"text":"能源合作继续推进。"}"#]))],
            args: &[],
            exit: 0,
            says: &["undated ", "field 'date' is an object, expected a date string"],
            counts: Some([1, 1, 0, 1]),
            setup: None,
        },
        Case {
            name: "a CSV quote that never closes",
            files: vec![("open.csv", b"id,date,text\n1,2015-06-01,\"never closed\n2,2015-06-02,more\n".to_vec())],
            args: &[],
            exit: 0,
            says: &["documents: 1 read, 1 kept"],
            counts: Some([1, 1, 0, 0]),
            setup: None,
        },
        Case {
            name: "a CSV with only a header",
            files: vec![("header.csv", b"id,date,text\n".to_vec())],
            args: &[],
            exit: 2,
            says: &["no documents to analyse: all 0 records read were skipped"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a text file whose header date cannot be",
            files: vec![("note.md", "发布时间：2013年13月1日\n两国能源合作继续推进。".as_bytes().to_vec())],
            args: &[],
            exit: 0,
            says: &["undated ", "header date on line 1: "],
            counts: Some([1, 1, 0, 1]),
            setup: None,
        },
        Case {
            name: "a file name with an impossible date",
            files: vec![("20130229_news.txt", "两国能源合作继续推进。".as_bytes().to_vec())],
            args: &[],
            exit: 0,
            says: &["undated ", "no 发布时间 header line and no date in the file name"],
            counts: Some([1, 1, 0, 1]),
            setup: None,
        },
        Case {
            name: "UTF-16 without a BOM",
            files: vec![("wide.txt", "两国能源合作继续推进。".encode_utf16().flat_map(u16::to_le_bytes).collect())],
            args: &[],
            exit: 2,
            says: &["wide.txt:1: invalid UTF-8: byte 0xFD at offset 2 (line 1). Name the file's encoding with --encoding"],
            counts: None,
            setup: None,
        },
        // Two unreadable files read side by side: the second fails at once, the first only at its
        // last line, and the first in input order is the one named — in one shard or in two.
        Case {
            name: "two bad files in one shard",
            files: two_bad_files(),
            args: &[],
            exit: 2,
            says: &["a_late.jsonl:30001: invalid UTF-8"],
            counts: None,
            setup: None,
        },
        Case {
            name: "two bad files in two shards",
            files: two_bad_files(),
            args: &["--shard-mb", "0.01"],
            exit: 2,
            says: &["a_late.jsonl:30001: invalid UTF-8"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a gzip file cut short",
            files: vec![("cut.jsonl.gz", { let g = gzip(&jsonl(&[GOOD, GOOD])); g[..g.len() / 2].to_vec() })],
            args: &[],
            exit: 2,
            says: &["cut.jsonl.gz: not a readable gzip file: incomplete deflate stream"],
            counts: None,
            setup: None,
        },
        Case {
            name: "an empty input folder",
            files: vec![],
            args: &[],
            exit: 2,
            says: &["no .jsonl, .csv, .tsv, .parquet, .txt or .md files in this folder (searched recursively)"],
            counts: None,
            setup: None,
        },
        Case {
            name: "an output path that is a file",
            files: vec![("good.jsonl", jsonl(&[GOOD])), ("taken", b"x".to_vec())],
            args: &["--out", "DIR/taken"],
            exit: 2,
            says: &["taken: exists and is not a folder; choose another --out"],
            counts: None,
            setup: None,
        },
        Case {
            name: "a missing user dictionary",
            files: vec![("good.jsonl", jsonl(&[GOOD]))],
            args: &["--user-dict", "DIR/none.dict"],
            exit: 2,
            says: &["--user-dict ", "none.dict: no such file"],
            counts: None,
            setup: None,
        },
        Case {
            name: "an impossible --default-date",
            files: vec![("good.jsonl", jsonl(&[GOOD]))],
            args: &["--default-date", "2023-02-30"],
            exit: 2,
            says: &["invalid value '2023-02-30' for '--default-date"],
            counts: None,
            setup: None,
        },
    ]
}

#[test]
fn bad_input_cases_say_what_and_where_and_lose_nothing() {
    let cases: Vec<Case> = cases().into_iter().chain(edge_cases()).collect();
    assert!(cases.len() > 60, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("in");
        std::fs::create_dir(&dir).unwrap();
        for (name, bytes) in &case.files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        if let Some(setup) = case.setup {
            setup(&dir);
        }
        std::fs::write(tmp.path().join("dates.csv"), "document,date\nnote.txt,2023-03-20\nother.txt,2023-02-29\n")
            .unwrap();
        std::fs::write(tmp.path().join("report.docx"), "x").unwrap();
        let out = tmp.path().join("out");
        let dir_text = dir.to_str().unwrap();
        let mut args: Vec<String> = ["run", "--quiet", "--min-df", "1"].map(String::from).to_vec();
        if !case.args.contains(&"--out") {
            args.extend(["--out".to_string(), out.to_str().unwrap().to_string()]);
        }
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
            // The account balances: every record read is analysed, set aside as a duplicate, or
            // skipped for a reason.
            let number = |key: &str| c[key].as_u64().unwrap_or(u64::MAX);
            let by_kind: u64 = c["skipped_by_kind"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
            if by_kind != number("documents_skipped")
                || number("records_read") != number("documents_analysed") + number("documents_set_aside") + by_kind
            {
                problems.push(format!("the account does not balance: {c}"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}\n--- output ---\n{said}", case.name, problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
