//! Any bytes as a dump: parsing, mapping each entry to an item (body, identity, language)
//! and classifying it into a feed never panic.
#![no_main]

mod common;

use govfeeds::source::dump::{DumpParser, Event, item};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = common::config();
    let mut parser = DumpParser::new(data);
    while let Some(event) = parser.next() {
        if let Event::Entry(entry) = event {
            let now = chrono::Utc::now().fixed_offset();
            let (item, _warning) = item::item(&entry, parser.site(), config, now);
            assert!(!item.key.is_empty());
            common::file(&item);
        }
    }
});
