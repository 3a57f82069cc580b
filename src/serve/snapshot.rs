//! The snapshot: every published document by URL path, each compressed once (gzip, brotli)
//! and tagged with its validators (strong ETag per encoding, Last-Modified).

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::time::SystemTime;

use bytes::Bytes;
use headers::ETag;
use http::HeaderValue;
use sha2::{Digest, Sha256};

use crate::render::Document;
use crate::shutdown::Shutdown;

/// One document in every encoding, with its validators.
#[derive(Debug, Clone)]
pub struct Resource {
    pub(super) content_type: HeaderValue,
    pub(super) identity: Variant,
    pub(super) gzip: Variant,
    pub(super) br: Option<Variant>,
    pub(super) last_modified: SystemTime,
    pub(super) last_modified_value: HeaderValue,
    sha256: String,
    /// `Cache-Control` when not the configured one (archive pages that never change).
    pub(super) cache_control: Option<HeaderValue>,
}

#[derive(Debug, Clone)]
pub(super) struct Variant {
    pub(super) body: Bytes,
    pub(super) etag: ETag,
    pub(super) etag_value: HeaderValue,
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
    pub(super) fn size(&self) -> usize {
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

    /// The document at URL `path`.
    pub(super) fn get(&self, path: &str) -> Option<&Resource> {
        self.resources.get(path)
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
pub(super) fn system_time(time: chrono::DateTime<chrono::FixedOffset>) -> SystemTime {
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
pub(super) fn encoded(
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
