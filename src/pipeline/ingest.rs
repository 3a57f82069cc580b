//! Ingesting a source's input into the store: files read unless unchanged, entries and
//! upstream items stored in checkpointed transactions, the changes marked for publishing.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use chrono::{DateTime, FixedOffset, Utc};
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn};

use super::prepare::InputFile;
use super::{
    BuildError, CHECKPOINT_EVERY, Engine, Prepared, SourceError, SourceFailure, SourceRun, Summary,
    merge_failure,
};
use crate::classify::Classifier;
use crate::config::{Config, SourceConfig};
use crate::feed_id::COMBINED_ID;
use crate::item::Item;
use crate::shutdown::Shutdown;
use crate::source::feed::{self, FeedOrigin};
use crate::source::plan::Format;
use crate::source::{self, Read};
use crate::store::{Batch, Changes, FeedChange, FileState, NewHealthEvent, Outcome, Store, Target};

/// Why an ingest ended early.
pub(super) enum Interrupted {
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
pub(super) struct Ingest<'a> {
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

    fn fail(&mut self, error: SourceError) {
        merge_failure(&mut self.failure, SourceFailure::new(error, None));
    }

    /// `file` could not be read: the source's failure, the other files still read.
    fn unreadable(&mut self, file: &InputFile, error: std::io::Error) {
        self.fail(SourceError::Read {
            path: file.path.clone(),
            error,
        });
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
            Err(error) => {
                self.unreadable(file, error);
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
            self.fail(SourceError::HtmlDump {
                key: file.key.clone(),
            });
            return Ok(None);
        }
        let mut reads = match source::DumpFile::open(&file.path, self.config, self.now) {
            Ok(reads) => reads,
            Err(error) => {
                self.unreadable(file, error);
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
            Err(error) => {
                self.unreadable(file, error);
                return Ok(None);
            }
        };
        let sha256 = crate::text::hex(&Sha256::digest(&bytes));
        let parsed = feed::parse(&bytes, origin);
        drop(bytes);
        let mut parsed = match parsed {
            Ok(parsed) => parsed,
            Err(error) => {
                self.fail(SourceError::Feed {
                    url: origin.url.clone(),
                    error,
                });
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

impl Engine {
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

    /// Ingests `prepared` (or records its failure) and saves the source's state.
    pub(super) fn ingest_blocking(
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
        let failure = ingest.failure.take().map(Arc::new);
        let old = store.source_state(&source.name)?;
        let mut state = old.clone();
        let now = Utc::now()
            .with_timezone(&self.config.site.timezone)
            .fixed_offset();
        let health = match &failure {
            Some(f) if old.consecutive_failures == 0 => Some(NewHealthEvent {
                at: now,
                failing: true,
                message: f.to_string(),
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
                warn!(source = %source.name, "source failed: {f}");
                summary.failed.push((source.name.clone(), Arc::clone(f)));
                state.last_error = Some(f.to_string());
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
}
