//! Writing the full-text index (`item_search`, FTS5 in the same database): each item's row
//! under its search key, in the item's transaction, and its words in the index's vocabulary
//! (`search_term`, which a query's prefix is looked up in). The words are made on a helper
//! thread while the batch goes on, and the rows are written together, in key order, just
//! before the batch commits.

use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, channel, sync_channel};

use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};

use crate::search::words::{field_token, index_text};

/// Bits of a search key below the publication second.
pub(super) const KEY_BITS: u32 = 22;

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

/// What an item's index row is made of: its words, and its fields as tokens
/// ([`field_token`]).
#[derive(Debug)]
pub(super) struct Indexed {
    pub title: String,
    pub content_html: String,
    pub feed: String,
    pub entity: Option<String>,
    pub language: Option<String>,
}

impl Indexed {
    /// The row's text.
    fn words(&self) -> String {
        let text = format!(
            "{}\n{}",
            self.title,
            crate::text::markup_to_text(&self.content_html)
        );
        let mut words = index_text(&text);
        let fields = [
            Some(("feed", self.feed.as_str())),
            self.entity.as_deref().map(|e| ("entity", e)),
            self.language.as_deref().map(|l| ("lang", l)),
        ];
        for (field, value) in fields.into_iter().flatten() {
            words.push(' ');
            words.push_str(&field_token(field, value));
        }
        words
    }
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
    /// The helper thread that makes the words, once started.
    helper: Option<Helper>,
    /// Rows given to the helper and not yet back.
    out: usize,
    /// Words of the rows that may be new to `search_term`.
    words: Vec<String>,
    /// Which words were seen (when there is no helper).
    seen: Seen,
}

/// The words a batch has seen, so that each goes to `search_term` once.
#[derive(Debug, Default)]
struct Seen(HashSet<String>);

impl Seen {
    /// Words remembered; past this many the memory starts again.
    const MAX: usize = 500_000;

    /// The words of `row` not seen before.
    fn new_words(&mut self, row: &str) -> Vec<String> {
        if self.0.len() > Self::MAX {
            self.0.clear();
        }
        let mut new = Vec::new();
        for word in row.split(' ') {
            if !word.is_empty() && !self.0.contains(word) {
                self.0.insert(word.to_string());
                new.push(word.to_string());
            }
        }
        new
    }
}

/// An index row made: its words, and those of them new to the batch.
type Made = (i64, String, Vec<String>);

/// A thread that turns [`Indexed`] items into index rows (stemming is most of an index
/// row's cost), so that the batch's thread goes on meanwhile.
#[derive(Debug)]
struct Helper {
    jobs: SyncSender<(i64, Indexed)>,
    rows: Receiver<Made>,
}

impl Helper {
    /// Items queued for the helper before the batch's thread waits.
    const QUEUE: usize = 256;

    fn start() -> Option<Helper> {
        let (jobs, queue) = sync_channel::<(i64, Indexed)>(Self::QUEUE);
        let (done, rows) = channel();
        std::thread::Builder::new()
            .name("index words".to_string())
            .spawn(move || {
                let mut seen = Seen::default();
                for (search_key, item) in queue {
                    let words = item.words();
                    let new = seen.new_words(&words);
                    if done.send((search_key, words, new)).is_err() {
                        break;
                    }
                }
            })
            .ok()?;
        Some(Helper { jobs, rows })
    }
}

impl Pending {
    /// Bytes of words held before they are written out mid-batch.
    const LIMIT: usize = 16 << 20;

    /// Queues the index row of an item under `search_key` (replacing one queued before).
    pub(super) fn add(&mut self, search_key: i64, item: Indexed) {
        self.collect(false);
        if self.helper.is_none() {
            self.helper = Helper::start();
        }
        let item = match &self.helper {
            Some(helper) => match helper.jobs.send((search_key, item)) {
                Ok(()) => {
                    self.out += 1;
                    return;
                }
                Err(lost) => lost.0.1,
            },
            None => item,
        };
        // No helper: the words are made here.
        self.helper = None;
        let words = item.words();
        let new = self.seen.new_words(&words);
        self.keep((search_key, words, new));
    }

    /// Takes the rows the helper has made: all of those out when `all`, else those ready.
    fn collect(&mut self, all: bool) {
        while self.out > 0 {
            let Some(helper) = &self.helper else {
                break;
            };
            let row = if all {
                helper.rows.recv().map_err(|_| TryRecvError::Disconnected)
            } else {
                helper.rows.try_recv()
            };
            match row {
                Ok(made) => {
                    self.out -= 1;
                    self.keep(made);
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    // The helper died (a bug); its rows are lost and the batch fails below.
                    self.helper = None;
                    break;
                }
            }
        }
    }

    fn keep(&mut self, (search_key, words, new): Made) {
        self.words.extend(new);
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
        self.collect(true);
        if self.out > 0 {
            self.out = 0;
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_INTERNAL),
                Some("the thread making index rows stopped".to_string()),
            ));
        }
        let mut insert =
            conn.prepare_cached("INSERT INTO item_search (rowid, words) VALUES (?1, ?2)")?;
        let mut term =
            conn.prepare_cached("INSERT OR IGNORE INTO search_term (term) VALUES (?1)")?;
        self.bytes = 0;
        for (search_key, words) in std::mem::take(&mut self.rows) {
            insert.execute(params![search_key, words])?;
        }
        for word in std::mem::take(&mut self.words) {
            term.execute([word])?;
        }
        Ok(())
    }
}

/// Removes item `id`'s index row (its content or feed changed) and queues the new one.
pub(super) fn reindex(
    conn: &Connection,
    pending: &mut Pending,
    id: i64,
    item: Indexed,
) -> rusqlite::Result<()> {
    let search_key: i64 = conn
        .prepare_cached("SELECT search_key FROM item WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    conn.prepare_cached("DELETE FROM item_search WHERE rowid = ?1")?
        .execute([search_key])?;
    pending.add(search_key, item);
    Ok(())
}

/// Gives every item its search key (the upgrade that brings the index).
pub(super) fn assign_keys(conn: &Connection) -> rusqlite::Result<()> {
    let mut select = conn.prepare("SELECT id, key, published_ts FROM item ORDER BY id")?;
    let mut set = conn.prepare("UPDATE item SET search_key = ?1 WHERE id = ?2")?;
    let mut rows = select.query([])?;
    while let Some(row) = rows.next()? {
        let (id, key, published_ts): (i64, String, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
        set.execute([free_key(conn, published_ts, &key)?, id])?;
    }
    Ok(())
}

/// Indexes every item, in key order, into an empty index (the upgrades that bring or
/// rebuild it).
pub(super) fn index_all(conn: &Connection) -> rusqlite::Result<()> {
    let mut select = conn.prepare(
        "SELECT search_key, title, content_html, feed, entity, language
         FROM item ORDER BY search_key",
    )?;
    let mut rows = select.query([])?;
    let mut pending = Pending::default();
    while let Some(row) = rows.next()? {
        let item = Indexed {
            title: row.get(1)?,
            content_html: row.get(2)?,
            feed: row.get(3)?,
            entity: row.get(4)?,
            language: row.get(5)?,
        };
        pending.add(row.get(0)?, item);
        if pending.is_full() {
            pending.write(conn)?;
        }
    }
    pending.write(conn)
}
