//! Upstream feeds (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed 1.x, via feed-rs) mapped to
//! items: titles as plain text, links resolved against the feed's base, HTML sanitized with
//! ammonia (no scripts, frames, styles, event attributes or `javascript:` URLs; relative URLs
//! made absolute), authors, categories, image enclosures and languages kept.

use chrono::{DateTime, Utc};
use url::Url;

mod entry;
mod salvage;

pub use self::entry::{items, sanitize};

/// Where a feed came from and how to map its entries.
#[derive(Debug, Clone)]
pub struct FeedOrigin {
    /// The source's name (scopes entry ids that have no link).
    pub source: String,
    /// The URL the feed was fetched from.
    pub url: Url,
    /// The base for relative links: the feed's URL, or https://www.gov.kz/ for gov.kz feeds.
    pub base: Url,
    /// The gov.kz entity a `govkz` source polled; its items belong to it.
    pub entity: Option<String>,
    /// The feed id a `feed` source pins its items to.
    pub pinned_feed: Option<String>,
}

/// A parsed feed and what its root element says about all its entries.
pub struct Parsed {
    /// The feed.
    pub feed: feed_rs::model::Feed,
    /// The root element's `xml:base` resolved against the origin, else the origin's base.
    pub base: Url,
    /// The feed's language: its own element, else the root's `xml:lang`.
    pub language: Option<String>,
    /// Entries that could not be read, each with its line and why; the others were.
    pub skipped: Vec<(usize, String)>,
}

/// The Atom 0.3 namespace, which feed-rs does not read: such feeds are mapped to Atom 1.0.
const ATOM_03_NS: &str = "http://purl.org/atom/ns#";

/// Why a document is not a feed we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// An HTML page (an error page, a login wall) where a feed was expected.
    #[error("the response is an HTML page, not a feed")]
    Html,
    /// Not well-formed, at `line`:`column`.
    #[error("not a valid feed: {line}:{column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the XML (or JSON) reader found there.
        message: String,
    },
    /// Well-formed, but not RSS, Atom or JSON Feed (feed-rs's reason).
    #[error("not a valid feed: {0}")]
    Rejected(String),
    /// The XML reader panicked on this document (caught).
    #[error(
        "not a valid feed: the parser broke on this document (a panic in the XML reader, caught)"
    )]
    Crashed,
}

/// Parses a feed from its raw bytes (the XML declaration's encoding is honoured).
/// The error says where the document broke, as `line:column` when it can.
pub fn parse(bytes: &[u8], origin: &FeedOrigin) -> Result<Parsed, FeedError> {
    // The XML reader under feed-rs panics on some malformed input (found by fuzzing); such a
    // document is reported like any other broken one, and the rest of the run goes on.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        parse_document(bytes, origin)
    }))
    .unwrap_or(Err(FeedError::Crashed))
}

fn parse_document(bytes: &[u8], origin: &FeedOrigin) -> Result<Parsed, FeedError> {
    let root = |name| root_attribute(bytes, name);
    let (feed, skipped) = if root("xmlns").as_deref() == Some(ATOM_03_NS) {
        parse_feed(&atom03_as_atom10(bytes), origin)?
    } else {
        parse_feed(bytes, origin)?
    };
    let base = root("xml:base")
        .and_then(|b| origin.base.join(&b).ok())
        .unwrap_or_else(|| origin.base.clone());
    let language = feed.language.clone().or_else(|| root("xml:lang"));
    Ok(Parsed {
        feed,
        base,
        language,
        skipped,
    })
}

/// An attribute of the document's root element, if present.
fn root_attribute(bytes: &[u8], name: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                let attr = e.try_get_attribute(name).ok()??;
                return attr
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .ok()
                    .map(|v| v.into_owned());
            }
            quick_xml::events::Event::Eof => return None,
            _ => buf.clear(),
        }
    }
}

/// Atom 0.3 as Atom 1.0: the namespace, and the renamed date elements.
fn atom03_as_atom10(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    [
        (ATOM_03_NS, "http://www.w3.org/2005/Atom"),
        ("<issued>", "<published>"),
        ("</issued>", "</published>"),
        ("<modified>", "<updated>"),
        ("</modified>", "</updated>"),
    ]
    .iter()
    .fold(text.into_owned(), |text, (from, to)| text.replace(from, to))
    .into_bytes()
}

/// A parsed feed and the entries skipped because they alone did not parse.
type FeedAndSkipped = (feed_rs::model::Feed, Vec<(usize, String)>);

fn parse_feed(bytes: &[u8], origin: &FeedOrigin) -> Result<FeedAndSkipped, FeedError> {
    // A parser keeps state from one document to the next (and asserts it is clean): a new
    // one for each.
    let parse = |b: &[u8]| {
        feed_rs::parser::Builder::new()
            .base_uri(Some(origin.base.as_str()))
            .timestamp_parser(parse_timestamp)
            .build()
            .parse(b)
    };
    let error = match parse(bytes) {
        Ok(feed) => return Ok((feed, Vec::new())),
        Err(e) => e,
    };
    if super::looks_like_html(bytes) {
        return Err(FeedError::Html);
    }
    if let Some((line, column, message)) = xml_error_position(bytes) {
        return Err(FeedError::Syntax {
            line,
            column,
            message,
        });
    }
    // Well-formed, yet rejected: perhaps by one entry only.
    match salvage::salvage(bytes, |b| parse(b).map_err(|e| e.to_string())) {
        Some(salvaged) => Ok((salvaged.feed, salvaged.skipped)),
        None => Err(FeedError::Rejected(error.to_string())),
    }
}

/// A feed timestamp: the lenient RFC 2822 / RFC 3339 reading feed-rs uses, then the bare
/// ISO forms gov.kz sends (`2020-05-04T00:00:00`, no offset: taken as UTC here and corrected
/// to a local date in [`date_of`]).
fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Some(t) = diligent_date_parser::parse_date(text) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()?
                .and_hms_opt(0, 0, 0)
        })
        .map(|naive| naive.and_utc())
}

/// The first XML error in `bytes`, as line, column and message (quick-xml's view).
fn xml_error_position(bytes: &[u8]) -> Option<(usize, usize, String)> {
    let trimmed = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| &bytes[i..])?;
    if trimmed.first() == Some(&b'{') {
        return serde_json_position(bytes);
    }
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut depth = 0usize;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Eof) => {
                if depth > 0 {
                    let (line, col) = position(bytes, bytes.len());
                    return Some((
                        line,
                        col,
                        "the document ends before its elements are closed".into(),
                    ));
                }
                return None;
            }
            Ok(quick_xml::events::Event::Start(_)) => depth += 1,
            Ok(quick_xml::events::Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(_) => {}
            Err(e) => {
                let mut at = usize::try_from(reader.error_position()).unwrap_or(0);
                if let quick_xml::Error::Encoding(_) = e {
                    // Point at the first byte that is not UTF-8.
                    at = std::str::from_utf8(bytes)
                        .err()
                        .map_or(at, |u| u.valid_up_to());
                }
                let (line, col) = position(bytes, at);
                return Some((line, col, e.to_string()));
            }
        }
        buf.clear();
    }
}

fn serde_json_position(bytes: &[u8]) -> Option<(usize, usize, String)> {
    let err = serde_json::from_slice::<serde_json::Value>(bytes).err()?;
    Some((err.line(), err.column(), err.to_string()))
}

/// 1-based line and column of byte `offset`.
fn position(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::markup_to_text;

    fn base() -> Url {
        Url::parse("https://www.gov.kz/memleket/entities/mfa/press/news").unwrap()
    }

    #[test]
    fn sanitize_removes_everything_dangerous() {
        let dirty = r#"<p onclick="x()" style="color:red">Hi<script>alert(1)</script></p>
            <iframe src="https://evil.example/"></iframe><a href="javascript:alert(1)">x</a>
            <img src="/uploads/a.jpg" onerror="y()"><style>p{}</style>"#;
        let clean = sanitize(dirty, &base());
        for bad in [
            "script",
            "onclick",
            "style",
            "iframe",
            "javascript:",
            "onerror",
            "alert",
        ] {
            assert!(!clean.contains(bad), "{bad} in {clean}");
        }
        assert!(
            clean.contains(r#"src="https://www.gov.kz/uploads/a.jpg""#),
            "{clean}"
        );
    }

    #[test]
    fn a_whole_document_is_reduced_to_its_body() {
        let doc = "<!DOCTYPE html><html><head><title>Page title</title><style>b{}</style></head>\
                   <body><h1>News</h1><p>Text</p></body></html>";
        let clean = sanitize(doc, &base());
        assert_eq!(clean, "<h1>News</h1><p>Text</p>");
    }

    #[test]
    fn titles_become_plain_text() {
        assert_eq!(
            markup_to_text("<b>Bold</b> &amp; &quot;quoted&quot; &#1178;"),
            "Bold & \"quoted\" Қ"
        );
        assert_eq!(
            markup_to_text("AT&amp;T <script>x</script>news"),
            "AT&T news"
        );
    }

    #[test]
    fn error_positions() {
        let (line, col, _) =
            xml_error_position(b"<rss>\n<channel>\n<title>x</titl>\n</channel></rss>").unwrap();
        assert_eq!((line, col), (3, 9));
        let (line, _, message) = xml_error_position(b"<rss>\n<channel>\n<item>").unwrap();
        assert_eq!(line, 3);
        assert!(message.contains("ends before"));
        assert!(xml_error_position(b"<rss></rss>").is_none());
    }
}
