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
///
/// Most characters stay as they are: runs of them are copied whole, and only whitespace and the
/// characters [`half_width`] changes are handled one by one.
pub fn clean_whitespace_and_width(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let start = out.len();
        let mut pending_space = false;
        let mut run = 0;
        for (i, c) in line.char_indices() {
            if c.is_ascii_graphic() || is_common_ideograph(c) {
                continue;
            }
            let half = half_width(c);
            if half.is_whitespace() {
                push_run(&mut out, &mut pending_space, &line[run..i]);
                pending_space = out.len() > start;
            } else if half != c {
                push_run(&mut out, &mut pending_space, &line[run..i]);
                push_run(&mut out, &mut pending_space, half.encode_utf8(&mut [0; 4]));
            } else {
                continue;
            }
            run = i + c.len_utf8();
        }
        push_run(&mut out, &mut pending_space, &line[run..]);
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

/// A run of unchanged characters, after the space pending before it (none for an empty run).
fn push_run(out: &mut String, pending_space: &mut bool, run: &str) {
    if !run.is_empty() {
        if std::mem::take(pending_space) {
            out.push(' ');
        }
        out.push_str(run);
    }
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

    /// The rule said another way: each line's characters made half-width, its words (split at
    /// whitespace) joined by one space, lines without words dropped.
    fn by_words(text: &str) -> String {
        let lines: Vec<String> = text
            .lines()
            .map(|line| {
                let half: String = line.chars().map(half_width).collect();
                half.split(char::is_whitespace).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
            })
            .filter(|line| !line.is_empty())
            .collect();
        lines.join("\n")
    }

    #[test]
    fn copying_by_runs_agrees_with_the_rule_said_by_words() {
        use rand::{Rng, SeedableRng};
        let alphabet: Vec<char> = " \t\r\n\u{3000}\u{a0}ab,.\u{1}ＧＤＰ０９％．，。合作貿易\u{2003}é".chars().collect();
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
        for _ in 0..5000 {
            let length = rng.gen_range(0..24);
            let text: String = (0..length).map(|_| alphabet[rng.gen_range(0..alphabet.len())]).collect();
            assert_eq!(clean_whitespace_and_width(&text), by_words(&text), "{text:?}");
        }
    }
}
