//! Item pages and RFC 5005 archive pages, rendered from the store when asked for (there is one
//! per item or per hundred items, too many to keep ready): on a few read-only connections, one
//! render per page however many clients ask for it at once, cached until the store changes,
//! and a 503 with `Retry-After` rather than a long queue when every connection is busy.
//!
//! A full archive page rendered for the first time is handed to the engine to keep
//! ([`KeptPage`]): the server never writes to the store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use http::HeaderValue;
use sha2::{Digest, Sha256};
use tokio::sync::{OnceCell, Semaphore, mpsc};
use tracing::warn;

use super::snapshot::{Resource, encoded, system_time};
use crate::config::Config;
use crate::render::search::{Search, SearchFailure};
use crate::render::{self, OnRequest};
use crate::status::Status;
use crate::store::{SearchError, Store, StoreError};

/// Read connections, hence pages rendered at once (and blocking threads they use).
const READERS: usize = 4;

/// Requests that may wait for a connection; more get a 503 at once.
const MAX_WAITING: usize = 64;

/// How long a request waits for a connection before it gets a 503.
const WAIT: Duration = Duration::from_secs(2);

/// What `Retry-After` says when busy, in seconds.
pub const RETRY_AFTER_SECS: u64 = 2;

/// Bytes of rendered pages kept in memory (least recently used go first).
const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// A full archive page rendered for the first time, for the engine to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptPage {
    /// The feed.
    pub feed: String,
    /// The page number.
    pub page: u64,
    /// The document.
    pub bytes: Vec<u8>,
    /// When its newest item last changed.
    pub modified: DateTime<FixedOffset>,
}

/// The answer for a page.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The page.
    Found(Arc<Resource>),
    /// There is no such page.
    NotFound,
    /// Every connection is busy: try again shortly.
    Busy,
    /// The store failed.
    Failed(String),
    /// The request cannot be answered as asked (a search past its time budget): a 400.
    Refused(String),
}

/// What a connection of the pool renders.
enum Job {
    /// An item or archive page, by path.
    Page(String),
    /// A search.
    Search(Search),
}

/// Renders item and archive pages on request.
pub struct Pages {
    config: Config,
    /// Idle read connections; a [`Semaphore`] permit stands for one.
    readers: Mutex<Vec<Store>>,
    slots: Semaphore,
    waiting: AtomicUsize,
    /// Renders in progress, by path: later requests for the same page wait for its answer.
    flights: Mutex<HashMap<String, Arc<OnceCell<Answer>>>>,
    cache: Mutex<Cache>,
    /// The engine's change counter: a page rendered at another value is stale.
    version: Arc<AtomicU64>,
    keep: mpsc::Sender<KeptPage>,
    status: Arc<Status>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Pages {
    /// Opens [`READERS`] read-only connections to `config`'s store (the engine created it).
    /// Pages are cached until `version` changes; full archive pages go to `keep`; renders
    /// and busy answers are counted in `status`.
    pub fn open(
        config: Config,
        version: Arc<AtomicU64>,
        keep: mpsc::Sender<KeptPage>,
        status: Arc<Status>,
    ) -> Result<Pages, StoreError> {
        let readers = (0..READERS)
            .map(|_| Store::open_reader(&config.paths.state_dir))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pages {
            config,
            readers: Mutex::new(readers),
            slots: Semaphore::new(READERS),
            waiting: AtomicUsize::new(0),
            flights: Mutex::new(HashMap::new()),
            cache: Mutex::new(Cache::default()),
            version,
            keep,
            status,
        })
    }

    /// The configuration pages are rendered with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The page at `path` (with its leading `/`).
    pub async fn get(self: &Arc<Self>, path: &str) -> Answer {
        self.answer(path.to_string(), Job::Page(path.to_string()))
            .await
    }

    /// The answer to `search`: cached, like pages, until the store changes, so a reader
    /// polling a query feed while nothing is ingested gets its 304 without a query.
    pub async fn search(self: &Arc<Self>, search: Search) -> Answer {
        let key = format!(
            "{}?{}",
            render::search_path(search.format.extension(), &search.q),
            search.page
        );
        self.answer(key, Job::Search(search)).await
    }

    /// The answer cached under `key`, or `job` rendered (once, however many ask at once).
    async fn answer(self: &Arc<Self>, key: String, job: Job) -> Answer {
        let version = self.version.load(Ordering::Acquire);
        if let Some(found) = lock(&self.cache).get(&key, version) {
            return Answer::Found(found);
        }
        let flight = Arc::clone(lock(&self.flights).entry(key.clone()).or_default());
        let answer = flight
            .get_or_init(|| self.render(key.clone(), job, version))
            .await
            .clone();
        let mut flights = lock(&self.flights);
        if flights.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
            flights.remove(&key);
        }
        answer
    }

    /// Renders `job` on a connection of the pool, waiting for one a little at most; the
    /// answer is cached under `key`.
    async fn render(self: &Arc<Self>, key: String, job: Job, version: u64) -> Answer {
        let busy = || {
            self.status.pages_busy.fetch_add(1, Ordering::Relaxed);
            Answer::Busy
        };
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return busy();
        }
        let permit = tokio::time::timeout(WAIT, self.slots.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let Ok(Ok(_permit)) = permit else {
            return busy();
        };
        self.status.pages_rendered.fetch_add(1, Ordering::Relaxed);
        let Some(mut store) = lock(&self.readers).pop() else {
            return Answer::Busy;
        };
        let pages = Arc::clone(self);
        let rendered = tokio::task::spawn_blocking(move || {
            let found = run(&mut store, &pages.config, job);
            lock(&pages.readers).push(store);
            (found, pages)
        })
        .await;
        let (found, pages) = match rendered {
            Ok(rendered) => rendered,
            Err(e) => return Answer::Failed(format!("rendering a page: {e}")),
        };
        let found = match found {
            Ok(Some(found)) => found,
            Ok(None) => return Answer::NotFound,
            Err(answer) => {
                if let Answer::Failed(e) = &answer {
                    warn!("{key}: {e}");
                }
                return answer;
            }
        };
        if let Some((feed, page)) = found.keep {
            // Full: kept by the engine when it can; if the queue is full, by a later request.
            let _ = pages.keep.try_send(KeptPage {
                feed,
                page,
                bytes: found.document.bytes.clone(),
                modified: found.document.modified,
            });
        }
        let doc = found.document;
        let sha256 = crate::text::hex(&Sha256::digest(&doc.bytes));
        let modified = system_time(doc.modified);
        let Some(mut resource) = encoded(doc, sha256, modified, flate2::Compression::fast(), None)
        else {
            return Answer::Failed("encoding a page".to_string());
        };
        if found.immutable {
            resource.cache_control = Some(HeaderValue::from_static(
                "public, max-age=31536000, immutable",
            ));
        }
        let resource = Arc::new(resource);
        lock(&pages.cache).insert(key, version, Arc::clone(&resource));
        Answer::Found(resource)
    }
}

/// Runs `job` on `store`: the document, `None` when there is none, or the answer to give
/// instead.
fn run(store: &mut Store, config: &Config, job: Job) -> Result<Option<OnRequest>, Answer> {
    let search = match job {
        Job::Page(path) => {
            return render::on_request(store, config, path.trim_start_matches('/'))
                .map_err(|e| Answer::Failed(e.to_string()));
        }
        Job::Search(search) => search,
    };
    match render::search::document(store, config, &search) {
        Ok(document) => Ok(Some(OnRequest {
            document,
            immutable: false,
            keep: None,
        })),
        Err(SearchFailure::Search(e @ SearchError::TooSlow(_))) => {
            Err(Answer::Refused(e.to_string()))
        }
        Err(e) => Err(Answer::Failed(e.to_string())),
    }
}

/// Rendered pages by path, with the store version they were rendered at; the least recently
/// used go first past [`CACHE_BYTES`].
#[derive(Default)]
struct Cache {
    entries: HashMap<String, Entry>,
    bytes: usize,
    clock: u64,
}

struct Entry {
    version: u64,
    resource: Arc<Resource>,
    used: u64,
}

impl Cache {
    fn get(&mut self, path: &str, version: u64) -> Option<Arc<Resource>> {
        self.clock += 1;
        let entry = self.entries.get_mut(path)?;
        if entry.version != version {
            return None;
        }
        entry.used = self.clock;
        Some(Arc::clone(&entry.resource))
    }

    fn insert(&mut self, path: String, version: u64, resource: Arc<Resource>) {
        let size = resource.size();
        if size > CACHE_BYTES / 4 {
            return;
        }
        self.clock += 1;
        if let Some(old) = self.entries.remove(&path) {
            self.bytes -= old.resource.size();
        }
        while self.bytes + size > CACHE_BYTES {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| (e.version == version, e.used))
                .map(|(p, _)| p.clone())
            else {
                break;
            };
            if let Some(old) = self.entries.remove(&oldest) {
                self.bytes -= old.resource.size();
            }
        }
        self.bytes += size;
        self.entries.insert(
            path,
            Entry {
                version,
                resource,
                used: self.clock,
            },
        );
    }
}
