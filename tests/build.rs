//! `govfeeds build` end to end: the bundled config on fixture dumps, outputs parsed back with
//! feed-rs (an independent parser), a real SQLite file in a temp dir.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use chrono::{DateTime, FixedOffset, Utc};
use common::Sandbox;
use govfeeds::pipeline;
use govfeeds::search::Query;
use govfeeds::store::{DB_FILE, Store};

const MADRID: &str = "https://www.gov.kz/memleket/entities/mfa-madrid/press/news/details/1158782";

fn mtimes(sandbox: &Sandbox) -> HashMap<String, SystemTime> {
    std::fs::read_dir(sandbox.path("var/public/feeds"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().modified().unwrap(),
            )
        })
        .collect()
}

#[test]
fn seed_builds_per_ministry_and_combined_feeds() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!(
        (summary.read, summary.new, summary.skipped.len()),
        (20, 20, 0),
        "{summary}"
    );
    assert!(summary.failed.is_empty());

    let expected = [
        ("all", 20),
        ("mfa", 6),
        ("ps", 1),
        ("mti", 1),
        ("kostanai-kalasy-akimat", 1),
        ("kostanai-karabalyk-mihailov", 1),
        ("uigur-sumbe", 1),
        ("emer", 1),
        ("other", 8),
    ];
    for (id, count) in expected {
        for ext in ["rss", "atom", "json"] {
            let feed = sandbox.feed(id, ext);
            assert_eq!(feed.entries.len(), count, "{id}.{ext}");
        }
    }
    let files = std::fs::read_dir(sandbox.path("var/public/feeds"))
        .unwrap()
        .count();
    // Per feed: RSS, Atom, JSON Feed, the HTML page and an Atom feed per configured language
    // (kk, ru, en); then the health feed.
    assert_eq!(files, expected.len() * 7 + 1, "no other feed files");

    // The embassy feed holds exactly the six mfa-* items.
    let mfa = sandbox.feed("mfa", "atom");
    for entry in &mfa.entries {
        assert!(entry.id.contains("/entities/mfa-"), "{}", entry.id);
    }
    assert_eq!(
        mfa.title.unwrap().content,
        "Ministry of Foreign Affairs of the Republic of Kazakhstan"
    );
}

#[test]
fn items_carry_titles_links_guids_dates_and_clean_bodies() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    pipeline::run(sandbox.config()).unwrap();
    for ext in ["rss", "atom"] {
        let feed = sandbox.feed("all", ext);
        let madrid = feed
            .entries
            .iter()
            .find(|e| e.id == MADRID)
            .unwrap_or_else(|| panic!("{ext}: no {MADRID}"));
        assert_eq!(
            common::title(madrid),
            "Kazakhstan and Spain discussed current issues of cooperation in the energy sector"
        );
        assert_eq!(madrid.links[0].href, format!("{MADRID}?lang=kk"));
        // A news of 10 February, dated by the day only: an instant of that day in every time
        // zone from UTC−5 to UTC+9.
        assert!(
            common::within_day(madrid.published.unwrap(), "2026-02-10"),
            "{:?}",
            madrid.published
        );
        let html = common::content(madrid);
        assert!(
            html.contains("Joan Groizard.</p><p>During the meeting"),
            "{ext}: {html}"
        );
        assert!(!html.contains("Source"), "{ext}: source line left in body");
        assert_eq!(
            madrid.categories[0].term,
            "Ministry of Foreign Affairs of the Republic of Kazakhstan"
        );

        // The repeated title is gone from the body.
        let colony = feed
            .entries
            .iter()
            .find(|e| e.id.ends_with("/ps/press/news/details/1158760"))
            .unwrap();
        let html = common::content(colony);
        assert!(
            html.starts_with("<p>Staff members of the female penal colony"),
            "{html}"
        );

        // Bullets became a list.
        let ethics = feed
            .entries
            .iter()
            .find(|e| e.id.ends_with("/mti/press/news/details/1158764"))
            .unwrap();
        assert_eq!(
            common::title(ethics),
            "Служебная этика: что должен знать каждый государственный служащий"
        );
        let html = common::content(ethics);
        assert!(
            html.contains(
                "<ul><li>observe the law, principles of fairness, and impartiality;</li>"
            ),
            "{html}"
        );

        // Items without a source URL: a tag: GUID, no link to nowhere.
        let announcement = feed
            .entries
            .iter()
            .find(|e| common::title(e).starts_with("Results of work to strengthen fire"))
            .unwrap();
        assert!(
            announcement
                .id
                .starts_with("tag:127.0.0.1,2026-02-10:govfeeds/"),
            "{}",
            announcement.id
        );
        assert!(
            announcement
                .links
                .iter()
                .all(|l| !l.href.contains("gov.kz"))
        );
    }
    // RSS says which GUIDs are permalinks.
    let rss = std::fs::read_to_string(sandbox.feed_path("all", "rss")).unwrap();
    assert_eq!(rss.matches("<guid>https://www.gov.kz/").count(), 11);
    assert_eq!(rss.matches("<guid isPermaLink=\"false\">tag:").count(), 9);
    // Every pubDate is of 10 February, in the site's time zone, each its own.
    let dates: Vec<&str> = rss
        .split("<pubDate>")
        .skip(1)
        .filter_map(|d| d.split("</pubDate>").next())
        .collect();
    assert_eq!(dates.len(), 20);
    assert!(
        dates
            .iter()
            .all(|d| d.starts_with("Tue, 10 Feb 2026 ") && d.ends_with(" +0500"))
    );
    assert_eq!(dates.iter().collect::<HashSet<_>>().len(), 20, "{dates:?}");
}

#[test]
fn same_date_items_order_by_news_id_then_dump_order() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    pipeline::run(sandbox.config()).unwrap();
    let feed = sandbox.feed("all", "atom");
    let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
    let news_ids: Vec<u64> = ids
        .iter()
        .filter_map(|id| id.rsplit('/').next().and_then(|n| n.parse().ok()))
        .collect();
    assert_eq!(
        news_ids,
        vec![
            1158782, 1158774, 1158764, 1158760, 1158750, 1158714, 1158580, 1158484, 1158429,
            1158420, 1158386
        ]
    );
    assert!(ids[..11].iter().all(|id| id.starts_with("https://")));
    // Then the items without a source URL, in dump order.
    let titles: Vec<String> = feed.entries[11..]
        .iter()
        .map(|e| common::title(e).to_string())
        .collect();
    assert!(
        titles[0].starts_with("Results of work to strengthen fire"),
        "{titles:?}"
    );
    assert!(
        titles[8].starts_with("KAZAKHSTAN TAKES A STEP"),
        "{titles:?}"
    );
}

#[test]
fn second_build_changes_nothing() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    pipeline::run(sandbox.config()).unwrap();
    let before = mtimes(&sandbox);
    let bytes_before = std::fs::read(sandbox.feed_path("all", "atom")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!(
        (summary.files, summary.files_unchanged, summary.read),
        (0, 1, 0),
        "{summary}"
    );
    assert!(summary.written.is_empty(), "{:?}", summary.written);
    assert_eq!(mtimes(&sandbox), before);
    assert_eq!(
        std::fs::read(sandbox.feed_path("all", "atom")).unwrap(),
        bytes_before
    );

    // A touched but unchanged file is not parsed again either.
    let dump = sandbox.path("config/dumps/seed.txt");
    let file = std::fs::File::options().append(true).open(&dump).unwrap();
    file.set_modified(SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!(
        (summary.files, summary.files_unchanged),
        (0, 1),
        "{summary}"
    );

    // A changed file is, and what it repeats stays unchanged.
    let mut text = std::fs::read_to_string(&dump).unwrap();
    text.push_str("\nOne more item 11.02.2026\nIts body.\n");
    std::fs::write(&dump, text).unwrap();
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!(
        (summary.files, summary.read, summary.new, summary.unchanged),
        (1, 21, 1, 20),
        "{summary}"
    );
    assert_eq!(
        summary.written.len(),
        12,
        "all and other in three formats, their pages and English feeds, the OPML and the \
         index: {:?}",
        summary.written
    );
    assert_eq!(
        summary.unchanged_files, 4,
        "only the health feed and the icons are rendered without changing; the Kazakh and Russian feeds are \
         not rendered at all"
    );
}

#[test]
fn an_old_dump_read_again_does_not_revert_a_newer_edit() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    pipeline::run(sandbox.config()).unwrap();
    sandbox.add_dump("update.txt");
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!(
        (summary.files, summary.files_unchanged, summary.updated),
        (1, 1, 1),
        "{summary}"
    );
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!((summary.files, summary.updated), (0, 0), "{summary}");
    let feed = sandbox.feed("mfa", "atom");
    let madrid = feed.entries.iter().find(|e| e.id == MADRID).unwrap();
    let html = common::content(madrid);
    assert!(html.contains("held productive talks with"));
}

#[test]
fn the_same_items_twice_in_one_run_are_one_item_each_and_the_same_bytes() {
    let once = Sandbox::new(&["seed.txt"]);
    pipeline::run(once.config()).unwrap();
    let twice = Sandbox::new(&["seed.txt"]);
    std::fs::copy(
        twice.path("config/dumps/seed.txt"),
        twice.path("config/dumps/seed-copy.txt"),
    )
    .unwrap();
    let summary = pipeline::run(twice.config()).unwrap();
    assert_eq!(
        (summary.read, summary.new, summary.unchanged, summary.total),
        (40, 20, 20, 20)
    );
    for ext in ["rss", "atom"] {
        assert_eq!(
            std::fs::read(once.feed_path("all", ext)).unwrap(),
            std::fs::read(twice.feed_path("all", ext)).unwrap(),
            "{ext}"
        );
    }
}

#[test]
fn a_later_dump_repeats_edits_and_adds() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    pipeline::run(sandbox.config()).unwrap();
    let before = sandbox.feed("all", "atom");
    let madrid_before = before
        .entries
        .iter()
        .find(|e| e.id == MADRID)
        .unwrap()
        .clone();
    assert_eq!(
        madrid_before.updated, madrid_before.published,
        "never edited: updated = published"
    );

    std::fs::remove_file(sandbox.path("config/dumps/seed.txt")).unwrap();
    sandbox.add_dump("update.txt");
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!(summary.read, 8, "{summary}");
    assert_eq!(
        (summary.new, summary.updated, summary.unchanged),
        (4, 1, 3),
        "{summary}"
    );
    assert_eq!(summary.skipped.get("impossible date"), Some(&1));
    assert_eq!(summary.skipped.get("title without body"), Some(&1));
    assert_eq!(
        summary.degraded, 1,
        "the relative source URL is dropped, the item kept"
    );
    assert_eq!(summary.total, 24);

    let after = sandbox.feed("all", "atom");
    assert_eq!(after.entries.len(), 24);
    let madrid = after.entries.iter().find(|e| e.id == MADRID).unwrap();
    assert_eq!(
        madrid.published, madrid_before.published,
        "published never changes"
    );
    assert!(
        madrid.updated > madrid_before.updated,
        "the edit moved updated"
    );
    let html = common::content(madrid);
    assert!(html.contains("held productive talks with"));

    // The new embassy item went to mfa under its canonical URL; minfin got a feed.
    let mfa = sandbox.feed("mfa", "rss");
    assert_eq!(mfa.entries.len(), 7);
    assert!(mfa.entries.iter().any(
        |e| e.id == "https://www.gov.kz/memleket/entities/mfa-tokyo/press/news/details/1159001"
    ));
    assert_eq!(sandbox.feed("minfin", "atom").entries.len(), 1);
    assert_eq!(sandbox.feed("other", "atom").entries.len(), 10);
    // Newest first: the 11.02 items lead.
    assert!(after.entries[0].published.unwrap() > after.entries[5].published.unwrap());
}

#[test]
fn quirky_bytes_are_cleaned_not_fatal() {
    let sandbox = Sandbox::new(&["quirks.txt"]);
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!(
        (summary.read, summary.new, summary.degraded),
        (2, 2, 1),
        "{summary}"
    );
    let feed = sandbox.feed("all", "atom");
    let kazakh = feed
        .entries
        .iter()
        .find(|e| e.id.contains("/entities/edu/"))
        .unwrap();
    assert_eq!(common::title(kazakh), "Қазақстан жаңалықтары 🇰🇿");
    let html = common::content(kazakh);
    assert_eq!(
        html,
        "<p>Бүгін жиналыс өтті.</p><p>Келесі жиналыс ертең.</p>"
    );
    assert_eq!(sandbox.feed("edu", "rss").entries.len(), 1);

    let broken = feed
        .entries
        .iter()
        .find(|e| e.id.starts_with("tag:"))
        .unwrap();
    let title = common::title(broken);
    // Bytes that were not UTF-8 are dropped, markup reduced to its text.
    assert_eq!(title, "Broken bytes and a bell");
    let html = common::content(broken);
    assert!(
        html.contains("]]&gt;") && html.contains("and markup &amp; ampersands."),
        "{html}"
    );
    assert!(
        !html.contains('\u{1}') && !html.contains("javascript"),
        "{html}"
    );
    assert!(
        broken.links.is_empty()
            || broken
                .links
                .iter()
                .all(|l| !l.href.starts_with("javascript"))
    );
    // The same text survives RSS's CDATA.
    let rss = sandbox.feed("all", "rss");
    let broken_rss = rss
        .entries
        .iter()
        .find(|e| e.id.starts_with("tag:"))
        .unwrap();
    let rss_html = common::content(broken_rss);
    assert!(rss_html.contains("]]&gt;"), "{rss_html}");
}

#[test]
fn remapping_a_slug_moves_items_without_touching_guids() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    pipeline::run(sandbox.config()).unwrap();
    let guids_before: Vec<String> = sandbox
        .feed("all", "atom")
        .entries
        .into_iter()
        .map(|e| e.id)
        .collect();
    sandbox.edit_config(
        "\n[unattributed]\n",
        "\n[[ministry]]\nid = \"internal\"\ntitle = \"Ministry of Internal Affairs\"\nentities = [\"ps\"]\n\n[unattributed]\n",
    );
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!(summary.reclassified, 1);
    assert_eq!(
        summary.removed.len(),
        7,
        "ps.rss, ps.atom, ps.json, ps.html and the three language feeds: {:?}",
        summary.removed
    );
    assert_eq!(sandbox.feed("internal", "rss").entries.len(), 1);
    assert!(!sandbox.feed_path("ps", "rss").exists());
    // Search finds the item under its new feed, and no longer under the old one.
    let store = Store::open_reader(&sandbox.path("var/state")).unwrap();
    let found = |q: &str| {
        let query = Query::parse(q).unwrap();
        store
            .search(&query, chrono_tz::UTC, 0, 10)
            .unwrap()
            .items
            .len()
    };
    assert_eq!(found("penal colony feed:internal"), 1);
    assert_eq!(found("penal colony feed:ps"), 0);
    let guids_after: Vec<String> = sandbox
        .feed("all", "atom")
        .entries
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(guids_before, guids_after);
}

#[test]
fn feeds_describe_themselves() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    pipeline::run(sandbox.config()).unwrap();
    let atom = sandbox.feed("mfa", "atom");
    assert_eq!(atom.id, "http://127.0.0.1:8080/feeds/mfa.atom");
    let self_link = atom
        .links
        .iter()
        .find(|l| l.rel.as_deref() == Some("self"))
        .unwrap();
    assert_eq!(self_link.href, "http://127.0.0.1:8080/feeds/mfa.atom");
    let newest = atom.entries.iter().filter_map(|e| e.updated).max();
    assert_eq!(atom.updated, newest);
    assert!(common::within_day(atom.updated.unwrap(), "2026-02-10"));
    assert_eq!(atom.language.as_deref(), Some("en"));
    let rss_text = std::fs::read_to_string(sandbox.feed_path("mfa", "rss")).unwrap();
    assert!(rss_text.contains(r#"<atom:link href="http://127.0.0.1:8080/feeds/mfa.rss" rel="self" type="application/rss+xml"/>"#));
    let last_build = format!(
        "<lastBuildDate>{}</lastBuildDate>",
        atom.updated
            .unwrap()
            .with_timezone(&FixedOffset::east_opt(5 * 3600).unwrap())
            .to_rfc2822()
    );
    assert!(rss_text.contains(&last_build), "{last_build}");
}

#[test]
fn the_index_page_escapes_every_text() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    sandbox.edit_config(
        "title = \"Ministry of Trade and Integration of the Republic of Kazakhstan\"",
        "title = \"<script>alert('mti')</script> & \\\"Trade\\\"\"",
    );
    sandbox.edit_config(
        "title = \"Kazakhstan government news\"",
        "title = \"News <img src=x onerror=alert(1)>\"",
    );
    pipeline::run(sandbox.config()).unwrap();
    let index = std::fs::read_to_string(sandbox.path("var/public/index.html")).unwrap();
    assert!(
        !index.contains("<script>") && !index.contains("<img"),
        "{index}"
    );
    assert!(
        index.contains("&lt;script&gt;alert('mti')&lt;/script&gt; &amp; \"Trade\""),
        "{index}"
    );
    assert!(
        index.contains("News &lt;img src=x onerror=alert(1)&gt;"),
        "{index}"
    );
    // The same titles are escaped by the XML writers, and read back intact.
    let mti = sandbox.feed("mti", "atom");
    assert_eq!(
        mti.title.unwrap().content,
        "<script>alert('mti')</script> & \"Trade\""
    );
}

#[test]
fn json_feed_and_opml_list_the_same_feeds() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    pipeline::run(sandbox.config()).unwrap();
    // JSON Feed carries the same items as Atom (feed-rs reads JSON Feed too).
    let json = sandbox.feed("all", "json");
    let atom = sandbox.feed("all", "atom");
    let ids = |f: &feed_rs::model::Feed| f.entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&json), ids(&atom));
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sandbox.feed_path("all", "json")).unwrap()).unwrap();
    assert_eq!(raw["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(raw["feed_url"], "http://127.0.0.1:8080/feeds/all.json");
    // OPML: the feeds that hold every item exactly once (the combined feed is not one of
    // them), ministries grouped, every URL absolute, each outline's page its feed's page.
    let opml = std::fs::read(sandbox.path("var/public/feeds.opml")).unwrap();
    common::assert_well_formed(&opml);
    let mut reader = quick_xml::Reader::from_reader(&opml[..]);
    let mut buf = Vec::new();
    let mut urls = Vec::new();
    let mut groups = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).unwrap() {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Empty(e) => {
                let attr = |name| {
                    e.try_get_attribute(name)
                        .unwrap()
                        .unwrap()
                        .value
                        .to_string()
                };
                let (xml, html) = (attr("xmlUrl"), attr("htmlUrl"));
                assert_eq!(html, xml.replace(".atom", ".html"));
                urls.push(xml);
            }
            quick_xml::events::Event::Start(e) if e.name().as_ref() == "outline" => {
                let text = e.try_get_attribute("text").unwrap().unwrap();
                groups.push(text.value.to_string());
            }
            _ => {}
        }
        buf.clear();
    }
    assert_eq!(groups, ["Ministries", "Other government bodies"]);
    assert!(!urls.iter().any(|u| u.ends_with("/all.atom")), "{urls:?}");
    let mut seen: Vec<String> = Vec::new();
    for url in &urls {
        let id = url
            .strip_prefix("http://127.0.0.1:8080/feeds/")
            .and_then(|u| u.strip_suffix(".atom"))
            .unwrap_or_else(|| panic!("{url}"));
        seen.extend(sandbox.feed(id, "atom").entries.into_iter().map(|e| e.id));
    }
    let mut every = ids(&atom);
    seen.sort();
    every.sort();
    assert_eq!(seen, every, "each news in exactly one of the OPML's feeds");
}

#[test]
fn items_are_tagged_with_their_language() {
    let sandbox = Sandbox::new(&["seed.txt", "quirks.txt"]);
    pipeline::run(sandbox.config()).unwrap();
    let atom = std::fs::read_to_string(sandbox.feed_path("all", "atom")).unwrap();
    // A Russian title over an English body: the entry is English, its title Russian.
    assert!(
        atom.contains(r#"<title xml:lang="ru">Служебная этика"#),
        "mti title"
    );
    assert!(
        atom.contains(
            r#"<content xml:lang="en" type="html">&lt;p&gt;In an environment of openness"#
        )
    );
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sandbox.feed_path("all", "json")).unwrap()).unwrap();
    let language = |pick: &dyn Fn(&str) -> bool| {
        raw["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| pick(i["id"].as_str().unwrap()))
            .map(|i| i["language"].clone())
    };
    assert_eq!(
        language(&|id| id.ends_with("/details/1158764")),
        Some("en".into())
    );
    assert_eq!(
        language(&|id| id.ends_with("/details/1158484")),
        Some("ru".into())
    );
    assert_eq!(
        language(&|id| id.contains("/entities/edu/")),
        Some("kk".into())
    );
    // RSS says it with dc:language, JSON Feed with language.
    let rss = std::fs::read_to_string(sandbox.feed_path("all", "rss")).unwrap();
    assert_eq!(rss.matches("<dc:language>").count(), 22);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sandbox.feed_path("all", "json")).unwrap()).unwrap();
    let languages: Vec<&str> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["language"].as_str())
        .collect();
    assert_eq!(languages.len(), 22);
    assert!(languages.contains(&"kk") && languages.contains(&"ru") && languages.contains(&"en"));
}

#[test]
fn language_feeds_follow_the_config() {
    let sandbox = Sandbox::new(&["seed.txt", "quirks.txt"]);
    pipeline::run(sandbox.config()).unwrap();
    let kk = sandbox.feed("all", "kk.atom");
    assert!(!kk.entries.is_empty());
    let text = std::fs::read_to_string(sandbox.feed_path("all", "kk.atom")).unwrap();
    assert_eq!(
        text.matches("<content xml:lang=\"kk\"").count(),
        kk.entries.len(),
        "only Kazakh items"
    );
    let all = sandbox.feed("all", "atom").entries.len();
    let per_language: usize = ["kk", "ru", "en"]
        .iter()
        .map(|l| sandbox.feed("all", &format!("{l}.atom")).entries.len())
        .sum();
    assert!(per_language <= all && per_language > 0);

    // Turned off: the language feeds go, the others stay.
    sandbox.set_key("languages", "[]");
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert!(!sandbox.feed_path("all", "kk.atom").exists());
    assert!(sandbox.feed_path("all", "atom").exists());
    assert!(!summary.removed.is_empty());
    for path in &summary.removed {
        let name = path.file_name().unwrap().to_string_lossy();
        assert!(
            [".kk.atom", ".ru.atom", ".en.atom"]
                .iter()
                .any(|l| name.ends_with(l)),
            "{name}"
        );
    }
}

#[test]
fn a_feed_with_no_items_is_dated_when_the_store_was_created() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    let before = Utc::now() - chrono::Duration::seconds(1);
    pipeline::run(sandbox.config()).unwrap();
    let after = Utc::now() + chrono::Duration::seconds(1);
    let created: String = rusqlite::Connection::open(sandbox.path("var/state").join(DB_FILE))
        .unwrap()
        .query_row("SELECT value FROM meta WHERE name = 'created'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let created = DateTime::parse_from_rfc3339(&created).unwrap();
    assert!(
        before.timestamp() <= created.timestamp() && created <= after,
        "{created}"
    );

    let empty: Vec<_> = ["_health", "all.kk", "all.ru", "all.en"]
        .into_iter()
        .map(|id| (id, sandbox.feed(id, "atom")))
        .filter(|(_, feed)| feed.entries.is_empty())
        .collect();
    assert!(
        empty.len() > 1,
        "the health feed and a language the seed lacks"
    );
    for (id, feed) in &empty {
        assert_eq!(
            feed.updated.map(|t| t.timestamp()),
            Some(created.timestamp()),
            "{id}"
        );
    }

    // Rebuilt, they keep that time: nothing is written.
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert!(summary.written.is_empty(), "{summary}");

    // A store from before the record (schema 7), its empty feeds published as of 1970: the
    // next build records the time and publishes them again with it.
    let db = rusqlite::Connection::open(sandbox.path("var/state").join(DB_FILE)).unwrap();
    db.execute_batch(
        "DELETE FROM meta WHERE name = 'created'; DROP TABLE publish_pending;
         DROP TABLE published_doc; DROP INDEX item_day; ALTER TABLE item DROP COLUMN day;
         ALTER TABLE item DROP COLUMN input_hash; DROP TRIGGER item_language_counted;
         DROP TRIGGER item_language_moved; DROP TRIGGER item_language_uncounted;
         DROP TABLE feed_language_count; ALTER TABLE source_file DROP COLUMN reader;
         DROP TABLE item_search; DROP INDEX item_search_key;
         ALTER TABLE item DROP COLUMN search_key; DROP TABLE search_term;
         PRAGMA user_version = 7;",
    )
    .unwrap();
    for (id, _) in &empty {
        let path = sandbox.feed_path(id, "atom");
        let text = std::fs::read_to_string(&path).unwrap();
        let old = text.replace(&created.to_rfc3339(), "1970-01-01T00:00:00+00:00");
        assert_ne!(old, text, "{id}");
        std::fs::write(&path, old).unwrap();
    }
    pipeline::run(sandbox.config()).unwrap();
    let migrated: String = db
        .query_row("SELECT value FROM meta WHERE name = 'created'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let migrated = DateTime::parse_from_rfc3339(&migrated).unwrap();
    for (id, _) in &empty {
        let feed = sandbox.feed(id, "atom");
        assert_eq!(
            feed.updated.map(|t| t.timestamp()),
            Some(migrated.timestamp()),
            "{id}"
        );
    }
}

/// `n` items of entity `mfa-test`, one a day from 1 January 2025, as a dump.
fn mfa_dump(n: usize, first_id: usize) -> String {
    let mut out = String::from("Enbekshi QazaQ\n\nWorld\n\n");
    for i in 0..n {
        let date =
            chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Days::new(i as u64);
        out.push_str(&format!(
            "Meeting number {i} {}\nThe parties met for the {i}th time.Source : \
             https://www.gov.kz/memleket/entities/mfa-test/press/news/details/{}?lang=kk\n",
            date.format("%d.%m.%Y"),
            first_id + i
        ));
    }
    out
}

#[test]
fn a_publish_renders_only_what_the_changes_reach_and_matches_a_full_render() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    std::fs::write(sandbox.path("config/dumps/m1.txt"), mfa_dump(120, 1000)).unwrap();
    pipeline::run(sandbox.config()).unwrap();

    // An old item (outside every newest-50), an edit of an old item, a Russian variant of
    // another old one: no feed's newest items change, and no feed is rendered but the index.
    std::fs::write(
        sandbox.path("config/dumps/m2.txt"),
        "S\n\nW\n\nAn old meeting 01.06.2024\nLong ago.Source : https://www.gov.kz/memleket/entities/mfa-test/press/news/details/999?lang=kk\n\
         Meeting number 3 04.01.2025\nThe parties met for the 3rd time, it is now said.Source : https://www.gov.kz/memleket/entities/mfa-test/press/news/details/1003?lang=kk\n\
         Встреча номер 5 06.01.2025\nСтороны встретились в пятый раз.Source : https://www.gov.kz/memleket/entities/mfa-test/press/news/details/1005?lang=ru\n",
    )
    .unwrap();
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!(
        (summary.new, summary.updated, summary.variants),
        (1, 1, 1),
        "{summary}"
    );
    let rendered: Vec<_> = summary.gate.keys().cloned().collect();
    assert_eq!(
        rendered,
        vec![
            "favicon.ico",
            "feeds.opml",
            "feeds/_health.atom",
            "icon.png",
            "icon.svg",
            "index.html"
        ],
        "{summary}"
    );

    // A recent item reaches the newest items of its feed and of all.
    std::fs::write(
        sandbox.path("config/dumps/m3.txt"),
        "S\n\nW\n\nA new meeting 01.03.2026\nJust now.Source : https://www.gov.kz/memleket/entities/mfa-test/press/news/details/5000?lang=kk\n",
    )
    .unwrap();
    let summary = pipeline::run(sandbox.config()).unwrap();
    for path in ["feeds/all.atom", "feeds/mfa.atom", "feeds/mfa.en.atom"] {
        assert!(summary.gate.contains_key(path), "{path}: {summary}");
    }
    assert!(
        !summary.gate.contains_key("feeds/mfa.kk.atom"),
        "no Kazakh item changed"
    );

    // Everything rendered from scratch is byte for byte what the partial publishes left.
    let public = sandbox.path("var/public");
    let before: Vec<_> = common::walk(&public)
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    std::fs::remove_dir_all(&public).unwrap();
    let full = pipeline::run(sandbox.config()).unwrap();
    assert!(full.gate.len() > 20, "a full render: {full}");
    assert_eq!(full.written.len(), before.len(), "{full}");
    for (path, bytes) in before {
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{}", path.display());
    }
}

/// A dump of Foreign Affairs news of 20 February 2026 with these news ids (`None`: no link).
fn day_dump(ids: &[Option<u32>]) -> String {
    let mut out = String::from("S\n\nW\n\n");
    for (n, id) in ids.iter().enumerate() {
        let source = id.map_or(String::new(), |id| {
            format!(
                "Source : https://www.gov.kz/memleket/entities/mfa/press/news/details/{id}?lang=kk"
            )
        });
        let label = id.map_or(format!("unlinked {n}"), |id| id.to_string());
        out.push_str(&format!(
            "Day news {label} 20.02.2026\nThe ministry reported news {label}.{source}\n"
        ));
    }
    out
}

#[test]
fn items_of_one_day_keep_it_in_every_reader_and_sort_in_feed_order_by_date() {
    let sandbox = Sandbox::new(&["seed.txt", "quirks.txt"]);
    std::fs::write(
        sandbox.path("config/dumps/d1.txt"),
        day_dump(&[Some(300), Some(100)]),
    )
    .unwrap();
    pipeline::run(sandbox.config()).unwrap();
    let first = sandbox.feed("all", "atom");
    // Later arrivals of the same day: one between, one above, one below, one without a link.
    std::fs::write(
        sandbox.path("config/dumps/d2.txt"),
        day_dump(&[Some(200), Some(400), Some(50), None]),
    )
    .unwrap();
    pipeline::run(sandbox.config()).unwrap();
    for ext in ["atom", "rss", "json"] {
        let feed = sandbox.feed("all", ext);
        let day: Vec<_> = feed
            .entries
            .iter()
            .filter(|e| common::title(e).starts_with("Day news"))
            .collect();
        let titles: Vec<_> = day.iter().map(|e| common::title(e)).collect();
        assert_eq!(
            titles,
            [
                "Day news 400",
                "Day news 300",
                "Day news 200",
                "Day news 100",
                "Day news 50",
                "Day news unlinked 3"
            ],
            "{ext}: the feed's order is news id descending"
        );
        // A reader sorting by date keeps that order, every reader shows the day, and no two
        // entries of the feed share an instant.
        let times: Vec<_> = feed.entries.iter().map(|e| e.published.unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] > w[1]), "{ext}: {times:?}");
        for e in &day {
            assert!(
                common::within_day(e.published.unwrap(), "2026-02-20"),
                "{ext}"
            );
        }
    }
    let updated: HashSet<_> = first.entries.iter().map(|e| e.updated).collect();
    assert_eq!(
        updated.len(),
        first.entries.len(),
        "no two entries share `updated`"
    );
    // Once given, an item's instants never change: the first two kept theirs.
    let all = sandbox.feed("all", "atom");
    for e in first
        .entries
        .iter()
        .filter(|e| common::title(e).starts_with("Day news"))
    {
        let now = all.entries.iter().find(|n| n.id == e.id).unwrap();
        assert_eq!((now.published, now.updated), (e.published, e.updated));
    }
}

#[test]
fn the_same_input_rendered_otherwise_is_not_an_edit() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    pipeline::run(sandbox.config()).unwrap();
    let db = rusqlite::Connection::open(sandbox.path("var/state").join(DB_FILE)).unwrap();
    let key = "%/details/1158782";
    let updated = |db: &rusqlite::Connection| -> String {
        db.query_row("SELECT updated FROM item WHERE key LIKE ?1", [key], |r| {
            r.get(0)
        })
        .unwrap()
    };
    let before = updated(&db);
    // As an older release would have rendered it; and the dump is read again.
    db.execute(
        "UPDATE item SET content_html = '<p>old</p>', content_hash = 'old' WHERE key LIKE ?1",
        [key],
    )
    .unwrap();
    // Read by an older release's reader: read again, however unchanged the file.
    db.execute("UPDATE source_file SET reader = 0", []).unwrap();
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!((summary.updated, summary.rerendered), (0, 1), "{summary}");
    assert_eq!(updated(&db), before, "not an edit: `updated` stays");
    let html: String = db
        .query_row(
            "SELECT content_html FROM item WHERE key LIKE ?1",
            [key],
            |r| r.get(0),
        )
        .unwrap();
    assert!(html.contains("Joan Groizard."), "rendered anew: {html}");
    // A change at the source is an edit.
    let seed = std::fs::read_to_string(sandbox.path("config/dumps/seed.txt")).unwrap();
    std::fs::write(
        sandbox.path("config/dumps/seed.txt"),
        seed.replacen("Joan Groizard.", "Joan Groizard, in Madrid.", 1),
    )
    .unwrap();
    let summary = pipeline::run(sandbox.config()).unwrap();
    assert_eq!((summary.updated, summary.rerendered), (1, 0), "{summary}");
    assert_ne!(updated(&db), before);
}

#[test]
fn a_feed_page_links_the_language_feeds_it_has_items_in() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    std::fs::write(sandbox.path("config/dumps/m1.txt"), mfa_dump(60, 1000)).unwrap();
    pipeline::run(sandbox.config()).unwrap();
    let page = || std::fs::read_to_string(sandbox.feed_path("mfa", "html")).unwrap();
    assert!(page().contains("hreflang=\"en\""), "{}", page());
    assert!(
        !page().contains("hreflang=\"kk\""),
        "no Kazakh item in mfa yet"
    );
    // Served all the same, empty, for whoever subscribed.
    assert!(sandbox.feed("mfa", "kk.atom").entries.is_empty());
    // A first Kazakh item, old enough to be outside the newest 50: the page links it now.
    std::fs::write(
        sandbox.path("config/dumps/m2.txt"),
        "S\n\nW\n\nЕлшілік жиналыс 01.06.2024\nЕлшілікте жиналыс өтті.Source : https://www.gov.kz/memleket/entities/mfa-test/press/news/details/999?lang=kk\n",
    )
    .unwrap();
    pipeline::run(sandbox.config()).unwrap();
    assert!(page().contains("hreflang=\"kk\""), "{}", page());
    assert_eq!(sandbox.feed("mfa", "kk.atom").entries.len(), 1);
}

#[test]
fn feeds_name_entities_in_their_language_and_credit_every_item() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    pipeline::run(sandbox.config()).unwrap();
    let authors = |entry: &feed_rs::model::Entry| -> Vec<String> {
        entry
            .authors
            .iter()
            .filter_map(|a| a.name.clone())
            .collect()
    };
    let by_link = |feed: &feed_rs::model::Feed, part: &str| -> feed_rs::model::Entry {
        feed.entries
            .iter()
            .find(|e| e.links.iter().any(|l| l.href.contains(part)))
            .unwrap_or_else(|| panic!("an entry links {part}"))
            .clone()
    };
    let all = sandbox.feed("all", "atom");
    for entry in &all.entries {
        let names = authors(entry);
        assert_eq!(names.len(), 1, "{}: {names:?}", common::title(entry));
        // A name, never a slug.
        assert!(
            names[0].contains(' '),
            "{}: {names:?}",
            common::title(entry)
        );
    }
    let madrid = by_link(&all, "/entities/mfa-madrid/");
    assert_eq!(authors(&madrid), ["Embassy of Kazakhstan in Spain"]);
    let categories: Vec<&str> = madrid.categories.iter().map(|c| c.term.as_str()).collect();
    assert_eq!(
        categories,
        ["Ministry of Foreign Affairs of the Republic of Kazakhstan"]
    );
    let no_url = all
        .entries
        .iter()
        .filter(|e| e.id.starts_with("tag:"))
        .collect::<Vec<_>>();
    assert_eq!(no_url.len(), 9);
    for entry in no_url {
        // Credited to the site the dump names on its first line.
        assert_eq!(
            authors(entry),
            ["Enbekshi QazaQ"],
            "{}",
            common::title(entry)
        );
    }

    // Feed titles: the entity's name, in the language of a language feed.
    let feed_title = |id: &str, ext: &str| sandbox.feed(id, ext).title.unwrap().content;
    assert_eq!(
        feed_title("ps", "atom"),
        "Penal Correction System Committee of the Ministry of Internal Affairs"
    );
    assert_eq!(
        feed_title("kostanai-karabalyk-mihailov", "atom"),
        "Akimat of Mikhailov Rural District (Karabalyk District, Kostanay Region)"
    );
    assert_eq!(
        feed_title("mfa", "kk.atom"),
        "Қазақстан Республикасы Сыртқы істер министрлігі"
    );
    assert_eq!(
        feed_title("uigur-sumbe", "ru.atom"),
        "Акимат Сумбинского сельского округа (Уйгурский район)"
    );
    // Authors in a language feed are named in its language.
    let ru = sandbox.feed("all", "ru.atom");
    let mihailov = by_link(&ru, "/entities/kostanai-karabalyk-mihailov/");
    assert_eq!(
        authors(&mihailov),
        ["Акимат Михайловского сельского округа (Карабалыкский район, Костанайская область)"]
    );
    let page = std::fs::read_to_string(sandbox.path("var/public/index.html")).unwrap();
    assert!(page.contains("Akimat of Sumbe Rural District"), "{page}");

    // The operator's name comes first, for the languages it gives; nothing else changes.
    sandbox.append_config(
        "[entity.\"mfa-madrid\"]\nen = \"Embassy of the Republic of Kazakhstan in the Kingdom of Spain\"\n",
    );
    pipeline::run(sandbox.config()).unwrap();
    let renamed = by_link(&sandbox.feed("all", "atom"), "/entities/mfa-madrid/");
    assert_eq!(
        authors(&renamed),
        ["Embassy of the Republic of Kazakhstan in the Kingdom of Spain"]
    );
    assert_eq!((renamed.id, renamed.updated), (madrid.id, madrid.updated));
    let opml = std::fs::read_to_string(sandbox.path("var/public/feeds.opml")).unwrap();
    assert!(opml.contains("Akimat of Kostanay City"), "{opml}");
}

#[test]
fn a_config_names_entities_only_as_slugs_and_languages() {
    let sandbox = Sandbox::new(&["seed.txt"]);
    let cases = [
        (
            "[entity.\"MFA Madrid\"]\nen = \"x\"\n",
            "expected a gov.kz entity slug",
        ),
        ("[entity.mfa]\nenglish = \"x\"\n", "is not a language code"),
        ("[entity.mfa]\nen = \"  \"\n", "expected a non-empty name"),
        ("[entity.mfa]\n", "expected names by language"),
    ];
    let original = std::fs::read_to_string(sandbox.config_path()).unwrap();
    for (toml, expected) in cases {
        std::fs::write(sandbox.config_path(), &original).unwrap();
        sandbox.append_config(toml);
        let err = govfeeds::config::Config::load(&sandbox.config_path()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(expected), "{toml}: {text}");
        assert!(err.position.is_some(), "{toml}: {text}");
    }
}
