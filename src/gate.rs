//! The publish gate: every rendered feed is read back with an XML (or JSON) parser and checked
//! against the rules feed validators and readers enforce before it may replace the published
//! one. A document that fails is not published; the last good one stays.
//!
//! The rules: the document parses; its self link is exactly the URL it is served at; every
//! entry has an id, unique within the document; every URL (links, GUIDs that are permalinks,
//! `href`/`src` inside content) is absolute; every date is RFC 3339 (Atom, JSON Feed) or
//! RFC 2822 with the right day of the week (RSS).

use std::collections::HashSet;

use quick_xml::events::Event;

use crate::config::Config;
use crate::render::{ATOM_TYPE, Document, JSON_TYPE, RSS_TYPE};

/// Checks `doc` as it would be served under `config.site.base_url`; the first broken rule.
pub fn check(doc: &Document, config: &Config) -> Result<(), String> {
    let served_at = config.url_for(&doc.path);
    match doc.content_type {
        ATOM_TYPE | RSS_TYPE => check_xml(&doc.bytes, &served_at),
        JSON_TYPE => check_json(&doc.bytes, &served_at),
        _ => Ok(()),
    }
}

fn absolute(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// Relative `href` or `src` values inside an HTML fragment (a rough scan: enough to catch
/// what a sanitizer should have made absolute).
fn relative_refs(html: &str) -> Option<String> {
    for attr in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            let value = rest.split('"').next().unwrap_or("");
            let value = html_escape::decode_html_entities(value);
            let ok = absolute(&value) || value.starts_with("mailto:") || value.starts_with('#');
            if !ok {
                return Some(value.into_owned());
            }
        }
    }
    None
}

fn check_xml(bytes: &[u8], served_at: &str) -> Result<(), String> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut path: Vec<String> = Vec::new();
    let mut buf = Vec::new();
    let mut self_link = None;
    let mut ids = HashSet::new();
    let mut text = String::new();
    let mut permalink = true;
    let mut root = None;
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| {
            format!(
                "not well-formed XML at byte {}: {e}",
                reader.error_position()
            )
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.name().as_ref().to_string();
                root.get_or_insert_with(|| name.clone());
                let mut rel = None;
                let mut href = None;
                permalink = true;
                for attr in e.attributes() {
                    let attr = attr.map_err(|e| format!("bad attribute: {e}"))?;
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| format!("bad attribute value: {e}"))?
                        .into_owned();
                    match attr.key.as_ref() {
                        "rel" => rel = Some(value),
                        "href" | "url" => href = Some(value),
                        "isPermaLink" => permalink = value == "true",
                        _ => {}
                    }
                }
                if let Some(href) = &href
                    && !absolute(href)
                {
                    return Err(format!("<{name}> has a relative or non-http URL {href:?}"));
                }
                let feed_level =
                    path.len() <= 2 && !path.iter().any(|p| p == "entry" || p == "item");
                if (name == "link" || name == "atom:link")
                    && rel.as_deref() == Some("self")
                    && feed_level
                {
                    self_link = href;
                }
                if matches!(event, Event::Start(_)) {
                    path.push(name);
                    text.clear();
                }
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::CData(t) => text.push_str(&t),
            Event::GeneralRef(r) => {
                let name = r.to_string();
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => quick_xml::escape::unescape(&format!("&{name};"))
                        .map_err(|e| format!("bad entity &{name};: {e}"))?
                        .into_owned(),
                };
                text.push_str(&resolved);
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str).unwrap_or("");
                check_element(&name, parent, &text, permalink, &mut ids)?;
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    match root.as_deref() {
        Some("feed" | "rss") => {}
        other => return Err(format!("root element is {other:?}, not a feed")),
    }
    match self_link {
        Some(link) if link == served_at => Ok(()),
        Some(link) => Err(format!(
            "self link {link:?} is not the URL served, {served_at:?}"
        )),
        None => Err("no self link".into()),
    }
}

fn check_element(
    name: &str,
    parent: &str,
    text: &str,
    permalink: bool,
    ids: &mut HashSet<String>,
) -> Result<(), String> {
    let entry_id = (name == "id" && parent == "entry") || (name == "guid" && parent == "item");
    if entry_id {
        if text.trim().is_empty() {
            return Err(format!("empty <{name}>"));
        }
        if !ids.insert(text.to_string()) {
            return Err(format!("<{name}> {text:?} appears twice"));
        }
        if name == "guid" && permalink && !absolute(text) {
            return Err(format!("permalink GUID {text:?} is not an absolute URL"));
        }
    }
    match name {
        "updated" | "published" => {
            chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|e| format!("<{name}> {text:?} is not RFC 3339: {e}"))?;
        }
        "pubDate" | "lastBuildDate" => {
            chrono::DateTime::parse_from_rfc2822(text)
                .map_err(|e| format!("<{name}> {text:?} is not RFC 2822: {e}"))?;
        }
        "link" if (parent == "item" || parent == "channel") && !absolute(text) => {
            return Err(format!("<link> {text:?} is not an absolute URL"));
        }
        "content" | "content:encoded" | "description" | "summary" => {
            if let Some(bad) = relative_refs(text) {
                return Err(format!("<{name}> links to the relative URL {bad:?}"));
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_json(bytes: &[u8], served_at: &str) -> Result<(), String> {
    let feed: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    if feed["feed_url"].as_str() != Some(served_at) {
        return Err(format!(
            "feed_url {} is not the URL served, {served_at:?}",
            feed["feed_url"]
        ));
    }
    let mut ids = HashSet::new();
    for item in feed["items"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let id = item["id"].as_str().unwrap_or("");
        if id.is_empty() || !ids.insert(id.to_string()) {
            return Err(format!("item id {id:?} is empty or appears twice"));
        }
        if let Some(url) = item["url"].as_str()
            && !absolute(url)
        {
            return Err(format!("item url {url:?} is not absolute"));
        }
        for key in ["date_published", "date_modified"] {
            if let Some(date) = item[key].as_str() {
                chrono::DateTime::parse_from_rfc3339(date)
                    .map_err(|e| format!("{key} {date:?} is not RFC 3339: {e}"))?;
            }
        }
        if let Some(bad) = item["content_html"].as_str().and_then(relative_refs) {
            return Err(format!("content_html links to the relative URL {bad:?}"));
        }
    }
    Ok(())
}
