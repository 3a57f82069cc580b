//! Atom 1.0 (RFC 4287), with RFC 5005 archive links, language alternates (`hreflang`), and
//! the source health feed.

use atom_syndication::extension::{Extension, ExtensionMap};
use atom_syndication::{
    Category, Content, Entry, Feed, Generator, Link, Person, Text, WriteConfig,
};
use chrono::{DateTime, FixedOffset};

use super::{Edition, FeedDoc, GENERATOR, HEALTH_ID, RenderError};
use crate::config::Config;
use crate::store::{HealthEvent, StoredItem};

/// The namespace of RFC 5005's `fh:archive`.
const FEED_HISTORY: &str = "http://purl.org/syndication/history/1.0";

fn link(href: String, rel: &str, mime_type: &str) -> Link {
    Link {
        href,
        rel: rel.into(),
        mime_type: Some(mime_type.into()),
        ..Default::default()
    }
}

fn entry(doc: &FeedDoc<'_>, item: &StoredItem) -> Entry {
    let alternate = Link {
        hreflang: item.variant_language.clone(),
        ..link(doc.link_of(item), "alternate", "text/html")
    };
    let variants = item.alternates.iter().map(|(lang, url)| Link {
        hreflang: Some(lang.clone()),
        ..link(url.clone(), "alternate", "text/html")
    });
    let enclosure = item.enclosure.iter().map(|e| Link {
        length: Some(e.length.to_string()),
        ..link(e.url.clone(), "enclosure", &e.mime_type)
    });
    Entry {
        title: Text {
            lang: item
                .title_language
                .clone()
                .or_else(|| item.language.clone()),
            ..Text::plain(item.title.clone())
        },
        id: item.guid.clone(),
        updated: item.updated,
        published: Some(item.published),
        authors: doc
            .creators(item)
            .into_iter()
            .map(|name| Person {
                name,
                ..Default::default()
            })
            .collect(),
        categories: std::iter::once(doc.category_of(item))
            .chain(item.categories.iter().cloned())
            .map(|term| Category {
                term,
                ..Default::default()
            })
            .collect(),
        links: std::iter::once(alternate)
            .chain(variants)
            .chain(enclosure)
            .collect(),
        summary: Some(Text::plain(item.summary.clone())),
        content: Some(Content {
            value: Some(item.content_html.clone()),
            content_type: Some("html".into()),
            lang: item.language.clone(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Renders `doc` as an Atom 1.0 document.
pub fn render(doc: &FeedDoc<'_>) -> Result<Vec<u8>, RenderError> {
    const ATOM: &str = "application/atom+xml";
    let mut links = vec![
        link(doc.url("atom"), "self", ATOM),
        link(doc.current_url("html"), "alternate", "text/html"),
    ];
    let mut extensions = ExtensionMap::default();
    let mut namespaces = std::collections::BTreeMap::new();
    // An archive page is part of the feed it archives: same id.
    let id = doc.current_url("atom");
    match &doc.edition {
        Edition::Current { archives } if *archives > 0 => {
            links.push(link(doc.archive_url(*archives), "prev-archive", ATOM));
        }
        Edition::Current { .. } | Edition::Language(_) | Edition::Search(_) => {}
        Edition::Archive { page, last } => {
            links.push(link(doc.current_url("atom"), "current", ATOM));
            if *page > 1 {
                links.push(link(doc.archive_url(page - 1), "prev-archive", ATOM));
            }
            if page < last {
                links.push(link(doc.archive_url(page + 1), "next-archive", ATOM));
            }
            namespaces.insert("fh".to_string(), FEED_HISTORY.to_string());
            extensions.entry("fh".into()).or_default().insert(
                "archive".into(),
                vec![Extension {
                    name: "fh:archive".into(),
                    ..Default::default()
                }],
            );
        }
    }
    let feed = Feed {
        title: Text::plain(doc.name.title.clone()),
        id: match &doc.edition {
            Edition::Language(_) => doc.url("atom"),
            _ => id,
        },
        updated: doc.updated(),
        authors: vec![site_author(doc.config)],
        links,
        subtitle: Some(Text::plain(doc.description.clone())),
        generator: Some(generator()),
        lang: Some(match &doc.edition {
            Edition::Language(lang) => lang.clone(),
            _ => doc.config.site.language.clone(),
        }),
        entries: doc.items.iter().map(|item| entry(doc, item)).collect(),
        extensions,
        namespaces,
        icon: Some(doc.config.url_for(super::ICON_PATH)),
        logo: Some(doc.config.url_for(super::ICON_PATH)),
        ..Default::default()
    };
    write(&feed, &doc.name.id)
}

fn site_author(config: &Config) -> Person {
    Person {
        name: config.site.title.clone(),
        uri: Some(config.site.base_url.to_string()),
        ..Default::default()
    }
}

fn generator() -> Generator {
    Generator {
        value: GENERATOR.into(),
        version: Some(env!("CARGO_PKG_VERSION").into()),
        ..Default::default()
    }
}

fn write(feed: &Feed, id: &str) -> Result<Vec<u8>, RenderError> {
    let config = WriteConfig {
        write_document_declaration: true,
        indent_size: Some(2),
    };
    let mut out = feed
        .write_with_config(Vec::new(), config)
        .map_err(|e| RenderError::Encode {
            feed: id.to_string(),
            message: e.to_string(),
        })?;
    out.push(b'\n');
    Ok(out)
}

/// Renders the source health feed: an entry each time a source started failing or recovered,
/// newest first; `updated` is the newest event's time.
pub fn health(
    config: &Config,
    events: &[HealthEvent],
    updated: DateTime<FixedOffset>,
) -> Result<Vec<u8>, RenderError> {
    let url = config.url_for(&format!("feeds/{HEALTH_ID}.atom"));
    let host = config.site.base_url.host_str().unwrap_or("localhost");
    let entries = events
        .iter()
        .map(|event| {
            let (verb, body) = if event.failing {
                ("is failing", format!("Error: {}", event.message))
            } else {
                ("recovered", event.message.clone())
            };
            Entry {
                title: Text::plain(format!("{} {verb}", event.source)),
                id: format!(
                    "tag:{host},{}:govfeeds/health/{}",
                    event.at.format("%Y-%m-%d"),
                    event.id
                ),
                updated: event.at,
                published: Some(event.at),
                links: vec![link(config.url_for("healthz"), "alternate", "text/plain")],
                categories: vec![Category {
                    term: if event.failing {
                        "failing"
                    } else {
                        "recovered"
                    }
                    .into(),
                    ..Default::default()
                }],
                summary: Some(Text::plain(body.clone())),
                content: Some(Content {
                    value: Some(body),
                    content_type: Some("text".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let feed = Feed {
        title: Text::plain(format!("{}: source health", config.site.title)),
        id: url.clone(),
        updated,
        authors: vec![site_author(config)],
        links: vec![
            link(url, "self", "application/atom+xml"),
            link(config.site.base_url.to_string(), "alternate", "text/html"),
        ],
        subtitle: Some(Text::plain(
            "An entry each time a source starts failing or recovers".to_string(),
        )),
        generator: Some(generator()),
        lang: Some("en".into()),
        entries,
        icon: Some(config.url_for(super::ICON_PATH)),
        ..Default::default()
    };
    write(&feed, HEALTH_ID)
}
