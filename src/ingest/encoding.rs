//! Text encodings: UTF-8 (with or without BOM), UTF-16 with BOM, GB18030/GBK and Big5.
//!
//! A byte-order mark decides; else valid UTF-8 is UTF-8; else chardetng guesses among the legacy
//! encodings and only GBK (decoded as GB18030, its superset) and Big5 are accepted. Decoding never
//! replaces bytes: a byte that does not decode is an error naming its offset.

use std::path::Path;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{DecoderResult, Encoding, BIG5, GB18030, UTF_16BE, UTF_16LE, UTF_8};

use crate::error::{Error, Origin, Result};

/// The encodings a user may force with `--encoding`.
pub fn by_name(name: &str) -> Result<&'static Encoding> {
    let encoding = match name.to_ascii_lowercase().replace('_', "-").as_str() {
        "utf-8" | "utf8" => UTF_8,
        "gb18030" | "gbk" | "gb2312" => GB18030,
        "big5" | "big5-hkscs" => BIG5,
        "utf-16le" => UTF_16LE,
        "utf-16be" => UTF_16BE,
        other => {
            return Err(Error::Config(format!(
                "--encoding {other}: unknown; use utf-8, gb18030 (also for GBK/GB2312), big5, utf-16le or utf-16be"
            )))
        }
    };
    Ok(encoding)
}

/// Decoded text and the name of the encoding it was in.
pub fn decode(bytes: &[u8], path: &Path, forced: Option<&'static Encoding>) -> Result<(String, &'static str)> {
    let (encoding, start) = match (Encoding::for_bom(bytes), forced) {
        (Some((encoding, bom)), _) => (encoding, bom),
        (None, Some(encoding)) => (encoding, 0),
        (None, None) => (guess(bytes), 0),
    };
    let body = &bytes[start..];
    let wide = encoding == UTF_16LE || encoding == UTF_16BE;
    if let Some(nul) = body.iter().position(|&b| b == 0).filter(|_| !wide) {
        return Err(bad_bytes(bytes, start + nul, path, "binary data (a NUL byte), not text,"));
    }
    if encoding == UTF_8 {
        return match std::str::from_utf8(body) {
            Ok(text) => Ok((text.to_string(), "UTF-8")),
            Err(e) => {
                let offset = start + e.valid_up_to();
                let what =
                    if e.error_len().is_none() { "truncated UTF-8 sequence at the end" } else { "invalid UTF-8" };
                Err(bad_bytes(bytes, offset, path, &format!("{what}: byte 0x{:02X}", bytes[offset])))
            }
        };
    }
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let capacity = decoder.max_utf8_buffer_length_without_replacement(body.len()).unwrap_or(body.len() * 3 + 16);
    let mut text = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(body, &mut text, true);
    match result {
        DecoderResult::InputEmpty => Ok((text, encoding.name())),
        DecoderResult::Malformed(bad, after) => {
            let offset = start + read - after as usize - bad as usize;
            Err(bad_bytes(
                bytes,
                offset,
                path,
                &format!("byte 0x{:02X} is not valid {}", bytes[offset], encoding.name()),
            ))
        }
        DecoderResult::OutputFull => unreachable!("the buffer holds the longest possible output"),
    }
}

/// The likeliest encoding of BOM-less bytes: UTF-8 when they are valid UTF-8 or when UTF-8
/// multi-byte text precedes the first bad byte (damaged UTF-8, not another encoding); else
/// chardetng's guess when it is a Chinese one; else UTF-8, so that the error names the bad byte.
fn guess(bytes: &[u8]) -> &'static Encoding {
    let valid = match std::str::from_utf8(bytes) {
        Ok(_) => return UTF_8,
        Err(e) => e.valid_up_to(),
    };
    if bytes[..valid].iter().any(|&b| b >= 0x80) {
        return UTF_8;
    }
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    match detector.guess(None, Utf8Detection::Allow) {
        e if e == encoding_rs::GBK || e == GB18030 => GB18030,
        e if e == BIG5 => BIG5,
        _ => UTF_8,
    }
}

fn bad_bytes(bytes: &[u8], offset: usize, path: &Path, what: &str) -> Error {
    let line = 1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count();
    Error::input(
        Origin::line(path, line),
        format!(
            "{what} at offset {offset} (line {line}). Name the file's encoding with --encoding \
             (utf-8, gb18030, big5, utf-16le, utf-16be), or pass --skip-bad to skip undecodable files"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "两国签署能源协议。\n合作范围继续扩大，贸易额增长。\n";
    const TRADITIONAL: &str = "兩國簽署能源協議。\n合作範圍繼續擴大，貿易額增長。\n";

    fn encode(encoding: &'static Encoding, text: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding.encode(text);
        assert!(!unmappable);
        bytes.into_owned()
    }

    #[test]
    fn gb18030_and_big5_files_decode_to_the_exact_text() {
        let p = Path::new("x.txt");
        assert_eq!(decode(&encode(GB18030, TEXT), p, None).unwrap(), (TEXT.to_string(), "gb18030"));
        assert_eq!(decode(&encode(BIG5, TRADITIONAL), p, None).unwrap(), (TRADITIONAL.to_string(), "Big5"));
    }

    #[test]
    fn boms_decide_and_are_dropped() {
        let p = Path::new("x.txt");
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(TEXT.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode(&utf16, p, None).unwrap().0, TEXT);
        let utf8 = [b"\xEF\xBB\xBF".as_slice(), TEXT.as_bytes()].concat();
        assert_eq!(decode(&utf8, p, None).unwrap(), (TEXT.to_string(), "UTF-8"));
    }

    #[test]
    fn a_forced_encoding_reports_the_first_bad_byte() {
        let bytes = [b"ok\n".as_slice(), &encode(GB18030, "能源")].concat();
        let err = decode(&bytes, Path::new("a.txt"), Some(UTF_8)).unwrap_err().to_string();
        assert!(err.starts_with("a.txt:2: invalid UTF-8: byte 0xC4 at offset 3 (line 2)"), "{err}");
        let err = decode(b"\xE4\xB8\xAD\xE5\x9B", Path::new("t.txt"), None).unwrap_err().to_string();
        let binary = decode(b"PK\x03\x04\x00\x00", Path::new("z.txt"), None).unwrap_err().to_string();
        assert!(binary.starts_with("z.txt:1: binary data (a NUL byte), not text, at offset 4"), "{binary}");
        assert!(err.starts_with("t.txt:1: truncated UTF-8 sequence at the end: byte 0xE5 at offset 3"), "{err}");
        let err = decode(b"\x80\x80", Path::new("b.txt"), Some(BIG5)).unwrap_err().to_string();
        assert!(err.starts_with("b.txt:1: byte 0x80 is not valid Big5 at offset 0"), "{err}");
    }
}
