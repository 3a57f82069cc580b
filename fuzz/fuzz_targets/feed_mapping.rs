//! Any bytes as an upstream feed: parsing and mapping to items never panic.
#![no_main]

mod common;

use govfeeds::source::feed::{FeedOrigin, items, parse};
use libfuzzer_sys::fuzz_target;

/// libfuzzer-sys's panic hook aborts on every panic, even one our code catches on purpose
/// (`feed::parse` turns a panic in the XML reader under feed-rs into an error). A silent hook
/// lets those through; a panic that escapes still aborts, as libfuzzer-sys catches it.
static QUIET_PANICS: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    let config = common::config();
    QUIET_PANICS.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let Ok(url) = url::Url::parse("https://www.gov.kz/memleket/entities/mfa/rss") else {
        return;
    };
    let origin = FeedOrigin {
        source: "fuzz".into(),
        base: url.clone(),
        url,
        entity: Some("mfa".into()),
        pinned_feed: None,
    };
    let now = chrono::Utc::now().fixed_offset();
    if let Ok(mut parsed) = parse(data, &origin) {
        for item in items(&mut parsed, &origin, config, now) {
            assert!(!item.title.is_empty());
        }
    }
});
