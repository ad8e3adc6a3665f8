//! The SQLite tables of metrics, events and service check summaries, and their statements.
//!
//! `metric_contexts` holds each (metric, host, tags) once; its points are in `metric_values`
//! and, for distributions, `metric_sketches`, both keyed by (context, ts) without rowids, so
//! reading one context's window is one index range and a point written twice for the same
//! time replaces the first (Datadog's last-write-wins). Tags are stored sorted as JSON text.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::StoreError;
use crate::metrics::{
    CheckSummary, EventQuery, MetricContext, MetricNameQuery, MetricSummary, SketchSeries, StoredEvent, StoredKind,
};
use crate::sqlite::{tags_from_json, tags_json};
use dogwatch_model::{AlertType, CheckRun, CheckStatus, Event, EventPriority, Series};

/// The metric tables; part of the store's schema. A `metric_points` table from before is
/// moved into them once.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS metric_contexts (
    id INTEGER PRIMARY KEY,
    metric TEXT NOT NULL,
    host TEXT NOT NULL,
    tags TEXT NOT NULL,
    kind TEXT NOT NULL,
    interval INTEGER,
    last_ts INTEGER NOT NULL,
    UNIQUE (metric, host, tags)
);
CREATE TABLE IF NOT EXISTS metric_values (
    context INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (context, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS metric_sketches (
    context INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    sketch BLOB NOT NULL,
    PRIMARY KEY (context, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts INTEGER NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    host TEXT,
    tags TEXT NOT NULL,
    priority TEXT NOT NULL,
    alert_type TEXT NOT NULL,
    aggregation_key TEXT,
    source_type_name TEXT,
    received_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_ts ON events (ts);
CREATE INDEX IF NOT EXISTS check_runs_by_ts ON check_runs (ts);
";

/// Moves the rows of the old one-table `metric_points` into the context tables, then drops it.
pub const MIGRATE_METRIC_POINTS: &str = "
INSERT INTO metric_contexts (metric, host, tags, kind, interval, last_ts)
    SELECT metric, coalesce(host, ''), tags, kind, max(interval), CAST(max(ts) AS INTEGER) FROM metric_points
    GROUP BY metric, coalesce(host, ''), tags
    ON CONFLICT (metric, host, tags) DO NOTHING;
INSERT OR REPLACE INTO metric_values (context, ts, value)
    SELECT c.id, CAST(p.ts AS INTEGER), p.value FROM metric_points p
    JOIN metric_contexts c ON c.metric = p.metric AND c.host = coalesce(p.host, '') AND c.tags = p.tags;
DROP TABLE metric_points;
";

/// Sorted, de-duplicated tags as the JSON text a context is keyed by.
fn context_tags(tags: &[String]) -> String {
    let mut tags: Vec<&String> = tags.iter().filter(|t| !t.is_empty()).collect();
    tags.sort();
    tags.dedup();
    serde_json::to_string(&tags).expect("strings serialize to JSON")
}

fn context_id(
    tx: &Transaction<'_>,
    metric: &str,
    host: &str,
    tags: &[String],
    kind: StoredKind,
    interval: Option<u64>,
    last_ts: i64,
) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO metric_contexts (metric, host, tags, kind, interval, last_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (metric, host, tags) DO UPDATE SET kind = excluded.kind, interval = excluded.interval,
             last_ts = max(last_ts, excluded.last_ts)
         RETURNING id",
    )?
    .query_row(
        params![
            metric,
            host,
            context_tags(tags),
            kind.name(),
            interval.map(|i| i as i64),
            last_ts
        ],
        |r| r.get(0),
    )
}

pub(crate) fn write_series(tx: &Transaction<'_>, series: &[Series]) -> rusqlite::Result<()> {
    for s in series {
        let Some(last) = s.points.iter().map(|p| p.0).reduce(f64::max) else {
            continue;
        };
        let kind = match s.kind {
            dogwatch_model::MetricKind::Gauge => StoredKind::Gauge,
            dogwatch_model::MetricKind::Rate => StoredKind::Rate,
            dogwatch_model::MetricKind::Count => StoredKind::Count,
        };
        let host = s.host.as_deref().unwrap_or("");
        let id = context_id(tx, &s.metric, host, &s.tags, kind, s.interval, last as i64)?;
        let mut insert =
            tx.prepare_cached("INSERT OR REPLACE INTO metric_values (context, ts, value) VALUES (?1, ?2, ?3)")?;
        for (ts, value) in &s.points {
            insert.execute(params![id, *ts as i64, value])?;
        }
    }
    Ok(())
}

pub(crate) fn write_sketches(tx: &Transaction<'_>, sketches: &[SketchSeries]) -> rusqlite::Result<()> {
    for s in sketches {
        let Some(last) = s.points.iter().map(|p| p.0).max() else {
            continue;
        };
        let id = context_id(tx, &s.metric, &s.host, &s.tags, StoredKind::Distribution, None, last)?;
        let mut insert =
            tx.prepare_cached("INSERT OR REPLACE INTO metric_sketches (context, ts, sketch) VALUES (?1, ?2, ?3)")?;
        for (ts, sketch) in &s.points {
            insert.execute(params![id, ts, sketch])?;
        }
    }
    Ok(())
}

pub(crate) fn write_events(tx: &Transaction<'_>, events: &[Event], received_at_ms: i64) -> rusqlite::Result<Vec<i64>> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO events (ts, title, text, host, tags, priority, alert_type, aggregation_key, source_type_name, received_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let mut ids = Vec::with_capacity(events.len());
    for e in events {
        insert.execute(params![
            e.date_happened.unwrap_or(received_at_ms / 1000),
            e.title,
            e.text,
            e.host,
            tags_json(&e.tags),
            e.priority.name(),
            e.alert_type.name(),
            e.aggregation_key,
            e.source_type_name,
            received_at_ms
        ])?;
        ids.push(tx.last_insert_rowid());
    }
    Ok(ids)
}

pub(crate) fn metric_contexts(tx: &rusqlite::Connection, metric: &str) -> Result<Vec<MetricContext>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, metric, host, tags, kind, interval, last_ts FROM metric_contexts WHERE metric = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([metric], |r| {
        Ok(MetricContext {
            id: r.get(0)?,
            metric: r.get(1)?,
            host: r.get(2)?,
            tags: tags_from_json(&r.get::<_, String>(3)?),
            kind: StoredKind::from_name(&r.get::<_, String>(4)?),
            interval: r.get::<_, Option<i64>>(5)?.map(|i| i.max(0) as u64),
            last_ts: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn metric_values(
    conn: &rusqlite::Connection,
    contexts: &[i64],
    from: i64,
    to: i64,
) -> Result<Vec<(i64, i64, f64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT ts, value FROM metric_values WHERE context = ?1 AND ts >= ?2 AND ts <= ?3 ORDER BY ts",
    )?;
    let mut out = Vec::new();
    for &context in contexts {
        let rows = stmt.query_map(params![context, from, to], |r| Ok((context, r.get(0)?, r.get(1)?)))?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

pub(crate) fn metric_sketches(
    conn: &rusqlite::Connection,
    contexts: &[i64],
    from: i64,
    to: i64,
) -> Result<Vec<crate::metrics::SketchPoint>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT ts, sketch FROM metric_sketches WHERE context = ?1 AND ts >= ?2 AND ts <= ?3 ORDER BY ts",
    )?;
    let mut out = Vec::new();
    for &context in contexts {
        let rows = stmt.query_map(params![context, from, to], |r| {
            Ok(crate::metrics::SketchPoint {
                context,
                ts: r.get(0)?,
                sketch: r.get(1)?,
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

pub(crate) fn metric_names(conn: &rusqlite::Connection, q: &MetricNameQuery) -> Result<Vec<MetricSummary>, StoreError> {
    let pattern = q
        .contains
        .as_ref()
        .map(|t| format!("%{}%", t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
    let mut stmt = conn.prepare_cached(
        "SELECT metric,
                (SELECT kind FROM metric_contexts k WHERE k.metric = c.metric ORDER BY last_ts DESC LIMIT 1),
                count(*), count(DISTINCT host), max(last_ts)
         FROM metric_contexts c
         WHERE (?1 IS NULL OR metric LIKE ?1 ESCAPE '\\') AND (?2 IS NULL OR last_ts >= ?2)
           AND (?3 IS NULL OR metric IN (SELECT metric FROM metric_contexts WHERE host = ?3))
         GROUP BY metric ORDER BY metric LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![pattern, q.since, q.host, q.limit as i64], |r| {
        Ok(MetricSummary {
            name: r.get(0)?,
            kind: StoredKind::from_name(&r.get::<_, String>(1)?),
            contexts: r.get::<_, i64>(2)? as u64,
            hosts: r.get::<_, i64>(3)? as u64,
            last_seen: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

const EVENT_COLUMNS: &str = "id, ts, title, text, host, tags, priority, alert_type, aggregation_key, source_type_name";

fn event_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        id: r.get(0)?,
        event: Event {
            date_happened: Some(r.get(1)?),
            title: r.get(2)?,
            text: r.get(3)?,
            host: r.get(4)?,
            tags: tags_from_json(&r.get::<_, String>(5)?),
            priority: if r.get::<_, String>(6)? == "low" {
                EventPriority::Low
            } else {
                EventPriority::Normal
            },
            alert_type: AlertType::from_name(&r.get::<_, String>(7)?).unwrap_or_default(),
            aggregation_key: r.get(8)?,
            source_type_name: r.get(9)?,
        },
    })
}

pub(crate) fn events(conn: &rusqlite::Connection, q: &EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
    let text = q.text.as_ref().map(|t| t.to_lowercase());
    let sources = (!q.sources.is_empty()).then(|| serde_json::to_string(&q.sources).expect("strings serialize"));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM events
         WHERE ts >= ?1 AND ts <= ?2 AND (?3 IS NULL OR priority = ?3)
           AND (?4 IS NULL OR source_type_name IN (SELECT value FROM json_each(?4)))
           AND (?5 IS NULL OR instr(lower(title), ?5) > 0 OR instr(lower(text), ?5) > 0)
         ORDER BY ts DESC, id DESC LIMIT ?6"
    ))?;
    let rows = stmt.query_map(
        params![q.start, q.end, q.priority, sources, text, q.limit as i64],
        event_from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn event(conn: &rusqlite::Connection, id: i64) -> Result<Option<StoredEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = ?1"))?;
    Ok(stmt.query_row([id], event_from_row).optional()?)
}

pub(crate) fn check_summaries(conn: &rusqlite::Connection, window_start: i64) -> Result<Vec<CheckSummary>, StoreError> {
    let mut counts = std::collections::HashMap::<(String, String), [u64; 4]>::new();
    let mut stmt = conn.prepare_cached(
        "SELECT check_name, host, status, count(*) FROM check_runs WHERE ts >= ?1 GROUP BY check_name, host, status",
    )?;
    let rows = stmt.query_map([window_start], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, u8>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    for row in rows {
        let (check, host, status, n) = row?;
        counts.entry((check, host)).or_default()[usize::from(status.min(3))] += n as u64;
    }
    let mut stmt = conn.prepare_cached(
        "SELECT check_name, host, ts, status, message, tags FROM check_runs
         WHERE id IN (SELECT max(id) FROM check_runs GROUP BY check_name, host)",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(CheckRun {
            check: r.get(0)?,
            host_name: r.get(1)?,
            timestamp: Some(r.get(2)?),
            status: CheckStatus::try_from(r.get::<_, u8>(3)?).unwrap_or(CheckStatus::Unknown),
            message: r.get(4)?,
            tags: tags_from_json(&r.get::<_, String>(5)?),
        })
    })?;
    let mut out = Vec::new();
    for run in rows {
        let run = run?;
        let counts = counts
            .get(&(run.check.clone(), run.host_name.clone()))
            .copied()
            .unwrap_or_default();
        out.push(CheckSummary { run, counts });
    }
    Ok(out)
}

/// The prune statements (`?1` the cutoff in Unix seconds, `?2` the batch size).
pub const PRUNE_STATEMENTS: [&str; 5] = [
    // Per context, a seek on the (context, ts) key: no index on ts alone is needed.
    "DELETE FROM metric_values WHERE (context, ts) IN (
         SELECT v.context, v.ts FROM metric_contexts c JOIN metric_values v ON v.context = c.id AND v.ts < ?1 LIMIT ?2)",
    "DELETE FROM metric_sketches WHERE (context, ts) IN (
         SELECT v.context, v.ts FROM metric_contexts c JOIN metric_sketches v ON v.context = c.id AND v.ts < ?1 LIMIT ?2)",
    "DELETE FROM metric_contexts WHERE id IN (SELECT id FROM metric_contexts WHERE last_ts < ?1 LIMIT ?2)",
    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts < ?1 LIMIT ?2)",
    "DELETE FROM check_runs WHERE id IN (SELECT id FROM check_runs WHERE ts < ?1 LIMIT ?2)",
];
