//! The embedded SQLite backend: one file in the data directory, WAL mode.

use std::path::Path;
use std::sync::Mutex;

use dogwatch_model::{CheckRun, CheckStatus, Event, HostMetadata, ProcessRecord};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::downsample::downsample;
use crate::metrics::{
    CheckSummary, EventQuery, MetricContext, MetricNameQuery, MetricSummary, SketchPoint, StoredEvent,
};
use crate::{
    ApiKey, AppKey, Applied, CheckRunQuery, HostRecord, IntakeBatch, NewSavedView, NewUser, ProcessHistoryBatch,
    ProcessKey, ProcessSample, ProcessSampleQuery, Records, SavedView, SavedViewChange, SeenProcess, SeenProcessQuery,
    SpanCursor, SpanRow, SpanScan, StatsQuery, StatsRow, Store, StoreError, StoredCheckRun, User, UserChange,
};
use crate::{MetricMetadata, TagWrite, UserHostTag};
use crate::{sqlite_annotations, sqlite_apm, sqlite_auth, sqlite_metrics};

/// How long applied payload ids are remembered; a retry later than this would be stored again.
const PAYLOAD_ID_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// The most rows one statement of [`Store::prune_process_history`] deletes; the connection is
/// released between statements so that writes are not held up behind a large prune.
const PRUNE_BATCH_ROWS: i64 = 10_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS applied_payloads (
    id TEXT PRIMARY KEY,
    received_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS applied_payloads_by_time ON applied_payloads (received_at_ms);
CREATE TABLE IF NOT EXISTS hosts (
    hostname TEXT PRIMARY KEY,
    agent_version TEXT NOT NULL DEFAULT '',
    os TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    hostname_provider TEXT NOT NULL DEFAULT '',
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS host_agent_checks (
    hostname TEXT PRIMARY KEY,
    checks TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS check_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    check_name TEXT NOT NULL,
    host TEXT NOT NULL,
    ts INTEGER NOT NULL,
    status INTEGER NOT NULL,
    message TEXT NOT NULL,
    tags TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS check_runs_by_check_host ON check_runs (check_name, host, id);
CREATE TABLE IF NOT EXISTS process_hosts (
    id INTEGER PRIMARY KEY,
    hostname TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS process_lives (
    host_id INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    create_time_ms INTEGER NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (host_id, pid, create_time_ms)
);
CREATE INDEX IF NOT EXISTS process_lives_by_last_seen ON process_lives (last_seen_ms);
-- Samples are many, so their rows are kept small: the host as a process_hosts id, and the
-- f32 metrics in NUMERIC columns, which store whole values (0, -1: most of them) as 0- or
-- 1-byte integers; in a WITHOUT ROWID table SQLite stores every REAL column value in 8 bytes.
CREATE TABLE IF NOT EXISTS process_samples (
    host_id INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    create_time_ms INTEGER NOT NULL,
    ts_ms INTEGER NOT NULL,
    cpu_total_pct NUMERIC NOT NULL,
    cpu_user_pct NUMERIC NOT NULL,
    cpu_system_pct NUMERIC NOT NULL,
    rss INTEGER NOT NULL,
    vms INTEGER NOT NULL,
    threads INTEGER NOT NULL,
    open_fds INTEGER NOT NULL,
    io_read_bytes_rate NUMERIC NOT NULL,
    io_write_bytes_rate NUMERIC NOT NULL,
    io_read_ops_rate NUMERIC NOT NULL,
    io_write_ops_rate NUMERIC NOT NULL,
    PRIMARY KEY (host_id, pid, create_time_ms, ts_ms)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS process_samples_by_ts ON process_samples (ts_ms);
-- AUTOINCREMENT so that the id of a deleted view is never given to a new one: a page still
-- holding the old id must not rename or delete someone else's view.
CREATE TABLE IF NOT EXISTS saved_views (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    page TEXT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    UNIQUE (page, name COLLATE NOCASE)
);
";

/// A [`Store`] in one SQLite file.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens or creates the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let open = || -> rusqlite::Result<Connection> {
            let conn = Connection::open(path)?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            // 64 MiB of page cache (the default is 2 MiB): span inserts touch three indexes
            // whose hot pages then stay in memory (crates/server/benches/trace_store.rs).
            conn.pragma_update(None, "cache_size", -65_536)?;
            conn.execute_batch(SCHEMA)?;
            conn.execute_batch(sqlite_apm::SCHEMA)?;
            conn.execute_batch(sqlite_auth::SCHEMA)?;
            sqlite_auth::migrate_plain_api_keys(&conn)?;
            conn.execute_batch(sqlite_metrics::SCHEMA)?;
            conn.execute_batch(sqlite_annotations::SCHEMA)?;
            let old_points: Option<String> = conn
                .query_row(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'metric_points'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            if old_points.is_some() {
                conn.execute_batch(&format!("BEGIN; {} COMMIT;", sqlite_metrics::MIGRATE_METRIC_POINTS))?;
            }
            Ok(conn)
        };
        let conn = open().map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(SqliteStore { conn: Mutex::new(conn) })
    }

    /// Runs each `DELETE ... WHERE <time> < ?1 LIMIT ?2` statement with `cutoff` until it
    /// deletes less than a batch; returns the rows deleted. One statement per lock, each its
    /// own transaction, so writers get in between.
    fn delete_in_batches(&self, statements: &[&str], cutoff: i64) -> Result<u64, StoreError> {
        let mut deleted = 0u64;
        for sql in statements {
            loop {
                let n = self
                    .conn()
                    .prepare_cached(sql)?
                    .execute(params![cutoff, PRUNE_BATCH_ROWS])?;
                deleted += n as u64;
                if (n as i64) < PRUNE_BATCH_ROWS {
                    break;
                }
            }
        }
        Ok(deleted)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions
        // roll back on drop), so a poisoned lock is still safe to use.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(crate) fn tags_json(tags: &[String]) -> String {
    serde_json::to_string(tags).expect("strings serialize to JSON")
}

pub(crate) fn tags_from_json(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn touch_host(tx: &Transaction<'_>, hostname: &str, at_ms: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO hosts (hostname, first_seen_ms, last_seen_ms) VALUES (?1, ?2, ?2)
         ON CONFLICT (hostname) DO UPDATE SET last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)",
        params![hostname, at_ms],
    )?;
    Ok(())
}

fn write_check_runs(tx: &Transaction<'_>, runs: &[CheckRun], received_at_ms: i64) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO check_runs (check_name, host, ts, status, message, tags, received_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for run in runs {
        let ts = run.timestamp.unwrap_or(received_at_ms / 1000);
        insert.execute(params![
            run.check,
            run.host_name,
            ts,
            u8::from(run.status),
            run.message,
            tags_json(&run.tags),
            received_at_ms
        ])?;
        if !run.host_name.is_empty() {
            touch_host(tx, &run.host_name, received_at_ms)?;
        }
    }
    Ok(())
}

/// Stores a host's metadata. A payload without `os` is one of the partial ones Datadog Agent 7
/// also posts to `/intake/` (its `agent_checks` payload: common fields, `meta`, the checks):
/// it keeps the os, tags and hostname provider a full host payload gave.
fn write_host_metadata(tx: &Transaction<'_>, meta: &HostMetadata, received_at_ms: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO hosts (hostname, agent_version, os, tags, hostname_provider, first_seen_ms, last_seen_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT (hostname) DO UPDATE SET
             agent_version = CASE WHEN excluded.agent_version != '' THEN excluded.agent_version ELSE agent_version END,
             os = CASE WHEN excluded.os != '' THEN excluded.os ELSE os END,
             tags = CASE WHEN excluded.os != '' THEN excluded.tags ELSE tags END,
             hostname_provider = CASE WHEN excluded.os != '' THEN excluded.hostname_provider ELSE hostname_provider END,
             last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)",
        params![
            meta.internal_hostname,
            meta.agent_version,
            meta.os,
            tags_json(&meta.host_tags.system),
            meta.meta.hostname_provider,
            received_at_ms
        ],
    )?;
    if let Some(checks) = &meta.agent_checks {
        let json = serde_json::to_string(checks).unwrap_or_else(|_| "[]".into());
        tx.execute(
            "INSERT INTO host_agent_checks (hostname, checks, updated_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (hostname) DO UPDATE SET checks = excluded.checks, updated_ms = excluded.updated_ms",
            params![meta.internal_hostname, json, received_at_ms],
        )?;
    }
    Ok(())
}

/// A metric value that can be stored: NaN and infinities (which SQLite would store as NULL or
/// JSON as `null`) become -1, "unreadable".
fn storable(value: f32) -> f32 {
    if value.is_finite() { value } else { -1.0 }
}

/// A byte count as an SQLite integer; counts beyond `i64::MAX` (never real) are clamped.
fn bytes_to_sql(bytes: u64) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

/// A byte count back from SQLite; only non-negative counts are written.
fn bytes_from_sql(bytes: i64) -> u64 {
    u64::try_from(bytes).unwrap_or(0)
}

fn write_process_history(tx: &Transaction<'_>, batch: &ProcessHistoryBatch) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO process_hosts (hostname) VALUES (?1) ON CONFLICT (hostname) DO NOTHING")?
        .execute([&batch.host])?;
    let host_id: i64 = tx
        .prepare_cached("SELECT id FROM process_hosts WHERE hostname = ?1")?
        .query_row([&batch.host], |r| r.get(0))?;
    // The record moves forward only with a run at least as new as the one it came from, so a
    // late, older run does not overwrite it.
    let mut upsert_life = tx.prepare_cached(
        "INSERT INTO process_lives (host_id, pid, create_time_ms, first_seen_ms, last_seen_ms, record)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5)
         ON CONFLICT (host_id, pid, create_time_ms) DO UPDATE SET
             first_seen_ms = min(first_seen_ms, excluded.first_seen_ms),
             last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),
             record = CASE WHEN excluded.last_seen_ms >= last_seen_ms THEN excluded.record ELSE record END",
    )?;
    let mut insert_sample = tx.prepare_cached(
        "INSERT OR REPLACE INTO process_samples (host_id, pid, create_time_ms, ts_ms, cpu_total_pct, cpu_user_pct,
             cpu_system_pct, rss, vms, threads, open_fds, io_read_bytes_rate, io_write_bytes_rate, io_read_ops_rate,
             io_write_ops_rate)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    for p in &batch.processes {
        let p = &ProcessRecord {
            cpu_user_pct: storable(p.cpu_user_pct),
            cpu_system_pct: storable(p.cpu_system_pct),
            cpu_total_pct: storable(p.cpu_total_pct),
            io_read_ops_rate: storable(p.io_read_ops_rate),
            io_write_ops_rate: storable(p.io_write_ops_rate),
            io_read_bytes_rate: storable(p.io_read_bytes_rate),
            io_write_bytes_rate: storable(p.io_write_bytes_rate),
            ..p.clone()
        };
        let record = serde_json::to_string(p).expect("a process record serializes to JSON");
        upsert_life.execute(params![host_id, p.pid, p.create_time_ms, batch.ts_ms, record])?;
        insert_sample.execute(params![
            host_id,
            p.pid,
            p.create_time_ms,
            batch.ts_ms,
            p.cpu_total_pct,
            p.cpu_user_pct,
            p.cpu_system_pct,
            bytes_to_sql(p.rss),
            bytes_to_sql(p.vms),
            p.threads,
            p.open_fds,
            p.io_read_bytes_rate,
            p.io_write_bytes_rate,
            p.io_read_ops_rate,
            p.io_write_ops_rate
        ])?;
    }
    if !batch.host.is_empty() {
        touch_host(tx, &batch.host, batch.ts_ms)?;
    }
    Ok(())
}

/// Parses a stored process record; a record that does not parse fails the read.
fn record_from_json(column: usize, text: &str) -> rusqlite::Result<ProcessRecord> {
    serde_json::from_str(text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e)))
}

const SAVED_VIEW_COLUMNS: &str = "id, page, name, state, created_ms, updated_ms";

/// A saved view from a row of [`SAVED_VIEW_COLUMNS`]; a state that does not parse fails the read.
fn saved_view_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SavedView> {
    let state: String = r.get(3)?;
    Ok(SavedView {
        id: r.get(0)?,
        page: r.get(1)?,
        name: r.get(2)?,
        state: serde_json::from_str(&state)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e)))?,
        created_ms: r.get(4)?,
        updated_ms: r.get(5)?,
    })
}

/// [`StoreError::NameTaken`] for a write that broke the unique (page, name) constraint of
/// `saved_views` (the only unique constraint its writes can break), else the error itself.
fn name_taken_or(error: rusqlite::Error, page: &str, name: &str) -> StoreError {
    match error {
        rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => {
            StoreError::NameTaken {
                page: page.to_string(),
                name: name.to_string(),
            }
        }
        e => StoreError::Sqlite(e),
    }
}

fn state_json(state: &serde_json::Value) -> String {
    serde_json::to_string(state).expect("a JSON value serializes")
}

impl Store for SqliteStore {
    fn ingest(&self, batch: IntakeBatch) -> Result<Applied, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if let Some(id) = &batch.payload_id {
            let seen: Option<i64> = tx
                .query_row("SELECT 1 FROM applied_payloads WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            if seen.is_some() {
                return Ok(Applied::Duplicate);
            }
            tx.execute(
                "INSERT INTO applied_payloads (id, received_at_ms) VALUES (?1, ?2)",
                params![id, batch.received_at_ms],
            )?;
            tx.execute(
                "DELETE FROM applied_payloads WHERE received_at_ms < ?1",
                [batch.received_at_ms - PAYLOAD_ID_RETENTION_MS],
            )?;
        }
        match &batch.records {
            Records::Series(series) => sqlite_metrics::write_series(&tx, series)?,
            Records::Sketches(sketches) => sqlite_metrics::write_sketches(&tx, sketches)?,
            Records::Events(events) => {
                sqlite_metrics::write_events(&tx, events, batch.received_at_ms)?;
            }
            Records::CheckRuns(runs) => write_check_runs(&tx, runs, batch.received_at_ms)?,
            Records::HostMetadata(meta) => write_host_metadata(&tx, meta, batch.received_at_ms)?,
            Records::Spans(spans) => sqlite_apm::write_spans(&tx, spans)?,
            Records::ApmStats(rows) => sqlite_apm::write_stats(&tx, rows)?,
        }
        tx.commit()?;
        Ok(Applied::Stored)
    }

    fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        sqlite_auth::api_keys(&self.conn())
    }

    fn add_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        sqlite_auth::add_api_key(&self.conn(), key)
    }

    fn rename_api_key(&self, id: &str, name: &str) -> Result<bool, StoreError> {
        sqlite_auth::rename_key(&self.conn(), "api_keys_hashed", id, name)
    }

    fn delete_api_key(&self, id: &str) -> Result<bool, StoreError> {
        sqlite_auth::delete_key(&self.conn(), "api_keys_hashed", id)
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        sqlite_auth::users(&self.conn())
    }

    fn create_user(&self, user: &NewUser, now_ms: i64) -> Result<User, StoreError> {
        sqlite_auth::create_user(&self.conn(), user, now_ms)
    }

    fn update_user(&self, id: i64, change: &UserChange) -> Result<Option<User>, StoreError> {
        sqlite_auth::update_user(&self.conn(), id, change)
    }

    fn app_keys(&self) -> Result<Vec<AppKey>, StoreError> {
        sqlite_auth::app_keys(&self.conn())
    }

    fn add_app_key(&self, key: &AppKey) -> Result<(), StoreError> {
        sqlite_auth::add_app_key(&self.conn(), key)
    }

    fn rename_app_key(&self, id: &str, name: &str) -> Result<bool, StoreError> {
        sqlite_auth::rename_key(&self.conn(), "app_keys", id, name)
    }

    fn delete_app_key(&self, id: &str) -> Result<bool, StoreError> {
        sqlite_auth::delete_key(&self.conn(), "app_keys", id)
    }

    fn hosts(&self) -> Result<Vec<HostRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT h.hostname, h.agent_version, h.os, h.tags, h.hostname_provider, h.first_seen_ms, h.last_seen_ms, c.checks
             FROM hosts h LEFT JOIN host_agent_checks c ON c.hostname = h.hostname ORDER BY h.hostname",
        )?;
        let hosts = stmt
            .query_map([], |r| {
                Ok(HostRecord {
                    hostname: r.get(0)?,
                    agent_version: r.get(1)?,
                    os: r.get(2)?,
                    tags: tags_from_json(&r.get::<_, String>(3)?),
                    hostname_provider: r.get(4)?,
                    first_seen_ms: r.get(5)?,
                    last_seen_ms: r.get(6)?,
                    checks: r
                        .get::<_, Option<String>>(7)?
                        .and_then(|json| serde_json::from_str(&json).ok())
                        .unwrap_or_default(),
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(hosts)
    }

    fn check_runs(&self, query: &CheckRunQuery) -> Result<Vec<StoredCheckRun>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT check_name, host, ts, status, message, tags, received_at_ms FROM check_runs
             WHERE (?1 IS NULL OR check_name = ?1) AND (?2 IS NULL OR host = ?2)
             ORDER BY id LIMIT ?3",
        )?;
        let limit = query.limit.map_or(-1, |l| l as i64);
        let runs = stmt
            .query_map(params![query.check, query.host, limit], |r| {
                let status: u8 = r.get(3)?;
                Ok(StoredCheckRun {
                    run: CheckRun {
                        check: r.get(0)?,
                        host_name: r.get(1)?,
                        timestamp: Some(r.get(2)?),
                        status: CheckStatus::try_from(status).unwrap_or(CheckStatus::Unknown),
                        message: r.get(4)?,
                        tags: tags_from_json(&r.get::<_, String>(5)?),
                    },
                    received_at_ms: r.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(runs)
    }

    fn metric_contexts(&self, metric: &str) -> Result<Vec<MetricContext>, StoreError> {
        sqlite_metrics::metric_contexts(&self.conn(), metric)
    }

    fn metric_values(&self, contexts: &[i64], from: i64, to: i64) -> Result<Vec<(i64, i64, f64)>, StoreError> {
        sqlite_metrics::metric_values(&self.conn(), contexts, from, to)
    }

    fn metric_sketches(&self, contexts: &[i64], from: i64, to: i64) -> Result<Vec<SketchPoint>, StoreError> {
        sqlite_metrics::metric_sketches(&self.conn(), contexts, from, to)
    }

    fn metric_names(&self, query: &MetricNameQuery) -> Result<Vec<MetricSummary>, StoreError> {
        sqlite_metrics::metric_names(&self.conn(), query)
    }

    fn add_event(&self, event: &Event, received_at_ms: i64) -> Result<StoredEvent, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let id = sqlite_metrics::write_events(&tx, std::slice::from_ref(event), received_at_ms)?[0];
        tx.commit()?;
        let mut event = event.clone();
        event.date_happened = Some(event.date_happened.unwrap_or(received_at_ms / 1000));
        Ok(StoredEvent { id, event })
    }

    fn events(&self, query: &EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        sqlite_metrics::events(&self.conn(), query)
    }

    fn event(&self, id: i64) -> Result<Option<StoredEvent>, StoreError> {
        sqlite_metrics::event(&self.conn(), id)
    }

    fn check_summaries(&self, window_start: i64) -> Result<Vec<CheckSummary>, StoreError> {
        sqlite_metrics::check_summaries(&self.conn(), window_start)
    }

    fn prune_metrics(&self, older_than_s: i64) -> Result<u64, StoreError> {
        self.delete_in_batches(&sqlite_metrics::PRUNE_STATEMENTS, older_than_s)
    }

    fn write_process_history(&self, batch: &ProcessHistoryBatch) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        write_process_history(&tx, batch)?;
        tx.commit()?;
        Ok(())
    }

    fn process_samples(&self, query: &ProcessSampleQuery) -> Result<Vec<ProcessSample>, StoreError> {
        let samples: Vec<ProcessSample> = {
            let conn = self.conn();
            let mut stmt = conn.prepare_cached(
                "SELECT ts_ms, cpu_total_pct, cpu_user_pct, cpu_system_pct, rss, vms, threads, open_fds,
                     io_read_bytes_rate, io_write_bytes_rate, io_read_ops_rate, io_write_ops_rate
                 FROM process_samples
                 WHERE host_id = (SELECT id FROM process_hosts WHERE hostname = ?1) AND pid = ?2
                     AND create_time_ms = ?3 AND ts_ms >= ?4 AND ts_ms <= ?5
                 ORDER BY ts_ms",
            )?;
            let key = &query.key;
            stmt.query_map(
                params![key.host, key.pid, key.create_time_ms, query.from_ms, query.to_ms],
                |r| {
                    Ok(ProcessSample {
                        ts_ms: r.get(0)?,
                        cpu_total_pct: r.get(1)?,
                        cpu_user_pct: r.get(2)?,
                        cpu_system_pct: r.get(3)?,
                        rss: bytes_from_sql(r.get(4)?),
                        vms: bytes_from_sql(r.get(5)?),
                        threads: r.get(6)?,
                        open_fds: r.get(7)?,
                        io_read_bytes_rate: r.get(8)?,
                        io_write_bytes_rate: r.get(9)?,
                        io_read_ops_rate: r.get(10)?,
                        io_write_ops_rate: r.get(11)?,
                    })
                },
            )?
            .collect::<Result<_, _>>()?
        };
        Ok(match query.max_points {
            Some(max_points) => downsample(samples, max_points),
            None => samples,
        })
    }

    fn seen_processes(&self, query: &SeenProcessQuery) -> Result<Vec<SeenProcess>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT h.hostname, l.pid, l.create_time_ms, l.first_seen_ms, l.last_seen_ms, l.record
             FROM process_lives l JOIN process_hosts h ON h.id = l.host_id
             WHERE l.last_seen_ms >= ?1 AND l.first_seen_ms <= ?2 AND (?3 IS NULL OR h.hostname = ?3)
                 AND (?4 IS NULL OR l.pid = ?4)
             ORDER BY h.hostname, l.pid, l.create_time_ms
             LIMIT ?5",
        )?;
        let limit = query.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let lives = stmt
            .query_map(params![query.from_ms, query.to_ms, query.host, query.pid, limit], |r| {
                Ok(SeenProcess {
                    key: ProcessKey {
                        host: r.get(0)?,
                        pid: r.get(1)?,
                        create_time_ms: r.get(2)?,
                    },
                    first_seen_ms: r.get(3)?,
                    last_seen_ms: r.get(4)?,
                    record: record_from_json(5, &r.get::<_, String>(5)?)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(lives)
    }

    fn prune_process_history(&self, older_than_ms: i64) -> Result<u64, StoreError> {
        let statements = [
            "DELETE FROM process_samples WHERE (host_id, pid, create_time_ms, ts_ms) IN (
                 SELECT host_id, pid, create_time_ms, ts_ms FROM process_samples WHERE ts_ms < ?1 LIMIT ?2)",
            "DELETE FROM process_lives WHERE rowid IN (
                 SELECT rowid FROM process_lives WHERE last_seen_ms < ?1 LIMIT ?2)",
        ];
        self.delete_in_batches(&statements, older_than_ms)
    }

    fn saved_views(&self, page: Option<&str>) -> Result<Vec<SavedView>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {SAVED_VIEW_COLUMNS} FROM saved_views WHERE (?1 IS NULL OR page = ?1)
             ORDER BY name COLLATE NOCASE, id"
        ))?;
        let views = stmt.query_map([page], saved_view_from_row)?.collect::<Result<_, _>>()?;
        Ok(views)
    }

    fn create_saved_view(&self, view: &NewSavedView, now_ms: i64) -> Result<SavedView, StoreError> {
        let conn = self.conn();
        let id = conn
            .prepare_cached(
                "INSERT INTO saved_views (page, name, state, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?4)",
            )?
            .insert(params![view.page, view.name, state_json(&view.state), now_ms])
            .map_err(|e| name_taken_or(e, &view.page, &view.name))?;
        Ok(SavedView {
            id,
            page: view.page.clone(),
            name: view.name.clone(),
            state: view.state.clone(),
            created_ms: now_ms,
            updated_ms: now_ms,
        })
    }

    fn update_saved_view(
        &self,
        id: i64,
        change: &SavedViewChange,
        now_ms: i64,
    ) -> Result<Option<SavedView>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let Some(mut view) = tx
            .prepare_cached(&format!("SELECT {SAVED_VIEW_COLUMNS} FROM saved_views WHERE id = ?1"))?
            .query_row([id], saved_view_from_row)
            .optional()?
        else {
            return Ok(None);
        };
        if let Some(name) = &change.name {
            view.name.clone_from(name);
        }
        if let Some(state) = &change.state {
            view.state.clone_from(state);
        }
        view.updated_ms = now_ms;
        tx.prepare_cached("UPDATE saved_views SET name = ?2, state = ?3, updated_ms = ?4 WHERE id = ?1")?
            .execute(params![id, view.name, state_json(&view.state), now_ms])
            .map_err(|e| name_taken_or(e, &view.page, &view.name))?;
        tx.commit()?;
        Ok(Some(view))
    }

    fn delete_saved_view(&self, id: i64) -> Result<bool, StoreError> {
        let deleted = self
            .conn()
            .prepare_cached("DELETE FROM saved_views WHERE id = ?1")?
            .execute([id])?;
        Ok(deleted > 0)
    }

    fn trace_spans(&self, trace_id: u64) -> Result<Vec<SpanRow>, StoreError> {
        sqlite_apm::trace_spans(&self.conn(), trace_id)
    }

    fn scan_spans(&self, scan: &SpanScan) -> Result<Vec<(SpanCursor, SpanRow)>, StoreError> {
        sqlite_apm::scan_spans(&self.conn(), scan)
    }

    fn apm_stats(&self, query: &StatsQuery) -> Result<Vec<StatsRow>, StoreError> {
        sqlite_apm::apm_stats(&self.conn(), query)
    }

    fn prune_apm(&self, older_than_ns: i64) -> Result<u64, StoreError> {
        self.delete_in_batches(&sqlite_apm::PRUNE_STATEMENTS, older_than_ns)
    }

    fn user_host_tags(&self, host: Option<&str>) -> Result<Vec<UserHostTag>, StoreError> {
        sqlite_annotations::host_tags(&self.conn(), host)
    }

    fn set_user_host_tags(
        &self,
        host: &str,
        source: &str,
        tags: &[String],
        write: TagWrite,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlite_annotations::set_host_tags(&mut self.conn(), host, source, tags, write, now_ms)
    }

    fn delete_user_host_tags(&self, host: &str, source: &str) -> Result<u64, StoreError> {
        sqlite_annotations::delete_host_tags(&self.conn(), host, source)
    }

    fn metric_metadata(&self, metric: &str) -> Result<Option<MetricMetadata>, StoreError> {
        sqlite_annotations::metric_metadata(&self.conn(), metric)
    }

    fn set_metric_metadata(&self, metric: &str, metadata: &MetricMetadata, now_ms: i64) -> Result<(), StoreError> {
        sqlite_annotations::set_metric_metadata(&self.conn(), metric, metadata, now_ms)
    }

    fn set_metric_units_if_unset(&self, units: &[(String, String)], now_ms: i64) -> Result<(), StoreError> {
        sqlite_annotations::set_units_if_unset(&mut self.conn(), units, now_ms)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.conn()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Role, StoredKind};
    use dogwatch_model::{MetricKind, Series};

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("dogwatch.db")).unwrap();
        (dir, store)
    }

    fn run(message: &str) -> CheckRun {
        CheckRun {
            check: "datadog.agent.up".into(),
            host_name: "h1".into(),
            timestamp: None,
            status: CheckStatus::Ok,
            message: message.into(),
            tags: vec!["a:1".into()],
        }
    }

    fn batch(id: Option<&str>, records: Records) -> IntakeBatch {
        IntakeBatch {
            payload_id: id.map(String::from),
            received_at_ms: 1_700_000_000_000,
            records,
        }
    }

    #[test]
    fn a_payload_id_is_applied_once() {
        let (_dir, store) = store();
        let b = batch(Some("abc"), Records::CheckRuns(vec![run("one")]));
        assert_eq!(store.ingest(b.clone()).unwrap(), Applied::Stored);
        assert_eq!(store.ingest(b).unwrap(), Applied::Duplicate);
        assert_eq!(
            store.ingest(batch(None, Records::CheckRuns(vec![run("two")]))).unwrap(),
            Applied::Stored
        );
        let runs = store.check_runs(&CheckRunQuery::default()).unwrap();
        let messages: Vec<_> = runs.iter().map(|r| r.run.message.as_str()).collect();
        assert_eq!(messages, ["one", "two"]);
        assert_eq!(
            runs[0].run.timestamp,
            Some(1_700_000_000),
            "a missing timestamp becomes the receive time"
        );
    }

    #[test]
    fn host_metadata_and_heartbeats_make_host_records() {
        let (_dir, store) = store();
        let meta: HostMetadata = serde_json::from_value(serde_json::json!({
            "internalHostname": "h1", "agentVersion": "0.1.0", "os": "linux",
            "host-tags": {"system": ["team:a"]}, "meta": {"hostname-provider": "os"}
        }))
        .unwrap();
        store.ingest(batch(None, Records::HostMetadata(meta))).unwrap();
        let mut later = batch(None, Records::CheckRuns(vec![run("")]));
        later.received_at_ms += 15_000;
        store.ingest(later).unwrap();
        let hosts = store.hosts().unwrap();
        assert_eq!(hosts.len(), 1);
        assert_eq!(
            (hosts[0].agent_version.as_str(), hosts[0].tags.as_slice()),
            ("0.1.0", ["team:a".to_string()].as_slice())
        );
        assert_eq!(hosts[0].last_seen_ms - hosts[0].first_seen_ms, 15_000);
        assert!(hosts[0].checks.is_empty());
    }

    #[test]
    fn agent_checks_are_kept_until_metadata_brings_new_ones() {
        let (_dir, store) = store();
        let meta = |checks: serde_json::Value| -> HostMetadata {
            let mut m = serde_json::json!({"internalHostname": "h1"});
            if !checks.is_null() {
                m["agent_checks"] = checks;
            }
            serde_json::from_value(m).unwrap()
        };
        store
            .ingest(batch(
                None,
                Records::HostMetadata(meta(serde_json::json!([["cpu", "cpu", "cpu:1", "OK", "", {}]]))),
            ))
            .unwrap();
        store
            .ingest(batch(None, Records::HostMetadata(meta(serde_json::Value::Null))))
            .unwrap();
        assert_eq!(store.hosts().unwrap()[0].checks[0].instance_id, "cpu:1");
        store
            .ingest(batch(
                None,
                Records::HostMetadata(meta(serde_json::json!([["io", "io", "io:2", "ERROR", "x", {}]]))),
            ))
            .unwrap();
        let checks = &store.hosts().unwrap()[0].checks;
        assert_eq!((checks.len(), checks[0].status.as_str()), (1, "ERROR"));
    }

    #[test]
    fn metric_points_are_read_back_per_context_and_time() {
        let (_dir, store) = store();
        let series = |tags: &[&str], points: Vec<(f64, f64)>| Series {
            metric: "system.uptime".into(),
            points,
            kind: MetricKind::Gauge,
            interval: None,
            host: Some("h1".into()),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        };
        let batch1 = vec![
            series(&["b:2", "a:1"], vec![(100.0, 1.0), (110.0, 2.0)]),
            series(&["a:1", "b:2", "a:1"], vec![(110.0, 3.0)]),
            series(&[], vec![(120.0, 9.0)]),
        ];
        store.ingest(batch(None, Records::Series(batch1))).unwrap();
        let contexts = store.metric_contexts("system.uptime").unwrap();
        assert_eq!(contexts.len(), 2, "tag order and repeats do not make a new context");
        assert_eq!(contexts[0].tags, ["a:1", "b:2"]);
        assert_eq!((contexts[0].kind, contexts[0].last_ts), (StoredKind::Gauge, 110));
        let points = store.metric_values(&[contexts[0].id], 105, 200).unwrap();
        assert_eq!(points, [(contexts[0].id, 110, 3.0)], "the last write for a time wins");
        let names = store.metric_names(&MetricNameQuery {
            contains: Some("UPTIME".into()),
            limit: 10,
            ..Default::default()
        });
        assert_eq!(names.unwrap()[0].contexts, 2);
        assert_eq!(store.prune_metrics(115).unwrap(), 3);
        assert_eq!(store.metric_contexts("system.uptime").unwrap().len(), 1);
    }

    #[test]
    fn an_old_metric_points_table_is_moved_into_contexts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dogwatch.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE metric_points (metric TEXT NOT NULL, host TEXT, tags TEXT NOT NULL, kind TEXT NOT NULL,
                     interval INTEGER, ts REAL NOT NULL, value REAL NOT NULL);
                 INSERT INTO metric_points VALUES ('system.uptime', 'h1', '[]', 'gauge', NULL, 100.0, 5.0);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let contexts = store.metric_contexts("system.uptime").unwrap();
        assert_eq!(
            store.metric_values(&[contexts[0].id], 0, 200).unwrap(),
            [(contexts[0].id, 100, 5.0)]
        );
        drop(store);
        SqliteStore::open(&path).unwrap();
    }

    #[test]
    fn api_keys_persist_across_reopening_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dogwatch.db");
        let key = ApiKey {
            id: "id1".into(),
            name: "generated".into(),
            hash: crate::auth::key_hash("secretkey1234"),
            last4: crate::auth::last4("secretkey1234"),
            created_at_ms: 1,
        };
        SqliteStore::open(&path).unwrap().add_api_key(&key).unwrap();
        let reopened = SqliteStore::open(&path).unwrap();
        reopened.add_api_key(&key).unwrap();
        assert_eq!(reopened.api_keys().unwrap(), std::slice::from_ref(&key));
        assert_eq!(key.last4, "1234");
        assert!(reopened.rename_api_key("id1", "agents").unwrap());
        assert!(reopened.delete_api_key("id1").unwrap());
        assert!(!reopened.delete_api_key("id1").unwrap());
    }

    #[test]
    fn plain_text_api_keys_of_an_older_store_are_hashed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dogwatch.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE api_keys (key TEXT PRIMARY KEY, name TEXT NOT NULL, created_at_ms INTEGER NOT NULL);
                 INSERT INTO api_keys VALUES ('0123456789abcdef0123456789abcdef', 'generated', 5);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let keys = store.api_keys().unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].hash, crate::auth::key_hash("0123456789abcdef0123456789abcdef"));
        assert_eq!((keys[0].last4.as_str(), keys[0].name.as_str()), ("cdef", "generated"));
        let plain: Option<String> = store
            .conn()
            .query_row("SELECT name FROM sqlite_master WHERE name = 'api_keys'", [], |r| {
                r.get(0)
            })
            .optional()
            .unwrap();
        assert_eq!(plain, None, "the plain-text table is gone");
    }

    #[test]
    fn users_have_unique_names_roles_and_app_keys() {
        let (_dir, store) = store();
        let new = |name: &str, role| NewUser {
            name: name.into(),
            role,
            password_hash: "h".into(),
        };
        let admin = store.create_user(&new("admin", Role::Admin), 1).unwrap();
        assert!(matches!(
            store.create_user(&new("ADMIN", Role::ReadOnly), 2),
            Err(StoreError::UserExists { .. })
        ));
        let changed = store
            .update_user(
                admin.id,
                &UserChange {
                    role: Some(Role::Standard),
                    disabled: Some(true),
                    ..UserChange::default()
                },
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            (changed.role, changed.disabled, changed.password_hash.as_str()),
            (Role::Standard, true, "h")
        );
        store
            .add_app_key(&AppKey {
                id: "a1".into(),
                name: "ci".into(),
                hash: "x".into(),
                last4: "abcd".into(),
                user_id: admin.id,
                created_at_ms: 3,
            })
            .unwrap();
        assert_eq!(store.app_keys().unwrap()[0].user_id, admin.id);
        assert!(store.delete_app_key("a1").unwrap());
        assert!(store.update_user(999, &UserChange::default()).unwrap().is_none());
    }
}
