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

/// Why the gate holds a document back: the first rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The XML does not parse.
    #[error("not well-formed XML at byte {at}: {error}")]
    Xml {
        /// Where the parser stopped.
        at: u64,
        /// What it said.
        error: String,
    },
    /// An attribute does not parse.
    #[error("bad attribute: {0}")]
    Attribute(String),
    /// An attribute's value does not parse.
    #[error("bad attribute value: {0}")]
    AttributeValue(String),
    /// An entity reference that resolves to nothing.
    #[error("bad entity &{name};: {error}")]
    Entity {
        /// The entity's name.
        name: String,
        /// What the parser said.
        error: String,
    },
    /// The root element is not `feed` or `rss`.
    #[error("root element is {0:?}, not a feed")]
    NotAFeed(Option<String>),
    /// The self link names another URL.
    #[error("self link {found:?} is not the URL served, {served_at:?}")]
    SelfLink {
        /// The self link.
        found: String,
        /// Where the document is served.
        served_at: String,
    },
    /// There is no self link.
    #[error("no self link")]
    NoSelfLink,
    /// An element's `href`/`url` is relative or not http(s).
    #[error("<{element}> has a relative or non-http URL {url:?}")]
    RelativeHref {
        /// The element.
        element: String,
        /// Its URL.
        url: String,
    },
    /// An entry id (`id`, `guid`) is empty.
    #[error("empty <{0}>")]
    EmptyId(String),
    /// An entry id appears twice.
    #[error("<{element}> {id:?} appears twice")]
    DuplicateId {
        /// `id` or `guid`.
        element: String,
        /// The id.
        id: String,
    },
    /// A GUID said to be a permalink is not an absolute URL.
    #[error("permalink GUID {0:?} is not an absolute URL")]
    RelativeGuid(String),
    /// A date is not in the format its element requires.
    #[error("<{element}> {value:?} is not {format}: {error}")]
    Date {
        /// The element.
        element: String,
        /// The date as written.
        value: String,
        /// `RFC 3339` or `RFC 2822`.
        format: &'static str,
        /// What the parser said.
        error: String,
    },
    /// A `<link>` is not an absolute URL.
    #[error("<link> {0:?} is not an absolute URL")]
    RelativeLink(String),
    /// Content links to a relative URL.
    #[error("<{element}> links to the relative URL {url:?}")]
    RelativeReference {
        /// The element (or JSON Feed key) holding the content.
        element: String,
        /// The relative URL.
        url: String,
    },
    /// A JSON Feed that is not JSON.
    #[error("not JSON: {0}")]
    Json(String),
    /// A JSON Feed's `feed_url` is not where it is served.
    #[error("feed_url {found} is not the URL served, {served_at:?}")]
    FeedUrl {
        /// `feed_url`, as JSON.
        found: String,
        /// Where the document is served.
        served_at: String,
    },
    /// A JSON Feed item's id is empty or appears twice.
    #[error("item id {0:?} is empty or appears twice")]
    ItemId(String),
    /// A JSON Feed item's url is not absolute.
    #[error("item url {0:?} is not absolute")]
    ItemUrl(String),
    /// A JSON Feed date is not RFC 3339.
    #[error("{key} {value:?} is not RFC 3339: {error}")]
    JsonDate {
        /// `date_published` or `date_modified`.
        key: &'static str,
        /// The date as written.
        value: String,
        /// What the parser said.
        error: String,
    },
}

/// Checks `doc` as it would be served under `config.site.base_url`; the first broken rule.
pub fn check(doc: &Document, config: &Config) -> Result<(), Rejection> {
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

fn check_xml(bytes: &[u8], served_at: &str) -> Result<(), Rejection> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut walk = Walk::default();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| Rejection::Xml {
                at: reader.error_position(),
                error: e.to_string(),
            })?;
        match event {
            Event::Start(ref e) => walk.start(e, true)?,
            Event::Empty(ref e) => walk.start(e, false)?,
            Event::Text(t) => walk.text.push_str(&t.xml10_content()),
            Event::CData(t) => walk.text.push_str(&t),
            Event::GeneralRef(r) => walk.reference(&r)?,
            Event::End(_) => walk.end()?,
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    walk.finish(served_at)
}

/// What [`check_xml`] has seen so far of the document it walks.
#[derive(Default)]
struct Walk {
    /// The open elements, outermost first.
    path: Vec<String>,
    /// The feed-level `rel="self"` link.
    self_link: Option<String>,
    /// Entry ids and GUIDs seen.
    ids: HashSet<String>,
    /// The text of the element being read.
    text: String,
    /// Whether the last element's `isPermaLink` allows it to be a permalink.
    permalink: bool,
    /// The root element's name.
    root: Option<String>,
}

impl Walk {
    /// An element starts (`open`: it has content to come): its attributes are checked and
    /// the self link noted.
    fn start(
        &mut self,
        e: &quick_xml::events::BytesStart<'_>,
        open: bool,
    ) -> Result<(), Rejection> {
        let name = e.name().as_ref().to_string();
        self.root.get_or_insert_with(|| name.clone());
        let mut rel = None;
        let mut href = None;
        self.permalink = true;
        for attr in e.attributes() {
            let attr = attr.map_err(|e| Rejection::Attribute(e.to_string()))?;
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| Rejection::AttributeValue(e.to_string()))?
                .into_owned();
            match attr.key.as_ref() {
                "rel" => rel = Some(value),
                "href" | "url" => href = Some(value),
                "isPermaLink" => self.permalink = value == "true",
                _ => {}
            }
        }
        if let Some(href) = &href
            && !absolute(href)
        {
            return Err(Rejection::RelativeHref {
                element: name,
                url: href.clone(),
            });
        }
        let feed_level =
            self.path.len() <= 2 && !self.path.iter().any(|p| p == "entry" || p == "item");
        if (name == "link" || name == "atom:link") && rel.as_deref() == Some("self") && feed_level {
            self.self_link = href;
        }
        if open {
            self.path.push(name);
            self.text.clear();
        }
        Ok(())
    }

    /// A character or entity reference inside text.
    fn reference(&mut self, r: &quick_xml::events::BytesRef<'_>) -> Result<(), Rejection> {
        let name = r.to_string();
        let resolved = match r.resolve_char_ref() {
            Ok(Some(c)) => c.to_string(),
            _ => quick_xml::escape::unescape(&format!("&{name};"))
                .map_err(|e| Rejection::Entity {
                    name: name.clone(),
                    error: e.to_string(),
                })?
                .into_owned(),
        };
        self.text.push_str(&resolved);
        Ok(())
    }

    /// An element ends: its text is checked.
    fn end(&mut self) -> Result<(), Rejection> {
        let name = self.path.pop().unwrap_or_default();
        let parent = self.path.last().map(String::as_str).unwrap_or("");
        check_element(&name, parent, &self.text, self.permalink, &mut self.ids)?;
        self.text.clear();
        Ok(())
    }

    /// The whole document read: a feed, whose self link is where it is served.
    fn finish(self, served_at: &str) -> Result<(), Rejection> {
        match self.root.as_deref() {
            Some("feed" | "rss") => {}
            other => return Err(Rejection::NotAFeed(other.map(str::to_string))),
        }
        match self.self_link {
            Some(link) if link == served_at => Ok(()),
            Some(found) => Err(Rejection::SelfLink {
                found,
                served_at: served_at.to_string(),
            }),
            None => Err(Rejection::NoSelfLink),
        }
    }
}

fn check_element(
    name: &str,
    parent: &str,
    text: &str,
    permalink: bool,
    ids: &mut HashSet<String>,
) -> Result<(), Rejection> {
    let entry_id = (name == "id" && parent == "entry") || (name == "guid" && parent == "item");
    if entry_id {
        if text.trim().is_empty() {
            return Err(Rejection::EmptyId(name.to_string()));
        }
        if !ids.insert(text.to_string()) {
            return Err(Rejection::DuplicateId {
                element: name.to_string(),
                id: text.to_string(),
            });
        }
        if name == "guid" && permalink && !absolute(text) {
            return Err(Rejection::RelativeGuid(text.to_string()));
        }
    }
    match name {
        "updated" | "published" => {
            chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|e| date(name, text, "RFC 3339", e))?;
        }
        "pubDate" | "lastBuildDate" => {
            chrono::DateTime::parse_from_rfc2822(text)
                .map_err(|e| date(name, text, "RFC 2822", e))?;
        }
        "link" if (parent == "item" || parent == "channel") && !absolute(text) => {
            return Err(Rejection::RelativeLink(text.to_string()));
        }
        "content" | "content:encoded" | "description" | "summary" => {
            if let Some(bad) = relative_refs(text) {
                return Err(Rejection::RelativeReference {
                    element: name.to_string(),
                    url: bad,
                });
            }
        }
        _ => {}
    }
    Ok(())
}

/// A date that does not parse as `format`.
fn date(element: &str, value: &str, format: &'static str, error: chrono::ParseError) -> Rejection {
    Rejection::Date {
        element: element.to_string(),
        value: value.to_string(),
        format,
        error: error.to_string(),
    }
}

fn check_json(bytes: &[u8], served_at: &str) -> Result<(), Rejection> {
    let feed: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| Rejection::Json(e.to_string()))?;
    if feed["feed_url"].as_str() != Some(served_at) {
        return Err(Rejection::FeedUrl {
            found: feed["feed_url"].to_string(),
            served_at: served_at.to_string(),
        });
    }
    let mut ids = HashSet::new();
    for item in feed["items"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let id = item["id"].as_str().unwrap_or("");
        if id.is_empty() || !ids.insert(id.to_string()) {
            return Err(Rejection::ItemId(id.to_string()));
        }
        if let Some(url) = item["url"].as_str()
            && !absolute(url)
        {
            return Err(Rejection::ItemUrl(url.to_string()));
        }
        for key in ["date_published", "date_modified"] {
            if let Some(date) = item[key].as_str() {
                chrono::DateTime::parse_from_rfc3339(date).map_err(|e| Rejection::JsonDate {
                    key,
                    value: date.to_string(),
                    error: e.to_string(),
                })?;
            }
        }
        if let Some(bad) = item["content_html"].as_str().and_then(relative_refs) {
            return Err(Rejection::RelativeReference {
                element: "content_html".to_string(),
                url: bad,
            });
        }
    }
    Ok(())
}
