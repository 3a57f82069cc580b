//! The snippet of a result: a few dozen words of its text around the first word a query looked
//! for, with each such word marked.

use super::words::{MAX_WORD_CHARS, fold, stem};

/// Words shown before the first match.
const BEFORE: usize = 12;

/// Words shown in all.
const WORDS: usize = 40;

/// A piece of a snippet: text, and whether it is a word the query looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The text, as in the item.
    pub text: String,
    /// Whether to highlight it.
    pub marked: bool,
}

/// The snippet of `text` for a query looking for `stems` (as prefixes of a word's stem): the
/// words around the first match, or the first words when nothing matches (the match was in
/// the title). Ellipses say where text was left out.
pub fn snippet(text: &str, stems: &[String]) -> Vec<Piece> {
    let spans = word_spans(text);
    let matches = |&(start, end): &(usize, usize)| {
        let word = &text[start..end];
        word.chars().count() <= MAX_WORD_CHARS && {
            let stemmed = stem(&fold(word));
            stems.iter().any(|s| stemmed.starts_with(s.as_str()))
        }
    };
    let first = spans.iter().position(matches).unwrap_or(0);
    let from = first.saturating_sub(BEFORE);
    let to = (from + WORDS).min(spans.len());
    let Some(&(start, _)) = spans.get(from) else {
        return Vec::new();
    };
    let end = spans.get(to).map_or(text.len(), |&(s, _)| s);
    let mut pieces = Vec::new();
    let mut push = |text: &str, marked: bool| {
        if !text.is_empty() {
            pieces.push(Piece {
                text: text.to_string(),
                marked,
            });
        }
    };
    if from > 0 {
        push("… ", false);
    }
    let mut at = start;
    for span in &spans[from..to] {
        if matches(span) {
            push(&text[at..span.0], false);
            push(&text[span.0..span.1], true);
            at = span.1;
        }
    }
    push(text[at..end].trim_end(), false);
    if to < spans.len() {
        push(" …", false);
    }
    pieces
}

/// Byte ranges of the words of `text` (runs of letters and digits).
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(pieces: &[Piece]) -> Vec<&str> {
        pieces
            .iter()
            .filter(|p| p.marked)
            .map(|p| p.text.as_str())
            .collect()
    }

    #[test]
    fn inflected_forms_are_marked_around_the_first() {
        let text = "Бірінші сөйлем. Салықтың мөлшері өзгерді, салықтар туралы заң. Соңы.";
        let pieces = snippet(text, &[stem("салық")]);
        assert_eq!(marked(&pieces), ["Салықтың", "салықтар"]);
        let joined: String = pieces.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn a_long_text_is_cut_around_the_match_with_ellipses() {
        let text = format!("{} visas {}", "word ".repeat(100), "tail ".repeat(100));
        let pieces = snippet(&text, &[stem("visa")]);
        let joined: String = pieces.iter().map(|p| p.text.as_str()).collect();
        assert!(joined.starts_with("… word"), "{joined}");
        assert!(joined.ends_with("tail …"), "{joined}");
        assert_eq!(marked(&pieces), ["visas"]);
        assert_eq!(
            joined
                .split_whitespace()
                .filter(|w| w.chars().all(char::is_alphanumeric))
                .count(),
            WORDS
        );
    }

    #[test]
    fn no_match_gives_the_first_words() {
        let pieces = snippet("Only a title matched.", &[stem("visa")]);
        assert_eq!(pieces.len(), 1);
        assert_eq!(pieces[0].text, "Only a title matched.");
        assert!(snippet("", &[]).is_empty());
    }
}
