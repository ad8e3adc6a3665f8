//! The forwarder's counters, shown by `dogwatch status`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Counters of what the forwarder did since the agent started.
#[derive(Debug, Default)]
pub struct ForwarderStats {
    submitted: AtomicU64,
    success: AtomicU64,
    retried: AtomicU64,
    dropped_rejected: AtomicU64,
    dropped_disk_full: AtomicU64,
    dropped_memory_full: AtomicU64,
    dropped_corrupt: AtomicU64,
    disk_errors: AtomicU64,
    dropped_live: AtomicU64,
    by_endpoint: Mutex<BTreeMap<String, u64>>,
    http_errors: Mutex<BTreeMap<u16, u64>>,
    transport_errors: Mutex<BTreeMap<String, u64>>,
}

/// A copy of [`ForwarderStats`] at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ForwarderCounts {
    /// Payloads handed to the forwarder.
    pub submitted: u64,
    /// Payloads the server accepted.
    pub success: u64,
    /// Failed attempts that were retried later.
    pub retried: u64,
    /// Payloads the server refused (400, 403, 404, 413); not retried.
    pub dropped_rejected: u64,
    /// Payloads deleted because the disk buffer was full.
    pub dropped_disk_full: u64,
    /// Payloads dropped because memory was full and the disk buffer is off or failing.
    pub dropped_memory_full: u64,
    /// Disk buffer files that could not be read back.
    pub dropped_corrupt: u64,
    /// Disk buffer reads, writes or deletes that failed (the payloads stayed in memory
    /// unless counted as dropped).
    pub disk_errors: u64,
    /// Live payloads (process snapshots) that could not be delivered. They are not
    /// retried: the next collection run replaces them.
    pub dropped_live: u64,
    /// Successes per intake endpoint.
    pub success_by_endpoint: BTreeMap<String, u64>,
    /// Failed responses per HTTP status code.
    pub http_errors: BTreeMap<u16, u64>,
    /// Failed requests with no response, per kind (connection, timeout, ...).
    pub transport_errors: BTreeMap<String, u64>,
}

impl ForwarderCounts {
    /// Every payload given up for any reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_rejected
            + self.dropped_disk_full
            + self.dropped_memory_full
            + self.dropped_corrupt
            + self.dropped_live
    }
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    *map.lock().expect("stats lock").entry(key).or_default() += 1;
}

impl ForwarderStats {
    pub(crate) fn submitted(&self) {
        self.submitted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn success(&self, endpoint: &str) {
        self.success.fetch_add(1, Ordering::Relaxed);
        bump(&self.by_endpoint, endpoint.to_string());
    }

    pub(crate) fn http_error(&self, code: u16, retried: bool) {
        bump(&self.http_errors, code);
        if retried {
            self.retried.fetch_add(1, Ordering::Relaxed);
        } else {
            self.dropped_rejected.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn transport_error(&self, kind: &str) {
        bump(&self.transport_errors, kind.to_string());
        self.retried.fetch_add(1, Ordering::Relaxed);
    }

    /// A live payload that got an error status; it is dropped, not retried.
    pub(crate) fn live_http_error(&self, code: u16) {
        bump(&self.http_errors, code);
        self.dropped_live.fetch_add(1, Ordering::Relaxed);
    }

    /// A live payload that got no answer; it is dropped, not retried.
    pub(crate) fn live_transport_error(&self, kind: &str) {
        bump(&self.transport_errors, kind.to_string());
        self.dropped_live.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn lost(&self, losses: &super::queue::Losses) {
        self.dropped_disk_full.fetch_add(losses.disk_full, Ordering::Relaxed);
        self.dropped_memory_full
            .fetch_add(losses.memory_full, Ordering::Relaxed);
        self.dropped_corrupt.fetch_add(losses.unreadable, Ordering::Relaxed);
        self.disk_errors
            .fetch_add(losses.disk_errors.len() as u64, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> ForwarderCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ForwarderCounts {
            submitted: get(&self.submitted),
            success: get(&self.success),
            retried: get(&self.retried),
            dropped_rejected: get(&self.dropped_rejected),
            dropped_disk_full: get(&self.dropped_disk_full),
            dropped_memory_full: get(&self.dropped_memory_full),
            dropped_corrupt: get(&self.dropped_corrupt),
            disk_errors: get(&self.disk_errors),
            dropped_live: get(&self.dropped_live),
            success_by_endpoint: self.by_endpoint.lock().expect("stats lock").clone(),
            http_errors: self.http_errors.lock().expect("stats lock").clone(),
            transport_errors: self.transport_errors.lock().expect("stats lock").clone(),
        }
    }
}
