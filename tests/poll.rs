//! Dump sources polled over HTTP from a local upstream started by the test: conditional GET,
//! change detection, and bounded failures (errors, timeouts, oversized bodies, redirect
//! loops) that never affect the other sources.

mod common;

use std::time::{Duration, Instant};

use common::upstream::{self, Mode};
use common::{Daemon, Sandbox};
use govfeeds::pipeline::{self, SourceError};
use govfeeds::source::fetch::FetchError;

const SEED: &str = include_str!("fixtures/seed.txt");

/// A sandbox whose only source is the upstream at `addr`, with `[fetch]` settings.
fn polled(addr: std::net::SocketAddr, schedule: &str, fetch: &[(&str, &str)]) -> Sandbox {
    let sandbox = Sandbox::new(&[]);
    sandbox.set_key("path", &format!("\"http://{addr}/dump.txt\""));
    sandbox.edit_config("path = \"http", "url = \"http");
    sandbox.set_key("schedule", &format!("\"{schedule}\""));
    for (key, value) in fetch {
        sandbox.set_key(key, value);
    }
    sandbox
}

#[test]
fn conditional_get_ingests_once_then_gets_304_and_writes_nothing() {
    let (addr, upstream) = upstream::start(SEED);
    let sandbox = polled(addr, "*/15 * * * *", &[]);
    let first = pipeline::run(sandbox.config()).unwrap();
    assert_eq!((first.read, first.new), (20, 20), "{first}");
    assert_eq!(sandbox.feed("mfa", "atom").entries.len(), 6);
    let feeds = std::fs::metadata(sandbox.feed_path("all", "rss"))
        .unwrap()
        .modified()
        .unwrap();

    let second = pipeline::run(sandbox.config()).unwrap();
    assert_eq!(
        (second.files, second.read, second.written.len()),
        (0, 0, 0),
        "{second}"
    );
    let up = upstream.lock().unwrap();
    assert_eq!(up.requests.len(), 2);
    assert_eq!(up.requests[0], None);
    assert!(
        up.requests[1]
            .as_deref()
            .is_some_and(|v| v.starts_with('"')),
        "{:?}",
        up.requests
    );
    assert!(
        up.user_agents[0].starts_with(&format!(
            "govfeeds/{} (+http://127.0.0.1:8080/)",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        up.user_agents[0]
    );
    drop(up);
    assert_eq!(
        std::fs::metadata(sandbox.feed_path("all", "rss"))
            .unwrap()
            .modified()
            .unwrap(),
        feeds
    );
}

#[test]
fn an_unchanged_body_without_validators_is_not_ingested_again() {
    let (addr, upstream) = upstream::start(SEED);
    upstream.lock().unwrap().mode = Mode::NoValidators;
    let sandbox = polled(addr, "*/15 * * * *", &[]);
    assert_eq!(pipeline::run(sandbox.config()).unwrap().new, 20);
    let again = pipeline::run(sandbox.config()).unwrap();
    assert_eq!(
        (again.files, again.files_unchanged, again.read),
        (0, 1, 0),
        "{again}"
    );

    // A changed body is.
    upstream.lock().unwrap().body = format!("{SEED}\nOne more item 11.02.2026\nIts body.\n");
    let changed = pipeline::run(sandbox.config()).unwrap();
    assert_eq!(
        (changed.read, changed.new, changed.unchanged),
        (21, 1, 20),
        "{changed}"
    );
}

fn failing(mode: Mode, fetch: &[(&str, &str)]) -> (pipeline::Summary, Duration) {
    let (addr, upstream) = upstream::start(SEED);
    upstream.lock().unwrap().mode = mode;
    let sandbox = polled(addr, "*/15 * * * *", fetch);
    // A second, local source keeps working.
    sandbox.add_dump("seed.txt");
    sandbox.append_config("[[source]]\nname = \"local\"\nkind = \"dump\"\npath = \"dumps/*.txt\"\nschedule = \"0 * * * *\"\n");
    let started = Instant::now();
    let summary = pipeline::run(sandbox.config()).unwrap();
    let took = started.elapsed();
    assert_eq!(summary.new, 20, "the local source is unaffected: {summary}");
    assert_eq!(sandbox.feed("all", "atom").entries.len(), 20);
    assert_eq!(summary.failed.len(), 1, "{summary}");
    assert_eq!(summary.failed[0].0, "enbekshi-world");
    (summary, took)
}

#[test]
fn server_errors_fail_the_source_only() {
    let (summary, _) = failing(Mode::Status(500, None), &[]);
    assert!(
        matches!(
            &summary.failed[0].1.errors[..],
            [SourceError::Fetch {
                error: FetchError::Status { status: 500, .. },
                ..
            }]
        ),
        "{summary}"
    );
}

#[test]
fn slow_upstreams_time_out() {
    let (summary, took) = failing(
        Mode::Slow(Duration::from_secs(30)),
        &[("timeout_secs", "1")],
    );
    assert!(
        matches!(&summary.failed[0].1.errors[..], [SourceError::Fetch { error: FetchError::Http(e), .. }] if e.is_timeout()),
        "{summary}"
    );
    assert!(
        took < Duration::from_secs(10),
        "bounded by the timeout: {took:?}"
    );
}

#[test]
fn oversized_bodies_are_cut_off() {
    let (summary, _) = failing(Mode::Huge(3 * 1024 * 1024), &[("max_body_mib", "1")]);
    assert!(
        matches!(
            &summary.failed[0].1.errors[..],
            [SourceError::Fetch {
                error: FetchError::TooLarge { limit: 1_048_576 },
                ..
            }]
        ),
        "{summary}"
    );
}

#[test]
fn redirect_loops_are_bounded() {
    let (summary, _) = failing(Mode::RedirectLoop, &[]);
    assert!(
        matches!(&summary.failed[0].1.errors[..], [SourceError::Fetch { error: FetchError::Http(e), .. }] if e.is_redirect()),
        "{summary}"
    );
}

#[test]
fn failures_are_counted_across_runs_and_cleared_by_a_success() {
    let (addr, upstream) = upstream::start(SEED);
    upstream.lock().unwrap().mode = Mode::Status(503, Some(120));
    let sandbox = polled(addr, "*/15 * * * *", &[]);
    for _ in 0..2 {
        pipeline::run(sandbox.config()).unwrap();
    }
    let state = || {
        let engine = pipeline::Engine::open(sandbox.config()).unwrap();
        engine.source_state("enbekshi-world").unwrap()
    };
    let failed = state();
    assert_eq!(failed.consecutive_failures, 2);
    assert!(
        failed
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("503"))
    );
    assert!(failed.last_success.is_none());
    upstream.lock().unwrap().mode = Mode::Normal;
    pipeline::run(sandbox.config()).unwrap();
    let ok = state();
    assert_eq!(
        (ok.consecutive_failures, ok.last_error.is_none()),
        (0, true)
    );
    assert!(ok.last_success.is_some() && ok.etag.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_reported_to_the_scheduler() {
    let (addr, upstream) = upstream::start(SEED);
    upstream.lock().unwrap().mode = Mode::Status(429, Some(120));
    let sandbox = polled(addr, "*/15 * * * *", &[]);
    let engine = std::sync::Arc::new(pipeline::Engine::open(sandbox.config()).unwrap());
    let source = engine.config().sources[0].clone();
    let run = engine.run_source(&source).await.unwrap();
    let failure = run.failure.expect("failed");
    assert_eq!(failure.retry_after, Some(Duration::from_secs(120)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_picks_up_upstream_changes_and_reports_failures() {
    let (addr, upstream) = upstream::start(SEED);
    // Every second (6 fields, seconds first).
    let sandbox = polled(addr, "* * * * * *", &[("timeout_secs", "2")]);
    let daemon = Daemon::start(&sandbox).await;
    assert_eq!(
        daemon
            .get_text("/feeds/all.atom")
            .await
            .matches("<entry>")
            .count(),
        20
    );

    let update = std::fs::read_to_string(common::repo("tests/fixtures/update.txt")).unwrap();
    upstream.lock().unwrap().body = format!("{SEED}\n{update}");
    let mut entries = 0;
    for _ in 0..100 {
        entries = daemon
            .get_text("/feeds/all.atom")
            .await
            .matches("<entry>")
            .count();
        if entries == 24 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(entries, 24, "new items appear in the served feed");
    let polls = upstream.lock().unwrap().requests.len();
    assert!(polls < 30, "bounded polling: {polls}");

    // The upstream breaks: the feeds stay, /healthz says why once the source is overdue.
    upstream.lock().unwrap().mode = Mode::Status(500, None);
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = daemon.get_text("/metrics").await;
        if !metrics.contains("govfeeds_source_consecutive_failures{source=\"enbekshi-world\"} 0") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !metrics.contains("consecutive_failures{source=\"enbekshi-world\"} 0"),
        "{metrics}"
    );
    assert_eq!(
        daemon
            .get_text("/feeds/all.atom")
            .await
            .matches("<entry>")
            .count(),
        24
    );
    let mut health = (reqwest::StatusCode::OK, String::new());
    for _ in 0..80 {
        let r = common::raw_client()
            .get(daemon.url("/healthz"))
            .send()
            .await
            .unwrap();
        health = (r.status(), r.text().await.unwrap());
        if health.0 != 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(health.0, 503, "{}", health.1);
    assert!(
        health.1.contains("source enbekshi-world") && health.1.contains("500"),
        "{}",
        health.1
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_slower_than_its_schedule_stays_healthy_while_it_succeeds() {
    let (addr, upstream) = upstream::start(SEED);
    // Every second, and each poll takes 3 s.
    let sandbox = polled(addr, "* * * * * *", &[("timeout_secs", "10")]);
    let daemon = Daemon::start(&sandbox).await;
    upstream.lock().unwrap().mode = Mode::Slow(Duration::from_secs(3));
    let started = Instant::now();
    let mut answers = Vec::new();
    while started.elapsed() < Duration::from_secs(12) {
        let r = common::raw_client()
            .get(daemon.url("/healthz"))
            .send()
            .await
            .unwrap();
        answers.push((r.status().as_u16(), r.text().await.unwrap()));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let polls = upstream.lock().unwrap().requests.len();
    assert!(polls >= 3, "{polls} polls");
    let unhealthy: Vec<_> = answers.iter().filter(|(s, _)| *s != 200).collect();
    assert!(unhealthy.is_empty(), "{unhealthy:?}");
    daemon.stop().await;
}
