//! Metrics, events and service checks on the server: intake of sketches and events
//! ([`intake`]; series and check runs go through the shared intake), the query language's
//! evaluation ([`query`]) with distributions merged by bin ([`distribution`]), the read
//! routes ([`api`]), and metric metadata and volumes ([`metadata`]).

pub mod api;
pub mod distribution;
pub mod intake;
pub mod metadata;
pub mod query;

/// How long metric points, sketches, events and service check runs are kept when
/// `--metric-retention` is not given: 15 days.
pub const DEFAULT_METRIC_RETENTION: std::time::Duration = std::time::Duration::from_secs(15 * 86_400);

/// Prunes metrics, events and service checks older than `cutoff_ms`.
pub fn prune(store: &dyn dogwatch_store::Store, cutoff_ms: i64) -> Result<u64, dogwatch_store::StoreError> {
    store.prune_metrics(cutoff_ms.div_euclid(1000))
}
