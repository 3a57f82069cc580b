//! Builds: get a source's input (local files, or a body fetched over HTTP), ingest it into the
//! store in one transaction, then render every feed and publish the files whose bytes
//! changed. `govfeeds build` runs every source once; `serve` runs each on its schedule.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use tracing::{error, info, warn};

use crate::classify::Classifier;
use crate::config::{Config, SourceConfig, SourceKind};
use crate::render::{self, Document, FeedChange, Scope};
use crate::{gate, publish};
use sha2::{Digest, Sha256};

use crate::item::Item;
use crate::source::feed::{self, FeedOrigin};
use crate::source::fetch::{Fetched, Fetcher, Validators};
use crate::source::{self, Read};
use crate::store::{FileState, NewHealthEvent, Outcome, SourceState, Store, StoreError};

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
    /// Items whose content changed.
    pub updated: usize,
    /// Language variants of known items recorded (new alternate links).
    pub variants: usize,
    /// Items seen again unchanged.
    pub unchanged: usize,
    /// Skipped entries or lines, by reason.
    pub skipped: BTreeMap<&'static str, usize>,
    /// Items kept with a part dropped (e.g. an invalid source URL).
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
    /// Items in the store after the build.
    pub total: u64,
    /// The feeds whose items changed, and how.
    pub changed_feeds: BTreeMap<String, FeedChange>,
    /// The languages of the items that changed (before and after the change).
    pub changed_languages: BTreeSet<String>,
}

impl Summary {
    /// The documents the publish gate kept from being published, and why.
    pub fn rejected(&self) -> impl Iterator<Item = (&String, &String)> {
        self.gate
            .iter()
            .filter_map(|(path, reason)| Some((path, reason.as_ref()?)))
    }

    /// The documents a publish after these changes has to render.
    pub fn scope(&self) -> Scope {
        Scope::Changed {
            feeds: self.changed_feeds.clone(),
            languages: self.changed_languages.clone(),
        }
    }

    /// Items that changed what the feeds show: new, updated, or with a new language variant.
    pub fn changes(&self) -> usize {
        self.new + self.updated + self.variants
    }

    /// Adds another summary's counts (of another source, or of a publish) to this one.
    pub fn add(&mut self, other: Summary) {
        self.files += other.files;
        self.files_unchanged += other.files_unchanged;
        self.read += other.read;
        self.new += other.new;
        self.updated += other.updated;
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
        self.total = self.total.max(other.total);
        for (feed, change) in other.changed_feeds {
            self.changed_feeds.entry(feed).or_default().merge(change);
        }
        self.changed_languages.extend(other.changed_languages);
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
    /// A feed could not be rendered.
    #[error(transparent)]
    Render(#[from] render::RenderError),
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

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Notes a change in `feed`: of an item published at `published` (Unix seconds), `added` to
/// it or not, `moved` into or out of it or not.
fn touch(
    changes: &mut BTreeMap<String, FeedChange>,
    feed: String,
    published: i64,
    added: bool,
    moved: bool,
) {
    changes.entry(feed).or_default().merge(FeedChange {
        newest: published,
        added: u64::from(added),
        moved,
    });
}

/// The result of one source run that did not stop the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRun {
    /// What was read and stored.
    pub summary: Summary,
    /// Why the source failed, if it did.
    pub failure: Option<SourceFailure>,
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
        engine.build_all().await
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

/// The `meta` entry holding the fingerprint of the last complete publish.
const PUBLISHED: &str = "published";

/// What a publish rendered.
#[derive(Debug, Default)]
pub struct Published {
    /// The documents rendered (when asked to keep them).
    pub documents: Vec<Document>,
    /// Whether they are every document (a full publish) or only the changed ones.
    pub complete: bool,
}

/// A source's input, ready for [`Engine::ingest`]: the files that arrived, and why others
/// did not.
#[derive(Debug)]
pub struct Prepared {
    files: Vec<InputFile>,
    failure: Option<SourceFailure>,
}

/// Everything a build needs: the config, the store and the HTTP client.
pub struct Engine {
    config: Config,
    store: Mutex<Store>,
    fetcher: Fetcher,
    /// Set when opening moved items between feeds: the next publish renders everything.
    reclassified: AtomicBool,
    moved: usize,
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
            reclassified: AtomicBool::new(moved > 0),
            moved,
        })
    }

    /// The configuration this engine runs.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves SQLite consistent (the transaction rolls back).
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The remembered state of a source.
    pub fn source_state(&self, name: &str) -> Result<SourceState, BuildError> {
        Ok(self.store().source_state(name)?)
    }

    /// Runs every source once, then publishes what changed: the one-shot `govfeeds build`.
    pub async fn build_all(self: &Arc<Self>) -> Result<Summary, BuildError> {
        let mut summary = Summary {
            reclassified: self.moved,
            ..Summary::default()
        };
        for source in &self.config.sources {
            let run = self.run_source(source).await?;
            summary.add(run.summary);
        }
        let scope = summary.scope();
        let (published, _) = self.publish(scope, false).await?;
        summary.add(published);
        Ok(summary)
    }

    /// Gets one source's input and ingests it. A source failure is reported in the result;
    /// only store and task failures are errors.
    pub async fn run_source(
        self: &Arc<Self>,
        source: &SourceConfig,
    ) -> Result<SourceRun, BuildError> {
        let prepared = self.prepare(source).await;
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

    /// Ingests a prepared input in one transaction on a blocking thread, and records the
    /// source's outcome. Once started it runs to the end, even if the caller goes away.
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

    /// Ingests `input` (or records its failure), in one transaction, and saves the source's
    /// state. Runs on a blocking thread.
    fn ingest_blocking(
        &self,
        source: &SourceConfig,
        prepared: Prepared,
    ) -> Result<SourceRun, BuildError> {
        let mut store = self.store();
        let mut summary = Summary::default();
        let mut failure = prepared.failure;
        if let Some(f) = ingest_files(
            &mut store,
            &self.config,
            source,
            &prepared.files,
            &mut summary,
        )? {
            merge_failure(&mut failure, f);
        }
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
        if health.is_some() {
            summary
                .changed_feeds
                .insert(render::HEALTH_ID.to_string(), FeedChange::default());
        }
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
        Ok(SourceRun { summary, failure })
    }

    /// Renders the documents of `scope` and writes those whose bytes changed, on a blocking
    /// thread. Everything is rendered instead when the rendering config changed since the last
    /// publish (or there was none); nothing when `scope` names no feed. With `keep`, the
    /// rendered documents are returned (for the server's snapshot).
    pub async fn publish(
        self: &Arc<Self>,
        scope: Scope,
        keep: bool,
    ) -> Result<(Summary, Published), BuildError> {
        let engine = Arc::clone(self);
        tokio::task::spawn_blocking(move || engine.publish_blocking(scope, keep))
            .await
            .map_err(|e| BuildError::Task(e.to_string()))?
    }

    fn publish_blocking(
        &self,
        scope: Scope,
        keep: bool,
    ) -> Result<(Summary, Published), BuildError> {
        // Holding the store lock also keeps two publishes from writing the same files.
        let store = self.store();
        let out = &self.config.paths.output_dir;
        let fingerprint = render::fingerprint(&self.config);
        let current = store.meta(PUBLISHED)?.as_deref() == Some(fingerprint.as_str())
            && out.join("index.html").exists()
            && !self.reclassified.swap(false, Ordering::SeqCst);
        let scope = if current { scope } else { Scope::All };
        let mut summary = Summary::default();
        let mut published = Published {
            documents: Vec::new(),
            complete: scope == Scope::All,
        };
        if scope.is_empty() {
            summary.total = store.count()?;
            return Ok((summary, published));
        }
        let mut paths = HashSet::new();
        render::site(&store, &self.config, &scope, |doc| {
            let path = out.join(&doc.path);
            let verdict = gate::check(&doc, &self.config).err();
            if let Some(reason) = &verdict {
                error!(
                    "{} not published, the last good one stays: {reason}",
                    doc.path
                );
            }
            let rejected = verdict.is_some();
            summary.gate.insert(doc.path.clone(), verdict);
            if rejected {
                // Keep the published file (a full publish would remove it as stale).
                paths.insert(path);
                return Ok(());
            }
            let written = publish::write_if_changed(&path, &doc.bytes).map_err(|source| {
                render::RenderError::Io {
                    path: path.display().to_string(),
                    source,
                }
            })?;
            if written {
                summary.written.push(path.clone());
            } else {
                summary.unchanged_files += 1;
            }
            paths.insert(path);
            if keep {
                published.documents.push(doc);
            }
            Ok(())
        })?;
        if scope == Scope::All {
            let feeds = out.join("feeds");
            summary.removed =
                publish::remove_stale(&feeds, &paths, &["rss", "atom", "json", "html"])
                    .map_err(io_err(&feeds))?;
            if !current {
                store.set_meta(PUBLISHED, &fingerprint)?;
            }
        }
        summary.total = store.count()?;
        Ok((summary, published))
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

/// Reads `files` into the store in one transaction. A file that cannot be read or parsed
/// is reported (the returned failure) and skipped; the others are still ingested.
fn ingest_files(
    store: &mut Store,
    config: &Config,
    source: &SourceConfig,
    files: &[InputFile],
    summary: &mut Summary,
) -> Result<Option<SourceFailure>, BuildError> {
    let classifier = Classifier::new(config);
    let now = Utc::now()
        .with_timezone(&config.site.timezone)
        .fixed_offset();
    let now = now - chrono::Duration::nanoseconds(now.timestamp_subsec_nanos().into());
    let mut failure = None;
    let mut batch = store.batch()?;
    for file in files {
        let fail = |failure: &mut Option<SourceFailure>, message: String| {
            merge_failure(
                failure,
                SourceFailure {
                    message,
                    retry_after: None,
                },
            );
        };
        let state = match file_state(&file.path) {
            Ok(state) => state,
            Err(e) => {
                fail(&mut failure, format!("{}: {e}", file.path.display()));
                continue;
            }
        };
        if let Some(known) = batch.file_state(&source.name, &file.key)? {
            let same_stat = (known.size, known.mtime_ns) == (state.size, state.mtime_ns);
            // Touched or downloaded again but not changed: same size, same content.
            let same_content = !same_stat
                && known.size == state.size
                && source::sha256_file(&file.path).is_ok_and(|h| h == known.sha256);
            if same_stat || same_content {
                if same_content {
                    let sha256 = known.sha256;
                    batch.record_file(&source.name, &file.key, &FileState { sha256, ..state })?;
                }
                if let Some((key, v)) = &file.validators {
                    batch.save_validators(key, v.etag.as_deref(), v.last_modified.as_deref())?;
                }
                summary.files_unchanged += 1;
                continue;
            }
        }
        let mut store_item =
            |item: &Item, batch: &mut crate::store::Batch<'_>| -> Result<(), BuildError> {
                summary.read += 1;
                let feed = match &item.pinned_feed {
                    Some(feed) => feed.clone(),
                    None => {
                        classifier.feed_for(item.entity.as_deref(), &item.title, &item.content_html)
                    }
                };
                let outcome = batch.upsert(item, &feed, &source.name, now)?;
                match outcome {
                    Outcome::New => {
                        summary.new += 1;
                        summary.changed_languages.extend(item.language.clone());
                        let published = item.published.timestamp();
                        touch(&mut summary.changed_feeds, feed, published, true, false);
                    }
                    Outcome::Updated {
                        feed: previous,
                        language,
                        published,
                    } => {
                        summary.updated += 1;
                        summary.changed_languages.extend(item.language.clone());
                        let moved = previous != feed;
                        touch(
                            &mut summary.changed_feeds,
                            previous,
                            published,
                            false,
                            moved,
                        );
                        touch(&mut summary.changed_feeds, feed, published, false, moved);
                        summary.changed_languages.extend(language);
                    }
                    Outcome::Variant {
                        feed,
                        language,
                        published,
                    } => {
                        summary.variants += 1;
                        touch(&mut summary.changed_feeds, feed, published, false, false);
                        summary.changed_languages.extend(language);
                    }
                    Outcome::Unchanged => summary.unchanged += 1,
                }
                Ok(())
            };
        let sha256 = match &file.format {
            Format::Dump => {
                // A fetched dump that is really an HTML (error) page fails the source.
                if file.validators.is_some()
                    && source::file_head(&file.path).is_ok_and(|h| source::looks_like_html(&h))
                {
                    fail(
                        &mut failure,
                        format!("{}: the response is an HTML page, not a dump", file.key),
                    );
                    continue;
                }
                let mut reads = match source::DumpFile::open(&file.path, config, now) {
                    Ok(reads) => reads,
                    Err(e) => {
                        fail(&mut failure, format!("{}: {e}", file.path.display()));
                        continue;
                    }
                };
                for read in reads.by_ref() {
                    match read {
                        Read::Item(item, at, warning) => {
                            if let Some(message) = warning {
                                warn!("{at}: {message}");
                                summary.degraded += 1;
                            }
                            store_item(&item, &mut batch)?;
                        }
                        Read::Skipped(at, reason) => {
                            warn!("{at}: {reason}");
                            *summary.skipped.entry(reason.label()).or_default() += 1;
                        }
                    }
                }
                reads.sha256()
            }
            Format::Feed(origin) => {
                let bytes = match std::fs::read(&file.path) {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        fail(&mut failure, format!("{}: {e}", file.path.display()));
                        continue;
                    }
                };
                let sha256 = crate::text::hex(&Sha256::digest(&bytes));
                let parsed = feed::parse(&bytes, origin);
                drop(bytes);
                let mut parsed = match parsed {
                    Ok(parsed) => parsed,
                    Err(message) => {
                        fail(&mut failure, format!("{}: {message}", origin.url));
                        continue;
                    }
                };
                for (item, warning) in feed::items(&mut parsed, origin, config, now) {
                    if let Some(message) = warning {
                        warn!(source = %source.name, "{}: {message}", origin.url);
                        summary.degraded += 1;
                    }
                    store_item(&item, &mut batch)?;
                }
                sha256
            }
        };
        summary.files += 1;
        batch.record_file(&source.name, &file.key, &FileState { sha256, ..state })?;
        if let Some((key, v)) = &file.validators {
            batch.save_validators(key, v.etag.as_deref(), v.last_modified.as_deref())?;
        }
    }
    batch.commit()?;
    info!(source = %source.name, files = files.len(), "source read");
    Ok(failure)
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
    })
}
