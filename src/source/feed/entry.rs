//! One feed entry mapped to an item: its link, title, text, dates, identity, language,
//! authors, categories and image; HTML sanitized.

use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};
use sha2::{Digest, Sha256};
use url::Url;

use super::{FeedOrigin, Parsed};
use crate::config::Config;
use crate::identity::{self, Identity};
use crate::item::{Enclosure, Item, date_or_now, local_midnight};
use crate::text::{clean, collapse_whitespace, markup_to_text, truncate_words};

/// Most characters of a title made from the body when an entry has none.
const TITLE_FROM_BODY: usize = 80;

/// Most characters kept in the plain-text summary.
const SUMMARY_CHARS: usize = 400;

/// Maps every entry of `feed` to an item, with a warning when part of the entry was replaced.
/// `now` dates entries that carry no plausible date (the store keeps the first such date for
/// good).
pub fn items<'a>(
    parsed: &'a mut Parsed,
    origin: &'a FeedOrigin,
    config: &'a Config,
    now: DateTime<FixedOffset>,
) -> impl Iterator<Item = (Item, Option<String>)> + 'a {
    let feed_lang = parsed.language.clone();
    let base = parsed.base.clone();
    // Entries are taken one by one, so each one's memory goes as soon as it is mapped.
    std::mem::take(&mut parsed.feed.entries)
        .into_iter()
        .map(move |entry| item(&entry, feed_lang.as_deref(), &base, origin, config, now))
}

fn item(
    entry: &feed_rs::model::Entry,
    feed_lang: Option<&str>,
    feed_base: &Url,
    origin: &FeedOrigin,
    config: &Config,
    now: DateTime<FixedOffset>,
) -> (Item, Option<String>) {
    let base = entry
        .base
        .as_deref()
        .and_then(|b| feed_base.join(b).ok())
        .unwrap_or_else(|| feed_base.clone());
    let link = entry_link(entry, &base);
    let body_html = entry
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .or_else(|| entry.summary.as_ref().map(text_as_html))
        .unwrap_or_default();
    let content_html = sanitize(&body_html, &base);
    let body_text = collapse_whitespace(&markup_to_text(&content_html));
    let title = entry_title(entry, &body_text);
    let summary = match &entry.summary {
        Some(s) if entry.content.is_some() => collapse_whitespace(&markup_to_text(&s.content)),
        _ => body_text.clone(),
    };
    let (published, warning) = match entry.published.or(entry.updated) {
        Some(t) => date_or_now(date_of(t, origin, config), now),
        None => (now, None),
    };
    let day = entry
        .published
        .or(entry.updated)
        .filter(|t| warning.is_none() && is_migrated_date(*t, origin))
        .map(|t| t.date_naive());
    let warning = warning.map(|w| format!("entry {:?}: {w}", entry.id));
    let Identity {
        key,
        guid,
        guid_is_permalink,
    } = entry_identity(entry, link.as_ref(), origin, config, published);
    let declared = declared_language(entry, feed_lang);
    let (language, title_language) = crate::item::languages(&title, &body_text, declared);
    let entity = origin
        .entity
        .clone()
        .or_else(|| link.as_ref().and_then(identity::entity_slug));
    let input_hash = crate::item::input_hash(&[
        entry.title.as_ref().map_or("", |t| t.content.as_str()),
        link.as_ref().map_or("", Url::as_str),
        &body_html,
        entry.summary.as_ref().map_or("", |s| s.content.as_str()),
        &entry
            .published
            .or(entry.updated)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
    ]);
    let item = Item {
        key,
        guid,
        guid_is_permalink,
        entity,
        news_id: link.as_ref().and_then(identity::news_id),
        link: link.map(String::from),
        title: clean(&title),
        content_html,
        summary: clean(&truncate_words(&summary, SUMMARY_CHARS)),
        published,
        day,
        input_hash,
        authors: authors(entry),
        categories: categories(entry),
        enclosure: image_enclosure(entry, &base),
        language,
        pinned_feed: origin.pinned_feed.clone(),
        title_language,
    };
    (item, warning)
}

/// The entry's web page: its first alternate link (or first link), resolved against `base`,
/// if it is http(s).
fn entry_link(entry: &feed_rs::model::Entry, base: &Url) -> Option<Url> {
    entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| entry.links.first())
        .and_then(|l| base.join(l.href.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// The entry's title as text; without one, the first words of its body, else "Untitled".
fn entry_title(entry: &feed_rs::model::Entry, body_text: &str) -> String {
    entry
        .title
        .as_ref()
        .map(|t| collapse_whitespace(&markup_to_text(&t.content)))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            let from_body = truncate_words(body_text, TITLE_FROM_BODY);
            if from_body.is_empty() {
                "Untitled".to_string()
            } else {
                from_body
            }
        })
}

/// The entry's identity: by its link, else by the source and the entry's id.
fn entry_identity(
    entry: &feed_rs::model::Entry,
    link: Option<&Url>,
    origin: &FeedOrigin,
    config: &Config,
    published: DateTime<FixedOffset>,
) -> Identity {
    let fallback = || {
        let digest = Sha256::digest(format!("{}\n{}", origin.source, entry.id).as_bytes());
        format!("i:{}", crate::text::hex(&digest[..16]))
    };
    Identity::of(
        link,
        &config.ignore_params,
        fallback,
        config.site.base_url.host_str().unwrap_or("localhost"),
        published.date_naive(),
    )
}

/// The language the entry (or else its feed) declares, if it looks like a language tag.
fn declared_language(entry: &feed_rs::model::Entry, feed_lang: Option<&str>) -> Option<String> {
    entry
        .language
        .as_deref()
        .or(feed_lang)
        .map(|l| l.trim().to_string())
        .filter(|l| {
            !l.is_empty()
                && l.len() <= 35
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// The entry's authors: names, else e-mail addresses, as clean text.
fn authors(entry: &feed_rs::model::Entry) -> Vec<String> {
    entry
        .authors
        .iter()
        .filter_map(|p| p.name.as_deref().or(p.email.as_deref()))
        .map(|name| collapse_whitespace(&clean(name)))
        .filter(|n| !n.is_empty())
        .collect()
}

/// The entry's categories: labels, else terms, as clean text.
fn categories(entry: &feed_rs::model::Entry) -> Vec<String> {
    entry
        .categories
        .iter()
        .map(|c| collapse_whitespace(&clean(c.label.as_deref().unwrap_or(&c.term))))
        .filter(|c| !c.is_empty())
        .collect()
}

/// An entry's date in the site's time zone. gov.kz records migrated in 2019–2021 carry a bare
/// `T00:00:00`: that is a local date, not midnight UTC.
fn date_of(t: DateTime<Utc>, origin: &FeedOrigin, config: &Config) -> DateTime<FixedOffset> {
    if is_migrated_date(t, origin) {
        return local_midnight(t.date_naive(), config.site.timezone);
    }
    t.with_timezone(&config.site.timezone).fixed_offset()
}

/// Whether `t` is a gov.kz record's bare migrated date: a day, with no time.
fn is_migrated_date(t: DateTime<Utc>, origin: &FeedOrigin) -> bool {
    let bare_midnight = t.hour() == 0 && t.minute() == 0 && t.second() == 0;
    origin.entity.is_some() && bare_midnight && (2019..=2021).contains(&t.year())
}

/// The first image among the entry's media (RSS enclosures land there too).
fn image_enclosure(entry: &feed_rs::model::Entry, base: &Url) -> Option<Enclosure> {
    entry
        .media
        .iter()
        .flat_map(|m| m.content.iter())
        .find_map(|c| {
            let mime = c
                .content_type
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_default();
            if !mime.starts_with("image/") {
                return None;
            }
            let url = base.join(c.url.as_ref()?.as_str()).ok()?;
            matches!(url.scheme(), "http" | "https").then(|| Enclosure {
                url: url.into(),
                mime_type: mime,
                length: c.size.unwrap_or(0),
            })
        })
}

/// A plain-text construct as HTML (escaped), or an HTML one as is.
fn text_as_html(text: &feed_rs::model::Text) -> String {
    if text.content_type.essence().to_string() == "text/plain" {
        format!("<p>{}</p>", html_escape::encode_text(&text.content))
    } else {
        text.content.clone()
    }
}

/// Sanitizes HTML from a stranger: only harmless tags and attributes, only http(s) and
/// mailto URLs, relative URLs made absolute against `base`. A whole HTML document (gov.kz
/// sends those) is reduced to its body.
pub fn sanitize(html: &str, base: &Url) -> String {
    ammonia::Builder::default()
        .add_clean_content_tags(["head", "title", "noscript", "template"])
        .url_relative(ammonia::UrlRelative::RewriteWithBase(base.clone()))
        .link_rel(Some("noopener noreferrer"))
        .clean(&clean(html))
        .to_string()
}
