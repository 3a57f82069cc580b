//! `/healthz` (200 `ok`, or 503 listing what is behind) and `/metrics` (Prometheus text).

use chrono::Utc;
use http::{HeaderValue, StatusCode, header};

use super::error::plain;
use super::{AppState, Response};

/// `/healthz`: `ok` only while nothing is behind.
pub(super) fn healthz(state: &AppState) -> Response {
    match state.status.health(Utc::now()) {
        Ok(()) => plain(StatusCode::OK, "ok\n"),
        Err(problems) => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("{}\n", problems.join("\n")),
        ),
    }
}

/// `/metrics` in the Prometheus text format.
pub(super) fn metrics(state: &AppState) -> Response {
    let mut response = plain(StatusCode::OK, &state.status.metrics());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
