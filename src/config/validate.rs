//! Turning the raw configuration into a [`Config`]: every value checked, defaults filled in,
//! each error naming the file, line, key and what is expected.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::path::Path;

use chrono_tz::Tz;
use globset::{Glob, GlobSetBuilder};
use toml::Spanned;
use url::Url;

use super::raw::{RawConfig, RawFetch, RawMinistry, RawPaths, RawSite, RawTopic};
use super::source::validate_source;
use super::span::{Ctx, bounded};
use super::{
    Config, ConfigError, DEFAULT_IGNORE_PARAMS, DEFAULT_UNATTRIBUTED, FeedName, FetchConfig,
    Ministry, Paths, ServerConfig, Site, SourceConfig, SourceKind, Topic,
};
use crate::feed_id::{COMBINED_ID, TOPIC_PREFIX, is_feed_id};
use crate::identity::IgnoreParams;
use crate::search::Query;

/// A plausible BCP 47 tag: a 2–3 letter primary subtag, then 1–8 alphanumeric subtags.
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    primary_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

pub(super) fn validate(ctx: &Ctx<'_>, raw: RawConfig) -> Result<Config, ConfigError> {
    let site = validate_site(ctx, raw.site)?;
    let paths = validate_paths(ctx, raw.paths)?;
    let max_items =
        usize::try_from(bounded(ctx, raw.feeds.max_items, 1..=10_000, 50)?).unwrap_or(50);
    let languages = validate_languages(ctx, raw.feeds.languages.unwrap_or_default())?;
    let ignore_params = validate_ignore_params(ctx, raw.dedup.ignore_params)?;

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
    let ministries = raw
        .ministries
        .into_iter()
        .map(|m| validate_ministry(ctx, m, &mut ids))
        .collect::<Result<Vec<_>, _>>()?;
    check_source_ministries(ctx, &sources, &ids, &raw_ministry_spans)?;
    let mut topic_ids = HashSet::new();
    let topics = raw
        .topics
        .into_iter()
        .map(|t| validate_topic(ctx, t, &mut topic_ids))
        .collect::<Result<Vec<_>, _>>()?;
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
        topics,
        entity_names,
    })
}

/// One `[[topic]]`: an id not taken by another topic, a title, and a query that parses.
fn validate_topic(
    ctx: &Ctx<'_>,
    raw: RawTopic,
    ids: &mut HashSet<String>,
) -> Result<Topic, ConfigError> {
    let feed = validate_feed_name(ctx, &raw.id, raw.title, ids)?;
    let query = Query::parse(raw.query.get_ref()).map_err(|e| {
        ctx.at(
            &raw.query,
            &format!("{e}; expected a search query such as \"visa OR виза -schengen feed:mfa\""),
        )
    })?;
    Ok(Topic {
        feed: FeedName {
            id: format!("{TOPIC_PREFIX}{}", feed.id),
            title: feed.title,
        },
        text: raw.query.get_ref().trim().to_string(),
        query,
    })
}

/// `[feeds] languages`: ISO 639-1 codes, each once.
fn validate_languages(
    ctx: &Ctx<'_>,
    raw: Vec<Spanned<String>>,
) -> Result<Vec<String>, ConfigError> {
    let mut languages: Vec<String> = Vec::new();
    for lang in raw {
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
    Ok(languages)
}

/// `[dedup] ignore_params`: globs of query parameter names.
fn validate_ignore_params(
    ctx: &Ctx<'_>,
    raw: Option<Vec<Spanned<String>>>,
) -> Result<IgnoreParams, ConfigError> {
    match raw {
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
    .map_err(|e| ctx.error(None, &format!("invalid ignore_params glob: {e}")))
}

/// One `[[ministry]]`: its feed name (an id not taken yet), entity globs and keywords.
fn validate_ministry(
    ctx: &Ctx<'_>,
    m: RawMinistry,
    ids: &mut HashSet<String>,
) -> Result<Ministry, ConfigError> {
    let feed = validate_feed_name(ctx, &m.id, m.title, ids)?;
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
    Ok(Ministry {
        feed,
        entity_patterns: m.entities.iter().map(|e| e.get_ref().clone()).collect(),
        entities,
        keywords: m
            .keywords
            .iter()
            .map(|k| k.trim().to_lowercase())
            .filter(|k| !k.is_empty())
            .collect(),
    })
}

/// Every feed source's `ministry` names a feed id (`spans`: where each source wrote it).
fn check_source_ministries(
    ctx: &Ctx<'_>,
    sources: &[SourceConfig],
    ids: &HashSet<String>,
    spans: &[(String, Range<usize>)],
) -> Result<(), ConfigError> {
    for s in sources {
        if let SourceKind::Feed {
            ministry: Some(m), ..
        } = &s.kind
            && !ids.contains(m)
        {
            let span = spans
                .iter()
                .find(|(n, _)| n == &s.name)
                .map(|(_, sp)| sp.clone());
            return Err(ctx.error(
                span,
                &format!("no ministry has id \"{m}\"; expected one of the [[ministry]] ids or the [unattributed] id"),
            ));
        }
    }
    Ok(())
}

/// `[entity."<slug>"]` tables: a slug as gov.kz writes it, names under language codes.
fn validate_entity_names(
    ctx: &Ctx<'_>,
    raw: BTreeMap<String, Spanned<BTreeMap<String, Spanned<String>>>>,
) -> Result<BTreeMap<String, crate::names::Localized>, ConfigError> {
    let mut names = BTreeMap::new();
    for (slug, table) in raw {
        // The slugs identity reads from a source URL.
        if !is_feed_id(&slug) {
            return Err(ctx.at(
                &table,
                &format!(
                    "[entity.\"{slug}\"]: expected a gov.kz entity slug of lower-case letters, \
                     digits, '-' and '_', as in www.gov.kz/memleket/entities/<slug>/"
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
