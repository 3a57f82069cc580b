//! HTTP polling of sources: conditional GET, connect and total timeouts, a body size limit
//! checked while streaming (after decompression), at most 10 redirects, and a `User-Agent`
//! that names govfeeds and the site it serves. Bodies are streamed to a file, so memory does
//! not grow with them.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use reqwest::header::{self, HeaderMap};
use tokio::io::AsyncWriteExt;
use url::Url;

use crate::config::FetchConfig;

/// The HTTP client shared by every source.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_bytes: u64,
}

/// The validators remembered from the last successful fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// `ETag` of the last response.
    pub etag: Option<String>,
    /// `Last-Modified` of the last response.
    pub last_modified: Option<String>,
}

/// The outcome of a fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// `304 Not Modified`: nothing to do.
    NotModified,
    /// A new body, written to `path`.
    Body {
        /// Where the body was written.
        path: PathBuf,
        /// Validators for the next conditional GET.
        validators: Validators,
    },
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server answered with an error status.
    #[error("HTTP status {status}")]
    Status {
        /// The status code.
        status: u16,
        /// What `Retry-After` asked for, on 429 and 503.
        retry_after: Option<Duration>,
    },
    /// The body went over the size limit.
    #[error("response body larger than the limit of {limit} bytes; cut off")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Connecting, redirecting, timing out, decoding: said with its chain of causes.
    #[error("{}", describe(.0))]
    Http(#[source] reqwest::Error),
    /// Writing the body to disk.
    #[error("saving the response body: {0}")]
    Io(#[from] std::io::Error),
}

impl FetchError {
    /// The delay the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// A reqwest error with its chain of causes, which say what actually happened.
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_redirect() {
        "too many redirects or a redirect to a non-http(s) URL".to_string()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl Fetcher {
    /// A client configured from `[fetch]`; `base_url` goes into the `User-Agent`.
    pub fn new(config: &FetchConfig, base_url: &Url) -> Result<Fetcher, String> {
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 10 {
                attempt.error("more than 10 redirects")
            } else if !matches!(attempt.url().scheme(), "http" | "https") {
                attempt.error("redirect to a non-http(s) URL")
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .user_agent(format!(
                "govfeeds/{} (+{base_url})",
                env!("CARGO_PKG_VERSION")
            ))
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(policy)
            .build()
            .map_err(|e| describe(&e))?;
        Ok(Fetcher {
            client,
            max_bytes: config.max_body_bytes,
        })
    }

    /// Fetches `url` into `dest` (replacing it only when a whole body arrived), sending the
    /// conditional headers from `validators`.
    pub async fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
        dest: &Path,
    ) -> Result<Fetched, FetchError> {
        let mut request = self.client.get(url.clone());
        if let Some(etag) = &validators.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &validators.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, lm);
        }
        let response = request.send().await.map_err(FetchError::Http)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            let retry_after = matches!(status.as_u16(), 429 | 503)
                .then(|| retry_after(response.headers()))
                .flatten();
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after,
            });
        }
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes)
        {
            return Err(FetchError::TooLarge {
                limit: self.max_bytes,
            });
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let validators = Validators {
            etag: header(header::ETAG),
            last_modified: header(header::LAST_MODIFIED),
        };
        let part = dest.with_extension("part");
        let result = self.save(response, &part).await;
        match result {
            Ok(()) => {
                tokio::fs::rename(&part, dest).await?;
                Ok(Fetched::Body {
                    path: dest.to_path_buf(),
                    validators,
                })
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&part).await;
                Err(e)
            }
        }
    }

    async fn save(&self, response: reqwest::Response, part: &Path) -> Result<(), FetchError> {
        if let Some(dir) = part.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let mut file = tokio::fs::File::create(part).await?;
        let mut written: u64 = 0;
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(FetchError::Http)?;
            written += chunk.len() as u64;
            if written > self.max_bytes {
                return Err(FetchError::TooLarge {
                    limit: self.max_bytes,
                });
            }
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        Ok(())
    }
}

/// `Retry-After` as a delay: delta-seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}
