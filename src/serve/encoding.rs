//! Content coding: which of a document's encodings (brotli, gzip, none) a request gets,
//! from its `Accept-Encoding`.

use http::{HeaderMap, HeaderValue, header};

use super::snapshot::{Resource, Variant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Br,
    Gzip,
    Identity,
}

/// The encoding of `resource` that `request` prefers, with its `Content-Encoding` name
/// (`None` for the bytes as they are).
pub(super) fn choose<'a>(
    resource: &'a Resource,
    request: &HeaderMap,
) -> (&'a Variant, Option<&'static str>) {
    match (negotiate(request), &resource.br) {
        (Coding::Br, Some(br)) => (br, Some("br")),
        (Coding::Br | Coding::Gzip, _) => (&resource.gzip, Some("gzip")),
        (Coding::Identity, _) => (&resource.identity, None),
    }
}

/// The client's preferred coding among brotli, gzip and none (brotli wins ties).
fn negotiate(request: &HeaderMap) -> Coding {
    use fly_accept_encoding::Encoding;
    // Fast paths for the commonest exact values.
    match request
        .get(header::ACCEPT_ENCODING)
        .map(HeaderValue::as_bytes)
    {
        None => return Coding::Identity,
        Some(b"gzip") => return Coding::Gzip,
        Some(b"br") => return Coding::Br,
        _ => {}
    }
    let Ok(offers) = fly_accept_encoding::encodings(request) else {
        return Coding::Identity;
    };
    let q = |wanted: Encoding| {
        offers
            .iter()
            .filter(|(e, _)| *e == Some(wanted) || e.is_none())
            .map(|(e, q)| (e.is_some(), *q))
            .max_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal))
            .map_or(0.0, |(_, q)| q)
    };
    let (br, gzip) = (q(Encoding::Brotli), q(Encoding::Gzip));
    if br > 0.0 && br >= gzip {
        Coding::Br
    } else if gzip > 0.0 {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}
