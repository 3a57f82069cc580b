//! The item store: one SQLite file under `state_dir`, in WAL mode, versioned by
//! `PRAGMA user_version` with the migrations in `migrations/`.
//!
//! Each source's batch is one transaction, so a crash leaves either all of a batch or none.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime};
use std::os::unix::fs::MetadataExt;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

mod integrity;
mod published;

pub use self::published::{Changes, FeedChange, Pending, PublishRecord, PublishedDoc, Target};

use crate::classify::Classifier;
use crate::identity;
use crate::item::{Enclosure, Item};

/// Migrations in order; entry `n` brings the schema to version `n + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_items.sql"),
    include_str!("migrations/0002_source_files.sql"),
    include_str!("migrations/0003_source_state.sql"),
    include_str!("migrations/0004_item_details.sql"),
    include_str!("migrations/0005_feed_counts.sql"),
    include_str!("migrations/0006_title_language.sql"),
    include_str!("migrations/0007_pages_archives_health.sql"),
    include_str!("migrations/0008_created.sql"),
    include_str!("migrations/0009_date_repair.sql"),
    include_str!("migrations/0010_publish_state.sql"),
    include_str!("migrations/0011_day_instants.sql"),
    include_str!("migrations/0012_reader_version.sql"),
];

/// File name of the database inside `state_dir`.
pub const DB_FILE: &str = "govfeeds.sqlite3";

/// The `meta` entry holding the rendering fingerprint of the last complete publish.
pub const PUBLISHED: &str = "published";

/// The `meta` entry holding publishing's error while documents cannot be published.
pub const PUBLISH_FAILING: &str = "publish failing";

/// A store error, with the database path.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("item store {}: {source}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The error.
        #[source]
        source: rusqlite::Error,
    },
    /// The database file is damaged.
    #[error(
        "item store {} is damaged ({detail}); restore it from a backup, or move it aside and \
         run `govfeeds build` to rebuild it from the sources (dump items come back with the \
         same GUIDs; feed items only as far as the upstreams still carry them)",
        path.display()
    )]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// What SQLite reported.
        detail: String,
    },
    /// The database file was deleted or replaced by another file while it was open.
    #[error(
        "item store {} was {} while govfeeds had it open; nothing more is written to the old \
         file, and the store is opened again",
        path.display(),
        if *deleted { "deleted" } else { "replaced" }
    )]
    Gone {
        /// The database file.
        path: PathBuf,
        /// Deleted (else replaced).
        deleted: bool,
    },
}

impl StoreError {
    /// A SQLite error on `path`; corruption is reported as [`StoreError::Damaged`].
    fn sqlite(path: &Path, source: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
        match source.sqlite_error_code() {
            Some(DatabaseCorrupt | NotADatabase) => StoreError::Damaged {
                path: path.to_path_buf(),
                detail: source.to_string(),
            },
            _ => StoreError::Sqlite {
                path: path.to_path_buf(),
                source,
            },
        }
    }

    /// Whether the error is about the file itself (damaged, deleted, replaced) rather than
    /// one statement: the store must be opened again before it can be trusted.
    pub fn needs_reopen(&self) -> bool {
        matches!(self, StoreError::Damaged { .. } | StoreError::Gone { .. })
    }
}

/// The open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Device and inode of the file opened, to notice it being deleted or replaced.
    file_id: (u64, u64),
    /// Whether this is the writer (not a read-only connection).
    writer: bool,
    /// The last `updated` time given to an edited item, microseconds.
    last_edit: i64,
}

impl Drop for Store {
    fn drop(&mut self) {
        self.empty_log_if_gone();
    }
}

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

/// What the store remembers of an ingested file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    /// Size in bytes.
    pub size: i64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// The [`crate::source::READER_VERSION`] that read it.
    pub reader: i64,
}

/// What the store remembers of a source between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceState {
    /// `ETag` of the last fetched body.
    pub etag: Option<String>,
    /// `Last-Modified` of the last fetched body.
    pub last_modified: Option<String>,
    /// When the source last succeeded.
    pub last_success: Option<DateTime<chrono::Utc>>,
    /// The last error, when the last run failed.
    pub last_error: Option<String>,
    /// Failed runs since the last success.
    pub consecutive_failures: u32,
}

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

/// A rendered archive page kept in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptPage {
    /// The document.
    pub bytes: Vec<u8>,
    /// When its newest item last changed.
    pub modified: DateTime<FixedOffset>,
}

/// A health event to record with a source's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHealthEvent {
    /// When it happened.
    pub at: DateTime<FixedOffset>,
    /// Whether the source started failing (else it recovered).
    pub failing: bool,
    /// The error, or what the recovery followed.
    pub message: String,
}

/// A source health event: a source started failing, or recovered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthEvent {
    /// Sequence number (the entry id).
    pub id: i64,
    /// The source's name.
    pub source: String,
    /// When it happened.
    pub at: DateTime<FixedOffset>,
    /// Whether the source started failing (else it recovered).
    pub failing: bool,
    /// The error, or what the recovery followed.
    pub message: String,
}

/// The columns [`row_to_item`] reads, in order.
const ITEM_COLUMNS: &str = "guid, guid_is_permalink, link, entity, feed, title, content_html, \
    summary, published, updated, authors, categories, enclosure_url, enclosure_type, \
    enclosure_length, language, title_language, page, variant_lang, \
    (SELECT group_concat(lang || ' ' || url, char(10)) FROM item_variant \
     WHERE item_variant.item = item.id AND item_variant.lang IS NOT item.variant_lang), \
    published_ts";

impl Store {
    /// Opens (creating if needed) the store in `state_dir`, checks its integrity
    /// (`PRAGMA quick_check`, unless the file is as the last clean close left it) and applies
    /// pending migrations.
    pub fn open(state_dir: &Path) -> Result<Store, StoreError> {
        let path = state_dir.join(DB_FILE);
        let err = |source| StoreError::sqlite(&path, source);
        let clean = integrity::closed_cleanly(&path);
        let mut conn = Connection::open(&path).map_err(err)?;
        let file_id = file_id(&path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        // Room for the indexes' hot pages (item pages are keyed by hash, so inserts land all
        // over that index): 32 MiB, used only as the database grows.
        conn.pragma_update(None, "cache_size", -32768)
            .map_err(err)?;
        if !clean {
            integrity::quick_check(&conn).map_err(|detail| StoreError::Damaged {
                path: path.clone(),
                detail,
            })?;
        }
        migrate(&mut conn).map_err(err)?;
        Ok(Store {
            conn,
            path,
            file_id,
            writer: true,
            last_edit: 0,
        })
    }

    /// Closes the store. The writer, when it is the last connection, records the clean
    /// close, so that the next open can skip the integrity check.
    pub fn close(mut self) -> Result<(), StoreError> {
        let gone = self.empty_log_if_gone();
        let memory = Connection::open_in_memory().map_err(|e| self.err(e))?;
        let conn = std::mem::replace(&mut self.conn, memory);
        conn.close().map_err(|(_, e)| self.err(e))?;
        if self.writer && !gone {
            integrity::record_close(&self.path);
        }
        Ok(())
    }

    /// Opens an existing store read-only, as the server does beside the builds. Never
    /// migrates: the engine opened it first.
    pub fn open_reader(state_dir: &Path) -> Result<Store, StoreError> {
        let path = state_dir.join(DB_FILE);
        let err = |source| StoreError::sqlite(&path, source);
        let conn = Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(2))
            .map_err(err)?;
        let file_id = file_id(&path).map_err(err)?;
        Ok(Store {
            conn,
            path,
            file_id,
            writer: false,
            last_edit: 0,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Fails when the database file was deleted or replaced since it was opened: writing on
    /// would go to a file nobody will ever read again.
    pub fn check_file(&self) -> Result<(), StoreError> {
        match std::fs::metadata(&self.path) {
            Ok(meta) if (meta.dev(), meta.ino()) == self.file_id => Ok(()),
            Ok(_) => Err(StoreError::Gone {
                path: self.path.clone(),
                deleted: false,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::Gone {
                path: self.path.clone(),
                deleted: true,
            }),
            // Unreadable for another reason: the next statement will say why.
            Err(_) => Ok(()),
        }
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::sqlite(&self.path, source)
    }

    /// When the file was deleted or replaced while open, empties this connection's
    /// write-ahead log before it closes: the next connection to the path would otherwise replay
    /// the old file's log into the new file. Whether it was gone.
    fn empty_log_if_gone(&self) -> bool {
        let gone = self.check_file().is_err();
        if gone {
            let _ = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
        gone
    }

    /// Starts a batch: everything stored through it lands in one transaction, or in several
    /// consecutive ones when it is [`Batch::checkpoint`]ed.
    pub fn batch(&mut self) -> Result<Batch<'_>, StoreError> {
        self.conn.execute_batch("BEGIN").map_err(|e| self.err(e))?;
        Ok(Batch {
            conn: &self.conn,
            path: &self.path,
            open: true,
            last_edit: &mut self.last_edit,
        })
    }

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

    /// The languages `feed` (every feed when `None`) has items in, sorted.
    pub fn languages_in(&self, feed: Option<&str>) -> Result<Vec<String>, StoreError> {
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

    /// How many items `feed` holds (every feed when `None`).
    pub fn count_in(&self, feed: Option<&str>) -> Result<u64, StoreError> {
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

    /// The newest `limit` items of `feed` (every feed when `None`), in feed order.
    pub fn newest(&self, feed: Option<&str>, limit: usize) -> Result<Vec<StoredItem>, StoreError> {
        self.in_feed_order(ITEM_COLUMNS, feed, None, limit, row_to_item)
    }

    /// The newest `limit` items of `feed` (every feed when `None`) in `language`.
    pub fn newest_in(
        &self,
        feed: Option<&str>,
        language: &str,
        limit: usize,
    ) -> Result<Vec<StoredItem>, StoreError> {
        self.in_feed_order(ITEM_COLUMNS, feed, Some(language), limit, row_to_item)
    }

    /// The publication time (Unix seconds) of the oldest of the newest `limit` items of `feed`
    /// (every feed when `None`) in `language` (any when `None`); `None` when there are fewer.
    pub fn oldest_shown(
        &self,
        feed: Option<&str>,
        language: Option<&str>,
        limit: usize,
    ) -> Result<Option<i64>, StoreError> {
        let times = self.in_feed_order("published_ts", feed, language, limit, |r| {
            r.get::<_, i64>(0)
        })?;
        Ok(if times.len() < limit {
            None
        } else {
            times.last().copied()
        })
    }

    /// `columns` of the newest `limit` items of `feed` (every feed when `None`), in feed order,
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

    /// The remembered state of `source` (default when never run).
    pub fn source_state(&self, source: &str) -> Result<SourceState, StoreError> {
        self.conn
            .query_row(
                "SELECT etag, last_modified, last_success, last_error, consecutive_failures
                 FROM source_state WHERE source = ?1",
                [source],
                |r| {
                    let success: Option<String> = r.get(2)?;
                    Ok(SourceState {
                        etag: r.get(0)?,
                        last_modified: r.get(1)?,
                        last_success: success
                            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                            .map(|t| t.with_timezone(&chrono::Utc)),
                        last_error: r.get(3)?,
                        consecutive_failures: r.get(4)?,
                    })
                },
            )
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(|e| self.err(e))
    }

    /// Remembers the state of `source` and, in the same transaction, the health `event` its
    /// run caused (it started failing, or recovered).
    pub fn set_source_state(
        &self,
        source: &str,
        state: &SourceState,
        event: Option<&NewHealthEvent>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute(
            "INSERT INTO source_state
                 (source, etag, last_modified, last_success, last_error, consecutive_failures)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (source) DO UPDATE SET etag = excluded.etag,
                 last_modified = excluded.last_modified, last_success = excluded.last_success,
                 last_error = excluded.last_error,
                 consecutive_failures = excluded.consecutive_failures",
            params![
                source,
                state.etag,
                state.last_modified,
                state.last_success.map(|t| t.to_rfc3339()),
                state.last_error,
                state.consecutive_failures,
            ],
        )
        .map_err(|e| self.err(e))?;
        if let Some(event) = event {
            tx.execute(
                "INSERT INTO health_event (source, at, failing, message) VALUES (?1, ?2, ?3, ?4)",
                params![source, event.at.to_rfc3339(), event.failing, event.message],
            )
            .map_err(|e| self.err(e))?;
            // The health feed shows it.
            let mut site = Changes::default();
            site.touch(Target::Site, FeedChange::WHOLE);
            published::mark(&tx, &site).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Records a health event of publishing itself, and the error it is failing with (`None`:
    /// it recovered), in one transaction.
    pub fn record_publish_health(
        &self,
        source: &str,
        event: &NewHealthEvent,
        failing: Option<&str>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute(
            "INSERT INTO health_event (source, at, failing, message) VALUES (?1, ?2, ?3, ?4)",
            params![source, event.at.to_rfc3339(), event.failing, event.message],
        )
        .map_err(|e| self.err(e))?;
        match failing {
            Some(error) => tx.execute(
                "INSERT INTO meta (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                [PUBLISH_FAILING, error],
            ),
            None => tx.execute("DELETE FROM meta WHERE name = ?1", [PUBLISH_FAILING]),
        }
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// The `updated` time `feed` was last published with.
    pub fn published_updated(
        &self,
        feed: &str,
    ) -> Result<Option<DateTime<FixedOffset>>, StoreError> {
        let text: Option<String> = self
            .conn
            .prepare_cached("SELECT updated FROM feed_published WHERE feed = ?1")
            .and_then(|mut s| s.query_row([feed], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))?;
        Ok(text.and_then(|t| DateTime::parse_from_rfc3339(&t).ok()))
    }

    /// When the store was created: the `updated` time of a feed with no items (the Unix
    /// epoch if the record is unreadable).
    pub fn created(&self) -> Result<DateTime<FixedOffset>, StoreError> {
        Ok(self
            .meta("created")?
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .unwrap_or_else(|| DateTime::UNIX_EPOCH.fixed_offset()))
    }

    /// A named value from the `meta` table.
    pub fn meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Sets a named value in the `meta` table.
    pub fn set_meta(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO meta (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                [name, value],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// The newest change among the newest `limit` items of `feed` (every feed when `None`):
    /// what a rendered feed reports as its `updated`, without reading the items' bodies.
    pub fn newest_change(
        &self,
        feed: Option<&str>,
        limit: usize,
    ) -> Result<Option<DateTime<FixedOffset>>, StoreError> {
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

    /// Archive page `page` (from 1) of `feed` (every feed when `None`): the items in the order
    /// they were first seen, `size` per page.
    pub fn archive_items(
        &self,
        feed: Option<&str>,
        page: u64,
        size: u64,
    ) -> Result<Vec<StoredItem>, StoreError> {
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

    /// A kept (full, hence final) archive page: its bytes and when it was kept.
    pub fn kept_archive(&self, feed: &str, page: u64) -> Result<Option<KeptPage>, StoreError> {
        let row: Option<(Vec<u8>, String)> = self
            .conn
            .prepare_cached(
                "SELECT bytes, modified FROM archive_page WHERE feed = ?1 AND page = ?2",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![feed, i64::try_from(page).unwrap_or(i64::MAX)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
            })
            .map_err(|e| self.err(e))?;
        Ok(row.and_then(|(bytes, modified)| {
            let modified = DateTime::parse_from_rfc3339(&modified).ok()?;
            Some(KeptPage { bytes, modified })
        }))
    }

    /// Keeps a full archive page so it is served unchanged from now on.
    pub fn keep_archive(
        &self,
        feed: &str,
        page: u64,
        bytes: &[u8],
        modified: DateTime<FixedOffset>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO archive_page (feed, page, bytes, modified) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (feed, page) DO NOTHING",
            )
            .and_then(|mut s| {
                s.execute(params![
                    feed,
                    i64::try_from(page).unwrap_or(i64::MAX),
                    bytes,
                    modified.to_rfc3339()
                ])
            })
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// The newest `limit` health events, newest first.
    pub fn health_events(&self, limit: usize) -> Result<Vec<HealthEvent>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, source, at, failing, message FROM health_event ORDER BY id DESC LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get::<_, String>(2)?,
                    r.get(3)?,
                    r.get(4)?,
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, source, at, failing, message)| {
                Some(HealthEvent {
                    id,
                    source,
                    at: DateTime::parse_from_rfc3339(&at).ok()?,
                    failing,
                    message,
                })
            })
            .collect())
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

fn row_to_item(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredItem> {
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

/// Device and inode of the file at `path`.
fn file_id(path: &Path) -> rusqlite::Result<(u64, u64)> {
    let meta = std::fs::metadata(path).map_err(|e| {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!("{}: {e}", path.display())),
        )
    })?;
    Ok((meta.dev(), meta.ino()))
}

/// The schema version that gave items pages: the items stored before it get theirs then.
const PAGES_VERSION: i64 = 7;

/// Names the pages of items stored before items had pages.
fn name_pages(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let mut select = tx.prepare("SELECT id, key FROM item WHERE page IS NULL")?;
    let mut update = tx.prepare("UPDATE item SET page = ?1 WHERE id = ?2")?;
    let mut rows = select.query([])?;
    while let Some(row) = rows.next()? {
        let (id, key): (i64, String) = (row.get(0)?, row.get(1)?);
        update.execute(params![identity::page_name(&key), id])?;
    }
    Ok(())
}

/// The schema version that repairs dates outside the plausible range.
const DATE_REPAIR_VERSION: i64 = 9;

/// Dates every item whose publication time is implausible (or unreadable) when the repair
/// runs, and keeps `updated` readable and not before it. The archive pages kept for the
/// feeds of such items are dropped, to be rendered again with the repaired dates.
fn repair_dates(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let now = chrono::Utc::now().fixed_offset();
    let now = now - chrono::Duration::nanoseconds(now.timestamp_subsec_nanos().into());
    let mut select = tx.prepare("SELECT id, published, updated, feed FROM item")?;
    let mut update = tx
        .prepare("UPDATE item SET published = ?1, published_ts = ?2, updated = ?3 WHERE id = ?4")?;
    let mut feeds = std::collections::BTreeSet::new();
    let mut rows = select.query([])?;
    while let Some(row) = rows.next()? {
        let (id, published, updated, feed): (i64, String, String, String) =
            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
        let read = |t: &str| DateTime::parse_from_rfc3339(t).ok();
        let (fixed_published, fixed_updated) = match read(&published) {
            Some(p) if crate::item::plausible(p, now) => {
                match read(&updated).filter(|u| *u >= p && crate::item::plausible(*u, now)) {
                    Some(_) => continue,
                    None => (p, p),
                }
            }
            p => {
                let at = now.with_timezone(&p.map_or(now.timezone(), |p| p.timezone()));
                (at, at)
            }
        };
        update.execute(params![
            fixed_published.to_rfc3339(),
            fixed_published.timestamp(),
            fixed_updated.to_rfc3339(),
            id
        ])?;
        feeds.insert(feed);
    }
    for feed in feeds {
        tx.execute(
            "DELETE FROM archive_page WHERE feed IN (?1, ?2)",
            [feed.as_str(), crate::config::COMBINED_ID],
        )?;
    }
    tx.execute("DELETE FROM feed_published", [])?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in (1..).zip(MIGRATIONS).skip_while(|(i, _)| *i <= version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if i == PAGES_VERSION {
            name_pages(&tx)?;
        }
        if i == DATE_REPAIR_VERSION {
            repair_dates(&tx)?;
        }
        tx.pragma_update(None, "user_version", i)?;
        tx.commit()?;
    }
    Ok(())
}

/// A batch of items stored in one transaction (or, checkpointed, in consecutive ones);
/// dropped without [`Batch::commit`], what was stored since the last checkpoint is rolled
/// back.
pub struct Batch<'a> {
    conn: &'a Connection,
    path: &'a Path,
    /// Whether a transaction is open (to roll back on drop).
    open: bool,
    /// The last `updated` time given to an edited item, microseconds: each edit gets its own.
    last_edit: &'a mut i64,
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl Batch<'_> {
    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::sqlite(self.path, source)
    }

    /// Makes what was stored so far durable and goes on in a new transaction, so that a long
    /// ingest interrupted later keeps its work up to here.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        self.finish()?;
        self.conn.execute_batch("BEGIN").map_err(|e| self.err(e))?;
        self.open = true;
        Ok(())
    }

    /// Commits the open transaction; if that fails (a full disk), rolls it back.
    fn finish(&mut self) -> Result<(), StoreError> {
        self.open = false;
        self.conn.execute_batch("COMMIT").map_err(|e| {
            let _ = self.conn.execute_batch("ROLLBACK");
            self.err(e)
        })
    }

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
        let existing: Option<Known> = self
            .conn
            .prepare_cached(
                "SELECT id, content_hash, published, feed, variant_lang, language, link,
                     input_hash
                 FROM item WHERE key = ?1",
            )
            .and_then(|mut s| {
                s.query_row([&item.key], |r| {
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
            .map_err(|e| self.err(e))?;
        if let Some(known) = &existing
            && let (Some(own), Some(lang), Some(link)) = (&known.variant, &variant, &item.link)
            && lang != own
        {
            // The first variant is recorded when a second one appears.
            if let Some(own_link) = &known.link {
                self.record_variant(known.id, own, own_link)?;
            }
            let recorded = self.record_variant(known.id, lang, link)?;
            // Another language's version of the same news is an alternate, not an edit; the
            // same text under another `lang=` URL is an edit like any other.
            if known.language != item.language {
                return Ok(if recorded {
                    Outcome::Variant {
                        feed: known.feed.clone(),
                        language: known.language.clone(),
                        published: known.published_ts(),
                    }
                } else {
                    Outcome::Unchanged
                });
            }
        }
        match existing {
            None => {
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
            Some(known) if known.hash == hash => {
                if known.input.is_none() {
                    self.conn
                        .prepare_cached("UPDATE item SET input_hash = ?1 WHERE id = ?2")
                        .and_then(|mut s| s.execute(params![item.input_hash, known.id]))
                        .map_err(|e| self.err(e))?;
                }
                Ok(Outcome::Unchanged)
            }
            Some(Known {
                id,
                published,
                feed: previous_feed,
                language: previous_language,
                input,
                ..
            }) => {
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
        }
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

    /// What was recorded for `path` of `source` when it was last ingested.
    pub fn file_state(&self, source: &str, path: &str) -> Result<Option<FileState>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT size, mtime_ns, sha256, reader FROM source_file
                 WHERE source = ?1 AND path = ?2",
            )
            .and_then(|mut s| {
                s.query_row([source, path], |r| {
                    Ok(FileState {
                        size: r.get(0)?,
                        mtime_ns: r.get(1)?,
                        sha256: r.get(2)?,
                        reader: r.get(3)?,
                    })
                })
                .optional()
            })
            .map_err(|e| self.err(e))
    }

    /// Records that `path` of `source` was ingested in `state`.
    pub fn record_file(
        &mut self,
        source: &str,
        path: &str,
        state: &FileState,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO source_file (source, path, size, mtime_ns, sha256, reader)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (source, path) DO UPDATE
                 SET size = excluded.size, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256,
                     reader = excluded.reader",
            )
            .and_then(|mut s| {
                s.execute(params![
                    source,
                    path,
                    state.size,
                    state.mtime_ns,
                    state.sha256,
                    state.reader
                ])
            })
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Remembers the HTTP validators of a fetched body under `key` (a source, or a source's
    /// entity), in the same transaction as the items that came from it.
    pub fn save_validators(
        &mut self,
        key: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO source_state (source, etag, last_modified) VALUES (?1, ?2, ?3)
                 ON CONFLICT (source) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified",
            )
            .and_then(|mut s| s.execute(params![key, etag, last_modified]))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Makes the batch durable.
    pub fn commit(mut self) -> Result<(), StoreError> {
        self.finish()
    }
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
