//! Search and query feeds, through the daemon over HTTP on real fixtures in Kazakh, Russian
//! and English (`tests/fixtures/search.txt`): inflected forms, folded letters, phrases, OR,
//! exclusions, filters, malformed queries, the search page, and a query feed's 304s.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{Daemon, Sandbox, raw_client};
use reqwest::{StatusCode, header};

/// The news ids (the last path segment of each entry's link) of the query feed of `q`.
async fn ids(daemon: &Daemon, q: &str) -> BTreeSet<String> {
    feed(&search_url(daemon, "/search.atom", q))
        .await
        .entries
        .iter()
        .map(|e| {
            let link = &e.links[0].href;
            let id = link.rsplit('/').next().unwrap_or_default();
            id.split('?').next().unwrap_or_default().to_string()
        })
        .collect()
}

/// The feed at `url`, answered with a 200 and read by feed-rs.
async fn feed(url: &str) -> feed_rs::model::Feed {
    let response = raw_client().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    let bytes = response.bytes().await.unwrap();
    feed_rs::parser::parse(&bytes[..]).unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// The URL of `path` searching for `q`.
fn search_url(daemon: &Daemon, path: &str, q: &str) -> String {
    let q: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
    daemon.url(&format!("{path}?q={q}"))
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

async fn daemon() -> (Sandbox, Daemon) {
    let sandbox = Sandbox::new(&["search.txt"]);
    let daemon = Daemon::start_at_base_url(&sandbox).await;
    (sandbox, daemon)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inflected_forms_and_folded_letters_are_found_in_three_languages() {
    let (_sandbox, daemon) = daemon().await;
    for (q, expected) in [
        // Russian: the stem meets Казахстана, Казахстаном; a Kazakh Қ is another letter.
        ("Казахстан", &["3001"][..]),
        ("казахстаном", &["3001"]),
        ("визы", &["3001"]),
        // Ё is Е.
        ("елка", &["3005"]),
        ("ЁЛКУ", &["3005"]),
        // English: visa, visas.
        ("visa", &["3003", "3004"]),
        ("VISAS", &["3003", "3004"]),
        // Kazakh by prefix: салық, салықтың, салықтар; Kazakh capitals fold.
        ("салық", &["3002"]),
        ("САЛЫҚТАР", &["3002"]),
        ("қазақстан", &["3007"]),
        ("Спорт Алматы", &["3006"]),
        // Latin and Cyrillic spellings are different words.
        ("Kazakhstan", &["3003"]),
    ] {
        assert_eq!(ids(&daemon, q).await, set(expected), "{q}");
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phrases_or_exclusions_and_filters() {
    let (_sandbox, daemon) = daemon().await;
    for (q, expected) in [
        ("\"visa talks\"", &["3004"][..]),
        ("\"talks visa\"", &[]),
        ("visa -schengen", &["3003"]),
        ("visa OR салық", &["3002", "3003", "3004"]),
        ("visa feed:mfa", &["3004"]),
        ("feed:mfa", &["3001", "3004"]),
        ("entity:mfa-*", &["3001"]),
        ("lang:kk", &["3002", "3007"]),
        ("lang:ru -спорт", &["3001", "3005"]),
        ("after:2026-02-12", &["3003", "3006", "3007"]),
        ("before:2026-02-01", &["3005"]),
        ("visa after:2026-02-10 before:2026-02-13", &["3003"]),
        // Words with filters (FTS5 narrows by the filters' field tokens, SQL decides).
        ("визы entity:mfa-*", &["3001"]),
        ("визы entity:mfa", &[]),
        ("visa entity:m?i", &["3003"]),
        ("visa OR визы lang:ru", &["3001"]),
        ("visa feed:mfa lang:en", &["3004"]),
        ("visa feed:mfa lang:ru", &[]),
    ] {
        assert_eq!(ids(&daemon, q).await, set(expected), "{q}");
    }
    // The self link is the URL subscribed to, colons as they are (the W3C validator warns
    // when they differ).
    let url = daemon.url("/search.atom?q=visa+feed:mfa");
    let feed = feed(&url).await;
    let own = feed.links.iter().find(|l| l.rel.as_deref() == Some("self"));
    assert_eq!(own.map(|l| l.href.as_str()), Some(url.as_str()));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_queries_are_a_400_that_says_what_is_wrong() {
    let (_sandbox, daemon) = daemon().await;
    let client = raw_client();
    for (q, says) in [
        ("", "empty"),
        ("title:visa", "unknown filter \"title:\""),
        ("\"visa", "quotation mark"),
        ("visa OR", "OR must stand"),
        ("-visa", "only excludes"),
        ("lang:russian", "lang:russian is not valid"),
        ("after:2026-13-01", "after:2026-13-01 is not valid"),
        ("NEAR(visa talks) OR", "OR must stand"),
    ] {
        for path in ["/search.atom", "/search.rss", "/search.json", "/search"] {
            if q.is_empty() && path == "/search" {
                continue;
            }
            let response = client
                .get(search_url(&daemon, path, q))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path} {q}");
            let text = response.text().await.unwrap();
            assert!(
                text.contains(&says.replace('"', "&quot;")) || text.contains(says),
                "{path} {q}: {text}"
            );
        }
    }
    let long = "word ".repeat(120);
    let response = client
        .get(search_url(&daemon, "/search.atom", &long))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let post = client
        .post(daemon.url("/search.atom?q=visa"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    // The empty form is a page, not an error.
    let form = client.get(daemon.url("/search")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await.unwrap().contains("<form role=\"search\""));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_page_highlights_discovers_feeds_and_pages() {
    let sandbox = Sandbox::new(&["search.txt"]);
    // 25 more matches, so that the results need two pages.
    let mut dump = String::from("Site\n\nSection\n\n");
    for n in 0..25 {
        dump.push_str(&format!(
            "Visa centre news number {n} 0{}.02.2026\nThe visa centre opened window {n}.Source : https://www.gov.kz/memleket/entities/mfa/press/news/details/{}?lang=en\n",
            1 + n % 9,
            4000 + n
        ));
    }
    std::fs::write(sandbox.path("config/dumps/more.txt"), dump).unwrap();
    let daemon = Daemon::start_at_base_url(&sandbox).await;
    let page = daemon.get_text("/search?q=visas").await;
    let base = daemon.url("/");
    assert!(page.contains(&format!(
        "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"Kazakhstan government news: visas (Atom)\" href=\"{base}search.atom?q=visas\">"
    )), "{page}");
    assert_eq!(page.matches("<li><a href").count(), 20, "{page}");
    assert!(page.contains("<mark>visa</mark>"), "{page}");
    assert!(
        page.contains(&format!(
            "rel=\"next\" href=\"{base}search?q=visas&amp;page=2\""
        )),
        "{page}"
    );
    assert!(!page.contains("rel=\"prev\""));
    let second = daemon.get_text("/search?q=visas&page=2").await;
    assert_eq!(second.matches("<li><a href").count(), 7, "{second}");
    assert!(second.contains("rel=\"prev\""));
    assert!(!second.contains("rel=\"next\""));
    // The box on the index page leads here.
    let index = daemon.get_text("/").await;
    assert!(
        index.contains(&format!("action=\"{base}search\"")),
        "{index}"
    );
    daemon.stop().await;
}

/// The number of `govfeeds_pages_rendered_total`.
async fn renders(daemon: &Daemon) -> u64 {
    let metrics = daemon.get_text("/metrics").await;
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("govfeeds_pages_rendered_total "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{metrics}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_feed_is_304_until_an_ingest_brings_a_new_match() {
    let sandbox = Sandbox::new(&["search.txt"]);
    sandbox.set_key("schedule", "\"* * * * * *\"");
    let daemon = Daemon::start_at_base_url(&sandbox).await;
    let client = raw_client();
    let url = daemon.url("/search.atom?q=visa");
    let first = client.get(&url).send().await.unwrap();
    let etag = first.headers()[header::ETAG].clone();
    let poll = || async {
        client
            .get(&url)
            .header(header::IF_NONE_MATCH, etag.clone())
            .send()
            .await
            .unwrap()
    };
    // Polls while nothing is ingested: 304s, and the query does not run again.
    let before = renders(&daemon).await;
    for _ in 0..5 {
        assert_eq!(poll().await.status(), StatusCode::NOT_MODIFIED);
    }
    assert_eq!(renders(&daemon).await, before, "answered from the cache");

    // An ingest that brings no match: the feed's bytes and ETag stay.
    std::fs::write(
        sandbox.path("config/dumps/zz_other.txt"),
        "Site\n\nSection\n\nA new stadium in Shymkent 15.02.2026\nThe stadium opened.Source : https://www.gov.kz/memleket/entities/shymkent/press/news/details/5001?lang=en\n",
    )
    .unwrap();
    let started = Instant::now();
    while ids(&daemon, "stadium").await.is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20), "not ingested");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(poll().await.status(), StatusCode::NOT_MODIFIED);

    // An ingest that brings one: a 200 with the new item and a new ETag.
    std::fs::write(
        sandbox.path("config/dumps/zz_visa.txt"),
        "Site\n\nSection\n\nE-visas for students 16.02.2026\nStudents can apply for e-visas.Source : https://www.gov.kz/memleket/entities/mfa/press/news/details/5002?lang=en\n",
    )
    .unwrap();
    let started = Instant::now();
    let response = loop {
        let response = poll().await;
        if response.status() == StatusCode::OK {
            break response;
        }
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert!(started.elapsed() < Duration::from_secs(20), "no new match");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_ne!(response.headers()[header::ETAG], etag);
    let feed = feed_rs::parser::parse(&response.bytes().await.unwrap()[..]).unwrap();
    assert_eq!(feed.entries.len(), 3);
    assert_eq!(
        feed.entries[0].title.as_ref().map(|t| t.content.as_str()),
        Some("E-visas for students")
    );
    daemon.stop().await;
}

#[test]
fn a_topic_from_the_config_is_published_like_a_ministry_feed() {
    let sandbox = Sandbox::new(&["search.txt"]);
    sandbox.append_config(
        "[[topic]]\nid = \"visas\"\ntitle = \"Visas\"\nquery = \"visa OR виза -schengen\"\n",
    );
    let summary = govfeeds::pipeline::run(sandbox.config()).unwrap();
    assert!(summary.failed.is_empty(), "{summary}");
    let ids = |feed: &feed_rs::model::Feed| -> BTreeSet<String> {
        feed.entries
            .iter()
            .map(|e| {
                e.links[0]
                    .href
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .split('?')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let feed = sandbox.feed("topic/visas", "atom");
    assert_eq!(feed.title.as_ref().unwrap().content, "Visas");
    assert_eq!(ids(&feed), set(&["3001", "3003"]));
    assert_eq!(
        ids(&sandbox.feed("topic/visas", "rss")),
        set(&["3001", "3003"])
    );
    assert_eq!(ids(&sandbox.feed("topic/visas.ru", "atom")), set(&["3001"]));
    assert_eq!(ids(&sandbox.feed("topic/visas.en", "atom")), set(&["3003"]));
    // In the OPML, a group of its own; on the index page, a row.
    let opml = std::fs::read_to_string(sandbox.path("var/public/feeds.opml")).unwrap();
    let topics = opml
        .split("<outline text=\"Topics\">")
        .nth(1)
        .expect("a Topics group");
    assert!(topics.contains("feeds/topic/visas.atom"), "{opml}");
    let index = std::fs::read_to_string(sandbox.path("var/public/index.html")).unwrap();
    assert!(index.contains("feeds/topic/visas.html"), "{index}");
    // A new match is in the topic after the next build.
    std::fs::write(
        sandbox.path("config/dumps/zz_visa.txt"),
        "Site\n\nSection\n\nE-visas for students 16.02.2026\nStudents can apply for e-visas.Source : https://www.gov.kz/memleket/entities/mfa/press/news/details/5002?lang=en\n",
    )
    .unwrap();
    govfeeds::pipeline::run(sandbox.config()).unwrap();
    assert_eq!(
        ids(&sandbox.feed("topic/visas", "atom")),
        set(&["3001", "3003", "5002"])
    );
}
