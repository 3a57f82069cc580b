//! Any bytes as an upstream feed: parsing and mapping to items never panic.
#![no_main]

use std::path::Path;

use govfeeds::config::Config;
use govfeeds::source::feed::{FeedOrigin, items, parse};
use libfuzzer_sys::fuzz_target;

const CONFIG: &str = r#"
[site]
title = "T"
base_url = "http://127.0.0.1:8080/"
timezone = "Asia/Almaty"
language = "en"
"#;

fuzz_target!(|data: &[u8]| {
    let Ok(config) = Config::parse(Path::new("fuzz.toml"), CONFIG) else {
        return;
    };
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
        for item in items(&mut parsed, &origin, &config, now) {
            assert!(!item.title.is_empty());
        }
    }
});
