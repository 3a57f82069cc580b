//! The TOML configuration: raw serde structs (unknown keys rejected) validated into [`Config`].
//!
//! Every error names the file, the `line:column` and the key it is about, and says what is
//! expected, so an operator can fix it without reading the code.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};
use url::Url;

use crate::dump_glob::DumpGlob;
use crate::feed_id::{COMBINED_ID, is_feed_id};
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    site: RawSite,
    #[serde(default)]
    paths: RawPaths,
    #[serde(default)]
    feeds: RawFeeds,
    #[serde(default)]
    dedup: RawDedup,
    #[serde(default, rename = "source")]
    sources: Vec<RawSource>,
    #[serde(default, rename = "ministry")]
    ministries: Vec<RawMinistry>,
    unattributed: Option<RawFeedName>,
    #[serde(default)]
    fetch: RawFetch,
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    entity: BTreeMap<String, Spanned<BTreeMap<String, Spanned<String>>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFetch {
    connect_timeout_secs: Option<Spanned<i64>>,
    timeout_secs: Option<Spanned<i64>>,
    max_body_mib: Option<Spanned<i64>>,
    max_backoff_secs: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    title: String,
    description: Option<String>,
    base_url: Spanned<String>,
    timezone: Spanned<String>,
    language: Spanned<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPaths {
    state_dir: Option<Spanned<String>>,
    output_dir: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFeeds {
    max_items: Option<Spanned<i64>>,
    languages: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDedup {
    ignore_params: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Spanned<String>,
    kind: Spanned<RawSourceKind>,
    path: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    ministry: Option<Spanned<String>>,
    entities: Option<Spanned<Vec<Spanned<String>>>>,
    lang: Option<Spanned<String>>,
    endpoint: Option<Spanned<String>>,
    pause_ms: Option<Spanned<i64>>,
    schedule: Spanned<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum RawSourceKind {
    Dump,
    Feed,
    Govkz,
}

/// gov.kz's official RSS endpoint; tests point `endpoint` at 127.0.0.1.
pub const GOVKZ_ENDPOINT: &str = "https://www.gov.kz/api/v1/public/rss/{entity}/news/{lang}";

/// Where gov.kz's pages and uploads live, whatever endpoint serves its feeds.
const GOVKZ_BASE: &str = "https://www.gov.kz/";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMinistry {
    id: Spanned<String>,
    title: String,
    #[serde(default)]
    entities: Vec<Spanned<String>>,
    #[serde(default)]
    keywords: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeedName {
    id: Spanned<String>,
    title: String,
}

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
        validate(&ctx, raw)
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

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn error(&self, span: Option<Range<usize>>, message: &str) -> ConfigError {
        let (position, key) = match span {
            Some(span) => (
                Some(line_col(self.text, span.start)),
                key_at(self.text, span.start),
            ),
            None => (None, None),
        };
        ConfigError {
            file: self.path.to_path_buf(),
            position,
            key,
            message: message.to_string(),
        }
    }

    fn at<T>(&self, spanned: &Spanned<T>, message: &str) -> ConfigError {
        self.error(Some(spanned.span()), message)
    }

    fn resolve(&self, relative: &str) -> PathBuf {
        let file = std::path::absolute(self.path).unwrap_or_else(|_| self.path.to_path_buf());
        let base = file.parent().unwrap_or(Path::new("/"));
        normalize_path(&base.join(relative))
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, col)
}

/// The dotted key path (`source[1].schedule`) of the innermost key or value at `offset`.
/// The dotted key path (`source[1].schedule`) of the innermost key or value at `offset`.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let doc = DeTable::parse(text).ok()?;
    find_key(doc.get_ref(), offset)
}

fn find_key(table: &DeTable<'_>, offset: usize) -> Option<String> {
    for (key, value) in table.iter() {
        let inner =
            match value.get_ref() {
                DeValue::Table(t) => find_key(t, offset).map(|p| format!(".{p}")),
                DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| match item
                    .get_ref()
                {
                    DeValue::Table(t) => find_key(t, offset).map(|p| format!("[{i}].{p}")),
                    _ if item.span().contains(&offset) => Some(format!("[{i}]")),
                    _ => None,
                }),
                _ => None,
            };
        if let Some(inner) = inner {
            return Some(format!("{}{inner}", key.get_ref()));
        }
        if key.span().contains(&offset) || value.span().contains(&offset) {
            return Some(key.get_ref().to_string());
        }
    }
    None
}

/// Lexically removes `.` and `..` components, so printed paths are readable.
fn normalize_path(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// A plausible BCP 47 tag: a 2–3 letter primary subtag, then 1–8 alphanumeric subtags.
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    primary_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn validate(ctx: &Ctx<'_>, raw: RawConfig) -> Result<Config, ConfigError> {
    let site = validate_site(ctx, raw.site)?;
    let paths = validate_paths(ctx, raw.paths)?;
    let max_items =
        usize::try_from(bounded(ctx, raw.feeds.max_items, 1..=10_000, 50)?).unwrap_or(50);
    let mut languages: Vec<String> = Vec::new();
    for lang in raw.feeds.languages.unwrap_or_default() {
        let tag = lang.get_ref();
        if !crate::language::is_iso_639_1(tag) {
            return Err(ctx.at(
                &lang,
                "expected a lower-case two-letter language code (ISO 639-1) such as \"kk\", \
                 \"ru\" or \"en\"",
            ));
        }
        if languages.contains(tag) {
            return Err(ctx.at(&lang, &format!("\"{tag}\" is listed twice")));
        }
        languages.push(tag.clone());
    }
    let ignore_params = match raw.dedup.ignore_params {
        None => IgnoreParams::new(DEFAULT_IGNORE_PARAMS),
        Some(list) => {
            for p in &list {
                Glob::new(p.get_ref()).map_err(|e| {
                    ctx.at(
                        p,
                        &format!("invalid glob: {}; expected e.g. \"utm_*\"", e.kind()),
                    )
                })?;
            }
            let names: Vec<&str> = list.iter().map(|p| p.get_ref().as_str()).collect();
            IgnoreParams::new(&names)
        }
    }
    .map_err(|e| ctx.error(None, &format!("invalid ignore_params glob: {e}")))?;

    let mut names = HashSet::new();
    let mut sources = Vec::new();
    let raw_ministry_spans: Vec<(String, Range<usize>)> = raw
        .sources
        .iter()
        .filter_map(|s| {
            Some((
                s.name.get_ref().trim().to_string(),
                s.ministry.as_ref()?.span(),
            ))
        })
        .collect();
    for s in raw.sources {
        sources.push(validate_source(ctx, s, &mut names)?);
    }

    let mut ids: HashSet<String> = HashSet::from([COMBINED_ID.to_string()]);
    // The unattributed feed's id is taken first, so a ministry cannot take it unnoticed.
    let unattributed = match raw.unattributed {
        Some(u) => validate_feed_name(ctx, &u.id, u.title, &mut ids)?,
        None => {
            ids.insert(DEFAULT_UNATTRIBUTED.0.to_string());
            FeedName {
                id: DEFAULT_UNATTRIBUTED.0.into(),
                title: DEFAULT_UNATTRIBUTED.1.into(),
            }
        }
    };
    let mut ministries = Vec::new();
    for m in raw.ministries {
        let feed = validate_feed_name(ctx, &m.id, m.title, &mut ids)?;
        let mut builder = GlobSetBuilder::new();
        for e in &m.entities {
            let glob = Glob::new(e.get_ref()).map_err(|err| {
                ctx.at(
                    e,
                    &format!("invalid glob: {}; expected e.g. \"mfa-*\"", err.kind()),
                )
            })?;
            builder.add(glob);
        }
        let entities = builder
            .build()
            .map_err(|e| ctx.at(&m.id, &format!("invalid entities: {e}")))?;
        ministries.push(Ministry {
            feed,
            entity_patterns: m.entities.iter().map(|e| e.get_ref().clone()).collect(),
            entities,
            keywords: m
                .keywords
                .iter()
                .map(|k| k.trim().to_lowercase())
                .filter(|k| !k.is_empty())
                .collect(),
        });
    }
    for s in &sources {
        if let SourceKind::Feed {
            ministry: Some(m), ..
        } = &s.kind
            && !ids.contains(m)
        {
            let span = raw_ministry_spans
                .iter()
                .find(|(n, _)| n == &s.name)
                .map(|(_, sp)| sp.clone());
            return Err(ctx.error(
                span,
                &format!("no ministry has id \"{m}\"; expected one of the [[ministry]] ids or the [unattributed] id"),
            ));
        }
    }
    let fetch = validate_fetch(ctx, raw.fetch)?;
    let entity_names = validate_entity_names(ctx, raw.entity)?;
    let listen = match raw.server.listen {
        None => std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
        Some(l) => l.get_ref().parse().map_err(|_| {
            ctx.at(
                &l,
                "expected an address and port such as \"127.0.0.1:8080\" or \"[::1]:8080\"",
            )
        })?,
    };

    Ok(Config {
        fetch,
        server: ServerConfig { listen },
        file: ctx.path.to_path_buf(),
        site,
        paths,
        max_items,
        languages,
        ignore_params,
        sources,
        ministries,
        unattributed,
        entity_names,
    })
}

/// `[entity."<slug>"]` tables: a slug as gov.kz writes it, names under language codes.
fn validate_entity_names(
    ctx: &Ctx<'_>,
    raw: BTreeMap<String, Spanned<BTreeMap<String, Spanned<String>>>>,
) -> Result<BTreeMap<String, crate::names::Localized>, ConfigError> {
    let mut names = BTreeMap::new();
    for (slug, table) in raw {
        let slug_ok = slug.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !slug_ok {
            return Err(ctx.at(
                &table,
                &format!(
                    "[entity.\"{slug}\"]: expected a gov.kz entity slug of lower-case letters, \
                     digits and '-', as in www.gov.kz/memleket/entities/<slug>/"
                ),
            ));
        }
        if table.get_ref().is_empty() {
            return Err(ctx.at(
                &table,
                &format!("[entity.\"{slug}\"]: expected names by language, such as en = \"...\""),
            ));
        }
        let mut localized = crate::names::Localized::new();
        for (lang, name) in table.into_inner() {
            if lang.len() != 2 || !lang.chars().all(|c| c.is_ascii_lowercase()) {
                return Err(ctx.at(
                    &name,
                    &format!(
                        "\"{lang}\" is not a language code; expected a two-letter ISO 639-1 code \
                         such as en, kk or ru"
                    ),
                ));
            }
            let text = name
                .get_ref()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            if text.is_empty() {
                return Err(ctx.at(&name, "expected a non-empty name"));
            }
            localized.insert(lang, text);
        }
        names.insert(slug, localized);
    }
    Ok(names)
}

/// The state and output folders, made absolute; the state may not be inside the output,
/// where a web server would serve the item store to anyone.
fn validate_paths(ctx: &Ctx<'_>, raw: RawPaths) -> Result<Paths, ConfigError> {
    let resolve = |value: &Option<Spanned<String>>, default| {
        ctx.resolve(value.as_ref().map_or(default, |v| v.get_ref().as_str()))
    };
    let paths = Paths {
        state_dir: resolve(&raw.state_dir, "state"),
        output_dir: resolve(&raw.output_dir, "public"),
    };
    // Compared as written and, where they exist, with links resolved.
    let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let inside = paths.state_dir.starts_with(&paths.output_dir)
        || real(&paths.state_dir).starts_with(real(&paths.output_dir));
    if inside {
        let span = raw
            .state_dir
            .as_ref()
            .or(raw.output_dir.as_ref())
            .map(Spanned::span);
        return Err(ctx.error(
            span,
            &format!(
                "state_dir {} is output_dir {} or inside it, so the item store would be published \
                 with the feeds; expected folders side by side, such as \"state\" and \"public\"",
                paths.state_dir.display(),
                paths.output_dir.display()
            ),
        ));
    }
    Ok(paths)
}

/// A whole number in `range`, or `default` when absent.
fn bounded(
    ctx: &Ctx<'_>,
    value: Option<Spanned<i64>>,
    range: std::ops::RangeInclusive<i64>,
    default: i64,
) -> Result<u64, ConfigError> {
    match value {
        None => Ok(default.unsigned_abs()),
        Some(v) if range.contains(v.get_ref()) => Ok(v.get_ref().unsigned_abs()),
        Some(v) => Err(ctx.at(
            &v,
            &format!(
                "expected a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

fn validate_fetch(ctx: &Ctx<'_>, raw: RawFetch) -> Result<FetchConfig, ConfigError> {
    use std::time::Duration;
    Ok(FetchConfig {
        connect_timeout: Duration::from_secs(bounded(ctx, raw.connect_timeout_secs, 1..=300, 10)?),
        timeout: Duration::from_secs(bounded(ctx, raw.timeout_secs, 1..=3600, 60)?),
        max_body_bytes: bounded(ctx, raw.max_body_mib, 1..=4096, 64)? * 1024 * 1024,
        max_backoff: Duration::from_secs(bounded(ctx, raw.max_backoff_secs, 1..=86_400, 3600)?),
    })
}

fn validate_site(ctx: &Ctx<'_>, raw: RawSite) -> Result<Site, ConfigError> {
    let mut base_url = Url::parse(raw.base_url.get_ref())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| {
            ctx.at(
                &raw.base_url,
                "expected an absolute http(s) URL such as \"https://feeds.example.org/\"",
            )
        })?;
    if !base_url.path().ends_with('/') {
        let path = format!("{}/", base_url.path());
        base_url.set_path(&path);
    }
    base_url.set_query(None);
    base_url.set_fragment(None);
    let timezone: Tz = raw.timezone.get_ref().parse().map_err(|_| {
        ctx.at(
            &raw.timezone,
            "unknown time zone; expected an IANA name such as \"Asia/Almaty\"",
        )
    })?;
    if !is_language_tag(raw.language.get_ref()) {
        return Err(ctx.at(
            &raw.language,
            "expected a language tag such as \"en\", \"ru\" or \"kk\"",
        ));
    }
    let title = raw.title.trim().to_string();
    Ok(Site {
        description: raw
            .description
            .unwrap_or_else(|| format!("{title}: news republished by govfeeds")),
        title,
        base_url,
        timezone,
        language: raw.language.into_inner(),
    })
}

fn validate_source(
    ctx: &Ctx<'_>,
    raw: RawSource,
    names: &mut HashSet<String>,
) -> Result<SourceConfig, ConfigError> {
    let name = raw.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(ctx.at(&raw.name, "expected a non-empty source name"));
    }
    if !names.insert(name.clone()) {
        return Err(ctx.at(
            &raw.name,
            "duplicate source name; every source needs its own",
        ));
    }
    let schedule = Cron::parse(raw.schedule.get_ref()).map_err(|e| {
        ctx.at(
            &raw.schedule,
            &format!(
                "invalid cron expression ({e}); expected 5 fields (minute first, e.g. \"*/15 * * * *\") or 6 (seconds first)"
            ),
        )
    })?;
    let kind = validate_source_kind(ctx, &raw)?;
    Ok(SourceConfig {
        name,
        kind,
        schedule,
    })
}

/// Rejects a key that does not apply to the source's kind.
fn reject<T>(
    ctx: &Ctx<'_>,
    value: &Option<Spanned<T>>,
    key: &str,
    kind: &str,
) -> Result<(), ConfigError> {
    match value {
        Some(v) => Err(ctx.at(v, &format!("`{key}` does not apply to a {kind} source"))),
        None => Ok(()),
    }
}

fn required_url(ctx: &Ctx<'_>, raw: &RawSource, kind: &str) -> Result<Url, ConfigError> {
    let url = raw
        .url
        .as_ref()
        .ok_or_else(|| ctx.at(&raw.name, &format!("a {kind} source needs `url`")))?;
    crate::identity::parse_source_url(url.get_ref())
        .ok_or_else(|| ctx.at(url, "expected an absolute http(s) URL"))
}

fn validate_source_kind(ctx: &Ctx<'_>, raw: &RawSource) -> Result<SourceKind, ConfigError> {
    match *raw.kind.get_ref() {
        RawSourceKind::Dump => {
            for (value, key) in [
                (&raw.ministry, "ministry"),
                (&raw.lang, "lang"),
                (&raw.endpoint, "endpoint"),
            ] {
                reject(ctx, value, key, "dump")?;
            }
            reject(ctx, &raw.entities, "entities", "dump")?;
            reject(ctx, &raw.pause_ms, "pause_ms", "dump")?;
            match (&raw.path, &raw.url) {
                (Some(path), None) => {
                    let pattern = ctx.resolve(path.get_ref()).to_string_lossy().into_owned();
                    let glob = DumpGlob::new(&pattern).map_err(|e| {
                        ctx.at(path, &format!("invalid glob: {}; expected e.g. \"dumps/*.txt\"", e.kind()))
                    })?;
                    if let Err(e) = glob.files() {
                        return Err(ctx.at(
                            path,
                            &format!("{e}; expected an existing file or a glob that matches one"),
                        ));
                    }
                    Ok(SourceKind::DumpFiles { glob })
                }
                (None, Some(_)) => Ok(SourceKind::DumpUrl {
                    url: required_url(ctx, raw, "dump")?,
                }),
                (Some(path), Some(_)) => Err(ctx.at(path, "a dump source takes `path` or `url`, not both")),
                (None, None) => Err(ctx.at(
                    &raw.name,
                    "a dump source needs `path` (a file or a glob such as \"dumps/*.txt\") or `url`",
                )),
            }
        }
        RawSourceKind::Feed => {
            reject(ctx, &raw.path, "path", "feed")?;
            for (value, key) in [(&raw.lang, "lang"), (&raw.endpoint, "endpoint")] {
                reject(ctx, value, key, "feed")?;
            }
            reject(ctx, &raw.entities, "entities", "feed")?;
            reject(ctx, &raw.pause_ms, "pause_ms", "feed")?;
            Ok(SourceKind::Feed {
                url: required_url(ctx, raw, "feed")?,
                ministry: raw.ministry.as_ref().map(|m| m.get_ref().clone()),
            })
        }
        RawSourceKind::Govkz => {
            reject(ctx, &raw.path, "path", "govkz")?;
            reject(ctx, &raw.url, "url", "govkz")?;
            reject(
                ctx,
                &raw.ministry,
                "ministry",
                "govkz (items go to their entity's ministry)",
            )?;
            let entities = raw
                .entities
                .as_ref()
                .filter(|e| !e.get_ref().is_empty())
                .ok_or_else(|| {
                    ctx.at(
                        &raw.name,
                        "a govkz source needs `entities`, e.g. [\"mfa\", \"mti\"]",
                    )
                })?;
            for e in entities.get_ref() {
                if !is_feed_id(e.get_ref()) {
                    return Err(ctx.at(e, "expected a gov.kz entity slug such as \"mfa-madrid\""));
                }
            }
            let lang = match &raw.lang {
                None => "en".to_string(),
                Some(l) if matches!(l.get_ref().as_str(), "kk" | "ru" | "en") => {
                    l.get_ref().clone()
                }
                Some(l) => return Err(ctx.at(l, "expected \"kk\", \"ru\" or \"en\"")),
            };
            let endpoint = raw
                .endpoint
                .as_ref()
                .map_or(GOVKZ_ENDPOINT.to_string(), |e| e.get_ref().clone());
            if !endpoint.contains("{entity}")
                || SourceKind::govkz_url(&endpoint, "mfa", &lang).is_none()
            {
                let at = raw.endpoint.as_ref().map_or(raw.kind.span(), |e| e.span());
                return Err(ctx.error(
                    Some(at),
                    "expected an http(s) URL template containing {entity} (and usually {lang})",
                ));
            }
            let pause = std::time::Duration::from_millis(bounded(
                ctx,
                raw.pause_ms.clone(),
                0..=60_000,
                1000,
            )?);
            let base = Url::parse(GOVKZ_BASE).map_err(|e| ctx.at(&raw.kind, &e.to_string()))?;
            Ok(SourceKind::GovKz {
                entities: entities
                    .get_ref()
                    .iter()
                    .map(|e| e.get_ref().clone())
                    .collect(),
                lang,
                endpoint,
                pause,
                base,
            })
        }
    }
}

fn validate_feed_name(
    ctx: &Ctx<'_>,
    id: &Spanned<String>,
    title: String,
    ids: &mut HashSet<String>,
) -> Result<FeedName, ConfigError> {
    if !is_feed_id(id.get_ref()) {
        return Err(ctx.at(
            id,
            "expected a feed id of lower-case letters, digits, '-' and '_' (it names the feed's files)",
        ));
    }
    if !ids.insert(id.get_ref().clone()) {
        return Err(ctx.at(
            id,
            &format!(
                "duplicate feed id \"{}\" (\"{COMBINED_ID}\" is reserved for the combined feed, \
                 and the [unattributed] feed's id, \"{}\" unless set, is taken too)",
                id.get_ref(),
                DEFAULT_UNATTRIBUTED.0
            ),
        ));
    }
    Ok(FeedName {
        id: id.get_ref().clone(),
        title: title.trim().to_string(),
    })
}
