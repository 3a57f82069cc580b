//! `govfeeds serve` and `govfeeds build` as processes: signals, reload, shutdown, and
//! `kill -9` at arbitrary moments.

mod common;

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Running, Sandbox, exit_within, http_get, parse_feed, wait_until};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn signal(child: &Running, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn spawn(sandbox: &Sandbox, command: &str, log: &Path) -> Running {
    Running(
        Command::new(env!("CARGO_BIN_EXE_govfeeds"))
            .args([command, "--config", sandbox.config_path().to_str().unwrap()])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(File::create(log).unwrap())
            .spawn()
            .unwrap(),
    )
}

fn serve_sandbox(dumps: &[&str]) -> (Sandbox, SocketAddr) {
    let sandbox = Sandbox::new(dumps);
    let port = free_port();
    sandbox.set_key("listen", &format!("\"127.0.0.1:{port}\""));
    (sandbox, SocketAddr::from(([127, 0, 0, 1], port)))
}

#[test]
fn sighup_with_a_broken_config_keeps_serving_and_sigterm_exits_promptly() {
    let (sandbox, addr) = serve_sandbox(&["seed.txt"]);
    let log = sandbox.path("serve.log");
    let mut child = spawn(&sandbox, "serve", &log);
    assert!(wait_until(Duration::from_secs(30), || http_get(
        addr, "/healthz"
    )
    .is_some_and(|(s, _)| s == 200)));

    let good = std::fs::read_to_string(sandbox.config_path()).unwrap();
    std::fs::write(
        sandbox.config_path(),
        good.replace("max_items = 50", "max_items = \"many\""),
    )
    .unwrap();
    signal(&child, "HUP");
    assert!(wait_until(Duration::from_secs(10), || {
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("reload rejected")
    }));
    let (status, body) = http_get(addr, "/feeds/all.atom").unwrap();
    assert_eq!((status, body.matches("<entry>").count()), (200, 20));
    assert!(child.try_wait().unwrap().is_none(), "still running");

    // A good config with a new dump is picked up by the next SIGHUP.
    std::fs::write(sandbox.config_path(), good).unwrap();
    sandbox.add_dump("update.txt");
    signal(&child, "HUP");
    assert!(wait_until(Duration::from_secs(10), || {
        http_get(addr, "/feeds/all.atom").is_some_and(|(_, b)| b.matches("<entry>").count() == 24)
    }));

    signal(&child, "TERM");
    let status = exit_within(&mut child, Duration::from_secs(10), "after SIGTERM");
    assert_eq!(status.code(), Some(0));
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("stopped"), "{log}");
}

#[test]
fn a_second_process_on_the_same_state_exits_at_once_naming_the_holder() {
    let (sandbox, addr) = serve_sandbox(&["seed.txt"]);
    let log = sandbox.path("serve.log");
    let mut first = spawn(&sandbox, "serve", &log);
    assert!(wait_until(Duration::from_secs(30), || http_get(
        addr, "/healthz"
    )
    .is_some_and(|(s, _)| s == 200)));
    let state = sandbox.path("var/state").display().to_string();
    for command in ["serve", "build"] {
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_govfeeds"))
            .args([command, "--config", sandbox.config_path().to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{command} waited"
        );
        assert!(stderr.contains(&state), "{command}: {stderr}");
        assert!(
            stderr.contains(&format!("(pid {})", first.id())),
            "{command}: {stderr}"
        );
    }
    // `check` takes no lock; the first process serves on, unharmed.
    let out = Command::new(env!("CARGO_BIN_EXE_govfeeds"))
        .args(["check", "--config", sandbox.config_path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(http_get(addr, "/healthz").map(|(s, _)| s), Some(200));
    signal(&first, "TERM");
    assert!(first.wait().unwrap().success());
    // Released with the process: a build now runs.
    let out = Command::new(env!("CARGO_BIN_EXE_govfeeds"))
        .args(["build", "--config", sandbox.config_path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A dump of `n` distinct items over several entities; every title names `version`, so each new
/// version changes every item.
fn synthetic_dump(path: &Path, n: usize, version: usize) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(File::create(path).unwrap());
    writeln!(out, "Enbekshi QazaQ\n\nWorld\n").unwrap();
    let slugs = [
        "mfa-madrid",
        "mti",
        "minfin",
        "kostanai-kalasy-akimat",
        "edu",
        "ps",
    ];
    for i in 0..n {
        let day = 1 + i % 28;
        writeln!(
            out,
            "Synthetic news item number {i}, version {version}, on cooperation {day:02}.03.2026"
        )
        .unwrap();
        writeln!(
            out,
            "The meeting number {i} was held today.During the meeting the parties discussed {} topics of mutual interest and agreed to continue the dialogue. {}Source : https://www.gov.kz/memleket/entities/{}/press/news/details/{}?lang=kk",
            i % 97,
            "Further details were given. ".repeat(8),
            slugs[i % slugs.len()],
            2_000_000 + i
        )
        .unwrap();
    }
}

/// Checks the database's integrity and that every feed file parses; returns the version of
/// each synthetic item in the store, by item number (`None`: not stored), and how many items
/// the store holds.
fn check_state(sandbox: &Sandbox) -> (Vec<Option<usize>>, i64) {
    let db = rusqlite::Connection::open(sandbox.path("var/state/govfeeds.sqlite3")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let count: i64 = db
        .query_row("SELECT COUNT(*) FROM item", [], |r| r.get(0))
        .unwrap();
    let mut versions = Vec::new();
    let mut select = db
        .prepare("SELECT title FROM item WHERE title LIKE 'Synthetic news item number %'")
        .unwrap();
    for title in select.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        let title = title.unwrap();
        let mut numbers = title
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .map(|n| n.parse::<usize>().unwrap());
        let (i, version) = (numbers.next().unwrap(), numbers.next().unwrap());
        if versions.len() <= i {
            versions.resize(i + 1, None);
        }
        assert!(versions[i].is_none(), "item {i} stored twice");
        versions[i] = Some(version);
    }
    let feeds = sandbox.path("var/public/feeds");
    if feeds.exists() {
        for entry in std::fs::read_dir(feeds).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rss" || e == "atom") {
                parse_feed(&path);
            }
        }
    }
    (versions, count)
}

#[test]
fn kill_9_at_any_moment_leaves_consistent_state_and_loses_nothing() {
    // Version `v` of the dump retitles every item and adds 100 new ones; 6,000 items make a
    // run long enough to be killed between two checkpoints.
    let size = |version: usize| 6_000 + 100 * version;
    let (sandbox, addr) = serve_sandbox(&["seed.txt"]);
    let dump = sandbox.path("config/dumps/big.txt");
    let whole = |version: usize| {
        let (versions, count) = check_state(&sandbox);
        count == 20 + size(version) as i64
            && versions.len() == size(version)
            && versions.iter().all(|v| *v == Some(version))
    };
    let build = |version: usize| {
        synthetic_dump(&dump, size(version), version);
        let start = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_govfeeds"))
            .args(["build", "--config", sandbox.config_path().to_str().unwrap()])
            .output()
            .unwrap();
        assert!(output.status.success());
        assert!(whole(version));
        start.elapsed()
    };
    // A first good state, then a timed run of what every round below does: a new version of the
    // dump, whose items are stored and rendered again.
    build(0);
    let run = build(1);
    let log = sandbox.path("kill.log");
    // Kill moments from early in the ingest to past the end of the run (rendering, publishing).
    let moments = [0.1, 0.35, 0.6, 0.85, 1.1];
    for (round, fraction) in moments.into_iter().enumerate() {
        let version = round + 2;
        let (before, _) = check_state(&sandbox);
        synthetic_dump(&dump, size(version), version);
        let command = if round % 2 == 0 { "build" } else { "serve" };
        let mut child = spawn(&sandbox, command, &log);
        std::thread::sleep(run.mul_f64(fraction));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // What changed is a prefix of the dump, committed checkpoint by checkpoint: the first
        // k items are at the new version, the others as they were.
        let (after, count) = check_state(&sandbox);
        let k = after.iter().take_while(|v| **v == Some(version)).count();
        for (i, v) in after.iter().enumerate().skip(k) {
            assert_eq!(
                *v,
                before.get(i).copied().flatten(),
                "round {round}: item {i}"
            );
        }
        assert_eq!(count, 20 + after.iter().flatten().count() as i64);
    }
    // A clean restart of the daemon: it comes up and ends with the last version of everything,
    // published as a fresh render of the store would publish it.
    let mut child = spawn(&sandbox, "serve", &log);
    assert!(wait_until(Duration::from_secs(60), || http_get(
        addr, "/healthz"
    )
    .is_some_and(|(s, _)| s == 200)));
    signal(&child, "TERM");
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert!(whole(moments.len() + 1));
    let leftovers: Vec<_> = std::fs::read_dir(sandbox.path("var/public/feeds"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temp files cleaned up: {leftovers:?}");
    let public = sandbox.path("var/public");
    let published = common::disk::files(&public);
    common::disk::clear(&public);
    let output = Command::new(env!("CARGO_BIN_EXE_govfeeds"))
        .args(["build", "--config", sandbox.config_path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(
        published == common::disk::files(&public),
        "published = a fresh render"
    );
}

#[test]
fn sigterm_at_any_moment_of_the_first_build_exits_within_5_seconds() {
    let (sandbox, addr) = serve_sandbox(&["seed.txt"]);
    let dump = sandbox.path("config/dumps/big.txt");
    let log = sandbox.path("term.log");
    // How long a first build of new work takes, up to serving.
    synthetic_dump(&dump, 6_000, 0);
    let started = Instant::now();
    let mut child = spawn(&sandbox, "serve", &log);
    assert!(wait_until(Duration::from_secs(120), || http_get(
        addr, "/metrics"
    )
    .is_some()));
    let ready = started.elapsed();
    signal(&child, "TERM");
    assert_eq!(child.wait().unwrap().code(), Some(0));
    // Stopped early in the ingest, late in it, while publishing and compressing, just after.
    for (round, fraction) in [0.1, 0.4, 0.7, 0.9, 1.05].into_iter().enumerate() {
        synthetic_dump(&dump, 6_000, round + 1);
        let mut child = spawn(&sandbox, "serve", &log);
        std::thread::sleep(ready.mul_f64(fraction));
        signal(&child, "TERM");
        let status = exit_within(
            &mut child,
            Duration::from_secs(5),
            &format!("round {round}"),
        );
        assert_eq!(status.code(), Some(0), "round {round}");
        let (versions, _) = check_state(&sandbox);
        assert_eq!(versions.len(), 6_000);
    }
    // The next start goes on from the last checkpoint and ends with everything.
    let mut child = spawn(&sandbox, "serve", &log);
    assert!(wait_until(Duration::from_secs(120), || http_get(
        addr, "/healthz"
    )
    .is_some_and(|(s, _)| s == 200)));
    signal(&child, "TERM");
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let (versions, _) = check_state(&sandbox);
    assert!(versions.iter().all(|v| *v == Some(5)));
}

#[test]
fn out_of_file_descriptors_sheds_idle_connections_and_logs_a_little() {
    use std::io::{Read, Write};
    let (sandbox, addr) = serve_sandbox(&["seed.txt"]);
    let log = sandbox.path("fd.log");
    let mut child = Command::new("sh")
        .args([
            "-c",
            &format!(
                "ulimit -n 128 && exec {} serve --config {}",
                env!("CARGO_BIN_EXE_govfeeds"),
                sandbox.config_path().display()
            ),
        ])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(File::create(&log).unwrap())
        .spawn()
        .map(Running)
        .unwrap();
    assert!(wait_until(Duration::from_secs(30), || http_get(
        addr, "/healthz"
    )
    .is_some_and(|(s, _)| s == 200)));
    // 250 keep-alive clients, each with one request answered (or waiting), then idle.
    let mut idle = Vec::new();
    for _ in 0..250 {
        let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
            continue;
        };
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let _ = stream.write_all(b"GET /feeds/_health.atom HTTP/1.1\r\nHost: t\r\n\r\n");
        let mut buf = [0u8; 2048];
        let _ = stream.read(&mut buf);
        idle.push(stream);
    }
    // A new reader is answered promptly all the same.
    let started = Instant::now();
    let (status, _) = http_get(addr, "/feeds/all.atom").expect("answered");
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_secs(2));
    drop(idle);
    signal(&child, "TERM");
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let log = std::fs::read_to_string(&log).unwrap();
    let reports = log.matches("cannot accept connections").count();
    assert!((1..=3).contains(&reports), "{reports} reports: {log}");
    assert!(log.contains("Too many open files"), "{log}");
    assert!(log.contains("accepting connections again"), "{log}");
}

#[test]
fn talks_to_systemd_through_notify_socket() {
    use std::os::unix::net::UnixDatagram;
    let (sandbox, addr) = serve_sandbox(&["seed.txt"]);
    let socket_path = sandbox.path("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_govfeeds"))
        .args(["serve", "--config", sandbox.config_path().to_str().unwrap()])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "400000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Running)
        .unwrap();
    let mut messages = String::new();
    let receive_until = |needle: &str, messages: &mut String| {
        let mut buf = [0u8; 4096];
        while !messages.contains(needle) {
            let n = socket
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("waiting for {needle}: {e}; got {messages}"));
            messages.push_str(&String::from_utf8_lossy(&buf[..n]));
            messages.push('\n');
        }
    };
    receive_until("READY=1", &mut messages);
    // Ready means serving.
    assert_eq!(http_get(addr, "/healthz").unwrap().0, 200);
    assert!(
        messages.contains("STATUS=serving 69 documents"),
        "{messages}"
    );
    receive_until("WATCHDOG=1", &mut messages);
    signal(&child, "HUP");
    receive_until("RELOADING=1", &mut messages);
    assert!(messages.contains("MONOTONIC_USEC="), "{messages}");
    messages.clear();
    receive_until("READY=1", &mut messages);
    signal(&child, "TERM");
    receive_until("STOPPING=1", &mut messages);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
