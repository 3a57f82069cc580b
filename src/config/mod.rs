//! The TOML configuration: raw serde structs (unknown keys rejected) validated into [`Config`].
//!
//! Every error names the file, the `line:column` and the key it is about, and says what is
//! expected, so an operator can fix it without reading the code.

mod raw;
mod source;
mod span;
mod validate;

use self::raw::RawConfig;
use self::span::Ctx;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use globset::GlobSet;
use url::Url;

use crate::dump_glob::DumpGlob;
use crate::identity::IgnoreParams;
use crate::schedule::Cron;

/// The validated configuration every other module works with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this configuration was read from.
    pub file: PathBuf,
    /// `[site]`: what the published feeds say about themselves.
    pub site: Site,
    /// `[paths]`, resolved against the config file's folder.
    pub paths: Paths,
    /// `[feeds] max_items`: the newest N items per feed.
    pub max_items: usize,
    /// `[feeds] languages`: the languages that get a feed of their own per feed
    /// (`feeds/<id>.<lang>.atom`); empty for none.
    pub languages: Vec<String>,
    /// `[dedup] ignore_params`: query parameters that do not change an item's identity.
    pub ignore_params: IgnoreParams,
    /// `[[source]]` entries, in file order.
    pub sources: Vec<SourceConfig>,
    /// `[[ministry]]` entries, in file order (the first match wins).
    pub ministries: Vec<Ministry>,
    /// `[unattributed]`: the feed for items no ministry claims.
    pub unattributed: FeedName,
    /// `[[topic]]` entries, in file order: feeds of a search query each.
    pub topics: Vec<Topic>,
    /// `[fetch]`: how sources are polled over HTTP.
    pub fetch: FetchConfig,
    /// `[server]`: where `serve` listens.
    pub server: ServerConfig,
    /// `[entity."<slug>"]`: the operator's names of gov.kz entities, by language, before the
    /// bundled ones ([`crate::names`]).
    pub entity_names: BTreeMap<String, crate::names::Localized>,
}

/// `[fetch]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchConfig {
    /// Connect timeout.
    pub connect_timeout: std::time::Duration,
    /// Timeout for the whole request, body included.
    pub timeout: std::time::Duration,
    /// Largest body accepted, after decompression.
    pub max_body_bytes: u64,
    /// Longest delay backoff puts between the runs of a failing source.
    pub max_backoff: std::time::Duration,
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: std::net::SocketAddr,
}

/// `[site]`.
#[derive(Debug, Clone)]
pub struct Site {
    /// Title of the combined feed and prefix of the others.
    pub title: String,
    /// Description of the combined feed.
    pub description: String,
    /// Absolute http(s) URL the feeds are served under, always ending in `/`.
    pub base_url: Url,
    /// The time zone the dumps' dates are local dates in.
    pub timezone: Tz,
    /// Language tag of the feeds (BCP 47).
    pub language: String,
}

/// `[paths]`.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Where the item store lives.
    pub state_dir: PathBuf,
    /// Where the feeds are written (`output_dir/feeds/<id>.rss|.atom`).
    pub output_dir: PathBuf,
}

/// One `[[source]]`.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Unique name, used in logs and in the store.
    pub name: String,
    /// What to read.
    pub kind: SourceKind,
    /// When `serve` re-reads it.
    pub schedule: Cron,
}

/// The kinds of source.
#[derive(Debug, Clone)]
pub enum SourceKind {
    /// Text dumps read from local files: a path or a glob, made absolute.
    DumpFiles {
        /// The absolute path or glob pattern, compiled.
        glob: DumpGlob,
    },
    /// A text dump polled over HTTP.
    DumpUrl {
        /// Where to fetch it.
        url: Url,
    },
    /// An RSS, Atom or JSON feed polled over HTTP.
    Feed {
        /// Where to fetch it.
        url: Url,
        /// Put every item in this feed id instead of attributing it by its link.
        ministry: Option<String>,
    },
    /// gov.kz's official per-entity RSS, one poll per entity.
    GovKz {
        /// The entity slugs to poll.
        entities: Vec<String>,
        /// The language of the feeds (kk, ru or en).
        lang: String,
        /// The URL template, with `{entity}` and `{lang}`.
        endpoint: String,
        /// The pause between two entities' requests.
        pause: std::time::Duration,
        /// What relative links in gov.kz feeds are relative to: https://www.gov.kz/.
        base: Url,
    },
}

impl SourceKind {
    /// The URL of a gov.kz entity feed.
    pub fn govkz_url(endpoint: &str, entity: &str, lang: &str) -> Option<Url> {
        crate::identity::parse_source_url(
            &endpoint.replace("{entity}", entity).replace("{lang}", lang),
        )
    }
}

/// One `[[ministry]]`.
#[derive(Debug, Clone)]
pub struct Ministry {
    /// Feed id (file name) and name.
    pub feed: FeedName,
    /// The entity slug globs, as written.
    pub entity_patterns: Vec<String>,
    /// The compiled `entities` globs.
    pub entities: GlobSet,
    /// Lower-cased keywords that attribute items without a source URL.
    pub keywords: Vec<String>,
}

/// One `[[topic]]`: a feed of the newest items matching a search query, published like a
/// ministry's under `feeds/topic/<id>`.
#[derive(Debug, Clone)]
pub struct Topic {
    /// Feed id (`topic/<id>`, so that no entity slug can take its files) and title.
    pub feed: FeedName,
    /// The query, as written.
    pub text: String,
    /// The query, parsed.
    pub query: crate::search::Query,
}

/// A feed's id (used as its file name) and title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedName {
    /// `[a-z0-9][a-z0-9_-]*`.
    pub id: String,
    /// Human-readable title.
    pub title: String,
}

/// A configuration error: where it is and what is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file.
    pub file: PathBuf,
    /// 1-based line and column, when the error has a position.
    pub position: Option<(usize, usize)>,
    /// The dotted key path, e.g. `source[0].schedule`.
    pub key: Option<String>,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// gov.kz's official RSS endpoint; tests point `endpoint` at 127.0.0.1.
pub const GOVKZ_ENDPOINT: &str = "https://www.gov.kz/api/v1/public/rss/{entity}/news/{lang}";

/// Where gov.kz's pages and uploads live, whatever endpoint serves its feeds.
const GOVKZ_BASE: &str = "https://www.gov.kz/";

/// The id and title of the feed of unattributed items when `[unattributed]` is left out.
const DEFAULT_UNATTRIBUTED: (&str, &str) = ("other", "Other news");

/// Query parameters ignored for identity when `[dedup]` does not say.
const DEFAULT_IGNORE_PARAMS: &[&str] = &["lang", "utm_*"];

impl Config {
    /// Reads and validates the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            position: None,
            key: None,
            message: format!("cannot read the config file: {e}"),
        })?;
        Config::parse(path, &text)
    }

    /// Validates config `text`; `path` names it in errors and anchors relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let ctx = Ctx { path, text };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().trim_end().to_string();
            ctx.error(e.span(), &message)
        })?;
        validate::validate(&ctx, raw)
    }

    /// The base URL joined with a path relative to it.
    pub fn url_for(&self, relative: &str) -> String {
        self.site
            .base_url
            .join(relative)
            .map(String::from)
            .unwrap_or_else(|_| format!("{}{relative}", self.site.base_url))
    }
}
