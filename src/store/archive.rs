//! Full RFC 5005 archive pages, kept once rendered: they never change.

use super::{Store, StoreError};
use chrono::{DateTime, FixedOffset};
use rusqlite::{OptionalExtension, params};

/// A rendered archive page kept in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptPage {
    /// The document.
    pub bytes: Vec<u8>,
    /// When its newest item last changed.
    pub modified: DateTime<FixedOffset>,
}

impl Store {
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
}
