//! A shutdown signal that many tasks can wait on.

use tokio::sync::watch;

/// Triggers shutdown for every [`Shutdown`] made from it.
#[derive(Debug, Clone)]
pub struct ShutdownTrigger(watch::Sender<bool>);

/// Tells a task when to stop.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// A connected trigger and signal.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl ShutdownTrigger {
    /// Signals every task waiting on this trigger's [`Shutdown`]s.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    /// A new signal connected to this trigger.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown(self.0.subscribe())
    }
}

impl Shutdown {
    /// Whether shutdown has been signalled.
    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until shutdown is signalled (at once if it already was).
    pub async fn wait(&mut self) {
        // An error means every trigger is gone: nobody can ask any more, so stop too.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}
