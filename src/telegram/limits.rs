//! Telegram's size limits, applied to every text the bot sends, so no answer is refused for its
//! length: a list that grew too long loses its last lines instead of the whole message.

/// Telegram's limit on a message's text, in characters.
pub const MAX_TEXT_CHARS: usize = 4096;

/// `text` cut to [`MAX_TEXT_CHARS`]: at the last line break that fits (a list loses whole
/// entries), else mid-line, with "…" where it was cut.
pub fn fit_text(text: String) -> String {
    if text.chars().count() <= MAX_TEXT_CHARS {
        return text;
    }
    let room = MAX_TEXT_CHARS - 2;
    let end = text.char_indices().nth(room).map_or(text.len(), |(i, _)| i);
    let kept = &text[..end];
    let kept = match kept.rfind('\n') {
        Some(line_end) if line_end > end / 2 => &kept[..line_end],
        _ => kept,
    };
    format!("{kept}\n…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_list_loses_whole_lines_and_a_short_text_is_untouched() {
        let list: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        let fitted = fit_text(list);
        assert!(fitted.chars().count() <= MAX_TEXT_CHARS);
        assert!(fitted.ends_with("\n…"));
        let last = fitted.lines().rev().nth(1).unwrap();
        assert!(
            last.starts_with("line ") && last[5..].parse::<u32>().is_ok(),
            "{last}"
        );
        assert_eq!(fit_text("short".into()), "short");
    }

    #[test]
    fn one_long_line_is_cut_mid_line() {
        let fitted = fit_text("я".repeat(5000));
        assert_eq!(fitted.chars().count(), MAX_TEXT_CHARS);
    }
}
