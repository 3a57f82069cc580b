//! Conditional requests: whether a reader's `If-None-Match` or `If-Modified-Since` says it
//! already has the document, so the answer is a 304.

use std::time::SystemTime;

use headers::{HeaderMapExt, IfModifiedSince, IfNoneMatch};
use http::{HeaderMap, header};

use super::snapshot::Variant;

/// Whether `request` already holds `variant` (last modified at `last_modified`).
/// `If-None-Match`, when present, decides alone (RFC 9110, 13.2.2).
pub(super) fn not_modified(
    request: &HeaderMap,
    variant: &Variant,
    last_modified: SystemTime,
) -> bool {
    match request.get(header::IF_NONE_MATCH) {
        // Fast path: the client sends back exactly the tag we gave it.
        Some(value) if value == variant.etag_value => true,
        Some(_) => request
            .typed_get::<IfNoneMatch>()
            .is_some_and(|inm| !inm.precondition_passes(&variant.etag)),
        None => request
            .typed_get::<IfModifiedSince>()
            .is_some_and(|ims| !ims.is_modified(last_modified)),
    }
}
