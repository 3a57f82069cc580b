//! The full-text index (`item_search`, FTS5 in the same database): written with the item in
//! the same transaction, and searched newest first under a query's filters, within a time
//! budget.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use rusqlite::types::Value;
use rusqlite::{Connection, params};

use super::queries::{ITEM_COLUMNS, StoredItem, row_to_item};
use super::{Store, StoreError};
use crate::search::Query;
use crate::search::words::index_text;

/// Writes the index row of item `id` (replacing any earlier one).
pub(super) fn index(
    conn: &Connection,
    id: i64,
    title: &str,
    content_html: &str,
) -> rusqlite::Result<()> {
    let text = format!("{title}\n{}", crate::text::markup_to_text(content_html));
    conn.prepare_cached("DELETE FROM item_search WHERE rowid = ?1")?
        .execute([id])?;
    conn.prepare_cached("INSERT INTO item_search (rowid, words) VALUES (?1, ?2)")?
        .execute(params![id, index_text(&text)])?;
    Ok(())
}

/// Indexes every item (the upgrade that brings the index).
pub(super) fn index_all(conn: &Connection) -> rusqlite::Result<()> {
    let mut select = conn.prepare("SELECT id, title, content_html FROM item")?;
    let mut rows = select.query([])?;
    while let Some(row) = rows.next()? {
        let (id, title, html): (i64, String, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
        index(conn, id, &title, &html)?;
    }
    Ok(())
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

/// The SQL of a search and its arguments: one row more than `limit`, to tell whether more
/// follow.
fn search_sql(query: &Query, tz: Tz, offset: usize, limit: usize) -> (String, Vec<Value>) {
    let mut filters: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut arg = |value: Value| {
        args.push(value);
        format!("?{}", args.len())
    };
    let from = match query.fts_match() {
        Some(fts) => {
            filters.push(format!("item_search MATCH {}", arg(Value::Text(fts))));
            "item_search JOIN item ON item.id = item_search.rowid"
        }
        None => {
            if let Some(excluded) = query.fts_excluded() {
                filters.push(format!(
                    "item.id NOT IN (SELECT rowid FROM item_search WHERE item_search MATCH {})",
                    arg(Value::Text(excluded))
                ));
            }
            "item"
        }
    };
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
            filters.push(any_of(column, op, values, &mut arg));
        }
    }
    let midnight = |day: NaiveDate| {
        tz.from_local_datetime(&day.and_time(NaiveTime::MIN))
            .earliest()
            .map_or_else(
                || day.and_time(NaiveTime::MIN).and_utc().timestamp(),
                |t| t.timestamp(),
            )
    };
    if let Some(after) = query.after {
        filters.push(format!(
            "item.published_ts >= {}",
            arg(Value::Integer(midnight(after)))
        ));
    }
    if let Some(before) = query.before {
        filters.push(format!(
            "item.published_ts < {}",
            arg(Value::Integer(midnight(before)))
        ));
    }
    let limit = arg(Value::Integer(i64::try_from(limit + 1).unwrap_or(i64::MAX)));
    let offset = arg(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM {from} WHERE {} \
         ORDER BY item.published_ts DESC, item.news_id DESC, item.id ASC LIMIT {limit} OFFSET {offset}",
        if filters.is_empty() {
            "1".to_string()
        } else {
            filters.join(" AND ")
        }
    );
    (sql, args)
}
