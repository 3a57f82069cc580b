//! Upgrading: a store written by the previous release (schema 6: before item pages, language
//! variants and archives) opens under this one with nothing lost, duplicated or re-identified.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{Daemon, Sandbox};
use govfeeds::identity::page_name;
use govfeeds::pipeline;
use govfeeds::store::DB_FILE;

/// `govfeeds build` at f8b8799 (schema 6) on `seed.txt` and `quirks.txt`, bundled config.
const OLD_STORE: &str = "tests/fixtures/stores/v6-seed-quirks.sqlite3";

/// Every stored item's (key, guid, page, published, updated).
type Row = (String, String, Option<String>, String, String);

fn items(db: &Path) -> Vec<Row> {
    let conn = rusqlite::Connection::open(db).expect("open store");
    let has_page = conn.prepare("SELECT page FROM item LIMIT 0").is_ok();
    let sql = if has_page {
        "SELECT key, guid, page, published, updated FROM item ORDER BY id"
    } else {
        "SELECT key, guid, NULL, published, updated FROM item ORDER BY id"
    };
    let mut select = conn.prepare(sql).expect("select");
    select
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .expect("query")
        .map(|row| row.expect("row"))
        .collect()
}

fn user_version(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .expect("open store")
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("user_version")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_previous_release_store_keeps_its_items_and_gets_pages() {
    let sandbox = Sandbox::new(&["seed.txt", "quirks.txt"]);
    let db = sandbox.path("var/state").join(DB_FILE);
    std::fs::create_dir_all(sandbox.path("var/state")).expect("mkdir");
    std::fs::copy(common::repo(OLD_STORE), &db).expect("copy old store");
    assert_eq!(user_version(&db), 6, "the fixture is a schema-6 store");
    let before = items(&db);
    assert!(before.len() >= 20, "{} items in the fixture", before.len());

    let config = sandbox.config();
    let summary = tokio::task::spawn_blocking(move || pipeline::run(config))
        .await
        .expect("build task")
        .expect("build on the old store");
    assert_eq!(summary.new, 0, "the same dumps again: {summary}");
    assert!(summary.failed.is_empty(), "{summary}");
    assert!(user_version(&db) > 6);

    let after = items(&db);
    assert_eq!(after.len(), before.len(), "nothing lost or duplicated");
    for (old, new) in before.iter().zip(&after) {
        let (key, guid, _, published, updated) = old;
        assert_eq!((key, guid), (&new.0, &new.1), "identity unchanged");
        assert_eq!(new.2.as_deref(), Some(page_name(key).as_str()), "{key}");
        // Instants once published never change, whatever later releases choose for new items.
        assert_eq!((published, updated), (&new.3, &new.4), "{key}");
    }

    // The published feeds carry the GUIDs the old release published.
    let guids: BTreeSet<&str> = before.iter().map(|row| row.1.as_str()).collect();
    let feed = sandbox.feed("all", "atom");
    assert_eq!(feed.entries.len(), before.len());
    for entry in &feed.entries {
        assert!(guids.contains(entry.id.as_str()), "new id {}", entry.id);
    }

    // Every old item has a page, served by the daemon.
    let daemon = Daemon::start(&sandbox).await;
    for (_, _, page, _, _) in &after {
        let path = format!("/items/{}.html", page.as_deref().unwrap_or_default());
        let status = common::raw_status(daemon.addr, "GET", &path);
        assert_eq!(status, 200, "{path}");
    }
    // Every old item is in the full-text index the upgrade built.
    let indexed: i64 = rusqlite::Connection::open(&db)
        .expect("open")
        .query_row("SELECT count(*) FROM item_search", [], |r| r.get(0))
        .expect("count");
    assert_eq!(indexed as usize, after.len());
    let found = daemon.get_text("/search.atom?q=Shymkent").await;
    let feed = feed_rs::parser::parse(found.as_bytes()).expect("a feed");
    assert!(!feed.entries.is_empty(), "{found}");
    daemon.stop().await;
}
