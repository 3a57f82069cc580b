//! `govfeeds serve`: build once, listen, then run each source on its own schedule and publish
//! what the runs change; reload the config on request; shut down promptly. systemd hears
//! about it through `sd_notify`.
//!
//! The process-facing parts (signals, systemd) are in [`main`]; [`run`] takes a listener and a
//! channel of [`Control`] messages so tests can drive it in-process.
//!
//! A generation is one config at work: an [`Engine`], a task per source and a publisher
//! task. Source runs only ingest; the publisher publishes what they committed, retries a
//! publish that left documents behind (after 1 s, doubling up to 30 s), and
//! every check interval ([`CHECK_INTERVAL`], or the most frequent source's interval) checks
//! that the published files are still what it wrote. A store
//! found damaged, deleted or replaced is opened again, as a new generation of the same config.
//! A stop request reaches every long step (fetches, ingests, publishes, compression), so the
//! process is gone within [`SHUTDOWN_GRACE`] of SIGTERM whatever it was doing.

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use crate::config::{Config, ConfigError, SourceConfig};
use crate::lock::{LockError, StateLock};
use crate::pipeline::{BuildError, Engine, Scope, SourceRun, Summary};
use crate::publish::Report;
use crate::render::Document;
use crate::schedule::{self, Backoff, Clock, RunOutcome};
use crate::serve::{self, AppState, KeptPage, Pages, Snapshot};
use crate::shutdown::Shutdown;
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
    /// Serving failed.
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

/// How long shutdown waits for in-flight runs and open connections, both at once.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The first delay of a source's backoff after a failure.
const BACKOFF_BASE: Duration = Duration::from_secs(60);

/// How often, at most, the publisher checks the published files and publishes what is
/// behind: every minute, or as often as the most frequent source runs (at most every second).
pub const CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// The first retry of a publish that left documents behind; it doubles up to [`RETRY_MAX`].
const RETRY_BASE: Duration = Duration::from_secs(1);

/// The longest wait between two retries of a publish that left documents behind (or the
/// check interval, when shorter).
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Runs the daemon on `config` (read from `config_path`, which reloads read again): a first
/// build, the listener, the schedules, until [`Control::Shutdown`]. Holds the state folder's
/// lock throughout.
pub async fn run(
    config: Config,
    config_path: PathBuf,
    listener: TcpListener,
    control: mpsc::Receiver<Control>,
) -> Result<(), DaemonError> {
    let lock = StateLock::acquire(&config.paths.state_dir)?;
    run_locked(config, config_path, listener, control, lock).await
}

/// What was asked of the daemon while it was busy.
#[derive(Debug, Default)]
struct Asked {
    reload: bool,
    shutdown: bool,
}

/// [`run`], with the state folder's lock already held.
async fn run_locked(
    config: Config,
    config_path: PathBuf,
    listener: TcpListener,
    mut control: mpsc::Receiver<Control>,
    lock: StateLock,
) -> Result<(), DaemonError> {
    let status = Arc::new(Status::default());
    let engine = Arc::new(Engine::open(config.clone())?);
    status.set_sources(source_health(&engine));
    let mut asked = Asked::default();
    let first = first_snapshot(&engine, &status, Arc::new(Snapshot::default()));
    let first = answering(first, &mut control, engine.stop_request(), &mut asked).await;
    if asked.shutdown {
        info!("stopped before serving");
        return Ok(());
    }
    let state = Arc::new(AppState::new(
        first?,
        Arc::clone(&status),
        max_age(engine.config()),
    ));
    let (reopen, mut reopen_requests) = mpsc::channel(1);
    let generation = Generation::start(engine, &state, reopen.clone());

    let server_stop = Shutdown::default();
    let server = tokio::spawn(serve::serve(listener, Arc::clone(&state), {
        let stop = server_stop.clone();
        async move { stop.triggered().await }
    }));
    info!(listen = %config.server.listen, "serving");
    notify(&[
        NotifyState::Ready,
        NotifyState::Status(&status_line(&state)),
    ]);
    let watchdog = sd_notify::watchdog_enabled().map(|period| tokio::spawn(watchdog(period)));

    let mut daemon = Daemon {
        generation: Some(generation),
        state,
        config,
        config_path,
        lock,
        reopen,
    };
    while !asked.shutdown {
        if std::mem::take(&mut asked.reload) {
            daemon.reload(&mut control, &mut asked).await;
            continue;
        }
        tokio::select! {
            message = control.recv() => match message {
                Some(Control::Reload) => asked.reload = true,
                Some(Control::Shutdown) | None => asked.shutdown = true,
            },
            Some(()) = reopen_requests.recv() => {
                daemon.reopen(&mut control, &mut asked).await;
                while reopen_requests.try_recv().is_ok() {}
            }
            () = tokio::time::sleep(CHECK_INTERVAL), if daemon.generation.is_none() => {
                daemon.reopen(&mut control, &mut asked).await;
            }
        }
    }
    info!("shutting down");
    notify(&[NotifyState::Stopping]);
    server_stop.trigger();
    let generation = daemon.generation.take();
    let runs = async {
        // The page readers go first, so the store closes cleanly.
        daemon.state.pages.store(None);
        if let Some(generation) = generation {
            generation.stop().await;
        }
    };
    let serving = async {
        match tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_millis(500), server).await {
            Ok(Err(e)) => error!("server task: {e}"),
            Err(_) => warn!("the server did not stop in time"),
            Ok(Ok(())) => {}
        }
    };
    tokio::join!(runs, serving);
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    info!("stopped");
    Ok(())
}

/// Awaits `work` while answering control messages: a shutdown triggers `stop` (which ends the
/// work early) and is remembered, as is a reload, for when the work is done.
async fn answering<T>(
    work: impl Future<Output = T>,
    control: &mut mpsc::Receiver<Control>,
    stop: &Shutdown,
    asked: &mut Asked,
) -> T {
    tokio::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => return out,
            message = control.recv(), if !asked.shutdown => match message {
                Some(Control::Reload) => asked.reload = true,
                Some(Control::Shutdown) | None => {
                    asked.shutdown = true;
                    stop.trigger();
                }
            },
        }
    }
}

/// Runs every source once and publishes every document: a generation's first snapshot,
/// built on `previous`. Source failures are logged, not fatal.
async fn first_snapshot(
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
                Some(f) => Err(f.message.clone()),
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

/// `previous` with `documents` compressed into it (only the `expected` paths, after a
/// complete publish), on a blocking thread.
async fn compress(
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

/// Pings systemd's watchdog twice per `period`, from a task of its own, so that a long build
/// after a reload does not look like a hang.
async fn watchdog(period: Duration) {
    let mut tick = tokio::time::interval(period / 2);
    loop {
        tick.tick().await;
        notify(&[NotifyState::Watchdog]);
    }
}

/// The running daemon: the config at work, its generation, and what it shares with the
/// server.
struct Daemon {
    state: Arc<AppState>,
    /// `None` while the store cannot be opened (retried every [`CHECK_INTERVAL`]).
    generation: Option<Generation>,
    config: Config,
    config_path: PathBuf,
    lock: StateLock,
    reopen: mpsc::Sender<()>,
}

impl Daemon {
    /// Re-reads the config: an invalid one is rejected and the current one keeps running. A
    /// valid one replaces it: the current generation stops, then the new one opens (one
    /// writer at a time); if it cannot open, the previous config is opened again.
    async fn reload(&mut self, control: &mut mpsc::Receiver<Control>, asked: &mut Asked) {
        let mut reloading = vec![NotifyState::Reloading];
        if let Ok(usec) = NotifyState::monotonic_usec_now() {
            reloading.push(usec);
        }
        notify(&reloading);
        let config = match Config::load(&self.config_path) {
            Ok(config) => config,
            Err(e) => {
                error!("reload rejected, keeping the running config: {e}");
                notify(&[
                    NotifyState::Ready,
                    NotifyState::Status(&format!("reload rejected: {e}")),
                ]);
                return;
            }
        };
        if config.server.listen != self.config.server.listen {
            warn!("server.listen changed; the new address takes effect after a restart");
        }
        let new_lock = if config.paths.state_dir == self.lock.dir() {
            None
        } else {
            match StateLock::acquire(&config.paths.state_dir) {
                Ok(lock) => Some(lock),
                Err(e) => {
                    error!("reload rejected, keeping the running config: {e}");
                    notify(&[NotifyState::Ready]);
                    return;
                }
            }
        };
        self.stop_generation().await;
        let previous = std::mem::replace(&mut self.config, config);
        let previous_lock = new_lock.map(|lock| std::mem::replace(&mut self.lock, lock));
        if !self.open(control, asked).await && !asked.shutdown {
            error!("the reloaded config could not be opened; going back to the previous one");
            self.config = previous;
            if let Some(lock) = previous_lock {
                self.lock = lock;
            }
            self.open(control, asked).await;
        } else {
            info!(config = %self.config_path.display(), "config reloaded");
        }
        notify(&[
            NotifyState::Ready,
            NotifyState::Status(&status_line(&self.state)),
        ]);
    }

    /// Opens the store again on the same config, after it was found damaged, deleted or
    /// replaced (or could not be opened).
    async fn reopen(&mut self, control: &mut mpsc::Receiver<Control>, asked: &mut Asked) {
        warn!("opening the item store again");
        self.stop_generation().await;
        self.open(control, asked).await;
        notify(&[NotifyState::Status(&status_line(&self.state))]);
    }

    /// Stops the current generation and lets go of its store: every connection is closed
    /// before another opens the file, so the old one's write-ahead log is checkpointed into
    /// the old file and removed, never replayed into a file put in its place.
    async fn stop_generation(&mut self) {
        self.state.pages.store(None);
        if let Some(generation) = self.generation.take() {
            generation.stop().await;
        }
    }

    /// Opens an engine on the current config, builds its first snapshot and starts its
    /// generation; whether the engine opened.
    async fn open(&mut self, control: &mut mpsc::Receiver<Control>, asked: &mut Asked) -> bool {
        let status = &self.state.status;
        let engine = match Engine::open(self.config.clone()) {
            Ok(engine) => Arc::new(engine),
            Err(e) => {
                error!("cannot open the item store: {e}");
                status.store_problem(Some(format!("store: {e}")));
                return false;
            }
        };
        status.store_problem(None);
        status.set_sources(source_health(&engine));
        self.state.set_max_age(max_age(engine.config()));
        let first = first_snapshot(&engine, status, self.state.snapshot.load_full());
        match answering(first, control, engine.stop_request(), asked).await {
            Ok(snapshot) => self.state.snapshot.store(Arc::new(snapshot)),
            Err(e) => {
                error!("first build failed: {e}");
                status.publish_failed(e.to_string(), 0.0);
                if e.needs_reopen() {
                    let _ = self.reopen.try_send(());
                }
            }
        }
        self.generation = Some(Generation::start(engine, &self.state, self.reopen.clone()));
        true
    }
}

/// The tasks of one config: one per source, and the publisher.
struct Generation {
    engine: Arc<Engine>,
    tasks: JoinSet<()>,
}

impl Generation {
    /// Starts the tasks, and serves item and archive pages from `engine`'s store.
    fn start(engine: Arc<Engine>, state: &Arc<AppState>, reopen: mpsc::Sender<()>) -> Generation {
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
    async fn stop(mut self) {
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

/// What wakes the publisher.
enum Wake {
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
async fn publish_loop(
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

/// The process entry point of `govfeeds serve`: locks the state, binds, wires signals, runs.
pub fn main(config_path: PathBuf) -> Result<(), DaemonError> {
    let config = Config::load(&config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // The lock first: a second process must say who holds the state, not that the port is
    // taken.
    let lock = StateLock::acquire(&config.paths.state_dir)?;
    let result = runtime.block_on(async {
        let addr = config.server.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| DaemonError::Bind { addr, source })?;
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(forward_signals(tx));
        run_locked(config, config_path, listener, rx, lock).await
    });
    // A blocking task still going (it has seen the stop request) is not waited for long.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
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
