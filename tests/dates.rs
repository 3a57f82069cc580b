//! Dates outside the plausible range (before 1991, or after the day an item is first seen):
//! they are replaced by the first-seen time with a warning naming where they came from, never
//! poison the store, fail a render or panic the server; a store that already holds such
//! values is repaired on upgrade.

mod common;

use std::process::Command;

use chrono::{DateTime, Duration, Utc};
use common::{Daemon, Sandbox, upstream};
use govfeeds::pipeline;
use govfeeds::store::DB_FILE;

/// A dump whose dates are a typo from the past, a date far ahead, and a good one.
const BAD_DATES: &str = "Site\n\nSection\n\n\
Ancient typo news 10.02.1926\n\
Body of the ancient item.Source : https://www.gov.kz/memleket/entities/mfa/press/news/details/900001?lang=kk\n\n\
Far future news 31.12.2099\n\
Body of the future item.Source : https://www.gov.kz/memleket/entities/mfa/press/news/details/900002?lang=kk\n\n\
A news item without a link 10.02.1926\n\
Body of an item that has no source URL and an old date.\n\n\
Good news 09.02.2026\n\
Body of the good item.Source : https://www.gov.kz/memleket/entities/mfa/press/news/details/900003?lang=kk\n";

fn entry_published(feed: &feed_rs::model::Feed, title: &str) -> DateTime<Utc> {
    let entry = feed
        .entries
        .iter()
        .find(|e| common::title(e) == title)
        .unwrap_or_else(|| panic!("no entry {title:?}"));
    entry.published.expect("published")
}

fn near_now(t: DateTime<Utc>) -> bool {
    (Utc::now() - t).abs() < Duration::minutes(10)
}

#[test]
fn implausible_dump_dates_are_first_seen_times_with_a_warning_naming_file_and_line() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    std::fs::write(sandbox.path("config/dumps/001_dates.txt"), BAD_DATES).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_govfeeds"))
        .args(["build", "--config", sandbox.config_path().to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run govfeeds");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for (line, date) in [(5, "1926-02-10"), (8, "2099-12-31"), (11, "1926-02-10")] {
        let at = format!("001_dates.txt:{line}: date {date} is outside 1991-01-01 to ");
        assert!(stderr.contains(&at), "no warning {at:?} in {stderr}");
    }
    let all = sandbox.feed("all", "atom");
    assert_eq!(all.entries.len(), 24);
    for title in [
        "Ancient typo news",
        "Far future news",
        "A news item without a link",
    ] {
        let published = entry_published(&all, title);
        assert!(near_now(published), "{title}: {published}");
    }
    assert!(common::within_day(
        entry_published(&all, "Good news"),
        "2026-02-09"
    ));
    // Every format renders; RSS carries the dates too.
    let rss = sandbox.feed("all", "rss");
    assert_eq!(rss.entries.len(), 24);
    assert!(near_now(entry_published(&rss, "Far future news")));
}

#[test]
fn an_upstream_entry_dated_9999_or_1800_is_dated_when_first_seen() {
    let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Dates</title><id>urn:dates</id><updated>2026-02-10T00:00:00Z</updated>
  <entry><title>End of time</title><id>urn:a</id><link href="https://example.org/a"/>
    <updated>9999-12-31T23:59:59Z</updated><summary>a</summary></entry>
  <entry><title>Long ago</title><id>urn:b</id><link href="https://example.org/b"/>
    <updated>1800-01-01T00:00:00Z</updated><summary>b</summary></entry>
  <entry><title>Normal</title><id>urn:c</id><link href="https://example.org/c"/>
    <updated>2026-02-10T08:00:00Z</updated><summary>c</summary></entry>
</feed>"#;
    let (addr, _up) = upstream::start(atom);
    let sandbox = Sandbox::new(&[]);
    std::fs::remove_dir_all(sandbox.path("config/dumps")).unwrap();
    sandbox.edit_config("kind = \"dump\"", "kind = \"feed\"");
    sandbox.edit_config(
        "path = \"dumps/*.txt\"",
        &format!("url = \"http://{addr}/feed.xml\""),
    );
    let summary = pipeline::run(sandbox.config()).expect("build");
    assert!(summary.failed.is_empty(), "{summary}");
    assert_eq!(summary.new, 3, "{summary}");
    assert_eq!(summary.degraded, 2, "{summary}");
    let all = sandbox.feed("all", "atom");
    assert!(near_now(entry_published(&all, "End of time")));
    assert!(near_now(entry_published(&all, "Long ago")));
    assert_eq!(
        entry_published(&all, "Normal").to_rfc3339(),
        "2026-02-10T08:00:00+00:00"
    );
    // A second run: the items are unchanged, and keep their first-seen dates.
    let again = pipeline::run(sandbox.config()).expect("build");
    assert_eq!((again.new, again.updated), (0, 0), "{again}");
}

/// The schema-6 store the upgrade test starts from.
const OLD_STORE: &str = "tests/fixtures/stores/v6-seed-quirks.sqlite3";

/// Writes raw `published`/`updated` text and `published_ts` into the item with `key_like`.
fn poison(db: &std::path::Path, key_like: &str, published: &str, updated: &str, ts: i64) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    let n = conn
        .execute(
            "UPDATE item SET published = ?1, updated = ?2, published_ts = ?3 WHERE key LIKE ?4",
            rusqlite::params![published, updated, ts, key_like],
        )
        .unwrap();
    assert_eq!(n, 1, "one item matches {key_like}");
    conn.query_row("SELECT guid FROM item WHERE key LIKE ?1", [key_like], |r| {
        r.get(0)
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_holding_impossible_dates_is_repaired_on_upgrade_and_serves() {
    let sandbox = Sandbox::new(&["seed.txt", "quirks.txt"]);
    let db = sandbox.path("var/state").join(DB_FILE);
    std::fs::create_dir_all(sandbox.path("var/state")).unwrap();
    std::fs::copy(common::repo(OLD_STORE), &db).unwrap();
    // What earlier releases stored for 9999-12-31T23:59:59Z, a 1926 typo and a 2099 date.
    let poisoned = [
        poison(
            &db,
            "%/details/1158782",
            "+10000-01-01T04:59:59+05:00",
            "+10000-01-01T04:59:59+05:00",
            253_402_300_799,
        ),
        poison(
            &db,
            "%/details/1158774",
            "1926-02-10T00:00:00+05:00",
            "1926-02-10T00:00:00+05:00",
            -1_384_578_000,
        ),
        poison(
            &db,
            "%/details/77",
            "2099-12-31T00:00:00+05:00",
            "2099-12-31T00:00:00+05:00",
            4_102_340_400,
        ),
    ];
    let config = sandbox.config();
    let summary = tokio::task::spawn_blocking(move || pipeline::run(config))
        .await
        .unwrap()
        .expect("build on the poisoned store");
    assert!(summary.failed.is_empty(), "{summary}");
    assert!(
        summary.written.len() > 10,
        "every document published: {summary}"
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    for guid in &poisoned {
        let (published, updated, ts): (String, String, i64) = conn
            .query_row(
                "SELECT published, updated, published_ts FROM item WHERE guid = ?1",
                [guid],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("the item keeps its GUID");
        let published = DateTime::parse_from_rfc3339(&published).expect("readable");
        assert!(near_now(published.to_utc()), "{guid}: {published}");
        assert_eq!(published.timestamp(), ts);
        assert!(DateTime::parse_from_rfc3339(&updated).is_ok(), "{updated}");
    }
    let stored: i64 = conn
        .query_row("SELECT COUNT(*) FROM item", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        sandbox.feed("all", "atom").entries.len() as i64,
        stored.min(50)
    );

    // The server starts, and every item page answers, dated or not.
    let daemon = Daemon::start(&sandbox).await;
    let pages = common::item_pages(&db);
    for page in pages {
        let response = common::raw_client()
            .get(daemon.url(&format!("/items/{page}.html")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "/items/{page}.html");
        assert!(response.headers().contains_key("last-modified"));
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_date_before_1970_in_the_store_never_panics_the_server() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    let config = sandbox.config();
    tokio::task::spawn_blocking(move || pipeline::run(config))
        .await
        .unwrap()
        .expect("build");
    // Written behind the store's back after the repair ran: the newest item of `mfa` dated
    // 1926 and an unreadable `updated`.
    let db = sandbox.path("var/state").join(DB_FILE);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE item SET published = '1926-02-10T00:00:00+05:00', published_ts = -1384578000,
             updated = 'garbage', content_hash = '' WHERE feed = 'mfa'",
        [],
    )
    .unwrap();
    conn.execute("DELETE FROM meta WHERE name = 'published'", [])
        .unwrap();
    let page: String = conn
        .query_row(
            "SELECT page FROM item WHERE feed = 'mfa' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let daemon = Daemon::start(&sandbox).await;
    for path in [
        "/feeds/mfa.atom".to_string(),
        "/feeds/mfa.rss".to_string(),
        "/feeds/mfa.json".to_string(),
        format!("/items/{page}.html"),
    ] {
        let response = common::raw_client()
            .get(daemon.url(&path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["last-modified"],
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "{path}"
        );
    }
    daemon.stop().await;
}
