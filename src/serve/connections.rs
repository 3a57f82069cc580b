//! The server's connections under pressure. Each open connection is counted, so shutdown can
//! wait for them; when `accept` fails for want of file descriptors, keep-alive connections
//! are shed (an idle one closes at once, a busy one after its response) to make room for new
//! clients; and `accept` errors are backed off and logged at most every ten seconds, with a
//! count, instead of ten times a second.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tracing::{info, warn};

/// Counts open connections and tells them when to shed.
#[derive(Debug)]
pub struct Tracker {
    shed: watch::Sender<u64>,
    open: AtomicUsize,
    closed: Notify,
}

impl Tracker {
    /// A tracker with no connection.
    pub fn new() -> Arc<Tracker> {
        Arc::new(Tracker {
            shed: watch::Sender::new(0),
            open: AtomicUsize::new(0),
            closed: Notify::new(),
        })
    }

    /// Counts a new connection until the returned guard is dropped.
    pub fn open(self: &Arc<Self>) -> Guard {
        self.open.fetch_add(1, Ordering::AcqRel);
        Guard {
            shed: self.shed.subscribe(),
            tracker: Arc::clone(self),
        }
    }

    /// Asks every open connection to close once it is idle.
    pub fn shed(&self) {
        self.shed.send_modify(|n| *n += 1);
    }

    /// Connections open now.
    pub fn count(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Waits until every connection has closed, or `limit` passed; whether they all did.
    pub async fn drained(&self, limit: Duration) -> bool {
        let all = async {
            while self.count() > 0 {
                let closed = self.closed.notified();
                if self.count() == 0 {
                    break;
                }
                closed.await;
            }
        };
        tokio::time::timeout(limit, all).await.is_ok()
    }
}

/// One open connection, counted while it lives.
#[derive(Debug)]
pub struct Guard {
    shed: watch::Receiver<u64>,
    tracker: Arc<Tracker>,
}

impl Guard {
    /// Completes when connections are asked to shed.
    pub async fn shed(&mut self) {
        if self.shed.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.tracker.open.fetch_sub(1, Ordering::AcqRel);
        self.tracker.closed.notify_waiters();
    }
}

/// How often, at most, failures to accept are logged.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// The longest wait between two attempts to accept after a failure.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Failures to accept in a row: how long to wait, and what to log.
#[derive(Debug, Default)]
pub struct AcceptErrors {
    in_a_row: u32,
    unlogged: u64,
    logged: Option<Instant>,
}

impl AcceptErrors {
    /// Notes a failure; how long to wait before accepting again (10 ms, doubling up to 1 s),
    /// and whether it is for want of file descriptors (time to shed connections).
    pub fn failed(&mut self, error: &io::Error, open: usize) -> (Duration, bool) {
        self.in_a_row = self.in_a_row.saturating_add(1);
        self.unlogged += 1;
        // EMFILE and ENFILE: the process's or the system's table of open files is full.
        let out_of_files = matches!(error.raw_os_error(), Some(23 | 24));
        if self.logged.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
            let shedding = if out_of_files {
                "; shedding keep-alive connections"
            } else {
                ""
            };
            warn!(
                open_connections = open,
                "cannot accept connections: {error} ({} time(s) since the last report){shedding}",
                self.unlogged
            );
            self.unlogged = 0;
            self.logged = Some(Instant::now());
        }
        let wait = Duration::from_millis(10)
            .saturating_mul(1 << self.in_a_row.saturating_sub(1).min(10))
            .min(MAX_BACKOFF);
        (wait, out_of_files)
    }

    /// Notes a connection accepted: the failures, if any, are over.
    pub fn accepted(&mut self) {
        if self.in_a_row > 0 {
            info!(
                "accepting connections again after {} failure(s)",
                self.in_a_row
            );
            *self = AcceptErrors::default();
        }
    }
}
