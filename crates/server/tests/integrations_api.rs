//! The integrations API over real HTTP: process runs and host metadata posted through the
//! intake as agents send them, and `/api/ui/integrations` reporting what runs where and whether
//! its check is configured there.

use serde_json::{Value, json};

mod common;
use common::{KEY, Running};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A process as the agent reports it.
fn process(pid: i32, cmdline: &[&str]) -> Value {
    let name = cmdline[0].rsplit('/').next().unwrap();
    json!({
        "pid": pid, "ppid": 1, "pgroup": pid, "user": "app", "uid": 1000, "gid": 1000, "name": name,
        "cmdline": cmdline, "exe": cmdline[0], "cwd": "/",
        "state": "S", "create_time_ms": 1_700_000_000_000i64 + i64::from(pid), "cpu_user_pct": 0.5,
        "cpu_system_pct": 0.5, "cpu_total_pct": 1.0, "rss": 1 << 20, "vms": 4 << 20, "swap": 0, "threads": 2,
        "open_fds": 5, "io_read_ops_rate": 0.0, "io_write_ops_rate": 0.0, "io_read_bytes_rate": 0.0,
        "io_write_bytes_rate": 0.0, "ctx_switches_voluntary": 0, "ctx_switches_involuntary": 0, "nice": 0,
        "tags": [format!("command:{name}")]
    })
}

async fn post(base: &str, path: &str, body: &Value) {
    let response = common::client()
        .post(format!("{base}{path}"))
        .header("DD-API-KEY", KEY)
        .json(body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
}

async fn send_run(base: &str, hostname: &str, processes: Vec<Value>) {
    let run = json!({
        "host": {"hostname": hostname, "cpu_count": 2, "cpu_model": "x", "memory_total": 1024, "kernel": "6.1",
                 "os": "Debian", "boot_time": 1_700_000_000, "agent_version": "0.1.0", "tags": []},
        "run_id": 1, "chunk_count": 1, "chunk_index": 0,
        "collected_at_ms": now_ms(), "interval_s": 10, "realtime": false,
        "total_processes": processes.len(), "processes": processes
    });
    post(base, "/api/v1/collector", &run).await;
}

/// Host metadata with `checks` as Datadog's agent_checks rows `[name, name, id, status, error, {}]`.
async fn send_metadata(base: &str, hostname: &str, checks: &[(&str, &str, &str, &str)]) {
    let rows: Vec<Value> = checks
        .iter()
        .map(|(name, id, status, error)| json!([name, name, id, status, error, {}]))
        .collect();
    let meta = json!({
        "internalHostname": hostname, "agentVersion": "0.1.0", "os": "linux",
        "meta": {"hostname": hostname, "socket-hostname": hostname},
        "agent_checks": rows
    });
    post(base, "/intake/", &meta).await;
}

async fn get(base: &str, path: &str) -> (u16, Value) {
    let response = common::client().get(format!("{base}{path}")).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn by_id(list: &Value) -> std::collections::HashMap<String, Value> {
    list["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap().to_string(), i.clone()))
        .collect()
}

/// Three hosts: `db-1` runs redis and postgres with only the redisdb check, `db-2` runs redis
/// with a redisdb check that failed to load, `web-1` runs nginx (master and workers) and a shell
/// that merely greps for redis-server.
async fn fed() -> Running {
    let server = common::start(1 << 20).await;
    let b = &server.base;
    send_run(
        b,
        "db-1",
        vec![
            process(10, &["/usr/bin/redis-server 127.0.0.1:6379"]),
            process(
                20,
                &[
                    "/usr/lib/postgresql/15/bin/postgres",
                    "-D",
                    "/var/lib/postgresql/15/main",
                ],
            ),
            process(21, &["postgres: 15/main: checkpointer"]),
            process(30, &["/usr/bin/python3", "app.py"]),
        ],
    )
    .await;
    send_run(b, "db-2", vec![process(11, &["redis-server", "*:6380"])]).await;
    send_run(
        b,
        "web-1",
        vec![
            process(
                40,
                &["nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"],
            ),
            process(41, &["nginx: worker process"]),
            process(42, &["grep", "redis-server"]),
            process(43, &["vim", "/etc/redis/redis-server.conf"]),
        ],
    )
    .await;
    send_metadata(
        b,
        "db-1",
        &[("cpu", "cpu:1", "OK", ""), ("redisdb", "redisdb:abc", "OK", "")],
    )
    .await;
    send_metadata(
        b,
        "db-2",
        &[("redisdb", "initialization", "ERROR", "no check called `redisdb`")],
    )
    .await;
    send_metadata(b, "web-1", &[("cpu", "cpu:1", "OK", "")]).await;
    server
}

#[tokio::test]
async fn the_list_gives_each_running_integration_its_status_and_host_counts() {
    let server = fed().await;
    let (status, list) = get(&server.base, "/api/ui/integrations").await;
    assert_eq!(status, 200, "{list}");
    let all = by_id(&list);
    assert_eq!(
        {
            let mut ids: Vec<_> = all.keys().cloned().collect();
            ids.sort();
            ids
        },
        vec!["nginx", "postgres", "redisdb"],
        "only what runs or is configured; grep and vim are not redis"
    );
    let redis = &all["redisdb"];
    assert_eq!(redis["status"], "installed", "{redis}");
    assert_eq!(redis["status_label"], "Installed");
    assert_eq!(
        (
            redis["hosts_running"].as_u64(),
            redis["hosts_configured"].as_u64(),
            redis["processes"].as_u64()
        ),
        (Some(2), Some(2), Some(2))
    );
    assert_eq!(redis["name"], "Redis");
    assert_eq!(redis["query"], "redis-server");
    assert!(
        redis["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "redis.net.clients")
    );
    assert!(
        redis.get("hosts").is_none(),
        "the list leaves the hosts to the detail route"
    );
    let pg = &all["postgres"];
    assert_eq!(pg["status"], "detected");
    assert_eq!(pg["status_label"], "Detected");
    assert_eq!(pg["processes"], 1, "the checkpointer is not the server");
    assert_eq!(all["nginx"]["status"], "detected");
    assert_eq!(all["nginx"]["processes"], 1, "only the master process");
    let catalog = list["catalog"].as_array().unwrap();
    assert_eq!(
        catalog.len(),
        dogwatch_server::integrations::signatures::INTEGRATIONS.len()
    );
    assert!(
        catalog
            .iter()
            .any(|c| c["id"] == "kafka" && c["name"] == "Kafka" && c["query"] == "kafka.kafka")
    );
}

#[tokio::test]
async fn a_host_without_the_check_makes_it_partial_visibility() {
    let server = fed().await;
    // A third redis host whose agent has no redisdb check.
    send_run(
        &server.base,
        "cache-1",
        vec![process(12, &["/usr/bin/redis-server", "*:6379"])],
    )
    .await;
    send_metadata(&server.base, "cache-1", &[("cpu", "cpu:1", "OK", "")]).await;
    let (_, list) = get(&server.base, "/api/ui/integrations").await;
    let redis = &by_id(&list)["redisdb"];
    assert_eq!(redis["status"], "partial");
    assert_eq!(redis["status_label"], "Partial Visibility");
    assert_eq!(
        (redis["hosts_running"].as_u64(), redis["hosts_unconfigured"].as_u64()),
        (Some(3), Some(1))
    );

    let (status, detail) = get(&server.base, "/api/ui/integrations/redisdb").await;
    assert_eq!(status, 200, "{detail}");
    let hosts = detail["hosts"].as_array().unwrap();
    let names: Vec<_> = hosts.iter().map(|h| h["hostname"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["cache-1", "db-1", "db-2"]);
    assert_eq!(hosts[0]["configured"], false);
    assert_eq!(hosts[0]["pids"], json!([12]));
    assert_eq!(hosts[1]["configured"], true);
    assert_eq!(hosts[1]["checks"][0]["instance_id"], "redisdb:abc");
    // A check that could not load still says the user configured it, with its error.
    assert_eq!(hosts[2]["configured"], true);
    assert_eq!(hosts[2]["checks"][0]["status"], "ERROR");
    assert_eq!(hosts[2]["checks"][0]["error"], "no check called `redisdb`");
}

#[tokio::test]
async fn the_list_for_one_host_carries_its_pids_for_the_process_panel() {
    let server = fed().await;
    let (_, list) = get(&server.base, "/api/ui/integrations?host=db-1").await;
    let all = by_id(&list);
    assert_eq!(all.len(), 2, "{list}");
    assert_eq!(all["redisdb"]["host"]["pids"], json!([10]));
    assert_eq!(all["redisdb"]["host"]["configured"], true);
    assert_eq!(all["postgres"]["host"]["pids"], json!([20]));
    assert_eq!(all["postgres"]["host"]["configured"], false);
    let (_, none) = get(&server.base, "/api/ui/integrations?host=nosuch").await;
    assert_eq!(none["integrations"], json!([]));
}

#[tokio::test]
async fn unknown_ids_are_404_and_known_idle_ones_say_not_detected() {
    let server = fed().await;
    let (status, body) = get(&server.base, "/api/ui/integrations/nosuch").await;
    assert_eq!(status, 404);
    assert!(body["errors"][0].as_str().unwrap().contains("redisdb"), "{body}");
    let (status, body) = get(&server.base, "/api/ui/integrations/kafka").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], Value::Null);
    assert_eq!(body["status_label"], "Not detected");
    assert_eq!(body["hosts"], json!([]));
    assert_eq!(body["name"], "Kafka");
}
