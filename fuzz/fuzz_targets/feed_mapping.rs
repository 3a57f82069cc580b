//! Any bytes as an upstream feed: parsing, mapping each entry to an item and classifying it
//! into a feed never panic. Odd-length inputs are read as a gov.kz entity's feed (a `govkz`
//! source: its items belong to the entity), even-length ones as any other upstream (a `feed`
//! source: each item's entity comes from its link), so the fuzzer explores both.
#![no_main]

mod common;

use govfeeds::source::feed::{FeedOrigin, items, parse};
use libfuzzer_sys::fuzz_target;
use url::Url;

/// libfuzzer-sys's panic hook aborts on every panic, even one our code catches on purpose
/// (`feed::parse` turns a panic in the XML reader under feed-rs into an error). A silent hook
/// lets those through; a panic that escapes still aborts, as libfuzzer-sys catches it.
static QUIET_PANICS: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    let config = common::config();
    QUIET_PANICS.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let govkz = data.len() % 2 == 1;
    let (url, base) = if govkz {
        (
            "https://www.gov.kz/api/v1/public/rss/mfa/news/en",
            "https://www.gov.kz/",
        )
    } else {
        (
            "https://news.example.org/feed.xml",
            "https://news.example.org/feed.xml",
        )
    };
    let (Ok(url), Ok(base)) = (Url::parse(url), Url::parse(base)) else {
        return;
    };
    let origin = FeedOrigin {
        source: "fuzz".into(),
        url,
        base,
        entity: govkz.then(|| "mfa".to_string()),
        pinned_feed: None,
    };
    let now = chrono::Utc::now().fixed_offset();
    if let Ok(mut parsed) = parse(data, &origin) {
        for (item, _warning) in items(&mut parsed, &origin, config, now) {
            assert!(!item.title.is_empty());
            common::file(&item);
        }
    }
});
