//! Builds: get a source's input (local files, or a body fetched over HTTP), ingest it into the
//! store, then publish what the changes reach ([`crate::publish`]). `govfeeds build` runs
//! every source once; `serve` runs each on its schedule.
//!
//! An ingest commits every [`CHECKPOINT_EVERY`] of work, marking the feeds its items reach
//! pending in the same transaction; so a run that is stopped or killed keeps its work up to the
//! last checkpoint, and whatever it committed is published by the next publish.

mod ingest;
mod prepare;
mod report;

pub use self::prepare::Prepared;
pub use self::report::Summary;

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use tracing::{info, warn};

use crate::classify::Classifier;
use crate::config::{Config, SourceConfig};
use crate::publish::{self, Report};
use crate::render::Document;
use crate::shutdown::Shutdown;
use crate::source::fetch::Fetcher;
use crate::store::{SourceState, Store, StoreError};

/// How much work one transaction holds at most: an interrupted ingest keeps its work up to
/// the last checkpoint, and the next run goes on from there (items it stores again are
/// unchanged). Longer would lose more to an interruption; shorter costs a bulk ingest dearly,
/// as every commit writes the index pages it touched again.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(5);

/// A failure that stops a build: the store or the output folder is unusable.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The item store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A folder or file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP client could not be set up.
    #[error("HTTP client: {0}")]
    Client(String),
    /// A blocking task panicked or was cancelled.
    #[error("build task: {0}")]
    Task(String),
    /// Another process holds the state folder.
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
}

impl BuildError {
    /// Whether the store must be opened again before anything more is done with it.
    pub fn needs_reopen(&self) -> bool {
        matches!(self, BuildError::Store(e) if e.needs_reopen())
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The result of one source run that did not stop the build.
#[derive(Debug)]
pub struct SourceRun {
    /// What was read and stored.
    pub summary: Summary,
    /// Why the source failed, if it did (shared with the summary).
    pub failure: Option<Arc<SourceFailure>>,
    /// Whether the run stopped early on a stop request (its state is not recorded).
    pub stopped: bool,
    /// Whether it committed something to publish (items, or a health event).
    pub committed: bool,
}

impl SourceRun {
    fn stopped(summary: Summary, committed: bool) -> SourceRun {
        SourceRun {
            summary,
            failure: None,
            stopped: true,
            committed,
        }
    }
}

/// Why a source run failed, and how long the source asked us to wait.
#[derive(Debug)]
pub struct SourceFailure {
    /// What went wrong, in the order it happened (one per input that failed).
    pub errors: Vec<SourceError>,
    /// `Retry-After`, when the upstream sent one.
    pub retry_after: Option<Duration>,
}

impl SourceFailure {
    fn new(error: SourceError, retry_after: Option<Duration>) -> SourceFailure {
        SourceFailure {
            errors: vec![error],
            retry_after,
        }
    }
}

impl std::fmt::Display for SourceFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Why one input of a source could not be had or read. Its other inputs are still ingested.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The dump path or glob names nothing readable.
    #[error("{0}")]
    Listing(String),
    /// A file could not be read.
    #[error("{}: {error}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// What the system said.
        #[source]
        error: std::io::Error,
    },
    /// A fetched dump is an HTML page (an error page, a login wall).
    #[error("{key}: the response is an HTML page, not a dump")]
    HtmlDump {
        /// The URL it was fetched from.
        key: String,
    },
    /// An upstream feed's body did not parse.
    #[error("{url}: {error}")]
    Feed {
        /// Where it was fetched from.
        url: url::Url,
        /// Why it is not a feed.
        #[source]
        error: crate::source::feed::FeedError,
    },
    /// Fetching failed (status, network, size limit).
    #[error("{url}: {error}")]
    Fetch {
        /// What was fetched.
        url: url::Url,
        /// Why it failed.
        #[source]
        error: crate::source::fetch::FetchError,
    },
    /// The source's saved state (its HTTP validators) could not be read.
    #[error("{key}: {error}")]
    State {
        /// The source (or source/entity) key.
        key: String,
        /// The store's error.
        #[source]
        error: Box<BuildError>,
    },
}

/// Folds another failure into `into`: errors kept in order, the longest `Retry-After` kept.
fn merge_failure(into: &mut Option<SourceFailure>, other: SourceFailure) {
    match into {
        None => *into = Some(other),
        Some(f) => {
            f.errors.extend(other.errors);
            f.retry_after = f.retry_after.max(other.retry_after);
        }
    }
}

/// Runs every source once and publishes, on a runtime of its own: `govfeeds build`.
/// Holds the state folder's lock throughout. Must not be called from inside an async runtime.
pub fn run(config: Config) -> Result<Summary, BuildError> {
    let _lock = crate::lock::StateLock::acquire(&config.paths.state_dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| BuildError::Task(e.to_string()))?;
    runtime.block_on(async {
        let engine = Arc::new(Engine::open(config)?);
        let summary = engine.build_all().await?;
        if let Ok(engine) = Arc::try_unwrap(engine) {
            engine.close()?;
        }
        Ok(summary)
    })
}

/// Which documents a publish renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Those the store's changes reached since they were last published.
    Pending,
    /// Every one (a server's first snapshot).
    Everything,
}

/// Everything a build needs: the config, the store and the HTTP client.
pub struct Engine {
    config: Config,
    store: Mutex<Store>,
    fetcher: Fetcher,
    moved: usize,
    /// Asks runs and publishes in progress to stop (reload, shutdown).
    stop: Shutdown,
    /// Bumped whenever items are committed: what the server's page caches follow.
    version: Arc<AtomicU64>,
}

impl Engine {
    /// Creates the folders, opens the store and re-classifies items if the mapping changed.
    pub fn open(config: Config) -> Result<Engine, BuildError> {
        std::fs::create_dir_all(&config.paths.state_dir)
            .map_err(io_err(&config.paths.state_dir))?;
        std::fs::create_dir_all(&config.paths.output_dir)
            .map_err(io_err(&config.paths.output_dir))?;
        let mut store = Store::open(&config.paths.state_dir)?;
        let moved = store.reclassify(&Classifier::new(&config))?;
        if moved > 0 {
            info!(
                items = moved,
                "items moved to other feeds after a mapping change"
            );
        }
        let fetcher =
            Fetcher::new(&config.fetch, &config.site.base_url).map_err(BuildError::Client)?;
        Ok(Engine {
            config,
            store: Mutex::new(store),
            fetcher,
            moved,
            stop: Shutdown::default(),
            version: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Closes the store (recording a clean close when nothing else has it open).
    pub fn close(self) -> Result<(), BuildError> {
        let store = self.store.into_inner().unwrap_or_else(|p| p.into_inner());
        Ok(store.close()?)
    }

    /// The configuration this engine runs.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The stop request that ends this engine's runs and publishes early.
    pub fn stop_request(&self) -> &Shutdown {
        &self.stop
    }

    /// A counter bumped whenever items are committed to the store.
    pub fn version(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.version)
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves SQLite consistent (the transaction rolls back).
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The remembered state of a source.
    pub fn source_state(&self, name: &str) -> Result<SourceState, BuildError> {
        Ok(self.store().source_state(name)?)
    }

    /// Runs every source once, notices published files that went missing or changed, then
    /// publishes what is pending: the one-shot `govfeeds build`.
    pub async fn build_all(self: &Arc<Self>) -> Result<Summary, BuildError> {
        let mut summary = Summary {
            reclassified: self.moved,
            ..Summary::default()
        };
        for source in &self.config.sources {
            let run = self.run_source(source).await?;
            summary.add(run.summary);
        }
        let missing = self.verify().await?;
        if missing > 0 {
            warn!("{missing} published file(s) missing or changed; publishing them again");
        }
        let (report, _) = self.publish(Scope::Pending, false).await?;
        summary.add_publish(report);
        summary.total = self.store().count()?;
        Ok(summary)
    }

    /// Gets one source's input and ingests it. A source failure is reported in the result;
    /// only store and task failures are errors. A stop request abandons the fetch.
    pub async fn run_source(
        self: &Arc<Self>,
        source: &SourceConfig,
    ) -> Result<SourceRun, BuildError> {
        let prepared = tokio::select! {
            prepared = self.prepare(source) => prepared,
            () = self.stop.triggered() => return Ok(SourceRun::stopped(Summary::default(), false)),
        };
        self.ingest(source, prepared).await
    }

    /// Marks pending the documents whose published files went missing or changed, on a
    /// blocking thread; how many there were.
    pub async fn verify(self: &Arc<Self>) -> Result<usize, BuildError> {
        let engine = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let store = engine.store();
            store.check_file()?;
            Ok(publish::verify(&store, &engine.config)?)
        })
        .await
        .map_err(|e| BuildError::Task(e.to_string()))?
    }

    /// Keeps a full archive page rendered by the server, so it is served unchanged from now
    /// on; on a blocking thread.
    pub async fn keep_archive(
        self: &Arc<Self>,
        feed: String,
        page: u64,
        bytes: Vec<u8>,
        modified: DateTime<FixedOffset>,
    ) -> Result<(), BuildError> {
        let engine = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let store = engine.store();
            store.check_file()?;
            Ok(store.keep_archive(&feed, page, &bytes, modified)?)
        })
        .await
        .map_err(|e| BuildError::Task(e.to_string()))?
    }

    /// Publishes on a blocking thread: what is pending, or everything. With `keep`, the
    /// documents that passed the gate are returned as well, for the server's snapshot.
    pub async fn publish(
        self: &Arc<Self>,
        scope: Scope,
        keep: bool,
    ) -> Result<(Report, Vec<Document>), BuildError> {
        let engine = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            // Holding the store lock also keeps two publishes from writing the same files.
            let store = engine.store();
            let mut documents = Vec::new();
            let mut sink = |doc: Document| {
                if keep {
                    documents.push(doc);
                }
            };
            let report = match scope {
                Scope::Pending => publish::pending(&store, &engine.config, &engine.stop, &mut sink),
                Scope::Everything => {
                    publish::everything(&store, &engine.config, &engine.stop, &mut sink)
                }
            }?;
            Ok((report, documents))
        })
        .await
        .map_err(|e| BuildError::Task(e.to_string()))?
    }
}
