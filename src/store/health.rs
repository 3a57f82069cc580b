//! Health events: what the health feed shows (sources failing and recovering, publishing).

use super::{PUBLISH_FAILING, Store, StoreError};
use chrono::{DateTime, FixedOffset};
use rusqlite::params;

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

impl Store {
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
}
