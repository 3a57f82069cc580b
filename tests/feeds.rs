//! Upstream feeds as sources: a fixture corpus (tests/fixtures/feeds/) served by a local
//! server, built into our feeds, and read back with feed-rs.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::{Sandbox, content, upstream};
use govfeeds::pipeline::{self, SourceError};
use govfeeds::source::fetch::FetchError;

/// Copies the fixture corpus into a temp folder served over HTTP.
fn corpus() -> (tempfile::TempDir, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(common::repo("tests/fixtures/feeds")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let addr = upstream::serve_dir(dir.path().to_path_buf());
    (dir, addr)
}

fn feed_source(sandbox: &Sandbox, name: &str, url: &str, extra: &str) {
    sandbox.append_config(&format!(
        "[[source]]\nname = \"{name}\"\nkind = \"feed\"\nurl = \"{url}\"\nschedule = \"0 * * * *\"\n{extra}\n"
    ));
}

const GOOD: [&str; 10] = [
    "rss091.xml",
    "rss10.rdf",
    "rss20.xml",
    "atom03.xml",
    "atom10.xml",
    "feed.json",
    "cp1251.xml",
    "koi8r.xml",
    "missing-dates.xml",
    "duplicate-ids.xml",
];

/// The broken fixtures, each with the reason its source must fail with.
const BROKEN: [(&str, &str); 4] = [
    ("truncated.xml", "not a valid feed: 4:36: the document ends"),
    ("html-page.html", "HTML page, not a feed"),
    ("wrong-encoding.xml", "not a valid feed: 3:"),
    // Found by the feed_mapping fuzz target: the XML reader under feed-rs panics on it.
    (
        "fuzz-crash-set-encoding.bin",
        "not a valid feed: the parser broke",
    ),
];

/// The gov.kz-shaped fixture: whole HTML pages as descriptions, relative image URLs, a bare
/// migrated date.
const GOVKZ: &str = "govkz.xml";

/// The corpus holds exactly the fixtures the tests name: a fuzzing run once wrote hundreds of
/// unnamed inputs into it, and they were served and committed along with the real ones.
#[test]
fn the_corpus_holds_only_named_fixtures() {
    let mut on_disk: Vec<String> = std::fs::read_dir(common::repo("tests/fixtures/feeds"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut named: Vec<&str> = GOOD
        .into_iter()
        .chain(BROKEN.map(|(name, _)| name))
        .chain([GOVKZ])
        .collect();
    named.sort();
    assert_eq!(on_disk, named);
}

fn corpus_sandbox(addr: SocketAddr) -> Sandbox {
    let sandbox = Sandbox::new(&["seed.txt"]);
    for name in GOOD {
        feed_source(&sandbox, name, &format!("http://{addr}/{name}"), "");
    }
    sandbox
}

fn entry<'a>(feed: &'a feed_rs::model::Feed, title: &str) -> &'a feed_rs::model::Entry {
    feed.entries
        .iter()
        .find(|e| e.title.as_ref().is_some_and(|t| t.content == title))
        .unwrap_or_else(|| {
            let titles: Vec<_> = feed
                .entries
                .iter()
                .filter_map(|e| e.title.as_ref().map(|t| t.content.clone()))
                .collect();
            panic!("no entry titled {title:?} in {titles:?}")
        })
}

#[test]
fn every_format_in_the_corpus_becomes_items() {
    let (_dir, addr) = corpus();
    let sandbox = corpus_sandbox(addr);
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert!(summary.failed.is_empty(), "{summary}");
    // 20 from the dump, 1+1+2+1+1+1+1+1+1 from the feeds, and 2 from duplicate-ids (one id twice).
    assert_eq!(summary.total, 20 + 10 + 2, "{summary}");
    for ext in ["atom", "rss"] {
        let all = sandbox.feed("all", ext);
        let titles = [
            "RSS 0.91 item about trade",
            "RSS 1.0 item on energy",
            "Встреча министров & партнёров",
            "Second RSS 2 item",
            "Atom 0.3 entry on healthcare",
            "Жаңа заң қабылданды",
            "JSON Feed item on education",
            "Новости Казахстана в кодировке 1251",
            "Заголовок в кодировке KOI8-R",
            "An undated item",
            "Linkless unique entry",
        ];
        for title in titles {
            entry(&all, title);
        }
        let dups = all
            .entries
            .iter()
            .filter(|e| {
                e.title
                    .as_ref()
                    .is_some_and(|t| t.content.starts_with("Duplicate id"))
            })
            .count();
        assert_eq!(dups, 1, "{ext}: two entries with one id are one item");
    }
}

#[test]
fn links_are_resolved_and_html_is_sanitized() {
    let (_dir, addr) = corpus();
    let sandbox = corpus_sandbox(addr);
    pipeline::run(sandbox.config()).unwrap();
    let all = sandbox.feed("all", "atom");

    let meeting = entry(&all, "Встреча министров & партнёров");
    // Relative link resolved against the feed URL; utm_* dropped from the identity only.
    assert_eq!(
        meeting.links[0].href,
        format!("http://{addr}/news/2026/meeting?utm_source=rss")
    );
    assert_eq!(meeting.id, format!("https://{addr}/news/2026/meeting"));
    let html = content(meeting);
    assert!(
        html.contains(&format!(r#"href="http://{addr}/ru/partners""#)),
        "{html}"
    );
    assert!(
        html.contains(&format!(r#"src="http://{addr}/img/photo.png""#)),
        "{html}"
    );
    assert!(html.contains("Стороны обсудили"));
    assert_eq!(meeting.authors[0].name.as_deref(), Some("Пресс-служба"));
    assert!(meeting.categories.iter().any(|c| c.term == "Diplomacy"));
    let enclosure = meeting
        .links
        .iter()
        .find(|l| l.rel.as_deref() == Some("enclosure"))
        .unwrap();
    assert_eq!(enclosure.href, format!("http://{addr}/images/meeting.jpg"));

    let law = entry(&all, "Жаңа заң қабылданды");
    assert_eq!(
        law.links[0].href, "https://example.kz/blog/posts/new-law",
        "xml:base applied"
    );
    let html = content(law);
    assert!(
        html.contains("https://example.kz/docs/law.pdf"),
        "xhtml links absolute: {html}"
    );
    assert_eq!(
        law.categories
            .iter()
            .map(|c| c.term.as_str())
            .collect::<Vec<_>>()[1],
        "Құқық"
    );

    // Nothing dangerous survives anywhere, in any format.
    for ext in ["atom", "rss"] {
        let text = std::fs::read_to_string(sandbox.feed_path("all", ext)).unwrap();
        for bad in [
            "<script",
            "&lt;script",
            "iframe",
            "onclick",
            "onerror",
            "javascript:",
            "steal()",
            "evil()",
            "position:fixed",
        ] {
            assert!(!text.contains(bad), "{bad} survived in all.{ext}");
        }
    }
    // The entry language is kept (xml:lang on the content, dc:language in RSS).
    let atom = std::fs::read_to_string(sandbox.feed_path("all", "atom")).unwrap();
    assert!(
        atom.contains(r#"<content xml:lang="kk" type="html">"#),
        "atom10 entry language"
    );
    let rss = std::fs::read_to_string(sandbox.feed_path("all", "rss")).unwrap();
    assert!(rss.contains("<dc:language>ru</dc:language>"));
    assert!(rss.contains(&format!(
        r#"<enclosure url="http://{addr}/images/meeting.jpg" length="12345" type="image/jpeg"/>"#
    )));
}

#[test]
fn undated_entries_keep_their_first_seen_date() {
    let (dir, addr) = corpus();
    let sandbox = corpus_sandbox(addr);
    pipeline::run(sandbox.config()).unwrap();
    let first = entry(&sandbox.feed("all", "atom"), "An undated item")
        .published
        .unwrap();
    // The feed changes (so it is parsed again), the entry still has no date.
    let path = dir.path().join("missing-dates.xml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("Undated body.", "Undated body, edited.");
    std::fs::write(&path, text).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!(summary.updated, 1, "{summary}");
    let again = entry(&sandbox.feed("all", "atom"), "An undated item")
        .published
        .unwrap();
    assert_eq!(first, again, "never replaced by a later now");
}

#[test]
fn broken_upstreams_fail_their_source_and_keep_its_items() {
    let (dir, addr) = corpus();
    let sandbox = Sandbox::new(&["seed.txt"]);
    feed_source(&sandbox, "flaky", &format!("http://{addr}/flaky.xml"), "");
    feed_source(&sandbox, "json", &format!("http://{addr}/feed.json"), "");
    std::fs::copy(dir.path().join("rss20.xml"), dir.path().join("flaky.xml")).unwrap();
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!(summary.total, 23, "{summary}");

    for (fixture, expected) in BROKEN {
        std::fs::copy(dir.path().join(fixture), dir.path().join("flaky.xml")).unwrap();
        let summary = pipeline::run(sandbox.config()).unwrap();
        assert_eq!(summary.failed.len(), 1, "{summary}");
        assert_eq!(summary.failed[0].0, "flaky");
        assert!(
            summary.failed[0].1.to_string().contains(expected),
            "{}",
            summary.failed[0].1
        );
        assert_eq!(summary.total, 23, "earlier items stay");
        let all = sandbox.feed("all", "atom");
        entry(&all, "Встреча министров & партнёров");
        entry(&all, "JSON Feed item on education");
    }
    let engine = pipeline::Engine::open(sandbox.config()).unwrap();
    assert_eq!(
        engine.source_state("flaky").unwrap().consecutive_failures,
        4
    );
}

#[test]
fn one_unreadable_entry_is_skipped_and_counted_and_the_others_kept() {
    // A summary typed `text/plain` (read as text), an RSS media title typed `text/html` (read
    // as HTML), and content both out of line and typed `text` (unreadable: skipped).
    let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Mixed</title><id>urn:mixed</id>
<updated>2026-02-10T00:00:00Z</updated>
<entry><title>Plain summary</title><id>urn:1</id><link href="https://example.org/1"/>
  <updated>2026-02-10T01:00:00Z</updated><summary type="text/plain">Read as text.</summary></entry>
<entry><title>Unreadable</title><id>urn:2</id><link href="https://example.org/2"/>
  <updated>2026-02-10T02:00:00Z</updated><content type="text" src="https://example.org/2.txt"/></entry>
<entry><title>Ordinary</title><id>urn:3</id><link href="https://example.org/3"/>
  <updated>2026-02-10T03:00:00Z</updated><summary>Fine.</summary></entry>
</feed>"#;
    let (addr, _up) = upstream::start(atom);
    let sandbox = Sandbox::new(&["seed.txt"]);
    feed_source(&sandbox, "mixed", &format!("http://{addr}/mixed.xml"), "");
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert!(summary.failed.is_empty(), "{summary}");
    assert_eq!(summary.new, 22, "{summary}");
    assert_eq!(
        summary.skipped.get("unreadable feed entry"),
        Some(&1),
        "{summary}"
    );
    let all = sandbox.feed("all", "atom");
    assert!(content(entry(&all, "Plain summary")).contains("Read as text."));
    entry(&all, "Ordinary");
    assert!(all.entries.iter().all(|e| common::title(e) != "Unreadable"));
}

#[test]
fn a_feed_entry_and_a_dump_item_with_the_same_url_are_one_item() {
    let (dir, addr) = corpus();
    std::fs::create_dir_all(dir.path().join("govkz/mfa-madrid")).unwrap();
    std::fs::create_dir_all(dir.path().join("govkz/mti")).unwrap();
    std::fs::copy(
        dir.path().join(GOVKZ),
        dir.path().join("govkz/mfa-madrid/en.xml"),
    )
    .unwrap();
    std::fs::copy(
        dir.path().join("rss091.xml"),
        dir.path().join("govkz/mti/en.xml"),
    )
    .unwrap();
    let sandbox = Sandbox::new(&["seed.txt"]);
    sandbox.append_config(&format!(
        "[[source]]\nname = \"govkz\"\nkind = \"govkz\"\nentities = [\"mfa-madrid\", \"mti\", \"missing\"]\nlang = \"en\"\n\
         endpoint = \"http://{addr}/govkz/{{entity}}/{{lang}}.xml\"\npause_ms = 50\nschedule = \"*/30 * * * *\"\n"
    ));
    let summary = pipeline::run(sandbox.config()).unwrap();
    // The missing entity fails; the other two are ingested.
    assert_eq!(summary.failed.len(), 1, "{summary}");
    assert!(
        matches!(
            &summary.failed[0].1.errors[..],
            [SourceError::Fetch {
                error: FetchError::Status { status: 404, .. },
                ..
            }]
        ),
        "{}",
        summary.failed[0].1
    );
    // madrid's 1158782 is already in the dump (lang=en and lang=kk are one item): 20 + 1 + 1.
    assert_eq!(summary.total, 22, "{summary}");
    let mfa = sandbox.feed("mfa", "atom");
    assert_eq!(mfa.entries.len(), 7);
    let madrid: Vec<_> = mfa
        .entries
        .iter()
        .filter(|e| e.id.ends_with("/details/1158782"))
        .collect();
    assert_eq!(madrid.len(), 1);
    let html = content(madrid[0]);
    assert!(
        html.contains(r#"src="https://www.gov.kz/uploads/2026/2/10/photo.jpg""#),
        "{html}"
    );
    assert!(
        !html.contains("gov.kz page") && !html.contains("<style"),
        "only the body is kept: {html}"
    );
    // A 2020 T00:00:00 record is a local date.
    let archived = entry(&mfa, "Archived embassy news");
    assert!(common::within_day(
        archived.published.unwrap(),
        "2020-05-04"
    ));
    // The mti entity's item goes to mti, whatever its link says.
    assert_eq!(sandbox.feed("mti", "rss").entries.len(), 2);
}

#[test]
fn a_pinned_source_puts_everything_in_its_ministry() {
    let (_dir, addr) = corpus();
    let sandbox = Sandbox::new(&["seed.txt"]);
    feed_source(
        &sandbox,
        "json",
        &format!("http://{addr}/feed.json"),
        "ministry = \"edu\"",
    );
    pipeline::run(sandbox.config()).unwrap();
    let edu = sandbox.feed("edu", "atom");
    assert_eq!(edu.entries.len(), 1);
    assert_eq!(
        edu.entries[0].title.as_ref().unwrap().content,
        "JSON Feed item on education"
    );
}

#[test]
fn ten_thousand_entries() {
    let dir = tempfile::tempdir().unwrap();
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Big</title><link>https://big.example.org/</link><description>10k</description>"#,
    );
    for i in 0..10_000 {
        xml.push_str(&format!(
            "<item><title>Item {i}</title><link>https://big.example.org/{i}</link><pubDate>Mon, 09 Feb 2026 12:00:00 +0500</pubDate><description>Body {i}.</description></item>"
        ));
    }
    xml.push_str("</channel></rss>");
    std::fs::write(dir.path().join("big.xml"), xml).unwrap();
    let addr = upstream::serve_dir(dir.path().to_path_buf());
    let sandbox = Sandbox::new(&["seed.txt"]);
    feed_source(&sandbox, "big", &format!("http://{addr}/big.xml"), "");
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!((summary.new, summary.total), (10_020, 10_020), "{summary}");
    assert_eq!(sandbox.feed("all", "rss").entries.len(), 50);
    assert!(Path::new(&sandbox.path("var/state/govfeeds.sqlite3")).exists());
}
