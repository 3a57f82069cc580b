//! The item store: one SQLite file under `state_dir`, in WAL mode, versioned by
//! `PRAGMA user_version` with the migrations in `migrations/`.
//!
//! Each source's batch is one transaction, so a crash leaves either all of a batch or none.
//! This file opens, checks and closes the store and holds the write batch; each family of
//! tables has a file: `items` (storing), `queries` (reading items), `sources`, `health`,
//! `archive`, `meta`, and `migrate`; `published` is what is published, `integrity` the checks.

use std::path::{Path, PathBuf};

use std::os::unix::fs::MetadataExt;

use rusqlite::Connection;

mod archive;
mod health;
mod indexing;
mod instants;
mod integrity;
mod items;
mod meta;
mod migrate;
mod published;
mod queries;
mod reclassify;
mod search;
mod sources;

pub use self::archive::KeptPage;
pub use self::health::{HealthEvent, NewHealthEvent};
pub use self::items::Outcome;
pub use self::published::{Changes, FeedChange, Pending, PublishRecord, PublishedDoc, Target};
pub use self::queries::StoredItem;
pub use self::search::{Results, SearchError};
pub use self::sources::{FileState, SourceState};

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
        migrate::migrate(&mut conn).map_err(err)?;
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
            index: indexing::Pending::default(),
        })
    }
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
    /// Index rows written when the batch commits.
    index: indexing::Pending,
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
        self.index
            .write(self.conn)
            .and_then(|()| self.conn.execute_batch("COMMIT"))
            .map_err(|e| {
                let _ = self.conn.execute_batch("ROLLBACK");
                self.err(e)
            })
    }

    /// Makes the batch durable.
    pub fn commit(mut self) -> Result<(), StoreError> {
        self.finish()
    }
}
