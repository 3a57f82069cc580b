//! Telling Kazakh, Russian and English apart, for language tags on items: by script, and
//! within Cyrillic by the letters Kazakh has and Russian does not.

/// Letters of the Kazakh Cyrillic alphabet that Russian does not use.
const KAZAKH_LETTERS: &[char] = &[
    'ә', 'ғ', 'қ', 'ң', 'ө', 'ұ', 'ү', 'һ', 'і', 'Ә', 'Ғ', 'Қ', 'Ң', 'Ө', 'Ұ', 'Ү', 'Һ', 'І',
];

/// The two-letter language codes of ISO 639-1: what a language feed may be for.
const ISO_639_1: &str = "aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch \
    co cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha \
    he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks \
    ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no \
    nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq \
    sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi \
    yo za zh zu";

/// Whether `code` is an ISO 639-1 language code (lower case).
pub fn is_iso_639_1(code: &str) -> bool {
    code.len() == 2 && ISO_639_1.split_whitespace().any(|c| c == code)
}

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
