//! The publish state: which targets the published documents lag behind (`publish_pending`,
//! written in the transaction of the change that reaches them) and what was last written for
//! each document (`published_doc`). A publish reads the first, renders, writes, and records
//! both in one transaction; whatever fails stays pending, so a later publish redoes it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Batch, Store, StoreError};

/// A group of documents rendered together from one selection of items.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// A feed's own documents: RSS, Atom, JSON Feed and its page.
    Feed(String),
    /// A feed's items in one language: `feeds/<id>.<lang>.atom`.
    Language(String, String),
    /// The index page, the OPML and the health feed.
    Site,
    /// Every document.
    Everything,
}

/// `feed` column values of the targets that are not a feed.
const SITE: &str = "_site";
const EVERYTHING: &str = "*";

impl Target {
    fn columns(&self) -> (&str, &str) {
        match self {
            Target::Feed(feed) => (feed, ""),
            Target::Language(feed, lang) => (feed, lang),
            Target::Site => (SITE, ""),
            Target::Everything => (EVERYTHING, ""),
        }
    }

    fn from_columns(feed: String, language: String) -> Target {
        match (feed.as_str(), language.is_empty()) {
            (SITE, true) => Target::Site,
            (EVERYTHING, true) => Target::Everything,
            (_, true) => Target::Feed(feed),
            (_, false) => Target::Language(feed, language),
        }
    }
}

/// What changed in a target since it was last published.
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
    /// A change that reaches every document of its target (a file went missing, a write
    /// failed): the target is rendered whatever it shows.
    pub const WHOLE: FeedChange = FeedChange {
        newest: i64::MAX,
        added: 0,
        moved: true,
    };

    /// Folds another change of the same target into this one.
    pub fn merge(&mut self, other: FeedChange) {
        self.newest = self.newest.max(other.newest);
        self.added += other.added;
        self.moved |= other.moved;
    }
}

/// Changes gathered while storing items, to be marked pending with them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    targets: BTreeMap<Target, FeedChange>,
}

impl Changes {
    /// Notes `change` in `target`.
    pub fn touch(&mut self, target: Target, change: FeedChange) {
        self.targets.entry(target).or_default().merge(change);
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Folds `other` into these changes.
    pub fn merge(&mut self, other: Changes) {
        for (target, change) in other.targets {
            self.touch(target, change);
        }
    }

    /// The targets changed.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.targets.keys()
    }
}

/// A target the published documents lag behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The target.
    pub target: Target,
    /// What changed in it.
    pub change: FeedChange,
    /// When it first fell behind.
    pub since: DateTime<Utc>,
}

/// A document as last written to `output_dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedDoc {
    /// Path under `output_dir`.
    pub path: String,
    /// The target it was rendered from.
    pub target: Target,
    /// SHA-256 of the bytes written, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: i64,
    /// Modification time of the file written, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
}

/// What one publish did, to be recorded in one transaction.
#[derive(Debug, Default)]
pub struct PublishRecord {
    /// Targets whose documents are all published now.
    pub done: Vec<Target>,
    /// Targets that failed, pending (again) in full.
    pub failed: Vec<Target>,
    /// Documents written or confirmed.
    pub documents: Vec<PublishedDoc>,
    /// Paths removed from `output_dir`.
    pub removed: Vec<String>,
    /// Each feed rendered, with the `updated` time it was published with.
    pub feed_updated: Vec<(String, DateTime<chrono::FixedOffset>)>,
    /// The rendering fingerprint every document now follows, after a complete publish.
    pub fingerprint: Option<String>,
}

const UPSERT_PENDING: &str =
    "INSERT INTO publish_pending (feed, language, newest, added, moved, since)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (feed, language) DO UPDATE SET newest = max(newest, excluded.newest),
         added = added + excluded.added, moved = moved OR excluded.moved";

fn upsert_pending(
    conn: &rusqlite::Connection,
    target: &Target,
    change: FeedChange,
    now: &str,
) -> rusqlite::Result<()> {
    let (feed, language) = target.columns();
    conn.prepare_cached(UPSERT_PENDING)?.execute(params![
        feed,
        language,
        change.newest,
        i64::try_from(change.added).unwrap_or(i64::MAX),
        change.moved,
        now
    ])?;
    Ok(())
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Marks the targets of `changes` pending on `conn`, in the transaction it is in.
pub(super) fn mark(conn: &rusqlite::Connection, changes: &Changes) -> rusqlite::Result<()> {
    let now = now_text();
    for (target, change) in &changes.targets {
        upsert_pending(conn, target, *change, &now)?;
    }
    Ok(())
}

impl Batch<'_> {
    /// Marks the targets of `changes` pending, in this batch's transaction.
    pub fn mark_pending(&mut self, changes: &Changes) -> Result<(), StoreError> {
        mark(self.conn, changes).map_err(|e| self.err(e))
    }
}

impl Store {
    /// Marks the targets of `changes` pending, in a transaction of its own.
    pub fn mark_pending(&self, changes: &Changes) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        mark(&tx, changes).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// Every pending target, oldest first.
    pub fn pending(&self) -> Result<Vec<Pending>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT feed, language, newest, added, moved, since FROM publish_pending
                 ORDER BY since, feed, language",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map([], |r| {
            let since: String = r.get(5)?;
            Ok(Pending {
                target: Target::from_columns(r.get(0)?, r.get(1)?),
                change: FeedChange {
                    newest: r.get(2)?,
                    added: r.get::<_, i64>(3)?.unsigned_abs(),
                    moved: r.get(4)?,
                },
                since: DateTime::parse_from_rfc3339(&since)
                    .map_or_else(|_| Utc::now(), |t| t.to_utc()),
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// Every document as last written.
    pub fn published_docs(&self) -> Result<Vec<PublishedDoc>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT path, feed, language, sha256, size, mtime_ns FROM published_doc
                 ORDER BY path",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map([], |r| {
            Ok(PublishedDoc {
                path: r.get(0)?,
                target: Target::from_columns(r.get(1)?, r.get(2)?),
                sha256: r.get(3)?,
                size: r.get(4)?,
                mtime_ns: r.get(5)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// Records a publish: its done targets leave the pending list (all of them, when
    /// [`Target::Everything`] is among them), its failed ones are pending in full, and its
    /// documents, removals and feed times are remembered.
    pub fn record_publish(&self, record: &PublishRecord) -> Result<(), StoreError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let run = || -> rusqlite::Result<()> {
            if record.done.contains(&Target::Everything) {
                tx.execute("DELETE FROM publish_pending", [])?;
            } else {
                let mut delete = tx.prepare_cached(
                    "DELETE FROM publish_pending WHERE feed = ?1 AND language = ?2",
                )?;
                for target in &record.done {
                    let (feed, language) = target.columns();
                    delete.execute([feed, language])?;
                }
            }
            let now = now_text();
            for target in &record.failed {
                upsert_pending(&tx, target, FeedChange::WHOLE, &now)?;
            }
            let mut upsert = tx.prepare_cached(
                "INSERT INTO published_doc (path, feed, language, sha256, size, mtime_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (path) DO UPDATE SET feed = excluded.feed,
                     language = excluded.language, sha256 = excluded.sha256,
                     size = excluded.size, mtime_ns = excluded.mtime_ns
                 WHERE sha256 <> excluded.sha256 OR size <> excluded.size
                     OR mtime_ns <> excluded.mtime_ns",
            )?;
            for doc in &record.documents {
                let (feed, language) = doc.target.columns();
                upsert.execute(params![
                    doc.path,
                    feed,
                    language,
                    doc.sha256,
                    doc.size,
                    doc.mtime_ns
                ])?;
            }
            let mut remove = tx.prepare_cached("DELETE FROM published_doc WHERE path = ?1")?;
            for path in &record.removed {
                remove.execute([path])?;
            }
            let mut updated = tx.prepare_cached(
                "INSERT INTO feed_published (feed, updated) VALUES (?1, ?2)
                 ON CONFLICT (feed) DO UPDATE SET updated = excluded.updated
                 WHERE updated <> excluded.updated",
            )?;
            for (feed, time) in &record.feed_updated {
                updated.execute(params![feed, time.to_rfc3339()])?;
            }
            if let Some(fingerprint) = &record.fingerprint {
                tx.execute(
                    "INSERT INTO meta (name, value) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    [super::PUBLISHED, fingerprint],
                )?;
            }
            Ok(())
        };
        run().map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }
}
