//! Reading items: a feed's newest, its archive pages, counts and languages, an item by page.

use chrono::{DateTime, Datelike, FixedOffset};
use rusqlite::OptionalExtension;

use super::{Store, StoreError};
use crate::feed_id::Selection;
use crate::item::Enclosure;

/// An item as stored, with the fields that are fixed at first sight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    /// The published GUID.
    pub guid: String,
    /// Whether the GUID is the item's URL.
    pub guid_is_permalink: bool,
    /// The source URL.
    pub link: Option<String>,
    /// The gov.kz entity slug.
    pub entity: Option<String>,
    /// The feed id the item belongs to.
    pub feed: String,
    /// Title, plain text.
    pub title: String,
    /// Body, HTML.
    pub content_html: String,
    /// Summary, plain text.
    pub summary: String,
    /// First publication time.
    pub published: DateTime<FixedOffset>,
    /// Last content change (equal to `published` when never edited).
    pub updated: DateTime<FixedOffset>,
    /// Authors' names.
    pub authors: Vec<String>,
    /// The source's categories.
    pub categories: Vec<String>,
    /// An attached image.
    pub enclosure: Option<Enclosure>,
    /// The item's language tag.
    pub language: Option<String>,
    /// The title's language tag, when it differs from the item's.
    pub title_language: Option<String>,
    /// The name of the item's page, `items/<page>.html`.
    pub page: String,
    /// The language of the variant the content comes from (`lang=` of its URL).
    pub variant_language: Option<String>,
    /// The item's language variants other than its own: language and URL.
    pub alternates: Vec<(String, String)>,
}

/// The columns [`row_to_item`] reads, in order.
pub(super) const ITEM_COLUMNS: &str = "guid, guid_is_permalink, link, entity, feed, title, content_html, \
    summary, published, updated, authors, categories, enclosure_url, enclosure_type, \
    enclosure_length, language, title_language, page, variant_lang, \
    (SELECT group_concat(lang || ' ' || url, char(10)) FROM item_variant \
     WHERE item_variant.item = item.id AND item_variant.lang IS NOT item.variant_lang), \
    published_ts";

pub(super) fn row_to_item(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredItem> {
    // A time that does not read back, or that no feed format can carry, never fails a render:
    // the item's publication time in seconds stands in (migration 9 repaired such rows).
    let fallback = DateTime::from_timestamp(row.get::<_, i64>(20)?, 0)
        .filter(|t| (1..=9999).contains(&t.year()))
        .unwrap_or(DateTime::UNIX_EPOCH)
        .fixed_offset();
    let time = |i: usize| -> rusqlite::Result<DateTime<FixedOffset>> {
        let s: String = row.get(i)?;
        Ok(DateTime::parse_from_rfc3339(&s)
            .ok()
            .filter(|t| (1..=9999).contains(&t.year()))
            .unwrap_or(fallback))
    };
    Ok(StoredItem {
        guid: row.get(0)?,
        guid_is_permalink: row.get(1)?,
        link: row.get(2)?,
        entity: row.get(3)?,
        feed: row.get(4)?,
        title: row.get(5)?,
        content_html: row.get(6)?,
        summary: row.get(7)?,
        published: time(8)?,
        updated: time(9)?,
        authors: lines(row.get(10)?),
        categories: lines(row.get(11)?),
        enclosure: match row.get::<_, Option<String>>(12)? {
            Some(url) => Some(Enclosure {
                url,
                mime_type: row.get::<_, Option<String>>(13)?.unwrap_or_default(),
                length: row.get::<_, Option<i64>>(14)?.unwrap_or(0).unsigned_abs(),
            }),
            None => None,
        },
        language: row.get(15)?,
        title_language: row.get(16)?,
        page: row.get::<_, Option<String>>(17)?.unwrap_or_default(),
        variant_language: row.get(18)?,
        alternates: lines(row.get::<_, Option<String>>(19)?.unwrap_or_default())
            .into_iter()
            .filter_map(|line| {
                let (lang, url) = line.split_once(' ')?;
                Some((lang.to_string(), url.to_string()))
            })
            .collect(),
    })
}

fn lines(joined: String) -> Vec<String> {
    joined.lines().map(str::to_string).collect()
}

impl Store {
    /// The languages `feed`  has items in, sorted.
    pub fn languages_in(&self, feed: Selection<'_>) -> Result<Vec<String>, StoreError> {
        let feed = feed.feed();
        let sql = match feed {
            Some(_) => {
                "SELECT language FROM feed_language_count WHERE feed = ?1 AND n > 0
                        ORDER BY language"
            }
            None => {
                "SELECT DISTINCT language FROM feed_language_count WHERE n > 0
                     ORDER BY language"
            }
        };
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let args: Vec<&str> = feed.into_iter().collect();
        stmt.query_map(rusqlite::params_from_iter(args), |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))
    }

    /// How many items `feed` holds .
    pub fn count_in(&self, feed: Selection<'_>) -> Result<u64, StoreError> {
        let feed = feed.feed();
        let Some(feed) = feed else {
            return self.count();
        };
        self.conn
            .prepare_cached("SELECT n FROM feed_count WHERE feed = ?1")
            .and_then(|mut s| s.query_row([feed], |r| r.get::<_, i64>(0)).optional())
            .map(|n| n.unwrap_or(0).unsigned_abs())
            .map_err(|e| self.err(e))
    }

    /// Every feed that has items, sorted by id, with its item count.
    pub fn feed_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT feed, n FROM feed_count WHERE n > 0 ORDER BY feed")
            .map_err(|e| self.err(e))?;
        let counts = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.unsigned_abs())))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        Ok(counts)
    }

    /// The newest `limit` items of `feed` , in feed order.
    pub fn newest(&self, feed: Selection<'_>, limit: usize) -> Result<Vec<StoredItem>, StoreError> {
        let feed = feed.feed();
        self.in_feed_order(ITEM_COLUMNS, feed, None, limit, row_to_item)
    }

    /// The newest `limit` items of `feed`  in `language`.
    pub fn newest_in(
        &self,
        feed: Selection<'_>,
        language: &str,
        limit: usize,
    ) -> Result<Vec<StoredItem>, StoreError> {
        let feed = feed.feed();
        self.in_feed_order(ITEM_COLUMNS, feed, Some(language), limit, row_to_item)
    }

    /// The publication time (Unix seconds) of the oldest of the newest `limit` items of `feed`
    ///  in `language` (any when `None`); `None` when there are fewer.
    pub fn oldest_shown(
        &self,
        feed: Selection<'_>,
        language: Option<&str>,
        limit: usize,
    ) -> Result<Option<i64>, StoreError> {
        let feed = feed.feed();
        let times = self.in_feed_order("published_ts", feed, language, limit, |r| {
            r.get::<_, i64>(0)
        })?;
        Ok(if times.len() < limit {
            None
        } else {
            times.last().copied()
        })
    }

    /// `columns` of the newest `limit` items of `feed` , in feed order,
    /// only those in `language` if given.
    fn in_feed_order<T>(
        &self,
        columns: &str,
        feed: Option<&str>,
        language: Option<&str>,
        limit: usize,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        const ORDER: &str = "ORDER BY published_ts DESC, news_id DESC, id ASC LIMIT ?";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut filters = Vec::new();
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(feed) = feed {
            filters.push("feed = ?");
            args.push(feed.to_string().into());
        }
        if let Some(language) = language {
            filters.push("language = ?");
            args.push(language.to_string().into());
        }
        args.push(limit.into());
        let filter = if filters.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", filters.join(" AND "))
        };
        let sql = format!("SELECT {columns} FROM item {filter} {ORDER}");
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        stmt.query_map(rusqlite::params_from_iter(args), row)
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))
    }

    /// The newest change among the newest `limit` items of `feed` :
    /// what a rendered feed reports as its `updated`, without reading the items' bodies.
    pub fn newest_change(
        &self,
        feed: Selection<'_>,
        limit: usize,
    ) -> Result<Option<DateTime<FixedOffset>>, StoreError> {
        let feed = feed.feed();
        let times = self.in_feed_order("updated", feed, None, limit, |r| r.get::<_, String>(0))?;
        Ok(times
            .iter()
            .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
            .max())
    }

    /// The item whose page is `items/<page>.html`.
    pub fn item_by_page(&self, page: &str) -> Result<Option<StoredItem>, StoreError> {
        self.conn
            .prepare_cached(&format!("SELECT {ITEM_COLUMNS} FROM item WHERE page = ?1"))
            .and_then(|mut s| s.query_row([page], row_to_item).optional())
            .map_err(|e| self.err(e))
    }

    /// Archive page `page` (from 1) of `feed` : the items in the order
    /// they were first seen, `size` per page.
    pub fn archive_items(
        &self,
        feed: Selection<'_>,
        page: u64,
        size: u64,
    ) -> Result<Vec<StoredItem>, StoreError> {
        let feed = feed.feed();
        let offset = i64::try_from(page.saturating_sub(1).saturating_mul(size)).unwrap_or(i64::MAX);
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        let (sql, args): (String, Vec<rusqlite::types::Value>) = match feed {
            Some(feed) => (
                format!(
                    "SELECT {ITEM_COLUMNS} FROM item WHERE feed = ? ORDER BY id LIMIT ? OFFSET ?"
                ),
                vec![feed.to_string().into(), size.into(), offset.into()],
            ),
            None => (
                format!("SELECT {ITEM_COLUMNS} FROM item ORDER BY id LIMIT ? OFFSET ?"),
                vec![size.into(), offset.into()],
            ),
        };
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        stmt.query_map(rusqlite::params_from_iter(args), row_to_item)
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))
    }

    /// How many items the store holds.
    pub fn count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT COALESCE(SUM(n), 0) FROM feed_count", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n.unsigned_abs())
            .map_err(|e| self.err(e))
    }
}
