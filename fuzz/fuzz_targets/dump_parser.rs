//! Any bytes as a dump: parsing, mapping each entry to an item (body, identity, language)
//! and classifying it into a feed never panic.
#![no_main]

mod common;

use govfeeds::item::Item;
use govfeeds::source::dump::{DumpParser, Event};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = common::config();
    for event in DumpParser::new(data) {
        if let Event::Entry(entry) = event {
            let (item, _warning) = Item::from_dump(&entry, config, chrono::Utc::now().fixed_offset());
            assert!(!item.key.is_empty());
            common::file(&item);
        }
    }
});
