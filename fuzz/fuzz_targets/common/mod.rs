//! What the targets that map input to items share: a minimal site config, parsed once.

use std::path::Path;
use std::sync::OnceLock;

use govfeeds::config::Config;

const CONFIG: &str = r#"
[site]
title = "T"
base_url = "http://127.0.0.1:8080/"
timezone = "Asia/Almaty"
language = "en"
"#;

/// The fuzzing site's config (`None` only if the literal above stopped being valid).
pub fn config() -> Option<&'static Config> {
    static CONFIG_ONCE: OnceLock<Option<Config>> = OnceLock::new();
    CONFIG_ONCE
        .get_or_init(|| Config::parse(Path::new("fuzz.toml"), CONFIG).ok())
        .as_ref()
}
