//! A stop request shared by everything that must end promptly when the daemon stops or
//! reloads: schedules and fetches wait on it, ingests and publishes check it between items and
//! documents (leaving the store as of its last commit), the server stops accepting.

use std::sync::Arc;

use tokio::sync::watch;

/// A stop request: cloned to every task, triggered once.
#[derive(Debug, Clone)]
pub struct Shutdown {
    sender: Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown {
            sender: Arc::new(watch::Sender::new(false)),
        }
    }
}

impl Shutdown {
    /// Asks everything holding this (or a clone) to stop.
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }

    /// Whether a stop was asked for: for loops on blocking threads.
    pub fn is_triggered(&self) -> bool {
        *self.sender.borrow()
    }

    /// Completes once a stop is asked for (at once if it already was).
    pub async fn triggered(&self) {
        let mut receiver = self.sender.subscribe();
        let _ = receiver.wait_for(|stop| *stop).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_clone_sees_the_trigger() {
        let shutdown = Shutdown::default();
        let clone = shutdown.clone();
        assert!(!clone.is_triggered());
        let waiter = tokio::spawn(async move { clone.triggered().await });
        shutdown.trigger();
        waiter.await.unwrap();
        assert!(shutdown.is_triggered());
        shutdown.triggered().await;
    }
}
