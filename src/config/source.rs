//! `[[source]]` entries: name, kind, schedule, and the keys each kind needs.

use std::collections::HashSet;

use toml::Spanned;
use url::Url;

use super::raw::{RawSource, RawSourceKind};
use super::span::{Ctx, bounded};
use super::{ConfigError, GOVKZ_BASE, GOVKZ_ENDPOINT, SourceConfig, SourceKind};
use crate::dump_glob::DumpGlob;
use crate::feed_id::is_feed_id;
use crate::schedule::Cron;

pub(super) fn validate_source(
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
        RawSourceKind::Dump => dump_kind(ctx, raw),
        RawSourceKind::Feed => feed_kind(ctx, raw),
        RawSourceKind::Govkz => govkz_kind(ctx, raw),
    }
}

/// `kind = "dump"`: a file or glob (`path`), or a URL.
fn dump_kind(ctx: &Ctx<'_>, raw: &RawSource) -> Result<SourceKind, ConfigError> {
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
                ctx.at(
                    path,
                    &format!("invalid glob: {}; expected e.g. \"dumps/*.txt\"", e.kind()),
                )
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

/// `kind = "feed"`: an upstream feed's URL, and optionally the ministry all its items go to.
fn feed_kind(ctx: &Ctx<'_>, raw: &RawSource) -> Result<SourceKind, ConfigError> {
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

/// `kind = "govkz"`: gov.kz entities polled one at a time through an endpoint template.
fn govkz_kind(ctx: &Ctx<'_>, raw: &RawSource) -> Result<SourceKind, ConfigError> {
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
        Some(l) if matches!(l.get_ref().as_str(), "kk" | "ru" | "en") => l.get_ref().clone(),
        Some(l) => return Err(ctx.at(l, "expected \"kk\", \"ru\" or \"en\"")),
    };
    let endpoint = raw
        .endpoint
        .as_ref()
        .map_or(GOVKZ_ENDPOINT.to_string(), |e| e.get_ref().clone());
    if !endpoint.contains("{entity}") || SourceKind::govkz_url(&endpoint, "mfa", &lang).is_none() {
        let at = raw.endpoint.as_ref().map_or(raw.kind.span(), |e| e.span());
        return Err(ctx.error(
            Some(at),
            "expected an http(s) URL template containing {entity} (and usually {lang})",
        ));
    }
    let pause =
        std::time::Duration::from_millis(bounded(ctx, raw.pause_ms.clone(), 0..=60_000, 1000)?);
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
