//! What the daemon knows about itself, for `/healthz`, `/metrics` and systemd's `STATUS=`:
//! per-source outcomes, build counts and durations, and request counters.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// The state of one source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceHealth {
    /// The source's schedule interval (its shortest gap between runs).
    pub interval: Option<Duration>,
    /// When it last succeeded.
    pub last_success: Option<DateTime<Utc>>,
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
}

/// How many schedule intervals a source may go without success before it is unhealthy.
pub const HEALTH_INTERVALS: i32 = 3;

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

    /// Records one source run.
    pub fn source_ran(&self, name: &str, result: Result<u64, String>, at: DateTime<Utc>) {
        let mut inner = self.lock();
        let health = inner.sources.entry(name.to_string()).or_default();
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

    /// Records one build (render and publish) and how long the whole run took.
    pub fn build_ran(&self, result: Result<(), String>, seconds: f64) {
        self.builds.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.lock();
        inner.started = true;
        inner.last_build_seconds = seconds;
        inner.build_seconds_total += seconds;
        if let Err(e) = &result {
            self.build_failures.fetch_add(1, Ordering::Relaxed);
            inner.last_build_error = Some(e.clone());
        } else {
            inner.last_build_error = None;
        }
    }

    /// Records what the publish gate said of each document it checked: a rejected document
    /// stays a problem until a later version of it passes.
    pub fn gate_checked(&self, verdicts: &BTreeMap<String, Option<String>>) {
        let mut inner = self.lock();
        for (path, verdict) in verdicts {
            match verdict {
                Some(reason) => inner.rejected.insert(path.clone(), reason.clone()),
                None => inner.rejected.remove(path),
            };
        }
    }

    /// One line for systemd's `STATUS=`: how many sources are failing, the last build.
    pub fn summary_line(&self) -> String {
        let inner = self.lock();
        let failing = inner
            .sources
            .values()
            .filter(|h| h.consecutive_failures > 0)
            .count();
        let build = match &inner.last_build_error {
            Some(e) => format!("last build failed: {e}"),
            None => format!("last build took {:.2}s", inner.last_build_seconds),
        };
        format!(
            "{} sources, {failing} failing; {build}",
            inner.sources.len()
        )
    }

    /// `Ok` when the last build succeeded and every source succeeded within
    /// [`HEALTH_INTERVALS`] of its interval; otherwise the reasons.
    pub fn health(&self, now: DateTime<Utc>) -> Result<(), Vec<String>> {
        let inner = self.lock();
        let mut problems = Vec::new();
        if !inner.started {
            problems.push("no build has finished yet".to_string());
        }
        if let Some(e) = &inner.last_build_error {
            problems.push(format!("last build failed: {e}"));
        }
        for (path, reason) in &inner.rejected {
            problems.push(format!(
                "{path} held back by the publish gate (the last good version is served): {reason}"
            ));
        }
        for (name, h) in &inner.sources {
            let allowed = h.interval.unwrap_or(Duration::hours(1)) * HEALTH_INTERVALS;
            match h.last_success {
                Some(t) if now - t <= allowed => {}
                Some(t) => problems.push(format!(
                    "source {name}: no success since {} ({} failures; last error: {})",
                    t.to_rfc3339(),
                    h.consecutive_failures,
                    h.last_error.as_deref().unwrap_or("none")
                )),
                None => problems.push(format!(
                    "source {name}: never succeeded (last error: {})",
                    h.last_error.as_deref().unwrap_or("none")
                )),
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn metrics(&self) -> String {
        let inner = self.lock();
        let mut out = String::new();
        let per_source: [Metric; 3] = [
            (
                "source_last_success_timestamp_seconds",
                "gauge",
                "Unix time of the source's last successful run (0: never).",
                |h| h.last_success.map_or(0, |t| t.timestamp()).to_string(),
            ),
            (
                "source_consecutive_failures",
                "gauge",
                "Failed runs since the source's last success.",
                |h| h.consecutive_failures.to_string(),
            ),
            (
                "source_items_ingested_total",
                "counter",
                "Items the source added or updated since the daemon started.",
                |h| h.items_ingested.to_string(),
            ),
        ];
        for (name, kind, help, value) in per_source {
            family(&mut out, name, kind, help);
            for (source, h) in &inner.sources {
                let _ = writeln!(
                    out,
                    "govfeeds_{name}{{source=\"{}\"}} {}",
                    label(source),
                    value(h)
                );
            }
        }
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed).to_string();
        let totals = [
            (
                "builds_total",
                "counter",
                "Builds (render and publish) run.",
                load(&self.builds),
            ),
            (
                "build_failures_total",
                "counter",
                "Builds that failed.",
                load(&self.build_failures),
            ),
            (
                "build_duration_seconds_total",
                "counter",
                "Seconds spent in source runs and builds.",
                inner.build_seconds_total.to_string(),
            ),
            (
                "last_build_duration_seconds",
                "gauge",
                "Seconds the last source run and build took.",
                inner.last_build_seconds.to_string(),
            ),
            (
                "documents_served_total",
                "counter",
                "Documents served with a body.",
                load(&self.served),
            ),
            (
                "not_modified_total",
                "counter",
                "Conditional requests answered 304.",
                load(&self.not_modified),
            ),
        ];
        for (name, kind, help, value) in totals {
            family(&mut out, name, kind, help);
            let _ = writeln!(out, "govfeeds_{name} {value}");
        }
        out
    }
}

/// Name, type, help, and the value for one source.
type Metric = (
    &'static str,
    &'static str,
    &'static str,
    fn(&SourceHealth) -> String,
);

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(
        out,
        "# HELP govfeeds_{name} {help}\n# TYPE govfeeds_{name} {kind}"
    );
}

/// Escapes a Prometheus label value.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_held_back_by_the_gate_is_unhealthy_until_a_version_passes() {
        let status = Status::default();
        status.build_ran(Ok(()), 0.1);
        assert_eq!(status.health(Utc::now()), Ok(()));
        let path = "feeds/mfa.atom".to_string();
        status.gate_checked(&BTreeMap::from([(
            path.clone(),
            Some("no self link".into()),
        )]));
        let problems = status.health(Utc::now()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("feeds/mfa.atom held back"),
            "{problems:?}"
        );
        assert!(problems[0].ends_with("no self link"));
        // Other documents passing does not clear it; its own next version does.
        status.gate_checked(&BTreeMap::from([("feeds/all.atom".to_string(), None)]));
        assert!(status.health(Utc::now()).is_err());
        status.gate_checked(&BTreeMap::from([(path, None)]));
        assert_eq!(status.health(Utc::now()), Ok(()));
    }
}
