//! The query language: words (all must match), `"phrases"`, `OR` between two terms,
//! `-excluded` terms, and the filters `feed:`, `entity:`, `lang:`, `after:` and `before:`.
//! A query is parsed and checked here into a [`Query`]; what reaches SQLite is built from
//! stems and quotation marks only, so no FTS5 syntax or column filter of a user's ever does.

use chrono::NaiveDate;

use super::words::{field_token, stem, words};
use crate::feed_id::is_feed_id;

/// Longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 500;

/// Most words and phrases (excluded ones too) in one query.
pub const MAX_TERMS: usize = 12;

/// Stems shorter than this are matched whole, not as a prefix (`"in"` would match half the
/// archive).
const MIN_PREFIX_CHARS: usize = 3;

/// Why a query was not accepted: said to the user as a 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Nothing to look for.
    #[error("the query is empty: give a word to look for, or a filter such as feed:mfa")]
    Empty,
    /// Only exclusions, which alone select everything else.
    #[error("the query only excludes: give a word to look for, or a filter such as feed:mfa")]
    OnlyExcluded,
    /// Over [`MAX_QUERY_BYTES`].
    #[error("the query is longer than {MAX_QUERY_BYTES} bytes")]
    TooLong,
    /// Over [`MAX_TERMS`].
    #[error("the query has more than {MAX_TERMS} words and phrases")]
    TooManyTerms,
    /// A `"` without its closing one.
    #[error("a quotation mark is not closed")]
    UnclosedQuote,
    /// `OR` first, last, twice in a row, or next to an excluded term.
    #[error("OR must stand between two words or phrases")]
    DanglingOr,
    /// `name:` that is not a filter.
    #[error("unknown filter \"{0}:\"; the filters are feed:, entity:, lang:, after: and before:")]
    UnknownFilter(String),
    /// A filter with a value it cannot take.
    #[error("{filter}:{value} is not valid: expected {expected}")]
    BadFilter {
        /// The filter's name.
        filter: &'static str,
        /// The value given.
        value: String,
        /// What it takes.
        expected: &'static str,
    },
    /// `after:` not before `before:`.
    #[error("after:{after} is not before before:{before}, so nothing can match")]
    EmptyRange {
        /// The `after:` date.
        after: NaiveDate,
        /// The `before:` date.
        before: NaiveDate,
    },
}

/// The words of the index that begin with a stem, when there are few enough to name one by
/// one; `None` leaves the stem to FTS5 as a prefix (which reads the doclists of every word it
/// begins, however many results are wanted).
pub type Expand<'a> = dyn FnMut(&str) -> Option<Vec<String>> + 'a;

/// A word or a phrase of the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// Its folded words, as the user wrote them.
    pub words: Vec<String>,
    /// Their stems.
    pub stems: Vec<String>,
    /// Written in quotation marks: the words in this order, each whole.
    pub phrase: bool,
}

impl Term {
    fn new(text: &str, phrase: bool) -> Option<Term> {
        let words: Vec<String> = words(text).collect();
        if words.is_empty() {
            return None;
        }
        Some(Term {
            stems: words.iter().map(|w| stem(w)).collect(),
            words,
            phrase,
        })
    }

    /// The term in FTS5's query syntax: a quoted stem matched as a prefix (as the words of
    /// the index that begin with it, when `expand` names them), or a quoted phrase of
    /// stems. Stems hold letters and digits only.
    fn fts(&self, expand: &mut Expand<'_>) -> String {
        let quote = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
        let quoted = quote(&self.stems.join(" "));
        let short = self
            .stems
            .last()
            .is_none_or(|s| s.chars().count() < MIN_PREFIX_CHARS);
        if self.phrase || short {
            return quoted;
        }
        let words = match self.stems.as_slice() {
            [stem] => expand(stem).filter(|words| !words.is_empty()),
            _ => None,
        };
        match words.as_deref() {
            Some([word]) => quote(word),
            Some(words) => {
                let words: Vec<String> = words.iter().map(|w| quote(w)).collect();
                format!("({})", words.join(" OR "))
            }
            None => format!("{quoted}*"),
        }
    }

    /// The term as written in a normalized query.
    fn normalized(&self) -> String {
        let text = self.words.join(" ");
        if self.phrase || self.words.len() > 1 {
            format!("\"{text}\"")
        } else {
            text
        }
    }
}

/// A parsed, checked query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Every group must match; a group matches when one of its terms does.
    pub groups: Vec<Vec<Term>>,
    /// No term of these may match.
    pub excluded: Vec<Term>,
    /// Only items of these feeds (any of them), when not empty.
    pub feeds: Vec<String>,
    /// Only items whose entity matches one of these globs, when not empty.
    pub entities: Vec<String>,
    /// Only items in one of these languages, when not empty.
    pub languages: Vec<String>,
    /// Only items published on this day or later (the site's time zone).
    pub after: Option<NaiveDate>,
    /// Only items published before this day.
    pub before: Option<NaiveDate>,
}

/// One piece of the query text.
enum Piece {
    Term { term: Term, excluded: bool },
    Or,
    Filter { name: String, value: String },
}

impl Query {
    /// Parses `text` in the query language.
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        if text.len() > MAX_QUERY_BYTES {
            return Err(QueryError::TooLong);
        }
        let mut query = Query::default();
        let mut or_pending = false;
        let mut terms = 0;
        for piece in pieces(text)? {
            match piece {
                Piece::Or => {
                    if or_pending || query.groups.is_empty() {
                        return Err(QueryError::DanglingOr);
                    }
                    or_pending = true;
                }
                Piece::Term { term, excluded } => {
                    terms += 1;
                    if terms > MAX_TERMS {
                        return Err(QueryError::TooManyTerms);
                    }
                    match (excluded, std::mem::take(&mut or_pending)) {
                        (true, true) => return Err(QueryError::DanglingOr),
                        (true, false) => query.excluded.push(term),
                        (false, true) => {
                            if let Some(group) = query.groups.last_mut() {
                                group.push(term);
                            }
                        }
                        (false, false) => query.groups.push(vec![term]),
                    }
                }
                Piece::Filter { name, value } => {
                    if or_pending {
                        return Err(QueryError::DanglingOr);
                    }
                    query.filter(&name, value)?;
                }
            }
        }
        if or_pending {
            return Err(QueryError::DanglingOr);
        }
        query.check()?;
        Ok(query)
    }

    fn filter(&mut self, name: &str, value: String) -> Result<(), QueryError> {
        let bad = |filter, expected| QueryError::BadFilter {
            filter,
            value: value.clone(),
            expected,
        };
        let date = |filter| {
            NaiveDate::parse_from_str(&value, "%Y-%m-%d")
                .map_err(|_| bad(filter, "a date such as 2026-01-31"))
        };
        match name {
            "feed" if is_feed_id(&value) => self.feeds.push(value),
            "feed" => return Err(bad("feed", "a feed id such as mfa")),
            "entity" if is_entity_glob(&value) => self.entities.push(value),
            "entity" => {
                return Err(bad(
                    "entity",
                    "a gov.kz entity slug or a glob of one, such as mfa-*",
                ));
            }
            "lang" if crate::language::is_iso_639_1(&value) => self.languages.push(value),
            "lang" => {
                return Err(bad(
                    "lang",
                    "a two-letter language code such as kk, ru or en",
                ));
            }
            "after" => self.after = Some(date("after")?),
            "before" => self.before = Some(date("before")?),
            other => return Err(QueryError::UnknownFilter(other.to_string())),
        }
        Ok(())
    }

    fn check(&self) -> Result<(), QueryError> {
        if let (Some(after), Some(before)) = (self.after, self.before)
            && after >= before
        {
            return Err(QueryError::EmptyRange { after, before });
        }
        let filtered = !self.feeds.is_empty()
            || !self.entities.is_empty()
            || !self.languages.is_empty()
            || self.after.is_some()
            || self.before.is_some();
        match (self.groups.is_empty(), self.excluded.is_empty(), filtered) {
            (false, _, _) | (true, _, true) => Ok(()),
            (true, false, false) => Err(QueryError::OnlyExcluded),
            (true, true, false) => Err(QueryError::Empty),
        }
    }

    /// What must match, in FTS5's syntax; `None` when only filters select.
    pub fn fts_match(&self, expand: &mut Expand<'_>) -> Option<String> {
        let groups: Vec<String> = self
            .groups
            .iter()
            .map(|group| {
                let terms: Vec<String> = group.iter().map(|t| t.fts(expand)).collect();
                if terms.len() > 1 {
                    format!("({})", terms.join(" OR "))
                } else {
                    terms.concat()
                }
            })
            .collect();
        if groups.is_empty() {
            return None;
        }
        let positive = groups.join(" AND ");
        let words = match self.fts_excluded(expand) {
            Some(excluded) => format!("({positive}) NOT ({excluded})"),
            None => positive,
        };
        Some(match self.fts_fields() {
            Some(fields) => format!("({words}) AND {fields}"),
            None => words,
        })
    }

    /// The field tokens ([`field_token`]) an item the filters select must carry, in FTS5's
    /// syntax: a feed or language exactly, an entity pattern by the part before its first
    /// wildcard (no token when a pattern starts with one).
    fn fts_fields(&self) -> Option<String> {
        let any = |tokens: Vec<String>| match tokens.len() {
            0 => None,
            1 => tokens.into_iter().next(),
            _ => Some(format!("({})", tokens.join(" OR "))),
        };
        let exact = |field: &str, values: &[String]| {
            any(values
                .iter()
                .map(|v| format!("\"{}\"", field_token(field, v)))
                .collect())
        };
        let entities = self
            .entities
            .iter()
            .map(|pattern| match pattern.find(['*', '?']) {
                None => Some(format!("\"{}\"", field_token("entity", pattern))),
                Some(0) => None,
                Some(i) => Some(format!("\"{}\"*", field_token("entity", &pattern[..i]))),
            })
            .collect::<Option<Vec<String>>>()
            .and_then(any);
        let fields: Vec<String> = [
            exact("feed", &self.feeds),
            entities,
            exact("lang", &self.languages),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!fields.is_empty()).then(|| fields.join(" AND "))
    }

    /// What must not match, in FTS5's syntax.
    pub fn fts_excluded(&self, expand: &mut Expand<'_>) -> Option<String> {
        let terms: Vec<String> = self.excluded.iter().map(|t| t.fts(expand)).collect();
        (!terms.is_empty()).then(|| terms.join(" OR "))
    }

    /// The query written in one canonical way: two queries that select the same items in
    /// the same way read the same.
    pub fn normalized(&self) -> String {
        let mut parts: Vec<String> = self
            .groups
            .iter()
            .map(|group| {
                group
                    .iter()
                    .map(Term::normalized)
                    .collect::<Vec<_>>()
                    .join(" OR ")
            })
            .collect();
        parts.extend(self.excluded.iter().map(|t| format!("-{}", t.normalized())));
        let mut filters: Vec<String> = Vec::new();
        for (name, values) in [
            ("feed", &self.feeds),
            ("entity", &self.entities),
            ("lang", &self.languages),
        ] {
            let mut values = values.clone();
            values.sort();
            values.dedup();
            filters.extend(values.iter().map(|v| format!("{name}:{v}")));
        }
        filters.extend(self.after.map(|d| format!("after:{d}")));
        filters.extend(self.before.map(|d| format!("before:{d}")));
        parts.extend(filters);
        parts.join(" ")
    }

    /// The words a result's text is highlighted by: the stems of every term looked for.
    pub fn highlighted(&self) -> Vec<String> {
        self.groups
            .iter()
            .flatten()
            .flat_map(|t| t.stems.iter().cloned())
            .collect()
    }
}

/// A gov.kz entity slug, or a glob of one (`*` and `?`).
fn is_entity_glob(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 100
        && value.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '*' | '?')
        })
}

/// Splits `text` into terms, `OR`s and filters.
fn pieces(text: &str) -> Result<Vec<Piece>, QueryError> {
    let mut pieces = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let excluded = rest.starts_with('-') && rest.len() > 1;
        if excluded {
            rest = &rest[1..];
        }
        let (piece, after) = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').ok_or(QueryError::UnclosedQuote)?;
            let term = Term::new(&quoted[..end], true);
            (
                term.map(|term| Piece::Term { term, excluded }),
                &quoted[end + 1..],
            )
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            let (word, after) = rest.split_at(end);
            (bare(word, excluded)?, after)
        };
        pieces.extend(piece);
        rest = after.trim_start();
    }
    Ok(pieces)
}

/// A piece written without quotation marks.
fn bare(word: &str, excluded: bool) -> Result<Option<Piece>, QueryError> {
    if word == "OR" && !excluded {
        return Ok(Some(Piece::Or));
    }
    // Every word must match anyway.
    if word == "AND" && !excluded {
        return Ok(None);
    }
    if let Some((name, value)) = word.split_once(':')
        && !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphabetic())
        && !excluded
    {
        return Ok(Some(Piece::Filter {
            name: name.to_ascii_lowercase(),
            value: value.to_string(),
        }));
    }
    Ok(Term::new(word, false).map(|term| Piece::Term { term, excluded }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fts(q: &str) -> String {
        Query::parse(q)
            .unwrap()
            .fts_match(&mut |_| None)
            .unwrap_or_default()
    }

    #[test]
    fn words_phrases_or_and_exclusions_become_fts5_of_stems() {
        assert_eq!(fts("Visas Spain"), "\"visa\"* AND \"spain\"*");
        assert_eq!(fts("\"Foreign Ministers\""), "\"foreign minist\"");
        assert_eq!(fts("visa OR виза"), "(\"visa\"* OR \"виз\"*)");
        assert_eq!(fts("visa -Schengen"), "(\"visa\"*) NOT (\"schengen\"*)");
        assert_eq!(fts("COVID-19"), "\"covid 19\"");
        assert_eq!(fts("in"), "\"in\"");
    }

    #[test]
    fn filters_add_field_tokens_a_wildcard_first_adds_none() {
        let token = |field: &str, value: &str| format!("\"{}\"", field_token(field, value));
        assert_eq!(
            fts("visa feed:mfa feed:mti lang:ru"),
            format!(
                "(\"visa\"*) AND ({} OR {}) AND {}",
                token("feed", "mfa"),
                token("feed", "mti"),
                token("lang", "ru")
            )
        );
        assert_eq!(
            fts("visa entity:mfa-* entity:kgd"),
            format!(
                "(\"visa\"*) AND ({}* OR {})",
                token("entity", "mfa-"),
                token("entity", "kgd")
            )
        );
        assert_eq!(fts("visa entity:*-madrid entity:kgd"), "\"visa\"*");
    }

    #[test]
    fn a_prefix_is_named_as_the_words_it_begins_when_they_are_known() {
        let query = Query::parse("салық visa \"tax\" -schengen").unwrap();
        let mut expand = |stem: &str| match stem {
            "салық" => Some(vec!["салық".to_string(), "салықтар".to_string()]),
            "visa" => Some(vec!["visa".to_string()]),
            _ => None,
        };
        assert_eq!(
            query.fts_match(&mut expand).unwrap(),
            r#"(("салық" OR "салықтар") AND "visa" AND "tax") NOT ("schengen"*)"#
        );
    }

    #[test]
    fn nothing_of_fts5_syntax_passes_through() {
        for q in [
            "title:visa",
            "NEAR(a b)",
            "a AND b",
            "a* ^b",
            "\"a\" + b",
            "col : x",
        ] {
            match Query::parse(q) {
                Ok(query) => {
                    let m = query.fts_match(&mut |_| None).unwrap_or_default();
                    assert!(
                        !m.contains(':')
                            && !m.contains('^')
                            && !m.contains("NEAR")
                            && !m.contains('+'),
                        "{q} -> {m}"
                    );
                }
                Err(e) => assert!(matches!(e, QueryError::UnknownFilter(_)), "{q}: {e}"),
            }
        }
    }

    #[test]
    fn filters_are_checked() {
        let q = Query::parse("feed:mfa entity:mfa-* lang:ru after:2026-01-01 before:2026-02-01")
            .unwrap();
        assert_eq!(q.feeds, ["mfa"]);
        assert_eq!(q.entities, ["mfa-*"]);
        assert_eq!(q.languages, ["ru"]);
        assert_eq!(q.fts_match(&mut |_| None), None);
        for (text, expected) in [
            ("feed:MFA", "feed"),
            ("entity:a/b", "entity"),
            ("lang:rus", "lang"),
            ("after:2026-13-01", "after"),
            ("before:yesterday", "before"),
        ] {
            match Query::parse(text) {
                Err(QueryError::BadFilter { filter, .. }) => assert_eq!(filter, expected),
                other => panic!("{text}: {other:?}"),
            }
        }
        assert_eq!(
            Query::parse("visa fed:mfa"),
            Err(QueryError::UnknownFilter("fed".into()))
        );
        assert!(matches!(
            Query::parse("after:2026-02-01 before:2026-01-01"),
            Err(QueryError::EmptyRange { .. })
        ));
    }

    #[test]
    fn malformed_queries_say_what_is_wrong() {
        for (text, error) in [
            ("", QueryError::Empty),
            ("  — !! ", QueryError::Empty),
            ("-visa", QueryError::OnlyExcluded),
            ("\"visa", QueryError::UnclosedQuote),
            ("OR visa", QueryError::DanglingOr),
            ("visa OR", QueryError::DanglingOr),
            ("visa OR OR spain", QueryError::DanglingOr),
            ("visa OR -spain", QueryError::DanglingOr),
        ] {
            assert_eq!(Query::parse(text), Err(error), "{text:?}");
        }
        assert_eq!(Query::parse(&"a ".repeat(300)), Err(QueryError::TooLong));
        assert_eq!(
            Query::parse(&"word ".repeat(13)),
            Err(QueryError::TooManyTerms)
        );
    }

    #[test]
    fn the_normalized_query_is_canonical() {
        let a = Query::parse("  Visa   OR  ВИЗА lang:ru feed:mfa -\"Schengen  area\" ").unwrap();
        let b = Query::parse("visa OR виза -\"schengen area\" feed:mfa lang:ru").unwrap();
        assert_eq!(a.normalized(), b.normalized());
        assert_eq!(
            a.normalized(),
            "visa OR виза -\"schengen area\" feed:mfa lang:ru"
        );
        assert_eq!(Query::parse(&a.normalized()).unwrap(), a);
    }
}
