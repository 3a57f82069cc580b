//! Golden files: what the seed and the quirks fixture publish, kept beside the fixtures in
//! `tests/fixtures/golden/`, so that any change in the output shows as a diff in review.
//! `GOVFEEDS_BLESS=1 cargo test --test golden` writes them anew after an intended change.

mod common;

use common::Sandbox;
use govfeeds::pipeline;

/// The documents compared: every format of the combined feed, a ministry's, a language feed,
/// the index and the OPML. Feeds without items are left out: they are dated when the store
/// was created.
const GOLDEN: &[&str] = &[
    "feeds/all.atom",
    "feeds/all.rss",
    "feeds/all.json",
    "feeds/all.html",
    "feeds/mfa.atom",
    "feeds/all.ru.atom",
    "feeds/other.rss",
    "index.html",
    "feeds.opml",
];

#[test]
fn the_seed_and_the_quirks_publish_the_golden_files() {
    let sandbox = Sandbox::new(&["seed.txt", "quirks.txt"]);
    pipeline::run(sandbox.config()).unwrap();
    let golden = common::repo("tests/fixtures/golden");
    let bless = std::env::var_os("GOVFEEDS_BLESS").is_some();
    let mut differ = Vec::new();
    for path in GOLDEN {
        let published = std::fs::read(sandbox.path("var/public").join(path)).unwrap();
        // Independent reader: every golden XML document parses.
        if path.ends_with("atom") || path.ends_with("rss") || path.ends_with("opml") {
            common::assert_well_formed(&published);
        }
        let expected = golden.join(path.replace('/', "__"));
        if bless {
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(&expected, &published).unwrap();
            continue;
        }
        match std::fs::read(&expected) {
            Ok(bytes) if bytes == published => {}
            Ok(_) => differ.push(format!("{path} differs from {}", expected.display())),
            Err(e) => differ.push(format!("{}: {e}", expected.display())),
        }
    }
    assert!(
        differ.is_empty(),
        "{differ:#?}\nif the change is intended: GOVFEEDS_BLESS=1 cargo test --test golden"
    );
}
