//! The configuration as written: serde structs that reject unknown keys, with spans for
//! errors.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) site: RawSite,
    #[serde(default)]
    pub(super) paths: RawPaths,
    #[serde(default)]
    pub(super) feeds: RawFeeds,
    #[serde(default)]
    pub(super) dedup: RawDedup,
    #[serde(default, rename = "source")]
    pub(super) sources: Vec<RawSource>,
    #[serde(default, rename = "ministry")]
    pub(super) ministries: Vec<RawMinistry>,
    #[serde(default, rename = "topic")]
    pub(super) topics: Vec<RawTopic>,
    pub(super) unattributed: Option<RawFeedName>,
    #[serde(default)]
    pub(super) fetch: RawFetch,
    #[serde(default)]
    pub(super) server: RawServer,
    #[serde(default)]
    pub(super) entity: BTreeMap<String, Spanned<BTreeMap<String, Spanned<String>>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFetch {
    pub(super) connect_timeout_secs: Option<Spanned<i64>>,
    pub(super) timeout_secs: Option<Spanned<i64>>,
    pub(super) max_body_mib: Option<Spanned<i64>>,
    pub(super) max_backoff_secs: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub(super) listen: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSite {
    pub(super) title: String,
    pub(super) description: Option<String>,
    pub(super) base_url: Spanned<String>,
    pub(super) timezone: Spanned<String>,
    pub(super) language: Spanned<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPaths {
    pub(super) state_dir: Option<Spanned<String>>,
    pub(super) output_dir: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeeds {
    pub(super) max_items: Option<Spanned<i64>>,
    pub(super) languages: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDedup {
    pub(super) ignore_params: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) name: Spanned<String>,
    pub(super) kind: Spanned<RawSourceKind>,
    pub(super) path: Option<Spanned<String>>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) ministry: Option<Spanned<String>>,
    pub(super) entities: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) lang: Option<Spanned<String>>,
    pub(super) endpoint: Option<Spanned<String>>,
    pub(super) pause_ms: Option<Spanned<i64>>,
    pub(super) schedule: Spanned<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawSourceKind {
    Dump,
    Feed,
    Govkz,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMinistry {
    pub(super) id: Spanned<String>,
    pub(super) title: String,
    #[serde(default)]
    pub(super) entities: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) keywords: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTopic {
    pub(super) id: Spanned<String>,
    pub(super) title: String,
    pub(super) query: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeedName {
    pub(super) id: Spanned<String>,
    pub(super) title: String,
}
