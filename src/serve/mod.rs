//! The static handler: serves the published snapshot from memory the way feed readers want
//! (content types, strong ETags, Last-Modified, 304s, gzip and brotli negotiated from
//! `Accept-Encoding` and compressed once per build, HEAD), plus `/healthz` and `/metrics`.
//! Item pages and archive pages, one per item or per hundred items, are rendered from the
//! store on request instead ([`Pages`]), with the same validators and gzip.
//!
//! Only the paths in the snapshot and the item and archive pages in the store exist: every
//! other path, including every path-traversal spelling, is a 404 because nothing is ever
//! looked up on disk.
//!
//! One file per HTTP concern: [`snapshot`](self::snapshot) holds the documents and their
//! encodings, `encoding` picks one, `conditional` decides 304s, `headers` writes a document's
//! headers, `error` the answers that are not documents, `health` `/healthz` and `/metrics`,
//! `pages` the pages rendered on request, `connections` the accept loop's bookkeeping.

use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tracing::warn;

mod conditional;
mod connections;
mod encoding;
mod error;
mod headers;
mod health;
mod pages;
mod search;
mod snapshot;

use self::connections::{AcceptErrors, Tracker};
pub use self::pages::{Answer, KeptPage, Pages, RETRY_AFTER_SECS};
pub use self::snapshot::{Resource, Snapshot};

use crate::render::search::Format;
use crate::shutdown::Shutdown;
use crate::status::Status;

/// Whether `path` may name a page rendered on request, or a search.
fn on_request(path: &str) -> bool {
    path.starts_with("/items/")
        || path.starts_with("/feeds/archive/")
        || Format::of_path(path).is_some()
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

/// Answers a request for an item or archive page or a search: rendered (or cached) by
/// `pages`, or a 503 while the store is being opened again.
async fn page<B>(state: &AppState, pages: Option<Arc<Pages>>, request: &Request<B>) -> Response {
    let path = request.uri().path();
    let answer = match (pages, Format::of_path(path)) {
        (None, _) => Answer::Busy,
        (Some(pages), None) => pages.get(path).await,
        (Some(pages), Some(format)) => match search::answer(&pages, format, request).await {
            Ok(answer) => answer,
            Err(response) => return without_body_for_head(request, response),
        },
    };
    let resource = match &answer {
        Answer::Found(resource) => Some(resource.as_ref()),
        Answer::NotFound => None,
        Answer::Busy | Answer::Failed(_) => return without_body_for_head(request, error::busy()),
        Answer::Refused(message) => {
            return without_body_for_head(request, error::bad_request(message));
        }
    };
    respond(state, request.method(), resource, path, request.headers())
}

/// `response`, without its body when `request` is a HEAD (its `Content-Length` stays).
fn without_body_for_head<B>(request: &Request<B>, mut response: Response) -> Response {
    if request.method() == Method::HEAD {
        *response.body_mut() = Full::default();
    }
    response
}

/// Answers one request from the snapshot (or `/healthz`, `/metrics`).
pub fn handle<B>(state: &AppState, request: &Request<B>) -> Response {
    let snapshot = state.snapshot.load();
    let path = request.uri().path();
    respond(
        state,
        request.method(),
        snapshot.get(path),
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
        return error::not_found();
    }
    if method != Method::GET && method != Method::HEAD {
        return error::method_not_allowed();
    }
    let mut response = match (path, resource) {
        ("/healthz", _) => health::healthz(state),
        ("/metrics", _) => health::metrics(state),
        (_, Some(resource)) => headers::document(state, resource, headers),
        (_, None) => error::not_found(),
    };
    if method == Method::HEAD {
        // Content-Length stays: it is the length a GET would send.
        *response.body_mut() = Full::default();
    }
    response
}
