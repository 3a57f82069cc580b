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

mod generation;
mod process;
mod publisher;

pub use self::process::main;

use self::generation::{Generation, first_snapshot, source_health};
use self::process::{notify, status_line, watchdog};

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::config::{Config, ConfigError};
use crate::lock::{LockError, StateLock};
use crate::pipeline::{BuildError, Engine};
use crate::serve::{self, AppState, Snapshot};
use crate::shutdown::Shutdown;
use crate::status::Status;

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
    /// The async runtime could not be started (threads, file descriptors).
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
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

/// How often, at most, the publisher checks the published files and publishes what is
/// behind: every minute, or as often as the most frequent source runs (at most every second).
pub const CHECK_INTERVAL: Duration = Duration::from_secs(60);

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
    daemon
        .answer(&mut control, &mut reopen_requests, &mut asked)
        .await;
    daemon.shut_down(server, server_stop).await;
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

fn max_age(config: &Config) -> i64 {
    config
        .sources
        .iter()
        .filter_map(|s| s.schedule.interval(config.site.timezone))
        .min()
        .map_or(300, |d| d.num_seconds())
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
    /// Answers control messages and requests to reopen the store until a shutdown is asked.
    async fn answer(
        &mut self,
        control: &mut mpsc::Receiver<Control>,
        reopen_requests: &mut mpsc::Receiver<()>,
        asked: &mut Asked,
    ) {
        while !asked.shutdown {
            if std::mem::take(&mut asked.reload) {
                self.reload(control, asked).await;
                continue;
            }
            tokio::select! {
                message = control.recv() => match message {
                    Some(Control::Reload) => asked.reload = true,
                    Some(Control::Shutdown) | None => asked.shutdown = true,
                },
                Some(()) = reopen_requests.recv() => {
                    self.reopen(control, asked).await;
                    while reopen_requests.try_recv().is_ok() {}
                }
                () = tokio::time::sleep(CHECK_INTERVAL), if self.generation.is_none() => {
                    self.reopen(control, asked).await;
                }
            }
        }
    }

    /// Stops serving and the generation's runs together, each within its grace period.
    async fn shut_down(&mut self, server: tokio::task::JoinHandle<()>, server_stop: Shutdown) {
        info!("shutting down");
        notify(&[NotifyState::Stopping]);
        server_stop.trigger();
        let generation = self.generation.take();
        let runs = async {
            // The page readers go first, so the store closes cleanly.
            self.state.pages.store(None);
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
    }

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
