//! Searching the full-text index (`item_search`, written by `indexing`): newest first under
//! a query's filters, within a time budget.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use rusqlite::Connection;
use rusqlite::types::Value;

use super::indexing::KEY_BITS;
use super::queries::{ITEM_COLUMNS, StoredItem, row_to_item};
use super::{Store, StoreError};
use crate::search::Query;

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
        let (sql, args) = search_sql(&self.conn, query, tz, offset, limit);
        let mut items = self.conn.prepare_cached(&sql).and_then(|mut s| {
            s.query_map(rusqlite::params_from_iter(args), row_to_item)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let more = items.len() > limit;
        items.truncate(limit);
        Ok(Results { items, more })
    }
}

impl Store {
    /// The SQL of a search for `query` with its arguments written in, as the `sqlite3` shell
    /// takes it (`govfeeds search --sql`: to see what runs, or to time SQLite alone).
    pub fn search_sql_text(&self, query: &Query, tz: Tz, limit: usize) -> String {
        let (mut sql, args) = search_sql(&self.conn, query, tz, 0, limit);
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
}

/// The most words of the index a query's prefix is named as (more: FTS5 reads it as a
/// prefix).
const MAX_EXPANSION: usize = 64;

/// The words of the index that begin with `stem`, if there are at most [`MAX_EXPANSION`];
/// `None` (FTS5 reads the stem as a prefix) otherwise, or if they cannot be read.
fn words_beginning(conn: &Connection, stem: &str) -> Option<Vec<String>> {
    // Every word that begins with `stem` sorts below `stem` followed by the last character.
    let end = format!("{stem}\u{10FFFF}");
    let words = conn
        .prepare_cached(
            "SELECT term FROM search_term WHERE term >= ?1 AND term < ?2 ORDER BY term LIMIT 65",
        )
        .and_then(|mut s| {
            s.query_map([stem, end.as_str()], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .ok()?;
    (words.len() <= MAX_EXPANSION).then_some(words)
}

/// The SQL of a search and its arguments: one row more than `limit`, to tell whether more
/// follow.
fn search_sql(
    conn: &Connection,
    query: &Query,
    tz: Tz,
    offset: usize,
    limit: usize,
) -> (String, Vec<Value>) {
    let mut expand = |stem: &str| words_beginning(conn, stem);
    let mut filters: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut arg = |value: Value| {
        args.push(value);
        format!("?{}", args.len())
    };
    // With words, FTS5 yields the matches newest first by search key and stops at the page;
    // dates are ranges of keys. With filters alone, the items' own order and indexes serve.
    let fts = query.fts_match(&mut expand);
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
            if let Some(excluded) = query.fts_excluded(&mut expand) {
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
