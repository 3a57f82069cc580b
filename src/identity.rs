//! Item identity: canonical source URLs, fallback keys for items without one, GUIDs, and what
//! a gov.kz URL says about its item (entity slug, news id).
//!
//! Everything here is part of the published identity of items: changing how a key or GUID is
//! computed would re-publish every item, so these functions only ever gain cases.

use chrono::NaiveDate;
use globset::{Glob, GlobSet, GlobSetBuilder};
use sha2::{Digest, Sha256};
use url::Url;

/// The `[dedup] ignore_params` globs.
#[derive(Debug, Clone)]
pub struct IgnoreParams {
    /// The patterns as written.
    pub patterns: Vec<String>,
    set: GlobSet,
}

impl IgnoreParams {
    /// Builds the matcher; fails on an invalid glob.
    pub fn new(patterns: &[&str]) -> Result<Self, globset::Error> {
        let mut builder = GlobSetBuilder::new();
        for p in patterns {
            builder.add(Glob::new(p)?);
        }
        Ok(Self {
            patterns: patterns.iter().map(|p| p.to_string()).collect(),
            set: builder.build()?,
        })
    }

    /// Whether the query parameter `name` is ignored for identity.
    pub fn matches(&self, name: &str) -> bool {
        self.set.is_match(name)
    }
}

/// Parses `raw` as a source URL: only absolute http(s) URLs with a host qualify.
pub fn parse_source_url(raw: &str) -> Option<Url> {
    let url = Url::parse(raw.trim()).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty()))
        .then_some(url)
}

/// The canonical form of a source URL: `https`, host lower-cased, default port, fragment and
/// ignored query parameters dropped, remaining parameters sorted.
pub fn canonical_url(url: &Url, ignore: &IgnoreParams) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    if url.scheme() == "http" {
        let explicit_port = url.port();
        // Both schemes are "special", so switching cannot fail; the port is kept unless it
        // was http's default, which `Url` already dropped.
        let _ = url.set_scheme("https");
        if explicit_port == Some(443) {
            let _ = url.set_port(None);
        }
    }
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !ignore.matches(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.into()
}

/// The identity of an item without a source URL: a hash of its normalized title and date.
pub fn fallback_key(title: &str, date: NaiveDate) -> String {
    let normalized = title
        .split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ");
    let digest = Sha256::digest(format!("{normalized}\n{date}").as_bytes());
    format!("t:{}", crate::text::hex(&digest[..16]))
}

/// An item's identity, decided once where the item is read: its key (one item per key) and
/// its GUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The dedup key: the canonical source URL, or the source's own fallback key.
    pub key: String,
    /// The GUID: the canonical URL, or a `tag:` URI.
    pub guid: String,
    /// Whether the GUID is the item's web address.
    pub guid_is_permalink: bool,
}

impl Identity {
    /// The identity of an item with source URL `url`; without one, `fallback()` is the key
    /// and the GUID a `tag:` URI under `host` dated `date`.
    pub fn of(
        url: Option<&Url>,
        ignore: &IgnoreParams,
        fallback: impl FnOnce() -> String,
        host: &str,
        date: NaiveDate,
    ) -> Identity {
        match url {
            Some(url) => {
                let canonical = canonical_url(url, ignore);
                Identity {
                    key: canonical.clone(),
                    guid: canonical,
                    guid_is_permalink: true,
                }
            }
            None => {
                let key = fallback();
                Identity {
                    guid: tag_guid(host, date, &key),
                    key,
                    guid_is_permalink: false,
                }
            }
        }
    }
}

/// The GUID of an item without a source URL: a `tag:` URI (RFC 4151) under the site's host.
fn tag_guid(host: &str, date: NaiveDate, key: &str) -> String {
    format!(
        "tag:{host},{}:govfeeds/{}",
        date.format("%Y-%m-%d"),
        key.trim_start_matches("t:")
    )
}

/// The gov.kz entity slug: the path segment after `/memleket/entities/`, if it is a valid slug.
pub fn entity_slug(url: &Url) -> Option<String> {
    let mut segments = url.path_segments()?;
    while let Some(segment) = segments.next() {
        if segment == "memleket" {
            if segments.next() != Some("entities") {
                return None;
            }
            let slug = segments.next()?.to_ascii_lowercase();
            return crate::feed_id::is_feed_id(&slug).then_some(slug);
        }
    }
    None
}

/// The gov.kz news id: the number after `/news/details/`.
pub fn news_id(url: &Url) -> Option<i64> {
    let segments: Vec<&str> = url.path_segments()?.collect();
    segments
        .windows(3)
        .find(|w| w[0] == "news" && w[1] == "details")
        .and_then(|w| w[2].parse().ok())
}

/// The public name of an item's page (`items/<page>.html`): a hash of its identity key.
pub fn page_name(key: &str) -> String {
    crate::text::hex(&Sha256::digest(key.as_bytes())[..8])
}

/// The language a source URL names in its `lang=` parameter (gov.kz: `kk`, `ru`, `en`):
/// the language of this variant of the item.
pub fn variant_language(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    let lang = url
        .query_pairs()
        .find(|(k, _)| k == "lang")
        .map(|(_, v)| v.to_ascii_lowercase())?;
    (matches!(lang.len(), 2 | 3) && lang.bytes().all(|b| b.is_ascii_lowercase())).then_some(lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore() -> IgnoreParams {
        IgnoreParams::new(&["lang", "utm_*"]).unwrap()
    }

    fn canon(s: &str) -> String {
        canonical_url(&parse_source_url(s).unwrap(), &ignore())
    }

    #[test]
    fn canonical_forms_agree() {
        let expected = "https://www.gov.kz/memleket/entities/mfa/press/news/details/1?a=1&b=2";
        for variant in [
            "https://www.gov.kz/memleket/entities/mfa/press/news/details/1?b=2&a=1",
            "http://www.gov.kz/memleket/entities/mfa/press/news/details/1?a=1&b=2&lang=kk",
            "https://WWW.GOV.KZ:443/memleket/entities/mfa/press/news/details/1?a=1&lang=ru&b=2#top",
            "http://www.gov.kz:80/memleket/entities/mfa/press/news/details/1?utm_source=x&a=1&b=2",
        ] {
            assert_eq!(canon(variant), expected, "{variant}");
        }
        assert_eq!(
            canon("https://www.gov.kz/a?lang=kk"),
            "https://www.gov.kz/a"
        );
        assert_eq!(
            canon("http://example.org:8080/a"),
            "https://example.org:8080/a"
        );
    }

    #[test]
    fn canonicalization_is_idempotent() {
        let once = canon("http://Example.org/a?z=1&utm_medium=m&a=%20x#f");
        assert_eq!(canon(&once), once);
    }

    #[test]
    fn only_absolute_http_urls_are_source_urls() {
        for bad in [
            "javascript:alert(1)",
            "/relative/path",
            "garbage",
            "ftp://x.org/a",
            "mailto:a@b.c",
            "http://",
        ] {
            assert!(parse_source_url(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn gov_kz_parts() {
        let url = parse_source_url(
            "https://www.gov.kz/memleket/entities/mfa-madrid/press/news/details/1158782?lang=kk",
        )
        .unwrap();
        assert_eq!(entity_slug(&url).as_deref(), Some("mfa-madrid"));
        assert_eq!(news_id(&url), Some(1158782));
        let other = parse_source_url("https://example.org/news/1").unwrap();
        assert_eq!((entity_slug(&other), news_id(&other)), (None, None));
    }

    #[test]
    fn page_names_and_variant_languages() {
        // Pinned: item page URLs are permalinks.
        assert_eq!(page_name("t:a2d5434664cbad65cf69a9b370498ad7").len(), 16);
        assert_eq!(page_name("a"), "ca978112ca1bbdca");
        let variant = |u: &str| variant_language(u);
        assert_eq!(
            variant("https://www.gov.kz/x?lang=KK").as_deref(),
            Some("kk")
        );
        assert_eq!(
            variant("https://www.gov.kz/x?a=1&lang=ru").as_deref(),
            Some("ru")
        );
        for none in [
            "https://www.gov.kz/x",
            "https://a.b/?lang=k1",
            "https://a.b/?lang=",
            "nope",
        ] {
            assert_eq!(variant(none), None, "{none}");
        }
    }

    #[test]
    fn fallback_key_ignores_case_and_spacing() {
        let d = NaiveDate::from_ymd_opt(2026, 2, 10).unwrap();
        assert_eq!(
            fallback_key("ANNOUNCEMENT  today", d),
            fallback_key("announcement today", d)
        );
        assert_ne!(
            fallback_key("a", d),
            fallback_key("a", d.succ_opt().unwrap())
        );
        // Pinned: a change here would re-publish every item that has no source URL.
        assert_eq!(
            fallback_key("ANNOUNCEMENT", d),
            "t:a2d5434664cbad65cf69a9b370498ad7"
        );
    }
}
