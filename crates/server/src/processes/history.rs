//! Process history: every host's runs, sampled at most once per [`HISTORY_STEP_MS`] into the
//! store for a process's charts, and pruned past the retention.
//!
//! Agents in real-time mode send a run every 2 s; storing each would multiply the history
//! five times for charts that show minutes to hours, so a host's run is recorded only when
//! its previous recorded run is at least a step older. Samples are timed by the server's
//! clock (when the run arrived), so an agent with a wrong clock still charts correctly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dogwatch_store::{ProcessHistoryBatch, Store};

use crate::processes::live::Snapshot;

/// The shortest time between two recorded runs of one host: the agent's standard interval.
pub const HISTORY_STEP_MS: i64 = 10_000;

/// How long process history is kept unless configured: 36 hours, as Datadog keeps live
/// process data.
pub const DEFAULT_PROCESS_RETENTION: Duration = Duration::from_secs(36 * 3600);

/// Decides which runs to record.
#[derive(Debug, Default)]
pub struct ProcessHistory {
    last_recorded_ms: Mutex<HashMap<String, i64>>,
}

impl ProcessHistory {
    /// Whether `snapshot` should be recorded; if so, it counts as recorded.
    pub fn take(&self, snapshot: &Snapshot) -> bool {
        let mut last = self.last_recorded_ms.lock().expect("history lock");
        let at = snapshot.received_at_ms;
        match last.get(&snapshot.host.hostname) {
            Some(&previous) if at >= previous && at - previous < HISTORY_STEP_MS => false,
            _ => {
                last.insert(snapshot.host.hostname.clone(), at);
                true
            }
        }
    }

    /// Records `snapshot` in `store` if it is due; errors are logged, never returned: the
    /// run is already in the live state, and history is for charts.
    pub async fn record(&self, store: &Arc<dyn Store>, snapshot: Arc<Snapshot>) {
        if !self.take(&snapshot) {
            return;
        }
        let store = store.clone();
        let host = snapshot.host.hostname.clone();
        let written = tokio::task::spawn_blocking(move || {
            store.write_process_history(&ProcessHistoryBatch {
                host: snapshot.host.hostname.clone(),
                ts_ms: snapshot.received_at_ms,
                processes: snapshot.processes.clone(),
            })
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(host, error = %e, "Could not record process history."),
            Err(e) => tracing::error!(host, error = %e, "The process history task failed."),
        }
    }
}
