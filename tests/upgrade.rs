//! Upgrading: a store written by the previous release (schema 6: before item pages, language
//! variants and archives) opens under this one with nothing lost, duplicated or re-identified.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{Daemon, Sandbox};
use govfeeds::build;
use govfeeds::identity::page_name;
use govfeeds::store::DB_FILE;

/// `govfeeds build` at f8b8799 (schema 6) on `seed.txt` and `quirks.txt`, bundled config.
const OLD_STORE: &str = "tests/fixtures/stores/v6-seed-quirks.sqlite3";

/// Every stored item's (key, guid, page).
fn items(db: &Path) -> Vec<(String, String, Option<String>)> {
    let conn = rusqlite::Connection::open(db).expect("open store");
    let has_page = conn.prepare("SELECT page FROM item LIMIT 0").is_ok();
    let sql = if has_page {
        "SELECT key, guid, page FROM item ORDER BY id"
    } else {
        "SELECT key, guid, NULL FROM item ORDER BY id"
    };
    let mut select = conn.prepare(sql).expect("select");
    select
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
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
    let summary = tokio::task::spawn_blocking(move || build::run(config))
        .await
        .expect("build task")
        .expect("build on the old store");
    assert_eq!(summary.new, 0, "the same dumps again: {summary}");
    assert!(summary.failed.is_empty(), "{summary}");
    assert!(user_version(&db) > 6);

    let after = items(&db);
    assert_eq!(after.len(), before.len(), "nothing lost or duplicated");
    for ((key, guid, _), (new_key, new_guid, page)) in before.iter().zip(&after) {
        assert_eq!((key, guid), (new_key, new_guid), "identity unchanged");
        assert_eq!(page.as_deref(), Some(page_name(key).as_str()), "{key}");
    }

    // The published feeds carry the GUIDs the old release published.
    let guids: BTreeSet<&str> = before.iter().map(|(_, guid, _)| guid.as_str()).collect();
    let feed = sandbox.feed("all", "atom");
    assert_eq!(feed.entries.len(), before.len());
    for entry in &feed.entries {
        assert!(guids.contains(entry.id.as_str()), "new id {}", entry.id);
    }

    // Every old item has a page, served by the daemon.
    let daemon = Daemon::start(&sandbox).await;
    for (_, _, page) in &after {
        let path = format!("/items/{}.html", page.as_deref().unwrap_or_default());
        let status = common::raw_status(daemon.addr, "GET", &path);
        assert_eq!(status, 200, "{path}");
    }
    daemon.stop().await;
}
