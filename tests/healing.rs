//! The published documents converge to the store: a publish that failed (a full disk), a crash
//! between a commit and its publish, or a published file deleted or changed behind our back
//! is redone by the next build, or by the daemon's retries and checks, until the files equal
//! what a fresh render of the store gives.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::disk::{self, Tmpfs};
use common::{Running, Sandbox, http_get, wait_until};
use govfeeds::pipeline;

/// A dump of `n` Foreign Affairs items (news ids from `first`) and one of a new entity.
fn news(n: usize, first: usize) -> String {
    let mut out = String::from("Site\n\nSection\n\n");
    for i in 0..n {
        let id = first + i;
        out.push_str(&format!(
            "Embassy news number {id} 10.02.2026\nThe embassy reported item {id} today.Source : https://www.gov.kz/memleket/entities/mfa-madrid/press/news/details/{id}?lang=kk\n"
        ));
    }
    out.push_str("A new akimat speaks 10.02.2026\nIts first news.Source : https://www.gov.kz/memleket/entities/brand-new-akimat/press/news/details/5?lang=kk\n");
    out
}

/// Checks that the published files are exactly what a fresh render of the store gives: moves
/// them away, builds into the emptied folder, and compares.
fn assert_converged(sandbox: &Sandbox) {
    let public = sandbox.path("var/public");
    let published = disk::files(&public);
    disk::clear(&public);
    let fresh = pipeline::run(sandbox.config()).expect("fresh build");
    assert!(fresh.is_clean(), "{fresh}");
    let rendered = disk::files(&public);
    let names =
        |m: &std::collections::BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&published), names(&rendered), "the same files");
    for (path, bytes) in &rendered {
        assert!(
            published[path] == *bytes,
            "{path} differs from a fresh render"
        );
    }
}

fn items(sandbox: &Sandbox, id: &str, extension: &str) -> usize {
    sandbox.feed(id, extension).entries.len()
}

#[test]
fn a_publish_that_failed_on_a_full_disk_is_redone_by_the_next_build() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    let Some(tmpfs) = Tmpfs::mount(&sandbox.path("var/public"), 4096) else {
        return;
    };
    pipeline::run(sandbox.config()).unwrap();
    assert_eq!(items(&sandbox, "all", "rss"), 20);

    // 30 new items arrive while the disk holding the feeds is full.
    std::fs::write(sandbox.path("config/dumps/001.txt"), news(30, 9000)).unwrap();
    tmpfs.fill(16 * 1024);
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!(summary.new, 31, "{summary}");
    assert!(!summary.is_clean(), "{summary}");
    assert!(summary.behind.documents > 0, "{summary}");
    assert!(
        summary.to_string().contains("No space left on device"),
        "{summary}"
    );
    // The last good files stay whole (small new ones may have fit), and no temp file is left.
    for (path, bytes) in disk::files(&sandbox.path("var/public")) {
        assert!(!path.contains(".tmp-"), "{path} left behind");
        if path.ends_with(".atom") || path.ends_with(".rss") {
            common::assert_well_formed(&bytes);
        }
    }

    // Space returns: the next build publishes what is behind, though nothing new came in.
    tmpfs.free();
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!((summary.new, summary.updated), (0, 0), "{summary}");
    assert!(summary.is_clean(), "{summary}");
    assert_eq!(items(&sandbox, "all", "rss"), 50);
    assert_eq!(items(&sandbox, "mfa", "atom"), 36);
    assert_eq!(items(&sandbox, "brand-new-akimat", "json"), 1);
    let index = std::fs::read_to_string(sandbox.path("var/public/index.html")).unwrap();
    assert!(index.contains("brand-new-akimat"));
    // Operators subscribed to the health feed heard of it, and of its end.
    let health = sandbox.feed("_health", "atom");
    let titles: Vec<_> = health.entries.iter().map(common::title).collect();
    assert_eq!(titles, ["publishing recovered", "publishing is failing"]);
    assert!(common::content(&health.entries[1]).contains("No space left on device"));
    assert_converged(&sandbox);
}

#[test]
fn a_crash_between_a_commit_and_its_publish_is_published_by_the_next_build() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    pipeline::run(sandbox.config()).unwrap();
    std::fs::write(sandbox.path("config/dumps/001.txt"), news(5, 9000)).unwrap();
    // The items are committed; the process dies before it publishes anything.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = Arc::new(pipeline::Engine::open(sandbox.config()).unwrap());
        let source = engine.config().sources[0].clone();
        let run = engine.run_source(&source).await.unwrap();
        assert_eq!(run.summary.new, 6);
    });
    assert_eq!(items(&sandbox, "all", "atom"), 20, "nothing published yet");
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!(summary.new, 0, "{summary}");
    assert!(summary.is_clean(), "{summary}");
    assert_eq!(items(&sandbox, "all", "atom"), 26);
    assert_converged(&sandbox);
}

#[test]
fn a_published_file_deleted_or_changed_is_published_again_by_the_next_build() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    pipeline::run(sandbox.config()).unwrap();
    std::fs::remove_file(sandbox.feed_path("mfa", "rss")).unwrap();
    std::fs::write(sandbox.feed_path("all", "atom"), "<feed/>").unwrap();
    std::fs::remove_file(sandbox.path("var/public/index.html")).unwrap();
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert!(summary.is_clean(), "{summary}");
    let mut written: Vec<_> = summary
        .written
        .iter()
        .map(|p| {
            p.strip_prefix(sandbox.path("var/public"))
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    written.sort();
    assert_eq!(written, ["feeds/all.atom", "feeds/mfa.rss", "index.html"]);
    assert_converged(&sandbox);
}

fn spawn_serve(sandbox: &Sandbox) -> Running {
    Running(
        Command::new(env!("CARGO_BIN_EXE_govfeeds"))
            .args(["serve", "--config", sandbox.config_path().to_str().unwrap()])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(sandbox.path("serve.log")).unwrap())
            .spawn()
            .unwrap(),
    )
}

/// A sandbox served on a free port, its dump read every second.
fn served_sandbox() -> (Sandbox, std::net::SocketAddr) {
    let sandbox = Sandbox::new(&["seed.txt"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    sandbox.set_key("listen", &format!("\"127.0.0.1:{port}\""));
    sandbox.set_key("schedule", "\"* * * * * *\"");
    (sandbox, std::net::SocketAddr::from(([127, 0, 0, 1], port)))
}

fn stop(mut child: Running) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn the_daemon_retries_a_full_disk_until_the_feeds_match_the_store() {
    let (sandbox, addr) = served_sandbox();
    let Some(tmpfs) = Tmpfs::mount(&sandbox.path("var/public"), 4096) else {
        return;
    };
    let child = spawn_serve(&sandbox);
    assert!(wait_until(Duration::from_secs(30), || http_get(
        addr, "/healthz"
    )
    .is_some_and(|(s, _)| s == 200)));

    tmpfs.fill(16 * 1024);
    std::fs::write(sandbox.path("config/dumps/001.txt"), news(30, 9000)).unwrap();
    // The next run ingests them; the publish fails on the disk and says so.
    let mut health = String::new();
    assert!(
        wait_until(Duration::from_secs(20), || {
            health = http_get(addr, "/healthz")
                .map(|(_, b)| b)
                .unwrap_or_default();
            health.contains("not converged")
        }),
        "{health}"
    );
    assert!(health.contains("No space left on device"), "{health}");
    assert_eq!(http_get(addr, "/healthz").unwrap().0, 503);
    // Readers are served the new feeds from memory meanwhile.
    let (status, all) = http_get(addr, "/feeds/all.rss").unwrap();
    assert_eq!((status, all.matches("<item>").count()), (200, 50));
    assert_eq!(
        http_get(addr, "/feeds/brand-new-akimat.atom").unwrap().0,
        200
    );

    // Space returns: the retries publish everything, with no new change to prompt them.
    tmpfs.free();
    assert!(
        wait_until(Duration::from_secs(30), || http_get(addr, "/healthz")
            .is_some_and(|(s, _)| s == 200)),
        "{:?}",
        http_get(addr, "/healthz")
    );
    assert_eq!(items(&sandbox, "all", "rss"), 50);
    assert_eq!(items(&sandbox, "brand-new-akimat", "atom"), 1);
    stop(child);
    assert_converged(&sandbox);

    // Started on a full disk with new items: the first build cannot publish them either, and
    // is retried within seconds of space returning (as any failed publish is), though the
    // source runs hourly and the files are checked every minute only.
    sandbox.set_key("schedule", "\"0 * * * *\"");
    tmpfs.fill(16 * 1024);
    std::fs::write(sandbox.path("config/dumps/002.txt"), news(30, 9500)).unwrap();
    let child = spawn_serve(&sandbox);
    assert!(
        wait_until(Duration::from_secs(30), || http_get(addr, "/healthz")
            .is_some_and(|(s, b)| s == 503 && b.contains("not converged"))),
        "{:?}",
        http_get(addr, "/healthz")
    );
    tmpfs.free();
    let freed = std::time::Instant::now();
    assert!(wait_until(Duration::from_secs(30), || http_get(
        addr, "/healthz"
    )
    .is_some_and(|(s, _)| s == 200)));
    assert!(
        freed.elapsed() < Duration::from_secs(20),
        "{:?}",
        freed.elapsed()
    );
    stop(child);
    assert_converged(&sandbox);
}

#[test]
fn the_daemon_puts_back_a_published_file_deleted_or_changed_behind_its_back() {
    let (sandbox, addr) = served_sandbox();
    let child = spawn_serve(&sandbox);
    assert!(wait_until(Duration::from_secs(30), || http_get(
        addr, "/healthz"
    )
    .is_some_and(|(s, _)| s == 200)));
    let mfa = std::fs::read(sandbox.feed_path("mfa", "rss")).unwrap();
    std::fs::remove_file(sandbox.feed_path("mfa", "rss")).unwrap();
    std::fs::write(sandbox.feed_path("all", "atom"), "<feed/>").unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || {
            let entries = std::fs::read_to_string(sandbox.feed_path("all", "atom"))
                .map(|t| t.matches("<entry>").count());
            std::fs::read(sandbox.feed_path("mfa", "rss")).is_ok_and(|b| b == mfa)
                && entries.is_ok_and(|n| n == 20)
        }),
        "not put back"
    );
    stop(child);
    // The dump was read on every tick, and it did not change: said once, at the start.
    let log = std::fs::read_to_string(sandbox.path("serve.log")).unwrap();
    assert_eq!(log.matches("source read").count(), 1, "{log}");
}

/// Overwrites 8 KiB in the middle of the store's file with garbage.
fn damage(db: &std::path::Path) {
    use std::io::{Seek, SeekFrom, Write};
    let len = std::fs::metadata(db).unwrap().len();
    let mut file = std::fs::OpenOptions::new().write(true).open(db).unwrap();
    file.seek(SeekFrom::Start(len / 2 / 4096 * 4096)).unwrap();
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    file.write_all(&garbage).unwrap();
    file.sync_all().unwrap();
}

#[test]
fn a_damaged_store_stops_build_and_serve_with_what_to_do() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    // Enough items for the damage to land in item pages.
    std::fs::write(sandbox.path("config/dumps/001.txt"), news(400, 9000)).unwrap();
    pipeline::run(sandbox.config()).unwrap();
    let db = sandbox.path("var/state/govfeeds.sqlite3");
    damage(&db);
    for command in ["build", "serve"] {
        let out = Command::new(env!("CARGO_BIN_EXE_govfeeds"))
            .args([command, "--config", sandbox.config_path().to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        assert!(
            stderr.contains(&format!("item store {} is damaged", db.display())),
            "{command}: {stderr}"
        );
        assert!(
            stderr.contains("restore it from a backup, or move it aside and run `govfeeds build`"),
            "{command}: {stderr}"
        );
    }
    // Doing what it says works: moved aside, the store is rebuilt from the dumps.
    std::fs::rename(&db, sandbox.path("var/state/damaged.sqlite3")).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert!(summary.is_clean(), "{summary}");
    assert_eq!(summary.total, 421);
}

#[test]
fn a_store_deleted_or_replaced_under_the_daemon_is_opened_again() {
    let (sandbox, addr) = served_sandbox();
    let child = spawn_serve(&sandbox);
    assert!(wait_until(Duration::from_secs(30), || http_get(
        addr, "/healthz"
    )
    .is_some_and(|(s, _)| s == 200)));
    let db = sandbox.path("var/state/govfeeds.sqlite3");
    let count = |path: &std::path::Path| -> i64 {
        rusqlite::Connection::open(path)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM item", [], |r| r.get(0))
            .unwrap_or(-1)
    };
    // Deleted: the daemon notices before its next run and builds a new store from the dumps.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    assert!(
        wait_until(Duration::from_secs(30), || db.exists() && count(&db) == 20),
        "no new store"
    );
    std::fs::write(sandbox.path("config/dumps/001.txt"), news(3, 9000)).unwrap();
    assert!(wait_until(Duration::from_secs(30), || count(&db) == 24));
    assert!(wait_until(Duration::from_secs(10), || http_get(
        addr,
        "/feeds/all.atom"
    )
    .is_some_and(|(_, b)| b.matches("<entry>").count() == 24)));

    // Replaced by another file (a backup put back): the daemon opens that one.
    let backup = sandbox.path("backup.sqlite3");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute("VACUUM INTO ?1", [backup.to_str().unwrap()])
            .unwrap();
        let restored = rusqlite::Connection::open(&backup).unwrap();
        let n = restored
            .execute(
                "UPDATE item SET title = 'Restored from backup' WHERE key LIKE '%/details/9000'",
                [],
            )
            .unwrap();
        assert_eq!(n, 1);
        restored
            .execute(
                "INSERT INTO publish_pending VALUES ('*', '', 0, 0, 1, '2026-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
    }
    std::fs::rename(&backup, &db).unwrap();
    assert!(
        wait_until(Duration::from_secs(30), || http_get(
            addr,
            "/feeds/all.atom"
        )
        .is_some_and(|(_, b)| b.contains("Restored from backup"))),
        "the restored store is not served: {}",
        std::fs::read_to_string(sandbox.path("serve.log")).unwrap()
    );
    assert_eq!(http_get(addr, "/healthz").map(|(s, _)| s), Some(200));
    stop(child);
    let log = std::fs::read_to_string(sandbox.path("serve.log")).unwrap();
    assert!(
        log.contains("was deleted while govfeeds had it open"),
        "{log}"
    );
    assert!(
        log.contains("was replaced while govfeeds had it open"),
        "{log}"
    );
}
