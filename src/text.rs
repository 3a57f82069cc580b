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

/// The text of an HTML fragment: tags stripped, entities decoded.
pub fn markup_to_text(html: &str) -> String {
    let stripped = ammonia::Builder::empty()
        .add_clean_content_tags(["script", "style", "head", "title"])
        .clean(html)
        .to_string();
    clean(&html_escape::decode_html_entities(&stripped))
}

/// The text of an HTML fragment with its blocks (paragraphs, list items, line breaks) kept
/// apart by a space, whitespace collapsed: what a snippet quotes.
pub fn block_text(html: &str) -> String {
    let spaced = html
        .replace("</p>", "</p> ")
        .replace("</li>", "</li> ")
        .replace("<br>", "<br> ");
    collapse_whitespace(&markup_to_text(&spaced))
}

/// Text as a reader should see it: tags a scraper left in reduced to their text (with
/// entities decoded), U+FFFD (the mark of bytes that were not UTF-8) dropped, whitespace
/// collapsed.
pub fn readable(s: &str) -> String {
    let has_markup = s.match_indices('<').any(|(i, _)| is_tag(&s[i + 1..]));
    let text = if has_markup {
        markup_to_text(s)
    } else {
        clean(s)
    };
    collapse_whitespace(&text.replace('\u{FFFD}', " "))
}

/// The HTML elements a scraper leaves in text.
const TAGS: &[&str] = &[
    "a",
    "b",
    "i",
    "u",
    "s",
    "em",
    "strong",
    "small",
    "big",
    "sup",
    "sub",
    "span",
    "font",
    "p",
    "br",
    "hr",
    "div",
    "img",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "tr",
    "td",
    "th",
    "blockquote",
    "center",
    "section",
    "article",
    "script",
    "style",
    "iframe",
    "mark",
    "q",
    "cite",
    "code",
    "pre",
];

/// Whether `rest` (what follows a `<`) is the rest of an HTML tag: `b>`, `/b>`,
/// `a href="…">`, `br/>`; not `5 градусов` or `y and y>z`.
fn is_tag(rest: &str) -> bool {
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let name = rest.len()
        - rest
            .trim_start_matches(|c: char| c.is_ascii_alphanumeric())
            .len();
    if !TAGS.contains(&rest[..name].to_ascii_lowercase().as_str()) {
        return false;
    }
    let after = &rest[name..];
    match after.find(['<', '>']) {
        Some(end) if after.as_bytes()[end] == b'>' => {
            after[..end].is_empty() || after.starts_with([' ', '/', '\t', '\n'])
        }
        _ => false,
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
    fn block_text_keeps_paragraphs_apart() {
        assert_eq!(
            block_text(
                "<p>The end.</p><p>During the <b>meeting</b>:</p><ul><li>one</li><li>two</li></ul>"
            ),
            "The end. During the meeting: one two"
        );
    }

    #[test]
    fn readable_text_keeps_words_and_drops_markup_and_broken_bytes() {
        assert_eq!(readable("<b>Bold</b> &amp; plain"), "Bold & plain");
        assert_eq!(readable("Broken \u{FFFD}\u{FFFD} bytes"), "Broken bytes");
        for text in [
            "Температура <5 градусов",
            "x<y and y>z",
            "a < b",
            "AT&amp;T",
        ] {
            assert_eq!(readable(text), text, "{text}");
        }
    }

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
