//! The `postgres` check's SQL, after integrations-core `postgres/datadog_checks/postgres/util.py`
//! and `relationsmanager.py`, and the column-shaped queries (Datadog's `custom_queries` shape:
//! each column is a metric of some type, or a tag) that most of them are.

use serde::Deserialize;

use crate::checks::sender::{SampleKind, Sender};

/// What a column of a column-shaped query is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ColumnType {
    /// A gauge.
    Gauge,
    /// A per-second rate of a counter.
    Rate,
    /// A count.
    Count,
    /// The increase of a counter, as a count.
    MonotonicCount,
    /// A tag `<name>:<value>`.
    Tag,
    /// A tag, left out when the value is NULL.
    TagNotNull,
}

/// A column: its name (the metric's, after the prefix, or the tag's) and type.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Column {
    /// The metric or tag name.
    pub name: String,
    /// What it is.
    #[serde(rename = "type")]
    pub kind: ColumnType,
}

/// A query whose columns are metrics and tags.
#[derive(Debug, Clone)]
pub(crate) struct ColumnQuery {
    /// Shown in warnings.
    pub name: String,
    /// The SQL.
    pub sql: String,
    /// Metric names are `<prefix>.<column name>`.
    pub prefix: String,
    /// One per result column.
    pub columns: Vec<Column>,
    /// Tags added to every row.
    pub tags: Vec<String>,
}

impl ColumnQuery {
    /// A built-in query with metrics under `postgresql.`.
    pub fn builtin(name: &str, sql: &str, columns: &[(&str, ColumnType)]) -> ColumnQuery {
        ColumnQuery {
            name: name.to_string(),
            sql: sql.to_string(),
            prefix: "postgresql".to_string(),
            columns: columns
                .iter()
                .map(|(name, kind)| Column {
                    name: (*name).to_string(),
                    kind: *kind,
                })
                .collect(),
            tags: Vec::new(),
        }
    }

    /// Submits each row: its tag columns plus `tags` plus the query's tags on each metric column.
    /// A row with the wrong number of columns is a warning.
    pub fn submit(&self, rows: &[Vec<Option<String>>], tags: &[String], sender: &mut Sender) {
        for row in rows {
            if row.len() != self.columns.len() {
                sender.warning(format!(
                    "query {}: a row has {} columns, {} are configured",
                    self.name,
                    row.len(),
                    self.columns.len()
                ));
                return;
            }
            let mut row_tags: Vec<String> = tags.iter().chain(&self.tags).cloned().collect();
            for (column, value) in self.columns.iter().zip(row) {
                match (column.kind, value) {
                    (ColumnType::Tag, v) => {
                        // A row's own database replaces the instance's `db:` tag.
                        if column.name == "db" {
                            row_tags.retain(|t| !t.starts_with("db:"));
                        }
                        row_tags.push(format!("{}:{}", column.name, v.as_deref().unwrap_or("None")));
                    }
                    (ColumnType::TagNotNull, Some(v)) => row_tags.push(format!("{}:{v}", column.name)),
                    _ => {}
                }
            }
            for (column, value) in self.columns.iter().zip(row) {
                let kind = match column.kind {
                    ColumnType::Gauge => SampleKind::Gauge,
                    ColumnType::Rate => SampleKind::Rate,
                    ColumnType::Count => SampleKind::Count,
                    ColumnType::MonotonicCount => SampleKind::MonotonicCount,
                    ColumnType::Tag | ColumnType::TagNotNull => continue,
                };
                let Some(v) = value.as_deref().and_then(number) else {
                    continue;
                };
                let name = format!("{}.{}", self.prefix, column.name);
                sender.submit(kind, &name, v, &row_tags, None);
            }
        }
    }
}

/// A text value as a number (`t`/`f` as 1/0), as Datadog's check casts them.
pub(crate) fn number(text: &str) -> Option<f64> {
    match text {
        "t" => Some(1.0),
        "f" => Some(0.0),
        _ => text.parse().ok(),
    }
}

/// `'text'` with quotes doubled, for a string literal (standard_conforming_strings is on by
/// default since PostgreSQL 9.1).
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The server facts one query gives at the start of every run: the version (text and number),
/// whether it is a standby, uptime, max_connections and the connections in use, and the number
/// of databases.
pub(crate) const STATUS: &str = "SELECT current_setting('server_version'), current_setting('server_version_num'), \
pg_is_in_recovery(), FLOOR(EXTRACT(EPOCH FROM current_timestamp - pg_postmaster_start_time())), \
(SELECT setting::float FROM pg_settings WHERE name = 'max_connections'), \
(SELECT SUM(numbackends) FROM pg_stat_database), \
(SELECT COUNT(datname) FROM pg_database WHERE datistemplate = false)";

/// pg_stat_database's columns, by metric, after `datname` (PostgreSQL 9.2+).
pub(crate) fn database_columns(version_num: u32, with_size: bool) -> Vec<(&'static str, &'static str, ColumnType)> {
    use ColumnType::*;
    let mut columns = vec![
        ("numbackends", "connections", Gauge),
        ("xact_commit", "commits", Rate),
        ("xact_rollback", "rollbacks", Rate),
        ("blks_read", "disk_read", Rate),
        ("blks_hit", "buffer_hit", Rate),
        ("tup_returned", "rows_returned", Rate),
        ("tup_fetched", "rows_fetched", Rate),
        ("tup_inserted", "rows_inserted", Rate),
        ("tup_updated", "rows_updated", Rate),
        ("tup_deleted", "rows_deleted", Rate),
        ("2^31 - age(datfrozenxid)", "before_xid_wraparound", Gauge),
        ("deadlocks", "deadlocks", Rate),
        ("deadlocks", "deadlocks.count", MonotonicCount),
        ("temp_bytes", "temp_bytes", Rate),
        ("temp_files", "temp_files", Rate),
        ("blk_read_time", "blk_read_time", MonotonicCount),
        ("blk_write_time", "blk_write_time", MonotonicCount),
    ];
    if with_size {
        columns.push(("pg_database_size(psd.datname)", "database_size", Gauge));
    }
    if version_num >= 140_000 {
        columns.extend([
            ("session_time", "sessions.session_time", MonotonicCount),
            ("active_time", "sessions.active_time", MonotonicCount),
            (
                "idle_in_transaction_time",
                "sessions.idle_in_transaction_time",
                MonotonicCount,
            ),
            ("sessions", "sessions.count", MonotonicCount),
            ("sessions_abandoned", "sessions.abandoned", MonotonicCount),
            ("sessions_fatal", "sessions.fatal", MonotonicCount),
            ("sessions_killed", "sessions.killed", MonotonicCount),
        ]);
    }
    columns
}

/// The per-database query: one row per database not matching `ignore` (ILIKE patterns), or only
/// `only` (`dbstrict`).
pub(crate) fn database_query(version_num: u32, with_size: bool, ignore: &[String], only: Option<&str>) -> ColumnQuery {
    let columns = database_columns(version_num, with_size);
    let select: Vec<&str> = columns.iter().map(|(sql, _, _)| *sql).collect();
    let mut sql = format!(
        "SELECT psd.datname, {} FROM pg_stat_database psd JOIN pg_database pd ON psd.datname = pd.datname WHERE true",
        select.join(", ")
    );
    for pattern in ignore {
        sql.push_str(&format!(" AND psd.datname NOT ILIKE {}", literal(pattern)));
    }
    if let Some(db) = only {
        sql.push_str(&format!(" AND psd.datname = {}", literal(db)));
    }
    let mut query_columns = vec![Column {
        name: "db".into(),
        kind: ColumnType::Tag,
    }];
    query_columns.extend(columns.iter().map(|(_, name, kind)| Column {
        name: (*name).to_string(),
        kind: *kind,
    }));
    ColumnQuery {
        name: "pg_stat_database".into(),
        sql,
        prefix: "postgresql".into(),
        columns: query_columns,
        tags: Vec::new(),
    }
}

/// The background writer and checkpointer. PostgreSQL 17 moved the checkpoint columns to
/// pg_stat_checkpointer (and dropped buffers_backend and buffers_backend_fsync); the metric
/// names stay those of pg_stat_bgwriter's columns, as in Datadog's check.
pub(crate) fn bgwriter_query(version_num: u32) -> ColumnQuery {
    use ColumnType::MonotonicCount as M;
    if version_num >= 170_000 {
        ColumnQuery::builtin(
            "pg_stat_bgwriter",
            "SELECT cp.num_timed, cp.num_requested, cp.buffers_written, bg.buffers_clean, bg.maxwritten_clean, \
             bg.buffers_alloc, cp.write_time, cp.sync_time FROM pg_stat_bgwriter bg, pg_stat_checkpointer cp",
            &[
                ("bgwriter.checkpoints_timed", M),
                ("bgwriter.checkpoints_requested", M),
                ("bgwriter.buffers_checkpoint", M),
                ("bgwriter.buffers_clean", M),
                ("bgwriter.maxwritten_clean", M),
                ("bgwriter.buffers_alloc", M),
                ("bgwriter.write_time", M),
                ("bgwriter.sync_time", M),
            ],
        )
    } else {
        ColumnQuery::builtin(
            "pg_stat_bgwriter",
            "SELECT checkpoints_timed, checkpoints_req, buffers_checkpoint, buffers_clean, maxwritten_clean, \
             buffers_backend, buffers_alloc, buffers_backend_fsync, checkpoint_write_time, checkpoint_sync_time \
             FROM pg_stat_bgwriter",
            &[
                ("bgwriter.checkpoints_timed", M),
                ("bgwriter.checkpoints_requested", M),
                ("bgwriter.buffers_checkpoint", M),
                ("bgwriter.buffers_clean", M),
                ("bgwriter.maxwritten_clean", M),
                ("bgwriter.buffers_backend", M),
                ("bgwriter.buffers_alloc", M),
                ("bgwriter.buffers_backend_fsync", M),
                ("bgwriter.write_time", M),
                ("bgwriter.sync_time", M),
            ],
        )
    }
}

/// pg_stat_archiver.
pub(crate) fn archiver_query() -> ColumnQuery {
    use ColumnType::MonotonicCount as M;
    ColumnQuery::builtin(
        "pg_stat_archiver",
        "SELECT archived_count, failed_count FROM pg_stat_archiver",
        &[("archiver.archived_count", M), ("archiver.failed_count", M)],
    )
}

/// On a standby: how far replay is behind, in seconds and bytes (PostgreSQL 10+).
pub(crate) fn standby_delay_query() -> ColumnQuery {
    ColumnQuery::builtin(
        "replication_metrics",
        "SELECT CASE WHEN exists(SELECT * FROM pg_stat_wal_receiver) AND (pg_last_wal_receive_lsn() IS NULL \
         OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()) THEN 0 \
         ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())) END, \
         abs(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())) WHERE (SELECT pg_is_in_recovery())",
        &[
            ("replication_delay", ColumnType::Gauge),
            ("replication_delay_bytes", ColumnType::Gauge),
        ],
    )
}

/// On a primary: each replica's lag from pg_stat_replication (PostgreSQL 10+).
pub(crate) fn replication_stats_query() -> ColumnQuery {
    use ColumnType::{Gauge as G, Tag as T};
    ColumnQuery::builtin(
        "replication_stats_metrics",
        "SELECT application_name, state, sync_state, client_addr, GREATEST(0, age(backend_xmin)), \
         GREATEST(0, EXTRACT(epoch FROM write_lag)), GREATEST(0, EXTRACT(epoch FROM flush_lag)), \
         GREATEST(0, EXTRACT(epoch FROM replay_lag)) FROM pg_stat_replication",
        &[
            ("wal_app_name", T),
            ("wal_state", T),
            ("wal_sync_state", T),
            ("wal_client_addr", T),
            ("replication.backend_xmin_age", G),
            ("replication.wal_write_lag", G),
            ("replication.wal_flush_lag", G),
            ("replication.wal_replay_lag", G),
        ],
    )
}

/// Tables per schema (`collect_count_metrics`), at most `limit` schemas.
pub(crate) fn count_query(limit: u64) -> ColumnQuery {
    ColumnQuery::builtin(
        "count_metrics",
        &format!(
            "SELECT N.nspname, count(*) FROM (SELECT C.relnamespace FROM pg_class C WHERE C.relkind IN ('r', 'p')) AS s \
             LEFT JOIN pg_namespace N ON (N.oid = s.relnamespace) WHERE N.nspname NOT IN ('pg_catalog', 'information_schema') \
             GROUP BY N.nspname LIMIT {limit}"
        ),
        &[("schema", ColumnType::Tag), ("table.count", ColumnType::Gauge)],
    )
}

/// Client backends' activity per database (`collect_activity_metrics`, PostgreSQL 10+).
pub(crate) fn activity_query(user: &str) -> ColumnQuery {
    use ColumnType::{Gauge as G, Tag as T};
    ColumnQuery::builtin(
        "activity_metrics",
        &format!(
            "SELECT datname, SUM(CASE WHEN xact_start IS NOT NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN state = 'idle in transaction' THEN 1 ELSE 0 END), \
             COUNT(CASE WHEN state = 'active' AND (usename NOT IN ('postgres', {user})) THEN 1 ELSE null END), \
             COUNT(CASE WHEN wait_event is NOT NULL THEN 1 ELSE null END), \
             COUNT(CASE WHEN wait_event is NOT NULL AND state = 'active' THEN 1 ELSE null END), \
             max(EXTRACT(EPOCH FROM (clock_timestamp() - xact_start))), max(age(backend_xid)), max(age(backend_xmin)) \
             FROM pg_stat_activity WHERE backend_type = 'client backend' AND query !~* '^vacuum ' GROUP BY datid, datname",
            user = literal(user)
        ),
        &[
            ("db", T),
            ("transactions.open", G),
            ("transactions.idle_in_transaction", G),
            ("active_queries", G),
            ("waiting_queries", G),
            ("active_waiting_queries", G),
            ("activity.xact_start_age", G),
            ("activity.backend_xid_age", G),
            ("activity.backend_xmin_age", G),
        ],
    )
}

/// User functions' calls and times (`collect_function_metrics`).
pub(crate) fn function_query() -> ColumnQuery {
    use ColumnType::{Rate as R, Tag as T};
    ColumnQuery::builtin(
        "function_metrics",
        "WITH overloaded_funcs AS (SELECT funcname FROM pg_stat_user_functions s GROUP BY s.funcname HAVING COUNT(*) > 1) \
         SELECT s.schemaname, CASE WHEN o.funcname IS NULL OR p.proargnames IS NULL THEN p.proname \
         ELSE p.proname || '_' || array_to_string(p.proargnames, '_') END, s.calls, s.total_time, s.self_time \
         FROM pg_proc p JOIN pg_stat_user_functions s ON p.oid = s.funcid LEFT JOIN overloaded_funcs o ON o.funcname = s.funcname",
        &[
            ("schema", T),
            ("function", T),
            ("function.calls", R),
            ("function.total_time", R),
            ("function.self_time", R),
        ],
    )
}

/// One `relations` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Relation {
    /// An exact table name, or a regular expression (`relation_regex`).
    pub name: RelationName,
    /// Schemas to look in; empty means all.
    pub schemas: Vec<String>,
    /// `relkind`s, for the lock query.
    pub relkind: Vec<String>,
}

/// How a relation is named.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RelationName {
    /// `relation_name` (or a plain string entry).
    Exact(String),
    /// `relation_regex`, matched with PostgreSQL's `~`.
    Regex(String),
}

/// The `WHERE` filter Datadog's RelationsManager builds: any entry matches.
pub(crate) fn relation_filter(relations: &[Relation], schema_field: &str, with_relkind: bool) -> String {
    let parts: Vec<String> = relations
        .iter()
        .map(|r| {
            let mut part = match &r.name {
                RelationName::Exact(n) => format!("( relname = {}", literal(n)),
                RelationName::Regex(re) => format!("( relname ~ {}", literal(re)),
            };
            if !r.schemas.is_empty() {
                let list: Vec<String> = r.schemas.iter().map(|s| literal(s)).collect();
                part.push_str(&format!(" AND {schema_field} = ANY(array[{}]::text[])", list.join(",")));
            }
            if with_relkind && !r.relkind.is_empty() {
                let list: Vec<String> = r.relkind.iter().map(|s| literal(s)).collect();
                part.push_str(&format!(" AND relkind = ANY(array[{}])", list.join(",")));
            }
            part.push_str(" )");
            part
        })
        .collect();
    format!("({})", parts.join(" OR "))
}

/// The relation-level queries for `relations`, at most `max_relations` rows each.
pub(crate) fn relation_queries(relations: &[Relation], max_relations: u64) -> Vec<ColumnQuery> {
    use ColumnType::{Gauge as G, Rate as R, Tag as T};
    let tables = relation_filter(relations, "schemaname", false);
    let classes = relation_filter(relations, "N.nspname", false);
    let locks = relation_filter(relations, "pn.nspname", true);
    vec![
        ColumnQuery::builtin(
            "relation_metrics",
            &format!(
                "SELECT relname, schemaname, seq_scan, seq_tup_read, idx_scan, idx_tup_fetch, n_tup_ins, n_tup_upd, \
                 n_tup_del, n_tup_hot_upd, n_live_tup, n_dead_tup FROM pg_stat_user_tables WHERE {tables} \
                 ORDER BY schemaname, relname LIMIT {max_relations}"
            ),
            &[
                ("table", T),
                ("schema", T),
                ("seq_scans", R),
                ("seq_rows_read", R),
                ("index_rel_scans", R),
                ("index_rel_rows_fetched", R),
                ("rows_inserted", R),
                ("rows_updated", R),
                ("rows_deleted", R),
                ("rows_hot_updated", R),
                ("live_rows", G),
                ("dead_rows", G),
            ],
        ),
        ColumnQuery::builtin(
            "index_metrics",
            &format!(
                "SELECT relname, schemaname, indexrelname, idx_scan, idx_tup_read, idx_tup_fetch FROM pg_stat_user_indexes \
                 WHERE {tables} ORDER BY schemaname, relname, indexrelname LIMIT {max_relations}"
            ),
            &[
                ("table", T),
                ("schema", T),
                ("index", T),
                ("index_scans", R),
                ("index_rows_read", R),
                ("index_rows_fetched", R),
            ],
        ),
        ColumnQuery::builtin(
            "size_metrics",
            &format!(
                "SELECT N.nspname, relname, pg_table_size(C.oid), pg_indexes_size(C.oid), pg_total_relation_size(C.oid) \
                 FROM pg_class C LEFT JOIN pg_namespace N ON (N.oid = C.relnamespace) \
                 WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_toast' AND relkind = 'r' \
                 AND {classes} ORDER BY N.nspname, relname LIMIT {max_relations}"
            ),
            &[
                ("schema", T),
                ("table", T),
                ("table_size", G),
                ("index_size", G),
                ("total_size", G),
            ],
        ),
        ColumnQuery::builtin(
            "statio_metrics",
            &format!(
                "SELECT relname, schemaname, heap_blks_read, heap_blks_hit, idx_blks_read, idx_blks_hit, toast_blks_read, \
                 toast_blks_hit, tidx_blks_read, tidx_blks_hit FROM pg_statio_user_tables WHERE {tables} \
                 ORDER BY schemaname, relname LIMIT {max_relations}"
            ),
            &[
                ("table", T),
                ("schema", T),
                ("heap_blocks_read", R),
                ("heap_blocks_hit", R),
                ("index_blocks_read", R),
                ("index_blocks_hit", R),
                ("toast_blocks_read", R),
                ("toast_blocks_hit", R),
                ("toast_index_blocks_read", R),
                ("toast_index_blocks_hit", R),
            ],
        ),
        ColumnQuery::builtin(
            "lock_metrics",
            &format!(
                "SELECT mode, locktype, pn.nspname, pd.datname, pc.relname, count(*) FROM pg_locks l \
                 JOIN pg_database pd ON (l.database = pd.oid) JOIN pg_class pc ON (l.relation = pc.oid) \
                 LEFT JOIN pg_namespace pn ON (pn.oid = pc.relnamespace) \
                 WHERE {locks} AND l.mode IS NOT NULL AND pc.relname NOT LIKE 'pg_%' \
                 GROUP BY pd.datname, pc.relname, pn.nspname, locktype, mode LIMIT {max_relations}"
            ),
            &[
                ("lock_mode", T),
                ("lock_type", T),
                ("schema", T),
                ("db", T),
                ("table", T),
                ("locks", G),
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_double_their_quotes() {
        assert_eq!(literal("it's"), "'it''s'");
    }

    #[test]
    fn the_relation_filter_matches_names_regexes_schemas_and_relkinds() {
        let relations = vec![
            Relation {
                name: RelationName::Exact("orders".into()),
                schemas: vec![],
                relkind: vec![],
            },
            Relation {
                name: RelationName::Regex("^log_".into()),
                schemas: vec!["public".into(), "audit".into()],
                relkind: vec!["r".into()],
            },
        ];
        assert_eq!(
            relation_filter(&relations, "schemaname", false),
            "(( relname = 'orders' ) OR ( relname ~ '^log_' AND schemaname = ANY(array['public','audit']::text[]) ))"
        );
        assert!(relation_filter(&relations, "pn.nspname", true).contains("AND relkind = ANY(array['r'])"));
    }

    #[test]
    fn postgres_17_reads_the_checkpointer() {
        assert!(bgwriter_query(170_002).sql.contains("pg_stat_checkpointer"));
        assert!(!bgwriter_query(150_018).sql.contains("pg_stat_checkpointer"));
        assert_eq!(bgwriter_query(150_018).columns.len(), 10);
    }

    #[test]
    fn session_columns_need_postgres_14() {
        assert!(
            database_columns(130_000, true)
                .iter()
                .all(|c| !c.1.starts_with("sessions."))
        );
        assert!(database_columns(140_000, true).iter().any(|c| c.1 == "sessions.count"));
    }

    #[test]
    fn numbers_and_booleans_parse() {
        assert_eq!(number("12.5"), Some(12.5));
        assert_eq!(number("t"), Some(1.0));
        assert_eq!(number("x"), None);
    }
}
