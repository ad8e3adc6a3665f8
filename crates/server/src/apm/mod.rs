//! APM on the server: the intake of spans and stats from agents ([`intake`]), what span
//! search terms mean ([`search`]), latency percentiles from stats sketches ([`sketch`]), the
//! query API ([`api`]), Datadog's span search and aggregation POSTs ([`public`]), and the
//! retention of spans and stats.

pub mod api;
pub mod intake;
pub mod public;
pub mod search;
pub mod sketch;

use std::time::Duration;

/// How long spans and APM stats are kept by default: 3 days.
pub const DEFAULT_TRACE_RETENTION: Duration = Duration::from_secs(3 * 24 * 3600);

/// Deletes spans and stats older than `cutoff_ms` (the store keeps their times in ns).
pub fn prune(store: &dyn dogwatch_store::Store, cutoff_ms: i64) -> Result<u64, dogwatch_store::StoreError> {
    store.prune_apm(cutoff_ms.saturating_mul(1_000_000))
}
