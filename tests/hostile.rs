//! Hostile upstreams on 127.0.0.1: slow drip, endless body, gzip bomb, lying Content-Length,
//! redirects to other schemes, HTML error pages. Each is cut off by a limit, reported with a
//! clear reason, and bounded in time; the daemon keeps serving throughout.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Daemon, Sandbox};
use govfeeds::pipeline::{self, SourceError, SourceFailure};
use govfeeds::source::feed::FeedError;
use govfeeds::source::fetch::FetchError;

/// A raw HTTP server: reads each request's head, then lets `respond` write whatever it likes.
fn evil_server(respond: fn(&mut TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                    head.push(byte[0]);
                }
                respond(&mut stream);
            });
        }
    });
    addr
}

fn source_sandbox(addr: SocketAddr, kind: &str, fetch: &[(&str, &str)]) -> Sandbox {
    let sandbox = Sandbox::new(&["seed.txt"]);
    sandbox.append_config(&format!(
        "[[source]]\nname = \"evil\"\nkind = \"{kind}\"\nurl = \"http://{addr}/evil\"\nschedule = \"* * * * * *\"\n"
    ));
    for (key, value) in fetch {
        sandbox.set_key(key, value);
    }
    sandbox
}

/// Builds with the evil source; checks the local source was unaffected; returns the reason.
fn evil_reason(
    respond: fn(&mut TcpStream),
    kind: &str,
    fetch: &[(&str, &str)],
    limit: Duration,
) -> Arc<SourceFailure> {
    let addr = evil_server(respond);
    let sandbox = source_sandbox(addr, kind, fetch);
    let started = Instant::now();
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert!(started.elapsed() < limit, "took {:?}", started.elapsed());
    assert_eq!(summary.new, 20, "the other source is unaffected: {summary}");
    assert_eq!(summary.failed.len(), 1, "{summary}");
    summary.failed[0].1.clone()
}

#[test]
fn slow_drip_is_cut_by_the_total_timeout() {
    let reason = evil_reason(
        |s| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
            for _ in 0..30 {
                if s.write_all(b"x").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        },
        "dump",
        &[("timeout_secs", "2")],
        Duration::from_secs(10),
    );
    assert!(
        matches!(&reason.errors[..], [SourceError::Fetch { error: FetchError::Http(e), .. }] if e.is_timeout()),
        "{reason}"
    );
    assert!(reason.to_string().contains("timed out"), "{reason}");
}

#[test]
fn an_endless_body_is_cut_by_the_size_limit() {
    let reason = evil_reason(
        |s| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
            let chunk = format!("{:x}\r\n{}\r\n", 65536, "y".repeat(65536));
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(20)
                && s.write_all(chunk.as_bytes()).is_ok()
            {}
        },
        "dump",
        &[("max_body_mib", "1")],
        Duration::from_secs(15),
    );
    assert!(
        matches!(
            &reason.errors[..],
            [SourceError::Fetch {
                error: FetchError::TooLarge { limit: 1_048_576 },
                ..
            }]
        ),
        "{reason}"
    );
}

#[test]
fn a_gzip_bomb_is_cut_by_the_size_limit_after_decompression() {
    let reason = evil_reason(
        |s| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(&vec![b'A'; 64 * 1024 * 1024]).unwrap();
            let bomb = gz.finish().unwrap();
            assert!(bomb.len() < 200 * 1024, "small compressed: {}", bomb.len());
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
                bomb.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&bomb);
        },
        "dump",
        &[("max_body_mib", "2")],
        Duration::from_secs(15),
    );
    assert!(
        matches!(
            &reason.errors[..],
            [SourceError::Fetch {
                error: FetchError::TooLarge { limit: 2_097_152 },
                ..
            }]
        ),
        "{reason}"
    );
}

#[test]
fn a_content_length_that_lies_is_reported() {
    let reason = evil_reason(
        |s| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nonly this much");
            let _ = s.shutdown(std::net::Shutdown::Both);
        },
        "dump",
        &[],
        Duration::from_secs(10),
    );
    assert!(
        matches!(&reason.errors[..], [SourceError::Fetch { .. }]),
        "{reason}"
    );
    let reason = evil_reason(
        |s| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999\r\n\r\n");
        },
        "dump",
        &[],
        Duration::from_secs(10),
    );
    assert!(
        matches!(
            &reason.errors[..],
            [SourceError::Fetch {
                error: FetchError::TooLarge { .. },
                ..
            }]
        ),
        "{reason}"
    );
}

#[test]
fn a_redirect_to_another_scheme_is_refused() {
    let reason = evil_reason(
        |s| {
            let _ = s.write_all(b"HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1/dump.txt\r\nContent-Length: 0\r\n\r\n");
        },
        "dump",
        &[],
        Duration::from_secs(10),
    );
    assert!(
        matches!(&reason.errors[..], [SourceError::Fetch { error: FetchError::Http(e), .. }] if e.is_redirect()),
        "{reason}"
    );
}

#[test]
fn an_html_error_page_with_status_200_is_not_a_dump_or_a_feed() {
    fn page(s: &mut TcpStream) {
        let body = "<!DOCTYPE html><html><head><title>Error</title></head><body>Service unavailable</body></html>";
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let _ = s.write_all(head.as_bytes());
        let _ = s.write_all(body.as_bytes());
    }
    for kind in ["dump", "feed"] {
        let reason = evil_reason(page, kind, &[], Duration::from_secs(10));
        assert!(
            matches!(
                &reason.errors[..],
                [SourceError::HtmlDump { .. }
                    | SourceError::Feed {
                        error: FeedError::Html,
                        ..
                    }]
            ),
            "{kind}: {reason}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_keeps_serving_while_an_upstream_drips() {
    static REQUESTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let addr = evil_server(|s| {
        if REQUESTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            // The first poll works, so the next one comes a second later, while we watch.
            let body = "Site\n\nWorld\n\nA working item 10.02.2026\nIts body.\n";
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            return;
        }
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
        for _ in 0..10 {
            if s.write_all(b"x").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    let sandbox = source_sandbox(addr, "dump", &[("timeout_secs", "3")]);
    let daemon = Daemon::start(&sandbox).await;
    let client = common::raw_client();
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    while started.elapsed() < Duration::from_secs(4) {
        let t = Instant::now();
        let r = client
            .get(daemon.url("/feeds/all.rss"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        slowest = slowest.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        slowest < Duration::from_millis(500),
        "slowest answer {slowest:?}"
    );
    assert!(
        REQUESTS.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "a dripping poll happened meanwhile"
    );
    daemon.stop().await;
}
