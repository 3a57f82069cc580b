//! Search results as documents, rendered when asked for: the search page (`/search?q=…`, a
//! page of results at a time) and a feed of any query (`/search.atom?q=…`, `.rss`, `.json`:
//! its newest `max_items` matches), valid like every other feed.

use std::time::Duration;

use super::{
    ATOM_TYPE, Document, Edition, FeedDoc, HTML_TYPE, JSON_TYPE, RSS_TYPE, RenderError,
    SEARCH_MAX_PAGE, SEARCH_PAGE_ITEMS, atom, html, json, newest, rss,
};
use crate::classify::Classifier;
use crate::config::{Config, FeedName};
use crate::search::Query;
use crate::store::{SearchError, Store};

/// How long one query may run.
pub const BUDGET: Duration = Duration::from_secs(2);

/// What a search answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The search page.
    Html,
    /// A feed of the query.
    Atom,
    /// A feed of the query.
    Rss,
    /// A feed of the query.
    Json,
}

impl Format {
    /// The format served at URL `path`, if it is a search path.
    pub fn of_path(path: &str) -> Option<Format> {
        match path {
            "/search" => Some(Format::Html),
            "/search.atom" => Some(Format::Atom),
            "/search.rss" => Some(Format::Rss),
            "/search.json" => Some(Format::Json),
            _ => None,
        }
    }

    /// The file-name extension of its URL.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Atom => "atom",
            Format::Rss => "rss",
            Format::Json => "json",
        }
    }
}

/// One search to answer.
#[derive(Debug, Clone)]
pub struct Search {
    /// In what format.
    pub format: Format,
    /// The query as the reader wrote it (it goes back into the page's links).
    pub q: String,
    /// The query, parsed.
    pub query: Query,
    /// The page of results (from 1; feeds have one).
    pub page: u64,
}

/// Why a search gave no document.
#[derive(Debug, thiserror::Error)]
pub enum SearchFailure {
    /// The query or the store failed.
    #[error(transparent)]
    Search(#[from] SearchError),
    /// The document could not be written.
    #[error(transparent)]
    Render(#[from] RenderError),
}

impl From<crate::store::StoreError> for SearchFailure {
    fn from(e: crate::store::StoreError) -> SearchFailure {
        SearchFailure::Search(SearchError::Store(e))
    }
}

/// The answer to `search`, from `store`.
pub fn document(
    store: &mut Store,
    config: &Config,
    search: &Search,
) -> Result<Document, SearchFailure> {
    let (offset, limit) = match search.format {
        Format::Html => {
            let page = usize::try_from(search.page.clamp(1, SEARCH_MAX_PAGE)).unwrap_or(1);
            ((page - 1) * SEARCH_PAGE_ITEMS, SEARCH_PAGE_ITEMS)
        }
        _ => (0, config.max_items),
    };
    let results =
        store.search_within(&search.query, config.site.timezone, offset, limit, BUDGET)?;
    let created = store.created()?;
    let modified = newest(results.items.iter().map(|i| i.updated), created);
    let path = super::search_path(search.format.extension(), &search.q);
    let normalized = search.query.normalized();
    let (content_type, bytes) = match search.format {
        Format::Html => {
            let page = html::SearchPage {
                q: &search.q,
                query: Some(&search.query),
                results: Some(&results),
                page: search.page,
                error: None,
            };
            (HTML_TYPE, html::search_page(config, &page))
        }
        format => {
            let doc = FeedDoc {
                name: FeedName {
                    id: "search".to_string(),
                    title: format!("{}: {normalized}", config.site.title),
                },
                description: format!(
                    "The newest news of {} that match {normalized}",
                    config.site.title
                ),
                items: results.items,
                config,
                classifier: Classifier::new(config),
                edition: Edition::Search(search.q.clone()),
                created,
                languages: Vec::new(),
            };
            match format {
                Format::Rss => (RSS_TYPE, rss::render(&doc)?),
                Format::Json => (JSON_TYPE, json::render(&doc)?),
                _ => (ATOM_TYPE, atom::render(&doc)?),
            }
        }
    };
    Ok(Document {
        path,
        content_type,
        bytes,
        modified,
    })
}
