//! Schema migrations (`migrations/*.sql`, by `PRAGMA user_version`) and the data repairs that
//! go with some of them.

use chrono::DateTime;
use rusqlite::{Connection, Transaction, params};

use crate::identity;

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
    include_str!("migrations/0013_search.sql"),
    include_str!("migrations/0014_day_instants_covered.sql"),
    include_str!("migrations/0015_search_fields.sql"),
];

pub(super) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
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
        if i == SEARCH_VERSION {
            super::indexing::assign_keys(&tx)?;
        }
        if i == SEARCH_FIELDS_VERSION {
            super::indexing::index_all(&tx)?;
        }
        tx.pragma_update(None, "user_version", i)?;
        tx.commit()?;
    }
    Ok(())
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

/// The schema version that brings the full-text index: every item stored before gets its
/// search key (and is indexed by [`SEARCH_FIELDS_VERSION`]).
const SEARCH_VERSION: i64 = 13;

/// The schema version whose index rows carry the items' fields: the index is built anew.
const SEARCH_FIELDS_VERSION: i64 = 15;

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
            [feed.as_str(), crate::feed_id::COMBINED_ID],
        )?;
    }
    tx.execute("DELETE FROM feed_published", [])?;
    Ok(())
}
