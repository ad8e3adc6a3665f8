//! User-set host tags and metric metadata in SQLite.
//!
//! Tables: `user_host_tags` (one row per host, source and tag; the order a source's tags were
//! set in is kept by `position`) and `metric_metadata` (one row per metric name, the metadata
//! as a JSON object). Both are created when a store is opened, so an older store gains them.

use rusqlite::{Connection, OptionalExtension, params};

use crate::StoreError;
use crate::annotations::{MetricMetadata, TagWrite, UserHostTag};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS user_host_tags (
    host TEXT NOT NULL,
    source TEXT NOT NULL,
    tag TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (host, source, tag)
);
CREATE TABLE IF NOT EXISTS metric_metadata (
    metric TEXT PRIMARY KEY,
    metadata TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
";

pub fn host_tags(conn: &Connection, host: Option<&str>) -> Result<Vec<UserHostTag>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT host, source, tag FROM user_host_tags WHERE (?1 IS NULL OR host = ?1)
         ORDER BY host, source, position, tag",
    )?;
    let tags = stmt
        .query_map(params![host], |r| {
            Ok(UserHostTag {
                host: r.get(0)?,
                source: r.get(1)?,
                tag: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(tags)
}

pub fn set_host_tags(
    conn: &mut Connection,
    host: &str,
    source: &str,
    tags: &[String],
    write: TagWrite,
    now_ms: i64,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    if write == TagWrite::Replace {
        tx.execute(
            "DELETE FROM user_host_tags WHERE host = ?1 AND source = ?2",
            params![host, source],
        )?;
    }
    let next: i64 = tx.query_row(
        "SELECT coalesce(max(position), -1) + 1 FROM user_host_tags WHERE host = ?1 AND source = ?2",
        params![host, source],
        |r| r.get(0),
    )?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO user_host_tags (host, source, tag, position, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT DO NOTHING",
        )?;
        for (i, tag) in tags.iter().enumerate() {
            insert.execute(params![host, source, tag, next + i as i64, now_ms])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub fn delete_host_tags(conn: &Connection, host: &str, source: &str) -> Result<u64, StoreError> {
    Ok(conn.execute(
        "DELETE FROM user_host_tags WHERE host = ?1 AND source = ?2",
        params![host, source],
    )? as u64)
}

pub fn metric_metadata(conn: &Connection, metric: &str) -> Result<Option<MetricMetadata>, StoreError> {
    let text: Option<String> = conn
        .prepare_cached("SELECT metadata FROM metric_metadata WHERE metric = ?1")?
        .query_row([metric], |r| r.get(0))
        .optional()?;
    Ok(text.map(|t| serde_json::from_str(&t).unwrap_or_default()))
}

pub fn set_metric_metadata(
    conn: &Connection,
    metric: &str,
    metadata: &MetricMetadata,
    now_ms: i64,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(metadata).expect("metadata serializes to JSON");
    conn.execute(
        "INSERT INTO metric_metadata (metric, metadata, updated_at_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (metric) DO UPDATE SET metadata = excluded.metadata, updated_at_ms = excluded.updated_at_ms",
        params![metric, text, now_ms],
    )?;
    Ok(())
}

/// Sets each metric's `unit` where its metadata has none, in one transaction, so that a unit a
/// user sets at the same time is never overwritten.
pub fn set_units_if_unset(conn: &mut Connection, units: &[(String, String)], now_ms: i64) -> Result<(), StoreError> {
    if units.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    {
        let mut read = tx.prepare_cached("SELECT metadata FROM metric_metadata WHERE metric = ?1")?;
        let mut write = tx.prepare_cached(
            "INSERT INTO metric_metadata (metric, metadata, updated_at_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (metric) DO UPDATE SET metadata = excluded.metadata, updated_at_ms = excluded.updated_at_ms",
        )?;
        for (metric, unit) in units {
            let text: Option<String> = read.query_row([metric], |r| r.get(0)).optional()?;
            let mut metadata: MetricMetadata = text
                .map(|t| serde_json::from_str(&t).unwrap_or_default())
                .unwrap_or_default();
            if metadata.unit.is_some() {
                continue;
            }
            metadata.unit = Some(unit.clone());
            let text = serde_json::to_string(&metadata).expect("metadata serializes to JSON");
            write.execute(params![metric, text, now_ms])?;
        }
    }
    tx.commit()?;
    Ok(())
}
