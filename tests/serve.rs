//! The static handler over real HTTP on 127.0.0.1: status codes, content types, validators,
//! compression, HEAD, 405, 404 for every traversal spelling.

mod common;

use std::io::Read;

use common::{Daemon, Sandbox, raw_client, raw_status};
use reqwest::header;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_feeds_with_types_validators_and_caching_headers() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    let daemon = Daemon::start(&sandbox).await;
    let client = raw_client();
    for (path, content_type) in [
        ("/feeds/all.rss", "application/rss+xml; charset=utf-8"),
        ("/feeds/mfa.atom", "application/atom+xml; charset=utf-8"),
        ("/feeds/mfa.json", "application/feed+json; charset=utf-8"),
        ("/feeds.opml", "text/x-opml; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
    ] {
        let response = client.get(daemon.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let h = response.headers();
        assert_eq!(h[header::CONTENT_TYPE], content_type, "{path}");
        assert_eq!(h[header::CACHE_CONTROL], "public, max-age=900", "{path}");
        assert_eq!(h[header::VARY], "Accept-Encoding");
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let etag = h[header::ETAG].to_str().unwrap();
        assert!(
            etag.starts_with('"') && !etag.starts_with("W/"),
            "strong ETag: {etag}"
        );
        assert!(h.contains_key(header::LAST_MODIFIED));
    }
    // The served bytes are the published file's bytes.
    let body = client
        .get(daemon.url("/feeds/mfa.atom"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        &body[..],
        &std::fs::read(sandbox.feed_path("mfa", "atom")).unwrap()[..]
    );
    // Last-Modified is the feed's newest item change.
    let lm = client
        .get(daemon.url("/feeds/mfa.atom"))
        .send()
        .await
        .unwrap()
        .headers()[header::LAST_MODIFIED]
        .clone();
    let newest = sandbox.feed("mfa", "atom").updated.unwrap();
    assert_eq!(lm.to_str().unwrap(), httpdate::fmt_http_date(newest.into()));
    assert!(
        lm.to_str().unwrap().starts_with("Tue, 10 Feb 2026 "),
        "{lm:?}"
    );
    // The index page links every feed and autodiscovers the combined one.
    let index = daemon.get_text("/").await;
    assert!(
        index.contains(r#"<link rel="alternate" type="application/atom+xml""#),
        "{index}"
    );
    assert!(
        index.contains(r#"href="http://127.0.0.1:8080/feeds/mfa.rss""#)
            && index.contains(r#"href="http://127.0.0.1:8080/feeds/uigur-sumbe.atom""#)
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_requests_get_304_with_an_empty_body() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    let daemon = Daemon::start(&sandbox).await;
    let client = raw_client();
    let first = client
        .get(daemon.url("/feeds/all.atom"))
        .send()
        .await
        .unwrap();
    let etag = first.headers()[header::ETAG].clone();
    let last_modified = first.headers()[header::LAST_MODIFIED].clone();

    let by_etag = client
        .get(daemon.url("/feeds/all.atom"))
        .header(header::IF_NONE_MATCH, etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(by_etag.status(), 304);
    assert_eq!(by_etag.headers()[header::ETAG], etag);
    assert!(by_etag.bytes().await.unwrap().is_empty());

    let listed = format!("\"nope\", {}", etag.to_str().unwrap());
    let by_list = client
        .get(daemon.url("/feeds/all.atom"))
        .header(header::IF_NONE_MATCH, listed)
        .send()
        .await
        .unwrap();
    assert_eq!(by_list.status(), 304);

    let by_date = client
        .get(daemon.url("/feeds/all.atom"))
        .header(header::IF_MODIFIED_SINCE, last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(by_date.status(), 304);
    let older = client
        .get(daemon.url("/feeds/all.atom"))
        .header(header::IF_MODIFIED_SINCE, "Sun, 01 Feb 2026 00:00:00 GMT")
        .send()
        .await
        .unwrap();
    assert_eq!(older.status(), 200);
    let other = client
        .get(daemon.url("/feeds/all.atom"))
        .header(header::IF_NONE_MATCH, "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);

    let metrics = daemon.get_text("/metrics").await;
    assert!(
        metrics.contains("govfeeds_not_modified_total 3"),
        "{metrics}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_and_brotli_are_negotiated() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    let daemon = Daemon::start(&sandbox).await;
    let client = raw_client();
    let plain = client
        .get(daemon.url("/feeds/all.rss"))
        .send()
        .await
        .unwrap();
    let plain_etag = plain.headers()[header::ETAG].clone();
    let plain = plain.bytes().await.unwrap();

    let gz = client
        .get(daemon.url("/feeds/all.rss"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
    let gz_etag = gz.headers()[header::ETAG].clone();
    let compressed = gz.bytes().await.unwrap();
    assert!(
        compressed.len() < plain.len() / 3,
        "{} vs {}",
        compressed.len(),
        plain.len()
    );
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain);
    assert_ne!(gz_etag, plain_etag, "each encoding has its own strong ETag");

    let br = client
        .get(daemon.url("/feeds/all.rss"))
        .header(header::ACCEPT_ENCODING, "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(br.headers()[header::CONTENT_ENCODING], "br");
    let compressed = br.bytes().await.unwrap();
    let mut decoded = Vec::new();
    brotli::BrotliDecompress(&mut &compressed[..], &mut decoded).unwrap();
    assert_eq!(decoded, plain);

    // The full negotiation table is in tests/handler.rs, against the handler alone.
    // A 304 for the gzip variant uses the gzip ETag.
    let r = client
        .get(daemon.url("/feeds/all.rss"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::IF_NONE_MATCH, gz_etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_405_and_404() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    let daemon = Daemon::start(&sandbox).await;
    let client = raw_client();
    let get = client
        .get(daemon.url("/feeds/mfa.rss"))
        .send()
        .await
        .unwrap();
    let head = client
        .head(daemon.url("/feeds/mfa.rss"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    for name in [
        header::CONTENT_TYPE,
        header::ETAG,
        header::LAST_MODIFIED,
        header::CONTENT_LENGTH,
    ] {
        assert_eq!(head.headers()[&name], get.headers()[&name], "{name}");
    }
    assert!(head.bytes().await.unwrap().is_empty());
    for path in ["/healthz", "/metrics", "/no/such/thing"] {
        let get = client.get(daemon.url(path)).send().await.unwrap();
        let head = client.head(daemon.url(path)).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        let length = get.headers()[header::CONTENT_LENGTH].clone();
        assert_eq!(head.headers()[header::CONTENT_LENGTH], length, "{path}");
        assert_eq!(
            length.to_str().unwrap(),
            get.bytes().await.unwrap().len().to_string(),
            "{path}"
        );
    }

    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let r = client
            .request(method.clone(), daemon.url("/feeds/mfa.rss"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method}");
        assert_eq!(r.headers()[header::ALLOW], "GET, HEAD");
    }
    for path in [
        "/feeds/nope.rss",
        "/feeds/mfa.xml",
        "/feeds/",
        "/feeds",
        "/etc/passwd",
        "/favicon.png",
    ] {
        assert_eq!(
            client.get(daemon.url(path)).send().await.unwrap().status(),
            404,
            "{path}"
        );
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_traversal_spelling_is_404() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    let daemon = Daemon::start(&sandbox).await;
    let addr = daemon.addr;
    // Sanity: the raw client does reach a real document.
    assert_eq!(
        tokio::task::spawn_blocking(move || raw_status(addr, "GET", "/feeds/all.rss"))
            .await
            .unwrap(),
        200
    );
    let spellings = [
        "/feeds/../feeds/all.rss",
        "/feeds/./all.rss",
        "/../index.html",
        "/feeds/%2e%2e/feeds/all.rss",
        "/feeds/%2E%2E/%2E%2E/secret.txt",
        "/feeds%2fall.rss",
        "/feeds%2Fall.rss",
        "/feeds/..%2fall.rss",
        "/feeds\\all.rss",
        "/feeds/..\\..\\secret.txt",
        "/%5c..%5csecret.txt",
        "//feeds/all.rss",
        "/feeds//all.rss",
        "/feeds/all.rss%00",
        "/feeds/all.rss/",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/..%252f..%252fetc/passwd",
        "/feeds/%252e%252e/all.rss",
        "/FEEDS/ALL.RSS",
    ];
    for path in spellings {
        let status = tokio::task::spawn_blocking(move || raw_status(addr, "GET", path))
            .await
            .unwrap();
        assert_eq!(status, 404, "{path}");
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_are_stable_across_identical_builds_and_change_with_content() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    let client = raw_client();
    let etag_of = |daemon: &Daemon, path: &str| {
        let request = client.get(daemon.url(path));
        async move { request.send().await.unwrap().headers()[header::ETAG].clone() }
    };
    let daemon = Daemon::start(&sandbox).await;
    let before = etag_of(&daemon, "/feeds/all.rss").await;
    let mfa_before = etag_of(&daemon, "/feeds/mfa.rss").await;
    let sumbe_before = etag_of(&daemon, "/feeds/uigur-sumbe.rss").await;
    daemon.stop().await;

    // A restart on the same state serves the same bytes under the same ETag.
    let daemon = Daemon::start(&sandbox).await;
    assert_eq!(etag_of(&daemon, "/feeds/all.rss").await, before);

    // A real change (a new dump, picked up by a reload) changes the ETag of affected feeds only.
    sandbox.add_dump("update.txt");
    daemon
        .control
        .send(govfeeds::daemon::Control::Reload)
        .await
        .unwrap();
    let mut changed = false;
    for _ in 0..100 {
        if etag_of(&daemon, "/feeds/all.rss").await != before {
            changed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(changed, "the ETag of all.rss changed after new items");
    let feed = daemon.get_text("/feeds/minfin.atom").await;
    assert!(feed.contains("Budget execution report published"));
    assert_ne!(
        etag_of(&daemon, "/feeds/mfa.rss").await,
        mfa_before,
        "mfa got the Tokyo item"
    );
    assert_eq!(
        etag_of(&daemon, "/feeds/uigur-sumbe.rss").await,
        sumbe_before,
        "untouched feed"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_metrics() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    let daemon = Daemon::start(&sandbox).await;
    let health = raw_client()
        .get(daemon.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let metrics = daemon.get_text("/metrics").await;
    for needle in [
        "govfeeds_source_last_success_timestamp_seconds{source=\"enbekshi-world\"}",
        "govfeeds_source_consecutive_failures{source=\"enbekshi-world\"} 0",
        "govfeeds_source_items_ingested_total{source=\"enbekshi-world\"} 20",
        "govfeeds_builds_total 1",
        "# TYPE govfeeds_documents_served_total counter",
    ] {
        assert!(metrics.contains(needle), "{needle} in {metrics}");
    }
    daemon.stop().await;
}

/// Threads of this process.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_page_requests_share_one_render_and_never_queue_for_long() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    let mut dump = String::from("Site\n\nSection\n\n");
    for i in 0..1_050 {
        dump.push_str(&format!(
            "Embassy news number {i} 10.01.2026\nThe embassy reported item {i}.Source : https://www.gov.kz/memleket/entities/mfa-madrid/press/news/details/{}?lang=kk\n",
            100_000 + i
        ));
    }
    std::fs::write(sandbox.path("config/dumps/001.txt"), dump).unwrap();
    let daemon = Daemon::start(&sandbox).await;
    let client = raw_client();
    let rendered = || async {
        let metrics = daemon.get_text("/metrics").await;
        let line = metrics
            .lines()
            .find(|l| l.starts_with("govfeeds_pages_rendered_total "))
            .expect("pages_rendered_total")
            .to_string();
        line.rsplit(' ').next().unwrap().parse::<u64>().unwrap()
    };
    let threads_before = threads();

    // 300 clients at once for the newest (partial) archive page of `all`: one render.
    let newest = daemon.url("/feeds/archive/all/11.atom");
    let requests = (0..300).map(|_| {
        let (client, url) = (client.clone(), newest.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let r = client.get(url).send().await.unwrap();
            let etag = r.headers()["etag"].to_str().unwrap().to_string();
            (r.status().as_u16(), etag, started.elapsed())
        })
    });
    let answers = futures_util::future::join_all(requests).await;
    let etags: std::collections::HashSet<_> = answers
        .iter()
        .map(|a| {
            let (status, etag, took) = a.as_ref().unwrap();
            assert_eq!(*status, 200);
            assert!(*took < std::time::Duration::from_secs(5), "{took:?}");
            etag.clone()
        })
        .collect();
    assert_eq!(etags.len(), 1);
    assert_eq!(rendered().await, 1, "one render for 300 requests");
    // Asked again: from the cache, until the store changes.
    let again = client.get(&newest).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(rendered().await, 1);

    // 1,070 distinct item pages at once: each answered at once or told to come back, with
    // a bounded number of threads.
    let db = sandbox.path("var/state/govfeeds.sqlite3");
    let pages = common::item_pages(&db);
    let requests = pages.iter().map(|page| {
        let (client, url) = (client.clone(), daemon.url(&format!("/items/{page}.html")));
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let r = client.get(url).send().await.unwrap();
            let retry = r.headers().get("retry-after").cloned();
            (r.status().as_u16(), retry, started.elapsed())
        })
    });
    let answers = futures_util::future::join_all(requests).await;
    let mut ok = 0;
    for answer in answers {
        let (status, retry, took) = answer.unwrap();
        match status {
            200 => ok += 1,
            503 => assert!(retry.is_some(), "a 503 says when to come back"),
            other => panic!("status {other}"),
        }
        assert!(took < std::time::Duration::from_secs(10), "{took:?}");
    }
    assert!(ok > 0);
    let grown = threads().saturating_sub(threads_before);
    assert!(grown <= 40, "{grown} more threads");
    daemon.stop().await;
}
