//! Display width, wrapping and truncation, measured in terminal cells
//! (ratatui's unicode-width), never in `char`s.

use ratatui::text::Span;

/// The display width of `s` in terminal cells.
pub fn width(s: &str) -> usize {
    Span::raw(s).width()
}

/// The display width of one character (0 for combining marks).
pub fn char_width(c: char) -> usize {
    let mut buf = [0u8; 4];
    Span::raw(&*c.encode_utf8(&mut buf)).width()
}

/// `s` cut to at most `max` cells, with `…` where it was cut.
pub fn fit(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = char_width(c);
        if w + cw > max - 1 {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// `s` padded with spaces (or cut) to exactly `cells` cells.
pub fn pad(s: &str, cells: usize) -> String {
    let s = fit(s, cells);
    let w = width(&s);
    let mut out = s;
    out.extend(std::iter::repeat_n(' ', cells.saturating_sub(w)));
    out
}

/// Greedy word wrap of `text` to lines of at most `max` cells; words longer
/// than a line are broken. White space between words collapses to one
/// space. Always at least one line (empty for an empty text).
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut cur_w = 0usize;
    for word in text.split_whitespace() {
        let ww = width(word);
        if cur_w > 0 && cur_w + 1 + ww <= max {
            cur.push(' ');
            cur.push_str(word);
            cur_w += 1 + ww;
            continue;
        }
        if cur_w > 0 {
            lines.push(std::mem::take(&mut cur));
            cur_w = 0;
        }
        if ww <= max {
            cur.push_str(word);
            cur_w = ww;
            continue;
        }
        // A word longer than a line: break it by cells.
        for c in word.chars() {
            let cw = char_width(c);
            if cur_w + cw > max && cur_w > 0 {
                lines.push(std::mem::take(&mut cur));
                cur_w = 0;
            }
            cur.push(c);
            cur_w += cw;
        }
    }
    if cur_w > 0 || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_count_cells() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("日本"), 4);
        assert_eq!(width("🎉"), 2);
        assert_eq!(char_width('é'), 1);
        assert_eq!(char_width('\u{301}'), 0);
    }

    #[test]
    fn wrap_by_cells() {
        assert_eq!(wrap("hello world", 5), vec!["hello", "world"]);
        assert_eq!(wrap("hello world", 11), vec!["hello world"]);
        assert_eq!(wrap("", 5), vec![""]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        // Wide characters never straddle the edge.
        assert_eq!(wrap("日本語です", 5), vec!["日本", "語で", "す"]);
        for line in wrap("🎉🎉🎉 party 🎉 tonight", 4) {
            assert!(width(&line) <= 4, "{line}");
        }
    }

    #[test]
    fn fit_and_pad() {
        assert_eq!(fit("hello", 10), "hello");
        assert_eq!(fit("hello", 4), "hel…");
        assert_eq!(fit("日本語", 4), "日…");
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(width(&pad("日本語", 5)), 5);
    }
}
