//! Words as the search index sees them: split at anything that is not a letter or a digit,
//! case-folded (the Kazakh letters Ә Ғ Қ Ң Ө Ұ Ү Һ І like any other, Ё read as Е) and
//! stemmed: Cyrillic words with the Russian Snowball stemmer, Latin words with the English
//! one. The index holds stems; a query word is stemmed the same way and matched as a prefix
//! of them, so inflected forms meet (Казахстан, Казахстана, Казахстаном; visa, visas), and
//! Kazakh suffixes, which neither stemmer knows, are caught by the prefix (салық, салықтың,
//! салықтар). Latin and Cyrillic spellings of one name are different words.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};

/// Longer "words" (base64, run-together garbage) are not indexed.
pub const MAX_WORD_CHARS: usize = 64;

static RUSSIAN: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::Russian));
static ENGLISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// The folded words of `text`, in order.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    raw_words(text).map(fold)
}

/// The words of `text` as written.
fn raw_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && w.chars().count() <= MAX_WORD_CHARS)
}

/// `word` in lower case, with `ё` as `е`.
pub fn fold(word: &str) -> String {
    let mut folded = String::with_capacity(word.len());
    fold_into(word, &mut folded);
    folded
}

/// Appends `word` folded to `out`.
fn fold_into(word: &str, out: &mut String) {
    out.extend(
        word.chars()
            .flat_map(char::to_lowercase)
            .map(|c| if c == 'ё' { 'е' } else { c }),
    );
}

/// The stem of a folded word: Russian rules for Cyrillic, English for Latin, else the word.
pub fn stem(word: &str) -> String {
    if word.chars().any(is_cyrillic) {
        RUSSIAN.stem(word).into_owned()
    } else if word.chars().any(|c| c.is_ascii_alphabetic()) {
        ENGLISH.stem(word).into_owned()
    } else {
        word.to_string()
    }
}

/// Words whose stems are remembered per thread (news repeat their words; stemming each anew
/// was most of the cost of indexing). Past this many the memory starts again.
const REMEMBERED_STEMS: usize = 100_000;

/// What the index holds for `text`: its stems, separated by spaces.
pub fn index_text(text: &str) -> String {
    thread_local! {
        static STEMS: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
    }
    STEMS.with_borrow_mut(|stems| {
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        for raw in raw_words(text) {
            if !out.is_empty() {
                out.push(' ');
            }
            word.clear();
            fold_into(raw, &mut word);
            if let Some(stemmed) = stems.get(word.as_str()) {
                out.push_str(stemmed);
                continue;
            }
            let stemmed = stem(&word);
            out.push_str(&stemmed);
            if stems.len() >= REMEMBERED_STEMS {
                stems.clear();
            }
            stems.insert(word.clone(), stemmed);
        }
        out
    })
}

/// The token an item's index row carries for one of its fields (`feed`, `entity`, `lang`):
/// the field's name and the value in hex, a word no text makes in practice. Searches with
/// filters look for these too, so that FTS5 skips what the filters would reject; the
/// filters themselves still decide (a text that did make one is only one more candidate).
pub fn field_token(field: &str, value: &str) -> String {
    format!("zz{field}x{}", crate::text::hex(value.as_bytes()))
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{052F}' | '\u{1C80}'..='\u{1C8F}' | '\u{2DE0}'..='\u{2DFF}' | '\u{A640}'..='\u{A69F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kazakh_letters_fold_and_yo_is_ye() {
        assert_eq!(fold("ӘҒҚҢӨҰҮҺІ"), "әғқңөұүһі");
        assert_eq!(fold("ЁЛКА Ёж"), "елка еж");
        assert_eq!(
            words("Салық—САЛЫҚТАР, (салықтың)").collect::<Vec<_>>(),
            ["салық", "салықтар", "салықтың"]
        );
    }

    #[test]
    fn inflected_forms_share_a_stem_prefix() {
        let prefix_of =
            |query: &str, form: &str| stem(&fold(form)).starts_with(&stem(&fold(query)));
        for (query, form) in [
            ("Казахстан", "Казахстана"),
            ("Казахстан", "Казахстаном"),
            ("visa", "visas"),
            ("ministry", "ministries"),
            ("embassy", "Embassies"),
            ("салық", "салықтың"),
            ("салық", "салықтар"),
            ("налоги", "налогов"),
        ] {
            assert!(prefix_of(query, form), "{query} / {form}");
        }
        assert!(!prefix_of("visa", "vista"));
    }

    #[test]
    fn the_index_text_is_stems_only() {
        assert_eq!(index_text("Visas for 2026!"), "visa for 2026");
        assert_eq!(index_text("<b>"), "b");
        assert_eq!(index_text(&"x".repeat(65)), "");
    }
}
