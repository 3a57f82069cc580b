//! Any string as a source URL: canonicalization never panics and is idempotent; reading the
//! entity, news id and variant language never panics.
#![no_main]

use govfeeds::identity::IgnoreParams;
use govfeeds::identity::{canonical_url, entity_slug, news_id, parse_source_url, variant_language};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    let Ok(ignore) = IgnoreParams::new(&["lang", "utm_*"]) else {
        return;
    };
    let _ = variant_language(data);
    if let Some(url) = parse_source_url(data) {
        let once = canonical_url(&url, &ignore);
        let _ = (entity_slug(&url), news_id(&url));
        if let Some(again) = parse_source_url(&once) {
            assert_eq!(canonical_url(&again, &ignore), once);
        }
    }
});
