//! Documents rendered when requested rather than at publish time, because there is one per
//! item or per hundred items: item pages (`items/<page>.html`) and RFC 5005 archive pages
//! (`feeds/archive/<feed>/<n>.atom`). A full archive page, once kept in the store (the first
//! time it is rendered, by the engine: this reads only), is served unchanged from then on.

use super::{
    ARCHIVE_PAGE_ITEMS, ATOM_TYPE, Document, Edition, FeedDoc, HTML_TYPE, RenderError, atom, html,
};
use crate::classify::Classifier;
use crate::config::Config;
use crate::feed_id::Selection;
use crate::store::Store;

/// A document rendered on request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnRequest {
    /// The document.
    pub document: Document,
    /// Whether it will never change (a full archive page).
    pub immutable: bool,
    /// A full archive page rendered for the first time: the feed and page to keep it under.
    pub keep: Option<(String, u64)>,
}

/// The document at `path` (without the leading `/`), if `path` names an item page or an
/// archive page that exists.
pub fn on_request(
    store: &Store,
    config: &Config,
    path: &str,
) -> Result<Option<OnRequest>, RenderError> {
    if let Some(page) = path
        .strip_prefix("items/")
        .and_then(|p| p.strip_suffix(".html"))
    {
        return Ok(item_page(store, config, page)?.map(|document| OnRequest {
            document,
            immutable: false,
            keep: None,
        }));
    }
    let Some((feed, page)) = path
        .strip_prefix("feeds/archive/")
        .and_then(|p| p.strip_suffix(".atom"))
        .and_then(|p| p.split_once('/'))
    else {
        return Ok(None);
    };
    match page.parse::<u64>() {
        // Only the canonical spelling of the number: `01` is not page 1.
        Ok(n) if n.to_string() == page => archive_page(store, config, feed, n),
        _ => Ok(None),
    }
}

/// The page of the item whose page name is `page`.
fn item_page(store: &Store, config: &Config, page: &str) -> Result<Option<Document>, RenderError> {
    if page.len() != 16 || !page.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(item) = store.item_by_page(page)? else {
        return Ok(None);
    };
    let feed = Classifier::new(config).feed_name(&item.feed);
    Ok(Some(Document {
        path: super::item_path(&item),
        content_type: HTML_TYPE,
        bytes: html::item_page(config, &item, &feed),
        modified: item.updated,
    }))
}

fn archive_page(
    store: &Store,
    config: &Config,
    id: &str,
    page: u64,
) -> Result<Option<OnRequest>, RenderError> {
    let count = store.count_in(Selection::of(id))?;
    let last = count.div_ceil(ARCHIVE_PAGE_ITEMS);
    if page == 0 || page > last || count <= config.max_items as u64 {
        return Ok(None);
    }
    let path = super::archive_path(id, page);
    let full = page * ARCHIVE_PAGE_ITEMS <= count;
    if full && let Some(kept) = store.kept_archive(id, page)? {
        return Ok(Some(OnRequest {
            document: Document {
                path,
                content_type: ATOM_TYPE,
                bytes: kept.bytes,
                modified: kept.modified,
            },
            immutable: true,
            keep: None,
        }));
    }
    let classifier = Classifier::new(config);
    let doc = FeedDoc {
        items: store.archive_items(Selection::of(id), page, ARCHIVE_PAGE_ITEMS)?,
        name: classifier.feed_name(id),
        description: super::description(config, &classifier.feed_name(id)),
        config,
        classifier,
        edition: Edition::Archive { page, last },
        created: store.created()?,
        languages: Vec::new(),
    };
    let bytes = atom::render(&doc)?;
    let modified = doc.updated();
    Ok(Some(OnRequest {
        document: Document {
            path,
            content_type: ATOM_TYPE,
            bytes,
            modified,
        },
        immutable: full,
        keep: full.then(|| (id.to_string(), page)),
    }))
}
