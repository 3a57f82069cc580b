//! The HTTP handler called directly, without a server or a daemon: content coding, ETags and
//! conditional requests, HEAD, 404 and 405 decided on real documents (the golden fixtures).

use std::io::Read;
use std::sync::Arc;

use chrono::DateTime;
use govfeeds::render::{ATOM_TYPE, Document};
use govfeeds::serve::{self, AppState, Response, Snapshot};
use govfeeds::shutdown::Shutdown;
use govfeeds::status::Status;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/golden");

/// A state serving the golden `all.atom` at `/feeds/all.atom`.
fn state() -> (AppState, Vec<u8>) {
    let bytes = std::fs::read(format!("{GOLDEN}/feeds__all.atom")).unwrap();
    let doc = Document {
        path: "feeds/all.atom".to_string(),
        content_type: ATOM_TYPE,
        bytes: bytes.clone(),
        modified: DateTime::parse_from_rfc3339("2026-02-10T12:29:00+05:00").unwrap(),
    };
    let snapshot = Snapshot::default().with(vec![doc], &Shutdown::default());
    let state = AppState::new(snapshot, Arc::new(Status::default()), 300);
    (state, bytes)
}

fn get(state: &AppState, path: &str, headers: &[(header::HeaderName, &str)]) -> Response {
    request(state, Method::GET, path, headers)
}

fn request(
    state: &AppState,
    method: Method,
    path: &str,
    headers: &[(header::HeaderName, &str)],
) -> Response {
    let mut builder = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(name, *value);
    }
    serve::handle(state, &builder.body(()).unwrap())
}

async fn body(response: Response) -> Vec<u8> {
    response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

#[tokio::test]
async fn each_coding_is_chosen_by_accept_encoding_and_decodes_to_the_document() {
    let (state, bytes) = state();
    for (accept, expected) in [
        (None, None),
        (Some("gzip"), Some("gzip")),
        (Some("br"), Some("br")),
        (Some("gzip, deflate, br"), Some("br")),
        (Some("br;q=0.5, gzip;q=0.8"), Some("gzip")),
        (Some("gzip;q=0, br;q=0"), None),
        (Some("identity"), None),
        (Some("*"), Some("br")),
        (Some("*;q=0.1, gzip"), Some("gzip")),
        (Some("deflate"), None),
    ] {
        let headers: Vec<_> = accept
            .map(|a| (header::ACCEPT_ENCODING, a))
            .into_iter()
            .collect();
        let response = get(&state, "/feeds/all.atom", &headers);
        assert_eq!(response.status(), StatusCode::OK, "{accept:?}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], ATOM_TYPE);
        assert_eq!(response.headers()[header::VARY], "Accept-Encoding");
        let coding = response
            .headers()
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(coding.as_deref(), expected, "{accept:?}");
        let length: usize = response.headers()[header::CONTENT_LENGTH]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let sent = body(response).await;
        assert_eq!(sent.len(), length, "{accept:?}");
        let mut decoded = Vec::new();
        match expected {
            None => decoded = sent,
            Some("gzip") => {
                flate2::read::GzDecoder::new(&sent[..])
                    .read_to_end(&mut decoded)
                    .unwrap();
            }
            Some(_) => brotli::BrotliDecompress(&mut &sent[..], &mut decoded).unwrap(),
        }
        assert_eq!(decoded, bytes, "{accept:?}");
    }
}

#[tokio::test]
async fn conditional_requests_are_304_only_for_what_the_reader_has() {
    let (state, _) = state();
    let first = get(
        &state,
        "/feeds/all.atom",
        &[(header::ACCEPT_ENCODING, "gzip")],
    );
    let etag = first.headers()[header::ETAG].to_str().unwrap().to_string();
    let last_modified = first.headers()[header::LAST_MODIFIED]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(last_modified, "Tue, 10 Feb 2026 07:29:00 GMT");
    let gzip = (header::ACCEPT_ENCODING, "gzip");
    let listed = format!("\"nope\", {etag}");
    for (headers, status) in [
        (
            vec![gzip.clone(), (header::IF_NONE_MATCH, etag.as_str())],
            304,
        ),
        (
            vec![gzip.clone(), (header::IF_NONE_MATCH, listed.as_str())],
            304,
        ),
        (vec![gzip.clone(), (header::IF_NONE_MATCH, "*")], 304),
        // The gzip tag does not match the plain variant.
        (vec![(header::IF_NONE_MATCH, etag.as_str())], 200),
        (
            vec![gzip.clone(), (header::IF_NONE_MATCH, "\"other\"")],
            200,
        ),
        (
            vec![
                gzip.clone(),
                (header::IF_MODIFIED_SINCE, last_modified.as_str()),
            ],
            304,
        ),
        (
            vec![(header::IF_MODIFIED_SINCE, "Sun, 01 Feb 2026 00:00:00 GMT")],
            200,
        ),
        // If-None-Match decides alone when both are sent.
        (
            vec![
                gzip.clone(),
                (header::IF_NONE_MATCH, "\"other\""),
                (header::IF_MODIFIED_SINCE, last_modified.as_str()),
            ],
            200,
        ),
    ] {
        let response = get(&state, "/feeds/all.atom", &headers);
        assert_eq!(response.status().as_u16(), status, "{headers:?}");
        assert!(response.headers().contains_key(header::ETAG), "{headers:?}");
        if status == 304 {
            assert!(body(response).await.is_empty(), "{headers:?}");
        }
    }
}

#[tokio::test]
async fn head_has_the_length_of_a_get_and_no_body_and_other_methods_are_405() {
    let (state, bytes) = state();
    let head = request(&state, Method::HEAD, "/feeds/all.atom", &[]);
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()[header::CONTENT_LENGTH],
        bytes.len().to_string().as_str()
    );
    assert!(body(head).await.is_empty());
    let post = request(&state, Method::POST, "/feeds/all.atom", &[]);
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers()[header::ALLOW], "GET, HEAD");
    for path in [
        "/feeds/none.atom",
        "/feeds/../feeds/all.atom",
        "/feeds/all.atom/",
    ] {
        assert_eq!(
            get(&state, path, &[]).status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // Health says no build has finished: nothing was recorded in this status.
    let health = get(&state, "/healthz", &[]);
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.headers()[header::CACHE_CONTROL], "no-store");
}
