//! Any text as a config file: an error or a config, never a panic.
#![no_main]

use std::path::Path;

use govfeeds::config::Config;
use libfuzzer_sys::fuzz_target;

/// Beside the bundled config, so that its relative dump globs (`dumps/*.txt`) match files and
/// validation goes on past the sources.
const CONFIG_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/fuzz.toml");

fuzz_target!(|data: &str| {
    if let Err(e) = Config::parse(Path::new(CONFIG_PATH), data) {
        let _ = e.to_string();
    }
});
