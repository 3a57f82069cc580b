//! The publisher task: publishes what source runs committed, retries what was left behind
//! (1 s, doubling to 30 s), and checks the published files every check interval.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;
use tokio::sync::{Notify, mpsc};
use tracing::{error, info, warn};

use super::CHECK_INTERVAL;
use super::process::{notify, status_line};
use crate::config::Config;
use crate::pipeline::{BuildError, Engine, Scope};
use crate::publish::Report;
use crate::render::Document;
use crate::serve::{AppState, KeptPage, Snapshot};
use crate::shutdown::Shutdown;

/// The first retry of a publish that left documents behind; it doubles up to [`RETRY_MAX`].
const RETRY_BASE: Duration = Duration::from_secs(1);

/// The longest wait between two retries of a publish that left documents behind (or the
/// check interval, when shorter).
const RETRY_MAX: Duration = Duration::from_secs(30);

/// What wakes the publisher.
pub(super) enum Wake {
    /// A run committed something.
    Nudged,
    /// Time to check the published files (and retry what is behind).
    Check,
    /// A full archive page to keep.
    Keep(KeptPage),
    /// The generation is stopping.
    Stop,
}

/// Publishes what source runs commit (when `nudge`d), retries what a publish leaves behind,
/// checks the published files every check interval and keeps the full archive pages the
/// server rendered, until the engine is stopped.
pub(super) async fn publish_loop(
    engine: Arc<Engine>,
    state: Arc<AppState>,
    nudge: Arc<Notify>,
    mut kept: mpsc::Receiver<KeptPage>,
    reopen: mpsc::Sender<()>,
) {
    let stop = engine.stop_request().clone();
    let check = check_interval(engine.config());
    // A first build that left documents behind is retried as soon as any failed publish.
    let mut failures = u32::from(state.status.documents_behind() > 0);
    let first = if failures > 0 { RETRY_BASE } else { check };
    let mut next_check = tokio::time::Instant::now() + first;
    loop {
        let wake = tokio::select! {
            () = nudge.notified() => Wake::Nudged,
            () = tokio::time::sleep_until(next_check) => Wake::Check,
            Some(page) = kept.recv() => Wake::Keep(page),
            () = stop.triggered() => Wake::Stop,
        };
        let verify = match wake {
            Wake::Nudged => false,
            Wake::Check => true,
            Wake::Keep(page) => {
                if let Err(e) = engine
                    .keep_archive(page.feed, page.page, page.bytes, page.modified)
                    .await
                {
                    warn!("keeping an archive page: {e}");
                }
                continue;
            }
            Wake::Stop => return,
        };
        let started = Instant::now();
        let seconds = || started.elapsed().as_secs_f64();
        let behind = match publish_once(&engine, &state, verify).await {
            Ok(report) if report.stopped => return,
            Ok(report) => {
                state.status.published(&report, seconds());
                report.behind.documents > 0
            }
            Err(e) => {
                error!("publish failed; the last good feeds stay: {e}");
                state.status.publish_failed(e.to_string(), seconds());
                if e.needs_reopen() {
                    let _ = reopen.try_send(());
                }
                true
            }
        };
        next_check = tokio::time::Instant::now()
            + if behind {
                failures = failures.saturating_add(1);
                RETRY_BASE
                    .saturating_mul(1 << failures.saturating_sub(1).min(16))
                    .min(RETRY_MAX.min(check))
            } else {
                failures = 0;
                check
            };
        notify(&[NotifyState::Status(&status_line(&state))]);
    }
}

/// One publish: checks the published files first when `verify`, publishes what is pending,
/// and swaps the documents into the server's snapshot.
async fn publish_once(
    engine: &Arc<Engine>,
    state: &AppState,
    verify: bool,
) -> Result<Report, BuildError> {
    if verify {
        let missing = engine.verify().await?;
        if missing > 0 {
            warn!("{missing} published file(s) missing or changed; publishing them again");
        }
    }
    let (report, documents) = engine.publish(Scope::Pending, true).await?;
    if !documents.is_empty() || report.expected.is_some() {
        let previous = state.snapshot.load_full();
        let expected = report.expected.clone();
        let stop = engine.stop_request().clone();
        let snapshot = compress(previous, documents, expected, stop).await?;
        state.snapshot.store(Arc::new(snapshot));
    }
    if !report.written.is_empty() || !report.removed.is_empty() {
        info!(
            written = report.written.len(),
            removed = report.removed.len(),
            behind = report.behind.documents,
            "published"
        );
    }
    Ok(report)
}

/// How often the publisher checks the published files: [`CHECK_INTERVAL`], or the shortest
/// source interval when shorter (not under a second).
fn check_interval(config: &Config) -> Duration {
    config
        .sources
        .iter()
        .filter_map(|s| s.schedule.interval(config.site.timezone)?.to_std().ok())
        .min()
        .map_or(CHECK_INTERVAL, |d| {
            d.clamp(Duration::from_secs(1), CHECK_INTERVAL)
        })
}

/// `previous` with `documents` compressed into it (only the `expected` paths, after a
/// complete publish), on a blocking thread.
pub(super) async fn compress(
    previous: Arc<Snapshot>,
    documents: Vec<Document>,
    expected: Option<HashSet<String>>,
    stop: Shutdown,
) -> Result<Snapshot, BuildError> {
    tokio::task::spawn_blocking(move || {
        let snapshot = previous.with(documents, &stop);
        match expected {
            Some(paths) => snapshot.retain(&paths),
            None => snapshot,
        }
    })
    .await
    .map_err(|e| BuildError::Task(e.to_string()))
}
