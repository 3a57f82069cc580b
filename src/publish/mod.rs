//! Publishing: the documents in `output_dir` (and the server's snapshot) follow the store.
//!
//! Every change to the store marks the targets it reaches pending, in its own transaction
//! ([`crate::store::Target`]). A publish renders each pending target, checks each document
//! with the publish gate, writes those whose bytes changed ([`atomic`]) and records, in one
//! transaction, the targets done and the documents written. A target that fails (a render
//! error, a full disk) stays pending and fails nothing else; the next publish, or the daemon's
//! retry, redoes it. [`verify`] notices a published file that went missing or was changed, and
//! marks its target pending again. So whatever happens between a change and its publication
//! (a crash, a failed write), the published documents converge to the store.

pub mod atomic;
mod topics;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::feed_id::Selection;
use crate::feed_id::{COMBINED_ID, TOPIC_PREFIX};
use crate::gate::{self, Rejection};
use crate::render::{self, Document, FeedInfo, RenderError};
use crate::shutdown::Shutdown;
use crate::store::{
    Changes, FeedChange, NewHealthEvent, Pending, PublishRecord, PublishedDoc, Store, StoreError,
    Target,
};

/// Why part of a publish failed. The documents it concerns stay pending and are retried.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PublishError {
    /// A target's documents could not be rendered.
    #[error("{0}")]
    Render(Arc<RenderError>),
    /// A document's file could not be written (a full disk, a read-only folder).
    #[error("{}: {error}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        error: Arc<std::io::Error>,
    },
    /// The files of feeds that are gone could not be removed.
    #[error("{}: {error}", dir.display())]
    RemoveStale {
        /// The folder of feed files.
        dir: PathBuf,
        /// What the system said.
        #[source]
        error: Arc<std::io::Error>,
    },
}

/// What a publish did.
#[derive(Debug, Default)]
pub struct Report {
    /// Files written because their bytes changed.
    pub written: Vec<PathBuf>,
    /// Documents rendered whose files already held their bytes.
    pub unchanged: usize,
    /// Files removed because their feed has no items any more.
    pub removed: Vec<PathBuf>,
    /// What the publish gate said of each document it checked (by path under `output_dir`):
    /// `None` when it passed, else why it was not published.
    pub gate: BTreeMap<String, Option<Rejection>>,
    /// After a complete publish: the path of every document there is now.
    pub expected: Option<HashSet<String>>,
    /// What failed, one per failure (the documents stay pending).
    pub errors: Vec<PublishError>,
    /// What is still not published.
    pub behind: Behind,
    /// Whether the publish stopped early on a stop request.
    pub stopped: bool,
}

impl Report {
    /// Whether the publish had nothing to do.
    pub fn is_idle(&self) -> bool {
        self.gate.is_empty()
            && self.errors.is_empty()
            && self.removed.is_empty()
            && self.behind.documents == 0
            && self.expected.is_none()
    }

    /// The documents the publish gate kept from being published, and why.
    pub fn rejected(&self) -> impl Iterator<Item = (&String, &Rejection)> {
        self.gate
            .iter()
            .filter_map(|(path, reason)| Some((path, reason.as_ref()?)))
    }
}

/// How far the published documents lag behind the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Behind {
    /// Documents not yet published.
    pub documents: usize,
    /// Since when the oldest of them is behind.
    pub since: Option<DateTime<Utc>>,
}

/// Publishes every pending target (everything, when the rendering config changed since the
/// last complete publish). Each document that passes the gate goes to `keep` as well, for
/// the server's snapshot.
pub fn pending(
    store: &Store,
    config: &Config,
    stop: &Shutdown,
    keep: &mut dyn FnMut(Document),
) -> Result<Report, StoreError> {
    run(store, config, false, stop, keep)
}

/// Publishes every document, whatever is pending: a server's first snapshot.
pub fn everything(
    store: &Store,
    config: &Config,
    stop: &Shutdown,
    keep: &mut dyn FnMut(Document),
) -> Result<Report, StoreError> {
    run(store, config, true, stop, keep)
}

/// Marks pending the target of every published file that is missing or differs (size or
/// modification time) from what was written; returns how many there were.
pub fn verify(store: &Store, config: &Config) -> Result<usize, StoreError> {
    let out = &config.paths.output_dir;
    let mut changes = Changes::default();
    let mut found = 0;
    for doc in store.published_docs()? {
        let same = std::fs::metadata(out.join(&doc.path))
            .is_ok_and(|m| m.len() as i64 == doc.size && mtime_ns(&m) == doc.mtime_ns);
        if !same {
            found += 1;
            changes.touch(doc.target, FeedChange::WHOLE);
        }
    }
    if !changes.is_empty() {
        store.mark_pending(&changes)?;
    }
    Ok(found)
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
}

/// One publish in progress: what it decided, wrote and recorded so far.
struct Publish<'a> {
    store: &'a Store,
    config: &'a Config,
    out: &'a Path,
    keep: &'a mut dyn FnMut(Document),
    report: Report,
    record: PublishRecord,
    created: DateTime<FixedOffset>,
}

fn run(
    store: &Store,
    config: &Config,
    everything: bool,
    stop: &Shutdown,
    keep: &mut dyn FnMut(Document),
) -> Result<Report, StoreError> {
    store.check_file()?;
    let fingerprint = render::fingerprint(config);
    let pending = store.pending()?;
    let mut feeds = vec![(COMBINED_ID.to_string(), 0)];
    feeds.extend(store.feed_counts()?);
    feeds[0].1 = feeds.iter().map(|(_, n)| n).sum();
    let targets = targets(config, &feeds);
    // A pending target that no longer exists (its feed emptied, its language dropped from the
    // config) leaves files behind that only a complete publish removes.
    let complete = everything
        || store.meta(crate::store::PUBLISHED)?.as_deref() != Some(fingerprint.as_str())
        || pending
            .iter()
            .any(|p| p.target != Target::Site && !targets.contains(&p.target));
    if !complete && pending.is_empty() {
        return Ok(Report::default());
    }
    let changes: HashMap<Target, FeedChange> = pending
        .iter()
        .map(|p| (p.target.clone(), p.change))
        .collect();
    let mut publish = Publish {
        store,
        config,
        out: &config.paths.output_dir,
        keep,
        report: Report::default(),
        record: PublishRecord::default(),
        created: store.created()?,
    };
    // Any change to the items may change what a topic's query matches.
    let topics = complete || pending.iter().any(|p| p.target != Target::Site);
    let (mut expected, infos) = publish.feeds(&feeds, complete, &changes, topics, stop)?;
    expected.extend(render::site_paths());
    // When stopped, only what was done is recorded; the rest stays pending.
    if !publish.report.stopped {
        publish.health()?;
        let site = render::site_documents(store, config, &infos, publish.created);
        publish.target(Target::Site, site);
        if complete {
            // Failed targets stay pending one by one; a failed removal of stale files leaves
            // the next publish complete again.
            publish.record.done.push(Target::Everything);
            if publish.remove_stale(&expected)? {
                publish.record.fingerprint = Some(fingerprint);
            } else {
                publish.record.failed.push(Target::Everything);
            }
            publish.report.expected = Some(expected);
        }
    }
    store.record_publish(&publish.record)?;
    let mut report = publish.report;
    report.behind = behind(&store.pending()?, &feeds, config);
    Ok(report)
}

/// Every target there is: each feed's own documents and its language feeds.
fn targets(config: &Config, feeds: &[(String, u64)]) -> HashSet<Target> {
    let mut targets = HashSet::new();
    let topics = config.topics.iter().map(|t| &t.feed.id);
    for id in feeds.iter().map(|(id, _)| id).chain(topics) {
        targets.insert(Target::Feed(id.clone()));
        for lang in &config.languages {
            targets.insert(Target::Language(id.clone(), lang.clone()));
        }
    }
    targets
}

/// How many documents `pending` stands for, and since when.
fn behind(pending: &[Pending], feeds: &[(String, u64)], config: &Config) -> Behind {
    let documents = pending
        .iter()
        .map(|p| match &p.target {
            Target::Everything => feeds.len() * (4 + config.languages.len()) + 3,
            Target::Feed(_) => 4,
            Target::Language(..) => 1,
            Target::Site => render::site_paths().len(),
        })
        .sum();
    Behind {
        documents,
        since: pending.iter().map(|p| p.since).min(),
    }
}

/// The source name of publishing's own events in the health feed.
pub const HEALTH_SOURCE: &str = "publishing";

impl Publish<'_> {
    /// Publishes each feed and its language feeds (all of them when `complete`, else those
    /// with `changes`), until `stop`. Returns the paths a complete publish keeps and what
    /// the index and OPML say of each feed.
    fn feeds(
        &mut self,
        feeds: &[(String, u64)],
        complete: bool,
        changes: &HashMap<Target, FeedChange>,
        topics: bool,
        stop: &Shutdown,
    ) -> Result<(HashSet<String>, Vec<FeedInfo>), StoreError> {
        // A complete publish renders everything; otherwise what is pending.
        let change = |target: &Target| -> Option<Option<FeedChange>> {
            if complete {
                Some(None)
            } else {
                changes.get(target).map(|c| Some(*c))
            }
        };
        let mut expected = HashSet::new();
        let mut infos = Vec::new();
        for (id, count) in feeds {
            if stop.is_triggered() {
                self.report.stopped = true;
                break;
            }
            for lang in &self.config.languages {
                expected.insert(render::language_path(id, lang));
                let target = Target::Language(id.clone(), lang.clone());
                if let Some(change) = change(&target) {
                    self.language(target, id, lang, change)?;
                }
            }
            expected.extend(render::feed_paths(id));
            let target = Target::Feed(id.clone());
            infos.push(match change(&target) {
                Some(change) => self.feed(target, id, *count, change)?,
                None => render::feed_info(self.store, self.config, id, *count, self.created)?,
            });
        }
        if !self.report.stopped {
            self.topics(&mut expected, &mut infos, topics)?;
        }
        Ok((expected, infos))
    }

    /// Tells the health feed when publishing starts failing (a document of a feed could not
    /// be published) and when it recovers, before the health feed is rendered.
    fn health(&mut self) -> Result<(), StoreError> {
        let failing = self.report.errors.first().map(ToString::to_string);
        let was = self.store.meta(crate::store::PUBLISH_FAILING)?;
        let at = Utc::now()
            .with_timezone(&self.config.site.timezone)
            .fixed_offset();
        let event = match (&was, &failing) {
            (None, Some(error)) => NewHealthEvent {
                at,
                failing: true,
                message: format!(
                    "{} target(s) could not be published; the last good documents stay and \
                     publishing is retried until it succeeds. {error}",
                    self.record.failed.len()
                ),
            },
            (Some(previous), None) => NewHealthEvent {
                at,
                failing: false,
                message: format!("Every document is published again; the error was: {previous}"),
            },
            _ => return Ok(()),
        };
        self.store
            .record_publish_health(HEALTH_SOURCE, &event, failing.as_deref())
    }

    /// Whether no change reaches the newest `max_items` of `feed` (in `lang`): the documents
    /// showing them are as published. Ties count as reaching.
    fn untouched(
        &self,
        feed: &str,
        lang: Option<&str>,
        change: Option<FeedChange>,
    ) -> Result<bool, StoreError> {
        let Some(change) = change else {
            return Ok(false);
        };
        let feed = Selection::of(feed);
        let oldest_shown = self.store.oldest_shown(feed, lang, self.config.max_items)?;
        Ok(oldest_shown.is_some_and(|t| change.newest < t))
    }

    fn language(
        &mut self,
        target: Target,
        id: &str,
        lang: &str,
        change: Option<FeedChange>,
    ) -> Result<(), StoreError> {
        if self.untouched(id, Some(lang), change)? {
            self.record.done.push(target);
            return Ok(());
        }
        let doc = render::language_document(self.store, self.config, id, lang, self.created);
        self.target(target, doc.map(|d| vec![d]));
        Ok(())
    }

    /// Publishes feed `id`'s own documents when `change` reaches them; what the index says of
    /// the feed.
    fn feed(
        &mut self,
        target: Target,
        id: &str,
        count: u64,
        change: Option<FeedChange>,
    ) -> Result<FeedInfo, StoreError> {
        let archives = render::archives(self.config, count);
        let same_archives = change.is_some_and(|c| {
            !c.moved && archives == render::archives(self.config, count.saturating_sub(c.added))
        });
        if same_archives && self.untouched(id, None, change)? {
            self.record.done.push(target);
            return render::feed_info(self.store, self.config, id, count, self.created);
        }
        match render::feed_documents(self.store, self.config, id, count, self.created) {
            Ok((documents, info)) => {
                self.record
                    .feed_updated
                    .push((id.to_string(), info.updated));
                self.target(target, Ok(documents));
                Ok(info)
            }
            Err(e) => {
                self.target(target, Err(e));
                render::feed_info(self.store, self.config, id, count, self.created)
            }
        }
    }

    /// Gates, writes and keeps the documents of `target`; the target is done when every one
    /// of them is published or held back by the gate, and failed otherwise.
    fn target(&mut self, target: Target, documents: Result<Vec<Document>, RenderError>) {
        let documents = match documents {
            Ok(documents) => documents,
            Err(e) => {
                self.report.errors.push(PublishError::Render(Arc::new(e)));
                self.record.failed.push(target);
                return;
            }
        };
        let mut ok = true;
        for doc in documents {
            let verdict = gate::check(&doc, self.config).err();
            if let Some(reason) = &verdict {
                tracing::error!(
                    "{} not published, the last good one stays: {reason}",
                    doc.path
                );
            }
            let rejected = verdict.is_some();
            self.report.gate.insert(doc.path.clone(), verdict);
            if rejected {
                continue;
            }
            match self.write(&target, &doc) {
                Ok(()) => {}
                Err(e) => {
                    tracing::error!("{e}");
                    self.report.errors.push(e);
                    ok = false;
                }
            }
            // Served from memory even when the disk would not take it.
            (self.keep)(doc);
        }
        if ok {
            self.record.done.push(target);
        } else {
            self.record.failed.push(target);
        }
    }

    /// Writes `doc` to `output_dir` when its bytes changed, and notes what the file holds.
    fn write(&mut self, target: &Target, doc: &Document) -> Result<(), PublishError> {
        let path = self.out.join(&doc.path);
        let failed = |error| PublishError::Write {
            path: path.clone(),
            error: Arc::new(error),
        };
        let written = atomic::write_if_changed(&path, &doc.bytes).map_err(failed)?;
        let meta = std::fs::metadata(&path).map_err(failed)?;
        self.record.documents.push(PublishedDoc {
            path: doc.path.clone(),
            target: target.clone(),
            sha256: crate::text::hex(&Sha256::digest(&doc.bytes)),
            size: meta.len() as i64,
            mtime_ns: mtime_ns(&meta),
        });
        if written {
            self.report.written.push(path);
        } else {
            self.report.unchanged += 1;
        }
        Ok(())
    }

    /// Removes the files of documents that are no longer published (a feed with no items,
    /// a language dropped from the config) and forgets them; whether that worked.
    fn remove_stale(&mut self, expected: &HashSet<String>) -> Result<bool, StoreError> {
        let feeds = self.out.join("feeds");
        let keep: HashSet<PathBuf> = expected.iter().map(|p| self.out.join(p)).collect();
        let mut removed = true;
        // The topics' folder too: a topic taken out of the config leaves its files there.
        for dir in [
            feeds.clone(),
            feeds.join(TOPIC_PREFIX.trim_end_matches('/')),
        ] {
            match atomic::remove_stale(&dir, &keep, &["rss", "atom", "json", "html"]) {
                Ok(gone) => self.report.removed.extend(gone),
                Err(error) => {
                    let error = PublishError::RemoveStale {
                        dir,
                        error: Arc::new(error),
                    };
                    tracing::error!("{error}");
                    self.report.errors.push(error);
                    removed = false;
                }
            }
        }
        for doc in self.store.published_docs()? {
            if !expected.contains(&doc.path) {
                self.record.removed.push(doc.path);
            }
        }
        Ok(removed)
    }
}
