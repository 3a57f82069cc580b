//! Is the store file sound? `PRAGMA quick_check` reads every page, which on a large store takes
//! a while; so it runs when a store is opened unless the file is exactly as govfeeds left it
//! at its last clean close (recorded in `state_dir/govfeeds.closed`: device, inode, size and
//! modification time, with no write-ahead log beside it). A crash, another program writing to
//! the file, or a file put in its place all mean a check. SQLite's own writes cannot damage
//! the file; what damages it comes from outside.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

/// The record of a clean close, beside the database.
const CLOSED_FILE: &str = "govfeeds.closed";

/// What identifies the database file as last written.
fn fingerprint(db: &Path) -> Option<String> {
    let meta = std::fs::metadata(db).ok()?;
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    // A write-ahead log with frames in it holds changes the file itself does not show.
    if std::fs::metadata(wal).is_ok_and(|m| m.len() > 0) {
        return None;
    }
    Some(format!(
        "{} {} {} {} {}",
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec()
    ))
}

/// Whether `db` is exactly as it was at the last clean close. The record is used up: a crash
/// before the next clean close leaves none, and the next open checks.
pub fn closed_cleanly(db: &Path) -> bool {
    let Some(dir) = db.parent() else {
        return false;
    };
    let record = dir.join(CLOSED_FILE);
    let recorded = std::fs::read_to_string(&record).ok();
    let _ = std::fs::remove_file(&record);
    recorded.is_some_and(|r| Some(r.trim().to_string()) == fingerprint(db))
}

/// Records that `db` was closed cleanly, as it is now.
pub fn record_close(db: &Path) {
    let Some(dir) = db.parent() else {
        return;
    };
    if let Some(fingerprint) = fingerprint(db) {
        let _ = std::fs::write(dir.join(CLOSED_FILE), fingerprint);
    }
}

/// `PRAGMA quick_check`: `Err` with what it found when the file is damaged.
pub fn quick_check(conn: &Connection) -> Result<(), String> {
    let mut stmt = conn
        .prepare("PRAGMA quick_check(5)")
        .map_err(|e| e.to_string())?;
    let findings = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|e| e.to_string())?;
    if findings == ["ok"] {
        Ok(())
    } else {
        Err(format!("quick_check: {}", findings.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_close_counts_once_and_only_for_the_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("govfeeds.sqlite3");
        std::fs::write(&db, b"as closed").unwrap();
        record_close(&db);
        assert!(closed_cleanly(&db));
        assert!(!closed_cleanly(&db), "the record is used up");
        record_close(&db);
        std::fs::write(&db, b"written by someone else").unwrap();
        assert!(!closed_cleanly(&db));
        record_close(&db);
        std::fs::write(dir.path().join("govfeeds.sqlite3-wal"), b"frames").unwrap();
        assert!(!closed_cleanly(&db), "a log beside it holds changes");
    }
}
