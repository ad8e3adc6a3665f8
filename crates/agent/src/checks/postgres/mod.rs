//! The `postgres` check, as Datadog's integrations-core `postgres` runs it (metrics under
//! `postgresql.`): per database from pg_stat_database, connections, the background writer and
//! checkpointer (pg_stat_checkpointer on PostgreSQL 17+), the archiver, replication, tables
//! per schema, and for the configured `relations` table, index, size, I/O and lock metrics;
//! optionally activity, functions and `custom_queries`.
//!
//! One connection per instance, kept between runs while it works, on tokio-postgres driven by
//! the instance's own current-thread runtime (the check runs on the blocking pool). Every
//! connect has `connect_timeout` and every query `query_timeout` on the client, and the server
//! gets `statement_timeout` too, so a silent server cannot hold the check. `postgres.can_connect`
//! is CRITICAL with the error when the server is down, refuses the password or the connection
//! breaks; the connection is then dropped and the next run connects again.
//!
//! Tags: `server:<host>` (not with `disable_generic_tags`), `port:<port>` and `db:<dbname>`;
//! rows about one database carry `db:<that database>` instead. `dbm: true` is accepted but
//! collects nothing more: Database Monitoring's samples and explain plans are not part of
//! dogwatch.

mod queries;
mod tls;

use std::time::Duration;

use dogwatch_model::CheckStatus;
use serde::Deserialize;
use serde_json::Value;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use crate::checks::sender::Sender;
use crate::checks::{Check, CheckError, CheckSetup};
use queries::{Column, ColumnQuery, Relation, RelationName, number};

pub(crate) const NAME: &str = "postgres";

/// The service check that says whether the server answered.
const CAN_CONNECT: &str = "postgres.can_connect";
/// Datadog's default `ignore_databases` (ILIKE patterns); `postgres` is dropped from it with
/// `collect_default_database: true`.
const DEFAULT_IGNORE: &[&str] = &["template%", "rdsadmin", "azure_maintenance", "postgres"];
/// How much longer than `query_timeout` the client waits before it gives up on the server
/// (which cancels the statement itself at `query_timeout`).
const CLIENT_GRACE: Duration = Duration::from_secs(1);

/// `port`, as a number or text.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Port {
    Number(u16),
    Text(String),
}

/// `ssl`: a libpq `sslmode`, or a boolean (true = `require`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Ssl {
    Flag(bool),
    Mode(String),
}

/// A `custom_queries` entry, in Datadog's shape.
#[derive(Debug, Clone, Deserialize)]
struct CustomQuery {
    /// Metric names are `<metric_prefix>.<column name>`.
    metric_prefix: String,
    /// The SQL.
    query: String,
    /// One per result column: `{name, type}`, type gauge|rate|count|monotonic_count|tag.
    columns: Vec<Column>,
    /// Tags added to every metric of the query. Defaults to none.
    #[serde(default)]
    tags: Vec<String>,
}

/// The instance's options (Datadog's `postgres` conf.yaml).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
struct Options {
    /// `host`: name, address, or a Unix socket directory. Required.
    host: Option<String>,
    /// `port`. Defaults to 5432.
    port: Option<Port>,
    /// `username`. Required.
    username: Option<String>,
    /// `password`. Defaults to none.
    password: Option<String>,
    /// `dbname`: the database to connect to. Defaults to `postgres`.
    dbname: String,
    /// `dbstrict`: per-database metrics for `dbname` only. Defaults to false.
    dbstrict: bool,
    /// `ignore_databases`: ILIKE patterns of databases left out. Defaults to Datadog's list.
    ignore_databases: Option<Vec<String>>,
    /// `ssl`: disable, allow, prefer, require, verify-ca or verify-full; true means require.
    /// Defaults to disable.
    ssl: Option<Ssl>,
    /// `ssl_root_cert`: CA certificates (PEM) for verify-ca and verify-full. Defaults to none.
    ssl_root_cert: Option<String>,
    /// `ssl_cert`: the client certificate (PEM). Defaults to none.
    ssl_cert: Option<String>,
    /// `ssl_key`: the client key (PEM). Defaults to none.
    ssl_key: Option<String>,
    /// `query_timeout` in milliseconds, for every query. Defaults to 5000.
    query_timeout: u64,
    /// `connect_timeout` in seconds. Defaults to 5.
    connect_timeout: f64,
    /// `relations`: tables for relation-level metrics. Defaults to none.
    relations: Vec<Value>,
    /// `max_relations`: rows per relation query at most. Defaults to 300.
    max_relations: u64,
    /// `collect_function_metrics`. Defaults to false.
    collect_function_metrics: bool,
    /// `collect_count_metrics`: `postgresql.table.count` per schema. Defaults to true.
    collect_count_metrics: bool,
    /// `collect_activity_metrics`: pg_stat_activity per database. Defaults to false.
    collect_activity_metrics: bool,
    /// `collect_database_size_metrics`: `postgresql.database_size`. Defaults to true.
    collect_database_size_metrics: bool,
    /// `collect_default_database`: include the `postgres` database. Defaults to false.
    collect_default_database: bool,
    /// `tag_replication_role`: add `replication_role:master|standby`. Defaults to false.
    tag_replication_role: bool,
    /// `table_count_limit`: schemas counted at most. Defaults to 200.
    table_count_limit: u64,
    /// `custom_queries`. Defaults to none.
    custom_queries: Vec<Value>,
    /// `application_name` the server sees. Defaults to `datadog-agent`.
    application_name: String,
    /// `disable_generic_tags`: no `server:` tag. Defaults to false.
    disable_generic_tags: bool,
    /// `dbm`: accepted; Database Monitoring is not collected by dogwatch. Defaults to false.
    dbm: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            host: None,
            port: None,
            username: None,
            password: None,
            dbname: "postgres".into(),
            dbstrict: false,
            ignore_databases: None,
            ssl: None,
            ssl_root_cert: None,
            ssl_cert: None,
            ssl_key: None,
            query_timeout: 5000,
            connect_timeout: 5.0,
            relations: Vec::new(),
            max_relations: 300,
            collect_function_metrics: false,
            collect_count_metrics: true,
            collect_activity_metrics: false,
            collect_database_size_metrics: true,
            collect_default_database: false,
            tag_replication_role: false,
            table_count_limit: 200,
            custom_queries: Vec::new(),
            application_name: "datadog-agent".into(),
            disable_generic_tags: false,
            dbm: false,
        }
    }
}

/// How the check connects: plain, or TLS with a rustls configuration.
enum Tls {
    Plain,
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

/// An open connection: the client and its connection task on the instance's runtime.
struct Session {
    client: Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Why a query gave no rows.
enum QueryFailure {
    /// The server answered with an error; the connection is fine.
    Server(String),
    /// The connection broke or the server did not answer in time; it is dropped.
    Lost(String),
}

/// One configured PostgreSQL server.
pub(crate) struct Postgres {
    config: tokio_postgres::Config,
    tls: Tls,
    runtime: tokio::runtime::Runtime,
    session: Option<Session>,
    connect_timeout: Duration,
    query_timeout: Duration,
    username: String,
    dbname: String,
    dbstrict: bool,
    ignore: Vec<String>,
    base_tags: Vec<String>,
    relations: Vec<Relation>,
    max_relations: u64,
    function_metrics: bool,
    count_metrics: bool,
    activity_metrics: bool,
    size_metrics: bool,
    tag_replication_role: bool,
    table_count_limit: u64,
    custom: Vec<ColumnQuery>,
}

/// Builds an instance, or names the option that is wrong.
pub(crate) fn build(setup: &CheckSetup) -> Result<Box<dyn Check>, String> {
    let o: Options = setup.instance_options()?;
    let at = |key: &str| format!("instances[{}].{key}", setup.index);
    let host = o
        .host
        .clone()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("`{}` is required", at("host")))?;
    let username = o
        .username
        .clone()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| format!("`{}` is required", at("username")))?;
    let port = match &o.port {
        None => 5432,
        Some(Port::Number(n)) => *n,
        Some(Port::Text(t)) => t
            .trim()
            .parse()
            .map_err(|_| format!("`{}` must be a port number, not {t:?}", at("port")))?,
    };
    if o.query_timeout == 0 {
        return Err(format!(
            "`{}` must be a number of milliseconds above 0",
            at("query_timeout")
        ));
    }
    if !(o.connect_timeout.is_finite() && o.connect_timeout > 0.0) {
        return Err(format!(
            "`{}` must be a number of seconds above 0",
            at("connect_timeout")
        ));
    }
    let mode = match &o.ssl {
        None | Some(Ssl::Flag(false)) => "disable".to_string(),
        Some(Ssl::Flag(true)) => "require".to_string(),
        Some(Ssl::Mode(m)) => match m.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => "require".into(),
            "false" | "no" | "off" | "0" => "disable".into(),
            other => other.to_string(),
        },
    };
    let files = tls::TlsFiles {
        root_cert: o.ssl_root_cert.clone(),
        cert: o.ssl_cert.clone(),
        key: o.ssl_key.clone(),
    };
    let (ssl_mode, verify) = match mode.as_str() {
        "disable" => (SslMode::Disable, None),
        // tokio-postgres has no `allow` (plain first, then TLS): it tries TLS first, as `prefer`.
        "allow" | "prefer" => (SslMode::Prefer, Some(tls::Verify::None)),
        "require" => (SslMode::Require, Some(tls::Verify::None)),
        "verify-ca" => (SslMode::Require, Some(tls::Verify::Chain)),
        "verify-full" => (SslMode::Require, Some(tls::Verify::Full)),
        other => {
            return Err(format!(
                "`{}` must be disable, allow, prefer, require, verify-ca, verify-full or a boolean, not {other:?}",
                at("ssl")
            ));
        }
    };
    let tls = match verify {
        None => Tls::Plain,
        Some(verify) => Tls::Rustls(tokio_postgres_rustls::MakeRustlsConnect::new(
            tls::client_config(verify, &files).map_err(|e| format!("`{}`: {e}", at("ssl")))?,
        )),
    };
    let relations = o
        .relations
        .iter()
        .enumerate()
        .map(|(i, v)| relation(v).map_err(|e| format!("`{}[{i}]`: {e}", at("relations"))))
        .collect::<Result<Vec<_>, _>>()?;
    let custom = o
        .custom_queries
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let q: CustomQuery =
                serde_json::from_value(v.clone()).map_err(|e| format!("`{}[{i}]`: {e}", at("custom_queries")))?;
            if q.metric_prefix.is_empty() || q.query.trim().is_empty() || q.columns.is_empty() {
                return Err(format!(
                    "`{}[{i}]` needs a metric_prefix, a query and columns",
                    at("custom_queries")
                ));
            }
            Ok(ColumnQuery {
                name: format!("custom_queries[{i}]"),
                sql: q.query,
                prefix: q.metric_prefix,
                columns: q.columns,
                tags: q.tags,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut ignore: Vec<String> = o
        .ignore_databases
        .clone()
        .unwrap_or_else(|| DEFAULT_IGNORE.iter().map(|s| s.to_string()).collect());
    if o.collect_default_database {
        ignore.retain(|d| d != "postgres");
    }
    let unix_socket = host.starts_with('/');
    let mut base_tags = Vec::new();
    if !o.disable_generic_tags {
        base_tags.push(format!("server:{host}"));
    }
    base_tags.push(if unix_socket {
        "port:socket".to_string()
    } else {
        format!("port:{port}")
    });
    base_tags.push(format!("db:{}", o.dbname));
    if o.dbm {
        tracing::info!(
            check = NAME,
            "`dbm: true` is accepted; Database Monitoring (query samples, statement metrics, explain plans) is not collected by dogwatch."
        );
    }

    let query_timeout = Duration::from_millis(o.query_timeout);
    let connect_timeout = Duration::from_secs_f64(o.connect_timeout);
    let mut config = tokio_postgres::Config::new();
    config
        .host(&host)
        .port(port)
        .user(&username)
        .dbname(&o.dbname)
        .application_name(&o.application_name)
        .connect_timeout(connect_timeout)
        .options(format!("-c statement_timeout={}", o.query_timeout))
        .ssl_mode(ssl_mode);
    if let Some(password) = &o.password {
        config.password(password);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot start the check's runtime: {e}"))?;
    Ok(Box::new(Postgres {
        config,
        tls,
        runtime,
        session: None,
        connect_timeout,
        query_timeout,
        username,
        dbname: o.dbname,
        dbstrict: o.dbstrict,
        ignore,
        base_tags,
        relations,
        max_relations: o.max_relations,
        function_metrics: o.collect_function_metrics,
        count_metrics: o.collect_count_metrics,
        activity_metrics: o.collect_activity_metrics,
        size_metrics: o.collect_database_size_metrics,
        tag_replication_role: o.tag_replication_role,
        table_count_limit: o.table_count_limit,
        custom,
    }))
}

/// A `relations` entry: a table name, or `{relation_name | relation_regex, schemas, relkind}`.
fn relation(value: &Value) -> Result<Relation, String> {
    #[derive(Deserialize)]
    struct Entry {
        relation_name: Option<String>,
        relation_regex: Option<String>,
        #[serde(default)]
        schemas: Vec<String>,
        #[serde(default)]
        relkind: Vec<String>,
    }
    if let Value::String(name) = value {
        return Ok(Relation {
            name: RelationName::Exact(name.clone()),
            schemas: Vec::new(),
            relkind: Vec::new(),
        });
    }
    let entry: Entry = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    let name = match (entry.relation_name, entry.relation_regex) {
        (Some(n), _) => RelationName::Exact(n),
        (None, Some(re)) => RelationName::Regex(re),
        (None, None) => return Err("needs relation_name or relation_regex".into()),
    };
    Ok(Relation {
        name,
        // Datadog's `ALL_SCHEMAS` marker means no filter.
        schemas: entry.schemas.into_iter().filter(|s| s != "ALL_SCHEMAS").collect(),
        relkind: entry.relkind,
    })
}

impl Check for Postgres {
    fn run(&mut self, sender: &mut Sender) -> Result<(), CheckError> {
        let reused = self.session.is_some();
        let status = match self.status() {
            Ok(row) => row,
            // A kept connection the server closed since the last run: connect once more.
            Err(QueryFailure::Lost(_)) if reused => match self.status() {
                Ok(row) => row,
                Err(QueryFailure::Lost(e) | QueryFailure::Server(e)) => return Err(self.cannot_connect(sender, e)),
            },
            Err(QueryFailure::Lost(e) | QueryFailure::Server(e)) => return Err(self.cannot_connect(sender, e)),
        };
        match self.collect(&status, sender) {
            Ok(()) => {
                sender.service_check(CAN_CONNECT, CheckStatus::Ok, &self.base_tags, "");
                Ok(())
            }
            Err(e) => Err(self.cannot_connect(sender, e)),
        }
    }
}

impl Postgres {
    /// Reports the failure as `postgres.can_connect: CRITICAL` and drops the connection.
    fn cannot_connect(&mut self, sender: &mut Sender, message: String) -> CheckError {
        sender.service_check(CAN_CONNECT, CheckStatus::Critical, &self.base_tags, &message);
        self.session = None;
        CheckError::Other(format!("cannot collect from postgres: {message}"))
    }

    /// Connects when there is no connection.
    fn connect(&mut self) -> Result<(), String> {
        if self.session.as_ref().is_some_and(|s| s.client.is_closed()) {
            self.session = None;
        }
        if self.session.is_none() {
            let config = self.config.clone();
            let limit = self.connect_timeout;
            let session = match &self.tls {
                Tls::Plain => self.runtime.block_on(async move {
                    let (client, connection) = tokio::time::timeout(limit, config.connect(NoTls))
                        .await
                        .map_err(|_| format!("connecting took longer than {}s", limit.as_secs_f64()))?
                        .map_err(|e| describe(&e))?;
                    let task = tokio::spawn(async move {
                        let _ = connection.await;
                    });
                    Ok::<_, String>(Session { client, task })
                }),
                Tls::Rustls(tls) => {
                    let tls = tls.clone();
                    self.runtime.block_on(async move {
                        let (client, connection) = tokio::time::timeout(limit, config.connect(tls))
                            .await
                            .map_err(|_| format!("connecting took longer than {}s", limit.as_secs_f64()))?
                            .map_err(|e| describe(&e))?;
                        let task = tokio::spawn(async move {
                            let _ = connection.await;
                        });
                        Ok::<_, String>(Session { client, task })
                    })
                }
            }?;
            self.session = Some(session);
        }
        Ok(())
    }

    /// Runs `sql` (simple protocol: one round trip, text values) within the query timeout.
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, QueryFailure> {
        let limit = self.query_timeout + CLIENT_GRACE;
        self.connect().map_err(QueryFailure::Lost)?;
        let Some(session) = &self.session else {
            return Err(QueryFailure::Lost("not connected".into()));
        };
        let client = &session.client;
        let result = self
            .runtime
            .block_on(async { tokio::time::timeout(limit, client.simple_query(sql)).await });
        match result {
            Ok(Ok(messages)) => Ok(messages
                .into_iter()
                .filter_map(|m| match m {
                    SimpleQueryMessage::Row(row) => {
                        Some((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect())
                    }
                    _ => None,
                })
                .collect()),
            // An ERROR leaves the session usable; FATAL or PANIC (a shutdown, a terminated
            // backend) ends it.
            Ok(Err(e))
                if e.as_db_error()
                    .is_some_and(|db| !matches!(db.severity(), "FATAL" | "PANIC")) =>
            {
                Err(QueryFailure::Server(describe(&e)))
            }
            Ok(Err(e)) => {
                self.session = None;
                Err(QueryFailure::Lost(describe(&e)))
            }
            Err(_) => {
                self.session = None;
                Err(QueryFailure::Lost(format!(
                    "the server did not answer a query within {}ms",
                    limit.as_millis()
                )))
            }
        }
    }

    /// The server facts of [`queries::STATUS`].
    fn status(&mut self) -> Result<Vec<Option<String>>, QueryFailure> {
        self.query(queries::STATUS)?
            .into_iter()
            .next()
            .ok_or_else(|| QueryFailure::Server("the status query returned no row".into()))
    }

    /// Runs a column-shaped query; a server error (a missing view, a permission) is a warning.
    fn column_query(&mut self, query: &ColumnQuery, tags: &[String], sender: &mut Sender) -> Result<(), String> {
        match self.query(&query.sql) {
            Ok(rows) => {
                query.submit(&rows, tags, sender);
                Ok(())
            }
            Err(QueryFailure::Server(e)) => {
                sender.warning(format!("query {} failed: {e}", query.name));
                Ok(())
            }
            Err(QueryFailure::Lost(e)) => Err(e),
        }
    }

    fn collect(&mut self, status: &[Option<String>], sender: &mut Sender) -> Result<(), String> {
        let field = |i: usize| status.get(i).cloned().flatten();
        let raw_version = field(0).unwrap_or_default();
        let version_num: u32 = field(1).and_then(|v| v.parse().ok()).unwrap_or(0);
        let standby = field(2).as_deref() == Some("t");
        let mut tags = self.base_tags.clone();
        if self.tag_replication_role {
            tags.push(format!(
                "replication_role:{}",
                if standby { "standby" } else { "master" }
            ));
        }
        if let Some(parts) = version_parts(&raw_version) {
            sender.set_version_metadata(&raw_version, parts);
        }
        if let Some(uptime) = field(3).as_deref().and_then(number) {
            sender.gauge("postgresql.uptime", uptime, &tags);
        }
        let max_connections = field(4).as_deref().and_then(number);
        if let Some(max) = max_connections {
            sender.gauge("postgresql.max_connections", max, &tags);
            if let Some(used) = field(5).as_deref().and_then(number)
                && max > 0.0
            {
                sender.gauge("postgresql.percent_usage_connections", used / max, &tags);
            }
        }
        if let Some(count) = field(6).as_deref().and_then(number) {
            sender.gauge("postgresql.db.count", count, &tags);
        }

        let only = self.dbstrict.then(|| self.dbname.clone());
        let per_db = queries::database_query(version_num, self.size_metrics, &self.ignore, only.as_deref());
        self.column_query(&per_db, &tags, sender)?;
        self.column_query(&queries::bgwriter_query(version_num), &tags, sender)?;
        self.column_query(&queries::archiver_query(), &tags, sender)?;
        if version_num >= 100_000 {
            if standby {
                self.column_query(&queries::standby_delay_query(), &tags, sender)?;
            }
            self.column_query(&queries::replication_stats_query(), &tags, sender)?;
            if self.activity_metrics {
                let activity = queries::activity_query(&self.username);
                self.column_query(&activity, &tags, sender)?;
            }
        }
        if self.count_metrics {
            self.column_query(&queries::count_query(self.table_count_limit), &tags, sender)?;
        }
        if self.function_metrics {
            self.column_query(&queries::function_query(), &tags, sender)?;
        }
        if !self.relations.is_empty() {
            for query in queries::relation_queries(&self.relations, self.max_relations) {
                self.column_query(&query, &tags, sender)?;
            }
        }
        for query in self.custom.clone() {
            self.column_query(&query, &tags, sender)?;
        }
        Ok(())
    }
}

/// A tokio-postgres error with its cause (`db error: FATAL: password authentication failed…`,
/// `error connecting to server: Connection refused (os error 111)`).
fn describe(e: &tokio_postgres::Error) -> String {
    use std::error::Error as _;
    match e.source() {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    }
}

/// `15.18 (Debian 15.18-0+deb12u1)` → (15, 18, 0); `9.6.24` → (9, 6, 24); `17beta1` → (17, 0, 0).
fn version_parts(raw: &str) -> Option<(u64, u64, u64)> {
    let lead: String = raw
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = lead.split('.').filter(|p| !p.is_empty()).map(|p| p.parse::<u64>());
    let major = parts.next()?.ok()?;
    let minor = parts.next().and_then(Result::ok).unwrap_or(0);
    let patch = parts.next().and_then(Result::ok).unwrap_or(0);
    Some((major, minor, patch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::HostPaths;
    use serde_json::json;

    fn build_with(instance: Value) -> Result<Box<dyn Check>, String> {
        let paths = HostPaths::under(std::path::Path::new("/"));
        build(&CheckSetup {
            init_config: &json!({}),
            instance: &instance,
            index: 0,
            paths: &paths,
        })
    }

    #[test]
    fn versions_read_as_datadog_reads_them() {
        assert_eq!(version_parts("15.18 (Debian 15.18-0+deb12u1)"), Some((15, 18, 0)));
        assert_eq!(version_parts("9.6.24"), Some((9, 6, 24)));
        assert_eq!(version_parts("17beta1"), Some((17, 0, 0)));
        assert_eq!(version_parts("x"), None);
    }

    #[test]
    fn bad_options_name_their_key() {
        let err = build_with(json!({"username": "u"})).err().unwrap();
        assert!(err.contains("instances[0].host"), "{err}");
        let err = build_with(json!({"host": "h", "username": "u", "ssl": "sometimes"}))
            .err()
            .unwrap();
        assert!(err.contains("instances[0].ssl"), "{err}");
        let err = build_with(json!({"host": "h", "username": "u", "relations": [{"schemas": ["public"]}]}))
            .err()
            .unwrap();
        assert!(err.contains("instances[0].relations[0]"), "{err}");
        let err = build_with(json!({"host": "h", "username": "u",
            "custom_queries": [{"metric_prefix": "x", "query": "SELECT 1", "columns": [{"name": "a", "type": "histo"}]}]}))
        .err()
        .unwrap();
        assert!(err.contains("instances[0].custom_queries[0]"), "{err}");
        let err = build_with(json!({"host": "h", "username": "u", "ssl": "verify-full"}))
            .err()
            .unwrap();
        assert!(err.contains("ssl_root_cert"), "{err}");
        assert!(build_with(json!({"host": "h", "username": "u", "ssl": true, "dbm": true})).is_ok());
    }
}
