//! The headers of a document response: validators, caching, `Vary`, CORS, `nosniff`,
//! content type, coding and length. Every document the server answers goes through here.

use std::sync::atomic::Ordering;

use http::{HeaderMap, HeaderValue, StatusCode, header};
use http_body_util::Full;

use super::snapshot::Resource;
use super::{AppState, Response, conditional, encoding};

/// The answer to a GET for `resource`: the encoding `request` prefers, or a 304 when the
/// reader already has it.
pub(super) fn document(state: &AppState, resource: &Resource, request: &HeaderMap) -> Response {
    let (variant, coding) = encoding::choose(resource, request);
    let not_modified = conditional::not_modified(request, variant, resource.last_modified);
    let mut response = Response::new(Full::default());
    let h = response.headers_mut();
    h.reserve(10);
    h.insert(header::ETAG, variant.etag_value.clone());
    h.insert(header::LAST_MODIFIED, resource.last_modified_value.clone());
    h.insert(
        header::CACHE_CONTROL,
        match &resource.cache_control {
            Some(value) => value.clone(),
            None => HeaderValue::clone(&state.cache_control.load()),
        },
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if not_modified {
        state.status.not_modified.fetch_add(1, Ordering::Relaxed);
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return response;
    }
    state.status.served.fetch_add(1, Ordering::Relaxed);
    h.insert(header::CONTENT_TYPE, resource.content_type.clone());
    if let Some(coding) = coding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(variant.body.len()),
    );
    *response.body_mut() = Full::new(variant.body.clone());
    response
}
