//! Full-width → half-width for the characters that carry meaning in tokens: letters, digits and
//! the signs inside numbers (`２０２３`, `ＧＤＰ`, `３．５％`). Chinese punctuation (，。：) stays as it is.

use crate::corpus::is_common_ideograph;

/// The half-width form of `c`, or `c` itself.
pub fn half_width(c: char) -> char {
    match c {
        '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' | '％' | '．' | '＋' | '－' => {
            char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
        }
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Half-width characters, runs of spaces folded into one, lines trimmed, blank lines removed.
pub fn clean_whitespace_and_width(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let start = out.len();
        let mut pending_space = false;
        for c in line.chars().map(half_width) {
            if !is_common_ideograph(c) && c.is_whitespace() {
                pending_space = out.len() > start;
            } else {
                if pending_space {
                    out.push(' ');
                    pending_space = false;
                }
                out.push(c);
            }
        }
        if out.len() > start {
            out.push('\n');
        } else {
            out.truncate(start);
        }
    }
    if out.ends_with('\n') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_letters_digits_become_ascii_but_punctuation_stays() {
        assert_eq!(clean_whitespace_and_width("ＧＤＰ增长３．５％，２０２３年"), "GDP增长3.5%，2023年");
    }

    #[test]
    fn whitespace_is_collapsed_and_blank_lines_dropped() {
        assert_eq!(
            clean_whitespace_and_width("\u{3000}\u{3000}第一段  内容\t尾\n\n \n第二段 "),
            "第一段 内容 尾\n第二段"
        );
    }
}
