//! What one run of a source reads, by its kind: the dump files a path or glob names, or the
//! URLs to fetch one after another (a dump, an upstream feed, gov.kz's feed of each entity).
//! A new source kind says here what it reads; the pipeline fetches and ingests it.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::feed::FeedOrigin;
use crate::config::{SourceConfig, SourceKind};

/// How a file of a source's input is read.
#[derive(Debug, Clone)]
pub enum Format {
    /// A text dump.
    Dump,
    /// An RSS, Atom or JSON feed, and where it came from.
    Feed(Box<FeedOrigin>),
}

/// One URL to fetch.
#[derive(Debug, Clone)]
pub struct Request {
    /// Under what the HTTP validators of the URL are remembered: the source, or
    /// `<source>/<entity>`.
    pub key: String,
    /// What to fetch.
    pub url: Url,
    /// How to read the body.
    pub format: Format,
}

/// What one run of a source reads.
#[derive(Debug)]
pub enum Plan {
    /// Local dump files, in name order (or why they could not be listed).
    Files(Result<Vec<PathBuf>, String>),
    /// URLs fetched one after another, with `pause` between two requests.
    Fetch {
        /// The requests, in order.
        requests: Vec<Request>,
        /// The pause between two requests.
        pause: Duration,
    },
}

/// What `source` reads on a run.
pub fn plan(source: &SourceConfig) -> Plan {
    let name = &source.name;
    match &source.kind {
        SourceKind::DumpFiles { glob } => Plan::Files(glob.files()),
        SourceKind::DumpUrl { url } => Plan::Fetch {
            requests: vec![Request {
                key: name.clone(),
                url: url.clone(),
                format: Format::Dump,
            }],
            pause: Duration::ZERO,
        },
        SourceKind::Feed { url, ministry } => Plan::Fetch {
            requests: vec![Request {
                key: name.clone(),
                url: url.clone(),
                format: Format::Feed(Box::new(FeedOrigin {
                    source: name.clone(),
                    url: url.clone(),
                    base: url.clone(),
                    entity: None,
                    pinned_feed: ministry.clone(),
                })),
            }],
            pause: Duration::ZERO,
        },
        SourceKind::GovKz {
            entities,
            lang,
            endpoint,
            pause,
            base,
        } => Plan::Fetch {
            requests: entities
                .iter()
                .filter_map(|entity| {
                    let url = SourceKind::govkz_url(endpoint, entity, lang)?;
                    Some(Request {
                        key: format!("{name}/{entity}"),
                        format: Format::Feed(Box::new(FeedOrigin {
                            source: name.clone(),
                            url: url.clone(),
                            base: base.clone(),
                            entity: Some(entity.clone()),
                            pinned_feed: None,
                        })),
                        url,
                    })
                })
                .collect(),
            pause: *pause,
        },
    }
}
