//! The HTML pages: the index of every feed, a page per feed listing its newest items, and a
//! page per item. No JavaScript; readable on a phone; each page names its feeds in
//! autodiscovery links. All text is escaped; item bodies are the sanitized HTML the feeds carry.

use std::fmt::Write;

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::{Edition, FeedDoc, FeedInfo, item_link, item_path};
use crate::classify::Classifier;
use crate::config::{Config, FeedName};
use crate::feed_id::COMBINED_ID;
use crate::search::Query;
use crate::search::snippet::snippet;
use crate::store::{Results, StoredItem};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:48rem;margin:0 auto;padding:1rem;line-height:1.5}\
table{border-collapse:collapse;width:100%}td,th{padding:.4rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}\
td.n{text-align:right}a{color:#0645ad}small,.meta{color:#555}ol.items{padding-left:1.2rem}ol.items li{margin-bottom:1rem}\
article{overflow-wrap:anywhere}nav{margin-bottom:1rem}h1{font-size:1.7rem;line-height:1.25}time{white-space:nowrap}";

/// The document head: title, viewport, style, and autodiscovery links for feed `feed`.
fn head(out: &mut String, config: &Config, lang: &str, title: &str, feed: &FeedName) {
    let id = &feed.id;
    head_with(out, config, lang, title, &feed.title, &|extension| {
        config.url_for(&format!("feeds/{id}.{extension}"))
    });
}

/// The document head, with autodiscovery links to the feed titled `feed_title` whose URL in
/// the format of an extension is `feed_url(extension)`.
fn head_with(
    out: &mut String,
    config: &Config,
    lang: &str,
    title: &str,
    feed_title: &str,
    feed_url: &dyn Fn(&str) -> String,
) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n",
        lang = attr(lang),
        title = text(title),
    );
    for (kind, label, extension) in [
        ("application/atom+xml", "Atom", "atom"),
        ("application/rss+xml", "RSS", "rss"),
        ("application/feed+json", "JSON Feed", "json"),
    ] {
        let _ = writeln!(
            out,
            "<link rel=\"alternate\" type=\"{kind}\" title=\"{feed} ({label})\" href=\"{href}\">",
            feed = attr(feed_title),
            href = attr(&feed_url(extension)),
        );
    }
    let _ = write!(
        out,
        "<link rel=\"icon\" href=\"{ico}\" sizes=\"16x16 32x32 48x48\">\n\
         <link rel=\"icon\" href=\"{svg}\" type=\"image/svg+xml\">\n\
         <link rel=\"apple-touch-icon\" href=\"{png}\">\n\
         <style>{STYLE}</style>\n</head>\n<body>\n",
        ico = attr(&config.url_for(super::ICONS[0].0)),
        svg = attr(&config.url_for(super::ICONS[2].0)),
        png = attr(&config.url_for(super::ICON_PATH)),
    );
}

fn subscribe_links(out: &mut String, config: &Config, id: &str) {
    let _ = write!(
        out,
        "<a href=\"{rss}\">RSS</a> · <a href=\"{atom}\">Atom</a> · <a href=\"{json}\">JSON</a>",
        rss = attr(&config.url_for(&format!("feeds/{id}.rss"))),
        atom = attr(&config.url_for(&format!("feeds/{id}.atom"))),
        json = attr(&config.url_for(&format!("feeds/{id}.json"))),
    );
}

fn date(item: &StoredItem) -> String {
    item.published.format("%Y-%m-%d").to_string()
}

/// Renders the index page.
pub fn index(config: &Config, feeds: &[FeedInfo]) -> Vec<u8> {
    let site = &config.site;
    let mut out = String::new();
    let combined = FeedName {
        id: COMBINED_ID.into(),
        title: site.title.clone(),
    };
    head(&mut out, config, &site.language, &site.title, &combined);
    let _ = write!(
        out,
        "<h1>{title}</h1>\n<p>{description}</p>\n",
        title = text(&site.title),
        description = text(&site.description),
    );
    search_form(&mut out, config, "");
    let _ = write!(
        out,
        "<p>Subscribe to <a href=\"{all}\">every news in one feed</a>, or to <a href=\"{opml}\">every ministry and body in a feed of its own (OPML)</a>: each news is in exactly one of those; subscribing to both shows it twice.</p>\n\
         <table>\n<thead><tr><th>Feed</th><th>Items</th><th>Updated</th><th>Subscribe</th></tr></thead>\n<tbody>\n",
        opml = attr(&config.url_for("feeds.opml")),
        all = attr(&config.url_for(&format!("feeds/{COMBINED_ID}.atom"))),
    );
    for feed in feeds {
        let id = &feed.name.id;
        let _ = write!(
            out,
            "<tr><td><a href=\"{page}\">{title}</a><br><small>{id_text}</small></td><td class=\"n\">{items}</td><td>{updated}</td><td>",
            page = attr(&config.url_for(&format!("feeds/{id}.html"))),
            title = text(&feed.name.title),
            id_text = text(id),
            items = feed.items,
            updated = if feed.items == 0 {
                "—".to_string()
            } else {
                format!(
                    "<time datetime=\"{}\">{}</time>",
                    feed.updated.to_rfc3339(),
                    feed.updated.format("%Y-%m-%d")
                )
            },
        );
        subscribe_links(&mut out, config, id);
        out.push_str("</td></tr>\n");
    }
    let _ = write!(
        out,
        "</tbody>\n</table>\n<p><small>Operators: <a href=\"{health}\">source health feed</a></small></p>\n</body>\n</html>\n",
        health = attr(&config.url_for(&format!("feeds/{}.atom", super::HEALTH_ID))),
    );
    out.into_bytes()
}

/// Renders the page of a feed: its newest items, with links to their pages and sources. It
/// changes only when they do (the index page has the item counts).
pub fn feed_page(doc: &FeedDoc<'_>) -> Vec<u8> {
    let config = doc.config;
    let id = &doc.name.id;
    let mut out = String::new();
    head(
        &mut out,
        config,
        &config.site.language,
        &doc.name.title,
        &doc.name,
    );
    let _ = write!(
        out,
        "<nav><a href=\"{home}\">{site}</a></nav>\n<h1>{title}</h1>\n<p>{description}</p>\n<p>Subscribe: ",
        home = attr(config.site.base_url.as_str()),
        site = text(&config.site.title),
        title = text(&doc.name.title),
        description = text(&doc.description),
    );
    subscribe_links(&mut out, config, id);
    for lang in &doc.languages {
        let _ = write!(
            out,
            " · <a href=\"{href}\" hreflang=\"{lang}\">Atom ({lang_text})</a>",
            href = attr(&config.url_for(&format!("feeds/{id}.{lang}.atom"))),
            lang = attr(lang),
            lang_text = text(lang),
        );
    }
    let _ = write!(
        out,
        "</p>\n<p class=\"meta\">The newest {} items.",
        doc.items.len()
    );
    if let Edition::Current { archives } = doc.edition
        && archives > 0
    {
        let _ = write!(
            out,
            " Older items: <a href=\"{first}\">archive</a> ({archives} pages of up to {per}, oldest first).",
            first = attr(&doc.archive_url(1)),
            per = super::ARCHIVE_PAGE_ITEMS,
        );
    }
    out.push_str("</p>\n<ol class=\"items\">\n");
    for item in &doc.items {
        list_item(&mut out, config, item, &doc.category_of(item));
        let _ = writeln!(out, "{}</li>", text(&item.summary));
    }
    out.push_str("</ol>\n</body>\n</html>\n");
    out.into_bytes()
}

/// The start of an item in a list of items: its title linking to its page, its date, its
/// feed and source; the caller adds the text and closes the `<li>`.
fn list_item(out: &mut String, config: &Config, item: &StoredItem, feed: &str) {
    let _ = write!(
        out,
        "<li><a href=\"{page}\"{lang}>{title}</a><br><small>{date} · {feed}",
        page = attr(&config.url_for(&item_path(item))),
        lang = lang_attr(item.title_language.as_ref().or(item.language.as_ref())),
        title = text(&item.title),
        date = date(item),
        feed = text(feed),
    );
    if let Some(link) = &item.link {
        let _ = write!(out, " · <a href=\"{}\">source</a>", attr(link));
    }
    out.push_str("</small><br>");
}

fn lang_attr(lang: Option<&String>) -> String {
    lang.map(|l| format!(" lang=\"{}\"", attr(l)))
        .unwrap_or_default()
}

/// Renders the page of one item: title, date, feed, body, its source and language versions.
pub fn item_page(config: &Config, item: &StoredItem, feed: &FeedName) -> Vec<u8> {
    let mut out = String::new();
    let lang = item.language.as_deref().unwrap_or(&config.site.language);
    head(&mut out, config, lang, &item.title, feed);
    let _ = write!(
        out,
        "<nav><a href=\"{home}\">{site}</a> › <a href=\"{feed_page}\">{feed_title}</a></nav>\n\
         <article>\n<h1{title_lang}>{title}</h1>\n<p class=\"meta\"><time datetime=\"{datetime}\">{date}</time>",
        home = attr(config.site.base_url.as_str()),
        site = text(&config.site.title),
        feed_page = attr(&config.url_for(&format!("feeds/{}.html", feed.id))),
        feed_title = text(&feed.title),
        title_lang = lang_attr(item.title_language.as_ref()),
        title = text(&item.title),
        datetime = attr(&item.published.to_rfc3339()),
        date = date(item),
    );
    if item.updated > item.published {
        let _ = write!(
            out,
            " (updated <time datetime=\"{}\">{}</time>)",
            attr(&item.updated.to_rfc3339()),
            item.updated.format("%Y-%m-%d")
        );
    }
    let authors = super::creators(&Classifier::new(config), item, lang);
    if !authors.is_empty() {
        let _ = write!(out, " · {}", text(&authors.join(", ")));
    }
    let _ = write!(out, "</p>\n{}\n", item.content_html);
    let link = item_link(config, item);
    if item.link.is_some() {
        let _ = write!(
            out,
            "<p class=\"meta\">Source: <a href=\"{href}\"{hreflang}>{label}</a>",
            href = attr(&link),
            hreflang = item
                .variant_language
                .as_ref()
                .map(|l| format!(" hreflang=\"{}\"", attr(l)))
                .unwrap_or_default(),
            label = text(&link),
        );
        for (lang, url) in &item.alternates {
            let _ = write!(
                out,
                " · <a href=\"{}\" hreflang=\"{}\">{}</a>",
                attr(url),
                attr(lang),
                text(lang)
            );
        }
        out.push_str("</p>\n");
    }
    out.push_str("</article>\n</body>\n</html>\n");
    out.into_bytes()
}

/// What the search page shows.
pub struct SearchPage<'a> {
    /// The query as written (`""` for the empty form).
    pub q: &'a str,
    /// The query, when it parsed.
    pub query: Option<&'a Query>,
    /// The page of results, when the search ran.
    pub results: Option<&'a Results>,
    /// Which page of results (from 1).
    pub page: u64,
    /// Why there are no results, when the query was refused.
    pub error: Option<&'a str>,
}

/// The search box, holding `q`.
fn search_form(out: &mut String, config: &Config, q: &str) {
    let _ = writeln!(
        out,
        "<form role=\"search\" method=\"get\" action=\"{action}\"><input type=\"search\" name=\"q\" value=\"{q}\" aria-label=\"Search the news\" placeholder=\"visa, салық, Спорт Алматы\" maxlength=\"{max}\" style=\"width:70%\"> <button type=\"submit\">Search</button></form>",
        action = attr(&config.url_for("search")),
        q = attr(q),
        max = crate::search::query::MAX_QUERY_BYTES,
    );
}

/// How to write a query, under the results.
const QUERY_HELP: &str = "<details><summary>How to search</summary><ul>\
<li>Every word must match, in any inflected form (<code>visa</code> finds visas; <code>Казахстан</code> finds Казахстана; <code>салық</code> finds салықтың). Latin and Cyrillic spellings are different words.</li>\
<li><code>\"foreign ministers\"</code>: these words in this order; <code>visa OR виза</code>: either; <code>-sport</code>: not this word.</li>\
<li>Filters: <code>feed:mfa</code>, <code>entity:mfa-*</code>, <code>lang:ru</code>, <code>after:2026-01-01</code> (that day or later), <code>before:2026-02-01</code> (before that day).</li>\
</ul></details>\n";

/// Renders the search page: the box, the results newest first with a snippet each, links to
/// the next and previous pages, and the query's feeds.
pub fn search_page(config: &Config, page: &SearchPage<'_>) -> Vec<u8> {
    let mut out = String::new();
    let title = match page.query {
        Some(query) => format!("{}: {}", config.site.title, query.normalized()),
        None => format!("Search: {}", config.site.title),
    };
    let feed_url = |extension: &str| config.url_for(&super::search_path(extension, page.q));
    head_with(
        &mut out,
        config,
        &config.site.language,
        &title,
        &title,
        &feed_url,
    );
    let _ = write!(
        out,
        "<nav><a href=\"{home}\">{site}</a></nav>\n<h1>Search</h1>\n",
        home = attr(config.site.base_url.as_str()),
        site = text(&config.site.title),
    );
    search_form(&mut out, config, page.q);
    if let Some(error) = page.error {
        let _ = writeln!(
            out,
            "<p role=\"alert\"><strong>{}</strong></p>",
            text(error)
        );
    }
    if let (Some(query), Some(results)) = (page.query, page.results) {
        search_results(&mut out, config, page, query, results, &feed_url);
    }
    out.push_str(QUERY_HELP);
    out.push_str("</body>\n</html>\n");
    out.into_bytes()
}

fn search_results(
    out: &mut String,
    config: &Config,
    page: &SearchPage<'_>,
    query: &Query,
    results: &Results,
    feed_url: &dyn Fn(&str) -> String,
) {
    let _ = writeln!(
        out,
        "<p class=\"meta\">Follow this search: <a href=\"{rss}\">RSS</a> · <a href=\"{atom}\">Atom</a> · <a href=\"{json}\">JSON</a></p>",
        rss = attr(&feed_url("rss")),
        atom = attr(&feed_url("atom")),
        json = attr(&feed_url("json")),
    );
    if results.items.is_empty() {
        out.push_str("<p>Nothing matches.</p>\n");
        return;
    }
    let classifier = Classifier::new(config);
    let stems = query.highlighted();
    let _ = writeln!(
        out,
        "<ol class=\"items\" start=\"{}\">",
        (page.page.max(1) - 1) * super::SEARCH_PAGE_ITEMS as u64 + 1
    );
    for item in &results.items {
        list_item(out, config, item, &classifier.feed_name(&item.feed).title);
        out.push_str("<span class=\"snippet\">");
        let body = crate::text::block_text(&item.content_html);
        for piece in snippet(&body, &stems) {
            if piece.marked {
                let _ = write!(out, "<mark>{}</mark>", text(&piece.text));
            } else {
                out.push_str(&text(&piece.text));
            }
        }
        out.push_str("</span></li>\n");
    }
    out.push_str("</ol>\n");
    let link = |n: u64| {
        let base = config.url_for(&super::search_path("html", page.q));
        if n == 1 {
            base
        } else {
            format!("{base}&page={n}")
        }
    };
    let mut pages = Vec::new();
    if page.page > 1 {
        pages.push(format!(
            "<a rel=\"prev\" href=\"{}\">← Newer</a>",
            attr(&link(page.page - 1))
        ));
    }
    if results.more && page.page < super::SEARCH_MAX_PAGE {
        pages.push(format!(
            "<a rel=\"next\" href=\"{}\">Older →</a>",
            attr(&link(page.page + 1))
        ));
    }
    if !pages.is_empty() {
        let _ = writeln!(
            out,
            "<nav class=\"pages\">{} <small>(page {})</small></nav>",
            pages.join(" · "),
            page.page
        );
    }
}
