//! The embedded SQLite backend: one file in the data directory, WAL mode.

use std::path::Path;
use std::sync::Mutex;

use dogwatch_model::{CheckRun, CheckStatus, HostMetadata, Series};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::{
    ApiKey, Applied, CheckRunQuery, HostRecord, IntakeBatch, MetricPoint, MetricPointQuery, Records, Store, StoreError,
    StoredCheckRun,
};

/// How long applied payload ids are remembered; a retry later than this would be stored again.
const PAYLOAD_ID_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_keys (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
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
CREATE TABLE IF NOT EXISTS metric_points (
    metric TEXT NOT NULL,
    host TEXT,
    tags TEXT NOT NULL,
    kind TEXT NOT NULL,
    interval INTEGER,
    ts REAL NOT NULL,
    value REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metric_points_by_metric_ts ON metric_points (metric, ts);
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
            conn.execute_batch(SCHEMA)?;
            Ok(conn)
        };
        let conn = open().map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(SqliteStore { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions
        // roll back on drop), so a poisoned lock is still safe to use.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn tags_json(tags: &[String]) -> String {
    serde_json::to_string(tags).expect("strings serialize to JSON")
}

fn tags_from_json(text: &str) -> Vec<String> {
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

fn write_series(tx: &Transaction<'_>, series: &[Series]) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO metric_points (metric, host, tags, kind, interval, ts, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for s in series {
        let tags = tags_json(&s.tags);
        for (ts, value) in &s.points {
            insert.execute(params![
                s.metric,
                s.host,
                tags,
                s.kind.name(),
                s.interval.map(|i| i as i64),
                ts,
                value
            ])?;
        }
    }
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

fn write_host_metadata(tx: &Transaction<'_>, meta: &HostMetadata, received_at_ms: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO hosts (hostname, agent_version, os, tags, hostname_provider, first_seen_ms, last_seen_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
         ON CONFLICT (hostname) DO UPDATE SET agent_version = excluded.agent_version, os = excluded.os,
             tags = excluded.tags, hostname_provider = excluded.hostname_provider,
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
    Ok(())
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
            Records::Series(series) => write_series(&tx, series)?,
            Records::CheckRuns(runs) => write_check_runs(&tx, runs, batch.received_at_ms)?,
            Records::HostMetadata(meta) => write_host_metadata(&tx, meta, batch.received_at_ms)?,
        }
        tx.commit()?;
        Ok(Applied::Stored)
    }

    fn api_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT key, name, created_at_ms FROM api_keys ORDER BY created_at_ms, key")?;
        let keys = stmt
            .query_map([], |r| {
                Ok(ApiKey {
                    key: r.get(0)?,
                    name: r.get(1)?,
                    created_at_ms: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(keys)
    }

    fn add_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO api_keys (key, name, created_at_ms) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO NOTHING",
            params![key.key, key.name, key.created_at_ms],
        )?;
        Ok(())
    }

    fn hosts(&self) -> Result<Vec<HostRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT hostname, agent_version, os, tags, hostname_provider, first_seen_ms, last_seen_ms FROM hosts ORDER BY hostname",
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

    fn metric_points(&self, query: &MetricPointQuery) -> Result<Vec<MetricPoint>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT host, tags, ts, value FROM metric_points
             WHERE metric = ?1 AND (?2 IS NULL OR host = ?2) AND (?3 IS NULL OR ts >= ?3) AND (?4 IS NULL OR ts <= ?4)
             ORDER BY ts, rowid",
        )?;
        let points = stmt
            .query_map(params![query.metric, query.host, query.from, query.to], |r| {
                Ok(MetricPoint {
                    host: r.get(0)?,
                    tags: tags_from_json(&r.get::<_, String>(1)?),
                    timestamp: r.get(2)?,
                    value: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(points)
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
    use dogwatch_model::MetricKind;

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
    }

    #[test]
    fn metric_points_are_read_back_by_metric_and_time() {
        let (_dir, store) = store();
        let series = Series {
            metric: "system.uptime".into(),
            points: vec![(100.0, 1.0), (110.0, 2.0)],
            kind: MetricKind::Gauge,
            interval: None,
            host: Some("h1".into()),
            tags: vec![],
        };
        store.ingest(batch(None, Records::Series(vec![series]))).unwrap();
        let q = MetricPointQuery {
            metric: "system.uptime".into(),
            from: Some(105.0),
            ..Default::default()
        };
        let points = store.metric_points(&q).unwrap();
        assert_eq!(points.len(), 1);
        assert_eq!((points[0].timestamp, points[0].value), (110.0, 2.0));
    }

    #[test]
    fn api_keys_persist_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dogwatch.db");
        let key = ApiKey {
            key: "k".into(),
            name: "generated".into(),
            created_at_ms: 1,
        };
        SqliteStore::open(&path).unwrap().add_api_key(&key).unwrap();
        let reopened = SqliteStore::open(&path).unwrap();
        reopened.add_api_key(&key).unwrap();
        assert_eq!(reopened.api_keys().unwrap(), [key]);
    }
}
