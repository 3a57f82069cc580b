//! Storing items: the upsert that inserts, edits or leaves an item alone, and language
//! variants (the instants of date-only items are in `instants.rs`).

use chrono::{DateTime, Datelike, FixedOffset};
use rusqlite::{OptionalExtension, ToSql, params};
use sha2::{Digest, Sha256};

use super::indexing::{self, Indexed};
use super::{Batch, StoreError};
use crate::identity;
use crate::item::Item;

/// What storing one item did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// First time this identity was seen.
    New {
        /// Its publication time, Unix seconds.
        published: i64,
    },
    /// Seen before with different content: content changed, and `updated` too when the
    /// source's input did (`edited`; else only govfeeds renders it otherwise now).
    Updated {
        /// Whether the source changed it (else it is only rendered otherwise).
        edited: bool,
        /// The feed the item was in before (it may have moved).
        feed: String,
        /// The item's language before.
        language: Option<String>,
        /// Its publication time, Unix seconds.
        published: i64,
    },
    /// Seen before in another language: the variant was recorded, the content left alone.
    Variant {
        /// The item's feed.
        feed: String,
        /// The item's language.
        language: Option<String>,
        /// Its publication time, Unix seconds.
        published: i64,
    },
    /// Seen before with identical content: nothing changed.
    Unchanged,
}

/// What the store knows of an item when it is seen again.
struct Known {
    id: i64,
    hash: String,
    published: String,
    feed: String,
    /// The language of the variant its content came from.
    variant: Option<String>,
    language: Option<String>,
    link: Option<String>,
    /// The digest of the source's input it was last stored from (none before it was kept).
    input: Option<String>,
}

impl Known {
    /// The stored publication time, Unix seconds (the far future if unreadable, so that
    /// whatever shows the item is rendered again).
    fn published_ts(&self) -> i64 {
        DateTime::parse_from_rfc3339(&self.published).map_or(i64::MAX, |t| t.timestamp())
    }
}

/// What an upsert writes, computed once.
#[derive(Clone, Copy)]
struct Row<'a> {
    item: &'a Item,
    feed: &'a str,
    source: &'a str,
    hash: &'a str,
    details: &'a Details,
    variant: Option<&'a str>,
}

impl Row<'_> {
    /// What the item's index row is made of.
    fn indexed(&self) -> Indexed {
        Indexed {
            title: self.item.title.clone(),
            content_html: self.item.content_html.clone(),
            feed: self.feed.to_string(),
            entity: self.item.entity.clone(),
            language: self.item.language.clone(),
        }
    }

    /// Runs `sql` with the named parameters of the columns an insert and an update both
    /// write, and `extra` for the rest.
    fn execute(
        &self,
        conn: &rusqlite::Connection,
        sql: &str,
        extra: &[(&str, &dyn ToSql)],
    ) -> rusqlite::Result<usize> {
        let item = self.item;
        let enclosure_url = item.enclosure.as_ref().map(|e| &e.url);
        let enclosure_type = item.enclosure.as_ref().map(|e| &e.mime_type);
        let mut params: Vec<(&str, &dyn ToSql)> = vec![
            (":link", &item.link),
            (":entity", &item.entity),
            (":news_id", &item.news_id),
            (":feed", &self.feed),
            (":title", &item.title),
            (":content_html", &item.content_html),
            (":summary", &item.summary),
            (":content_hash", &self.hash),
            (":source", &self.source),
            (":authors", &self.details.authors),
            (":categories", &self.details.categories),
            (":enclosure_url", &enclosure_url),
            (":enclosure_type", &enclosure_type),
            (":enclosure_length", &self.details.enclosure_length),
            (":language", &item.language),
            (":pinned_feed", &item.pinned_feed),
            (":title_language", &item.title_language),
            (":variant_lang", &self.variant),
            (":input_hash", &item.input_hash),
        ];
        params.extend_from_slice(extra);
        conn.prepare_cached(sql)?.execute(params.as_slice())
    }
}

/// The item's list-valued and numeric columns, as stored.
struct Details {
    authors: String,
    categories: String,
    enclosure_length: Option<i64>,
}

impl Details {
    fn of(item: &Item) -> Details {
        Details {
            authors: item.authors.join("\n"),
            categories: item.categories.join("\n"),
            enclosure_length: item
                .enclosure
                .as_ref()
                .map(|e| i64::try_from(e.length).unwrap_or(0)),
        }
    }
}

/// A digest of the parts of an item a subscriber sees.
fn content_hash(item: &Item, details: &Details) -> String {
    let mut h = Sha256::new();
    let enclosure = item
        .enclosure
        .as_ref()
        .map(|e| format!("{} {} {}", e.url, e.mime_type, e.length))
        .unwrap_or_default();
    let mut add = |part: &str| {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    };
    for part in [
        item.link.as_deref().unwrap_or(""),
        item.entity.as_deref().unwrap_or(""),
        &item.title,
        &item.content_html,
        &item.summary,
    ] {
        add(part);
    }
    // Parts added later count only when present, so items that lack them keep their hash
    // (and are not reported as updated) across upgrades.
    for (tag, part) in [
        ("authors", details.authors.as_str()),
        ("categories", &details.categories),
        ("enclosure", &enclosure),
        ("language", item.language.as_deref().unwrap_or("")),
        ("pinned", item.pinned_feed.as_deref().unwrap_or("")),
        (
            "title language",
            item.title_language.as_deref().unwrap_or(""),
        ),
    ] {
        if !part.is_empty() {
            add(tag);
            add(part);
        }
    }
    crate::text::hex(&h.finalize())
}

impl Batch<'_> {
    /// Stores `item` in `feed`: inserts it, updates its content, or leaves it alone.
    /// `now` becomes its `updated` time when its content changed.
    pub fn upsert(
        &mut self,
        item: &Item,
        feed: &str,
        source: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<Outcome, StoreError> {
        let details = Details::of(item);
        let hash = content_hash(item, &details);
        let variant = item.link.as_deref().and_then(identity::variant_language);
        let row = Row {
            item,
            feed,
            source,
            hash: &hash,
            details: &details,
            variant: variant.as_deref(),
        };
        let Some(known) = self.known(&item.key)? else {
            return self.insert(&row);
        };
        if let Some(outcome) = self.variant(&known, &row)? {
            return Ok(outcome);
        }
        if known.hash == hash {
            if known.input.is_none() {
                self.conn
                    .prepare_cached("UPDATE item SET input_hash = ?1 WHERE id = ?2")
                    .and_then(|mut s| s.execute(params![item.input_hash, known.id]))
                    .map_err(|e| self.err(e))?;
            }
            return Ok(Outcome::Unchanged);
        }
        self.update(known, &row, now)
    }

    /// What the store knows of the item keyed `key`.
    fn known(&self, key: &str) -> Result<Option<Known>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT id, content_hash, published, feed, variant_lang, language, link,
                     input_hash
                 FROM item WHERE key = ?1",
            )
            .and_then(|mut s| {
                s.query_row([key], |r| {
                    Ok(Known {
                        id: r.get(0)?,
                        hash: r.get(1)?,
                        published: r.get(2)?,
                        feed: r.get(3)?,
                        variant: r.get(4)?,
                        language: r.get(5)?,
                        link: r.get(6)?,
                        input: r.get(7)?,
                    })
                })
                .optional()
            })
            .map_err(|e| self.err(e))
    }

    /// Records `row` as a language variant of `known` when its URL names another language:
    /// the outcome when that is all it is (another language's text is an alternate, not an
    /// edit; the same text under another `lang=` URL is an edit like any other).
    fn variant(&mut self, known: &Known, row: &Row<'_>) -> Result<Option<Outcome>, StoreError> {
        let item = row.item;
        let (Some(own), Some(lang), Some(link)) = (&known.variant, row.variant, &item.link) else {
            return Ok(None);
        };
        if lang == own {
            return Ok(None);
        }
        // The first variant is recorded when a second one appears.
        if let Some(own_link) = &known.link {
            self.record_variant(known.id, own, own_link)?;
        }
        let recorded = self.record_variant(known.id, lang, link)?;
        if known.language == item.language {
            return Ok(None);
        }
        Ok(Some(if recorded {
            Outcome::Variant {
                feed: known.feed.clone(),
                language: known.language.clone(),
                published: known.published_ts(),
            }
        } else {
            Outcome::Unchanged
        }))
    }

    /// Inserts a new item, giving a date-only one its instant in the day.
    fn insert(&mut self, row: &Row<'_>) -> Result<Outcome, StoreError> {
        let item = row.item;
        let (published, day) = match item.day {
            Some(day) => (
                self.instant_in_day(day, item.news_id, item.published.timezone())?,
                Some(i64::from(day.num_days_from_ce())),
            ),
            None => (item.published, None),
        };
        let published_ts = published.timestamp();
        let published = published.to_rfc3339();
        let page = identity::page_name(&item.key);
        let search_key =
            indexing::free_key(self.conn, published_ts, &item.key).map_err(|e| self.err(e))?;
        row.execute(
            self.conn,
            "INSERT INTO item (key, guid, guid_is_permalink, page, day, published, published_ts,
                 updated, link, entity, news_id, feed, title, content_html, summary,
                 content_hash, source, authors, categories, enclosure_url, enclosure_type,
                 enclosure_length, language, pinned_feed, title_language, variant_lang,
                 input_hash, search_key)
             VALUES (:key, :guid, :guid_is_permalink, :page, :day, :published, :published_ts,
                 :published, :link, :entity, :news_id, :feed, :title, :content_html, :summary,
                 :content_hash, :source, :authors, :categories, :enclosure_url,
                 :enclosure_type, :enclosure_length, :language, :pinned_feed, :title_language,
                 :variant_lang, :input_hash, :search_key)",
            &[
                (":key", &item.key),
                (":guid", &item.guid),
                (":guid_is_permalink", &item.guid_is_permalink),
                (":page", &page),
                (":day", &day),
                (":published", &published),
                (":published_ts", &published_ts),
                (":search_key", &search_key),
            ],
        )
        .map_err(|e| self.err(e))?;
        self.index.add(search_key, row.indexed());
        if self.index.is_full() {
            self.index.write(self.conn).map_err(|e| self.err(e))?;
        }
        Ok(Outcome::New {
            published: published_ts,
        })
    }

    /// Updates a known item's content; an edit (its input changed) gets a new `updated`.
    fn update(
        &mut self,
        known: Known,
        row: &Row<'_>,
        now: DateTime<FixedOffset>,
    ) -> Result<Outcome, StoreError> {
        let item = row.item;
        let Known {
            id,
            published,
            feed: previous_feed,
            language: previous_language,
            input,
            ..
        } = known;
        // The same input rendered otherwise is no edit (nor is the first re-render of
        // an item stored before inputs were recorded).
        let edited = input.is_some_and(|input| input != item.input_hash);
        // `updated` never goes before `published`, whatever the clock says, and no two
        // edits share one (a microsecond apart at least).
        let published = DateTime::parse_from_rfc3339(&published).unwrap_or(now);
        let updated = edited.then(|| self.edit_time(now.max(published)).to_rfc3339());
        row.execute(
            self.conn,
            "UPDATE item SET link = :link, entity = :entity, news_id = :news_id, feed = :feed,
                 title = :title, content_html = :content_html, summary = :summary,
                 updated = COALESCE(:updated, updated), content_hash = :content_hash,
                 source = :source, authors = :authors, categories = :categories,
                 enclosure_url = :enclosure_url, enclosure_type = :enclosure_type,
                 enclosure_length = :enclosure_length, language = :language,
                 pinned_feed = :pinned_feed, title_language = :title_language,
                 variant_lang = COALESCE(:variant_lang, variant_lang), input_hash = :input_hash
             WHERE id = :id",
            &[(":updated", &updated), (":id", &id)],
        )
        .and_then(|_| indexing::reindex(self.conn, &mut self.index, id, row.indexed()))
        .map_err(|e| self.err(e))?;
        if previous_feed != row.feed {
            // The item left one feed for another: both feeds' archive pages change.
            self.conn
                .execute(
                    "DELETE FROM archive_page WHERE feed IN (?1, ?2)",
                    [previous_feed.as_str(), row.feed],
                )
                .map_err(|e| self.err(e))?;
        }
        Ok(Outcome::Updated {
            edited,
            feed: previous_feed,
            language: previous_language,
            published: published.timestamp(),
        })
    }

    /// `at`, or a microsecond after the last edit's time if that is not later.
    fn edit_time(&mut self, at: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
        let micros = at.timestamp_micros().max(*self.last_edit + 1);
        *self.last_edit = micros;
        DateTime::from_timestamp_micros(micros).map_or(at, |t| t.with_timezone(&at.timezone()))
    }

    /// How many items of `feed` are in `language`.
    pub fn language_count(&self, feed: &str, language: &str) -> Result<u64, StoreError> {
        self.conn
            .prepare_cached("SELECT n FROM feed_language_count WHERE feed = ?1 AND language = ?2")
            .and_then(|mut s| {
                s.query_row([feed, language], |r| r.get::<_, i64>(0))
                    .optional()
            })
            .map(|n| n.unwrap_or(0).unsigned_abs())
            .map_err(|e| self.err(e))
    }

    /// Records the `lang` variant of item `id` at `url`; whether that changed anything.
    fn record_variant(&self, id: i64, lang: &str, url: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO item_variant (item, lang, url) VALUES (?1, ?2, ?3)
                 ON CONFLICT (item, lang) DO UPDATE SET url = excluded.url
                 WHERE url <> excluded.url",
            )
            .and_then(|mut s| s.execute(params![id, lang, url]))
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }
}
