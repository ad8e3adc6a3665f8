//! The `redisdb` check, as Datadog's integrations-core `redisdb` runs it: one connection per
//! instance, kept between runs while it works, and per run `INFO all` (timed), `PING` (timed),
//! `CONFIG GET maxclients`, `SLOWLOG GET`, and when configured `CLIENT LIST` and the lengths of
//! `keys` (SCAN for globs, then TYPE and LLEN/SCARD/ZCARD/HLEN/XLEN).
//!
//! Tags: `redis_host:<host or socket path>`, `redis_port:<port or unix_socket>`, and after INFO
//! `redis_role:<master|slave>`; per database `redis_db:db<N>`. `redis.can_connect` is OK once
//! INFO answers, CRITICAL with the client's error text when the connection, the password or
//! INFO fails; then the connection is dropped and the next run connects again. Every connect,
//! read and write has the instance's `socket_timeout` (5 s), so a silent server cannot hold the
//! check. `version` metadata comes from INFO's `redis_version`.

mod info;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dogwatch_model::CheckStatus;
use redis::{ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo, Value};
use serde::Deserialize;

use crate::checks::sender::Sender;
use crate::checks::{Check, CheckError, CheckSetup};
use info::{GAUGE_KEYS, Info, RATE_KEYS, is_glob, pair_number, pair_text};

pub(crate) const NAME: &str = "redisdb";

/// The service check that says whether INFO answered.
const CAN_CONNECT: &str = "redis.can_connect";
/// The service check of a replica's link to its master.
const MASTER_LINK: &str = "redis.replication.master_link_status";
/// SLOWLOG entries read per run at most, unless `slowlog-max-len` says otherwise (Datadog's cap).
const DEFAULT_MAX_SLOW_ENTRIES: u64 = 128;
/// Client names for connections that set none.
const DEFAULT_CLIENT_NAME: &str = "unknown";

/// A port given as a number or as text (`port: "6379"`), as Datadog's YAML allows.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Port {
    Number(u16),
    Text(String),
}

/// `ssl_cert_reqs`: 0 (none), 1 (optional) or 2 (required), or Python's names for them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum CertReqs {
    Number(u8),
    Text(String),
}

/// The instance's options (Datadog's `redisdb` conf.yaml).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
struct Options {
    /// `host`. Required unless `unix_socket_path` is set.
    host: Option<String>,
    /// `port`. Required with `host`.
    port: Option<Port>,
    /// `unix_socket_path`: connect to this socket instead of host and port. Defaults to none.
    unix_socket_path: Option<String>,
    /// `username` (Redis 6 ACL users). Defaults to none.
    username: Option<String>,
    /// `password`. Defaults to none.
    password: Option<String>,
    /// `db`: the database to select. Defaults to 0.
    db: Option<i64>,
    /// `socket_timeout` in seconds, for connecting and for every command. Defaults to 5.
    socket_timeout: f64,
    /// `ssl`: connect with TLS. Defaults to false.
    ssl: bool,
    /// `ssl_keyfile`: the client key (PEM) for mutual TLS. Defaults to none.
    ssl_keyfile: Option<String>,
    /// `ssl_certfile`: the client certificate (PEM) for mutual TLS. Defaults to none.
    ssl_certfile: Option<String>,
    /// `ssl_ca_certs`: CA certificates (PEM) to trust instead of the system's. Defaults to none.
    ssl_ca_certs: Option<String>,
    /// `ssl_cert_reqs`: 0 accepts any server certificate. Defaults to 2 (verified).
    ssl_cert_reqs: Option<CertReqs>,
    /// `keys`: keys (or globs) whose length is sent as `redis.key.length`. Defaults to none.
    keys: Option<Vec<String>>,
    /// `warn_on_missing_keys`: warn when a `keys` entry is in no database. Defaults to true.
    warn_on_missing_keys: bool,
    /// `slowlog-max-len`: SLOWLOG entries read per run. Defaults to the server's setting, at
    /// most 128.
    #[serde(rename = "slowlog-max-len")]
    slowlog_max_len: Option<u64>,
    /// `command_stats`: send `redis.command.calls` and `usec_per_call`. Defaults to false.
    command_stats: bool,
    /// `collect_client_metrics`: send `redis.net.connections` by client name. Defaults to false.
    collect_client_metrics: bool,
    /// `disable_connection_cache`: connect anew every run. Defaults to false.
    disable_connection_cache: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            host: None,
            port: None,
            unix_socket_path: None,
            username: None,
            password: None,
            db: None,
            socket_timeout: 5.0,
            ssl: false,
            ssl_keyfile: None,
            ssl_certfile: None,
            ssl_ca_certs: None,
            ssl_cert_reqs: None,
            keys: None,
            warn_on_missing_keys: true,
            slowlog_max_len: None,
            command_stats: false,
            collect_client_metrics: false,
            disable_connection_cache: false,
        }
    }
}

/// One configured Redis server.
pub(crate) struct Redisdb {
    client: redis::Client,
    timeout: Duration,
    db: i64,
    /// `redis_host:` and `redis_port:`.
    base_tags: Vec<String>,
    /// `host:port` or the socket path, for error messages.
    address: String,
    keys: Option<Vec<String>>,
    warn_on_missing_keys: bool,
    slowlog_max_len: Option<u64>,
    command_stats: bool,
    client_metrics: bool,
    reuse: bool,
    conn: Option<redis::Connection>,
    /// The id of the newest SLOWLOG entry already sent (ids only grow, unlike `start_time`,
    /// which has whole seconds); `None` before the first run.
    last_slowlog_id: Option<i64>,
}

/// Builds an instance, or names the option that is wrong.
pub(crate) fn build(setup: &CheckSetup) -> Result<Box<dyn Check>, String> {
    let o: Options = setup.instance_options()?;
    let at = |key: &str| format!("instances[{}].{key}", setup.index);
    let db = o.db.unwrap_or(0);
    if db < 0 {
        return Err(format!("`{}` must be 0 or more, not {db}", at("db")));
    }
    if !(o.socket_timeout.is_finite() && o.socket_timeout > 0.0) {
        return Err(format!(
            "`{}` must be a number of seconds above 0, not {}",
            at("socket_timeout"),
            o.socket_timeout
        ));
    }
    let (addr, base_tags) = match (&o.unix_socket_path, &o.host, &o.port) {
        (Some(path), _, _) => (
            ConnectionAddr::Unix(PathBuf::from(path)),
            vec![format!("redis_host:{path}"), "redis_port:unix_socket".to_string()],
        ),
        (None, Some(host), Some(port)) => {
            let port = match port {
                Port::Number(n) => *n,
                Port::Text(t) => t
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{}` must be a port number, not {t:?}", at("port")))?,
            };
            let tags = vec![format!("redis_host:{host}"), format!("redis_port:{port}")];
            let addr = if o.ssl {
                let insecure = match &o.ssl_cert_reqs {
                    None => false,
                    Some(CertReqs::Number(n)) => *n == 0,
                    Some(CertReqs::Text(t)) => {
                        matches!(t.trim().to_ascii_lowercase().as_str(), "0" | "none" | "cert_none")
                    }
                };
                ConnectionAddr::TcpTls {
                    host: host.clone(),
                    port,
                    insecure,
                    tls_params: None,
                }
            } else {
                ConnectionAddr::Tcp(host.clone(), port)
            };
            (addr, tags)
        }
        _ => {
            return Err(format!(
                "`{}` needs `host` and `port`, or `unix_socket_path`",
                format_args!("instances[{}]", setup.index)
            ));
        }
    };
    let mut settings = RedisConnectionInfo::default().set_db(db);
    if let Some(user) = o.username.as_deref().filter(|u| !u.is_empty()) {
        settings = settings.set_username(user);
    }
    if let Some(password) = o.password.as_deref().filter(|p| !p.is_empty()) {
        settings = settings.set_password(password);
    }
    let info = addr
        .into_connection_info()
        .map_err(|e| format!("`instances[{}]`: {e}", setup.index))?
        .set_redis_settings(settings);
    let client = if o.ssl && (o.ssl_ca_certs.is_some() || o.ssl_certfile.is_some()) {
        let read =
            |key: &str, path: &str| std::fs::read(path).map_err(|e| format!("`{}`: cannot read {path}: {e}", at(key)));
        let root_cert = o.ssl_ca_certs.as_deref().map(|p| read("ssl_ca_certs", p)).transpose()?;
        let client_tls = match (&o.ssl_certfile, &o.ssl_keyfile) {
            (Some(cert), Some(key)) => Some(redis::ClientTlsConfig {
                client_cert: read("ssl_certfile", cert)?,
                client_key: read("ssl_keyfile", key)?,
            }),
            (Some(_), None) => return Err(format!("`{}` needs `ssl_keyfile` too", at("ssl_certfile"))),
            _ => None,
        };
        redis::Client::build_with_tls(info, redis::TlsCertificates { client_tls, root_cert })
            .map_err(|e| format!("`instances[{}]` TLS settings: {e}", setup.index))?
    } else {
        redis::Client::open(info).map_err(|e| format!("`instances[{}]`: {e}", setup.index))?
    };
    Ok(Box::new(Redisdb {
        client,
        timeout: Duration::from_secs_f64(o.socket_timeout),
        db,
        address: match (&o.unix_socket_path, &o.host) {
            (Some(path), _) => path.clone(),
            (None, host) => format!(
                "{}:{}",
                host.as_deref().unwrap_or_default(),
                base_tags[1].trim_start_matches("redis_port:")
            ),
        },
        base_tags,
        keys: o.keys,
        warn_on_missing_keys: o.warn_on_missing_keys,
        slowlog_max_len: o.slowlog_max_len,
        command_stats: o.command_stats,
        client_metrics: o.collect_client_metrics,
        reuse: !o.disable_connection_cache,
        conn: None,
        last_slowlog_id: None,
    }))
}

impl Check for Redisdb {
    fn run(&mut self, sender: &mut Sender) -> Result<(), CheckError> {
        let reused = self.reuse && self.conn.is_some();
        let (mut conn, text, latency_ms) = match self.info() {
            Ok(answer) => answer,
            // A kept connection the server closed since the last run (a restart): once more.
            Err(e) if reused && (e.is_io_error() || e.is_connection_dropped()) => match self.info() {
                Ok(answer) => answer,
                Err(e) => return Err(self.cannot_connect(sender, &e)),
            },
            Err(e) => return Err(self.cannot_connect(sender, &e)),
        };
        let info = Info::parse(&text);
        sender.service_check(CAN_CONNECT, CheckStatus::Ok, &self.base_tags, "");
        match self.collect(&mut conn, &info, latency_ms, sender) {
            Ok(()) => {
                if self.reuse {
                    self.conn = Some(conn);
                }
                Ok(())
            }
            // The connection may be half-way through a reply: the next run starts afresh.
            Err(e) => Err(CheckError::Other(format!("redis command failed: {e}"))),
        }
    }
}

impl Redisdb {
    /// The kept connection (or a new one) and its `INFO all` answer (plain `INFO` for servers
    /// that refuse `all`), with the time INFO took in ms.
    fn info(&mut self) -> redis::RedisResult<(redis::Connection, String, f64)> {
        let mut conn = match self.conn.take() {
            Some(conn) if self.reuse => conn,
            _ => self.client.get_connection_with_timeout(self.timeout)?,
        };
        // redis-rs clears the timeouts after its handshake; every command gets them again.
        conn.set_read_timeout(Some(self.timeout))?;
        conn.set_write_timeout(Some(self.timeout))?;
        let started = Instant::now();
        let text = match redis::cmd("INFO").arg("all").query::<String>(&mut conn) {
            Ok(text) => text,
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError) => {
                redis::cmd("INFO").query::<String>(&mut conn)?
            }
            Err(e) => return Err(e),
        };
        Ok((conn, text, started.elapsed().as_secs_f64() * 1000.0))
    }

    /// Reports the failure as `redis.can_connect: CRITICAL`; the connection is already dropped.
    fn cannot_connect(&mut self, sender: &mut Sender, error: &redis::RedisError) -> CheckError {
        // redis-rs drops the server's WRONGPASS text; say what happened, and where.
        let detail = if error.kind() == redis::ErrorKind::AuthenticationFailed {
            "authentication failed: the server refused the password (or username)".to_string()
        } else {
            error.to_string()
        };
        let message = format!("Error connecting to {}: {detail}", self.address);
        sender.service_check(CAN_CONNECT, CheckStatus::Critical, &self.base_tags, &message);
        self.conn = None;
        CheckError::Other(format!("cannot connect to redis: {message}"))
    }

    fn collect(
        &mut self,
        conn: &mut redis::Connection,
        info: &Info,
        info_latency_ms: f64,
        sender: &mut Sender,
    ) -> redis::RedisResult<()> {
        let mut tags = self.base_tags.clone();
        if let Some(role) = info.text("role") {
            tags.push(format!("redis_role:{role}"));
        }
        tags.sort();
        sender.gauge("redis.info.latency_ms", round2(info_latency_ms), &tags);
        if let Some((major, minor, patch)) = info.text("redis_version").and_then(info::semver) {
            let raw = info.text("redis_version").unwrap_or_default();
            sender.set_version_metadata(raw, (major, minor, patch));
        }

        for (n, pairs) in &info.keyspace {
            let db_tags = with(&tags, format!("redis_db:db{n}"));
            let keys = pair_number(pairs, "keys").unwrap_or(-1.0);
            let expires = pair_number(pairs, "expires").unwrap_or(-1.0);
            let persist = keys - expires;
            sender.gauge("redis.persist", persist, &db_tags);
            if keys > 0.0 {
                sender.gauge("redis.persist.percent", 100.0 * persist / keys, &db_tags);
                sender.gauge("redis.expires.percent", 100.0 * expires / keys, &db_tags);
            }
            sender.gauge("redis.keys", keys, &db_tags);
            sender.gauge("redis.expires", expires, &db_tags);
        }
        for (field, metric) in GAUGE_KEYS {
            if let Some(v) = info.number(field) {
                sender.gauge(metric, v, &tags);
            }
        }
        for (field, metric) in RATE_KEYS {
            if let Some(v) = info.number(field) {
                sender.rate(metric, v, &tags);
            }
        }
        if let Some(v) = info.number("total_commands_processed") {
            sender.rate("redis.net.commands", v, &tags);
        }
        if let Some(v) = info.number("instantaneous_ops_per_sec") {
            sender.gauge("redis.net.instantaneous_ops_per_sec", v, &tags);
        }

        match redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxclients")
            .query::<Vec<String>>(conn)
        {
            Ok(pair) => {
                if let Some(v) = pair.get(1).and_then(|v| v.parse::<f64>().ok()) {
                    sender.gauge("redis.net.maxclients", v, &tags);
                }
            }
            // CONFIG is disabled on some hosted servers.
            Err(e) if is_response_error(&e) => {}
            Err(e) => return Err(e),
        }

        if self.client_metrics {
            let list: String = redis::cmd("CLIENT").arg("LIST").query(conn)?;
            let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
            for line in list.lines() {
                let name = line
                    .split(' ')
                    .find_map(|f| f.strip_prefix("name="))
                    .filter(|n| !n.is_empty())
                    .unwrap_or(DEFAULT_CLIENT_NAME);
                *by_name.entry(name.to_string()).or_default() += 1;
            }
            for (name, count) in by_name {
                sender.gauge(
                    "redis.net.connections",
                    count as f64,
                    &with(&tags, format!("source:{name}")),
                );
            }
        }

        if self.keys.is_some() {
            self.key_lengths(conn, info, &tags, sender)?;
        }
        self.replication(info, &tags, sender);
        if self.command_stats {
            for (command, pairs) in &info.commands {
                let command_tags = with(&tags, format!("command:{command}"));
                if let Some(calls) = pair_number(pairs, "calls") {
                    sender.gauge("redis.command.calls", calls, &command_tags);
                }
                if let Some(usec) = pair_number(pairs, "usec_per_call") {
                    sender.gauge("redis.command.usec_per_call", usec, &command_tags);
                }
            }
        }

        let started = Instant::now();
        redis::cmd("PING").query::<String>(conn)?;
        let ping_ms = started.elapsed().as_secs_f64() * 1000.0;
        sender.gauge("redis.ping.latency_ms", round2(ping_ms), &tags);

        self.slowlog(conn, &tags, sender)
    }

    /// `redis.key.length` for each configured key (or each key a glob matches) in each database
    /// INFO lists (or only `db` when it is set), then 0 and a warning for keys found nowhere.
    fn key_lengths(
        &mut self,
        conn: &mut redis::Connection,
        info: &Info,
        tags: &[String],
        sender: &mut Sender,
    ) -> redis::RedisResult<()> {
        let keys = self.keys.clone().unwrap_or_default();
        if keys.is_empty() {
            sender.warning("keys in redis configuration is either not a list or empty");
            return Ok(());
        }
        let mut databases: Vec<i64> = info.keyspace.iter().map(|(n, _)| i64::from(*n)).collect();
        if databases.is_empty() {
            sender.warning("Redis database is empty");
            for key in &keys {
                let mut key_tags = with(tags, format!("key:{key}"));
                if self.db != 0 {
                    key_tags.push(format!("redis_db:db{}", self.db));
                }
                sender.gauge("redis.key.length", 0.0, &key_tags);
                if self.warn_on_missing_keys {
                    sender.warning(format!("{key} key not found in redis"));
                }
            }
            return Ok(());
        }
        if self.db != 0 {
            if !databases.contains(&self.db) {
                sender.warning(format!("Cannot find database {}", self.db));
                return Ok(());
            }
            databases = vec![self.db];
        }
        let mut overall: BTreeMap<String, f64> = BTreeMap::new();
        for &db in &databases {
            redis::cmd("SELECT").arg(db).query::<()>(conn)?;
            let mut lengths: BTreeMap<String, (f64, String)> = BTreeMap::new();
            for pattern in &keys {
                let names: Vec<Vec<u8>> = if is_glob(pattern) {
                    scan(conn, pattern)?
                } else {
                    vec![pattern.as_bytes().to_vec()]
                };
                for name in names {
                    let text = String::from_utf8_lossy(&name).into_owned();
                    let key_type: String = match redis::cmd("TYPE").arg(&name).query(conn) {
                        Ok(t) => t,
                        Err(e) if is_response_error(&e) => continue,
                        Err(e) => return Err(e),
                    };
                    let length_command = match key_type.as_str() {
                        "list" => Some("LLEN"),
                        "set" => Some("SCARD"),
                        "zset" => Some("ZCARD"),
                        "hash" => Some("HLEN"),
                        "stream" => Some("XLEN"),
                        _ => None,
                    };
                    let length = match (length_command, key_type.as_str()) {
                        (Some(command), _) => redis::cmd(command).arg(&name).query::<i64>(conn)? as f64,
                        (None, "string") => 1.0,
                        // "none": the key does not exist (an emptied list, for one).
                        (None, _) => 0.0,
                    };
                    let entry = lengths.entry(text.clone()).or_insert((0.0, String::new()));
                    entry.0 += length;
                    entry.1 = key_type;
                    *overall.entry(text).or_default() += length;
                }
            }
            for (key, (length, key_type)) in lengths {
                if length > 0.0 {
                    let mut key_tags = with(tags, format!("key:{key}"));
                    key_tags.push(format!("key_type:{key_type}"));
                    key_tags.push(format!("redis_db:db{db}"));
                    sender.gauge("redis.key.length", length, &key_tags);
                }
            }
        }
        if databases != [self.db] {
            redis::cmd("SELECT").arg(self.db).query::<()>(conn)?;
        }
        for (key, total) in overall {
            if total == 0.0 {
                if self.warn_on_missing_keys {
                    sender.warning(format!("{key} key not found in redis"));
                }
                sender.gauge("redis.key.length", 0.0, &with(tags, format!("key:{key}")));
            }
        }
        Ok(())
    }

    /// Each replica's delay behind the master's offset, and on a replica its link to the master.
    fn replication(&self, info: &Info, tags: &[String], sender: &mut Sender) {
        let master_offset = info.number("master_repl_offset");
        for (n, pairs) in &info.replicas {
            let (Some(offset), Some(master)) = (pair_number(pairs, "offset"), master_offset) else {
                continue;
            };
            if offset > 0.0 && master - offset >= 0.0 {
                let mut replica_tags = tags.to_vec();
                for field in ["ip", "port"] {
                    if let Some(v) = pair_text(pairs, field) {
                        replica_tags.push(format!("slave_{field}:{v}"));
                    }
                }
                replica_tags.push(format!("slave_id:{n}"));
                sender.gauge("redis.replication.delay", master - offset, &replica_tags);
            }
        }
        if let Some(status) = info.text("master_link_status") {
            let down = if status == "up" {
                0.0
            } else {
                info.number("master_link_down_since_seconds").unwrap_or(0.0)
            };
            sender.gauge("redis.replication.master_link_down_since_seconds", down, tags);
            let state = if status == "up" {
                CheckStatus::Ok
            } else {
                CheckStatus::Critical
            };
            sender.service_check(MASTER_LINK, state, tags, "");
        }
    }

    /// `redis.slowlog.micros` for the SLOWLOG entries newer than the newest already sent (Datadog
    /// compares `start_time`s; ids tell apart entries of the same second).
    fn slowlog(
        &mut self,
        conn: &mut redis::Connection,
        tags: &[String],
        sender: &mut Sender,
    ) -> redis::RedisResult<()> {
        let max = match self.slowlog_max_len {
            Some(n) => n,
            None => match redis::cmd("CONFIG")
                .arg("GET")
                .arg("slowlog-max-len")
                .query::<Vec<String>>(conn)
            {
                Ok(pair) => {
                    let n = pair
                        .get(1)
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(DEFAULT_MAX_SLOW_ENTRIES);
                    if n > DEFAULT_MAX_SLOW_ENTRIES {
                        sender.warning(format!(
                            "Redis slowlog-max-len is higher than {DEFAULT_MAX_SLOW_ENTRIES}. Defaulting to {DEFAULT_MAX_SLOW_ENTRIES}. If you need a higher value, please set slowlog-max-len in your check config"
                        ));
                    }
                    n.min(DEFAULT_MAX_SLOW_ENTRIES)
                }
                Err(e) if is_response_error(&e) => DEFAULT_MAX_SLOW_ENTRIES,
                Err(e) => return Err(e),
            },
        };
        let entries: Value = redis::cmd("SLOWLOG").arg("GET").arg(max).query(conn)?;
        let Value::Array(entries) = entries else {
            return Ok(());
        };
        let ids: Vec<Option<i64>> = entries
            .iter()
            .map(|e| match e {
                Value::Array(fields) => fields.first().and_then(int),
                _ => None,
            })
            .collect();
        let highest = ids.iter().flatten().copied().max();
        // A restarted server numbers its entries from 0 again: all of them are new.
        let seen = match (self.last_slowlog_id, highest) {
            (Some(last), Some(high)) if high >= last => last,
            _ => -1,
        };
        for (entry, id) in entries.iter().zip(&ids) {
            let (Value::Array(fields), Some(id)) = (entry, id) else {
                continue;
            };
            let Some(duration) = fields.get(2).and_then(int) else {
                continue;
            };
            if *id <= seen {
                continue;
            }
            let mut entry_tags = tags.to_vec();
            if let Some(Value::Array(args)) = fields.get(3)
                && let Some(command) = args.first().and_then(text)
            {
                entry_tags.push(format!("command:{command}"));
            }
            sender.histogram("redis.slowlog.micros", duration as f64, &entry_tags);
        }
        self.last_slowlog_id = highest.or(self.last_slowlog_id);
        Ok(())
    }
}

/// The keys a glob matches, by SCAN.
fn scan(conn: &mut redis::Connection, pattern: &str) -> redis::RedisResult<Vec<Vec<u8>>> {
    let mut cursor: u64 = 0;
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut out = Vec::new();
    loop {
        let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query(conn)?;
        for key in batch {
            // SCAN may return a key twice.
            if seen.insert(key.clone()) {
                out.push(key);
            }
        }
        if next == 0 {
            return Ok(out);
        }
        cursor = next;
    }
}

fn is_response_error(e: &redis::RedisError) -> bool {
    matches!(e.kind(), redis::ErrorKind::Server(_))
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(n) => Some(*n),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn with(tags: &[String], extra: String) -> Vec<String> {
    let mut out = Vec::with_capacity(tags.len() + 1);
    out.extend_from_slice(tags);
    out.push(extra);
    out
}

/// Datadog's `round_value(x, 2)`.
fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::HostPaths;
    use serde_json::json;

    fn build_with(instance: serde_json::Value) -> Result<Box<dyn Check>, String> {
        let paths = HostPaths::under(std::path::Path::new("/"));
        build(&CheckSetup {
            init_config: &json!({}),
            instance: &instance,
            index: 1,
            paths: &paths,
        })
    }

    #[test]
    fn bad_options_name_their_key() {
        let err = build_with(json!({"host": "h"})).err().unwrap();
        assert!(
            err.contains("instances[1]") && err.contains("unix_socket_path"),
            "{err}"
        );
        let err = build_with(json!({"host": "h", "port": "sixty"})).err().unwrap();
        assert!(err.contains("instances[1].port"), "{err}");
        let err = build_with(json!({"host": "h", "port": 1, "db": -1})).err().unwrap();
        assert!(err.contains("instances[1].db"), "{err}");
        let err = build_with(json!({"host": "h", "port": 1, "socket_timeout": 0}))
            .err()
            .unwrap();
        assert!(err.contains("instances[1].socket_timeout"), "{err}");
        let err = build_with(json!({"host": "h", "port": 1, "keys": "k"})).err().unwrap();
        assert!(err.contains("instances[1].keys"), "{err}");
        let err = build_with(json!({"host": "h", "port": 1, "ssl": true, "ssl_ca_certs": "/nonexistent/ca.pem"}))
            .err()
            .unwrap();
        assert!(err.contains("instances[1].ssl_ca_certs"), "{err}");
    }

    #[test]
    fn ports_as_text_sockets_and_insecure_tls_are_accepted() {
        assert!(build_with(json!({"host": "h", "port": "6379"})).is_ok());
        assert!(build_with(json!({"unix_socket_path": "/run/redis.sock"})).is_ok());
        assert!(build_with(json!({"host": "h", "port": 6380, "ssl": true, "ssl_cert_reqs": 0})).is_ok());
    }
}
