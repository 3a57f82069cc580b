//! Any bytes through the dump parser and the body restoration: no panic.
#![no_main]

use govfeeds::body::Body;
use govfeeds::source::dump::{DumpParser, Event};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for event in DumpParser::new(data) {
        if let Event::Entry(entry) = event {
            let body = Body::parse(&entry.body, &entry.title);
            let _ = (body.to_html(), body.summary());
        }
    }
});
