//! A generation: one config at work — its engine, a task per source on its schedule, and
//! the publisher; started on a first snapshot, stopped before the next one opens.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use super::SHUTDOWN_GRACE;
use super::process::{notify, status_line};
use super::publisher::{compress, publish_loop};
use crate::config::SourceConfig;
use crate::pipeline::{BuildError, Engine, Scope, SourceRun, Summary};
use crate::schedule::{self, Backoff, Clock, RunOutcome};
use crate::serve::{AppState, Pages, Snapshot};
use crate::status::{SourceHealth, Status};

/// The first delay of a source's backoff after a failure.
const BACKOFF_BASE: Duration = Duration::from_secs(60);

/// The tasks of one config: one per source, and the publisher.
pub(super) struct Generation {
    engine: Arc<Engine>,
    tasks: JoinSet<()>,
}

impl Generation {
    /// Starts the tasks, and serves item and archive pages from `engine`'s store.
    pub(super) fn start(
        engine: Arc<Engine>,
        state: &Arc<AppState>,
        reopen: mpsc::Sender<()>,
    ) -> Generation {
        let mut tasks = JoinSet::new();
        let nudge = Arc::new(Notify::new());
        let (keep, kept) = mpsc::channel(64);
        let status = Arc::clone(&state.status);
        match Pages::open(engine.config().clone(), engine.version(), keep, status) {
            Ok(pages) => state.pages.store(Some(Arc::new(pages))),
            Err(e) => error!("item and archive pages cannot be served: {e}"),
        }
        tasks.spawn(publish_loop(
            Arc::clone(&engine),
            Arc::clone(state),
            Arc::clone(&nudge),
            kept,
            reopen.clone(),
        ));
        let clock = Clock::start();
        let backoff = Backoff {
            base: BACKOFF_BASE,
            max: engine.config().fetch.max_backoff,
        };
        for source in engine.config().sources.clone() {
            let job = {
                let (engine, state, nudge, reopen) = (
                    Arc::clone(&engine),
                    Arc::clone(state),
                    Arc::clone(&nudge),
                    reopen.clone(),
                );
                let source = source.clone();
                move || {
                    let (engine, state, nudge, reopen, source) = (
                        Arc::clone(&engine),
                        Arc::clone(&state),
                        Arc::clone(&nudge),
                        reopen.clone(),
                        source.clone(),
                    );
                    async move {
                        match run_source(&engine, &state.status, &source).await {
                            Ok(run) => {
                                if run.committed {
                                    nudge.notify_one();
                                }
                                notify(&[NotifyState::Status(&status_line(&state))]);
                                RunOutcome {
                                    failed: run.failure.is_some(),
                                    retry_after: run.failure.and_then(|f| f.retry_after),
                                }
                            }
                            Err(e) => {
                                error!(source = %source.name, "run failed: {e}");
                                if e.needs_reopen() {
                                    let _ = reopen.try_send(());
                                }
                                RunOutcome {
                                    failed: true,
                                    retry_after: None,
                                }
                            }
                        }
                    }
                }
            };
            tasks.spawn(schedule::run_on_schedule(
                source.schedule.clone(),
                engine.config().site.timezone,
                clock,
                backoff,
                engine.stop_request().clone(),
                job,
            ));
        }
        state.status.schedules_started(chrono::Utc::now());
        Generation { engine, tasks }
    }

    /// Asks runs and the publisher to stop, waits for them (at most [`SHUTDOWN_GRACE`]) and
    /// closes the store.
    pub(super) async fn stop(mut self) {
        self.engine.stop_request().trigger();
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(SHUTDOWN_GRACE, all).await.is_err() {
            warn!("in-flight runs did not finish in {SHUTDOWN_GRACE:?}; abandoning them");
            self.tasks.abort_all();
        }
        if let Ok(engine) = Arc::try_unwrap(self.engine)
            && let Err(e) = engine.close()
        {
            warn!("closing the item store: {e}");
        }
    }
}

/// Runs every source once and publishes every document: a generation's first snapshot,
/// built on `previous`. Source failures are logged, not fatal.
pub(super) async fn first_snapshot(
    engine: &Arc<Engine>,
    status: &Status,
    previous: Arc<Snapshot>,
) -> Result<Snapshot, BuildError> {
    let started = Instant::now();
    let mut summary = Summary::default();
    for source in &engine.config().sources {
        let run = run_source(engine, status, source).await?;
        summary.add(run.summary);
    }
    let (report, documents) = engine.publish(Scope::Everything, true).await?;
    status.published(&report, started.elapsed().as_secs_f64());
    let expected = report.expected.clone();
    summary.add_publish(report);
    log_summary(&summary);
    compress(previous, documents, expected, engine.stop_request().clone()).await
}

/// Runs one source and tells the status how it went.
async fn run_source(
    engine: &Arc<Engine>,
    status: &Status,
    source: &SourceConfig,
) -> Result<SourceRun, BuildError> {
    let started = Instant::now();
    status.source_started(&source.name, chrono::Utc::now());
    let took = || chrono::Duration::from_std(started.elapsed()).unwrap_or(chrono::Duration::MAX);
    match engine.run_source(source).await {
        Ok(run) => {
            let result = match &run.failure {
                None => Ok(run.summary.changes() as u64),
                Some(f) => Err(f.to_string()),
            };
            if !run.stopped {
                status.source_ran(&source.name, result, chrono::Utc::now(), took());
            }
            Ok(run)
        }
        Err(e) => {
            status.source_ran(&source.name, Err(e.to_string()), chrono::Utc::now(), took());
            Err(e)
        }
    }
}

fn log_summary(summary: &Summary) {
    for line in summary.to_string().lines() {
        info!("{line}");
    }
}

/// What the status knows of each source at start: its interval and its persisted state.
pub(super) fn source_health(
    engine: &Engine,
) -> Vec<(String, Option<chrono::Duration>, SourceHealth)> {
    let config = engine.config();
    config
        .sources
        .iter()
        .map(|s| {
            let persisted = engine.source_state(&s.name).unwrap_or_default();
            let health = SourceHealth {
                last_success: persisted.last_success,
                last_error: persisted.last_error,
                consecutive_failures: persisted.consecutive_failures,
                ..SourceHealth::default()
            };
            (
                s.name.clone(),
                s.schedule.interval(config.site.timezone),
                health,
            )
        })
        .collect()
}
