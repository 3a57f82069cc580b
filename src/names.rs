//! Human names of gov.kz entities, in the language of the feed that shows them: the operator's
//! `[entity."<slug>"]` names, else the bundled table (`names/entities.toml`), else a name
//! made from the slug: embassies and consulates from `mfa-<city>`, akimats from the places
//! their slug's parts name, anything else from its words.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// Names by language code (`en`, `kk`, `ru`, ...).
pub type Localized = BTreeMap<String, String>;

/// The bundled table, as text (its digest is part of what published documents depend on).
pub const TABLE: &str = include_str!("names/entities.toml");

/// The languages every entry of the bundled table has; other languages are named in English.
pub const LANGUAGES: [&str; 3] = ["en", "kk", "ru"];

/// The bundled table, parsed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// Entities named as written.
    pub entity: BTreeMap<String, Localized>,
    /// Missions abroad by the city of their `mfa-<city>` slug: `kind` and the place.
    pub mission: BTreeMap<String, Localized>,
    /// Akimats' places by slug prefix; `ru_of` is the Russian genitive.
    pub place: BTreeMap<String, Localized>,
    /// How missions and akimats are named, `{place}` replaced.
    pub template: BTreeMap<String, Localized>,
    /// The Kazakh genitive of the last word of a place's name.
    pub kk_genitive: BTreeMap<String, String>,
    /// Slug words that mark an akimat and name the kind of place before them.
    pub marker: BTreeMap<String, Localized>,
}

impl Table {
    /// The bundled table (empty if it does not parse, which a test rules out).
    pub fn bundled() -> &'static Table {
        static TABLE_PARSED: OnceLock<Table> = OnceLock::new();
        TABLE_PARSED.get_or_init(|| toml::from_str(TABLE).unwrap_or_default())
    }
}

/// Names entities, with the operator's overrides.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    overrides: &'a BTreeMap<String, Localized>,
    table: &'static Table,
}

impl<'a> Names<'a> {
    /// Names with `overrides` (slug → language → name) taking precedence over the table.
    pub fn new(overrides: &'a BTreeMap<String, Localized>) -> Self {
        Names {
            overrides,
            table: Table::bundled(),
        }
    }

    /// The name of `slug` in language `lang` when the config or the table lists it.
    pub fn listed(&self, slug: &str, lang: &str) -> Option<String> {
        let own = self.overrides.get(slug);
        own.and_then(|names| names.get(&primary(lang)))
            .or_else(|| self.table.entity.get(slug)?.get(table_language(lang)))
            .or_else(|| own?.get("en"))
            .cloned()
    }

    /// The name of entity `slug` in language `lang` (a language tag such as `kk` or `en-GB`):
    /// the operator's name in `lang`, the table's, the table's mission, the operator's name
    /// in another language, a name made of the places or words of the slug.
    pub fn of(&self, slug: &str, lang: &str) -> String {
        let own = self.overrides.get(slug);
        let table_lang = table_language(lang);
        let city = slug.strip_prefix("mfa-").filter(|c| !c.is_empty());
        own.and_then(|names| names.get(&primary(lang)))
            .or_else(|| self.table.entity.get(slug)?.get(table_lang))
            .cloned()
            .or_else(|| self.listed_mission(city?, table_lang))
            .or_else(|| {
                own.and_then(|names| names.get("en").or(names.values().next()))
                    .cloned()
            })
            .or_else(|| match city {
                Some(city) => Some(self.template("mission", table_lang, &words(city))),
                None => self.akimat(slug, table_lang),
            })
            .unwrap_or_else(|| from_words(slug))
    }

    /// `mfa-<city>` of a city the table lists: the embassy or consulate general there.
    fn listed_mission(&self, city: &str, lang: &str) -> Option<String> {
        let mission = self.table.mission.get(city)?;
        let kind = mission.get("kind").map_or("embassy", String::as_str);
        let place = mission.get(lang).cloned().unwrap_or_else(|| words(city));
        Some(self.template(kind, lang, &place))
    }

    /// An akimat's name from the places its slug's prefixes name, or `None` when the slug
    /// names no place and holds no marker word.
    fn akimat(&self, slug: &str, lang: &str) -> Option<String> {
        let parts: Vec<&str> = slug.split('-').filter(|p| !p.is_empty()).collect();
        let mut chain: Vec<Place> = Vec::new();
        let mut is_akimat = false;
        for i in 1..=parts.len() {
            let prefix = parts[..i].join("-");
            let part = parts[i - 1];
            if let Some(place) = self.table.place.get(&prefix) {
                is_akimat |= i == 1 || chain.iter().any(|p| p.listed);
                chain.push(Place {
                    names: place.clone(),
                    listed: true,
                });
            } else if let Some(marker) = self.table.marker.get(part) {
                is_akimat = true;
                // The word names the kind of the place before it, when that one is not listed.
                if let Some(last) = chain.last_mut().filter(|p| !p.listed && !marker.is_empty()) {
                    let name = words(parts[i - 2]);
                    last.names = marker
                        .iter()
                        .map(|(l, t)| (l.clone(), t.replace("{place}", &name)))
                        .collect();
                }
            } else {
                let name = words(part);
                chain.push(Place {
                    names: LANGUAGES
                        .iter()
                        .map(|l| (l.to_string(), name.clone()))
                        .collect(),
                    listed: false,
                });
            }
        }
        let (own, around) = chain.split_last()?;
        if !is_akimat {
            return None;
        }
        let name = |p: &Place, l: &str| p.names.get(l).cloned().unwrap_or_default();
        let within = |l: &str| {
            if around.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = around.iter().rev().map(|p| name(p, l)).collect();
                format!(" ({})", list.join(", "))
            }
        };
        Some(match lang {
            "kk" => {
                let mut names: Vec<String> = around.iter().map(|p| name(p, "kk")).collect();
                names.push(self.kk_genitive(&name(own, "kk")));
                self.template("akimat", "kk", &names.join(" "))
            }
            "ru" => match own.names.get("ru_of") {
                Some(of) => self.template("akimat", "ru", &format!("{of}{}", within("ru"))),
                None => self.template(
                    "akimat_plain",
                    "ru",
                    &format!("{}{}", name(own, "ru"), within("ru")),
                ),
            },
            _ => self.template(
                "akimat",
                lang,
                &format!("{}{}", name(own, lang), within(lang)),
            ),
        })
    }

    /// `name` with its last word in the Kazakh genitive, when the table knows that word.
    fn kk_genitive(&self, name: &str) -> String {
        let (head, last) = name.rsplit_once(' ').unwrap_or(("", name));
        match self.table.kk_genitive.get(last) {
            Some(genitive) if head.is_empty() => genitive.clone(),
            Some(genitive) => format!("{head} {genitive}"),
            None => name.to_string(),
        }
    }

    /// Template `kind` in `lang` (else English) with `place` put in.
    fn template(&self, kind: &str, lang: &str, place: &str) -> String {
        self.table
            .template
            .get(kind)
            .and_then(|t| t.get(lang).or_else(|| t.get("en")))
            .map_or_else(|| place.to_string(), |t| t.replace("{place}", place))
    }
}

/// One place an akimat's slug names.
struct Place {
    names: Localized,
    /// Whether the table lists it (else it is named from its slug part).
    listed: bool,
}

/// The primary subtag of a language tag, lower-case: `en-GB` → `en`.
pub fn primary(lang: &str) -> String {
    lang.split(['-', '_'])
        .next()
        .unwrap_or(lang)
        .to_ascii_lowercase()
}

/// The language of the table to name in: `lang` when the table has it, else English.
fn table_language(lang: &str) -> &'static str {
    let lang = primary(lang);
    LANGUAGES.into_iter().find(|l| *l == lang).unwrap_or("en")
}

/// A slug part as a word: `karabalyk` → `Karabalyk`.
fn words(part: &str) -> String {
    part.split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The readable fallback for a slug nothing names: its words, and a short one (an acronym,
/// `kgd`) in capitals.
fn from_words(slug: &str) -> String {
    if !slug.contains('-') && (1..=4).contains(&slug.chars().count()) {
        slug.to_uppercase()
    } else {
        words(slug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_table_parses_and_names_every_entry_in_every_language() {
        let table: Table = toml::from_str(TABLE).expect("names/entities.toml parses");
        assert!(table.entity.len() >= 15);
        let entries = table
            .entity
            .iter()
            .chain(&table.mission)
            .chain(&table.place);
        for (slug, names) in entries {
            for lang in LANGUAGES {
                assert!(
                    names.get(lang).is_some_and(|n| !n.trim().is_empty()),
                    "{slug} has no {lang} name"
                );
            }
        }
        for (city, mission) in &table.mission {
            let kind = mission.get("kind").map(String::as_str);
            assert!(
                kind.is_some_and(|k| table.template.contains_key(k)),
                "mission {city}: kind {kind:?} has no template"
            );
        }
        for (prefix, place) in &table.place {
            assert!(place.contains_key("ru_of"), "place {prefix} has no ru_of");
        }
    }

    #[test]
    fn entities_are_named_in_the_feeds_language() {
        let none = BTreeMap::new();
        let names = Names::new(&none);
        let cases = [
            (
                "mfa",
                "en",
                "Ministry of Foreign Affairs of the Republic of Kazakhstan",
            ),
            (
                "mfa",
                "kk",
                "Қазақстан Республикасы Сыртқы істер министрлігі",
            ),
            (
                "mfa",
                "ru-KZ",
                "Министерство иностранных дел Республики Казахстан",
            ),
            (
                "mfa",
                "de",
                "Ministry of Foreign Affairs of the Republic of Kazakhstan",
            ),
            ("mfa-madrid", "en", "Embassy of Kazakhstan in Spain"),
            ("mfa-tashkent", "en", "Embassy of Kazakhstan in Uzbekistan"),
            ("mfa-tashkent", "kk", "Қазақстанның Өзбекстандағы елшілігі"),
            ("mfa-tashkent", "ru", "Посольство Казахстана в Узбекистане"),
            (
                "mfa-istanbul",
                "en",
                "Consulate General of Kazakhstan in Istanbul",
            ),
            (
                "mfa-almaty",
                "en",
                "Representative Office of the Ministry of Foreign Affairs in Almaty",
            ),
            ("mfa-reykjavik", "en", "Mission of Kazakhstan in Reykjavik"),
            (
                "kostanai-karabalyk-mihailov",
                "en",
                "Akimat of Mikhailov Rural District (Karabalyk District, Kostanay Region)",
            ),
            (
                "kostanai-karabalyk-mihailov",
                "kk",
                "Қостанай облысы Қарабалық ауданы Михайлов ауылдық округінің әкімдігі",
            ),
            (
                "kostanai-karabalyk-mihailov",
                "ru",
                "Акимат Михайловского сельского округа (Карабалыкский район, Костанайская область)",
            ),
            (
                "kostanai-kalasy-akimat",
                "en",
                "Akimat of Kostanay City (Kostanay Region)",
            ),
            (
                "kostanai-kalasy-akimat",
                "kk",
                "Қостанай облысы Қостанай қаласының әкімдігі",
            ),
            (
                "uigur-sumbe",
                "en",
                "Akimat of Sumbe Rural District (Uigur District)",
            ),
            // Parts the table does not list are named from the slug, in their place.
            (
                "kostanai-zhitikara-shevchenko",
                "en",
                "Akimat of Shevchenko (Zhitikara, Kostanay Region)",
            ),
            ("ekibastuz-kalasy-akimaty", "en", "Akimat of Ekibastuz City"),
            (
                "ekibastuz-kalasy-akimaty",
                "kk",
                "Ekibastuz қаласының әкімдігі",
            ),
            ("ekibastuz-kalasy-akimaty", "ru", "Акимат: город Ekibastuz"),
            // Anything else: its words.
            ("qyzmet", "en", "Qyzmet"),
            (
                "kgd",
                "kk",
                "Қаржы министрлігінің Мемлекеттік кірістер комитеті",
            ),
            ("abc", "en", "ABC"),
            ("sport-and-tourism", "en", "Sport And Tourism"),
        ];
        for (slug, lang, expected) in cases {
            assert_eq!(names.of(slug, lang), expected, "{slug} in {lang}");
        }
    }

    #[test]
    fn the_operators_names_come_first_and_fill_in_for_other_languages() {
        let overrides = BTreeMap::from([
            (
                "mfa-madrid".to_string(),
                Localized::from([(
                    "en".to_string(),
                    "Embassy of the Republic of Kazakhstan in the Kingdom of Spain".to_string(),
                )]),
            ),
            (
                "qyzmet".to_string(),
                Localized::from([(
                    "en".to_string(),
                    "Agency for Civil Service Affairs".to_string(),
                )]),
            ),
        ]);
        let names = Names::new(&overrides);
        assert_eq!(
            names.of("mfa-madrid", "en"),
            "Embassy of the Republic of Kazakhstan in the Kingdom of Spain"
        );
        // The table's Russian name is kept; an entity only the operator names is named so in
        // every language.
        assert_eq!(
            names.of("mfa-madrid", "ru"),
            "Посольство Казахстана в Испании"
        );
        assert_eq!(names.of("qyzmet", "kk"), "Agency for Civil Service Affairs");
    }

    #[test]
    fn no_slug_makes_it_panic_or_come_out_empty() {
        let none = BTreeMap::new();
        let names = Names::new(&none);
        for slug in [
            "",
            "-",
            "--",
            "mfa-",
            "akimat",
            "kalasy",
            "a--b",
            "é-ü",
            "x-kalasy-",
        ] {
            for lang in ["en", "kk", "ru", ""] {
                let name = names.of(slug, lang);
                assert!(
                    slug.trim_matches('-').is_empty() || !name.is_empty(),
                    "{slug:?}"
                );
            }
        }
    }
}
