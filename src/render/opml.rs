//! OPML 2.0 of the feeds that together hold every item once: the ministries, then the other
//! government bodies (each group an outline), then the unattributed news. The combined feed
//! is left out: it repeats their entries, and a reader that imported both would show each news
//! twice (or, keying entries by id across feeds, move them between feeds). It is offered as a
//! subscription of its own. The `[[topic]]` feeds, whose items are also in those feeds, come
//! last in a group of their own.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::{FeedInfo, RenderError};
use crate::config::Config;
use crate::feed_id::{COMBINED_ID, TOPIC_PREFIX};

/// Renders the OPML document.
pub fn render(config: &Config, feeds: &[FeedInfo]) -> Result<Vec<u8>, RenderError> {
    write(config, feeds).map_err(|e| RenderError::Encode {
        feed: "feeds.opml".into(),
        message: e.to_string(),
    })
}

fn write(config: &Config, feeds: &[FeedInfo]) -> std::io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    w.write_event(Event::Start(
        BytesStart::new("opml").with_attributes([("version", "2.0")]),
    ))?;
    w.write_event(Event::Start(BytesStart::new("head")))?;
    text_element(&mut w, "title", &config.site.title)?;
    if let Some(newest) = feeds
        .iter()
        .filter(|f| f.items > 0)
        .map(|f| f.updated)
        .max()
    {
        text_element(&mut w, "dateModified", &newest.to_rfc2822())?;
    }
    w.write_event(Event::End(BytesEnd::new("head")))?;
    w.write_event(Event::Start(BytesStart::new("body")))?;
    let is_ministry = |f: &&FeedInfo| config.ministries.iter().any(|m| m.feed.id == f.name.id);
    let is_topic = |f: &&FeedInfo| f.name.id.starts_with(TOPIC_PREFIX);
    let is_other = |f: &&FeedInfo| {
        f.name.id != COMBINED_ID
            && f.name.id != config.unattributed.id
            && !is_ministry(f)
            && !is_topic(f)
    };
    for (group, members) in [
        (
            "Ministries",
            feeds.iter().filter(is_ministry).collect::<Vec<_>>(),
        ),
        (
            "Other government bodies",
            feeds.iter().filter(is_other).collect(),
        ),
    ] {
        if members.is_empty() {
            continue;
        }
        w.write_event(Event::Start(
            BytesStart::new("outline").with_attributes([("text", group)]),
        ))?;
        for feed in members {
            outline(&mut w, config, feed)?;
        }
        w.write_event(Event::End(BytesEnd::new("outline")))?;
    }
    for feed in feeds.iter().filter(|f| f.name.id == config.unattributed.id) {
        outline(&mut w, config, feed)?;
    }
    // Topics repeat items of the feeds above: a group of their own, last.
    let topics: Vec<&FeedInfo> = feeds.iter().filter(is_topic).collect();
    if !topics.is_empty() {
        w.write_event(Event::Start(
            BytesStart::new("outline").with_attributes([("text", "Topics")]),
        ))?;
        for feed in topics {
            outline(&mut w, config, feed)?;
        }
        w.write_event(Event::End(BytesEnd::new("outline")))?;
    }
    w.write_event(Event::End(BytesEnd::new("body")))?;
    w.write_event(Event::End(BytesEnd::new("opml")))?;
    let mut out = w.into_inner();
    out.push(b'\n');
    Ok(out)
}

fn text_element(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> std::io::Result<()> {
    w.write_event(Event::Start(BytesStart::new(name)))?;
    w.write_event(Event::Text(BytesText::new(text)))?;
    w.write_event(Event::End(BytesEnd::new(name)))
}

fn outline(w: &mut Writer<Vec<u8>>, config: &Config, feed: &FeedInfo) -> std::io::Result<()> {
    let xml_url = config.url_for(&format!("feeds/{}.atom", feed.name.id));
    let html_url = config.url_for(&format!("feeds/{}.html", feed.name.id));
    w.write_event(Event::Empty(BytesStart::new("outline").with_attributes([
        ("text", feed.name.title.as_str()),
        ("title", feed.name.title.as_str()),
        ("type", "rss"),
        ("xmlUrl", xml_url.as_str()),
        ("htmlUrl", html_url.as_str()),
    ])))
}
