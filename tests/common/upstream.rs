//! A local upstream server for polling tests: serves a dump with an ETag, or misbehaves on
//! request. Bound to 127.0.0.1 on a port chosen by the OS.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// How the upstream answers.
#[derive(Debug, Clone)]
pub enum Mode {
    /// The dump, with an ETag; 304 when `If-None-Match` matches.
    Normal,
    /// The dump, without validators.
    NoValidators,
    /// This status, with `Retry-After` when given.
    Status(u16, Option<u64>),
    /// Waits this long before answering.
    Slow(Duration),
    /// A body of this many bytes, without Content-Length.
    Huge(usize),
    /// Redirects to itself forever.
    RedirectLoop,
}

#[derive(Debug)]
pub struct Upstream {
    pub body: String,
    pub mode: Mode,
    /// `If-None-Match` of each request (None when absent).
    pub requests: Vec<Option<String>>,
    pub user_agents: Vec<String>,
}

pub type Shared = Arc<Mutex<Upstream>>;

impl Upstream {
    fn etag(&self) -> String {
        format!(
            "\"{:x}\"",
            self.body.len() * 31 + self.body.bytes().map(usize::from).sum::<usize>()
        )
    }
}

/// Starts the upstream on a thread of its own (so sync and async tests can use it);
/// returns its address and its shared state.
pub fn start(body: &str) -> (SocketAddr, Shared) {
    let shared: Shared = Arc::new(Mutex::new(Upstream {
        body: body.to_string(),
        mode: Mode::Normal,
        requests: Vec::new(),
        user_agents: Vec::new(),
    }));
    let app = Router::new()
        .fallback(answer)
        .with_state(Arc::clone(&shared));
    (spawn(app), shared)
}

async fn answer(State(shared): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let (mode, body, etag) = {
        let mut up = shared.lock().unwrap();
        let inm = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        up.requests.push(inm);
        let ua = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        up.user_agents.push(ua);
        (up.mode.clone(), up.body.clone(), up.etag())
    };
    match mode {
        Mode::Normal => {
            if headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                == Some(etag.as_str())
            {
                return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
            }
            ([(header::ETAG, etag)], body).into_response()
        }
        Mode::NoValidators => body.into_response(),
        Mode::Status(code, retry_after) => {
            let mut response =
                (StatusCode::from_u16(code).unwrap(), "upstream error").into_response();
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, secs.into());
            }
            response
        }
        Mode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            body.into_response()
        }
        Mode::Huge(size) => {
            let chunk = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
            let chunks = size.div_ceil(chunk.len());
            let stream = futures_util::stream::iter(
                (0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            );
            Response::new(Body::from_stream(stream))
        }
        Mode::RedirectLoop => (
            StatusCode::FOUND,
            [(header::LOCATION, uri.path().to_string())],
        )
            .into_response(),
    }
}

/// Serves the files under `root` by path (read on every request, so tests can change them),
/// 404 for anything else. Returns the address.
pub fn serve_dir(root: std::path::PathBuf) -> SocketAddr {
    let app = Router::new().fallback(move |uri: Uri| {
        let root = root.clone();
        async move {
            let relative = uri.path().trim_start_matches('/');
            if relative.split('/').any(|part| part == "..") {
                return StatusCode::NOT_FOUND.into_response();
            }
            match std::fs::read(root.join(relative)) {
                Ok(bytes) => {
                    let kind = if relative.ends_with(".json") {
                        "application/feed+json"
                    } else if relative.ends_with(".html") {
                        "text/html"
                    } else {
                        "application/xml"
                    };
                    ([(header::CONTENT_TYPE, kind)], bytes).into_response()
                }
                Err(_) => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    spawn(app)
}

/// Serves `app` on 127.0.0.1 (a port chosen by the OS) from a thread of its own.
fn spawn(app: Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let _ = axum::serve(listener, app).await;
        });
    });
    addr
}
