//! Plain-text hygiene shared by every source: characters XML 1.0 cannot carry, whitespace,
//! and short summaries.

/// Removes characters XML 1.0 forbids (C0 controls other than tab, line feed and carriage
/// return; U+FFFE and U+FFFF) and the C1 controls validators warn about.
pub fn clean(s: &str) -> String {
    // Most text has nothing to remove: check the bytes first and copy once.
    let suspicious = s.bytes().any(|b| {
        (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7F || b == 0xC2 || b == 0xEF
    });
    if !suspicious {
        return s.to_string();
    }
    s.chars().filter(|&c| is_xml_char(c)).collect()
}

fn is_xml_char(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' => true,
        '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}' | '\u{FFFE}' | '\u{FFFF}' => false,
        _ => true,
    }
}

/// Collapses every run of whitespace to one space and trims the ends.
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The first `max_chars` characters of `s`, cut at a word boundary with `…` when shortened.
pub fn truncate_words(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let cut: String = s.chars().take(max_chars).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > max_chars / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!(
        "{}…",
        cut.trim_end_matches(|c: char| c.is_whitespace() || ",;:–—-".contains(c))
    )
}

/// Whether `needle` (lower-case) occurs in `haystack_lower` as a whole word.
pub fn contains_word(haystack_lower: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    haystack_lower.match_indices(needle).any(|(i, m)| {
        let before = haystack_lower[..i].chars().next_back();
        let after = haystack_lower[i + m.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_forbidden_characters() {
        assert_eq!(clean("a\u{0}b\u{8}c\td\u{FFFF}e\u{85}f"), "abc\tdef");
        assert_eq!(clean("Қазақстан 🇰🇿"), "Қазақстан 🇰🇿");
    }

    #[test]
    fn truncates_at_words() {
        assert_eq!(truncate_words("short", 10), "short");
        assert_eq!(truncate_words("one two three four", 12), "one two…");
    }

    #[test]
    fn whole_words_only() {
        assert!(contains_word("fire safety in shymkent", "fire"));
        assert!(contains_word("a fire.", "fire"));
        assert!(!contains_word("firefighters", "fire"));
        assert!(contains_word("пожар в городе", "пожар"));
        assert!(!contains_word("пожарные", "пожар"));
    }
}
