//! The HTML index page: every feed with its item count, last update and links, plus
//! autodiscovery links for the combined feed. No JavaScript; readable on a phone.

use std::fmt::Write;

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::FeedInfo;
use crate::config::{COMBINED_ID, Config};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:48rem;margin:0 auto;padding:1rem;line-height:1.5}\
table{border-collapse:collapse;width:100%}td,th{padding:.4rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}\
td.n{text-align:right}a{color:#0645ad}small{color:#555}";

/// Renders the index page.
pub fn index(config: &Config, feeds: &[FeedInfo]) -> Vec<u8> {
    let site = &config.site;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n\
         <link rel=\"alternate\" type=\"application/atom+xml\" title=\"{title_attr} (Atom)\" href=\"{atom}\">\n\
         <link rel=\"alternate\" type=\"application/rss+xml\" title=\"{title_attr} (RSS)\" href=\"{rss}\">\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n<p>{description}</p>\n\
         <p><a href=\"feeds.opml\">Subscribe to every feed at once (OPML)</a></p>\n\
         <table>\n<thead><tr><th>Feed</th><th>Items</th><th>Updated</th><th>Subscribe</th></tr></thead>\n<tbody>\n",
        lang = attr(&site.language),
        title = text(&site.title),
        title_attr = attr(&site.title),
        description = text(&site.description),
        atom = attr(&config.url_for(&format!("feeds/{COMBINED_ID}.atom"))),
        rss = attr(&config.url_for(&format!("feeds/{COMBINED_ID}.rss"))),
    );
    for feed in feeds {
        let id = &feed.name.id;
        let _ = writeln!(
            out,
            "<tr><td>{title}<br><small>{id_text}</small></td><td class=\"n\">{items}</td><td>{updated}</td>\
             <td><a href=\"{rss}\">RSS</a> · <a href=\"{atom}\">Atom</a> · <a href=\"{json}\">JSON</a></td></tr>",
            title = text(&feed.name.title),
            id_text = text(id),
            items = feed.items,
            updated = if feed.items == 0 {
                "—".to_string()
            } else {
                feed.updated.format("%Y-%m-%d %H:%M %:z").to_string()
            },
            rss = attr(&format!("feeds/{id}.rss")),
            atom = attr(&format!("feeds/{id}.atom")),
            json = attr(&format!("feeds/{id}.json")),
        );
    }
    out.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    out.into_bytes()
}
