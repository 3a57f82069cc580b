//! Storing items: the upsert that inserts, edits or leaves an item alone, the instants of
//! date-only items, language variants, and reclassifying stored items.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{Batch, Changes, FeedChange, Store, StoreError, Target, published};
use crate::classify::Classifier;
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

impl Store {
    /// Re-classifies every item when the classification config changed since the last run.
    /// Returns how many items moved to another feed.
    pub fn reclassify(&mut self, classifier: &Classifier<'_>) -> Result<usize, StoreError> {
        let fingerprint = classifier.fingerprint();
        let current: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE name = 'classifier'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        if current.as_deref() == Some(fingerprint.as_str()) {
            return Ok(0);
        }
        let path = self.path.clone();
        let err = |source| StoreError::sqlite(&path, source);
        let tx = self.conn.transaction().map_err(err)?;
        let mut moved = 0;
        {
            let mut select = tx
                .prepare("SELECT id, entity, title, content_html, feed FROM item WHERE pinned_feed IS NULL")
                .map_err(err)?;
            let mut update = tx
                .prepare("UPDATE item SET feed = ?1 WHERE id = ?2")
                .map_err(err)?;
            let mut rows = select.query([]).map_err(err)?;
            while let Some(row) = rows.next().map_err(err)? {
                let id: i64 = row.get(0).map_err(err)?;
                let entity: Option<String> = row.get(1).map_err(err)?;
                let title: String = row.get(2).map_err(err)?;
                let body: String = row.get(3).map_err(err)?;
                let feed: String = row.get(4).map_err(err)?;
                let new_feed = classifier.feed_for(entity.as_deref(), &title, &body);
                if new_feed != feed {
                    update.execute(params![new_feed, id]).map_err(err)?;
                    moved += 1;
                }
            }
        }
        if moved > 0 {
            // Items changed feeds, so the feeds' archive pages hold other items now, and every
            // document is to be published again.
            tx.execute("DELETE FROM archive_page", []).map_err(err)?;
            let mut everything = Changes::default();
            everything.touch(Target::Everything, FeedChange::WHOLE);
            published::mark(&tx, &everything).map_err(err)?;
        }
        tx.execute(
            "INSERT INTO meta (name, value) VALUES ('classifier', ?1)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [&fingerprint],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(moved)
    }
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
        let Row {
            item,
            feed,
            source,
            hash,
            details,
            variant,
        } = *row;
        let (published, day) = match item.day {
            Some(day) => (
                self.instant_in_day(day, item.news_id, item.published.timezone())?,
                Some(i64::from(day.num_days_from_ce())),
            ),
            None => (item.published, None),
        };
        let published_ts = published.timestamp();
        let published = published.to_rfc3339();
        self.conn
            .prepare_cached(
                "INSERT INTO item (key, guid, guid_is_permalink, link, entity, news_id, feed,
                     title, content_html, summary, published, published_ts, updated,
                     content_hash, source, authors, categories, enclosure_url,
                     enclosure_type, enclosure_length, language, pinned_feed,
                     title_language, page, variant_lang, day, input_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?11, ?13, ?14,
                     ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    item.key,
                    item.guid,
                    item.guid_is_permalink,
                    item.link,
                    item.entity,
                    item.news_id,
                    feed,
                    item.title,
                    item.content_html,
                    item.summary,
                    published,
                    published_ts,
                    hash,
                    source,
                    details.authors,
                    details.categories,
                    item.enclosure.as_ref().map(|e| &e.url),
                    item.enclosure.as_ref().map(|e| &e.mime_type),
                    details.enclosure_length,
                    item.language,
                    item.pinned_feed,
                    item.title_language,
                    identity::page_name(&item.key),
                    variant,
                    day,
                    item.input_hash,
                ])
            })
            .map_err(|e| self.err(e))?;
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
        let Row {
            item,
            feed,
            source,
            hash,
            details,
            variant,
        } = *row;
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
        self.conn
            .prepare_cached(
                "UPDATE item SET link = ?1, entity = ?2, news_id = ?3, feed = ?4, title = ?5,
                     content_html = ?6, summary = ?7, updated = COALESCE(?8, updated),
                     content_hash = ?9, source = ?10, authors = ?12, categories = ?13,
                     enclosure_url = ?14, enclosure_type = ?15, enclosure_length = ?16,
                     language = ?17, pinned_feed = ?18, title_language = ?19,
                     variant_lang = COALESCE(?20, variant_lang), input_hash = ?21
                 WHERE id = ?11",
            )
            .and_then(|mut s| {
                s.execute(params![
                    item.link,
                    item.entity,
                    item.news_id,
                    feed,
                    item.title,
                    item.content_html,
                    item.summary,
                    updated,
                    hash,
                    source,
                    id,
                    details.authors,
                    details.categories,
                    item.enclosure.as_ref().map(|e| &e.url),
                    item.enclosure.as_ref().map(|e| &e.mime_type),
                    details.enclosure_length,
                    item.language,
                    item.pinned_feed,
                    item.title_language,
                    variant,
                    item.input_hash,
                ])
            })
            .map_err(|e| self.err(e))?;
        if previous_feed != feed {
            // The item left one feed for another: both feeds' archive pages change.
            self.conn
                .execute(
                    "DELETE FROM archive_page WHERE feed IN (?1, ?2)",
                    [&previous_feed, feed],
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

    /// The instant of a new item dated `day` only, with gov.kz news id `news_id`: within 05:00
    /// to 15:00 UTC of that day, so that readers from UTC−5 to UTC+9 all show that day; and
    /// between the instants of the day's items it falls between in feed order (news id
    /// descending, then first seen), so that a reader sorting by date keeps the feed's order
    /// and no two items share an instant while there is room. Items with a news id take the
    /// later half of the window, those without (last in feed order) the earlier half. Chosen
    /// once: an item keeps it.
    fn instant_in_day(
        &self,
        day: NaiveDate,
        news_id: Option<i64>,
        offset: FixedOffset,
    ) -> Result<DateTime<FixedOffset>, StoreError> {
        /// The gap left between neighbours when there is room.
        const STEP: i64 = 60;
        let midnight = day.and_time(NaiveTime::MIN).and_utc().timestamp();
        let middle = midnight + 10 * 3600;
        // The item's half of the window, as exclusive bounds.
        let (low, high) = match news_id {
            Some(_) => (middle - 1, midnight + 15 * 3600),
            None => (midnight + 5 * 3600 - 1, middle),
        };
        let number = i64::from(day.num_days_from_ce());
        let first = |sql: &str, args: &[&dyn rusqlite::ToSql]| {
            self.conn
                .prepare_cached(sql)
                .and_then(|mut s| {
                    s.query_row(args, |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
                    })
                    .optional()
                })
                .map_err(|e| self.err(e))
        };
        // The neighbours: the item just above (later) and just below (earlier) in feed order.
        let (above, below) = match news_id {
            Some(id) => (
                first(
                    "SELECT published_ts, news_id FROM item WHERE day = ?1 AND news_id >= ?2
                     ORDER BY news_id ASC, id DESC LIMIT 1",
                    &[&number, &id],
                )?,
                first(
                    "SELECT published_ts, news_id FROM item WHERE day = ?1
                         AND (news_id < ?2 OR news_id IS NULL)
                     ORDER BY news_id IS NULL, news_id DESC, id ASC LIMIT 1",
                    &[&number, &id],
                )?,
            ),
            None => (
                first(
                    "SELECT published_ts, news_id FROM item WHERE day = ?1
                     ORDER BY news_id IS NULL DESC, news_id ASC, id DESC LIMIT 1",
                    &[&number],
                )?,
                None,
            ),
        };
        let hi = above.map_or(high, |(t, _)| t.min(high));
        let lo = below.map_or(low, |(t, _)| t.max(low));
        let room = hi - lo;
        let step = STEP.min(room / 2).max(0);
        let ts = match news_id {
            None => match above {
                // The day's first item without a news id: the top of the earlier half.
                None | Some((_, Some(_))) => high - 1,
                // Later ones: below the last.
                Some(_) => hi - step,
            },
            Some(n) => match (above, below) {
                // The day's first news: the middle of its half, room both ways.
                (None, None) | (None, Some((_, None))) => (lo + hi) / 2,
                // Between two news: as far from each as their ids are.
                (Some((_, Some(a))), Some((_, Some(b)))) if a > b && room >= 2 => {
                    lo + (room * (n - b) / (a - b)).clamp(1, room - 1)
                }
                (Some(_), _) => hi - step,
                (None, Some(_)) => lo + step,
            },
        };
        let ts = ts.clamp(low + 1, high - 1);
        Ok(DateTime::from_timestamp(ts, 0)
            .unwrap_or_default()
            .with_timezone(&offset))
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
