//! What a build did: counts of items and files, problems, and what publishing wrote.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::SourceFailure;
use crate::gate::Rejection;
use crate::publish::{Behind, PublishError, Report};

/// What a build did, for the summary and for tests.
#[derive(Debug, Default, Clone)]
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
    pub failed: Vec<(String, Arc<SourceFailure>)>,
    /// What the publish gate said of each document it checked (by path under `output_dir`):
    /// `None` when it passed, else why it was not published.
    pub gate: BTreeMap<String, Option<Rejection>>,
    /// What failed while publishing (the documents stay pending and are published later).
    pub publish_errors: Vec<PublishError>,
    /// What is still not published after the build.
    pub behind: Behind,
    /// Items in the store after the build.
    pub total: u64,
}

impl Summary {
    /// The documents the publish gate kept from being published, and why.
    pub fn rejected(&self) -> impl Iterator<Item = (&String, &Rejection)> {
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
