//! Renders the published site from stored items: every feed in every format, and the index
//! page. One file per output format.
//!
//! Rendering is a pure function of the store and the config: nothing here reads the clock,
//! so unchanged input yields byte-identical documents.

pub mod atom;
pub mod html;
pub mod json;
pub mod opml;
mod page;
pub mod rss;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset};

use crate::classify::Classifier;
use crate::config::{COMBINED_ID, Config, FeedName};
use crate::store::{Store, StoreError, StoredItem};

pub use self::page::{OnRequest, on_request};

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
}

impl FeedDoc<'_> {
    /// The absolute URL this document is served at, in the format of `extension`.
    pub fn url(&self, extension: &str) -> String {
        let id = &self.name.id;
        self.config.url_for(&match &self.edition {
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
        self.config
            .url_for(&format!("feeds/{}.{extension}", self.name.id))
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

    /// The title of the ministry (feed) an item belongs to.
    pub fn category_of(&self, item: &StoredItem) -> String {
        self.classifier.feed_name(&item.feed).title
    }
}

/// The feed of `id`'s items in `lang`, `feeds/<id>.<lang>.atom`.
fn language_document(
    store: &Store,
    config: &Config,
    name: &FeedName,
    id: &str,
    lang: &str,
    created: DateTime<FixedOffset>,
) -> Result<Document, RenderError> {
    let doc = FeedDoc {
        items: store.newest_in((id != COMBINED_ID).then_some(id), lang, config.max_items)?,
        name: FeedName {
            id: id.to_string(),
            title: format!("{} ({lang})", name.title),
        },
        description: description(config, name),
        config,
        classifier: Classifier::new(config),
        edition: Edition::Language(lang.to_string()),
        created,
    };
    Ok(Document {
        path: format!("feeds/{id}.{lang}.atom"),
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

/// Who to name as an item's author: its authors, else its gov.kz entity slug.
fn creators(item: &StoredItem) -> Vec<String> {
    if item.authors.is_empty() {
        item.entity.iter().cloned().collect()
    } else {
        item.authors.clone()
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
    /// Writing a document failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// What changed in one feed since it was last published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedChange {
    /// The publication time (Unix seconds) of the newest item that changed.
    pub newest: i64,
    /// Items added to the feed.
    pub added: u64,
    /// Whether items left the feed or came from another one.
    pub moved: bool,
}

impl FeedChange {
    /// Folds another change of the same feed into this one.
    pub fn merge(&mut self, other: FeedChange) {
        self.newest = self.newest.max(other.newest);
        self.added += other.added;
        self.moved |= other.moved;
    }
}

/// Which feeds a publish renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every feed.
    All,
    /// These feeds (and always the combined feed and the index page); of their language
    /// feeds, those of these languages. A feed none of whose changes reach its newest
    /// `max_items` is left as published.
    Changed {
        /// The feeds whose items changed, and how.
        feeds: BTreeMap<String, FeedChange>,
        /// The languages of the items that changed.
        languages: BTreeSet<String>,
    },
}

impl Scope {
    fn includes(&self, id: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Changed { feeds, .. } => id == COMBINED_ID || feeds.contains_key(id),
        }
    }

    /// What changed in feed `id` (in every feed, for the combined one); `None` when
    /// everything is to be rendered.
    fn change(&self, id: &str) -> Option<FeedChange> {
        match self {
            Scope::All => None,
            Scope::Changed { feeds, .. } if id == COMBINED_ID => {
                Some(feeds.values().fold(FeedChange::default(), |mut all, c| {
                    all.merge(*c);
                    all
                }))
            }
            Scope::Changed { feeds, .. } => feeds.get(id).copied(),
        }
    }

    fn includes_language(&self, lang: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Changed { languages, .. } => languages.contains(lang),
        }
    }

    /// Whether nothing needs rendering.
    pub fn is_empty(&self) -> bool {
        matches!(self, Scope::Changed { feeds, .. } if feeds.is_empty())
    }
}

/// A digest of everything in the config (and of this version of govfeeds) that shapes the
/// rendered documents: when it changes, every document is rendered again.
pub fn fingerprint(config: &Config) -> String {
    use sha2::{Digest, Sha256};
    let site = &config.site;
    let mut text = format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
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
        text.push_str(&format!("\n{}\t{}", m.feed.id, m.feed.title));
    }
    crate::text::hex(&Sha256::digest(text.as_bytes()))
}

/// Renders the feeds in `scope` (every feed that has items, for [`Scope::All`]), the combined
/// feed and the index page, handing each document to `sink` as soon as it is rendered.
pub fn site(
    store: &Store,
    config: &Config,
    scope: &Scope,
    mut sink: impl FnMut(Document) -> Result<(), RenderError>,
) -> Result<(), RenderError> {
    let classifier = Classifier::new(config);
    let created = store.created()?;
    let counts = store.feed_counts()?;
    let total = counts.iter().map(|(_, n)| n).sum();
    let mut feeds = vec![(COMBINED_ID.to_string(), total)];
    feeds.extend(counts);
    let mut infos = Vec::new();
    let archives = |count: u64| {
        if count > config.max_items as u64 {
            count.div_ceil(ARCHIVE_PAGE_ITEMS)
        } else {
            0
        }
    };
    // Whether no change reaches the newest `max_items` of `feed` (in `lang`): the documents
    // showing them are as published. Ties count as reaching.
    let untouched = |feed: Option<&str>, lang: Option<&str>, change: Option<FeedChange>| {
        let Some(change) = change else {
            return Ok(false);
        };
        let oldest_shown = store.oldest_shown(feed, lang, config.max_items)?;
        Ok::<_, RenderError>(oldest_shown.is_some_and(|t| change.newest < t))
    };
    for (id, count) in feeds {
        let combined = id == COMBINED_ID;
        let name = classifier.feed_name(&id);
        let feed = (!combined).then_some(id.as_str());
        let change = scope.change(&id);
        let same_archives = change.is_some_and(|c| {
            !c.moved && archives(count) == archives(count.saturating_sub(c.added))
        });
        if scope.includes(&id) {
            for lang in config
                .languages
                .iter()
                .filter(|l| scope.includes_language(l))
            {
                if !untouched(feed, Some(lang), change)? {
                    sink(language_document(store, config, &name, &id, lang, created)?)?;
                }
            }
        }
        if !scope.includes(&id) || (same_archives && untouched(feed, None, change)?) {
            let updated = match store.published_updated(&id)? {
                Some(updated) => Some(updated),
                None => store.newest_change(feed, config.max_items)?,
            };
            infos.push(FeedInfo {
                updated: updated.unwrap_or(created),
                name,
                items: count,
            });
            continue;
        }
        let description = description(config, &name);
        let archives = archives(count);
        let doc = FeedDoc {
            items: store.newest(feed, config.max_items)?,
            name,
            description,
            config,
            classifier,
            edition: Edition::Current { archives },
            created,
        };
        let modified = doc.updated();
        store.set_published_updated(&id, modified)?;
        for (extension, content_type, bytes) in [
            ("rss", RSS_TYPE, rss::render(&doc)?),
            ("atom", ATOM_TYPE, atom::render(&doc)?),
            ("json", JSON_TYPE, json::render(&doc)?),
            ("html", HTML_TYPE, html::feed_page(&doc)),
        ] {
            sink(Document {
                path: format!("feeds/{id}.{extension}"),
                content_type,
                bytes,
                modified,
            })?;
        }
        infos.push(FeedInfo {
            name: doc.name,
            items: count,
            updated: modified,
        });
    }
    let events = store.health_events(HEALTH_EVENTS)?;
    let modified = newest(events.iter().map(|e| e.at), created);
    sink(Document {
        path: format!("feeds/{HEALTH_ID}.atom"),
        content_type: ATOM_TYPE,
        modified,
        bytes: atom::health(config, &events, modified)?,
    })?;
    let modified = newest(infos.iter().map(|f| f.updated), created);
    sink(Document {
        path: "feeds.opml".into(),
        content_type: "text/x-opml; charset=utf-8",
        modified,
        bytes: opml::render(config, &infos)?,
    })?;
    sink(Document {
        path: "index.html".into(),
        content_type: HTML_TYPE,
        modified,
        bytes: html::index(config, &infos),
    })
}
