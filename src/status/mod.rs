//! What the daemon knows about itself, for `/healthz`, `/metrics` and systemd's `STATUS=`:
//! per-source outcomes, build counts and durations, and request counters.//!
//! `health.rs` decides what is unhealthy, `metrics.rs` writes the Prometheus exposition;
//! this file holds the state both read and the methods the daemon records events with.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc};

use crate::publish::{Behind, Report};

mod health;
mod metrics;

pub use self::health::{HEALTH_INTERVALS, STUCK_RUN};

/// The state of one source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceHealth {
    /// The source's schedule interval (its shortest gap between runs).
    pub interval: Option<Duration>,
    /// When its last successful run ended.
    pub last_success: Option<DateTime<Utc>>,
    /// How long its last run took.
    pub last_duration: Option<Duration>,
    /// When the run going now started.
    pub running_since: Option<DateTime<Utc>>,
    /// When its schedule began (the daemon's start or reload): a run is not overdue before.
    pub scheduled_since: Option<DateTime<Utc>>,
    /// Its last error, if the last run failed.
    pub last_error: Option<String>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Items it has ingested since the daemon started (new or updated).
    pub items_ingested: u64,
}

#[derive(Debug, Default)]
struct Inner {
    sources: BTreeMap<String, SourceHealth>,
    last_build_error: Option<String>,
    last_build_seconds: f64,
    build_seconds_total: f64,
    started: bool,
    /// Documents the publish gate is holding back, and why.
    rejected: BTreeMap<String, String>,
    /// What the last publish left unpublished, and its last error.
    behind: Option<(Behind, Option<String>)>,
    documents_behind: u64,
    /// Why the store cannot be used, until it is opened again.
    store_problem: Option<String>,
}

/// Shared, thread-safe status.
#[derive(Debug, Default)]
pub struct Status {
    inner: Mutex<Inner>,
    builds: AtomicU64,
    build_failures: AtomicU64,
    /// Documents served with a body (200).
    pub served: AtomicU64,
    /// Conditional requests answered with 304.
    pub not_modified: AtomicU64,
    /// Item and archive pages rendered (not answered from the cache).
    pub pages_rendered: AtomicU64,
    /// Requests for pages answered 503 because every read connection was busy.
    pub pages_busy: AtomicU64,
}

impl Status {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the set of sources (on start and reload), keeping what is known of the others.
    pub fn set_sources(
        &self,
        sources: impl IntoIterator<Item = (String, Option<Duration>, SourceHealth)>,
    ) {
        let mut inner = self.lock();
        let old = std::mem::take(&mut inner.sources);
        for (name, interval, persisted) in sources {
            let mut health = old.get(&name).cloned().unwrap_or(persisted);
            health.interval = interval;
            inner.sources.insert(name, health);
        }
    }

    /// Records that every source's schedule began at `at`: until then, no run was due.
    pub fn schedules_started(&self, at: DateTime<Utc>) {
        for health in self.lock().sources.values_mut() {
            health.scheduled_since = Some(at);
        }
    }

    /// Records that a run of source `name` started at `at`.
    pub fn source_started(&self, name: &str, at: DateTime<Utc>) {
        let mut inner = self.lock();
        inner
            .sources
            .entry(name.to_string())
            .or_default()
            .running_since = Some(at);
    }

    /// Records one source run, which ended at `at` after `took`.
    pub fn source_ran(
        &self,
        name: &str,
        result: Result<u64, String>,
        at: DateTime<Utc>,
        took: Duration,
    ) {
        let mut inner = self.lock();
        let health = inner.sources.entry(name.to_string()).or_default();
        health.running_since = None;
        health.last_duration = Some(took);
        match result {
            Ok(items) => {
                health.last_success = Some(at);
                health.last_error = None;
                health.consecutive_failures = 0;
                health.items_ingested += items;
            }
            Err(e) => {
                health.last_error = Some(e);
                health.consecutive_failures += 1;
            }
        }
    }

    /// Records one publish that ran, and how long it took: what the gate said, and what is
    /// still behind.
    pub fn published(&self, report: &Report, seconds: f64) {
        if !report.is_idle() {
            self.builds.fetch_add(1, Ordering::Relaxed);
        }
        let mut inner = self.lock();
        inner.started = true;
        inner.last_build_seconds = seconds;
        inner.build_seconds_total += seconds;
        inner.last_build_error = None;
        for (path, verdict) in &report.gate {
            match verdict {
                Some(reason) => inner.rejected.insert(path.clone(), reason.to_string()),
                None => inner.rejected.remove(path),
            };
        }
        inner.documents_behind = report.behind.documents as u64;
        inner.behind = if report.behind.documents > 0 {
            self.build_failures.fetch_add(1, Ordering::Relaxed);
            let last_error = report
                .errors
                .last()
                .map(ToString::to_string)
                .or_else(|| inner.behind.as_ref().and_then(|(_, e)| e.clone()));
            Some((report.behind.clone(), last_error))
        } else {
            None
        };
    }

    /// Records a publish that could not run (the store failed).
    pub fn publish_failed(&self, error: String, seconds: f64) {
        self.builds.fetch_add(1, Ordering::Relaxed);
        self.build_failures.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.lock();
        inner.started = true;
        inner.last_build_seconds = seconds;
        inner.build_seconds_total += seconds;
        inner.last_build_error = Some(error);
    }

    /// Documents the last publish left behind.
    pub fn documents_behind(&self) -> u64 {
        self.lock().documents_behind
    }

    /// Records that the store cannot be used (`Some`), or can again (`None`).
    pub fn store_problem(&self, problem: Option<String>) {
        self.lock().store_problem = problem;
    }

    /// One line for systemd's `STATUS=`: how many sources are failing, the last build.
    pub fn summary_line(&self) -> String {
        let inner = self.lock();
        let failing = inner
            .sources
            .values()
            .filter(|h| h.consecutive_failures > 0)
            .count();
        let build = match (&inner.store_problem, &inner.last_build_error, &inner.behind) {
            (Some(problem), _, _) => problem.clone(),
            (None, Some(e), _) => format!("last publish failed: {e}"),
            (None, None, Some((behind, _))) => {
                format!(
                    "{} document(s) not published yet, retrying",
                    behind.documents
                )
            }
            (None, None, None) => format!("last publish took {:.2}s", inner.last_build_seconds),
        };
        format!(
            "{} sources, {failing} failing; {build}",
            inner.sources.len()
        )
    }
}
