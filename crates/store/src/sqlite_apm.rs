//! The SQLite tables of APM spans and stats, and their statements.
//!
//! `spans` is a rowid table (appends are cheap) with three indexes: by trace id (assembling a
//! trace is one index range), by start (time-window scans, pruning) and by service and start
//! (the explorer's usual `service:x` filter). Ids are stored as the bits of an i64. Tags are
//! one JSON text per span, read only for spans a query returns.

use rusqlite::{Connection, Transaction, params};

use crate::{SpanCursor, SpanRow, SpanScan, StatsQuery, StatsRow, StoreError};

/// The APM tables; part of the store's schema.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS spans (
    id INTEGER PRIMARY KEY,
    trace_id INTEGER NOT NULL,
    trace_id_high INTEGER NOT NULL,
    span_id INTEGER NOT NULL,
    parent_id INTEGER NOT NULL,
    start INTEGER NOT NULL,
    duration INTEGER NOT NULL,
    -- 1 = error, 2 = top-level, 4 = measured
    flags INTEGER NOT NULL,
    service TEXT NOT NULL,
    name TEXT NOT NULL,
    resource TEXT NOT NULL,
    type TEXT NOT NULL,
    host TEXT NOT NULL,
    env TEXT NOT NULL,
    version TEXT NOT NULL,
    tags TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS spans_by_trace ON spans (trace_id);
CREATE INDEX IF NOT EXISTS spans_by_start ON spans (start);
CREATE INDEX IF NOT EXISTS spans_by_service_start ON spans (service, start);
CREATE TABLE IF NOT EXISTS apm_stats (
    bucket_start INTEGER NOT NULL,
    bucket_duration INTEGER NOT NULL,
    host TEXT NOT NULL,
    env TEXT NOT NULL,
    version TEXT NOT NULL,
    service TEXT NOT NULL,
    name TEXT NOT NULL,
    resource TEXT NOT NULL,
    type TEXT NOT NULL,
    http_status_code INTEGER NOT NULL,
    span_kind TEXT NOT NULL,
    hits INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    top_level_hits INTEGER NOT NULL,
    duration INTEGER NOT NULL,
    ok_summary BLOB NOT NULL,
    error_summary BLOB NOT NULL,
    client_computed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS apm_stats_by_time ON apm_stats (bucket_start);
CREATE INDEX IF NOT EXISTS apm_stats_by_service_time ON apm_stats (service, bucket_start);
";

const SPAN_COLUMNS: &str = "id, trace_id, trace_id_high, span_id, parent_id, start, duration, flags, service, name, \
                            resource, type, host, env, version, tags";

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Tags {
    #[serde(default)]
    meta: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    metrics: std::collections::BTreeMap<String, f64>,
}

/// Writes spans in the caller's transaction.
pub fn write_spans(tx: &Transaction<'_>, spans: &[SpanRow]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO spans (trace_id, trace_id_high, span_id, parent_id, start, duration, flags, service, name,
                            resource, type, host, env, version, tags)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    for span in spans {
        let flags = i64::from(span.error) | (i64::from(span.top_level) << 1) | (i64::from(span.measured) << 2);
        let tags = tags_json(span);
        stmt.execute(params![
            span.trace_id as i64,
            span.trace_id_high as i64,
            span.span_id as i64,
            span.parent_id as i64,
            span.start,
            span.duration,
            flags,
            span.service,
            span.name,
            span.resource,
            span.kind,
            span.host,
            span.env,
            span.version,
            tags,
        ])?;
    }
    Ok(())
}

/// The span's tags as JSON (NaN and infinite metrics become null, which reads back as absent).
fn tags_json(span: &SpanRow) -> String {
    #[derive(serde::Serialize)]
    struct TagsRef<'a> {
        meta: &'a std::collections::BTreeMap<String, String>,
        metrics: &'a std::collections::BTreeMap<String, f64>,
    }
    serde_json::to_string(&TagsRef {
        meta: &span.meta,
        metrics: &span.metrics,
    })
    .unwrap_or_else(|_| "{}".to_string())
}

fn span_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(SpanCursor, SpanRow)> {
    let flags: i64 = r.get(7)?;
    let tags_text: String = r.get(15)?;
    let tags: Tags = serde_json::from_str(&tags_text).unwrap_or_default();
    let start: i64 = r.get(5)?;
    Ok((
        SpanCursor { start, row: r.get(0)? },
        SpanRow {
            trace_id: r.get::<_, i64>(1)? as u64,
            trace_id_high: r.get::<_, i64>(2)? as u64,
            span_id: r.get::<_, i64>(3)? as u64,
            parent_id: r.get::<_, i64>(4)? as u64,
            start,
            duration: r.get(6)?,
            error: flags & 1 != 0,
            top_level: flags & 2 != 0,
            measured: flags & 4 != 0,
            service: r.get(8)?,
            name: r.get(9)?,
            resource: r.get(10)?,
            kind: r.get(11)?,
            host: r.get(12)?,
            env: r.get(13)?,
            version: r.get(14)?,
            meta: tags.meta,
            metrics: tags.metrics,
        },
    ))
}

/// Every span of a trace, by start.
pub fn trace_spans(conn: &Connection, trace_id: u64) -> Result<Vec<SpanRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SPAN_COLUMNS} FROM spans WHERE trace_id = ?1 ORDER BY start, id"
    ))?;
    let rows = stmt.query_map([trace_id as i64], span_from_row)?;
    Ok(rows.map(|r| r.map(|(_, span)| span)).collect::<Result<_, _>>()?)
}

/// Spans in a window, newest first.
pub fn scan_spans(conn: &Connection, scan: &SpanScan) -> Result<Vec<(SpanCursor, SpanRow)>, StoreError> {
    let (before_start, before_row) = match scan.before {
        Some(c) => (c.start, c.row),
        None if scan.oldest_first => (i64::MIN, i64::MIN),
        None => (i64::MAX, i64::MAX),
    };
    let (after, order) = if scan.oldest_first {
        ("start > ?4 OR (start = ?4 AND id > ?5)", "ASC")
    } else {
        ("start < ?4 OR (start = ?4 AND id < ?5)", "DESC")
    };
    let mut flags_mask = 0i64;
    if scan.errors_only {
        flags_mask |= 1;
    }
    if scan.top_level_only {
        flags_mask |= 2;
    }
    // With a service the (service, start) index serves the range; otherwise the start index.
    let index = if scan.service.is_some() {
        "spans_by_service_start"
    } else {
        "spans_by_start"
    };
    let sql = format!(
        "SELECT {SPAN_COLUMNS} FROM spans INDEXED BY {index}
         WHERE (?1 IS NULL OR service = ?1) AND start >= ?2 AND start < ?3
           AND ({after})
           AND (?6 IS NULL OR env = ?6) AND (flags & ?7) = ?7
         ORDER BY start {order}, id {order} LIMIT ?8"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![
            scan.service,
            scan.from_ns,
            scan.to_ns,
            before_start,
            before_row,
            scan.env,
            flags_mask,
            scan.limit as i64
        ],
        span_from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Writes stats rows in the caller's transaction.
pub fn write_stats(tx: &Transaction<'_>, rows: &[StatsRow]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO apm_stats (bucket_start, bucket_duration, host, env, version, service, name, resource, type,
                                http_status_code, span_kind, hits, errors, top_level_hits, duration, ok_summary,
                                error_summary, client_computed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    )?;
    for row in rows {
        stmt.execute(params![
            row.bucket_start,
            row.bucket_duration,
            row.host,
            row.env,
            row.version,
            row.service,
            row.name,
            row.resource,
            row.kind,
            row.http_status_code,
            row.span_kind,
            row.hits as i64,
            row.errors as i64,
            row.top_level_hits as i64,
            row.duration as i64,
            row.ok_summary,
            row.error_summary,
            row.client_computed,
        ])?;
    }
    Ok(())
}

/// Stats rows in a window.
pub fn apm_stats(conn: &Connection, query: &StatsQuery) -> Result<Vec<StatsRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT bucket_start, bucket_duration, host, env, version, service, name, resource, type, http_status_code,
                span_kind, hits, errors, top_level_hits, duration, ok_summary, error_summary, client_computed
         FROM apm_stats
         WHERE (?1 IS NULL OR service = ?1) AND bucket_start >= ?2 AND bucket_start < ?3
           AND (?4 IS NULL OR env = ?4) AND (?5 IS NULL OR resource = ?5)
         ORDER BY bucket_start",
    )?;
    let rows = stmt.query_map(
        params![query.service, query.from_ns, query.to_ns, query.env, query.resource],
        |r| {
            Ok(StatsRow {
                bucket_start: r.get(0)?,
                bucket_duration: r.get(1)?,
                host: r.get(2)?,
                env: r.get(3)?,
                version: r.get(4)?,
                service: r.get(5)?,
                name: r.get(6)?,
                resource: r.get(7)?,
                kind: r.get(8)?,
                http_status_code: r.get(9)?,
                span_kind: r.get(10)?,
                hits: r.get::<_, i64>(11)? as u64,
                errors: r.get::<_, i64>(12)? as u64,
                top_level_hits: r.get::<_, i64>(13)? as u64,
                duration: r.get::<_, i64>(14)? as u64,
                ok_summary: r.get(15)?,
                error_summary: r.get(16)?,
                client_computed: r.get(17)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The prune statements (`?1` the cutoff in ns, `?2` the batch size).
pub const PRUNE_STATEMENTS: [&str; 2] = [
    "DELETE FROM spans WHERE id IN (SELECT id FROM spans WHERE start < ?1 LIMIT ?2)",
    "DELETE FROM apm_stats WHERE rowid IN (SELECT rowid FROM apm_stats WHERE bucket_start < ?1 LIMIT ?2)",
];
