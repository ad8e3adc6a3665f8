//! APM on the server: the intake of spans and stats from agents ([`intake`]), what span
//! search terms mean ([`search`]), latency percentiles from stats sketches ([`sketch`]), the
//! query API ([`api`]), and pruning spans and stats past their retention.

pub mod api;
pub mod intake;
pub mod search;
pub mod sketch;

use std::sync::Arc;
use std::time::Duration;

use dogwatch_store::Store;

/// How long spans and APM stats are kept by default: 3 days.
pub const DEFAULT_TRACE_RETENTION: Duration = Duration::from_secs(3 * 24 * 3600);
/// How often old spans and stats are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Deletes spans and stats older than `retention` every 10 minutes, forever.
pub async fn prune_forever(store: Arc<dyn Store>, retention: Duration) {
    let mut every = tokio::time::interval(PRUNE_EVERY);
    loop {
        every.tick().await;
        let cutoff_ns = (crate::keys::now_ms() - retention.as_millis() as i64).saturating_mul(1_000_000);
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.prune_apm(cutoff_ns)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(rows)) => tracing::info!(rows, "Deleted spans and APM stats past their retention."),
            Ok(Err(e)) => tracing::error!(error = %e, "Could not delete old spans and APM stats."),
            Err(e) => tracing::error!(error = %e, "The span pruning task failed."),
        }
    }
}
