//! `govfeeds serve`: build once, listen, then run each source on its own schedule; reload the
//! config on request; shut down cleanly. systemd hears about it through `sd_notify`.
//!
//! The process-facing parts (signals, systemd) are in [`main`]; [`run`] takes a listener and a
//! channel of [`Control`] messages so tests can drive it in-process.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use crate::build::{BuildError, Engine, Published, Summary};
use crate::config::{Config, ConfigError};
use crate::lock::{LockError, StateLock};
use crate::render::Scope;
use crate::schedule::{self, Backoff, Clock, RunOutcome};
use crate::serve::{self, AppState, Pages, Snapshot};
use crate::status::{SourceHealth, Status};

/// What the process asks of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Re-read the config file (SIGHUP).
    Reload,
    /// Stop (SIGTERM, SIGINT).
    Shutdown,
}

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The config is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The first build could not run.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The store could not be opened for the item and archive pages.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Listening or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Another process holds the state folder.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr} ([server] listen): {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// How long shutdown waits for in-flight runs before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// The first delay of the backoff after a failure.
const BACKOFF_BASE: Duration = Duration::from_secs(60);

/// Runs the daemon on `config` (read from `config_path`, which reloads read again): a first
/// build, the listener, the schedules, until [`Control::Shutdown`].
pub async fn run(
    config: Config,
    config_path: PathBuf,
    listener: TcpListener,
    control: mpsc::Receiver<Control>,
) -> Result<(), DaemonError> {
    let lock = StateLock::acquire(&config.paths.state_dir)?;
    run_locked(config, config_path, listener, control, lock).await
}

/// [`run`], with the state folder's lock already held.
async fn run_locked(
    config: Config,
    config_path: PathBuf,
    listener: TcpListener,
    mut control: mpsc::Receiver<Control>,
    mut lock: StateLock,
) -> Result<(), DaemonError> {
    let status = Arc::new(Status::default());
    let engine = Arc::new(Engine::open(config)?);
    status.set_sources(source_health(&engine));
    let documents = first_build(&engine, &status).await?;
    let snapshot = compress(documents, Arc::new(Snapshot::default())).await?;
    let state = Arc::new(AppState::new(
        snapshot,
        Arc::clone(&status),
        max_age(engine.config()),
    ));
    state
        .pages
        .store(Some(Arc::new(Pages::open(engine.config().clone())?)));

    let (stop_server, mut server_stopped) = watch::channel(false);
    let server = tokio::spawn(serve::serve(listener, Arc::clone(&state), async move {
        let _ = server_stopped.wait_for(|s| *s).await;
    }));
    info!(listen = %engine.config().server.listen, "serving");
    notify(&[
        NotifyState::Ready,
        NotifyState::Status(&status_line(&state)),
    ]);

    let mut generation = Generation::start(Arc::clone(&engine), Arc::clone(&state));
    let watchdog = sd_notify::watchdog_enabled();
    let mut watchdog_tick =
        tokio::time::interval(watchdog.map_or(Duration::from_secs(3600), |d| d / 2));
    loop {
        tokio::select! {
            message = control.recv() => match message {
                Some(Control::Reload) => {
                    generation = reload(&config_path, generation, &state, &mut lock).await;
                }
                Some(Control::Shutdown) | None => break,
            },
            _ = watchdog_tick.tick(), if watchdog.is_some() => notify(&[NotifyState::Watchdog]),
        }
    }
    info!("shutting down");
    notify(&[NotifyState::Stopping]);
    let _ = stop_server.send(true);
    generation.stop().await;
    if let Err(e) = server.await {
        error!("server task: {e}");
    }
    info!("stopped");
    Ok(())
}

/// Runs every source once and publishes; source failures are logged, not fatal.
async fn first_build(engine: &Arc<Engine>, status: &Status) -> Result<Published, DaemonError> {
    let started = Instant::now();
    let mut summary = Summary::default();
    for source in &engine.config().sources {
        let run = engine.run_source(source).await?;
        let result = match &run.failure {
            None => Ok(run.summary.changes() as u64),
            Some(f) => Err(f.message.clone()),
        };
        status.source_ran(&source.name, result, chrono::Utc::now());
        summary.add(run.summary);
    }
    let (published, documents) = engine.publish(Scope::All, true).await?;
    status.gate_checked(&published.gate);
    summary.add(published);
    status.build_ran(Ok(()), started.elapsed().as_secs_f64());
    log_summary(&summary);
    Ok(documents)
}

fn log_summary(summary: &Summary) {
    for line in summary.to_string().lines() {
        info!("{line}");
    }
}

/// Compresses the documents into a snapshot on a blocking thread: the published documents
/// replace `previous` when they are complete, or update it.
async fn compress(published: Published, previous: Arc<Snapshot>) -> Result<Snapshot, BuildError> {
    tokio::task::spawn_blocking(move || {
        Snapshot::new(published.documents, &previous, published.complete)
    })
    .await
    .map_err(|e| BuildError::Task(e.to_string()))
}

/// What the status knows of each source at start: its interval and its persisted state.
fn source_health(engine: &Engine) -> Vec<(String, Option<chrono::Duration>, SourceHealth)> {
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

fn max_age(config: &Config) -> i64 {
    config
        .sources
        .iter()
        .filter_map(|s| s.schedule.interval(config.site.timezone))
        .min()
        .map_or(300, |d| d.num_seconds())
}

fn status_line(state: &AppState) -> String {
    let snapshot = state.snapshot.load();
    format!(
        "serving {} documents; {}",
        snapshot.len(),
        state.status.summary_line()
    )
}

fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        warn!("sd_notify: {e}");
    }
}

/// Re-reads the config. An invalid one is rejected and the current one keeps running, as is
/// one whose new state folder another process holds.
async fn reload(
    path: &Path,
    current: Generation,
    state: &Arc<AppState>,
    lock: &mut StateLock,
) -> Generation {
    let mut reloading = vec![NotifyState::Reloading];
    if let Ok(usec) = NotifyState::monotonic_usec_now() {
        reloading.push(usec);
    }
    notify(&reloading);
    let new = match Config::load(path)
        .map_err(DaemonError::from)
        .and_then(|config| {
            if config.server.listen != current.engine.config().server.listen {
                warn!("server.listen changed; the new address takes effect after a restart");
            }
            let moved = (config.paths.state_dir != lock.dir())
                .then(|| StateLock::acquire(&config.paths.state_dir))
                .transpose()?;
            Ok((Engine::open(config)?, moved))
        }) {
        Ok((engine, moved)) => {
            if let Some(moved) = moved {
                *lock = moved;
            }
            Arc::new(engine)
        }
        Err(e) => {
            error!("reload rejected, keeping the running config: {e}");
            notify(&[
                NotifyState::Ready,
                NotifyState::Status(&format!("reload rejected: {e}")),
            ]);
            return current;
        }
    };
    current.stop().await;
    state.status.set_sources(source_health(&new));
    state.set_max_age(max_age(new.config()));
    match Pages::open(new.config().clone()) {
        Ok(pages) => state.pages.store(Some(Arc::new(pages))),
        Err(e) => error!("after reload, item and archive pages stay on the old config: {e}"),
    }
    match first_build(&new, &state.status).await {
        Ok(documents) => match compress(documents, state.snapshot.load_full()).await {
            Ok(snapshot) => state.snapshot.store(Arc::new(snapshot)),
            Err(e) => error!("after reload: {e}"),
        },
        Err(e) => {
            error!("build after reload failed: {e}");
            state.status.build_ran(Err(e.to_string()), 0.0);
        }
    }
    info!(config = %path.display(), "config reloaded");
    notify(&[NotifyState::Ready, NotifyState::Status(&status_line(state))]);
    Generation::start(new, Arc::clone(state))
}

/// The schedule tasks of one config: one per source.
struct Generation {
    engine: Arc<Engine>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Generation {
    fn start(engine: Arc<Engine>, state: Arc<AppState>) -> Generation {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let clock = Clock::start();
        let backoff = Backoff {
            base: BACKOFF_BASE,
            max: engine.config().fetch.max_backoff,
        };
        for source in engine.config().sources.clone() {
            let engine = Arc::clone(&engine);
            let state = Arc::clone(&state);
            let stopped = stopped.clone();
            let tz = engine.config().site.timezone;
            let cron = source.schedule.clone();
            tasks.spawn(schedule::run_on_schedule(
                cron,
                tz,
                clock,
                backoff,
                stopped.clone(),
                move || {
                    let engine = Arc::clone(&engine);
                    let state = Arc::clone(&state);
                    let source = source.clone();
                    let mut stopped = stopped.clone();
                    async move {
                        let started = Instant::now();
                        // Fetching may be abandoned on shutdown; ingesting and publishing may not.
                        let prepared = tokio::select! {
                            p = engine.prepare(&source) => p,
                            _ = stopped.wait_for(|s| *s) => return RunOutcome::default(),
                        };
                        run_and_publish(&engine, &state, &source, prepared, started).await
                    }
                },
            ));
        }
        Generation {
            engine,
            stop,
            tasks,
        }
    }

    /// Stops the schedules and waits for in-flight runs (at most [`SHUTDOWN_GRACE`]).
    async fn stop(mut self) {
        let _ = self.stop.send(true);
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(SHUTDOWN_GRACE, all).await.is_err() {
            warn!("in-flight runs did not finish in {SHUTDOWN_GRACE:?}; abandoning them");
        }
    }
}

/// Ingests a prepared source, publishes if anything changed, and swaps in the new snapshot.
async fn run_and_publish(
    engine: &Arc<Engine>,
    state: &Arc<AppState>,
    source: &crate::config::SourceConfig,
    prepared: crate::build::Prepared,
    started: Instant,
) -> RunOutcome {
    let run = match engine.ingest(source, prepared).await {
        Ok(run) => run,
        Err(e) => {
            error!(source = %source.name, "run failed: {e}");
            state
                .status
                .source_ran(&source.name, Err(e.to_string()), chrono::Utc::now());
            state
                .status
                .build_ran(Err(e.to_string()), started.elapsed().as_secs_f64());
            return RunOutcome {
                failed: true,
                retry_after: None,
            };
        }
    };
    let changed = run.summary.changes() as u64;
    let result = match &run.failure {
        None => Ok(changed),
        Some(f) => Err(f.message.clone()),
    };
    state
        .status
        .source_ran(&source.name, result, chrono::Utc::now());
    if !run.summary.changed_feeds.is_empty() {
        let scope = run.summary.scope();
        let published = match engine.publish(scope, true).await {
            Ok((summary, documents)) => compress(documents, state.snapshot.load_full())
                .await
                .map(|snapshot| (summary, snapshot)),
            Err(e) => Err(e),
        };
        match published {
            Ok((summary, snapshot)) => {
                state.status.gate_checked(&summary.gate);
                state.snapshot.store(Arc::new(snapshot));
                state
                    .status
                    .build_ran(Ok(()), started.elapsed().as_secs_f64());
                info!(
                    source = %source.name,
                    new = run.summary.new,
                    updated = run.summary.updated,
                    written = summary.written.len(),
                    "published"
                );
            }
            Err(e) => {
                error!(source = %source.name, "publish failed; the last good feeds stay: {e}");
                state
                    .status
                    .build_ran(Err(e.to_string()), started.elapsed().as_secs_f64());
            }
        }
    }
    notify(&[NotifyState::Status(&status_line(state))]);
    RunOutcome {
        failed: run.failure.is_some(),
        retry_after: run.failure.and_then(|f| f.retry_after),
    }
}

/// The process entry point of `govfeeds serve`: binds, wires signals, runs.
pub fn main(config_path: PathBuf) -> Result<(), DaemonError> {
    let config = Config::load(&config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // The lock first: a second process must say who holds the state, not that the port is
    // taken.
    let lock = StateLock::acquire(&config.paths.state_dir)?;
    runtime.block_on(async {
        let addr = config.server.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| DaemonError::Bind { addr, source })?;
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(forward_signals(tx));
        run_locked(config, config_path, listener, rx, lock).await
    })
}

async fn forward_signals(tx: mpsc::Sender<Control>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        error!("cannot install signal handlers");
        return;
    };
    loop {
        let message = tokio::select! {
            _ = hup.recv() => Control::Reload,
            _ = term.recv() => Control::Shutdown,
            _ = int.recv() => Control::Shutdown,
        };
        if tx.send(message).await.is_err() {
            return;
        }
    }
}
