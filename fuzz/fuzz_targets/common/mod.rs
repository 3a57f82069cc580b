//! What the targets that map input to items share: the bundled config and its classifier,
//! built once, and what `build` does with each item.

use std::path::Path;
use std::sync::OnceLock;

use govfeeds::classify::Classifier;
use govfeeds::config::Config;
use govfeeds::identity::{page_name, variant_language};
use govfeeds::item::Item;

/// The bundled config, read where it lives so its dump glob resolves: its ministries' entity
/// globs and keywords are what classification matches against.
const CONFIG_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/govfeeds.toml");

/// The fuzzing site's config. A config that does not load fails the first run loudly
/// instead of letting every run return early.
pub fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let text =
            std::fs::read_to_string(CONFIG_PATH).unwrap_or_else(|e| panic!("{CONFIG_PATH}: {e}"));
        Config::parse(Path::new(CONFIG_PATH), &text).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// The classifier `build` would make from [`config`].
pub fn classifier() -> &'static Classifier<'static> {
    static CLASSIFIER: OnceLock<Classifier<'static>> = OnceLock::new();
    CLASSIFIER.get_or_init(|| Classifier::new(config()))
}

/// What `build` derives from an item before storing it: its feed, page name and variant
/// language.
pub fn file(item: &Item) {
    let _ = classifier().feed_for(item.entity.as_deref(), &item.title, &item.content_html);
    let _ = (
        page_name(&item.key),
        item.link.as_deref().map(variant_language),
    );
}
