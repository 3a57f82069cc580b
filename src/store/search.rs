//! The full-text index (`item_search`, FTS5 in the same database): written with the item in
//! the same transaction, and searched newest first under a query's filters, within a time
//! budget.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use rusqlite::types::Value;
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};

use super::queries::{ITEM_COLUMNS, StoredItem, row_to_item};
use super::{Store, StoreError};
use crate::search::Query;
use crate::search::words::index_text;

/// Bits of a search key below the publication second.
const KEY_BITS: u32 = 22;

/// The search key of an item published at `published_ts` with identity key `key`: the second,
/// then bits of the key's digest (so ties are in a fixed order).
fn search_key(published_ts: i64, key: &str) -> i64 {
    let second = published_ts.clamp(0, (1 << 40) - 1);
    let digest = Sha256::digest(key.as_bytes());
    let low = u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]);
    (second << KEY_BITS) | (i64::from(low) & ((1 << KEY_BITS) - 1))
}

/// The search key for a new item: [`search_key`], or the next lower one not taken.
pub(super) fn free_key(conn: &Connection, published_ts: i64, key: &str) -> rusqlite::Result<i64> {
    let mut search_key = search_key(published_ts, key);
    let mut taken = conn.prepare_cached("SELECT 1 FROM item WHERE search_key = ?1")?;
    while taken.exists([search_key])? {
        search_key -= 1;
    }
    Ok(search_key)
}

/// Index rows waiting to be written. FTS5 writes its pending terms out as a new segment
/// whenever another statement opens a savepoint or a row comes in below the last one, which
/// item by item would be once per item; so a batch's rows wait here and are written together,
/// in key order, before it commits (the same transaction: the index never disagrees with the
/// items).
#[derive(Debug, Default)]
pub(super) struct Pending {
    rows: BTreeMap<i64, String>,
    bytes: usize,
}

impl Pending {
    /// Bytes of words held before they are written out mid-batch.
    const LIMIT: usize = 16 << 20;

    /// Queues the index row of an item under `search_key` (replacing one queued before).
    pub(super) fn add(&mut self, search_key: i64, title: &str, content_html: &str) {
        let text = format!("{title}\n{}", crate::text::markup_to_text(content_html));
        let words = index_text(&text);
        self.bytes += words.len();
        if let Some(old) = self.rows.insert(search_key, words) {
            self.bytes -= old.len();
        }
    }

    /// Whether enough is queued to write it out now.
    pub(super) fn is_full(&self) -> bool {
        self.bytes >= Self::LIMIT
    }

    /// Writes the queued rows into the index.
    pub(super) fn write(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        let mut insert =
            conn.prepare_cached("INSERT INTO item_search (rowid, words) VALUES (?1, ?2)")?;
        self.bytes = 0;
        for (search_key, words) in std::mem::take(&mut self.rows) {
            insert.execute(params![search_key, words])?;
        }
        Ok(())
    }
}

/// Removes item `id`'s index row (its content changed) and queues the new one.
pub(super) fn reindex(
    conn: &Connection,
    pending: &mut Pending,
    id: i64,
    title: &str,
    content_html: &str,
) -> rusqlite::Result<()> {
    let search_key: i64 = conn
        .prepare_cached("SELECT search_key FROM item WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    conn.prepare_cached("DELETE FROM item_search WHERE rowid = ?1")?
        .execute([search_key])?;
    pending.add(search_key, title, content_html);
    Ok(())
}

/// Gives every item its search key and indexes it (the upgrade that brings the index), in
/// key order.
pub(super) fn index_all(conn: &Connection) -> rusqlite::Result<()> {
    {
        let mut select = conn.prepare("SELECT id, key, published_ts FROM item ORDER BY id")?;
        let mut set = conn.prepare("UPDATE item SET search_key = ?1 WHERE id = ?2")?;
        let mut rows = select.query([])?;
        while let Some(row) = rows.next()? {
            let (id, key, published_ts): (i64, String, i64) =
                (row.get(0)?, row.get(1)?, row.get(2)?);
            set.execute([free_key(conn, published_ts, &key)?, id])?;
        }
    }
    let mut select =
        conn.prepare("SELECT search_key, title, content_html FROM item ORDER BY search_key")?;
    let mut rows = select.query([])?;
    let mut pending = Pending::default();
    while let Some(row) = rows.next()? {
        pending.add(
            row.get(0)?,
            &row.get::<_, String>(1)?,
            &row.get::<_, String>(2)?,
        );
        if pending.is_full() {
            pending.write(conn)?;
        }
    }
    pending.write(conn)
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Results {
    /// Newest first.
    pub items: Vec<StoredItem>,
    /// Whether more results follow this page.
    pub more: bool,
}

/// Why a search gave no results.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query ran past its time budget and was stopped.
    #[error("the query took longer than {0:?}; narrow it with more words or a filter")]
    TooSlow(Duration),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Items matching `query`, newest first: `limit` of them after skipping `offset`, dates
    /// read in `tz`.
    pub fn search(
        &self,
        query: &Query,
        tz: Tz,
        offset: usize,
        limit: usize,
    ) -> Result<Results, StoreError> {
        self.run_search(query, tz, offset, limit)
            .map_err(|e| self.err(e))
    }

    /// [`Store::search`], stopped with [`SearchError::TooSlow`] past `budget`.
    pub fn search_within(
        &mut self,
        query: &Query,
        tz: Tz,
        offset: usize,
        limit: usize,
        budget: Duration,
    ) -> Result<Results, SearchError> {
        let deadline = Instant::now() + budget;
        self.conn
            .progress_handler(10_000, Some(move || Instant::now() > deadline))
            .map_err(|e| self.err(e))?;
        let found = self.run_search(query, tz, offset, limit);
        self.conn
            .progress_handler(0, None::<fn() -> bool>)
            .map_err(|e| self.err(e))?;
        match found {
            Ok(results) => Ok(results),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::OperationInterrupted =>
            {
                Err(SearchError::TooSlow(budget))
            }
            Err(e) => Err(SearchError::Store(self.err(e))),
        }
    }

    fn run_search(
        &self,
        query: &Query,
        tz: Tz,
        offset: usize,
        limit: usize,
    ) -> rusqlite::Result<Results> {
        let (sql, args) = search_sql(query, tz, offset, limit);
        let mut items = self.conn.prepare_cached(&sql).and_then(|mut s| {
            s.query_map(rusqlite::params_from_iter(args), row_to_item)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let more = items.len() > limit;
        items.truncate(limit);
        Ok(Results { items, more })
    }
}

/// The SQL of a search for `query` with its arguments written in, as the `sqlite3` shell
/// takes it (`govfeeds search --sql`: to see what runs, or to time SQLite alone).
pub fn search_sql_text(query: &Query, tz: Tz, limit: usize) -> String {
    let (mut sql, args) = search_sql(query, tz, 0, limit);
    // From the last argument, so that ?1 does not match the start of ?10.
    for (i, arg) in args.iter().enumerate().rev() {
        let literal = match arg {
            Value::Integer(n) => n.to_string(),
            Value::Text(t) => format!("'{}'", t.replace('\'', "''")),
            _ => "NULL".to_string(),
        };
        sql = sql.replace(&format!("?{}", i + 1), &literal);
    }
    format!("{sql};")
}

/// The SQL of a search and its arguments: one row more than `limit`, to tell whether more
/// follow.
fn search_sql(query: &Query, tz: Tz, offset: usize, limit: usize) -> (String, Vec<Value>) {
    let mut filters: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut arg = |value: Value| {
        args.push(value);
        format!("?{}", args.len())
    };
    // With words, FTS5 yields the matches newest first by search key and stops at the page;
    // dates are ranges of keys. With filters alone, the items' own order and indexes serve.
    let fts = query.fts_match();
    let (from, order, time) = match &fts {
        Some(_) => (
            "item_search JOIN item ON item.search_key = item_search.rowid",
            "item_search.rowid DESC",
            "item_search.rowid",
        ),
        None => (
            "item",
            "item.published_ts DESC, item.news_id DESC, item.id ASC",
            "item.published_ts",
        ),
    };
    let by_key = fts.is_some();
    match fts {
        Some(fts) => filters.push(format!("item_search MATCH {}", arg(Value::Text(fts)))),
        None => {
            if let Some(excluded) = query.fts_excluded() {
                filters.push(format!(
                    "item.search_key NOT IN (SELECT rowid FROM item_search WHERE item_search MATCH {})",
                    arg(Value::Text(excluded))
                ));
            }
        }
    }
    filter_sql(query, tz, time, by_key, &mut filters, &mut arg);
    let limit = arg(Value::Integer(i64::try_from(limit + 1).unwrap_or(i64::MAX)));
    let offset = arg(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM {from} WHERE {} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
        if filters.is_empty() {
            "1".to_string()
        } else {
            filters.join(" AND ")
        }
    );
    (sql, args)
}

/// The filters of `query` (feeds, entities, languages, dates on `time`, a search key when
/// `by_key`) as SQL conditions added to `filters`, their values given to `arg`.
fn filter_sql(
    query: &Query,
    tz: Tz,
    time: &str,
    by_key: bool,
    filters: &mut Vec<String>,
    arg: &mut dyn FnMut(Value) -> String,
) {
    let any_of =
        |column: &str, op: &str, values: &[String], arg: &mut dyn FnMut(Value) -> String| {
            let alternatives: Vec<String> = values
                .iter()
                .map(|v| format!("item.{column} {op} {}", arg(Value::Text(v.clone()))))
                .collect();
            format!("({})", alternatives.join(" OR "))
        };
    for (column, op, values) in [
        ("feed", "=", &query.feeds),
        ("entity", "GLOB", &query.entities),
        ("language", "=", &query.languages),
    ] {
        if !values.is_empty() {
            filters.push(any_of(column, op, values, arg));
        }
    }
    let shift = |t: i64| if by_key { t << KEY_BITS } else { t };
    let midnight = |day: NaiveDate| {
        tz.from_local_datetime(&day.and_time(NaiveTime::MIN))
            .earliest()
            .map_or_else(
                || day.and_time(NaiveTime::MIN).and_utc().timestamp(),
                |t| t.timestamp(),
            )
    };
    if let Some(after) = query.after {
        let at = shift(midnight(after).max(0));
        filters.push(format!("{time} >= {}", arg(Value::Integer(at))));
    }
    if let Some(before) = query.before {
        let at = shift(midnight(before).max(0));
        filters.push(format!("{time} < {}", arg(Value::Integer(at))));
    }
}
