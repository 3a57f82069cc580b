//! Telling Kazakh, Russian and English apart, for language tags on items: by script, and
//! within Cyrillic by the letters Kazakh has and Russian does not.

/// Letters of the Kazakh Cyrillic alphabet that Russian does not use.
const KAZAKH_LETTERS: &[char] = &[
    'ә', 'ғ', 'қ', 'ң', 'ө', 'ұ', 'ү', 'һ', 'і', 'Ә', 'Ғ', 'Қ', 'Ң', 'Ө', 'Ұ', 'Ү', 'Һ', 'І',
];

/// Fewer letters than this say nothing reliable.
const MIN_LETTERS: usize = 3;

/// The language of `text`: `kk`, `ru` or `en`, or `None` when it has too few letters.
pub fn detect(text: &str) -> Option<&'static str> {
    let (mut latin, mut cyrillic, mut kazakh) = (0usize, 0usize, 0usize);
    for c in text.chars() {
        if c.is_ascii_alphabetic() {
            latin += 1;
        } else if ('\u{0400}'..='\u{04FF}').contains(&c) {
            cyrillic += 1;
            if KAZAKH_LETTERS.contains(&c) {
                kazakh += 1;
            }
        }
    }
    if latin + cyrillic < MIN_LETTERS {
        return None;
    }
    if latin >= cyrillic {
        return Some("en");
    }
    // Kazakh text uses its own letters often (several per sentence); a few in Russian text
    // (a quoted name) should not flip it.
    if kazakh * 100 >= cyrillic {
        Some("kk")
    } else {
        Some("ru")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_languages() {
        assert_eq!(
            detect("Kazakhstan and Spain discussed cooperation"),
            Some("en")
        );
        assert_eq!(
            detect("Вакцинация — ключевая мера профилактики"),
            Some("ru")
        );
        assert_eq!(
            detect("Қазақстан жаңалықтары: бүгін жиналыс өтті"),
            Some("kk")
        );
        assert_eq!(
            detect("Служебная этика: что должен знать каждый"),
            Some("ru")
        );
        assert_eq!(detect("2026 — 5.9%"), None);
        assert_eq!(
            detect("Qazaqtyń kelinderi"),
            Some("en"),
            "Latin-script Kazakh reads as Latin"
        );
    }
}
