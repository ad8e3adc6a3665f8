//! Storage for the dogwatch server.
//!
//! This crate owns what the server keeps: API keys, host records, service check runs and
//! metric contexts with their points and distribution sketches, events, the ids of payloads already applied (so a retried payload is stored
//! once), and process history (each process life seen on a host, with a sample of its
//! metrics per collection run), APM spans and stats ([`apm`]), and the views users save in the web UI. [`Store`] is the trait every backend
//! implements, with coarse typed operations — never SQL strings — so that a ClickHouse backend can implement the
//! same trait;
//! [`SqliteStore`] is the embedded backend used by `dogwatch up`.
//!
//! It must not depend on HTTP, tokio or the agent: callers run its blocking operations on
//! a blocking thread.

pub mod annotations;
pub mod apm;
pub mod auth;
mod downsample;
mod error;
pub mod metrics;
mod sqlite;
mod sqlite_annotations;
mod sqlite_apm;
mod sqlite_auth;
mod sqlite_metrics;

pub use annotations::{DEFAULT_TAG_SOURCE, MetricMetadata, TagWrite, UserHostTag};
pub use apm::{SpanCursor, SpanRow, SpanScan, StatsQuery, StatsRow};
pub use auth::{ApiKey, AppKey, NewUser, Role, User, UserChange};
pub use error::StoreError;
pub use metrics::{
    CheckSummary, EventQuery, MetricContext, MetricNameQuery, MetricSummary, SketchPoint, SketchSeries, StoredEvent,
    StoredKind,
};
pub use sqlite::SqliteStore;

use dogwatch_model::{CheckRun, Event, HostMetadata, ProcessRecord, Series};
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
    /// Distribution sketches from `/api/beta/sketches`.
    Sketches(Vec<SketchSeries>),
    /// Events from `/api/v1/events`.
    Events(Vec<Event>),
    /// From `/api/v1/check_run`.
    CheckRuns(Vec<CheckRun>),
    /// From `/intake/`.
    HostMetadata(HostMetadata),
    /// Spans from `/api/v0.2/traces`.
    Spans(Vec<SpanRow>),
    /// APM stats from `/api/v0.2/stats`.
    ApmStats(Vec<StatsRow>),
}

/// Whether a batch was stored or had been stored before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Stored now.
    Stored,
    /// Its payload id was applied before; nothing was written.
    Duplicate,
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
    /// Its agent's check instances and their status, from its last `agent_checks` metadata.
    pub checks: Vec<dogwatch_model::AgentCheck>,
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

/// One host's process collection run, to record in the process history.
#[derive(Debug, Clone)]
pub struct ProcessHistoryBatch {
    /// The agent's hostname.
    pub host: String,
    /// When the run was collected, in Unix milliseconds; the time of every sample in it.
    pub ts_ms: i64,
    /// Every process the run reported.
    pub processes: Vec<ProcessRecord>,
}

/// Identifies one process life: a pid on a host from the time it was created. A pid reused
/// by a later process is a different life because its `create_time_ms` differs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ProcessKey {
    /// The agent's hostname.
    pub host: String,
    /// The process id.
    pub pid: i32,
    /// When the process started, in Unix milliseconds.
    pub create_time_ms: i64,
}

/// One process's metrics as of one collection run (or the average over a bucket of runs,
/// see [`ProcessSampleQuery::max_points`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessSample {
    /// When the run was collected (or the bucket starts), in Unix milliseconds.
    pub ts_ms: i64,
    /// User plus system CPU, in percent of one core.
    pub cpu_total_pct: f32,
    /// User-mode CPU, in percent of one core.
    pub cpu_user_pct: f32,
    /// Kernel CPU, in percent of one core.
    pub cpu_system_pct: f32,
    /// Resident memory in bytes.
    pub rss: u64,
    /// Virtual memory in bytes.
    pub vms: u64,
    /// Number of threads.
    pub threads: i32,
    /// Open file descriptors, or -1 when unreadable.
    pub open_fds: i32,
    /// Bytes read from storage per second, or -1 when unreadable.
    pub io_read_bytes_rate: f32,
    /// Bytes written to storage per second, or -1 when unreadable.
    pub io_write_bytes_rate: f32,
    /// Read system calls per second, or -1 when unreadable.
    pub io_read_ops_rate: f32,
    /// Write system calls per second, or -1 when unreadable.
    pub io_write_ops_rate: f32,
}

/// Which samples of one process life to read.
#[derive(Debug, Clone)]
pub struct ProcessSampleQuery {
    /// The process life.
    pub key: ProcessKey,
    /// From this Unix millisecond, inclusive.
    pub from_ms: i64,
    /// To this Unix millisecond, inclusive.
    pub to_ms: i64,
    /// At most this many points (every sample when `None`).
    ///
    /// When there are more samples than `n` in the window, the span from the first to the
    /// last of them is cut into `n` equal time buckets and the samples in each bucket are
    /// averaged into one point, whose `ts_ms` is the bucket's start; empty buckets give no
    /// point. Integer fields are averaged and rounded to the nearest integer. For the
    /// fields that may be unreadable (`open_fds` and the four IO rates) only the readable
    /// (non-negative) values are averaged, and the point keeps -1 when every sample in the
    /// bucket was unreadable. `Some(0)` returns no points.
    pub max_points: Option<usize>,
}

/// One process life as last recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeenProcess {
    /// The process life.
    pub key: ProcessKey,
    /// The last record written for it (the one from the latest run), with that run's
    /// metric values.
    pub record: ProcessRecord,
    /// When a run first reported it, in Unix milliseconds.
    pub first_seen_ms: i64,
    /// When a run last reported it, in Unix milliseconds.
    pub last_seen_ms: i64,
}

/// Which process lives to read: those seen at some time in a window.
#[derive(Debug, Clone)]
pub struct SeenProcessQuery {
    /// From this Unix millisecond, inclusive: lives last seen before it are left out.
    pub from_ms: i64,
    /// To this Unix millisecond, inclusive: lives first seen after it are left out.
    pub to_ms: i64,
    /// Only this host (every host when `None`).
    pub host: Option<String>,
    /// Only this pid (every pid when `None`).
    pub pid: Option<i32>,
    /// At most this many, in order (all when `None`).
    pub limit: Option<usize>,
}

/// A view of a web UI page saved under a name: what the page shows (query, columns, grouping,
/// visualization, …), shared by every user of the server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SavedView {
    /// The view's id; ids are never reused, even after a delete.
    pub id: i64,
    /// The page it belongs to, e.g. `processes`.
    pub page: String,
    /// Its name, unique on its page ignoring ASCII case.
    pub name: String,
    /// What the page restores, as the UI gave it: a JSON object.
    pub state: serde_json::Value,
    /// When it was created, in Unix milliseconds.
    pub created_ms: i64,
    /// When it was last renamed or given a new state, in Unix milliseconds.
    pub updated_ms: i64,
}

/// A view to save (see [`Store::create_saved_view`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewSavedView {
    /// The page it belongs to.
    pub page: String,
    /// Its name; a name taken on the page (ignoring ASCII case) is refused.
    pub name: String,
    /// What the page restores: a JSON object (the caller checks that it is one).
    pub state: serde_json::Value,
}

/// A change to a saved view (see [`Store::update_saved_view`]); `None` keeps what is there.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SavedViewChange {
    /// A new name; a name taken by another view of the page (ignoring ASCII case) is refused.
    pub name: Option<String>,
    /// A new state, replacing the old one whole.
    pub state: Option<serde_json::Value>,
}

/// A storage backend.
pub trait Store: Send + Sync + 'static {
    /// Applies a batch atomically, at most once per payload id.
    fn ingest(&self, batch: IntakeBatch) -> Result<Applied, StoreError>;
    /// Every API key, oldest first.
    fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError>;
    /// Adds an API key; adding one whose id or hash exists does nothing.
    fn add_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    /// Renames an API key; false when there is none with this id.
    fn rename_api_key(&self, id: &str, name: &str) -> Result<bool, StoreError>;
    /// Revokes an API key; false when there is none with this id.
    fn delete_api_key(&self, id: &str) -> Result<bool, StoreError>;
    /// Every user, by id.
    fn users(&self) -> Result<Vec<User>, StoreError>;
    /// Creates a user; a name taken (ignoring ASCII case) is [`StoreError::UserExists`].
    fn create_user(&self, user: &NewUser, now_ms: i64) -> Result<User, StoreError>;
    /// Changes a user; `None` when there is none with this id.
    fn update_user(&self, id: i64, change: &UserChange) -> Result<Option<User>, StoreError>;
    /// Every application key, oldest first.
    fn app_keys(&self) -> Result<Vec<AppKey>, StoreError>;
    /// Adds an application key.
    fn add_app_key(&self, key: &AppKey) -> Result<(), StoreError>;
    /// Renames an application key; false when there is none with this id.
    fn rename_app_key(&self, id: &str, name: &str) -> Result<bool, StoreError>;
    /// Revokes an application key; false when there is none with this id.
    fn delete_app_key(&self, id: &str) -> Result<bool, StoreError>;
    /// Every known host, by name.
    fn hosts(&self) -> Result<Vec<HostRecord>, StoreError>;
    /// Service check runs in the order they were received.
    fn check_runs(&self, query: &CheckRunQuery) -> Result<Vec<StoredCheckRun>, StoreError>;
    /// Every context of one metric, by id.
    fn metric_contexts(&self, metric: &str) -> Result<Vec<MetricContext>, StoreError>;
    /// `(context, Unix s, value)` of these contexts from `from` to `to` (inclusive), by context
    /// then time.
    fn metric_values(&self, contexts: &[i64], from: i64, to: i64) -> Result<Vec<(i64, i64, f64)>, StoreError>;
    /// Distribution sketches of these contexts from `from` to `to` (inclusive), by context then
    /// time.
    fn metric_sketches(&self, contexts: &[i64], from: i64, to: i64) -> Result<Vec<SketchPoint>, StoreError>;
    /// Metric names with their kind, context and host counts, by name.
    fn metric_names(&self, query: &MetricNameQuery) -> Result<Vec<MetricSummary>, StoreError>;
    /// Stores one event (Datadog's single-event API) and returns it with its id.
    fn add_event(&self, event: &Event, received_at_ms: i64) -> Result<StoredEvent, StoreError>;
    /// Events in a window, newest first.
    fn events(&self, query: &EventQuery) -> Result<Vec<StoredEvent>, StoreError>;
    /// One event by id.
    fn event(&self, id: i64) -> Result<Option<StoredEvent>, StoreError>;
    /// The latest run of every (check, host), with counts by status of runs since
    /// `window_start` (Unix s).
    fn check_summaries(&self, window_start: i64) -> Result<Vec<CheckSummary>, StoreError>;
    /// Deletes metric points, sketches, contexts without points, events and service check runs
    /// older than `older_than_s` (Unix s), in bounded batches; returns the rows deleted.
    fn prune_metrics(&self, older_than_s: i64) -> Result<u64, StoreError>;
    /// Records one host's process collection run, all or nothing: for each process, creates
    /// or updates its life (keeping when it was first seen, moving when it was last seen
    /// and its record forward) and stores one sample, replacing a sample of the same life
    /// at the same time. Also marks the host as seen at the run's time.
    ///
    /// NaN or infinite metric values, which cannot be stored, are recorded as -1.
    fn write_process_history(&self, batch: &ProcessHistoryBatch) -> Result<(), StoreError>;
    /// Samples of one process life in a window, by time; averaged into fewer points when
    /// [`ProcessSampleQuery::max_points`] asks for it.
    fn process_samples(&self, query: &ProcessSampleQuery) -> Result<Vec<ProcessSample>, StoreError>;
    /// Process lives seen in a window (their first to last seen times overlap it), ordered by
    /// host, pid and create time.
    fn seen_processes(&self, query: &SeenProcessQuery) -> Result<Vec<SeenProcess>, StoreError>;
    /// Deletes process samples older than `older_than_ms` and process lives last seen before
    /// it; returns how many samples and lives were deleted. Deletes in bounded batches so
    /// that writers are not held up for long.
    fn prune_process_history(&self, older_than_ms: i64) -> Result<u64, StoreError>;
    /// The saved views of one page (of every page when `None`), ordered by name ignoring case,
    /// then by id.
    fn saved_views(&self, page: Option<&str>) -> Result<Vec<SavedView>, StoreError>;
    /// Saves a new view, created and updated at `now_ms`. A name already taken on its page
    /// (ignoring ASCII case) is [`StoreError::NameTaken`].
    fn create_saved_view(&self, view: &NewSavedView, now_ms: i64) -> Result<SavedView, StoreError>;
    /// Renames a saved view and/or replaces its state, setting its update time to `now_ms`;
    /// `None` when there is no view with this id. A name taken by another view of the same
    /// page (ignoring ASCII case) is [`StoreError::NameTaken`] and changes nothing.
    fn update_saved_view(
        &self,
        id: i64,
        change: &SavedViewChange,
        now_ms: i64,
    ) -> Result<Option<SavedView>, StoreError>;
    /// Deletes a saved view; `false` when there was none with this id.
    fn delete_saved_view(&self, id: i64) -> Result<bool, StoreError>;
    /// Every stored span of a trace (by the low 64 bits of its id), in start order.
    fn trace_spans(&self, trace_id: u64) -> Result<Vec<SpanRow>, StoreError>;
    /// Spans in a window, newest first, with each one's cursor.
    fn scan_spans(&self, scan: &SpanScan) -> Result<Vec<(SpanCursor, SpanRow)>, StoreError>;
    /// APM stats rows in a window.
    fn apm_stats(&self, query: &StatsQuery) -> Result<Vec<StatsRow>, StoreError>;
    /// Deletes spans that started and stats buckets that began before `older_than_ns`, in
    /// bounded batches; returns how many rows went.
    fn prune_apm(&self, older_than_ns: i64) -> Result<u64, StoreError>;
    /// User-set host tags (Datadog's tags API) of one host, or of every host when `None`, by
    /// host, source, then the order they were set in.
    fn user_host_tags(&self, host: Option<&str>) -> Result<Vec<UserHostTag>, StoreError>;
    /// Sets a host's tags from `source`, adding to or replacing that source's tags (each tag
    /// is kept once), all or nothing.
    fn set_user_host_tags(
        &self,
        host: &str,
        source: &str,
        tags: &[String],
        write: TagWrite,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Deletes a host's tags from `source`; returns how many went.
    fn delete_user_host_tags(&self, host: &str, source: &str) -> Result<u64, StoreError>;
    /// A metric's user-set metadata, if any was set.
    fn metric_metadata(&self, metric: &str) -> Result<Option<MetricMetadata>, StoreError>;
    /// Stores a metric's metadata whole, replacing what was set before.
    fn set_metric_metadata(&self, metric: &str, metadata: &MetricMetadata, now_ms: i64) -> Result<(), StoreError>;
    /// Gives each `(metric, unit)` metric the unit when its metadata has none yet (a unit a
    /// user set is kept): what a submitted series' unit does in Datadog.
    fn set_metric_units_if_unset(&self, units: &[(String, String)], now_ms: i64) -> Result<(), StoreError> {
        for (metric, unit) in units {
            let mut metadata = self.metric_metadata(metric)?.unwrap_or_default();
            if metadata.unit.is_none() {
                metadata.unit = Some(unit.clone());
                self.set_metric_metadata(metric, &metadata, now_ms)?;
            }
        }
        Ok(())
    }
    /// Makes everything written so far durable; called at shutdown.
    fn flush(&self) -> Result<(), StoreError>;
}
