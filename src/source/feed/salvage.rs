//! What can be read of a feed that does not parse as a whole. When the document is
//! well-formed XML but one entry breaks the parser (an unknown `type` on its summary, an empty
//! `content src`), each entry is parsed alone inside the feed's other elements: the entries
//! that parse are kept, the others reported with their line. One bad entry never costs the
//! others.

use std::ops::Range;

use quick_xml::events::Event;

/// A feed read entry by entry.
pub struct Salvaged {
    /// The feed, with the entries that parsed.
    pub feed: feed_rs::model::Feed,
    /// Each entry that did not parse: its line and why.
    pub skipped: Vec<(usize, String)>,
}

/// Reads `bytes` entry by entry with `parse`; `None` when the document is not well-formed,
/// has no entries, or does not parse even without them. When the feed's own elements do not
/// parse (a title of an unknown `type`), they are left out too: the entries are what counts.
pub fn salvage(
    bytes: &[u8],
    parse: impl Fn(&[u8]) -> Result<feed_rs::model::Feed, String>,
) -> Option<Salvaged> {
    let layout = layout(bytes)?;
    let at = layout.entries.first()?.start;
    let mut shell = Vec::with_capacity(bytes.len());
    let mut from = 0;
    for span in &layout.entries {
        shell.extend_from_slice(&bytes[from..span.start]);
        from = span.end;
    }
    shell.extend_from_slice(&bytes[from..]);
    let (shell, at, mut feed) = match parse(&shell) {
        Ok(feed) => (shell, at, feed),
        Err(_) => {
            // Only the root (and channel) start and end tags.
            let inner = layout.container;
            let bare = [&bytes[..inner.start], &bytes[inner.end..]].concat();
            let feed = parse(&bare).ok()?;
            (bare, inner.start, feed)
        }
    };
    let mut skipped = Vec::new();
    for span in layout.entries {
        let mut one = Vec::with_capacity(shell.len() + span.len());
        one.extend_from_slice(&shell[..at]);
        one.extend_from_slice(&bytes[span.clone()]);
        one.extend_from_slice(&shell[at..]);
        let retyped = || {
            let entry = plain_types(&bytes[span.clone()])?;
            parse(&[&shell[..at], &entry, &shell[at..]].concat()).ok()
        };
        match parse(&one) {
            Ok(parsed) => feed.entries.extend(parsed.entries),
            Err(e) => match retyped() {
                Some(parsed) => feed.entries.extend(parsed.entries),
                None => skipped.push((line_of(bytes, span.start), e)),
            },
        }
    }
    Some(Salvaged { feed, skipped })
}

/// Text constructs whose `type` feed-rs reads only as `text`, `html` or `xhtml`.
const TEXT_CONSTRUCTS: [&[u8]; 6] = [
    b"title",
    b"summary",
    b"subtitle",
    b"rights",
    b"description",
    b"content",
];

/// `entry` with every other `type` of its text constructs read as what it most likely means
/// (`text/html` as `html`, anything else as `text`), so that their text is kept; `None` when
/// nothing was changed. Out-of-line content (`src`) keeps its media type.
fn plain_types(entry: &[u8]) -> Option<Vec<u8>> {
    use quick_xml::events::BytesStart;
    let mut reader = quick_xml::Reader::from_reader(entry);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(entry.len()));
    let mut buf = Vec::new();
    let mut changed = false;
    let retype = |e: &BytesStart<'_>| -> Option<BytesStart<'static>> {
        let name = e.local_name();
        if !TEXT_CONSTRUCTS.contains(&name.into_inner().as_bytes()) {
            return None;
        }
        let attrs: Vec<_> = e.attributes().filter_map(Result::ok).collect();
        if attrs
            .iter()
            .any(|a| a.key.local_name().into_inner() == "src")
        {
            return None;
        }
        let kind = attrs
            .iter()
            .find(|a| a.key.local_name().into_inner() == "type")?;
        let value = kind.value.to_ascii_lowercase();
        if matches!(value.as_str(), "text" | "html" | "xhtml") {
            return None;
        }
        let plain = if value.contains("html") {
            "html"
        } else {
            "text"
        };
        let mut out = BytesStart::new(e.name().as_ref().to_string());
        for a in &attrs {
            if a.key.local_name().into_inner() == "type" {
                out.push_attribute(("type", plain));
            } else {
                out.push_attribute(a.clone());
            }
        }
        Some(out)
    };
    loop {
        let event = reader.read_event_into(&mut buf).ok()?;
        match event {
            Event::Eof => break,
            Event::Start(e) => match retype(&e) {
                Some(fixed) => {
                    changed = true;
                    writer.write_event(Event::Start(fixed)).ok()?;
                }
                None => writer.write_event(Event::Start(e)).ok()?,
            },
            other => writer.write_event(other).ok()?,
        }
        buf.clear();
    }
    changed.then(|| writer.into_inner())
}

/// Where a feed's entries are.
struct Layout {
    /// Each entry's bytes.
    entries: Vec<Range<usize>>,
    /// The content of the element holding them (between its start and end tags).
    container: Range<usize>,
}

/// Finds the entries: `entry` children of the root (Atom), `item` children of the root (RSS
/// 1.0) or of its `channel` (RSS 0.9x, 2.0). `None` when the document is not well-formed.
fn layout(bytes: &[u8]) -> Option<Layout> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    // Local names of the open elements, outermost first, each with where its content starts.
    let mut open: Vec<(Vec<u8>, usize)> = Vec::new();
    let mut entries = Vec::new();
    let mut start = None;
    let mut root = 0..0;
    let mut channel = None;
    loop {
        let before = usize::try_from(reader.buffer_position()).ok()?;
        let event = reader.read_event_into(&mut buf).ok()?;
        let after = usize::try_from(reader.buffer_position()).ok()?;
        let is_entry = |name: &[u8], open: &[(Vec<u8>, usize)]| match (name, open) {
            (b"entry" | b"item", [_root]) => true,
            (b"item", [_root, (parent, _)]) => parent == b"channel",
            _ => false,
        };
        match event {
            Event::Start(e) => {
                let name = e.local_name().into_inner().as_bytes().to_vec();
                if start.is_none() && is_entry(&name, &open) {
                    start = Some((before, open.len()));
                }
                open.push((name, after));
            }
            Event::Empty(e)
                if start.is_none() && is_entry(e.local_name().into_inner().as_bytes(), &open) =>
            {
                entries.push(before..after);
            }
            Event::End(_) => {
                let (name, content) = open.pop()?;
                match open.len() {
                    0 => root = content..before,
                    1 if name == b"channel" => channel = Some(content..before),
                    _ => {}
                }
                if let Some((from, depth)) = start
                    && open.len() == depth
                {
                    entries.push(from..after);
                    start = None;
                }
            }
            Event::Eof => {
                return open.is_empty().then_some(Layout {
                    entries,
                    container: channel.unwrap_or(root),
                });
            }
            _ => {}
        }
        buf.clear();
    }
}

/// The 1-based line of byte `offset`.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<feed_rs::model::Feed, String> {
        feed_rs::parser::parse(bytes).map_err(|e| e.to_string())
    }

    #[test]
    fn one_unreadable_entry_costs_only_itself() {
        let atom = br#"<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:f</id>
<updated>2026-02-10T00:00:00Z</updated>
<entry><title>One</title><id>urn:1</id><updated>2026-02-10T00:00:00Z</updated></entry>
<entry><title>Two</title><id>urn:2</id><updated>2026-02-10T00:00:00Z</updated>
  <summary type="text/plain">plain</summary></entry>
<entry><title>Gone</title><id>urn:g</id><updated>2026-02-10T00:00:00Z</updated><content type="text" src="https://e.org/x"/></entry>
<entry><title>Three</title><id>urn:3</id><updated>2026-02-10T00:00:00Z</updated></entry>
</feed>"#;
        assert!(parse(atom).is_err(), "feed-rs rejects the whole feed");
        let salvaged = salvage(atom, parse).unwrap();
        let titles: Vec<_> = salvaged
            .feed
            .entries
            .iter()
            .map(|e| e.title.as_ref().unwrap().content.clone())
            .collect();
        // The plain-text summary is read as text; the entry with the empty out-of-line
        // content cannot be read.
        assert_eq!(titles, ["One", "Two", "Three"]);
        assert_eq!(
            salvaged.feed.entries[1].summary.as_ref().unwrap().content,
            "plain"
        );
        assert_eq!(salvaged.skipped.len(), 1);
        assert_eq!(salvaged.skipped[0].0, 7);
        assert!(
            salvaged.skipped[0].1.contains("content type text"),
            "{:?}",
            salvaged.skipped
        );
    }

    #[test]
    fn a_feed_title_of_an_unknown_type_costs_only_the_title() {
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom">
<title type="image/jpeg">T</title><id>urn:f</id><updated>2026-02-10T00:00:00Z</updated>
<entry><title>One</title><id>urn:1</id><updated>2026-02-10T00:00:00Z</updated></entry>
</feed>"#;
        assert!(parse(atom).is_err());
        let salvaged = salvage(atom, parse).unwrap();
        assert_eq!(salvaged.feed.entries.len(), 1);
        assert!(salvaged.skipped.is_empty());
    }

    #[test]
    fn rss_items_are_found_in_their_channel() {
        let rss = br#"<rss version="2.0"><channel><title>T</title><link>https://e.org/</link>
<description>d</description><item><title>A</title></item><item/></channel></rss>"#;
        assert_eq!(layout(rss).unwrap().entries.len(), 2);
        assert!(layout(b"<rss><channel><item></channel></rss>").is_none());
    }
}
