//! Storage for the dogwatch server.
//!
//! This crate owns what the server keeps: API keys, host records, service check runs and
//! metric points, and the ids of payloads already applied (so a retried payload is stored
//! once). [`Store`] is the trait every backend implements, with coarse typed operations —
//! never SQL strings — so that a ClickHouse backend can implement the same trait;
//! [`SqliteStore`] is the embedded backend used by `dogwatch up`.
//!
//! It must not depend on HTTP, tokio or the agent: callers run its blocking operations on
//! a blocking thread.

mod error;
mod sqlite;

pub use error::StoreError;
pub use sqlite::SqliteStore;

use dogwatch_model::{CheckRun, HostMetadata, Series};
use serde::Serialize;

/// A batch of records from one intake request, applied all or nothing.
#[derive(Debug, Clone)]
pub struct IntakeBatch {
    /// The forwarder's payload id; a batch whose id was already applied is skipped.
    pub payload_id: Option<String>,
    /// When the server received it, in Unix milliseconds.
    pub received_at_ms: i64,
    /// The records.
    pub records: Records,
}

/// The records of one intake request.
#[derive(Debug, Clone)]
pub enum Records {
    /// From `/api/v1/series`.
    Series(Vec<Series>),
    /// From `/api/v1/check_run`.
    CheckRuns(Vec<CheckRun>),
    /// From `/intake/`.
    HostMetadata(HostMetadata),
}

/// Whether a batch was stored or had been stored before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Stored now.
    Stored,
    /// Its payload id was applied before; nothing was written.
    Duplicate,
}

/// An API key that may send data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    /// The key itself.
    pub key: String,
    /// Where it came from, e.g. `generated` or `DD_API_KEY`.
    pub name: String,
    /// When it was added, in Unix milliseconds.
    pub created_at_ms: i64,
}

/// A host known from its agent's metadata or heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostRecord {
    /// The agent's hostname.
    pub hostname: String,
    /// The agent's version, from its last metadata.
    pub agent_version: String,
    /// The OS, from its last metadata.
    pub os: String,
    /// Host tags, from its last metadata.
    pub tags: Vec<String>,
    /// What decided the hostname.
    pub hostname_provider: String,
    /// When anything was first received from it, in Unix milliseconds.
    pub first_seen_ms: i64,
    /// When anything was last received from it, in Unix milliseconds.
    pub last_seen_ms: i64,
}

/// A stored service check run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredCheckRun {
    /// The run as received; `timestamp` filled with the receive time when it was absent.
    pub run: CheckRun,
    /// When the server received it, in Unix milliseconds.
    pub received_at_ms: i64,
}

/// Which service check runs to read.
#[derive(Debug, Clone, Default)]
pub struct CheckRunQuery {
    /// Only this check name.
    pub check: Option<String>,
    /// Only this host.
    pub host: Option<String>,
    /// At most this many, oldest first (all when `None`).
    pub limit: Option<usize>,
}

/// Which metric points to read.
#[derive(Debug, Clone, Default)]
pub struct MetricPointQuery {
    /// The metric name.
    pub metric: String,
    /// Only this host.
    pub host: Option<String>,
    /// From this Unix second, inclusive.
    pub from: Option<f64>,
    /// To this Unix second, inclusive.
    pub to: Option<f64>,
}

/// A stored metric point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricPoint {
    /// The host, if any.
    pub host: Option<String>,
    /// The series' tags.
    pub tags: Vec<String>,
    /// Unix seconds.
    pub timestamp: f64,
    /// The value.
    pub value: f64,
}

/// A storage backend.
pub trait Store: Send + Sync + 'static {
    /// Applies a batch atomically, at most once per payload id.
    fn ingest(&self, batch: IntakeBatch) -> Result<Applied, StoreError>;
    /// Every API key.
    fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError>;
    /// Adds an API key; adding a key that exists does nothing.
    fn add_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    /// Every known host, by name.
    fn hosts(&self) -> Result<Vec<HostRecord>, StoreError>;
    /// Service check runs in the order they were received.
    fn check_runs(&self, query: &CheckRunQuery) -> Result<Vec<StoredCheckRun>, StoreError>;
    /// Points of one metric, by time.
    fn metric_points(&self, query: &MetricPointQuery) -> Result<Vec<MetricPoint>, StoreError>;
    /// Makes everything written so far durable; called at shutdown.
    fn flush(&self) -> Result<(), StoreError>;
}
