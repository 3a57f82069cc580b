//! Answers that are not documents: 400, 404, 405, 503 and the plain-text bodies of `/healthz`
//! and `/metrics`. Never cached, never sniffed, and a HEAD gets the length a GET would.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::Full;

use super::Response;
use super::pages::RETRY_AFTER_SECS;

/// 404: no document at this path.
pub(super) fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "not found\n")
}

/// 405, naming the methods there are.
pub(super) fn method_not_allowed() -> Response {
    let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

/// 503 with `Retry-After`: the store is being opened again or could not answer.
pub(super) fn busy() -> Response {
    let mut response = plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy; try again in a moment\n",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    response
}

/// 400, saying what is wrong with the request.
pub(super) fn bad_request(message: &str) -> Response {
    plain(StatusCode::BAD_REQUEST, &format!("{message}\n"))
}

/// A plain-text answer with `status`.
pub(super) fn plain(status: StatusCode, body: &str) -> Response {
    with_body(
        status,
        "text/plain; charset=utf-8",
        body.as_bytes().to_vec(),
    )
}

/// An answer with `status` and `body` of `content_type`, not to be stored by caches.
pub(super) fn with_body(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let length = body.len();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let h = response.headers_mut();
    // Said outright, so that a HEAD gets the length a GET would.
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
