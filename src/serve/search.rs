//! The search endpoints, `/search` (the page) and `/search.atom`, `.rss`, `.json` (a feed of
//! any query): `q` and `page` read from the query string; a malformed query answered 400 at
//! once, saying what is wrong (the page shows the form again), without touching the store;
//! the rest answered by [`Pages`] like item pages, cached until the store changes.

use std::sync::Arc;

use http::{HeaderValue, Method, Request, StatusCode, header};

use super::error::{self, with_body};
use super::{Answer, Pages, Response};
use crate::render::html::{SearchPage, search_page};
use crate::render::search::{Format, Search};
use crate::render::{HTML_TYPE, SEARCH_MAX_PAGE as MAX_PAGE};
use crate::search::Query;

/// What a search request asks for.
pub(super) enum Asked {
    /// A search to run.
    Search(Search),
    /// The search page with no query: the form alone.
    Form,
    /// A request that cannot be answered as it is: why.
    Refused {
        /// The query as written.
        q: String,
        /// What is wrong.
        message: String,
    },
}

/// Reads a search request for `format` from the URL's query string.
pub(super) fn read(format: Format, query_string: Option<&str>) -> Asked {
    let mut q = None;
    let mut page = None;
    for (name, value) in url::form_urlencoded::parse(query_string.unwrap_or("").as_bytes()) {
        match name.as_ref() {
            "q" if q.is_none() => q = Some(value.into_owned()),
            "page" if page.is_none() => page = Some(value.into_owned()),
            _ => {}
        }
    }
    let q = q.unwrap_or_default();
    if q.trim().is_empty() && format == Format::Html {
        return Asked::Form;
    }
    let refused = |q: &str, message: String| Asked::Refused {
        q: q.to_string(),
        message,
    };
    let page = match page.as_deref().map(str::parse::<u64>) {
        None => 1,
        Some(Ok(n)) if (1..=MAX_PAGE).contains(&n) && format == Format::Html => n,
        Some(_) if format != Format::Html => {
            return refused(&q, "a feed has one page: leave out page=".to_string());
        }
        Some(_) => {
            return refused(&q, format!("page must be a number from 1 to {MAX_PAGE}"));
        }
    };
    match Query::parse(&q) {
        Ok(query) => Asked::Search(Search {
            format,
            q,
            query,
            page,
        }),
        Err(e) => refused(&q, e.to_string()),
    }
}

/// Answers a search request with `pages`: what they found, or (`Err`) the response to give
/// at once.
pub(super) async fn answer<B>(
    pages: &Arc<Pages>,
    format: Format,
    request: &Request<B>,
) -> Result<Answer, Response> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Err(error::method_not_allowed());
    }
    match read(format, request.uri().query()) {
        Asked::Search(search) => Ok(pages.search(search).await),
        Asked::Form => Err(page_response(pages, StatusCode::OK, "", None)),
        Asked::Refused { q, message } => Err(match format {
            Format::Html => page_response(pages, StatusCode::BAD_REQUEST, &q, Some(&message)),
            _ => error::bad_request(&message),
        }),
    }
}

/// The search page with no results: the form holding `q`, and `error` when there is one.
fn page_response(pages: &Pages, status: StatusCode, q: &str, error: Option<&str>) -> Response {
    let config = pages.config();
    let page = SearchPage {
        q,
        query: None,
        results: None,
        page: 1,
        error,
    };
    let mut response = with_body(status, HTML_TYPE, search_page(config, &page));
    // The form alone changes only with the config; a refusal never becomes right.
    if status == StatusCode::OK {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
    }
    response
}
