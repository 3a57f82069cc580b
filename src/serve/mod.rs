//! The static handler: serves the published snapshot from memory the way feed readers want
//! (content types, strong ETags, Last-Modified, 304s, gzip and brotli negotiated from
//! `Accept-Encoding` and compressed once per build, HEAD), plus `/healthz` and `/metrics`.
//! Item pages and archive pages, one per item or per hundred items, are rendered from the
//! store on request instead ([`Pages`]), with the same validators and gzip.
//!
//! Only the paths in the snapshot and the item and archive pages in the store exist: every
//! other path, including every path-traversal spelling, is a 404 because nothing is ever
//! looked up on disk.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use arc_swap::{ArcSwap, ArcSwapOption};
use bytes::Bytes;
use chrono::Utc;
use headers::{ETag, HeaderMapExt, IfModifiedSince, IfNoneMatch};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tracing::warn;

mod connections;
mod pages;

use self::connections::{AcceptErrors, Tracker};
pub use self::pages::{Answer, KeptPage, Pages, RETRY_AFTER_SECS};

use crate::render::Document;
use crate::shutdown::Shutdown;
use crate::status::Status;

/// One document in every encoding, with its validators.
#[derive(Debug, Clone)]
pub struct Resource {
    content_type: HeaderValue,
    identity: Variant,
    gzip: Variant,
    br: Option<Variant>,
    last_modified: SystemTime,
    last_modified_value: HeaderValue,
    sha256: String,
    /// `Cache-Control` when not the configured one (archive pages that never change).
    cache_control: Option<HeaderValue>,
}

#[derive(Debug, Clone)]
struct Variant {
    body: Bytes,
    etag: ETag,
    etag_value: HeaderValue,
}

impl Variant {
    /// `None` only if `etag` were not a valid entity tag; ours are hex digits and dots.
    fn new(mut body: Vec<u8>, etag: &str) -> Option<Variant> {
        let quoted = format!("\"{etag}\"");
        // Encoders leave spare capacity; a snapshot keeps its bodies for a long time.
        body.shrink_to_fit();
        Some(Variant {
            body: Bytes::from(body),
            etag: quoted.parse().ok()?,
            etag_value: HeaderValue::from_str(&quoted).ok()?,
        })
    }
}

impl Resource {
    /// Bytes held in memory.
    fn size(&self) -> usize {
        self.identity.body.len()
            + self.gzip.body.len()
            + self.br.as_ref().map_or(0, |b| b.body.len())
    }
}

/// What the server serves: every published document by URL path. Immutable once built.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    resources: HashMap<String, Resource>,
}

impl Snapshot {
    /// This snapshot with `documents` added or replaced, each compressed once; a document
    /// whose bytes did not change keeps its compressed forms and Last-Modified. When `stop`
    /// is triggered midway, the documents not reached yet are left out.
    pub fn with(&self, documents: Vec<Document>, stop: &Shutdown) -> Snapshot {
        let now = SystemTime::now();
        let mut resources = self.resources.clone();
        for doc in documents {
            if stop.is_triggered() {
                break;
            }
            let path = format!("/{}", doc.path);
            let sha256 = crate::text::hex(&Sha256::digest(&doc.bytes));
            let resource = match self.resources.get(&path) {
                Some(old) if old.sha256 == sha256 => old.clone(),
                old => {
                    let modified = system_time(doc.modified);
                    // Bytes changed without a newer item (e.g. a config edit): now is when.
                    let last_modified = match old {
                        Some(old) if modified <= old.last_modified => now,
                        _ => modified,
                    };
                    match resource(doc, sha256, last_modified) {
                        Some(r) => r,
                        None => continue,
                    }
                }
            };
            if path == "/index.html" {
                resources.insert("/".to_string(), resource.clone());
            }
            resources.insert(path, resource);
        }
        Snapshot { resources }
    }

    /// Only the documents at `paths` (as published, without the leading `/`): after a
    /// complete publish, those of feeds that no longer exist go.
    pub fn retain(mut self, paths: &HashSet<String>) -> Snapshot {
        let index = paths.contains("index.html");
        self.resources
            .retain(|path, _| paths.contains(&path[1..]) || (path == "/" && index));
        self
    }

    /// The number of documents (the index counts once).
    pub fn len(&self) -> usize {
        self.resources.len().saturating_sub(1)
    }

    /// Whether the snapshot is empty.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }
}

/// `time` as a `Last-Modified`: HTTP dates cannot say anything before 1970.
fn system_time(time: chrono::DateTime<chrono::FixedOffset>) -> SystemTime {
    SystemTime::from(time).max(SystemTime::UNIX_EPOCH)
}

fn resource(doc: Document, sha256: String, last_modified: SystemTime) -> Option<Resource> {
    let mut br = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 9,
        ..Default::default()
    };
    let _ = brotli::BrotliCompress(&mut &doc.bytes[..], &mut br, &params);
    encoded(
        doc,
        sha256,
        last_modified,
        flate2::Compression::best(),
        Some(br),
    )
}

/// A resource with `doc`'s bytes, gzipped at `level`, and brotli when given.
fn encoded(
    doc: Document,
    sha256: String,
    last_modified: SystemTime,
    level: flate2::Compression,
    br: Option<Vec<u8>>,
) -> Option<Resource> {
    let tag = &sha256[..32];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), level);
    let gzip = gz
        .write_all(&doc.bytes)
        .and_then(|_| gz.finish())
        .unwrap_or_default();
    Some(Resource {
        content_type: HeaderValue::from_static(doc.content_type),
        identity: Variant::new(doc.bytes, tag)?,
        gzip: Variant::new(gzip, &format!("{tag}.gz"))?,
        br: match br {
            Some(br) => Some(Variant::new(br, &format!("{tag}.br"))?),
            None => None,
        },
        last_modified,
        last_modified_value: HeaderValue::from_str(&httpdate::fmt_http_date(last_modified)).ok()?,
        sha256,
        cache_control: None,
    })
}

/// Whether `path` may name a page rendered on request.
fn on_request(path: &str) -> bool {
    path.starts_with("/items/") || path.starts_with("/feeds/archive/")
}

/// State shared by the handler and the daemon.
pub struct AppState {
    /// The snapshot being served; the daemon swaps in a new one after each build.
    pub snapshot: ArcSwap<Snapshot>,
    /// Health and metrics.
    pub status: Arc<Status>,
    /// `Cache-Control` for documents.
    pub cache_control: ArcSwap<HeaderValue>,
    /// Item and archive pages, while the store is open (`None`: they answer 503).
    pub pages: ArcSwapOption<Pages>,
}

impl AppState {
    /// State serving `snapshot`, with documents cached for `max_age_secs`.
    pub fn new(snapshot: Snapshot, status: Arc<Status>, max_age_secs: i64) -> AppState {
        AppState {
            snapshot: ArcSwap::from_pointee(snapshot),
            status,
            cache_control: ArcSwap::from_pointee(cache_control(max_age_secs)),
            pages: ArcSwapOption::empty(),
        }
    }

    /// Sets the `Cache-Control` max-age (after a reload).
    pub fn set_max_age(&self, secs: i64) {
        self.cache_control.store(Arc::new(cache_control(secs)));
    }
}

fn cache_control(secs: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("public, max-age={}", secs.max(0)))
        .unwrap_or(HeaderValue::from_static("public, max-age=60"))
}

/// The response type: the whole body is in memory.
pub type Response = http::Response<Full<Bytes>>;

/// How long shutdown waits for open connections to finish their responses.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(3);

/// Serves HTTP/1.1 on `listener` until `shutdown` completes, then stops accepting and lets
/// the open connections finish (at most [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(30))
        .writev(true);
    let connections = Tracker::new();
    let stop = Shutdown::default();
    let mut errors = AcceptErrors::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    let (wait, out_of_files) = errors.failed(&e, connections.count());
                    if out_of_files {
                        connections.shed();
                    }
                    tokio::time::sleep(wait).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        errors.accepted();
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            // Everything but item and archive pages is answered from memory right here.
            let answer = if on_request(request.uri().path()) {
                Err((Arc::clone(&state), state.pages.load_full()))
            } else {
                Ok(handle(&state, &request))
            };
            async move {
                let response = match answer {
                    Ok(response) => response,
                    Err((state, pages)) => page(&state, pages, &request).await,
                };
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let mut guard = connections.open();
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                () = guard.shed() => {}
                () = stop.triggered() => {}
            }
            // Idle: closed now; busy: closed after its response.
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
    }
    drop(listener);
    stop.trigger();
    if !connections.drained(DRAIN).await {
        warn!(
            "{} connection(s) still open after {DRAIN:?}; closing them",
            connections.count()
        );
    }
}

/// Answers a request for an item or archive page: rendered (or cached) by `pages`, or a 503
/// while the store is being opened again.
async fn page<B>(state: &AppState, pages: Option<Arc<Pages>>, request: &Request<B>) -> Response {
    let path = request.uri().path();
    let answer = match pages {
        Some(pages) => pages.get(path).await,
        None => Answer::Busy,
    };
    let resource = match &answer {
        Answer::Found(resource) => Some(resource.as_ref()),
        Answer::NotFound => None,
        Answer::Busy | Answer::Failed(_) => {
            let mut response = plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy; try again in a moment\n",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            if request.method() == Method::HEAD {
                *response.body_mut() = Full::default();
            }
            return response;
        }
    };
    respond(state, request.method(), resource, path, request.headers())
}

/// Answers one request from the snapshot (or `/healthz`, `/metrics`).
pub fn handle<B>(state: &AppState, request: &Request<B>) -> Response {
    let snapshot = state.snapshot.load();
    let path = request.uri().path();
    respond(
        state,
        request.method(),
        snapshot.resources.get(path),
        path,
        request.headers(),
    )
}

/// Answers one request for `path` with `resource` (`None` when there is no such document).
fn respond(
    state: &AppState,
    method: &Method,
    resource: Option<&Resource>,
    path: &str,
    headers: &HeaderMap,
) -> Response {
    let dynamic = matches!(path, "/healthz" | "/metrics");
    if !dynamic && resource.is_none() {
        return plain(StatusCode::NOT_FOUND, "not found\n");
    }
    if method != Method::GET && method != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let mut response = match (path, resource) {
        ("/healthz", _) => match state.status.health(Utc::now()) {
            Ok(()) => plain(StatusCode::OK, "ok\n"),
            Err(problems) => plain(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("{}\n", problems.join("\n")),
            ),
        },
        ("/metrics", _) => {
            let mut r = plain(StatusCode::OK, &state.status.metrics());
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            r
        }
        (_, Some(resource)) => document(state, resource, headers),
        (_, None) => plain(StatusCode::NOT_FOUND, "not found\n"),
    };
    if method == Method::HEAD {
        // Content-Length stays: it is the length a GET would send.
        *response.body_mut() = Full::default();
    }
    response
}

fn document(state: &AppState, resource: &Resource, request: &HeaderMap) -> Response {
    let variant = match (negotiate(request), &resource.br) {
        (Coding::Br, Some(br)) => br,
        (Coding::Br | Coding::Gzip, _) => &resource.gzip,
        (Coding::Identity, _) => &resource.identity,
    };
    let not_modified = match request.get(header::IF_NONE_MATCH) {
        // Fast path: the client sends back exactly the tag we gave it.
        Some(value) if value == variant.etag_value => true,
        Some(_) => request
            .typed_get::<IfNoneMatch>()
            .is_some_and(|inm| !inm.precondition_passes(&variant.etag)),
        None => request
            .typed_get::<IfModifiedSince>()
            .is_some_and(|ims| !ims.is_modified(resource.last_modified)),
    };
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
    if !std::ptr::eq(variant, &resource.identity) {
        let coding = if std::ptr::eq(variant, &resource.gzip) {
            "gzip"
        } else {
            "br"
        };
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(variant.body.len()),
    );
    *response.body_mut() = Full::new(variant.body.clone());
    response
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Br,
    Gzip,
    Identity,
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

fn plain(status: StatusCode, body: &str) -> Response {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let h = response.headers_mut();
    // Said outright, so that a HEAD gets the length a GET would.
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
