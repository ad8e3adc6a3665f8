//! The retention loop every kind of history shares: every 10 minutes, delete what is older
//! than its retention, on the blocking pool, logging what went.

use std::sync::Arc;
use std::time::Duration;

use dogwatch_store::{Store, StoreError};

/// How often data past its retention is deleted.
pub const PRUNE_EVERY: Duration = Duration::from_secs(10 * 60);

/// Calls `prune(store, cutoff_ms)` now and every [`PRUNE_EVERY`] until the task is dropped,
/// with the cutoff `retention` before now; `what` names the data in the logs.
pub async fn prune_forever(
    store: Arc<dyn Store>,
    retention: Duration,
    what: &'static str,
    prune: fn(&dyn Store, i64) -> Result<u64, StoreError>,
) {
    let mut every = tokio::time::interval(PRUNE_EVERY);
    loop {
        every.tick().await;
        let cutoff_ms = crate::now_ms() - retention.as_millis() as i64;
        let store = store.clone();
        match tokio::task::spawn_blocking(move || prune(store.as_ref(), cutoff_ms)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(rows)) => tracing::info!(rows, "Deleted {what} past its retention."),
            Ok(Err(e)) => tracing::error!(error = %e, "Could not delete old {what}."),
            Err(e) => tracing::error!(error = %e, "Pruning {what} failed."),
        }
    }
}
