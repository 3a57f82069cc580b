//! Getting a source's input: its dump files, or the bodies fetched from its URLs.

use std::path::PathBuf;
use std::time::Duration;

use tracing::info;

use super::{Engine, SourceError, SourceFailure, merge_failure};
use crate::config::SourceConfig;
use crate::source::fetch::{Fetched, Validators};
use crate::source::plan::{Format, Plan, plan};

/// One file of a source's input.
#[derive(Debug, Clone)]
pub(super) struct InputFile {
    /// Key for change tracking: the path, or the URL it was fetched from.
    pub(super) key: String,
    /// Where to read it.
    pub(super) path: PathBuf,
    /// How to read it.
    pub(super) format: Format,
    /// HTTP validators to remember (under a source or source/entity key) once it is ingested.
    pub(super) validators: Option<(String, Validators)>,
}

/// A source's input, ready for [`Engine::ingest`]: the files that arrived, and why others
/// did not.
#[derive(Debug)]
pub struct Prepared {
    pub(super) files: Vec<InputFile>,
    pub(super) failure: Option<SourceFailure>,
}

pub(super) fn add_failure(
    prepared: &mut Prepared,
    error: SourceError,
    retry_after: Option<Duration>,
) {
    merge_failure(
        &mut prepared.failure,
        SourceFailure::new(error, retry_after),
    );
}

/// A source name as a file name.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Engine {
    /// Gets a source's input: lists its files, or fetches its URLs (one at a time, with the
    /// source's pause between requests). Safe to abandon midway.
    pub async fn prepare(&self, source: &SourceConfig) -> Prepared {
        let mut prepared = Prepared {
            files: Vec::new(),
            failure: None,
        };
        match plan(source) {
            Plan::Files(Ok(files)) => {
                prepared.files = files
                    .into_iter()
                    .map(|path| InputFile {
                        key: path.to_string_lossy().into_owned(),
                        path,
                        format: Format::Dump,
                        validators: None,
                    })
                    .collect();
            }
            Plan::Files(Err(message)) => {
                add_failure(&mut prepared, SourceError::Listing(message), None);
            }
            Plan::Fetch { requests, pause } => {
                for (i, request) in requests.into_iter().enumerate() {
                    if i > 0 {
                        tokio::time::sleep(pause).await;
                    }
                    self.fetch(&mut prepared, &request.key, &request.url, request.format)
                        .await;
                }
            }
        }
        prepared
    }

    /// Fetches `url` into the state folder with the validators remembered under `key`; adds
    /// the body to `prepared`, nothing on a 304, or a failure.
    async fn fetch(&self, prepared: &mut Prepared, key: &str, url: &url::Url, format: Format) {
        let state = match self.source_state(key) {
            Ok(state) => state,
            Err(e) => {
                let error = SourceError::State {
                    key: key.to_string(),
                    error: Box::new(e),
                };
                add_failure(prepared, error, None);
                return;
            }
        };
        let validators = Validators {
            etag: state.etag,
            last_modified: state.last_modified,
        };
        let dest = self
            .config
            .paths
            .state_dir
            .join("fetch")
            .join(format!("{}.body", sanitize(key)));
        match self.fetcher.fetch(url, &validators, &dest).await {
            Ok(Fetched::NotModified) => info!(source = %key, "not modified"),
            Ok(Fetched::Body { path, validators }) => prepared.files.push(InputFile {
                key: url.to_string(),
                path,
                format,
                validators: Some((key.to_string(), validators)),
            }),
            Err(error) => {
                let retry_after = error.retry_after();
                let error = SourceError::Fetch {
                    url: url.clone(),
                    error,
                };
                add_failure(prepared, error, retry_after);
            }
        }
    }
}
