//! The normalized item every source produces and the store keeps.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use chrono_tz::Tz;

use crate::body::Body;
use crate::config::Config;
use crate::identity;
use crate::source::dump::Entry;

/// One news item, ready for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Identity: the canonical source URL, or a fallback key (`t:<hash>`).
    pub key: String,
    /// The GUID to publish the first time the item is seen (never changed afterwards).
    pub guid: String,
    /// Whether `guid` is the item's URL (RSS `isPermaLink`).
    pub guid_is_permalink: bool,
    /// The source URL, as the source gave it.
    pub link: Option<String>,
    /// The gov.kz entity slug of the source URL.
    pub entity: Option<String>,
    /// The gov.kz news id, used to order items of the same date.
    pub news_id: Option<i64>,
    /// Title, plain text.
    pub title: String,
    /// Body, HTML.
    pub content_html: String,
    /// Summary, plain text.
    pub summary: String,
    /// When the item was published.
    pub published: DateTime<FixedOffset>,
    /// Authors' names.
    pub authors: Vec<String>,
    /// Categories from the source (the ministry is added when rendering).
    pub categories: Vec<String>,
    /// An image attached to the item.
    pub enclosure: Option<Enclosure>,
    /// The item's language tag, when the source says.
    pub language: Option<String>,
    /// The feed a source pins all its items to (`ministry = ...`), bypassing attribution.
    pub pinned_feed: Option<String>,
    /// The title's language tag, when it differs from the item's.
    pub title_language: Option<String>,
}

/// An attached media object (RSS `enclosure`, Atom `link rel="enclosure"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enclosure {
    /// Absolute URL.
    pub url: String,
    /// Media type, e.g. `image/jpeg`.
    pub mime_type: String,
    /// Length in bytes (0 when unknown).
    pub length: u64,
}

impl Item {
    /// Builds an item from a dump entry; warnings are for parts that were dropped.
    pub fn from_dump(entry: &Entry, config: &Config) -> (Item, Option<String>) {
        let body = Body::parse(&entry.body, &entry.title);
        let mut warning = None;
        let url = body.source.as_deref().and_then(|raw| {
            let url = identity::parse_source_url(raw);
            if url.is_none() {
                warning = Some(format!(
                    "source {raw:?} is not an absolute http(s) URL; item kept without a source URL"
                ));
            }
            url
        });
        let (key, guid, guid_is_permalink) = match &url {
            Some(url) => {
                let canonical = identity::canonical_url(url, &config.ignore_params);
                (canonical.clone(), canonical, true)
            }
            None => {
                let key = identity::fallback_key(&entry.title, entry.date);
                let host = config.site.base_url.host_str().unwrap_or("localhost");
                let guid = identity::tag_guid(host, entry.date, &key);
                (key, guid, false)
            }
        };
        let (language, title_language) = languages(&entry.title, &body.summary(), None);
        let item = Item {
            key,
            guid,
            guid_is_permalink,
            entity: url.as_ref().and_then(identity::entity_slug),
            news_id: url.as_ref().and_then(identity::news_id),
            link: url.map(String::from),
            title: entry.title.clone(),
            content_html: body.to_html(),
            summary: body.summary(),
            published: local_midnight(entry.date, config.site.timezone),
            authors: Vec::new(),
            categories: Vec::new(),
            enclosure: None,
            language,
            pinned_feed: None,
            title_language,
        };
        (item, warning)
    }
}

/// An item's language (`declared` by its source, else detected from its body, else its
/// title) and its title's, when that differs.
pub fn languages(
    title: &str,
    body: &str,
    declared: Option<String>,
) -> (Option<String>, Option<String>) {
    let title_lang = crate::language::detect(title);
    let language = declared.or_else(|| {
        crate::language::detect(body)
            .or(title_lang)
            .map(str::to_string)
    });
    let title_language = title_lang
        .filter(|t| language.as_deref().is_some_and(|l| !l.starts_with(t)))
        .map(str::to_string);
    (language, title_language)
}

/// Midnight of `date` in `tz`, with its explicit offset (the first instant of the day when
/// midnight falls in a DST gap).
pub fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<FixedOffset> {
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    let local = tz
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            (1..=3)
                .filter_map(|h| {
                    tz.from_local_datetime(&(naive + chrono::Duration::hours(h)))
                        .earliest()
                })
                .next()
        })
        .unwrap_or_else(|| tz.from_utc_datetime(&naive));
    local.fixed_offset()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn almaty_midnight_has_its_offset() {
        let tz: Tz = "Asia/Almaty".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 2, 10).unwrap();
        assert_eq!(
            local_midnight(d, tz).to_rfc3339(),
            "2026-02-10T00:00:00+05:00"
        );
    }

    #[test]
    fn midnight_in_a_dst_gap_moves_forward() {
        // Santiago skips from 00:00 to 01:00 on its spring-forward day.
        let tz: Tz = "America/Santiago".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        let t = local_midnight(d, tz);
        assert_eq!(t.date_naive(), d);
    }
}
