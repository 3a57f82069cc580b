//! What the store remembers of sources: dump files read, HTTP validators, health state.

use super::{Batch, Changes, FeedChange, NewHealthEvent, Store, StoreError, Target, published};
use chrono::DateTime;
use rusqlite::{OptionalExtension, params};

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

impl Store {
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
}

impl Batch<'_> {
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
}
