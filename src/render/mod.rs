//! Renders the published site from stored items: every feed in every format, and the index
//! page. One file per output format. What to render, and when, is for [`crate::publish`].
//!
//! Rendering is a pure function of the store and the config: nothing here reads the clock or
//! writes to the store, so unchanged input yields byte-identical documents.

pub mod atom;
pub mod html;
pub mod json;
pub mod opml;
mod page;
pub mod rss;
pub mod search;
mod topic;

use chrono::{DateTime, FixedOffset};

use crate::classify::Classifier;
use crate::config::{Config, FeedName};
use crate::feed_id::COMBINED_ID;
use crate::feed_id::Selection;
use crate::store::{Store, StoreError, StoredItem};

pub use self::page::{OnRequest, on_request};
pub use self::topic::{topic_documents, topic_info, topic_language_document};

/// The name govfeeds announces as its generator.
pub const GENERATOR: &str = "govfeeds";

/// The id of the source health feed, `feeds/_health.atom`.
pub const HEALTH_ID: &str = "_health";

/// How many health events the health feed shows.
const HEALTH_EVENTS: usize = 50;

/// `Content-Type` of RSS documents.
pub const RSS_TYPE: &str = "application/rss+xml; charset=utf-8";
/// `Content-Type` of Atom documents.
pub const ATOM_TYPE: &str = "application/atom+xml; charset=utf-8";
/// `Content-Type` of JSON Feed documents.
pub const JSON_TYPE: &str = "application/feed+json; charset=utf-8";
/// `Content-Type` of HTML pages.
pub const HTML_TYPE: &str = "text/html; charset=utf-8";

/// The site's icon (drawn for govfeeds, `assets/icon.svg`), in the forms readers and browsers
/// ask for: path, `Content-Type` and bytes.
pub const ICONS: [(&str, &str, &[u8]); 3] = [
    (
        "favicon.ico",
        "image/x-icon",
        include_bytes!("../../assets/favicon.ico"),
    ),
    (
        "icon.png",
        "image/png",
        include_bytes!("../../assets/icon.png"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../../assets/icon.svg"),
    ),
];

/// The path of the square icon feeds name (192 × 192 pixels).
pub const ICON_PATH: &str = "icon.png";

/// One published document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Path under `output_dir` and under `site.base_url`, e.g. `feeds/mfa.rss`.
    pub path: String,
    /// The `Content-Type` to serve it with.
    pub content_type: &'static str,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// When its content last changed (the newest item change it shows).
    pub modified: DateTime<FixedOffset>,
}

/// What the index page says about one feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedInfo {
    /// Id and title.
    pub name: FeedName,
    /// Items in the feed (all of them, not only the newest shown).
    pub items: u64,
    /// The newest item change.
    pub updated: DateTime<FixedOffset>,
}

/// Results on one search page.
pub const SEARCH_PAGE_ITEMS: usize = 20;

/// The last search page there is (results deeper than this are not shown).
pub const SEARCH_MAX_PAGE: u64 = 50;

/// Items per RFC 5005 archive page.
pub const ARCHIVE_PAGE_ITEMS: u64 = 100;

/// Which document of a feed is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edition {
    /// The subscription document: the newest items, and a link to the newest of `archives`
    /// archive pages (none when every item fits in the subscription document).
    Current {
        /// How many archive pages the feed has.
        archives: u64,
    },
    /// The subscription document of the items in one language.
    Language(String),
    /// The feed of a search: the newest items matching the query `q` (as the reader wrote it).
    Search(String),
    /// An RFC 5005 archive page (from 1) of `last`; page `last` is still filling.
    Archive {
        /// This page.
        page: u64,
        /// The newest page.
        last: u64,
    },
}

/// Everything a renderer needs for one feed.
pub struct FeedDoc<'a> {
    /// Id and title.
    pub name: FeedName,
    /// One-line description.
    pub description: String,
    /// Newest first, at most `max_items` (an archive page: in the order first seen).
    pub items: Vec<StoredItem>,
    /// The configuration (site, base URL, language).
    pub config: &'a Config,
    /// Names the ministry of each item (its category).
    pub classifier: Classifier<'a>,
    /// Which document this is.
    pub edition: Edition,
    /// When the store was created: the `updated` time when there are no items.
    pub created: DateTime<FixedOffset>,
    /// The configured languages the feed has items in (their feeds are linked).
    pub languages: Vec<String>,
}

impl FeedDoc<'_> {
    /// The absolute URL this document is served at, in the format of `extension`.
    pub fn url(&self, extension: &str) -> String {
        let id = &self.name.id;
        self.config.url_for(&match &self.edition {
            Edition::Search(q) => search_path(extension, q),
            Edition::Current { .. } => format!("feeds/{id}.{extension}"),
            Edition::Language(lang) => format!("feeds/{id}.{lang}.{extension}"),
            Edition::Archive { page, .. } => archive_path(id, *page),
        })
    }

    /// The absolute URL of archive page `page` of this feed.
    pub fn archive_url(&self, page: u64) -> String {
        self.config.url_for(&archive_path(&self.name.id, page))
    }

    /// The absolute URL of the feed's subscription document in `extension`.
    pub fn current_url(&self, extension: &str) -> String {
        match &self.edition {
            Edition::Search(q) => self.config.url_for(&search_path(extension, q)),
            _ => self
                .config
                .url_for(&format!("feeds/{}.{extension}", self.name.id)),
        }
    }

    /// The link of an item: its source URL, else its page here.
    pub fn link_of(&self, item: &StoredItem) -> String {
        item_link(self.config, item)
    }

    /// The newest change among the items: the feed's `updated` / `lastBuildDate`.
    /// An empty feed reports when the store was created, which keeps output deterministic.
    pub fn updated(&self) -> DateTime<FixedOffset> {
        newest(self.items.iter().map(|i| i.updated), self.created)
    }

    /// The language the document is in: its edition's, else the site's.
    pub fn language(&self) -> &str {
        match &self.edition {
            Edition::Language(lang) => lang,
            _ => &self.config.site.language,
        }
    }

    /// The title of the ministry (feed) an item belongs to, in the document's language.
    pub fn category_of(&self, item: &StoredItem) -> String {
        self.classifier
            .feed_name_in(&item.feed, self.language())
            .title
    }

    /// Who to name as an item's author, in the document's language.
    pub fn creators(&self, item: &StoredItem) -> Vec<String> {
        creators(&self.classifier, item, self.language())
    }
}

/// The feed of `id`'s items in `lang`, `feeds/<id>.<lang>.atom`.
pub fn language_document(
    store: &Store,
    config: &Config,
    id: &str,
    lang: &str,
    created: DateTime<FixedOffset>,
) -> Result<Document, RenderError> {
    let classifier = Classifier::new(config);
    let name = classifier.feed_name(id);
    // Named in its language; `(kk)` tells it apart when there is no name in that language.
    let title = classifier.feed_name_in(id, lang).title;
    let doc = FeedDoc {
        items: store.newest_in(Selection::of(id), lang, config.max_items)?,
        name: FeedName {
            id: id.to_string(),
            title: if title == name.title {
                format!("{title} ({lang})")
            } else {
                title
            },
        },
        description: description(config, &name),
        config,
        classifier: Classifier::new(config),
        edition: Edition::Language(lang.to_string()),
        created,
        languages: Vec::new(),
    };
    Ok(Document {
        path: language_path(id, lang),
        content_type: ATOM_TYPE,
        bytes: atom::render(&doc)?,
        modified: doc.updated(),
    })
}

/// The one-line description of a feed.
fn description(config: &Config, name: &FeedName) -> String {
    if name.id == COMBINED_ID {
        config.site.description.clone()
    } else {
        format!("{}: {}", config.site.title, name.title)
    }
}

/// The path of archive page `page` of feed `id`.
pub fn archive_path(id: &str, page: u64) -> String {
    format!("feeds/archive/{id}/{page}.atom")
}

/// The path of the results of query `q` in the format of `extension` (`html`: the search
/// page). Form-encoded, but for the colons of filters (`feed:mfa`), which a query may hold as
/// they are: so that the self link of a feed subscribed to as `?q=visa+feed:mfa` is that URL.
pub fn search_path(extension: &str, q: &str) -> String {
    let q: String = url::form_urlencoded::byte_serialize(q.as_bytes())
        .collect::<String>()
        .replace("%3A", ":");
    match extension {
        "html" => format!("search?q={q}"),
        _ => format!("search.{extension}?q={q}"),
    }
}

/// The path of an item's page.
pub fn item_path(item: &StoredItem) -> String {
    format!("items/{}.html", item.page)
}

/// The link of an item: its source URL, else its page here.
pub fn item_link(config: &Config, item: &StoredItem) -> String {
    match &item.link {
        Some(link) => link.clone(),
        None => config.url_for(&item_path(item)),
    }
}

/// Who to name as an item's author: its authors, else its gov.kz entity by name in `lang`.
fn creators(classifier: &Classifier<'_>, item: &StoredItem, lang: &str) -> Vec<String> {
    match &item.entity {
        Some(entity) if item.authors.is_empty() => vec![classifier.names().of(entity, lang)],
        _ => item.authors.clone(),
    }
}

/// The newest of `times`, `empty` when there are none.
fn newest(
    times: impl Iterator<Item = DateTime<FixedOffset>>,
    empty: DateTime<FixedOffset>,
) -> DateTime<FixedOffset> {
    times.max().unwrap_or(empty)
}

/// A rendering failure.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Writing the document (XML or JSON) failed.
    #[error("rendering {feed}: {message}")]
    Encode {
        /// The feed id.
        feed: String,
        /// What failed.
        message: String,
    },
    /// Reading the items failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Raised when a change renders the same store and config otherwise (the index page's search
/// box came with 2), so that an upgraded daemon publishes every document again.
const LAYOUT: u32 = 2;

/// A digest of everything in the config (and of this version of govfeeds) that shapes the
/// rendered documents: when it changes, every document is rendered again.
pub fn fingerprint(config: &Config) -> String {
    use sha2::{Digest, Sha256};
    let site = &config.site;
    let mut text = format!(
        "{}/{LAYOUT}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
        env!("CARGO_PKG_VERSION"),
        site.title,
        site.description,
        site.base_url,
        site.language,
        config.max_items,
        config.unattributed.id,
        config.unattributed.title
    );
    text.push_str(&format!("\n{:?}", config.languages));
    for m in &config.ministries {
        text.push_str(&format!(
            "\n{}\t{}\t{:?}",
            m.feed.id, m.feed.title, m.entity_patterns
        ));
    }
    text.push_str(&format!(
        "\n{:?}\n{}",
        config.entity_names,
        crate::names::TABLE
    ));
    for t in &config.topics {
        text.push_str(&format!("\n{}\t{}\t{}", t.feed.id, t.feed.title, t.text));
    }
    crate::text::hex(&Sha256::digest(text.as_bytes()))
}

/// How many RFC 5005 archive pages a feed of `count` items has: none while every item fits in
/// its subscription document.
pub fn archives(config: &Config, count: u64) -> u64 {
    if count > config.max_items as u64 {
        count.div_ceil(ARCHIVE_PAGE_ITEMS)
    } else {
        0
    }
}

/// The paths of feed `id`'s own documents, in the order [`feed_documents`] renders them.
pub fn feed_paths(id: &str) -> [String; 4] {
    ["rss", "atom", "json", "html"].map(|extension| format!("feeds/{id}.{extension}"))
}

/// The path of feed `id`'s document in `lang`.
pub fn language_path(id: &str, lang: &str) -> String {
    format!("feeds/{id}.{lang}.atom")
}

/// The paths of the site's own documents, in the order [`site_documents`] renders them.
pub fn site_paths() -> [String; 6] {
    [
        format!("feeds/{HEALTH_ID}.atom"),
        "feeds.opml".to_string(),
        "index.html".to_string(),
        ICONS[0].0.to_string(),
        ICONS[1].0.to_string(),
        ICONS[2].0.to_string(),
    ]
}

/// The subscription documents of feed `id` (which holds `count` items): RSS, Atom, JSON Feed
/// and its page; and what the index says of it.
pub fn feed_documents(
    store: &Store,
    config: &Config,
    id: &str,
    count: u64,
    created: DateTime<FixedOffset>,
) -> Result<(Vec<Document>, FeedInfo), RenderError> {
    let classifier = Classifier::new(config);
    let name = classifier.feed_name(id);
    let feed = Selection::of(id);
    let doc = FeedDoc {
        items: store.newest(feed, config.max_items)?,
        description: description(config, &name),
        name,
        config,
        classifier,
        edition: Edition::Current {
            archives: archives(config, count),
        },
        created,
        languages: with_items(store, config, feed)?,
    };
    let documents = formats(&doc, id)?;
    let info = FeedInfo {
        items: count,
        updated: doc.updated(),
        name: doc.name,
    };
    Ok((documents, info))
}

/// The subscription documents of feed `id` from `doc`: RSS, Atom, JSON Feed and its page.
fn formats(doc: &FeedDoc<'_>, id: &str) -> Result<Vec<Document>, RenderError> {
    let modified = doc.updated();
    let [rss_path, atom_path, json_path, html_path] = feed_paths(id);
    Ok(vec![
        Document {
            path: rss_path,
            content_type: RSS_TYPE,
            bytes: rss::render(doc)?,
            modified,
        },
        Document {
            path: atom_path,
            content_type: ATOM_TYPE,
            bytes: atom::render(doc)?,
            modified,
        },
        Document {
            path: json_path,
            content_type: JSON_TYPE,
            bytes: json::render(doc)?,
            modified,
        },
        Document {
            path: html_path,
            content_type: HTML_TYPE,
            bytes: html::feed_page(doc),
            modified,
        },
    ])
}

/// The configured languages `feed` has items in.
fn with_items(
    store: &Store,
    config: &Config,
    feed: Selection<'_>,
) -> Result<Vec<String>, StoreError> {
    let present = store.languages_in(feed)?;
    Ok(config
        .languages
        .iter()
        .filter(|l| present.contains(l))
        .cloned()
        .collect())
}

/// What the index says of feed `id` (which holds `count` items) without rendering it: the
/// `updated` time it was last published with, else its newest item change.
pub fn feed_info(
    store: &Store,
    config: &Config,
    id: &str,
    count: u64,
    created: DateTime<FixedOffset>,
) -> Result<FeedInfo, StoreError> {
    let updated = match store.published_updated(id)? {
        Some(updated) => Some(updated),
        None => store.newest_change(Selection::of(id), config.max_items)?,
    };
    Ok(FeedInfo {
        name: Classifier::new(config).feed_name(id),
        items: count,
        updated: updated.unwrap_or(created),
    })
}

/// The site's own documents, from what the index says of every feed: the source health
/// feed, the OPML and the index page.
pub fn site_documents(
    store: &Store,
    config: &Config,
    infos: &[FeedInfo],
    created: DateTime<FixedOffset>,
) -> Result<Vec<Document>, RenderError> {
    let [health_path, opml_path, index_path, ..] = site_paths();
    let events = store.health_events(HEALTH_EVENTS)?;
    let health_modified = newest(events.iter().map(|e| e.at), created);
    let modified = newest(infos.iter().map(|f| f.updated), created);
    Ok(vec![
        Document {
            path: health_path,
            content_type: ATOM_TYPE,
            modified: health_modified,
            bytes: atom::health(config, &events, health_modified)?,
        },
        Document {
            path: opml_path,
            content_type: "text/x-opml; charset=utf-8",
            modified,
            bytes: opml::render(config, infos)?,
        },
        Document {
            path: index_path,
            content_type: HTML_TYPE,
            modified,
            bytes: html::index(config, infos),
        },
    ]
    .into_iter()
    .chain(ICONS.iter().map(|(path, content_type, bytes)| Document {
        path: path.to_string(),
        content_type,
        bytes: bytes.to_vec(),
        modified: created,
    }))
    .collect())
}
