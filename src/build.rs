//! Builds: get a source's input (local files, or a body fetched over HTTP), ingest it into the
//! store, then publish what the changes reach ([`crate::publish`]). `govfeeds build` runs
//! every source once; `serve` runs each on its schedule.
//!
//! An ingest commits every [`CHECKPOINT_EVERY`] of work, marking the feeds its items reach
//! pending in the same transaction; so a run that is stopped or killed keeps its work up to the
//! last checkpoint, and whatever it committed is published by the next publish.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Utc};
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn};

use crate::classify::Classifier;
use crate::config::{Config, SourceConfig, SourceKind};
use crate::feed_id::COMBINED_ID;
use crate::item::Item;
use crate::publish::{self, Behind, Report};
use crate::render::Document;
use crate::shutdown::Shutdown;
use crate::source::feed::{self, FeedOrigin};
use crate::source::fetch::{Fetched, Fetcher, Validators};
use crate::source::{self, Read};
use crate::store::{
    Batch, Changes, FeedChange, FileState, NewHealthEvent, Outcome, SourceState, Store, StoreError,
    Target,
};

/// How much work one transaction holds at most: an interrupted ingest keeps its work up to
/// the last checkpoint, and the next run goes on from there (items it stores again are
/// unchanged). Longer would lose more to an interruption; shorter costs a bulk ingest dearly,
/// as every commit writes the index pages it touched again.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(5);

/// What a build did, for the summary and for tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Files read, over all sources.
    pub files: usize,
    /// Files skipped because they did not change since they were last read (or a 304).
    pub files_unchanged: usize,
    /// Entries read (well-formed ones).
    pub read: usize,
    /// Items seen for the first time.
    pub new: usize,
    /// Items whose content changed at their source.
    pub updated: usize,
    /// Items whose source did not change but which govfeeds renders otherwise now (a newer
    /// release): their `updated` time stays.
    pub rerendered: usize,
    /// Language variants of known items recorded (new alternate links).
    pub variants: usize,
    /// Items seen again unchanged.
    pub unchanged: usize,
    /// Skipped entries or lines, by reason.
    pub skipped: BTreeMap<&'static str, usize>,
    /// Items kept with a part dropped or replaced (an invalid source URL, an implausible date).
    pub degraded: usize,
    /// Items moved to another feed because the ministry mapping changed.
    pub reclassified: usize,
    /// Documents written because their bytes changed.
    pub written: Vec<PathBuf>,
    /// Documents left alone because their bytes did not change.
    pub unchanged_files: usize,
    /// Feed documents removed because their feed has no items any more.
    pub removed: Vec<PathBuf>,
    /// Sources that failed, with the reason; their earlier items stay.
    pub failed: Vec<(String, String)>,
    /// What the publish gate said of each document it checked (by path under `output_dir`):
    /// `None` when it passed, else why it was not published.
    pub gate: BTreeMap<String, Option<String>>,
    /// What failed while publishing (the documents stay pending and are published later).
    pub publish_errors: Vec<String>,
    /// What is still not published after the build.
    pub behind: Behind,
    /// Items in the store after the build.
    pub total: u64,
}

impl Summary {
    /// The documents the publish gate kept from being published, and why.
    pub fn rejected(&self) -> impl Iterator<Item = (&String, &String)> {
        self.gate
            .iter()
            .filter_map(|(path, reason)| Some((path, reason.as_ref()?)))
    }

    /// Items that changed what the feeds show: new, updated, re-rendered, or with a new
    /// language variant.
    pub fn changes(&self) -> usize {
        self.new + self.updated + self.rerendered + self.variants
    }

    /// Whether everything worked: no source failed, the gate held nothing back and every
    /// document is published.
    pub fn is_clean(&self) -> bool {
        self.failed.is_empty() && self.rejected().next().is_none() && self.behind.documents == 0
    }

    /// Adds another source's counts to this one.
    pub fn add(&mut self, other: Summary) {
        self.files += other.files;
        self.files_unchanged += other.files_unchanged;
        self.read += other.read;
        self.new += other.new;
        self.updated += other.updated;
        self.rerendered += other.rerendered;
        self.variants += other.variants;
        self.unchanged += other.unchanged;
        for (reason, n) in other.skipped {
            *self.skipped.entry(reason).or_default() += n;
        }
        self.degraded += other.degraded;
        self.reclassified += other.reclassified;
        self.written.extend(other.written);
        self.unchanged_files += other.unchanged_files;
        self.removed.extend(other.removed);
        self.failed.extend(other.failed);
        self.gate.extend(other.gate);
        self.publish_errors.extend(other.publish_errors);
        self.total = self.total.max(other.total);
    }

    /// Adds what a publish did.
    pub fn add_publish(&mut self, report: Report) {
        self.written.extend(report.written);
        self.unchanged_files += report.unchanged;
        self.removed.extend(report.removed);
        self.gate.extend(report.gate);
        self.publish_errors.extend(report.errors);
        self.behind = report.behind;
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let skipped: usize = self.skipped.values().sum();
        writeln!(
            f,
            "files: {} read, {} unchanged since they were last read",
            self.files, self.files_unchanged
        )?;
        write!(
            f,
            "items: {} read, {} new, {} updated, ",
            self.read, self.new, self.updated
        )?;
        if self.variants > 0 {
            write!(f, "{} new language variant(s), ", self.variants)?;
        }
        if self.rerendered > 0 {
            write!(
                f,
                "{} rendered anew (unchanged at the source), ",
                self.rerendered
            )?;
        }
        write!(f, "{} unchanged, {} skipped", self.unchanged, skipped)?;
        if skipped > 0 {
            let reasons: Vec<String> = self
                .skipped
                .iter()
                .map(|(r, n)| format!("{r}: {n}"))
                .collect();
            write!(f, " ({})", reasons.join(", "))?;
        }
        writeln!(f, "; {} in store", self.total)?;
        write!(
            f,
            "feeds: {} file(s) written, {} unchanged, {} removed",
            self.written.len(),
            self.unchanged_files,
            self.removed.len()
        )?;
        if self.behind.documents > 0 {
            write!(
                f,
                "; {} document(s) not published yet (the next build or the daemon retries)",
                self.behind.documents
            )?;
        }
        for error in &self.publish_errors {
            write!(f, "\npublish failed: {error}")?;
        }
        for (name, reason) in &self.failed {
            write!(f, "\nsource {name} failed: {reason}")?;
        }
        for (path, reason) in self.rejected() {
            write!(f, "\n{path} not published (publish gate): {reason}")?;
        }
        Ok(())
    }
}

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRun {
    /// What was read and stored.
    pub summary: Summary,
    /// Why the source failed, if it did.
    pub failure: Option<SourceFailure>,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFailure {
    /// What went wrong.
    pub message: String,
    /// `Retry-After`, when the upstream sent one.
    pub retry_after: Option<Duration>,
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

/// One file of a source's input.
#[derive(Debug, Clone)]
struct InputFile {
    /// Key for change tracking: the path, or the URL it was fetched from.
    key: String,
    /// Where to read it.
    path: PathBuf,
    /// How to read it.
    format: Format,
    /// HTTP validators to remember (under a source or source/entity key) once it is ingested.
    validators: Option<(String, Validators)>,
}

#[derive(Debug, Clone)]
enum Format {
    Dump,
    Feed(Box<FeedOrigin>),
}

/// A source's input, ready for [`Engine::ingest`]: the files that arrived, and why others
/// did not.
#[derive(Debug)]
pub struct Prepared {
    files: Vec<InputFile>,
    failure: Option<SourceFailure>,
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

    /// Gets a source's input: lists its files, or fetches its URLs. Safe to abandon midway.
    pub async fn prepare(&self, source: &SourceConfig) -> Prepared {
        let mut prepared = Prepared {
            files: Vec::new(),
            failure: None,
        };
        match &source.kind {
            SourceKind::DumpFiles { glob } => match glob.files() {
                Ok(files) => {
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
                Err(message) => {
                    prepared.failure = Some(SourceFailure {
                        message,
                        retry_after: None,
                    })
                }
            },
            SourceKind::DumpUrl { url } => {
                self.fetch(&mut prepared, &source.name, url, Format::Dump)
                    .await;
            }
            SourceKind::Feed { url, ministry } => {
                let origin = FeedOrigin {
                    source: source.name.clone(),
                    url: url.clone(),
                    base: url.clone(),
                    entity: None,
                    pinned_feed: ministry.clone(),
                };
                self.fetch(
                    &mut prepared,
                    &source.name,
                    url,
                    Format::Feed(Box::new(origin)),
                )
                .await;
            }
            SourceKind::GovKz {
                entities,
                lang,
                endpoint,
                pause,
                base,
            } => {
                // One entity at a time, with a pause between requests.
                for (i, entity) in entities.iter().enumerate() {
                    if i > 0 {
                        tokio::time::sleep(*pause).await;
                    }
                    let Some(url) = SourceKind::govkz_url(endpoint, entity, lang) else {
                        continue;
                    };
                    let origin = FeedOrigin {
                        source: source.name.clone(),
                        url: url.clone(),
                        base: base.clone(),
                        entity: Some(entity.clone()),
                        pinned_feed: None,
                    };
                    let key = format!("{}/{entity}", source.name);
                    self.fetch(&mut prepared, &key, &url, Format::Feed(Box::new(origin)))
                        .await;
                }
            }
        }
        prepared
    }

    /// Ingests a prepared input on a blocking thread (in transactions of at most
    /// [`CHECKPOINT_EVERY`] of work), and records the source's outcome. A stop request ends it
    /// at the next item, keeping what was committed.
    pub async fn ingest(
        self: &Arc<Self>,
        source: &SourceConfig,
        prepared: Prepared,
    ) -> Result<SourceRun, BuildError> {
        let engine = Arc::clone(self);
        let source = source.clone();
        tokio::task::spawn_blocking(move || engine.ingest_blocking(&source, prepared))
            .await
            .map_err(|e| BuildError::Task(e.to_string()))?
    }

    /// Fetches `url` into the state folder with the validators remembered under `key`; adds
    /// the body to `prepared`, nothing on a 304, or a failure.
    async fn fetch(&self, prepared: &mut Prepared, key: &str, url: &url::Url, format: Format) {
        let state = match self.source_state(key) {
            Ok(state) => state,
            Err(e) => {
                add_failure(prepared, format!("{key}: {e}"), None);
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
            Err(e) => add_failure(prepared, format!("{url}: {e}"), e.retry_after()),
        }
    }

    /// Ingests `prepared` (or records its failure) and saves the source's state.
    fn ingest_blocking(
        &self,
        source: &SourceConfig,
        prepared: Prepared,
    ) -> Result<SourceRun, BuildError> {
        let mut store = self.store();
        store.check_file()?;
        let mut ingest = Ingest::new(&self.config, source, &self.stop);
        ingest.failure = prepared.failure;
        let outcome = ingest.files(&mut store, &prepared.files);
        if ingest.committed {
            self.version.fetch_add(1, Ordering::Relaxed);
        }
        let mut summary = std::mem::take(&mut ingest.summary);
        match outcome {
            Ok(()) => {}
            Err(Interrupted::Stopped) => {
                info!(source = %source.name, "run stopped; what it committed is kept");
                return Ok(SourceRun::stopped(summary, ingest.committed));
            }
            Err(Interrupted::Failed(e)) => return Err(e),
        }
        let failure = ingest.failure.take();
        let old = store.source_state(&source.name)?;
        let mut state = old.clone();
        let now = Utc::now()
            .with_timezone(&self.config.site.timezone)
            .fixed_offset();
        let health = match &failure {
            Some(f) if old.consecutive_failures == 0 => Some(NewHealthEvent {
                at: now,
                failing: true,
                message: f.message.clone(),
            }),
            None if old.consecutive_failures > 0 => Some(NewHealthEvent {
                at: now,
                failing: false,
                message: format!(
                    "Back after {} failed run(s); the last error was: {}",
                    old.consecutive_failures,
                    old.last_error.as_deref().unwrap_or("unknown")
                ),
            }),
            _ => None,
        };
        match &failure {
            None => {
                state.last_success = Some(Utc::now());
                state.last_error = None;
                state.consecutive_failures = 0;
            }
            Some(f) => {
                warn!(source = %source.name, "source failed: {}", f.message);
                summary
                    .failed
                    .push((source.name.clone(), f.message.clone()));
                state.last_error = Some(f.message.clone());
                state.consecutive_failures += 1;
            }
        }
        // A run that changed nothing writes nothing: its success time lives in memory only.
        let changed = summary.changes() > 0
            || failure.is_some()
            || old.consecutive_failures > 0
            || old.last_success.is_none();
        if changed {
            store.set_source_state(&source.name, &state, health.as_ref())?;
        }
        summary.total = store.count()?;
        Ok(SourceRun {
            summary,
            failure,
            stopped: false,
            committed: ingest.committed || health.is_some(),
        })
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

/// Why an ingest ended early.
enum Interrupted {
    /// A stop was requested.
    Stopped,
    /// The store failed.
    Failed(BuildError),
}

impl<E: Into<BuildError>> From<E> for Interrupted {
    fn from(e: E) -> Self {
        Interrupted::Failed(e.into())
    }
}

/// One ingest: what it stored, and the changes not yet marked pending.
struct Ingest<'a> {
    config: &'a Config,
    source: &'a SourceConfig,
    classifier: Classifier<'a>,
    stop: &'a Shutdown,
    /// When the items are seen (whole seconds).
    now: DateTime<FixedOffset>,
    summary: Summary,
    failure: Option<SourceFailure>,
    /// Changes since the last checkpoint.
    changes: Changes,
    /// When the last checkpoint was made (or the ingest began).
    checkpointed: Instant,
    /// Whether a checkpoint committed changed items.
    committed: bool,
}

impl<'a> Ingest<'a> {
    fn new(config: &'a Config, source: &'a SourceConfig, stop: &'a Shutdown) -> Ingest<'a> {
        let now = Utc::now()
            .with_timezone(&config.site.timezone)
            .fixed_offset();
        Ingest {
            config,
            source,
            classifier: Classifier::new(config),
            stop,
            now: now - chrono::Duration::nanoseconds(now.timestamp_subsec_nanos().into()),
            summary: Summary::default(),
            failure: None,
            changes: Changes::default(),
            checkpointed: Instant::now(),
            committed: false,
        }
    }

    fn fail(&mut self, message: String) {
        merge_failure(
            &mut self.failure,
            SourceFailure {
                message,
                retry_after: None,
            },
        );
    }

    /// Reads `files` into the store. A file that cannot be read or parsed is reported (the
    /// source's failure) and skipped; the others are still ingested.
    fn files(&mut self, store: &mut Store, files: &[InputFile]) -> Result<(), Interrupted> {
        let mut batch = store.batch()?;
        for file in files {
            self.file(&mut batch, file)?;
        }
        batch.mark_pending(&self.changes)?;
        batch.commit()?;
        self.committed |= !self.changes.is_empty();
        let read = self.summary.files > 0 || self.summary.changes() > 0;
        if read {
            info!(source = %self.source.name, files = self.summary.files, items = self.summary.read, "source read");
        } else {
            debug!(source = %self.source.name, "source unchanged");
        }
        Ok(())
    }

    /// Makes what was stored so far durable, with its pending marks.
    fn checkpoint(&mut self, batch: &mut Batch<'_>) -> Result<(), Interrupted> {
        batch.mark_pending(&self.changes)?;
        batch.checkpoint()?;
        self.committed |= !std::mem::take(&mut self.changes).is_empty();
        self.checkpointed = Instant::now();
        Ok(())
    }

    /// Reads one file into the store, unless it did not change since it was last read.
    fn file(&mut self, batch: &mut Batch<'_>, file: &InputFile) -> Result<(), Interrupted> {
        let state = match file_state(&file.path) {
            Ok(state) => state,
            Err(e) => {
                self.fail(format!("{}: {e}", file.path.display()));
                return Ok(());
            }
        };
        // A file an older release read is read again: its items may read better now.
        let known = batch
            .file_state(&self.source.name, &file.key)?
            .filter(|known| known.reader == source::READER_VERSION);
        if let Some(known) = known {
            let same_stat = (known.size, known.mtime_ns) == (state.size, state.mtime_ns);
            // Touched or downloaded again but not changed: same size, same content.
            let same_content = !same_stat
                && known.size == state.size
                && source::sha256_file(&file.path).is_ok_and(|h| h == known.sha256);
            if same_stat || same_content {
                if same_content {
                    let sha256 = known.sha256;
                    batch.record_file(
                        &self.source.name,
                        &file.key,
                        &FileState { sha256, ..state },
                    )?;
                }
                if let Some((key, v)) = &file.validators {
                    batch.save_validators(key, v.etag.as_deref(), v.last_modified.as_deref())?;
                }
                self.summary.files_unchanged += 1;
                return Ok(());
            }
        }
        let sha256 = match &file.format {
            Format::Dump => self.dump(batch, file)?,
            Format::Feed(origin) => self.feed(batch, file, origin)?,
        };
        let Some(sha256) = sha256 else {
            return Ok(());
        };
        self.summary.files += 1;
        batch.record_file(&self.source.name, &file.key, &FileState { sha256, ..state })?;
        if let Some((key, v)) = &file.validators {
            batch.save_validators(key, v.etag.as_deref(), v.last_modified.as_deref())?;
        }
        Ok(())
    }

    /// Reads a dump file; its hash, or `None` when it could not be read.
    fn dump(
        &mut self,
        batch: &mut Batch<'_>,
        file: &InputFile,
    ) -> Result<Option<String>, Interrupted> {
        // A fetched dump that is really an HTML (error) page fails the source.
        if file.validators.is_some()
            && source::file_head(&file.path).is_ok_and(|h| source::looks_like_html(&h))
        {
            self.fail(format!(
                "{}: the response is an HTML page, not a dump",
                file.key
            ));
            return Ok(None);
        }
        let mut reads = match source::DumpFile::open(&file.path, self.config, self.now) {
            Ok(reads) => reads,
            Err(e) => {
                self.fail(format!("{}: {e}", file.path.display()));
                return Ok(None);
            }
        };
        for read in reads.by_ref() {
            match read {
                Read::Item(item, at, warning) => {
                    if let Some(message) = warning {
                        warn!("{at}: {message}");
                        self.summary.degraded += 1;
                    }
                    self.item(batch, &item)?;
                }
                Read::Skipped(at, reason) => {
                    warn!("{at}: {reason}");
                    *self.summary.skipped.entry(reason.label()).or_default() += 1;
                }
            }
        }
        Ok(Some(reads.sha256()))
    }

    /// Reads an upstream feed's body; its hash, or `None` when it could not be parsed.
    fn feed(
        &mut self,
        batch: &mut Batch<'_>,
        file: &InputFile,
        origin: &FeedOrigin,
    ) -> Result<Option<String>, Interrupted> {
        let bytes = match std::fs::read(&file.path) {
            Ok(bytes) => bytes,
            Err(e) => {
                self.fail(format!("{}: {e}", file.path.display()));
                return Ok(None);
            }
        };
        let sha256 = crate::text::hex(&Sha256::digest(&bytes));
        let parsed = feed::parse(&bytes, origin);
        drop(bytes);
        let mut parsed = match parsed {
            Ok(parsed) => parsed,
            Err(message) => {
                self.fail(format!("{}: {message}", origin.url));
                return Ok(None);
            }
        };
        for (line, reason) in std::mem::take(&mut parsed.skipped) {
            warn!(source = %self.source.name, "{}: entry at line {line} skipped: {reason}", origin.url);
            *self
                .summary
                .skipped
                .entry("unreadable feed entry")
                .or_default() += 1;
        }
        for (item, warning) in feed::items(&mut parsed, origin, self.config, self.now) {
            if let Some(message) = warning {
                warn!(source = %self.source.name, "{}: {message}", origin.url);
                self.summary.degraded += 1;
            }
            self.item(batch, &item)?;
        }
        Ok(Some(sha256))
    }

    /// Stores one item and notes which targets it reaches.
    fn item(&mut self, batch: &mut Batch<'_>, item: &Item) -> Result<(), Interrupted> {
        if self.stop.is_triggered() {
            return Err(Interrupted::Stopped);
        }
        self.summary.read += 1;
        let feed = match &item.pinned_feed {
            Some(feed) => feed.clone(),
            None => {
                self.classifier
                    .feed_for(item.entity.as_deref(), &item.title, &item.content_html)
            }
        };
        let outcome = batch.upsert(item, &feed, &self.source.name, self.now)?;
        match outcome {
            Outcome::New { published } => {
                self.summary.new += 1;
                let change = FeedChange {
                    newest: published,
                    added: 1,
                    moved: false,
                };
                self.reach(&feed, item.language.as_deref(), change);
                self.languages_changed(batch, &[(&feed, item.language.as_deref())])?;
            }
            Outcome::Updated {
                edited,
                feed: previous,
                language,
                published,
            } => {
                if edited {
                    self.summary.updated += 1;
                } else {
                    self.summary.rerendered += 1;
                }
                let change = FeedChange {
                    newest: published,
                    added: 0,
                    moved: previous != feed,
                };
                self.reach(&previous, language.as_deref(), change);
                self.reach(&feed, item.language.as_deref(), change);
                let (before, after) = (language.as_deref(), item.language.as_deref());
                if (previous.as_str(), before) != (feed.as_str(), after) {
                    self.languages_changed(batch, &[(&previous, before), (&feed, after)])?;
                }
            }
            Outcome::Variant {
                feed,
                language,
                published,
            } => {
                self.summary.variants += 1;
                let change = FeedChange {
                    newest: published,
                    added: 0,
                    moved: false,
                };
                self.reach(&feed, language.as_deref(), change);
            }
            Outcome::Unchanged => self.summary.unchanged += 1,
        }
        if self.checkpointed.elapsed() >= CHECKPOINT_EVERY {
            self.checkpoint(batch)?;
        }
        Ok(())
    }

    /// Where an item arrived in or left one of `places` (feed and language): when that is the
    /// first or the last item of the language in the feed, its page (and the combined feed's)
    /// links one language feed more or less, whatever else the change reaches.
    fn languages_changed(
        &mut self,
        batch: &Batch<'_>,
        places: &[(&str, Option<&str>)],
    ) -> Result<(), Interrupted> {
        for &(feed, language) in places {
            let Some(language) = language else {
                continue;
            };
            if batch.language_count(feed, language)? <= 1 {
                for id in [feed, COMBINED_ID] {
                    self.changes
                        .touch(Target::Feed(id.to_string()), FeedChange::WHOLE);
                }
            }
        }
        Ok(())
    }

    /// Notes a change of an item in `feed` (and `language`): it reaches that feed's
    /// documents and the combined feed's, and their feeds in its language.
    fn reach(&mut self, feed: &str, language: Option<&str>, change: FeedChange) {
        let combined = FeedChange {
            moved: false,
            ..change
        };
        self.changes.touch(Target::Feed(feed.to_string()), change);
        self.changes
            .touch(Target::Feed(COMBINED_ID.to_string()), combined);
        if let Some(lang) = language {
            for id in [feed, COMBINED_ID] {
                self.changes
                    .touch(Target::Language(id.to_string(), lang.to_string()), combined);
            }
        }
    }
}

fn add_failure(prepared: &mut Prepared, message: String, retry_after: Option<Duration>) {
    merge_failure(
        &mut prepared.failure,
        SourceFailure {
            message,
            retry_after,
        },
    );
}

/// Folds another failure into `into`: messages joined, the longest `Retry-After` kept.
fn merge_failure(into: &mut Option<SourceFailure>, other: SourceFailure) {
    match into {
        None => *into = Some(other),
        Some(f) => {
            f.message.push_str("; ");
            f.message.push_str(&other.message);
            f.retry_after = f.retry_after.max(other.retry_after);
        }
    }
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

/// Size and mtime of `path` (the hash is filled in once the content has been read).
fn file_state(path: &Path) -> std::io::Result<FileState> {
    let meta = std::fs::metadata(path)?;
    let mtime_ns = meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    Ok(FileState {
        size: i64::try_from(meta.len()).unwrap_or(i64::MAX),
        mtime_ns,
        sha256: String::new(),
        reader: source::READER_VERSION,
    })
}
