//! Properties over arbitrary input: the dump parser never panics, any item renders to RSS and
//! Atom that an independent parser reads back unchanged and that pass the publish gate, URL canonicalization is idempotent
//! and ignores the configured parameters.

use std::path::Path;

use chrono::{DateTime, FixedOffset};
use govfeeds::body::Body;
use govfeeds::classify::Classifier;
use govfeeds::config::{Config, FeedName};
use govfeeds::gate;
use govfeeds::identity::{canonical_url, parse_source_url};
use govfeeds::render::{ATOM_TYPE, Document, Edition, FeedDoc, RSS_TYPE, atom, rss};
use govfeeds::source::dump::{DumpParser, Event};
use govfeeds::store::StoredItem;
use govfeeds::text::{clean, collapse_whitespace};
use proptest::prelude::*;

fn config() -> Config {
    let toml = include_str!("fixtures/minimal.toml");
    Config::parse(Path::new("minimal.toml"), toml).unwrap()
}

fn render_both(
    config: &Config,
    title: &str,
    html: &str,
    summary: &str,
) -> (feed_rs::model::Feed, feed_rs::model::Feed) {
    let t: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339("2026-02-10T00:00:00+05:00").unwrap();
    let item = StoredItem {
        guid: "tag:127.0.0.1,2026-02-10:govfeeds/x".into(),
        guid_is_permalink: false,
        link: None,
        entity: Some("mfa".into()),
        feed: "other".into(),
        title: title.into(),
        content_html: html.into(),
        summary: summary.into(),
        published: t,
        updated: t,
        authors: vec![],
        categories: vec![],
        enclosure: None,
        language: None,
        title_language: None,
        page: "0123456789abcdef".into(),
        variant_language: None,
        alternates: vec![],
    };
    let doc = FeedDoc {
        name: FeedName {
            id: "all".into(),
            title: "All".into(),
        },
        description: "d".into(),
        items: vec![item],
        config,
        classifier: Classifier::new(config),
        edition: Edition::Current { archives: 0 },
        created: t,
        languages: vec![],
    };
    let rss = rss::render(&doc).unwrap();
    let atom = atom::render(&doc).unwrap();
    // What we render always passes the publish gate.
    for (path, content_type, bytes) in [
        ("feeds/all.rss", RSS_TYPE, &rss),
        ("feeds/all.atom", ATOM_TYPE, &atom),
    ] {
        let document = Document {
            path: path.into(),
            content_type,
            bytes: bytes.clone(),
            modified: t,
        };
        assert_eq!(gate::check(&document, config), Ok(()), "{path}");
    }
    (
        feed_rs::parser::parse(&rss[..]).expect("RSS parses"),
        feed_rs::parser::parse(&atom[..]).expect("Atom parses"),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn the_dump_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
        for event in DumpParser::new(&bytes[..]) {
            let line = match event {
                Event::Entry(e) => e.line,
                Event::Warning(w) => w.line,
            };
            prop_assert!(line >= 1 && line <= lines);
        }
    }

    #[test]
    fn dump_shaped_text_never_panics(lines in proptest::collection::vec("(\\PC{0,40}( \\d\\d\\.\\d\\d\\.\\d{4})?|•|Source : \\PC{0,20}|\\s*)", 0..40)) {
        let text = lines.join("\n");
        let _ = DumpParser::new(text.as_bytes()).count();
        for line in &lines {
            let body = Body::parse(line, "T");
            let _ = (body.to_html(), body.summary());
        }
    }

    #[test]
    fn any_item_round_trips_through_rss_and_atom(raw_title in "\\PC{1,80}|[<>&\\]\"'\\x00-\\x1f]{1,20}|.*\\]\\]>.*", raw_body in "(\\PC|[<>&\\]\\x01\\x0b])*") {
        let config = config();
        let title = collapse_whitespace(&clean(&raw_title));
        prop_assume!(!title.is_empty());
        let body = Body::parse(&clean(&raw_body), "");
        let html = body.to_html();
        let summary = body.summary();
        let (rss, atom) = render_both(&config, &title, &html, &summary);
        for (format, feed) in [("rss", &rss), ("atom", &atom)] {
            let entry = &feed.entries[0];
            prop_assert_eq!(&entry.title.as_ref().unwrap().content, &title, "{} title", format);
            let content = entry.content.as_ref().and_then(|c| c.body.clone()).unwrap_or_default();
            prop_assert_eq!(&content, &html, "{} content", format);
        }
    }

    #[test]
    fn canonicalization_is_idempotent_and_ignores_configured_params(
        host in "[a-z]{1,10}\\.(kz|org)",
        path in proptest::collection::vec("[a-zA-Z0-9%_-]{0,8}", 0..4),
        params in proptest::collection::vec(("[a-z]{1,5}", "[a-zA-Z0-9 %&=]{0,6}"), 0..4),
        lang in "(kk|ru|en)",
        https in any::<bool>(),
    ) {
        let config = config();
        let ignore = &config.ignore_params;
        let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", v.replace(' ', "+").replace('&', "%26").replace('=', "%3D"))).collect();
        let base = format!("{}://{host}/{}", if https { "https" } else { "http" }, path.join("/"));
        let plain = format!("{base}?{}", query.join("&"));
        let with_lang = format!("{base}?lang={lang}&utm_source=x&{}", query.join("&"));
        let a = canonical_url(&parse_source_url(&plain).unwrap(), ignore);
        let b = canonical_url(&parse_source_url(&with_lang).unwrap(), ignore);
        prop_assert_eq!(&a, &b);
        let again = canonical_url(&parse_source_url(&a).unwrap(), ignore);
        prop_assert_eq!(&a, &again);
        prop_assert!(a.starts_with("https://"));
    }
}
