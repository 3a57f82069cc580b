//! Any text as a config file: an error or a config, never a panic.
#![no_main]

use std::path::Path;

use govfeeds::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    if let Err(e) = Config::parse(Path::new("/nonexistent/fuzz.toml"), data) {
        let _ = e.to_string();
    }
});
