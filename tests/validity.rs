//! Reader-grade output: every document the daemon serves keeps the rules behind the W3C Feed
//! Validation Service's errors and warnings, checked here with parsers independent of the
//! ones that write them (quick-xml, feed-rs, serde_json); every item is reachable through an
//! item page and RFC 5005 archives; language variants, language feeds and the health feed.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Datelike};
use common::{Daemon, Sandbox, raw_client};
use govfeeds::config::Config;
use govfeeds::gate::Rejection;
use govfeeds::render::{ATOM_TYPE, Document, RSS_TYPE};
use quick_xml::events::Event;
use reqwest::header;

/// Whether a gate verdict is of the expected kind.
type IsRejection = fn(&Rejection) -> bool;

/// An element of a parsed XML document: name, attributes, text, children.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: BTreeMap<String, String>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn parse(xml: &[u8]) -> Node {
        let mut reader = quick_xml::Reader::from_reader(xml);
        let mut stack = vec![Node::default()];
        let mut buf = Vec::new();
        loop {
            let event = reader.read_event_into(&mut buf).expect("well-formed XML");
            match event {
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let mut node = Node {
                        name: e.name().as_ref().to_string(),
                        ..Node::default()
                    };
                    for attr in e.attributes() {
                        let attr = attr.expect("attribute");
                        let value = attr
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .expect("attribute value");
                        node.attrs
                            .insert(attr.key.as_ref().to_string(), value.into_owned());
                    }
                    if matches!(event, Event::Start(_)) {
                        stack.push(node);
                    } else {
                        stack.last_mut().unwrap().children.push(node);
                    }
                }
                Event::Text(t) => stack.last_mut().unwrap().text.push_str(&t.xml10_content()),
                Event::CData(t) => stack.last_mut().unwrap().text.push_str(&t),
                Event::GeneralRef(r) => {
                    let c = match r.resolve_char_ref().expect("char ref") {
                        Some(c) => c.to_string(),
                        None => quick_xml::escape::unescape(&format!("&{};", &*r))
                            .expect("known entity")
                            .into_owned(),
                    };
                    stack.last_mut().unwrap().text.push_str(&c);
                }
                Event::End(_) => {
                    let node = stack.pop().unwrap();
                    stack.last_mut().unwrap().children.push(node);
                }
                Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
        assert_eq!(stack.len(), 1, "every element closed");
        stack.pop().unwrap().children.pop().expect("a root element")
    }

    fn all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Node> + 'a {
        let name = name.to_string();
        self.children.iter().filter(move |c| c.name == name)
    }

    fn one(&self, name: &str) -> &Node {
        let mut found = self.all(name);
        let node = found
            .next()
            .unwrap_or_else(|| panic!("<{}> has no <{name}>", self.name));
        assert!(found.next().is_none(), "<{}> has two <{name}>", self.name);
        node
    }

    fn link(&self, rel: &str) -> Option<&str> {
        self.children
            .iter()
            .filter(|c| c.name == "link" || c.name == "atom:link")
            .find(|c| {
                c.attrs
                    .get("rel")
                    .map(String::as_str)
                    .unwrap_or("alternate")
                    == rel
            })
            .and_then(|c| c.attrs.get("href").map(String::as_str))
    }
}

fn absolute(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// A BCP 47 tag as the validator reads it: primary subtag of 2–3 letters, then subtags.
fn valid_language(tag: &str) -> bool {
    let mut parts = tag.split('-');
    parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Every `href="…"` and `src="…"` in an HTML fragment.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attr in ["href=\"", "src=\""] {
        for (at, _) in html.match_indices(attr) {
            let rest = &html[at + attr.len()..];
            found.push(rest.split('"').next().unwrap_or("").to_string());
        }
    }
    found
}

/// RFC 3339 (InvalidRFC3339Date).
fn check_rfc3339(what: &str, value: &str) {
    DateTime::parse_from_rfc3339(value)
        .unwrap_or_else(|e| panic!("{what}: {value:?} is not RFC 3339: {e}"));
}

/// RFC 2822 with the right day of the week (InvalidRFC2822Date, IncorrectDOW).
fn check_rfc2822(what: &str, value: &str) {
    let date = DateTime::parse_from_rfc2822(value)
        .unwrap_or_else(|e| panic!("{what}: {value:?} is not RFC 2822: {e}"));
    let day = date.weekday().to_string();
    assert!(
        value.starts_with(&day[..3]),
        "{what}: {value:?} is not a {day}"
    );
}

/// The rules behind the validator's messages for an Atom document served at `url`.
fn check_atom(url: &str, xml: &[u8]) -> Vec<String> {
    let feed = Node::parse(xml);
    assert_eq!(feed.name, "feed", "{url}");
    assert_eq!(feed.attrs["xmlns"], "http://www.w3.org/2005/Atom");
    // MissingAtomSelfLink, SelfDoesntMatchLocation, RelativeSelf.
    assert_eq!(feed.link("self"), Some(url), "self link of {url}");
    // MissingElement: id, title, updated; an author for the feed (so for every entry).
    assert!(absolute(&feed.one("id").text), "{url}: feed id");
    assert!(!feed.one("title").text.is_empty());
    check_rfc3339(url, &feed.one("updated").text);
    assert!(!feed.one("author").one("name").text.is_empty());
    let mut ids = Vec::new();
    for node in std::iter::once(&feed).chain(feed.all("entry")) {
        if let Some(lang) = node.attrs.get("xml:lang") {
            assert!(valid_language(lang), "{url}: xml:lang {lang:?}");
        }
        for link in node.all("link") {
            let href = &link.attrs["href"];
            assert!(absolute(href), "{url}: link {href:?}"); // InvalidFullLink
            if let Some(lang) = link.attrs.get("hreflang") {
                assert!(valid_language(lang), "{url}: hreflang {lang:?}");
            }
        }
    }
    let mut updated = HashSet::new();
    for entry in feed.all("entry") {
        let id = entry.one("id").text.clone();
        // DuplicateUpdated: no two entries of a feed share their `updated` time.
        let when = entry.one("updated").text.clone();
        assert!(
            updated.insert(when.clone()),
            "{url}: {id} shares updated {when}"
        );
        // ContainsHTML in a text construct; BadCharacters.
        for part in ["title", "summary"] {
            for node in entry.all(part) {
                if node.attrs.get("type").is_none_or(|t| t == "text") {
                    assert_plain_text(url, &format!("{id} {part}"), &node.text);
                }
            }
        }
        for author in entry.all("author") {
            assert_plain_text(url, &format!("{id} author"), &author.one("name").text);
        }
        assert!(
            absolute(&id) || id.starts_with("tag:"),
            "{url}: entry id {id:?}"
        );
        check_rfc3339(url, &entry.one("updated").text);
        check_rfc3339(url, &entry.one("published").text);
        assert!(
            !entry.one("title").text.trim().is_empty(),
            "{url}: {id} title"
        );
        // MissingContentOrAlternate, and one alternate per (type, hreflang).
        let alternates: Vec<_> = entry
            .all("link")
            .filter(|l| l.attrs.get("rel").is_none_or(|r| r == "alternate"))
            .map(|l| {
                (
                    l.attrs.get("type").cloned(),
                    l.attrs.get("hreflang").cloned(),
                )
            })
            .collect();
        assert!(!alternates.is_empty(), "{url}: {id} has no alternate link");
        let distinct: HashSet<_> = alternates.iter().collect();
        assert_eq!(distinct.len(), alternates.len(), "{url}: {id} alternates");
        for part in ["content", "summary"] {
            for node in entry.all(part) {
                let kind = node.attrs.get("type").map_or("text", String::as_str);
                assert!(matches!(kind, "text" | "html"), "{url}: {part} type {kind}");
                // UndefinedElement: markup is escaped, never raw elements, in type="html".
                assert!(
                    node.children.is_empty(),
                    "{url}: {id} {part} holds elements"
                );
                // ContainsRelRef, and no scripts or event handlers (SecurityRisk).
                for reference in references(&node.text) {
                    assert!(
                        absolute(&reference),
                        "{url}: {id} {part} links to {reference:?}"
                    );
                }
                let lower = node.text.to_ascii_lowercase();
                for risk in [
                    "<script",
                    "<iframe",
                    " onclick=",
                    " onerror=",
                    " style=",
                    "javascript:",
                ] {
                    assert!(!lower.contains(risk), "{url}: {id} {part} holds {risk}");
                }
            }
        }
        ids.push(id);
    }
    assert_unique(url, &ids);
    ids
}

/// The rules behind the validator's messages for an RSS document served at `url`.
fn check_rss(url: &str, xml: &[u8]) -> Vec<String> {
    let rss = Node::parse(xml);
    assert_eq!(
        (rss.name.as_str(), rss.attrs["version"].as_str()),
        ("rss", "2.0")
    );
    let channel = rss.one("channel");
    assert_eq!(channel.link("self"), Some(url), "atom:link self of {url}");
    for element in ["title", "link", "description"] {
        assert!(
            !channel.one(element).text.is_empty(),
            "{url}: channel {element}"
        );
    }
    assert!(absolute(&channel.one("link").text));
    check_rfc2822(url, &channel.one("lastBuildDate").text);
    assert!(valid_language(&channel.one("language").text));
    let mut guids = Vec::new();
    for item in channel.all("item") {
        let guid = item.one("guid"); // MissingGuid
        let permalink = guid.attrs.get("isPermaLink").is_none_or(|v| v == "true");
        if permalink {
            // InvalidHttpGUID, InvalidPermalink.
            assert!(
                absolute(&guid.text),
                "{url}: permalink GUID {:?}",
                guid.text
            );
        } else {
            assert!(
                guid.text.len() >= 20,
                "{url}: GUID {:?} is not unique enough",
                guid.text
            );
        }
        assert!(absolute(&item.one("link").text), "{url}: item link");
        check_rfc2822(url, &item.one("pubDate").text);
        assert_plain_text(url, &guid.text, &item.one("title").text);
        for lang in item.all("dc:language") {
            assert!(
                valid_language(&lang.text),
                "{url}: dc:language {:?}",
                lang.text
            );
        }
        for part in ["description", "content:encoded"] {
            for node in item.all(part) {
                assert!(node.children.is_empty(), "{url}: raw markup in {part}");
                for reference in references(&node.text) {
                    assert!(absolute(&reference), "{url}: {part} links to {reference:?}");
                }
            }
        }
        guids.push(guid.text.clone());
    }
    assert_unique(url, &guids);
    guids
}

/// ContainsHTML: text that a reader shows as is holds no markup; BadCharacters: no C1
/// control characters (bytes of windows-1252 read as Latin-1).
fn assert_plain_text(url: &str, what: &str, text: &str) {
    let tag = text
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'));
    assert!(!tag, "{url}: {what} holds markup: {text:?}");
    for entity in ["&lt;", "&gt;", "&amp;", "&quot;", "&#"] {
        assert!(
            !text.contains(entity),
            "{url}: {what} is escaped twice: {text:?}"
        );
    }
    assert!(
        !text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)),
        "{url}: {what} holds C1 controls: {text:?}"
    );
}

/// The rules behind the validator's messages for the OPML served at `url`: version, a head
/// with a title and RFC 822 dates, outlines with text, feeds as `type="rss"` with absolute
/// `xmlUrl` and `htmlUrl`, each once.
fn check_opml(url: &str, xml: &[u8]) -> Vec<String> {
    let opml = Node::parse(xml);
    assert_eq!(opml.name, "opml", "{url}");
    assert_eq!(opml.attrs["version"], "2.0", "{url}");
    let head = opml.one("head");
    assert!(!head.one("title").text.trim().is_empty(), "{url}: title");
    for date in ["dateCreated", "dateModified"] {
        for node in head.all(date) {
            check_rfc2822(url, &node.text);
        }
    }
    fn outlines<'a>(node: &'a Node, out: &mut Vec<&'a Node>) {
        for child in node.all("outline") {
            out.push(child);
            outlines(child, out);
        }
    }
    let mut all = Vec::new();
    outlines(opml.one("body"), &mut all);
    let mut feeds = Vec::new();
    for outline in all {
        let text = outline.attrs.get("text").map(String::as_str).unwrap_or("");
        assert!(!text.trim().is_empty(), "{url}: an outline without text");
        assert_plain_text(url, "outline text", text);
        if let Some(xml_url) = outline.attrs.get("xmlUrl") {
            assert_eq!(outline.attrs.get("type").map(String::as_str), Some("rss"));
            assert!(absolute(xml_url), "{url}: xmlUrl {xml_url}");
            assert!(absolute(&outline.attrs["htmlUrl"]), "{url}: htmlUrl");
            feeds.push(xml_url.clone());
        }
    }
    assert!(!feeds.is_empty(), "{url} lists feeds");
    assert_unique(url, &feeds);
    feeds
}

fn check_json(url: &str, body: &[u8]) -> Vec<String> {
    let feed: serde_json::Value = serde_json::from_slice(body).expect("JSON");
    assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(feed["feed_url"], url);
    assert!(absolute(feed["home_page_url"].as_str().unwrap()));
    let mut ids = Vec::new();
    for item in feed["items"].as_array().unwrap() {
        assert!(absolute(
            item["url"].as_str().expect("every item has a url")
        ));
        check_rfc3339(url, item["date_published"].as_str().unwrap());
        check_rfc3339(url, item["date_modified"].as_str().unwrap());
        ids.push(item["id"].as_str().unwrap().to_string());
    }
    assert_unique(url, &ids);
    ids
}

/// DuplicateValue, DuplicateEntries.
fn assert_unique(url: &str, ids: &[String]) {
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{url}: ids repeat");
}

/// A dump of `n` items in the seed's format: several entities, every tenth item without a
/// source URL, titles with markup characters, and every seventh item seen again as a Russian
/// variant (`lang=ru`) of the same news.
fn synthetic_dump(n: usize) -> String {
    let entities = ["mfa", "mfa-madrid", "ps", "mti", "emer", "akimat-test"];
    let mut out = String::from("Enbekshi QazaQ\n\nWorld\n\n");
    for i in 0..n {
        let date = format!("{:02}.{:02}.2025", 1 + i % 28, 1 + (i / 28) % 12);
        let entity = entities[i % entities.len()];
        // Markup is reduced to its text; a '<' that starts no tag stays, escaped.
        let title = if i % 2 == 0 {
            "talks & <b>results</b>"
        } else {
            "talks & results <5% \"quoted\""
        };
        out.push_str(&format!(
            "Item {i}: {title} {date}\n\
             The parties discussed cooperation number {i} in detail.They agreed to meet again."
        ));
        if i % 10 != 3 {
            out.push_str(&format!(
                "Source : https://www.gov.kz/memleket/entities/{entity}/press/news/details/{}?lang=kk",
                500_000 + i
            ));
        }
        out.push('\n');
        if i % 7 == 0 && i % 10 != 3 {
            out.push_str(&format!(
                "Пункт {i}: переговоры {date}\nСтороны обсудили сотрудничество номер {i} подробно.\
                 Source : https://www.gov.kz/memleket/entities/{entity}/press/news/details/{}?lang=ru\n",
                500_000 + i
            ));
        }
    }
    out
}

const SYNTHETIC_ITEMS: usize = 260;

/// The seed, the quirks and the synthetic dump; plus, for runs by hand on a large dump (such
/// as `bench/synth_dump.py 100000 1 2400`), the file `GOVFEEDS_EXTRA_DUMP` names.
fn big_sandbox() -> Sandbox {
    let sandbox = Sandbox::new(&["seed.txt", "quirks.txt"]);
    std::fs::write(
        sandbox.path("config/dumps/synthetic.txt"),
        synthetic_dump(SYNTHETIC_ITEMS),
    )
    .unwrap();
    sandbox.append_config(
        "[[topic]]\nid = \"energy\"\ntitle = \"Energy & cooperation\"\nquery = \"energy OR энергетика OR қазақстан\"\n",
    );
    if let Some(extra) = std::env::var_os("GOVFEEDS_EXTRA_DUMP") {
        std::fs::copy(extra, sandbox.path("config/dumps/zz_extra.txt")).unwrap();
    }
    sandbox
}

async fn get(url: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let response = raw_client().get(url).send().await.expect("get");
    assert_eq!(response.status(), 200, "{url}");
    let headers = response.headers().clone();
    (headers, response.bytes().await.expect("body").to_vec())
}

/// Autodiscovery: every HTML page names its feeds in `<link rel="alternate">`.
fn assert_autodiscovery(url: &str, html: &str) {
    for kind in [
        "application/atom+xml",
        "application/rss+xml",
        "application/feed+json",
    ] {
        assert!(
            html.contains(&format!("<link rel=\"alternate\" type=\"{kind}\"")),
            "{url} has no autodiscovery link for {kind}"
        );
    }
    assert!(
        html.contains("<meta name=\"viewport\""),
        "{url}: phone-ready"
    );
    assert!(
        !html.contains("<script"),
        "{url}: no script, and item text escaped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_served_document_keeps_the_validator_rules() {
    let sandbox = big_sandbox();
    let daemon = Daemon::start_at_base_url(&sandbox).await;
    let base = daemon.url("/");
    let public = sandbox.path("var/public");
    let mut checked = BTreeMap::new();
    let mut item_links = BTreeSet::new();
    for entry in common::walk(&public) {
        let path = entry
            .strip_prefix(&public)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let url = format!("{base}{path}");
        let (headers, body) = get(&url).await;
        let content_type = headers[header::CONTENT_TYPE].to_str().unwrap().to_string();
        let ids = match path.rsplit('.').next().unwrap() {
            "atom" => {
                assert_eq!(content_type, "application/atom+xml; charset=utf-8");
                check_atom(&url, &body)
            }
            "rss" => {
                assert_eq!(content_type, "application/rss+xml; charset=utf-8");
                check_rss(&url, &body)
            }
            "json" => {
                assert_eq!(content_type, "application/feed+json; charset=utf-8");
                let feed: serde_json::Value = serde_json::from_slice(&body).unwrap();
                for item in feed["items"].as_array().unwrap() {
                    item_links.insert(item["url"].as_str().unwrap().to_string());
                }
                check_json(&url, &body)
            }
            "html" => {
                assert_eq!(content_type, "text/html; charset=utf-8");
                assert_autodiscovery(&url, std::str::from_utf8(&body).unwrap());
                vec![]
            }
            "opml" => {
                assert_eq!(content_type, "text/x-opml; charset=utf-8");
                check_opml(&url, &body);
                vec![]
            }
            // The site's icon, in three forms (readers show it beside every feed).
            "ico" | "png" | "svg" => {
                let expected = match path.rsplit('.').next() {
                    Some("ico") => "image/x-icon",
                    Some("png") => "image/png",
                    _ => "image/svg+xml",
                };
                assert_eq!(content_type, expected, "{path}");
                assert!(body.len() > 100, "{path}");
                continue;
            }
            other => panic!("unexpected published file {path} ({other})"),
        };
        // EncodingMismatch: the bytes are the UTF-8 the content type says.
        assert!(std::str::from_utf8(&body).is_ok(), "{url} is UTF-8");
        // And feed-rs, as a reader would, agrees on the entries.
        if ["atom", "rss", "json"].iter().any(|e| path.ends_with(e)) {
            let parsed = feed_rs::parser::parse(&body[..]).expect("feed-rs reads it");
            assert_eq!(parsed.entries.len(), ids.len(), "{url}");
        }
        checked.insert(path, ids.len());
    }
    assert!(checked.len() > 60, "{checked:?}");
    assert!(
        checked
            .get("feeds/topic/energy.atom")
            .is_some_and(|n| *n > 0),
        "{checked:?}"
    );

    // Search answers are held to the same rules.
    for q in [
        "energy",
        "\"energy sector\" -Spain",
        "Қазақстан OR Казахстан",
        "nothingmatches lang:kk",
    ] {
        // As a subscriber writes it, filters' colons as they are: the self link is this URL.
        let q = url::form_urlencoded::byte_serialize(q.as_bytes())
            .collect::<String>()
            .replace("%3A", ":");
        for (extension, check) in [
            ("atom", check_atom as fn(&str, &[u8]) -> Vec<String>),
            ("rss", check_rss),
            ("json", check_json),
        ] {
            let url = format!("{base}search.{extension}?q={q}");
            let (_, body) = get(&url).await;
            let ids = check(&url, &body);
            let parsed = feed_rs::parser::parse(&body[..]).expect("feed-rs reads it");
            assert_eq!(parsed.entries.len(), ids.len(), "{url}");
        }
        let url = format!("{base}search?q={q}");
        let (_, body) = get(&url).await;
        assert_autodiscovery(&url, std::str::from_utf8(&body).unwrap());
    }

    // Every item link works: a source URL, or the item's page here.
    let pages: Vec<_> = item_links.iter().filter(|l| l.starts_with(&base)).collect();
    assert!(
        pages.len() >= 5,
        "items without a source URL link to their page: {pages:?}"
    );
    let mut escaped = 0;
    for url in pages {
        let (headers, body) = get(url).await;
        assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
        let html = String::from_utf8(body).unwrap();
        assert_autodiscovery(url, &html);
        escaped += usize::from(html.contains("&lt;5%"));
        assert!(!html.contains("&lt;b&gt;"), "markup is reduced to its text");
    }
    assert!(escaped > 0, "synthetic titles carry '<5%', shown as text");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_hold_the_complete_history_and_full_pages_never_change() {
    let sandbox = big_sandbox();
    let daemon = Daemon::start_at_base_url(&sandbox).await;
    let total = sandbox_total(&sandbox);
    for feed in ["all", "mfa"] {
        let url = daemon.url(&format!("/feeds/{feed}.atom"));
        let (_, body) = get(&url).await;
        let current = Node::parse(&body);
        let mut next = current.link("prev-archive").map(str::to_string);
        assert!(
            next.is_some(),
            "{feed}: more items than max_items, so archives"
        );
        let mut seen = BTreeSet::new();
        let mut pages = 0;
        while let Some(url) = next {
            let (headers, body) = get(&url).await;
            let page = Node::parse(&body);
            assert!(
                page.children.iter().any(|c| c.name == "fh:archive"),
                "{url} is marked fh:archive"
            );
            assert_eq!(
                page.attrs["xmlns:fh"],
                "http://purl.org/syndication/history/1.0"
            );
            assert_eq!(
                page.link("current"),
                Some(daemon.url(&format!("/feeds/{feed}.atom")).as_str())
            );
            assert_eq!(page.link("self"), Some(url.as_str()));
            let ids = check_atom(&url, &body);
            assert!(ids.len() <= 100);
            let cache = headers[header::CACHE_CONTROL].to_str().unwrap();
            if pages > 0 {
                // Every page but the newest is full, so final.
                assert_eq!(ids.len(), 100, "{url}");
                assert_eq!(cache, "public, max-age=31536000, immutable", "{url}");
                let (_, again) = get(&url).await;
                assert_eq!(again, body, "{url}: a full page never changes");
            }
            for id in ids {
                assert!(seen.insert(id), "{url}: an item in two archive pages");
            }
            next = page.link("prev-archive").map(str::to_string);
            pages += 1;
        }
        if feed == "all" {
            assert_eq!(
                seen.len() as u64,
                total,
                "all: the archives hold every item"
            );
            assert_eq!(pages, total.div_ceil(100));
        }
    }
    let past_the_end = format!("/feeds/archive/all/{}.atom", total.div_ceil(100) + 1);
    for missing in [
        "/feeds/archive/all/0.atom",
        "/feeds/archive/all/01.atom",
        &past_the_end,
        "/feeds/archive/nope/1.atom",
        "/items/zzzz.html",
        "/items/0000000000000000.html",
    ] {
        assert_eq!(
            common::raw_status(daemon.addr, "GET", missing),
            404,
            "{missing}"
        );
    }
    daemon.stop().await;
}

fn sandbox_total(sandbox: &Sandbox) -> u64 {
    let store = govfeeds::store::Store::open(&sandbox.config().paths.state_dir).unwrap();
    store.count().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn language_variants_are_one_item_with_alternates_and_language_feeds_filter() {
    let sandbox = big_sandbox();
    let daemon = Daemon::start_at_base_url(&sandbox).await;
    let (_, body) = get(&daemon.url("/feeds/archive/all/1.atom")).await;
    let page = Node::parse(&body);
    let entry = page
        .all("entry")
        .find(|e| e.one("id").text.ends_with("/details/500007"))
        .expect("item 7 is in the first archive page");
    let mut alternates: Vec<(String, String)> = entry
        .all("link")
        .filter(|l| l.attrs["rel"] == "alternate")
        .map(|l| (l.attrs["hreflang"].clone(), l.attrs["href"].clone()))
        .collect();
    alternates.sort();
    assert_eq!(
        alternates,
        vec![
            (
                "kk".to_string(),
                "https://www.gov.kz/memleket/entities/mfa-madrid/press/news/details/500007?lang=kk"
                    .to_string()
            ),
            (
                "ru".to_string(),
                "https://www.gov.kz/memleket/entities/mfa-madrid/press/news/details/500007?lang=ru"
                    .to_string()
            ),
        ]
    );
    // The Russian variant did not replace the English text.
    assert!(entry.one("title").text.starts_with("Item 7:"));
    let total = sandbox_total(&sandbox);
    let others = tokio::task::spawn_blocking(seed_and_quirks_items)
        .await
        .unwrap();
    assert_eq!(
        total,
        others + SYNTHETIC_ITEMS as u64,
        "variants add no items"
    );

    for (lang, feed) in [("en", "all"), ("ru", "all"), ("en", "mfa")] {
        let url = daemon.url(&format!("/feeds/{feed}.{lang}.atom"));
        let (_, body) = get(&url).await;
        let doc = Node::parse(&body);
        assert_eq!(doc.attrs["xml:lang"], lang);
        let entries: Vec<_> = doc.all("entry").collect();
        assert!(!entries.is_empty() || lang == "ru", "{url}");
        for entry in entries {
            assert_eq!(entry.one("content").attrs["xml:lang"], lang, "{url}");
        }
    }
    daemon.stop().await;
}

/// How many items the seed and quirks dumps make on their own.
fn seed_and_quirks_items() -> u64 {
    let sandbox = Sandbox::new(&["seed.txt", "quirks.txt"]);
    govfeeds::pipeline::run(sandbox.config()).unwrap().total
}

#[test]
fn the_health_feed_has_an_entry_when_a_source_fails_and_when_it_recovers() {
    let (addr, upstream) = common::upstream::start(
        &std::fs::read_to_string(common::repo("tests/fixtures/update.txt")).unwrap(),
    );
    upstream.lock().unwrap().mode = common::upstream::Mode::Status(503, None);
    let sandbox = Sandbox::new(&["seed.txt"]);
    sandbox.append_config(&format!(
        "[[source]]\nname = \"polled\"\nkind = \"dump\"\nurl = \"http://{addr}/dump.txt\"\nschedule = \"0 * * * *\"\n"
    ));
    let summary = govfeeds::pipeline::run(sandbox.config()).unwrap();
    assert_eq!(summary.failed.len(), 1);
    // Failing again is no news.
    govfeeds::pipeline::run(sandbox.config()).unwrap();
    upstream.lock().unwrap().mode = common::upstream::Mode::Normal;
    let summary = govfeeds::pipeline::run(sandbox.config()).unwrap();
    assert!(summary.failed.is_empty(), "{summary}");

    let health = sandbox.feed("_health", "atom");
    let titles: Vec<_> = health.entries.iter().map(common::title).collect();
    assert_eq!(titles, vec!["polled recovered", "polled is failing"]);
    assert!(
        common::content(&health.entries[1]).contains("503"),
        "{:?}",
        health.entries[1]
    );
    assert!(common::content(&health.entries[0]).contains("after 2 failed run(s)"));
    let ids: HashSet<_> = health.entries.iter().map(|e| &e.id).collect();
    assert_eq!(ids.len(), 2);
}

fn config() -> Config {
    Config::parse(
        std::path::Path::new("gate.toml"),
        "[site]\ntitle = \"T\"\nbase_url = \"https://feeds.example.org/\"\ntimezone = \"Asia/Almaty\"\nlanguage = \"en\"\n",
    )
    .unwrap()
}

fn atom_doc(self_href: &str, entries: &str) -> Document {
    Document {
        path: "feeds/x.atom".into(),
        content_type: ATOM_TYPE,
        bytes: format!(
            "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>x</title>\
             <id>https://feeds.example.org/feeds/x.atom</id><updated>2026-02-10T00:00:00+05:00</updated>\
             <link rel=\"self\" href=\"{self_href}\"/>{entries}</feed>"
        )
        .into_bytes(),
        modified: DateTime::parse_from_rfc3339("2026-02-10T00:00:00+05:00").unwrap(),
    }
}

fn entry(id: &str, updated: &str, content: &str) -> String {
    format!(
        "<entry><id>{id}</id><title>t</title><updated>{updated}</updated>\
         <link href=\"https://www.gov.kz/a\"/><content type=\"html\">{content}</content></entry>"
    )
}

#[test]
fn the_publish_gate_rejects_what_a_validator_would() {
    let config = config();
    let good_self = "https://feeds.example.org/feeds/x.atom";
    let ok = entry(
        "https://www.gov.kz/1",
        "2026-02-10T00:00:00+05:00",
        "&lt;p&gt;x&lt;/p&gt;",
    );
    assert_eq!(
        govfeeds::gate::check(&atom_doc(good_self, &ok), &config),
        Ok(())
    );
    let cases: [(Document, &str, IsRejection); 6] = [
        (
            atom_doc("http://127.0.0.1:8080/feeds/x.atom", &ok),
            "self link",
            |r| matches!(r, Rejection::SelfLink { .. }),
        ),
        (atom_doc("/feeds/x.atom", &ok), "relative", |r| {
            matches!(r, Rejection::RelativeHref { .. })
        }),
        (atom_doc(good_self, &format!("{ok}{ok}")), "twice", |r| {
            matches!(r, Rejection::DuplicateId { .. })
        }),
        (
            atom_doc(good_self, &entry("https://www.gov.kz/2", "10.02.2026", "x")),
            "RFC 3339",
            |r| {
                matches!(
                    r,
                    Rejection::Date {
                        format: "RFC 3339",
                        ..
                    }
                )
            },
        ),
        (
            atom_doc(
                good_self,
                &entry(
                    "https://www.gov.kz/2",
                    "2026-02-10T00:00:00Z",
                    "&lt;a href=\"/x\"&gt;",
                ),
            ),
            "relative URL",
            |r| matches!(r, Rejection::RelativeReference { .. }),
        ),
        (atom_doc(good_self, "<entry>"), "well-formed", |r| {
            matches!(r, Rejection::Xml { .. })
        }),
    ];
    for (doc, why, expected) in cases {
        let verdict = govfeeds::gate::check(&doc, &config).expect_err(why);
        assert!(expected(&verdict), "{why}: {verdict:?}");
        assert!(verdict.to_string().contains(why), "{why}: {verdict}");
    }
    let rss = Document {
        content_type: RSS_TYPE,
        path: "feeds/x.rss".into(),
        bytes: b"<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>\
            <atom:link rel=\"self\" href=\"https://feeds.example.org/feeds/x.rss\"/>\
            <item><guid>https://www.gov.kz/1</guid><pubDate>Mon, 10 Feb 2026 00:00:00 +0500</pubDate></item>\
            </channel></rss>"
            .to_vec(),
        ..atom_doc(good_self, "")
    };
    let verdict = govfeeds::gate::check(&rss, &config).expect_err("10 February 2026 is a Tuesday");
    assert!(
        matches!(
            verdict,
            Rejection::Date {
                format: "RFC 2822",
                ..
            }
        ),
        "{verdict}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_and_archive_pages_get_validators_304_gzip_and_head() {
    let sandbox = big_sandbox();
    let daemon = Daemon::start_at_base_url(&sandbox).await;
    let feed_page = daemon.get_text("/feeds/all.html").await;
    let item_page = feed_page
        .split("href=\"")
        .filter_map(|part| part.split('"').next())
        .find(|href| href.contains("/items/"))
        .expect("the feed page links item pages")
        .to_string();
    let client = raw_client();
    for url in [item_page, daemon.url("/feeds/archive/all/1.atom")] {
        let first = client.get(&url).send().await.unwrap();
        assert_eq!(first.status(), 200, "{url}");
        let etag = first.headers()[header::ETAG].clone();
        let length = first.headers()[header::CONTENT_LENGTH].clone();
        assert!(first.headers().contains_key(header::LAST_MODIFIED));
        let identity = first.bytes().await.unwrap();
        let again = client
            .get(&url)
            .header(header::IF_NONE_MATCH, etag.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{url}");
        let head = client.head(&url).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers()[header::CONTENT_LENGTH], length);
        assert!(head.bytes().await.unwrap().is_empty());
        let gzip = client
            .get(&url)
            .header(header::ACCEPT_ENCODING, "gzip, br")
            .send()
            .await
            .unwrap();
        assert_eq!(gzip.headers()[header::CONTENT_ENCODING], "gzip", "{url}");
        assert_ne!(gzip.headers()[header::ETAG], etag);
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&gzip.bytes().await.unwrap()[..]),
            &mut decoded,
        )
        .unwrap();
        assert_eq!(decoded, identity, "{url}");
    }
    daemon.stop().await;
}
