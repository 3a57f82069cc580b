//! What the daemon knows about itself, for `/healthz`, `/metrics` and systemd's `STATUS=`:
//! per-source outcomes, build counts and durations, and request counters.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc};

use crate::publish::{Behind, Report};

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

/// How many schedule intervals a source may go without success before it is unhealthy.
pub const HEALTH_INTERVALS: i32 = 3;

/// How long a run may go on before it counts as stuck (when that is longer than
/// [`HEALTH_INTERVALS`] periods): a run that became slower than its schedule is not a fault.
pub const STUCK_RUN: Duration = Duration::minutes(15);

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
                .cloned()
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

    /// `Ok` when the store is usable, the last publish left nothing behind and every source
    /// is healthy; otherwise the reasons.
    ///
    /// A source whose runs succeed is healthy as long as it runs: at most
    /// [`HEALTH_INTERVALS`] periods pass between the end of one run and the start of the next,
    /// a period being its schedule's interval or, when longer, its last run's duration; and no
    /// run goes on longer than that or [`STUCK_RUN`], whichever is longer. A failing source is
    /// unhealthy once its last success is [`HEALTH_INTERVALS`] periods old.
    pub fn health(&self, now: DateTime<Utc>) -> Result<(), Vec<String>> {
        let inner = self.lock();
        let mut problems = Vec::new();
        if let Some(problem) = &inner.store_problem {
            problems.push(problem.clone());
        }
        if !inner.started {
            problems.push("no build has finished yet".to_string());
        }
        if let Some(e) = &inner.last_build_error {
            problems.push(format!("last publish failed: {e}"));
        }
        if let Some((behind, error)) = &inner.behind {
            let since = behind
                .since
                .map(|t| {
                    format!(
                        " since {}",
                        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    )
                })
                .unwrap_or_default();
            problems.push(format!(
                "not converged: {} document(s) behind{since}, retrying; last error: {}",
                behind.documents,
                error.as_deref().unwrap_or("none")
            ));
        }
        for (path, reason) in &inner.rejected {
            problems.push(format!(
                "{path} held back by the publish gate (the last good version is served): {reason}"
            ));
        }
        for (name, h) in &inner.sources {
            if let Some(problem) = source_problem(name, h, now) {
                problems.push(problem);
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
                "documents_behind",
                "gauge",
                "Documents not yet published after the last publish (retried until 0).",
                inner.documents_behind.to_string(),
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
            (
                "pages_rendered_total",
                "counter",
                "Item and archive pages rendered from the store (not from the cache).",
                load(&self.pages_rendered),
            ),
            (
                "pages_busy_total",
                "counter",
                "Page requests answered 503 because every store connection was busy.",
                load(&self.pages_busy),
            ),
        ];
        for (name, kind, help, value) in totals {
            family(&mut out, name, kind, help);
            let _ = writeln!(out, "govfeeds_{name} {value}");
        }
        out
    }
}

/// What is wrong with a source at `now`, if anything (see [`Status::health`]).
fn source_problem(name: &str, h: &SourceHealth, now: DateTime<Utc>) -> Option<String> {
    let interval = h.interval.unwrap_or(Duration::hours(1));
    let period = h.last_duration.map_or(interval, |d| d.max(interval));
    let allowed = period * HEALTH_INTERVALS;
    let ago = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let Some(success) = h.last_success else {
        return match (&h.last_error, h.running_since) {
            (Some(e), _) => Some(format!(
                "source {name}: never succeeded ({} failed run(s); last error: {e})",
                h.consecutive_failures
            )),
            (None, Some(_)) => None,
            (None, None) => Some(format!("source {name}: has not run yet")),
        };
    };
    if let Some(error) = &h.last_error {
        return (now - success > allowed).then(|| {
            format!(
                "source {name}: failing; {} failed run(s) since its last success at {}; last \
                 error: {error}",
                h.consecutive_failures,
                ago(success)
            )
        });
    }
    match h.running_since {
        Some(start) => (now - start > allowed.max(STUCK_RUN)).then(|| {
            format!(
                "source {name}: its run started at {} is still going after {}s",
                ago(start),
                (now - start).num_seconds(),
            )
        }),
        None => (now - success.max(h.scheduled_since.unwrap_or(success)) > allowed).then(|| {
            format!(
                "source {name}: no run since {} (expected every {}s)",
                ago(success),
                interval.num_seconds()
            )
        }),
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
    use crate::gate::Rejection;

    fn report(gate: &[(&str, Option<Rejection>)]) -> Report {
        Report {
            gate: gate
                .iter()
                .map(|(p, v)| (p.to_string(), v.clone()))
                .collect(),
            ..Report::default()
        }
    }

    #[test]
    fn a_document_held_back_by_the_gate_is_unhealthy_until_a_version_passes() {
        let status = Status::default();
        status.published(&report(&[]), 0.1);
        assert_eq!(status.health(Utc::now()), Ok(()));
        status.published(
            &report(&[("feeds/mfa.atom", Some(Rejection::NoSelfLink))]),
            0.1,
        );
        let problems = status.health(Utc::now()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("feeds/mfa.atom held back"),
            "{problems:?}"
        );
        assert!(problems[0].ends_with("no self link"));
        // Other documents passing does not clear it; its own next version does.
        status.published(&report(&[("feeds/all.atom", None)]), 0.1);
        assert!(status.health(Utc::now()).is_err());
        status.published(&report(&[("feeds/mfa.atom", None)]), 0.1);
        assert_eq!(status.health(Utc::now()), Ok(()));
    }

    #[test]
    fn documents_behind_are_unhealthy_until_a_publish_catches_up() {
        let status = Status::default();
        let since = Utc::now();
        let mut behind = report(&[]);
        behind.behind = Behind {
            documents: 7,
            since: Some(since),
        };
        behind.errors = vec!["feeds/mfa.rss: No space left on device".into()];
        status.published(&behind, 0.1);
        let problems = status.health(Utc::now()).unwrap_err();
        assert!(
            problems[0].starts_with("not converged: 7 document(s) behind since ")
                && problems[0].ends_with("last error: feeds/mfa.rss: No space left on device"),
            "{problems:?}"
        );
        // A retry that fails without a new error keeps the last one.
        behind.errors.clear();
        status.published(&behind, 0.1);
        assert!(status.health(Utc::now()).unwrap_err()[0].contains("No space left"));
        status.published(&report(&[]), 0.1);
        assert_eq!(status.health(Utc::now()), Ok(()));
    }

    /// The first run at start-up, then a first publish that takes longer than three periods:
    /// no run was due before the schedule began.
    #[test]
    fn a_run_is_overdue_only_after_the_schedule_began() {
        let status = Status::default();
        status.published(&report(&[]), 0.1);
        status.set_sources([(
            "fast".to_string(),
            Some(Duration::seconds(1)),
            SourceHealth::default(),
        )]);
        let start = Utc::now();
        status.source_started("fast", start);
        status.source_ran("fast", Ok(20), start, Duration::milliseconds(100));
        status.schedules_started(start + Duration::seconds(5));
        assert_eq!(status.health(start + Duration::seconds(7)), Ok(()));
        let problems = status.health(start + Duration::seconds(9)).unwrap_err();
        assert!(problems[0].contains("no run since"), "{problems:?}");
    }

    /// A source on a 1 s schedule whose runs all succeed and take 5 s each.
    #[test]
    fn a_source_slower_than_its_schedule_stays_healthy_while_it_succeeds() {
        let status = Status::default();
        status.published(&report(&[]), 0.1);
        status.set_sources([(
            "slow".to_string(),
            Some(Duration::seconds(1)),
            SourceHealth::default(),
        )]);
        let mut now = Utc::now();
        for _ in 0..10 {
            status.source_started("slow", now);
            for step in 0..5 {
                assert_eq!(
                    status.health(now + Duration::seconds(step)),
                    Ok(()),
                    "during a run"
                );
            }
            now += Duration::seconds(5);
            status.source_ran("slow", Ok(0), now, Duration::seconds(5));
            assert_eq!(status.health(now), Ok(()), "after a run");
        }
        // Stalled: no run for more than 3 periods of 5 s.
        let problems = status.health(now + Duration::seconds(16)).unwrap_err();
        assert!(
            problems[0].starts_with("source slow: no run since"),
            "{problems:?}"
        );
        // A run that goes on and on: stuck after 15 minutes.
        status.source_started("slow", now);
        assert_eq!(status.health(now + Duration::minutes(14)), Ok(()));
        let problems = status.health(now + Duration::minutes(16)).unwrap_err();
        assert!(problems[0].contains("still going after"), "{problems:?}");
        // A failure after a success: unhealthy only once the success is 3 periods old.
        status.source_ran("slow", Err("boom".into()), now, Duration::seconds(5));
        assert_eq!(status.health(now + Duration::seconds(10)), Ok(()));
        let problems = status.health(now + Duration::seconds(16)).unwrap_err();
        assert!(
            problems[0].contains("failing; 1 failed run(s)") && problems[0].ends_with("boom"),
            "{problems:?}"
        );
    }
}
