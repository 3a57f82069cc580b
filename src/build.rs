//! One build: read every source once, store what changed, render every feed, publish the
//! files whose bytes changed. `govfeeds build` runs it once; `serve` runs it on schedule.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::PathBuf;

use chrono::Utc;
use tracing::{info, warn};

use crate::classify::Classifier;
use crate::config::{COMBINED_ID, Config, SourceConfig, SourceKind};
use crate::publish;
use crate::render::{self, FeedDoc};
use crate::source::{self, Read};
use crate::store::{FileState, Outcome, Store, StoreError};

/// What a build did, for the summary line and for tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Files read, over all sources.
    pub files: usize,
    /// Files skipped because they did not change since they were last read.
    pub files_unchanged: usize,
    /// Entries read (well-formed ones).
    pub read: usize,
    /// Items seen for the first time.
    pub new: usize,
    /// Items whose content changed.
    pub updated: usize,
    /// Items seen again unchanged.
    pub unchanged: usize,
    /// Skipped entries or lines, by reason.
    pub skipped: BTreeMap<&'static str, usize>,
    /// Items kept with a part dropped (e.g. an invalid source URL).
    pub degraded: usize,
    /// Items moved to another feed because the ministry mapping changed.
    pub reclassified: usize,
    /// Feed documents written because their bytes changed.
    pub written: Vec<PathBuf>,
    /// Feed documents left alone because their bytes did not change.
    pub unchanged_files: usize,
    /// Feed documents removed because their feed has no items any more.
    pub removed: Vec<PathBuf>,
    /// Sources that failed, with the reason; their earlier items stay.
    pub failed: Vec<(String, String)>,
    /// Items in the store after the build.
    pub total: u64,
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
            "items: {} read, {} new, {} updated, {} unchanged, {} skipped",
            self.read, self.new, self.updated, self.unchanged, skipped
        )?;
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
        Ok(())
    }
}

/// A build failure that stops the build: the store or the output folder is unusable.
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
}

fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Runs one build with `config`.
pub fn run(config: &Config) -> Result<Summary, BuildError> {
    std::fs::create_dir_all(&config.paths.state_dir).map_err(io_err(&config.paths.state_dir))?;
    let mut store = Store::open(&config.paths.state_dir)?;
    let classifier = Classifier::new(config);
    let mut summary = Summary {
        reclassified: store.reclassify(&classifier)?,
        ..Summary::default()
    };
    for source in &config.sources {
        if let Err(reason) = ingest(&mut store, config, &classifier, source, &mut summary)? {
            warn!(source = %source.name, "{reason}");
            summary.failed.push((source.name.clone(), reason));
        }
    }
    publish_feeds(&store, config, &classifier, &mut summary)?;
    summary.total = store.count()?;
    Ok(summary)
}

/// Reads one source into the store in one transaction. The outer error stops the build; the
/// inner one fails only this source.
fn ingest(
    store: &mut Store,
    config: &Config,
    classifier: &Classifier<'_>,
    source: &SourceConfig,
    summary: &mut Summary,
) -> Result<Result<(), String>, BuildError> {
    let SourceKind::Dump { pattern } = &source.kind;
    let files = match source::dump_files(pattern) {
        Ok(files) => files,
        Err(reason) => return Ok(Err(reason)),
    };
    let now = Utc::now()
        .with_timezone(&config.site.timezone)
        .fixed_offset();
    let now = now - chrono::Duration::nanoseconds(now.timestamp_subsec_nanos().into());
    let mut batch = store.batch()?;
    for file in &files {
        let name = file.to_string_lossy();
        let state = match file_state(file) {
            Ok(state) => state,
            Err(e) => return Ok(Err(format!("{}: {e}", file.display()))),
        };
        if let Some(known) = batch.file_state(&source.name, &name)? {
            let same_stat = (known.size, known.mtime_ns) == (state.size, state.mtime_ns);
            // Touched but not changed: same size, same content.
            let same_content = !same_stat
                && known.size == state.size
                && source::sha256_file(file).is_ok_and(|h| h == known.sha256);
            if same_stat || same_content {
                if same_content {
                    batch.record_file(
                        &source.name,
                        &name,
                        &FileState {
                            sha256: known.sha256,
                            ..state
                        },
                    )?;
                }
                summary.files_unchanged += 1;
                continue;
            }
        }
        let mut reads = match source::DumpFile::open(file, config) {
            Ok(reads) => reads,
            Err(e) => return Ok(Err(format!("{}: {e}", file.display()))),
        };
        summary.files += 1;
        for read in reads.by_ref() {
            match read {
                Read::Item(item, at, warning) => {
                    if let Some(message) = warning {
                        warn!("{at}: {message}");
                        summary.degraded += 1;
                    }
                    summary.read += 1;
                    let feed = classifier.feed_for(
                        item.entity.as_deref(),
                        &item.title,
                        &item.content_html,
                    );
                    match batch.upsert(&item, &feed, &source.name, now)? {
                        Outcome::New => summary.new += 1,
                        Outcome::Updated => summary.updated += 1,
                        Outcome::Unchanged => summary.unchanged += 1,
                    }
                }
                Read::Skipped(at, reason) => {
                    warn!("{at}: {reason}");
                    *summary.skipped.entry(reason.label()).or_default() += 1;
                }
            }
        }
        let sha256 = reads.sha256();
        batch.record_file(&source.name, &name, &FileState { sha256, ..state })?;
    }
    batch.commit()?;
    info!(source = %source.name, files = files.len(), "source read");
    Ok(Ok(()))
}

/// Size and mtime of `path` (the hash is filled in once the content has been read).
fn file_state(path: &std::path::Path) -> std::io::Result<FileState> {
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

/// Renders every feed that has items plus the combined one, and publishes changed files.
fn publish_feeds(
    store: &Store,
    config: &Config,
    classifier: &Classifier<'_>,
    summary: &mut Summary,
) -> Result<(), BuildError> {
    let dir = config.paths.output_dir.join("feeds");
    let mut keep = HashSet::new();
    let mut ids = vec![COMBINED_ID.to_string()];
    ids.extend(store.feed_ids()?);
    for id in ids {
        let combined = id == COMBINED_ID;
        let name = classifier.feed_name(&id);
        let description = if combined {
            config.site.description.clone()
        } else {
            format!("{}: {}", config.site.title, name.title)
        };
        let doc = FeedDoc {
            items: store.newest((!combined).then_some(id.as_str()), config.max_items)?,
            name,
            description,
            config,
            classifier: *classifier,
        };
        for (extension, bytes) in [
            ("rss", render::rss::render(&doc)?),
            ("atom", render::atom::render(&doc)?),
        ] {
            let path = dir.join(format!("{id}.{extension}"));
            if publish::write_if_changed(&path, &bytes).map_err(io_err(&path))? {
                summary.written.push(path.clone());
            } else {
                summary.unchanged_files += 1;
            }
            keep.insert(path);
        }
    }
    summary.removed = publish::remove_stale(&dir, &keep, &["rss", "atom"]).map_err(io_err(&dir))?;
    Ok(())
}
