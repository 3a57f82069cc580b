//! The process around the daemon: the entry point that locks the state and binds, signals
//! turned into [`Control`] messages, and systemd's `sd_notify` (status, watchdog).

use std::path::PathBuf;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tracing::{error, warn};

use super::{Control, DaemonError, run_locked};
use crate::config::Config;
use crate::lock::StateLock;
use crate::serve::AppState;

pub(super) fn status_line(state: &AppState) -> String {
    let snapshot = state.snapshot.load();
    format!(
        "serving {} documents; {}",
        snapshot.len(),
        state.status.summary_line()
    )
}

pub(super) fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        warn!("sd_notify: {e}");
    }
}

/// Pings systemd's watchdog twice per `period`, from a task of its own, so that a long build
/// after a reload does not look like a hang.
pub(super) async fn watchdog(period: Duration) {
    let mut tick = tokio::time::interval(period / 2);
    loop {
        tick.tick().await;
        notify(&[NotifyState::Watchdog]);
    }
}

/// The process entry point of `govfeeds serve`: locks the state, binds, wires signals, runs.
pub fn main(config_path: PathBuf) -> Result<(), DaemonError> {
    let config = Config::load(&config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(DaemonError::Runtime)?;
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
