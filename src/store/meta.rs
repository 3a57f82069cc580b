//! Meta values: the store's creation time, publish fingerprint and state, and the like.

use super::{Store, StoreError};
use chrono::{DateTime, FixedOffset};
use rusqlite::OptionalExtension;

impl Store {
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
}
