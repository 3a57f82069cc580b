//! Renders feeds from stored items: one file per output format.
//!
//! Rendering is a pure function of the items and the config: nothing here reads the clock,
//! so unchanged input yields byte-identical documents.

pub mod atom;
pub mod rss;

use chrono::{DateTime, FixedOffset};

use crate::classify::Classifier;
use crate::config::{Config, FeedName};
use crate::store::StoredItem;

/// The name govfeeds announces as its generator.
pub const GENERATOR: &str = "govfeeds";

/// Everything a renderer needs for one feed.
pub struct FeedDoc<'a> {
    /// Id and title.
    pub name: FeedName,
    /// One-line description.
    pub description: String,
    /// Newest first, at most `max_items`.
    pub items: Vec<StoredItem>,
    /// The configuration (site, base URL, language).
    pub config: &'a Config,
    /// Names the ministry of each item (its category).
    pub classifier: Classifier<'a>,
}

impl FeedDoc<'_> {
    /// The absolute URL a document of this feed is served at.
    pub fn url(&self, extension: &str) -> String {
        self.config
            .url_for(&format!("feeds/{}.{extension}", self.name.id))
    }

    /// The newest change among the items: the feed's `updated` / `lastBuildDate`.
    /// An empty feed reports the Unix epoch, which keeps output deterministic.
    pub fn updated(&self) -> DateTime<FixedOffset> {
        self.items
            .iter()
            .map(|i| i.updated)
            .max()
            .unwrap_or_else(|| DateTime::UNIX_EPOCH.fixed_offset())
    }

    /// The title of the ministry (feed) an item belongs to.
    pub fn category_of(&self, item: &StoredItem) -> String {
        self.classifier.feed_name(&item.feed).title
    }
}

/// A rendering failure (only possible through an I/O error of the XML writer).
#[derive(Debug, thiserror::Error)]
#[error("rendering feed {feed}: {message}")]
pub struct RenderError {
    /// The feed id.
    pub feed: String,
    /// What failed.
    pub message: String,
}
