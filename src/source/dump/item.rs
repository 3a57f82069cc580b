//! A dump entry as an [`Item`]: its title and body made readable, its source URL, identity,
//! instant and language.

use chrono::{DateTime, FixedOffset};

use super::Entry;
use crate::body::Body;
use crate::config::Config;
use crate::identity::{self, Identity};
use crate::item::{Item, date_or_now, input_hash, languages, local_midnight};

/// Builds an item from a dump entry of `site` (the dump's site line) first seen at `now`;
/// warnings are for parts that were dropped or replaced. An item with no source URL is
/// credited to the site (one with a URL, to its gov.kz entity when rendered).
pub fn item(
    entry: &Entry,
    site: Option<&str>,
    config: &Config,
    now: DateTime<FixedOffset>,
) -> (Item, Option<String>) {
    // Identity reads the title as written; readers get it readable.
    let title = crate::text::readable(&entry.title);
    let body = Body::parse(&crate::text::readable(&entry.body), &title);
    let mut warnings = Vec::new();
    let url = body.source.as_deref().and_then(|raw| {
        let url = identity::parse_source_url(raw);
        if url.is_none() {
            warnings.push(format!(
                "source {raw:?} is not an absolute http(s) URL; item kept without a source URL"
            ));
        }
        url
    });
    let (published, date_warning) =
        date_or_now(local_midnight(entry.date, config.site.timezone), now);
    let day = date_warning.is_none().then_some(entry.date);
    warnings.extend(date_warning);
    let Identity {
        key,
        guid,
        guid_is_permalink,
    } = Identity::of(
        url.as_ref(),
        &config.ignore_params,
        // The key reads the date as written, so the item is the same one on every read.
        || identity::fallback_key(&entry.title, entry.date),
        config.site.base_url.host_str().unwrap_or("localhost"),
        published.date_naive(),
    );
    let (language, title_language) = languages(&title, &body.summary(), None);
    let authors = match (&url, site) {
        (None, Some(site)) => vec![site.to_string()],
        _ => Vec::new(),
    };
    let item = Item {
        key,
        guid,
        guid_is_permalink,
        entity: url.as_ref().and_then(identity::entity_slug),
        news_id: url.as_ref().and_then(identity::news_id),
        link: url.map(String::from),
        title,
        content_html: body.to_html(),
        summary: body.summary(),
        published,
        day,
        input_hash: input_hash(&[&entry.title, &entry.date.to_string(), &entry.body]),
        authors,
        categories: Vec::new(),
        enclosure: None,
        language,
        pinned_feed: None,
        title_language,
    };
    let warning = (!warnings.is_empty()).then(|| warnings.join("; "));
    (item, warning)
}
