//! `/metrics`: the Prometheus text exposition of the daemon's status.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Inner, SourceHealth, Status};

impl Status {
    /// The Prometheus text exposition of every metric.
    pub fn metrics(&self) -> String {
        let inner = self.lock();
        let mut out = String::new();
        per_source(&mut out, &inner.sources);
        self.totals(&mut out, &inner);
        out
    }

    /// The daemon-wide counters and gauges.
    fn totals(&self, out: &mut String, inner: &Inner) {
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
            family(out, name, kind, help);
            let _ = writeln!(out, "govfeeds_{name} {value}");
        }
    }
}

/// One family per source metric, one sample per source.
fn per_source(out: &mut String, sources: &BTreeMap<String, SourceHealth>) {
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
        family(out, name, kind, help);
        for (source, h) in sources {
            let _ = writeln!(
                out,
                "govfeeds_{name}{{source=\"{}\"}} {}",
                label(source),
                value(h)
            );
        }
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
