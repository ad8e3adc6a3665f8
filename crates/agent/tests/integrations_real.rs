//! The `redisdb` and `postgres` checks against real servers (Debian's redis-server and a
//! PostgreSQL cluster made by the test), configured through conf.d as a user would: every
//! documented metric with its type and tags, values that follow known actions, `can_connect`
//! going CRITICAL with the error when the password is wrong or the server stops and OK again
//! when it is back, and the `version` metadata.

#[path = "support/services.rs"]
mod services;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use dogwatch_agent::checks::confd::read_confd;
use dogwatch_agent::checks::runner::{RunOutcome, RunnerSettings, run_once};
use dogwatch_agent::checks::{CheckInstance, CheckOutput, Sender, plan};
use dogwatch_agent::process::HostPaths;
use dogwatch_model::{CheckRun, CheckStatus, MetricKind, Series};
use services::{PostgresServer, RedisServer};

fn settings() -> RunnerSettings {
    RunnerSettings {
        hostname: "test-host".into(),
        host_tags: vec![],
        histogram_aggregates: vec![
            dogwatch_agent::dogstatsd::aggregate::HistogramAggregate::Max,
            dogwatch_agent::dogstatsd::aggregate::HistogramAggregate::Median,
            dogwatch_agent::dogstatsd::aggregate::HistogramAggregate::Avg,
            dogwatch_agent::dogstatsd::aggregate::HistogramAggregate::Count,
        ],
        histogram_percentiles: vec![0.95],
        agent_up_interval: Duration::from_secs(15),
    }
}

/// The instances conf.d gives for `check`, from files `name -> yaml`.
fn instances(check: &str, files: &[(&str, String)]) -> Vec<CheckInstance> {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let plan = plan(&read_confd(dir.path()), &HostPaths::under(Path::new("/")), false);
    assert!(plan.loading_errors.is_empty(), "{:?}", plan.loading_errors);
    assert!(plan.config_errors.is_empty(), "{:?}", plan.config_errors);
    plan.instances.into_iter().filter(|i| i.name == check).collect()
}

struct Runner {
    instance: CheckInstance,
    sender: Sender,
}

impl Runner {
    fn new(instance: CheckInstance) -> Runner {
        let sender = settings().sender_for(&instance);
        Runner { instance, sender }
    }

    fn run(&mut self) -> RunOutcome {
        run_once(self.instance.check.as_mut(), &mut self.sender)
    }

    fn ok(&mut self) -> (CheckOutput, Vec<String>) {
        let outcome = self.run();
        let output = outcome
            .result
            .unwrap_or_else(|e| panic!("{} failed: {e}", self.instance.name));
        (output, outcome.warnings)
    }

    /// A run that must fail; its service checks.
    fn failed(&mut self) -> (String, Vec<CheckRun>) {
        let outcome = self.run();
        let error = outcome.result.expect_err("the run fails");
        (error, self.sender.take_failed_service_checks())
    }
}

fn find<'a>(out: &'a CheckOutput, metric: &str, tags: &[&str]) -> Vec<&'a Series> {
    out.series
        .iter()
        .filter(|s| s.metric == metric && tags.iter().all(|t| s.tags.iter().any(|x| x == t)))
        .collect()
}

/// The one series of `metric` with `tags`, of `kind`.
fn one<'a>(out: &'a CheckOutput, metric: &str, kind: MetricKind, tags: &[&str]) -> &'a Series {
    let found = find(out, metric, tags);
    assert!(
        !found.is_empty(),
        "no {metric} with {tags:?}; have {:?}",
        out.series.iter().map(|s| (&s.metric, &s.tags)).collect::<Vec<_>>()
    );
    let s = found[0];
    assert_eq!(s.kind, kind, "{metric}'s type");
    assert_eq!(s.host.as_deref(), Some("test-host"));
    s
}

fn value(s: &Series) -> f64 {
    s.points[0].1
}

fn status_of(out: &[CheckRun], name: &str) -> CheckRun {
    out.iter()
        .find(|c| c.check == name)
        .unwrap_or_else(|| panic!("no service check {name} in {out:?}"))
        .clone()
}

fn redis_conf(server: &RedisServer, password: &str, extra: &str) -> String {
    format!(
        "init_config:\ninstances:\n  - host: 127.0.0.1\n    port: {}\n    password: {password}\n    tags: [team:cache]\n{extra}",
        server.port
    )
}

#[test]
fn the_integration_checks_run_only_when_configured() {
    let plan = plan(&Default::default(), &HostPaths::under(Path::new("/")), true);
    assert!(
        plan.instances
            .iter()
            .all(|i| i.name != "redisdb" && i.name != "postgres"),
        "no default instances for integrations"
    );
}

#[test]
fn redisdb_reports_datadogs_metrics_and_can_connect_follows_the_server() {
    let mut server = RedisServer::start("s3cret-pw");
    let port_tag = format!("redis_port:{}", server.port);
    let base = ["redis_host:127.0.0.1", port_tag.as_str(), "team:cache"];
    // 10 keys in db0: 7 strings (one with a TTL), a list of 3, a hash. 2 keys in db3.
    for i in 1..=5 {
        server.cli(&["SET", &format!("user:{i}"), "x"]);
    }
    server.cli(&["RPUSH", "jobs", "a", "b", "c"]);
    server.cli(&["HSET", "profile", "name", "n", "age", "3"]);
    server.cli(&["SET", "session", "s", "EX", "600"]);
    server.cli(&["MSET", "k8", "1", "k9", "2"]);
    server.cli(&["-n", "3", "MSET", "a", "1", "b", "2"]);
    server.cli(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    server.cli(&["SLOWLOG", "RESET"]);
    server.cli(&["GET", "user:1"]);
    let version = server.cli(&["INFO", "server"]);
    let version = version
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap()
        .trim()
        .to_string();

    let conf = redis_conf(
        &server,
        &server.password,
        "    keys: [jobs, 'user:*', profile, nothere]\n    command_stats: true\n    collect_client_metrics: true\n",
    );
    let mut good = instances("redisdb", &[("redisdb.d/conf.yaml", conf)]);
    assert_eq!(good.len(), 1);
    let mut check = Runner::new(good.remove(0));
    let (first, warnings) = check.ok();
    assert!(
        warnings.iter().any(|w| w == "nothere key not found in redis"),
        "{warnings:?}"
    );
    std::thread::sleep(Duration::from_millis(300));
    server.cli(&["GET", "user:2"]);
    let (out, _) = check.ok();

    let role = [base[0], base[1], base[2], "redis_role:master"];
    let db0 = [role[0], role[1], role[2], role[3], "redis_db:db0"];
    assert_eq!(value(one(&out, "redis.keys", MetricKind::Gauge, &db0)), 10.0);
    assert_eq!(value(one(&out, "redis.expires", MetricKind::Gauge, &db0)), 1.0);
    assert_eq!(value(one(&out, "redis.persist", MetricKind::Gauge, &db0)), 9.0);
    assert!((value(one(&out, "redis.expires.percent", MetricKind::Gauge, &db0)) - 10.0).abs() < 1e-9);
    assert!((value(one(&out, "redis.persist.percent", MetricKind::Gauge, &db0)) - 90.0).abs() < 1e-9);
    assert_eq!(
        value(one(&out, "redis.keys", MetricKind::Gauge, &["redis_db:db3"])),
        2.0
    );
    for gauge in [
        "redis.net.clients",
        "redis.net.slaves",
        "redis.net.rejected",
        "redis.net.total_connections_received",
        "redis.net.instantaneous_ops_per_sec",
        "redis.net.instantaneous_input",
        "redis.net.instantaneous_output",
        "redis.net.maxclients",
        "redis.info.latency_ms",
        "redis.ping.latency_ms",
        "redis.clients.blocked",
        "redis.keys.evicted",
        "redis.keys.expired",
        "redis.mem.used",
        "redis.mem.maxmemory",
        "redis.mem.rss",
        "redis.mem.peak",
        "redis.mem.overhead",
        "redis.mem.startup",
        "redis.mem.lua",
        "redis.mem.fragmentation_ratio",
        "redis.rdb.changes_since_last",
        "redis.rdb.bgsave",
        "redis.aof.rewrite",
        "redis.pubsub.channels",
        "redis.perf.latest_fork_usec",
        "redis.replication.master_repl_offset",
        "redis.replication.backlog_histlen",
    ] {
        one(&out, gauge, MetricKind::Gauge, &role);
    }
    assert_eq!(
        value(one(&out, "redis.net.maxclients", MetricKind::Gauge, &role)),
        10000.0
    );
    // Rates: nothing on the first run, per-second values on the second.
    for rate in [
        "redis.net.commands",
        "redis.cpu.sys",
        "redis.cpu.user",
        "redis.cpu.sys_children",
        "redis.cpu.user_children",
        "redis.stats.keyspace_hits",
        "redis.stats.keyspace_misses",
    ] {
        assert!(find(&first, rate, &[]).is_empty(), "{rate} on the first run");
        assert!(value(one(&out, rate, MetricKind::Gauge, &role)) >= 0.0);
    }
    assert!(value(one(&out, "redis.net.commands", MetricKind::Gauge, &role)) > 0.0);
    // Key lengths: per key and database, 0 for a key found nowhere.
    let len = |key: &str, ty: &str| {
        value(one(
            &out,
            "redis.key.length",
            MetricKind::Gauge,
            &[
                &format!("key:{key}"),
                &format!("key_type:{ty}"),
                "redis_db:db0",
                "redis_role:master",
            ],
        ))
    };
    assert_eq!(len("jobs", "list"), 3.0);
    assert_eq!(len("profile", "hash"), 2.0);
    assert_eq!(len("user:3", "string"), 1.0);
    assert_eq!(
        find(&out, "redis.key.length", &["redis_db:db0"]).len(),
        7,
        "user:* matched 5 keys"
    );
    assert_eq!(
        value(one(&out, "redis.key.length", MetricKind::Gauge, &["key:nothere"])),
        0.0
    );
    // The slowlog: entries newer than the last run's, by command.
    for suffix in ["max", "median", "avg", "95percentile"] {
        one(
            &first,
            &format!("redis.slowlog.micros.{suffix}"),
            MetricKind::Gauge,
            &["command:GET"],
        );
    }
    one(&first, "redis.slowlog.micros.count", MetricKind::Rate, &["command:GET"]);
    assert!(
        !find(&out, "redis.slowlog.micros.max", &["command:GET"]).is_empty(),
        "GET user:2 is new"
    );
    assert!(
        find(&out, "redis.slowlog.micros.max", &["command:HSET"]).is_empty(),
        "HSET was sent on the first run"
    );
    // command_stats and client metrics.
    assert!(value(one(&out, "redis.command.calls", MetricKind::Gauge, &["command:set"])) >= 5.0);
    one(&out, "redis.command.usec_per_call", MetricKind::Gauge, &["command:get"]);
    assert!(
        value(one(
            &out,
            "redis.net.connections",
            MetricKind::Gauge,
            &["source:unknown"]
        )) >= 1.0
    );
    // Service check and version metadata.
    let ok = status_of(&out.service_checks, "redis.can_connect");
    assert_eq!(ok.status, CheckStatus::Ok);
    assert_eq!(ok.tags, ["redis_host:127.0.0.1", port_tag.as_str(), "team:cache"]);
    let meta: BTreeMap<String, String> = check.sender.metadata().clone();
    let parts: Vec<&str> = version.split('.').collect();
    assert_eq!(meta["version.raw"], version);
    assert_eq!(meta["version.major"], parts[0]);
    assert_eq!(meta["version.minor"], parts[1]);
    assert_eq!(meta["version.patch"], parts[2]);
    assert_eq!(meta["version.scheme"], "semver");

    // The same server through its Unix socket.
    let socket = server.socket_path();
    let conf = format!(
        "instances:\n  - unix_socket_path: {}\n    password: {}\n",
        socket.display(),
        server.password
    );
    let mut local = Runner::new(instances("redisdb", &[("redisdb.d/conf.yaml", conf)]).remove(0));
    let (via_socket, _) = local.ok();
    let host_tag = format!("redis_host:{}", socket.display());
    let socket_tags = [
        host_tag.as_str(),
        "redis_port:unix_socket",
        "redis_role:master",
        "redis_db:db0",
    ];
    assert_eq!(
        value(one(&via_socket, "redis.keys", MetricKind::Gauge, &socket_tags)),
        10.0
    );

    // A wrong password: CRITICAL with the server's answer.
    let wrong = redis_conf(&server, "not-the-password", "");
    let mut bad = Runner::new(instances("redisdb", &[("redisdb.d/conf.yaml", wrong)]).remove(0));
    let (error, checks) = bad.failed();
    let critical = status_of(&checks, "redis.can_connect");
    assert_eq!(critical.status, CheckStatus::Critical);
    assert!(
        critical.message.to_lowercase().contains("authentication failed"),
        "{}",
        critical.message
    );
    assert!(error.contains(&critical.message), "{error}");

    // The server stops: CRITICAL, and OK again once it is back on the same port.
    server.stop();
    let (_, checks) = check.failed();
    let down = status_of(&checks, "redis.can_connect");
    assert_eq!(down.status, CheckStatus::Critical);
    assert!(
        down.message
            .starts_with(&format!("Error connecting to 127.0.0.1:{}: ", server.port)),
        "{}",
        down.message
    );
    let (_, checks) = check.failed();
    assert!(
        status_of(&checks, "redis.can_connect").message.contains("refused"),
        "{checks:?}"
    );
    server.restart();
    let (back, _) = check.ok();
    assert_eq!(
        status_of(&back.service_checks, "redis.can_connect").status,
        CheckStatus::Ok
    );
    // A restart between two runs: the kept connection is dead, the run connects again.
    server.stop();
    server.restart();
    check.ok();
    assert_eq!(
        value(one(&back, "redis.net.maxclients", MetricKind::Gauge, &role)),
        10000.0
    );
}

fn postgres_conf(server: &PostgresServer, password: &str, extra: &str) -> String {
    format!(
        "init_config:\ninstances:\n  - host: 127.0.0.1\n    port: {}\n    username: {}\n    password: {password}\n    dbname: dogtest\n    tags: [team:db]\n{extra}",
        server.port, server.user
    )
}

#[test]
fn postgres_reports_datadogs_metrics_and_can_connect_follows_the_server() {
    let mut server = PostgresServer::start("dog", "pg-s3cret");
    server.psql("postgres", "CREATE DATABASE dogtest");
    server.psql(
        "dogtest",
        "CREATE TABLE items (id serial PRIMARY KEY, v int); CREATE FUNCTION twice(x int) RETURNS int AS 'BEGIN RETURN x * 2; END' LANGUAGE plpgsql; ALTER DATABASE dogtest SET track_functions = 'all'",
    );
    // Rates need a first sample: the function is called once before the first run.
    server.psql("dogtest", "SELECT twice(1); SELECT pg_stat_force_next_flush()");
    let raw_version = server.psql("postgres", "SHOW server_version");
    let port_tag = format!("port:{}", server.port);

    let extra = "    relations: [items]\n    collect_activity_metrics: true\n    collect_function_metrics: true\n    tag_replication_role: true\n    custom_queries:\n      - metric_prefix: dogtest\n        query: SELECT 'items' AS kind, count(*) FROM items\n        columns:\n          - {name: kind, type: tag}\n          - {name: rows, type: gauge}\n        tags: [source:custom]\n";
    let conf = postgres_conf(&server, &server.password, extra);
    let mut check = Runner::new(instances("postgres", &[("postgres.d/conf.yaml", conf)]).remove(0));
    let (first, warnings) = check.ok();
    assert!(warnings.is_empty(), "{warnings:?}");
    let t1 = SystemTime::now();
    const N: usize = 25;
    server.psql(
        "dogtest",
        &format!("INSERT INTO items (v) SELECT twice(g) FROM generate_series(1, {N}) g; SELECT * FROM items WHERE id = 1; SELECT pg_stat_force_next_flush()"),
    );
    std::thread::sleep(Duration::from_millis(1200));
    let (out, warnings) = check.ok();
    let t2 = SystemTime::now();
    assert!(warnings.is_empty(), "{warnings:?}");

    let base = [
        "server:127.0.0.1",
        port_tag.as_str(),
        "team:db",
        "replication_role:master",
    ];
    let db = [base[0], base[1], base[2], base[3], "db:dogtest"];
    // Per database: rows inserted follow the inserts.
    let inserted = value(one(&out, "postgresql.rows_inserted", MetricKind::Gauge, &db));
    let elapsed = t2.duration_since(t1).unwrap().as_secs_f64();
    assert!(
        inserted > 0.0 && (inserted * elapsed - N as f64).abs() <= 0.35 * N as f64,
        "rows_inserted {inserted}/s over {elapsed}s for {N} rows"
    );
    for gauge in [
        "postgresql.connections",
        "postgresql.before_xid_wraparound",
        "postgresql.database_size",
    ] {
        one(&first, gauge, MetricKind::Gauge, &db);
    }
    for rate in [
        "postgresql.commits",
        "postgresql.rollbacks",
        "postgresql.disk_read",
        "postgresql.buffer_hit",
        "postgresql.rows_returned",
        "postgresql.rows_fetched",
        "postgresql.rows_inserted",
        "postgresql.rows_updated",
        "postgresql.rows_deleted",
        "postgresql.deadlocks",
        "postgresql.temp_bytes",
        "postgresql.temp_files",
    ] {
        assert!(find(&first, rate, &[]).is_empty(), "{rate} on the first run");
        one(&out, rate, MetricKind::Gauge, &db);
    }
    for count in [
        "postgresql.deadlocks.count",
        "postgresql.blk_read_time",
        "postgresql.blk_write_time",
        "postgresql.sessions.count",
        "postgresql.sessions.session_time",
        "postgresql.sessions.abandoned",
        "postgresql.bgwriter.checkpoints_timed",
        "postgresql.bgwriter.checkpoints_requested",
        "postgresql.bgwriter.buffers_checkpoint",
        "postgresql.bgwriter.buffers_clean",
        "postgresql.bgwriter.buffers_alloc",
        "postgresql.bgwriter.write_time",
        "postgresql.bgwriter.sync_time",
        "postgresql.archiver.archived_count",
        "postgresql.archiver.failed_count",
    ] {
        assert!(find(&first, count, &[]).is_empty(), "{count} on the first run");
        one(&out, count, MetricKind::Count, &base);
    }
    assert!(
        value(one(&out, "postgresql.sessions.count", MetricKind::Count, &db)) >= 1.0,
        "psql's session"
    );
    assert!(
        find(&out, "postgresql.commits", &["db:postgres"]).is_empty(),
        "the default database is ignored"
    );
    let instance_db = ["db:dogtest", base[1]];
    for gauge in [
        "postgresql.max_connections",
        "postgresql.percent_usage_connections",
        "postgresql.uptime",
        "postgresql.db.count",
    ] {
        one(&out, gauge, MetricKind::Gauge, &instance_db);
    }
    assert_eq!(
        value(one(&out, "postgresql.max_connections", MetricKind::Gauge, &[])),
        100.0
    );
    assert_eq!(value(one(&out, "postgresql.db.count", MetricKind::Gauge, &[])), 2.0);
    assert_eq!(
        value(one(
            &out,
            "postgresql.table.count",
            MetricKind::Gauge,
            &["schema:public", "db:dogtest"]
        )),
        1.0
    );
    // Relations.
    let table = ["table:items", "schema:public", "db:dogtest", base[1]];
    assert_eq!(
        value(one(&out, "postgresql.live_rows", MetricKind::Gauge, &table)),
        N as f64
    );
    one(&out, "postgresql.dead_rows", MetricKind::Gauge, &table);
    let rel_inserted = value(one(&out, "postgresql.rows_inserted", MetricKind::Gauge, &table));
    assert!(
        (rel_inserted * elapsed - N as f64).abs() <= 0.35 * N as f64,
        "{rel_inserted}"
    );
    for rate in [
        "postgresql.seq_scans",
        "postgresql.seq_rows_read",
        "postgresql.index_rel_scans",
        "postgresql.index_rel_rows_fetched",
        "postgresql.rows_updated",
        "postgresql.rows_deleted",
        "postgresql.rows_hot_updated",
        "postgresql.heap_blocks_read",
        "postgresql.heap_blocks_hit",
        "postgresql.index_blocks_read",
        "postgresql.index_blocks_hit",
    ] {
        one(&out, rate, MetricKind::Gauge, &table);
    }
    let index = ["table:items", "index:items_pkey", "db:dogtest"];
    for rate in [
        "postgresql.index_scans",
        "postgresql.index_rows_read",
        "postgresql.index_rows_fetched",
    ] {
        one(&out, rate, MetricKind::Gauge, &index);
    }
    assert!(value(one(&out, "postgresql.index_scans", MetricKind::Gauge, &index)) > 0.0);
    for gauge in [
        "postgresql.table_size",
        "postgresql.index_size",
        "postgresql.total_size",
    ] {
        assert!(value(one(&out, gauge, MetricKind::Gauge, &table)) > 0.0, "{gauge}");
    }
    // Activity and functions.
    for gauge in [
        "postgresql.transactions.open",
        "postgresql.transactions.idle_in_transaction",
        "postgresql.active_queries",
        "postgresql.waiting_queries",
        "postgresql.active_waiting_queries",
    ] {
        one(&out, gauge, MetricKind::Gauge, &db);
    }
    one(
        &out,
        "postgresql.function.calls",
        MetricKind::Gauge,
        &["function:twice", "schema:public"],
    );
    // custom_queries.
    let custom = one(
        &out,
        "dogtest.rows",
        MetricKind::Gauge,
        &["kind:items", "source:custom", "db:dogtest", "team:db"],
    );
    assert_eq!(value(custom), N as f64);
    // Service check and version metadata.
    let ok = status_of(&out.service_checks, "postgres.can_connect");
    assert_eq!(ok.status, CheckStatus::Ok);
    assert_eq!(
        ok.tags,
        ["server:127.0.0.1", port_tag.as_str(), "db:dogtest", "team:db"]
    );
    let meta = check.sender.metadata().clone();
    assert_eq!(meta["version.raw"], raw_version);
    let number: Vec<&str> = raw_version.split(' ').next().unwrap().split('.').collect();
    assert_eq!(meta["version.major"], number[0]);
    assert_eq!(meta["version.minor"], number[1]);
    assert_eq!(meta["version.patch"], number.get(2).copied().unwrap_or("0"));
    assert_eq!(meta["version.scheme"], "semver");

    // A wrong password: CRITICAL with the server's message.
    let wrong = postgres_conf(&server, "not-the-password", "");
    let mut bad = Runner::new(instances("postgres", &[("postgres.d/conf.yaml", wrong)]).remove(0));
    let (_, checks) = bad.failed();
    let critical = status_of(&checks, "postgres.can_connect");
    assert_eq!(critical.status, CheckStatus::Critical);
    assert!(
        critical.message.contains("password authentication failed"),
        "{}",
        critical.message
    );

    // The server stops: CRITICAL with the error, then OK again once it is back.
    server.stop();
    let (_, checks) = check.failed();
    let down = status_of(&checks, "postgres.can_connect");
    assert_eq!(down.status, CheckStatus::Critical);
    assert!(!down.message.is_empty());
    let (_, checks) = check.failed();
    let refused = status_of(&checks, "postgres.can_connect");
    assert!(refused.message.contains("refused"), "{}", refused.message);
    server.restart();
    let (back, _) = check.ok();
    assert_eq!(
        status_of(&back.service_checks, "postgres.can_connect").status,
        CheckStatus::Ok
    );
    // A restart between two runs: the kept connection is dead, the run connects again.
    server.stop();
    server.restart();
    check.ok();
    one(&back, "postgresql.max_connections", MetricKind::Gauge, &[]);
}

/// A CA and a server certificate it signed for `localhost` and 127.0.0.1, with the server's key,
/// as PEM files in `dir`: (ca, cert, key).
fn make_certs(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} CA"));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &issuer).unwrap();
    let paths = (
        dir.join(format!("{name}-ca.pem")),
        dir.join(format!("{name}-server.pem")),
        dir.join(format!("{name}-server.key")),
    );
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

#[test]
fn redisdb_and_postgres_speak_tls_as_their_ssl_options_say() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certs(dir.path(), "test");
    let (other_ca, _, _) = make_certs(dir.path(), "other");

    let redis = RedisServer::start_tls("tls-pw", &cert, &key, &ca);
    redis.cli(&["SET", "k", "v"]);
    let redis_run = |extra: &str| {
        let conf = redis_conf(&redis, "tls-pw", extra);
        let mut check = Runner::new(instances("redisdb", &[("redisdb.d/conf.yaml", conf)]).remove(0));
        let outcome = check.run();
        let checks = match &outcome.result {
            Ok(out) => out.service_checks.clone(),
            Err(_) => check.sender.take_failed_service_checks(),
        };
        (
            outcome.result.map(|o| o.series.len()),
            status_of(&checks, "redis.can_connect"),
        )
    };
    let (verified, sc) = redis_run(&format!("    ssl: true\n    ssl_ca_certs: {}\n", ca.display()));
    assert!(verified.is_ok_and(|n| n > 20) && sc.status == CheckStatus::Ok, "{sc:?}");
    let (unverified, sc) = redis_run("    ssl: true\n    ssl_cert_reqs: 0\n");
    assert!(unverified.is_ok() && sc.status == CheckStatus::Ok, "{sc:?}");
    let (_, sc) = redis_run(&format!("    ssl: true\n    ssl_ca_certs: {}\n", other_ca.display()));
    assert_eq!(sc.status, CheckStatus::Critical);
    assert!(sc.message.to_lowercase().contains("certificate"), "{}", sc.message);

    let mut postgres = PostgresServer::start("dog", "pg-tls");
    postgres.enable_tls(&cert, &key);
    let postgres_run = |extra: &str, application: &str| {
        let conf = format!(
            "init_config:\ninstances:\n  - host: 127.0.0.1\n    port: {}\n    username: dog\n    password: pg-tls\n    application_name: {application}\n{extra}",
            postgres.port
        );
        let mut check = Runner::new(instances("postgres", &[("postgres.d/conf.yaml", conf)]).remove(0));
        let outcome = check.run();
        let checks = match &outcome.result {
            Ok(out) => out.service_checks.clone(),
            Err(_) => check.sender.take_failed_service_checks(),
        };
        // The check keeps its connection: the server says whether it is encrypted.
        let ssl = postgres.psql(
            "postgres",
            &format!("SELECT coalesce(bool_or(s.ssl), false) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = '{application}'"),
        );
        (status_of(&checks, "postgres.can_connect"), ssl == "t")
    };
    let (sc, encrypted) = postgres_run("    ssl: require\n", "dd-require");
    assert!(sc.status == CheckStatus::Ok && encrypted, "{sc:?} {encrypted}");
    let (sc, encrypted) = postgres_run(
        &format!("    ssl: verify-full\n    ssl_root_cert: {}\n", ca.display()),
        "dd-verify-full",
    );
    assert!(sc.status == CheckStatus::Ok && encrypted, "{sc:?} {encrypted}");
    let (sc, encrypted) = postgres_run("    ssl: disable\n", "dd-disable");
    assert!(sc.status == CheckStatus::Ok && !encrypted, "{sc:?} {encrypted}");
    let (sc, _) = postgres_run(
        &format!("    ssl: verify-ca\n    ssl_root_cert: {}\n", other_ca.display()),
        "dd-wrong-ca",
    );
    assert_eq!(sc.status, CheckStatus::Critical);
    assert!(sc.message.to_lowercase().contains("certificate"), "{}", sc.message);
}

/// Sends `signal` (`-STOP`, `-CONT`) to `pid` and the processes it started.
fn signal(pid: u32, signal: &str) {
    let children = std::process::Command::new("pgrep")
        .args(["-P", &pid.to_string()])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    for p in std::iter::once(pid.to_string()).chain(children.split_whitespace().map(str::to_string)) {
        let _ = std::process::Command::new("kill").args([signal, &p]).status();
    }
}

#[test]
fn a_server_that_stops_answering_gives_critical_within_the_timeouts_not_a_stuck_check() {
    // A port that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let conf = format!("instances:\n  - host: 127.0.0.1\n    port: {silent_port}\n    socket_timeout: 0.5\n");
    let mut redis_check = Runner::new(instances("redisdb", &[("redisdb.d/conf.yaml", conf)]).remove(0));
    let started = std::time::Instant::now();
    let (_, checks) = redis_check.failed();
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(status_of(&checks, "redis.can_connect").status, CheckStatus::Critical);
    let conf = format!(
        "instances:\n  - host: 127.0.0.1\n    port: {silent_port}\n    username: u\n    connect_timeout: 0.5\n"
    );
    let mut pg_check = Runner::new(instances("postgres", &[("postgres.d/conf.yaml", conf)]).remove(0));
    let started = std::time::Instant::now();
    let (_, checks) = pg_check.failed();
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    let critical = status_of(&checks, "postgres.can_connect");
    assert!(
        critical.message.contains("took longer than 0.5s"),
        "{}",
        critical.message
    );
    drop(silent);

    // A real server frozen (SIGSTOP) after a good run: the kept connection's query times out.
    let mut server = PostgresServer::start("dog", "pg-freeze");
    let conf = format!(
        "instances:\n  - host: 127.0.0.1\n    port: {}\n    username: dog\n    password: pg-freeze\n    query_timeout: 300\n    connect_timeout: 0.5\n",
        server.port
    );
    let mut check = Runner::new(instances("postgres", &[("postgres.d/conf.yaml", conf)]).remove(0));
    check.ok();
    let pid = server.pid().unwrap();
    signal(pid, "-STOP");
    let started = std::time::Instant::now();
    let (_, checks) = check.failed();
    let elapsed = started.elapsed();
    signal(pid, "-CONT");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    let critical = status_of(&checks, "postgres.can_connect");
    assert_eq!(critical.status, CheckStatus::Critical);
    // The query timed out, then the new connection the run tried did too.
    assert!(
        critical.message.contains("did not answer") || critical.message.contains("took longer than 0.5s"),
        "{}",
        critical.message
    );
    // Thawed, the next run connects again.
    check.ok();
    server.stop();
}

/// Waits (at most 20 s) for `ready` to hold.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(std::time::Instant::now() < deadline, "{what} within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn replication_metrics_come_from_a_real_primary_and_replica() {
    // Redis: a master and its replica.
    let master = RedisServer::start("repl-pw");
    let replica = RedisServer::start_replica_of(&master);
    master.cli(&["SET", "k", "v"]);
    wait_until("the replica is online with an offset", || {
        let info = master.cli(&["INFO", "replication"]);
        info.lines()
            .any(|l| l.starts_with("slave0:") && l.contains("state=online") && !l.contains("offset=0,"))
    });
    let run = |server: &RedisServer| {
        let conf = redis_conf(server, "repl-pw", "");
        Runner::new(instances("redisdb", &[("redisdb.d/conf.yaml", conf)]).remove(0))
            .ok()
            .0
    };
    let on_master = run(&master);
    assert_eq!(
        value(one(
            &on_master,
            "redis.net.slaves",
            MetricKind::Gauge,
            &["redis_role:master"]
        )),
        1.0
    );
    let replica_port = format!("slave_port:{}", replica.port);
    let delay = one(
        &on_master,
        "redis.replication.delay",
        MetricKind::Gauge,
        &["slave_ip:127.0.0.1", &replica_port, "slave_id:0"],
    );
    assert!(value(delay) >= 0.0);
    let on_replica = run(&replica);
    let link = status_of(&on_replica.service_checks, "redis.replication.master_link_status");
    assert_eq!(link.status, CheckStatus::Ok);
    assert_eq!(
        value(one(
            &on_replica,
            "redis.replication.master_link_down_since_seconds",
            MetricKind::Gauge,
            &["redis_role:slave"]
        )),
        0.0
    );

    // PostgreSQL: a primary and a streaming standby.
    let primary = PostgresServer::start("dog", "repl-pg");
    let standby = PostgresServer::standby_of(&primary);
    wait_until("the standby streams", || {
        primary.psql(
            "postgres",
            "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
        ) == "1"
    });
    let run = |server: &PostgresServer| {
        let conf = format!(
            "instances:\n  - host: 127.0.0.1\n    port: {}\n    username: dog\n    password: repl-pg\n    tag_replication_role: true\n",
            server.port
        );
        Runner::new(instances("postgres", &[("postgres.d/conf.yaml", conf)]).remove(0))
            .ok()
            .0
    };
    let on_primary = run(&primary);
    for lag in [
        "postgresql.replication.wal_write_lag",
        "postgresql.replication.wal_flush_lag",
        "postgresql.replication.wal_replay_lag",
        "postgresql.replication.backend_xmin_age",
    ] {
        one(
            &on_primary,
            lag,
            MetricKind::Gauge,
            &[
                "replication_role:master",
                "wal_state:streaming",
                "wal_sync_state:async",
                "wal_client_addr:127.0.0.1",
            ],
        );
    }
    assert!(
        find(&on_primary, "postgresql.replication_delay", &[]).is_empty(),
        "a primary has no replay delay"
    );
    let on_standby = run(&standby);
    for delay in ["postgresql.replication_delay", "postgresql.replication_delay_bytes"] {
        assert!(
            value(one(
                &on_standby,
                delay,
                MetricKind::Gauge,
                &["replication_role:standby"]
            )) >= 0.0
        );
    }
    drop(standby);
}
