//! The live process APIs over real HTTP: Datadog's `/api/v2/processes` and the UI's list,
//! facets, groups, scatter and detail, fed by process payloads as an agent sends them.

use serde_json::{Value, json};

mod common;
use common::{KEY, Running};

const LIMIT: usize = 256 * 1024;

async fn start() -> Running {
    common::start(LIMIT).await
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A process as the agent reports it.
fn process(pid: i32, ppid: i32, user: &str, cmdline: &[&str], cpu: f64, rss: u64, tags: &[&str]) -> Value {
    let name = cmdline[0].rsplit('/').next().unwrap();
    json!({
        "pid": pid, "ppid": ppid, "pgroup": pid, "user": user, "uid": 1000, "gid": 1000, "name": name,
        "cmdline": cmdline, "exe": cmdline[0], "cwd": "/srv",
        "state": "S", "create_time_ms": 1_700_000_000_000i64 + i64::from(pid), "cpu_user_pct": cpu / 2.0,
        "cpu_system_pct": cpu / 2.0, "cpu_total_pct": cpu, "rss": rss, "vms": rss * 4, "swap": 0, "threads": 2,
        "open_fds": 5, "io_read_ops_rate": 1.0, "io_write_ops_rate": 2.0, "io_read_bytes_rate": 100.0,
        "io_write_bytes_rate": 200.0, "ctx_switches_voluntary": 3, "ctx_switches_involuntary": 1, "nice": 0,
        "tags": tags
    })
}

fn run(hostname: &str, run_id: u64, processes: Vec<Value>) -> Value {
    json!({
        "host": {"hostname": hostname, "cpu_count": 2, "cpu_model": "x", "memory_total": 1024, "kernel": "6.1",
                 "os": "Debian", "boot_time": 1_700_000_000, "agent_version": "0.1.0", "tags": ["env:prod"]},
        "run_id": run_id, "chunk_count": 1, "chunk_index": 0,
        "collected_at_ms": now_ms(), "interval_s": 10, "realtime": false,
        "total_processes": processes.len(), "processes": processes
    })
}

async fn send(base: &str, body: &Value) -> (u16, Value) {
    let response = common::client()
        .post(format!("{base}/api/v1/collector"))
        .header("DD-API-KEY", KEY)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(base: &str, path: &str, key: Option<&str>) -> (u16, Value) {
    let mut request = common::client().get(format!("{base}{path}"));
    if let Some(key) = key {
        request = request.header("DD-API-KEY", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn fed() -> Running {
    let server = start().await;
    let web = vec![
        process(
            1,
            0,
            "root",
            &["/sbin/init"],
            0.1,
            8 << 20,
            &["env:prod", "user:root", "command:init"],
        ),
        process(
            10,
            1,
            "app",
            &["/usr/bin/java", "-jar", "billing.jar", "--password=********"],
            40.0,
            900 << 20,
            &["env:prod", "user:app", "command:java", "service:billing"],
        ),
        process(
            11,
            10,
            "app",
            &["/usr/bin/java", "-version"],
            5.0,
            30 << 20,
            &["env:prod", "user:app", "command:java"],
        ),
        process(
            12,
            10,
            "app",
            &["python3", "worker.py"],
            20.0,
            60 << 20,
            &["env:prod", "user:app", "command:python3"],
        ),
    ];
    let db = vec![process(
        20,
        1,
        "postgres",
        &[
            "/usr/lib/postgresql/15/bin/postgres",
            "-D",
            "/var/lib/postgresql/15/main",
        ],
        12.0,
        300 << 20,
        &["env:prod", "user:postgres", "command:postgres"],
    )];
    assert_eq!(send(&server.base, &run("web-1", 1, web)).await.0, 200);
    assert_eq!(send(&server.base, &run("db-1", 1, db)).await.0, 200);
    server
}

fn pids(body: &Value) -> Vec<i64> {
    body["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pid"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn list_sorts_limits_pages_and_chooses_columns() {
    let server = fed().await;
    let (status, body) = get(&server.base, "/api/ui/processes?sort=rss&limit=3", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["total"].as_i64(), body["hosts"].as_i64()), (Some(5), Some(2)));
    assert_eq!(pids(&body), [10, 20, 12]);
    let first = &body["processes"][0];
    assert_eq!(first["command"], "/usr/bin/java -jar billing.jar --password=********");
    assert_eq!(
        (first["host"].as_str(), first["user"].as_str()),
        (Some("web-1"), Some("app"))
    );
    assert!(first["watching_until_ms"].is_null() && body["watching_until_ms"].as_i64() > Some(now_ms()));

    let (_, page2) = get(&server.base, "/api/ui/processes?sort=rss&limit=3&offset=3", None).await;
    assert_eq!(pids(&page2), [11, 1]);
    let (_, asc) = get(
        &server.base,
        "/api/ui/processes?sort=pid&order=asc&columns=pid,exe,tags",
        None,
    )
    .await;
    assert_eq!(pids(&asc), [1, 10, 11, 12, 20]);
    assert_eq!(asc["processes"][4]["exe"], "/usr/lib/postgresql/15/bin/postgres");
    assert!(asc["processes"][0].get("cpu").is_none(), "only the chosen columns");

    let q = |query: &str| format!("/api/ui/processes?query={}", urlencode(query));
    assert_eq!(pids(&get(&server.base, &q("java -version"), None).await.1), [10]);
    assert_eq!(
        pids(&get(&server.base, &q("(java OR python3) @cpu:>10"), None).await.1),
        [10, 12]
    );
    assert_eq!(pids(&get(&server.base, &q("host:db-1"), None).await.1), [20]);
    assert_eq!(pids(&get(&server.base, &q("--password"), None).await.1), [10]);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn bad_input_is_400_naming_the_problem() {
    let server = fed().await;
    let (status, body) = get(
        &server.base,
        &format!("/api/ui/processes?query={}", urlencode("java (x")),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["query_error"]["position"], 5, "{body}");
    assert!(
        body["errors"][0].as_str().unwrap().contains("unclosed parenthesis"),
        "{body}"
    );

    let (status, body) = get(&server.base, "/api/ui/processes?query=j", None).await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0].as_str().unwrap().contains("at least 2 characters"),
        "{body}"
    );

    let (status, body) = get(&server.base, "/api/ui/processes?sort=bogus", None).await;
    assert_eq!(status, 400);
    let message = body["errors"][0].as_str().unwrap();
    assert!(
        message.contains("\"bogus\"") && message.contains("cpu, cpu_user"),
        "{message}"
    );

    let (status, body) = get(
        &server.base,
        "/api/ui/processes/groups?by=command&metrics=cpu,name",
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0].as_str().unwrap().contains("unknown metric \"name\""),
        "{body}"
    );
    let (status, _) = get(&server.base, "/api/ui/processes/groups", None).await;
    assert_eq!(status, 400);
    let (status, body) = get(&server.base, "/api/ui/processes/scatter?agg=median", None).await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0].as_str().unwrap().contains("sum, avg, max, min"),
        "{body}"
    );
    let (status, _) = get(&server.base, "/api/ui/processes?limit=100000", None).await;
    assert_eq!(status, 400);
    let (status, _) = get(&server.base, "/api/ui/processes?limit=ten", None).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn facets_groups_and_scatter() {
    let server = fed().await;
    let (status, body) = get(&server.base, "/api/ui/processes/facets?query=java", None).await;
    assert_eq!(status, 200, "{body}");
    let command = body["facets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "command")
        .unwrap();
    assert_eq!(command["values"], json!([{"value": "java", "count": 2}]));
    let service = body["facets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "service")
        .unwrap();
    assert_eq!(
        (service["values"][0]["value"].as_str(), service["missing"].as_i64()),
        (Some("billing"), Some(1))
    );

    let (status, body) = get(
        &server.base,
        "/api/ui/processes/groups?by=host&metrics=cpu,rss&sort=sum:rss",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let groups = body["groups"].as_array().unwrap();
    assert_eq!(groups[0]["tags"], json!({"host": "web-1"}));
    assert_eq!(groups[0]["count"], 4);
    assert_eq!(groups[0]["metrics"]["cpu"]["sum"], 65.1);
    assert_eq!(groups[1]["metrics"]["rss"]["max"], (300u64 << 20) as f64);

    let (status, body) = get(&server.base, "/api/ui/processes/scatter?x=cpu&y=rss&agg=max", None).await;
    assert_eq!(status, 200, "{body}");
    let java = body["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["group"]["command"] == "java")
        .unwrap();
    assert_eq!((java["x"].as_f64(), java["count"].as_i64()), (Some(40.0), Some(2)));
    let (_, each) = get(&server.base, "/api/ui/processes/scatter?by=none&query=postgres", None).await;
    assert_eq!(
        each["points"],
        json!([{"group": {"host": "db-1", "pid": 20, "start": 1_700_000_000_020i64}, "x": 12.0, "y": (300u64 << 20) as f64, "count": 1}])
    );
}

#[tokio::test]
async fn detail_has_family_and_history() {
    let server = fed().await;
    let (status, body) = get(&server.base, "/api/ui/processes/detail?host=web-1&pid=10", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["live"], true);
    assert_eq!(
        body["process"]["cmdline"],
        json!(["/usr/bin/java", "-jar", "billing.jar", "--password=********"])
    );
    assert_eq!(body["parent"]["pid"], 1);
    let children: Vec<_> = body["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["pid"].clone())
        .collect();
    assert_eq!(children, [json!(11), json!(12)]);
    let samples = body["history"]["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 1, "the first run is recorded: {body}");
    assert_eq!(samples[0]["rss"], 900u64 << 20);

    // The process exits: the next run no longer has it, and its history remains.
    let web = vec![process(1, 0, "root", &["/sbin/init"], 0.1, 8 << 20, &["command:init"])];
    send(&server.base, &run("web-1", 2, web)).await;
    let (status, body) = get(&server.base, "/api/ui/processes/detail?host=web-1&pid=10", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["live"], false);
    assert_eq!(body["process"]["user"], "app");
    assert_eq!(body["history"]["samples"].as_array().unwrap().len(), 1);

    let (status, body) = get(&server.base, "/api/ui/processes/detail?host=web-1&pid=999", None).await;
    assert_eq!(status, 404);
    assert!(body["errors"][0].as_str().unwrap().contains("no process 999"), "{body}");
    let (status, _) = get(&server.base, "/api/ui/processes/detail?pid=1", None).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn ui_queries_switch_the_named_hosts_or_all_to_real_time() {
    let server = fed().await;
    let quiet = send(&server.base, &run("db-1", 2, vec![])).await.1;
    assert_eq!(quiet["collector"]["active_clients"], 0);
    get(&server.base, "/api/ui/processes?query=host%3Aweb-1", None).await;
    assert_eq!(
        send(&server.base, &run("db-1", 3, vec![])).await.1["collector"]["active_clients"],
        0
    );
    assert_eq!(
        send(&server.base, &run("web-1", 3, vec![])).await.1["collector"]["active_clients"],
        1
    );
    get(&server.base, "/api/ui/processes/facets", None).await;
    assert_eq!(
        send(&server.base, &run("db-1", 4, vec![])).await.1["collector"]["active_clients"],
        1
    );
}

#[tokio::test]
async fn v2_processes_in_datadogs_shape_with_cursor_paging() {
    let server = fed().await;
    let bare = reqwest::Client::new();
    let no_keys = bare
        .get(format!("{}/api/v2/processes", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(no_keys.status(), 401, "Datadog's API needs keys");
    let api_key_only = bare
        .get(format!("{}/api/v2/processes", server.base))
        .header("DD-API-KEY", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(api_key_only.status(), 403, "an API key alone does not read");

    let (status, body) = get(&server.base, "/api/v2/processes?page%5Blimit%5D=2", Some(KEY)).await;
    assert_eq!(status, 200, "{body}");
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["type"], "process");
    let attributes = &data[0]["attributes"];
    assert_eq!(
        (attributes["host"].as_str(), attributes["pid"].as_i64()),
        (Some("db-1"), Some(20))
    );
    assert_eq!(
        attributes["cmdline"],
        "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main"
    );
    assert_eq!(attributes["start"], "2023-11-14T22:13:20.020Z");
    assert!(attributes["tags"].as_array().unwrap().contains(&json!("host:db-1")));
    assert!(attributes["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["meta"]["page"]["size"], 2);

    let mut seen: Vec<i64> = data.iter().map(|d| d["attributes"]["pid"].as_i64().unwrap()).collect();
    let mut cursor = body["meta"]["page"]["after"].as_str().unwrap().to_owned();
    for _ in 0..5 {
        let (_, page) = get(
            &server.base,
            &format!("/api/v2/processes?page%5Blimit%5D=2&page%5Bcursor%5D={cursor}"),
            Some(KEY),
        )
        .await;
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["attributes"]["pid"].as_i64().unwrap()),
        );
        match page["meta"]["page"]["after"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, [20, 1, 10, 11, 12], "every process once, by host then pid");

    let (_, body) = get(
        &server.base,
        "/api/v2/processes?search=java&tags=service%3Abilling",
        Some(KEY),
    )
    .await;
    let pids: Vec<_> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["attributes"]["pid"].clone())
        .collect();
    assert_eq!(pids, [json!(10)]);
    assert!(body["meta"]["page"].get("after").is_none());

    let old = now_ms() / 1000 - 7200;
    let (_, body) = get(
        &server.base,
        &format!("/api/v2/processes?from={old}&to={}", old + 60),
        Some(KEY),
    )
    .await;
    assert_eq!(body["data"], json!([]), "nothing ran two hours ago");
    let (status, _) = get(&server.base, "/api/v2/processes?page%5Bcursor%5D=zz", Some(KEY)).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn process_payloads_that_are_malformed_or_too_big_are_rejected_whole() {
    let server = fed().await;
    let big: Vec<Value> = (100..1100)
        .map(|pid| process(pid, 1, "app", &["/usr/bin/app", &"x".repeat(300)], 1.0, 1, &[]))
        .collect();
    let (status, _) = send(&server.base, &run("web-1", 5, big)).await;
    assert_eq!(status, 413);
    let mut broken = run("web-1", 6, vec![process(30, 1, "app", &["/bin/x"], 1.0, 1, &[])]);
    broken["processes"][0]["rss"] = json!("lots");
    let (status, body) = send(&server.base, &broken).await;
    assert_eq!(status, 400);
    assert!(body["errors"][0].as_str().unwrap().contains("byte"), "{body}");
    let (_, body) = get(
        &server.base,
        "/api/ui/processes?query=host%3Aweb-1&sort=pid&order=asc",
        None,
    )
    .await;
    assert_eq!(pids(&body), [1, 10, 11, 12], "the last good run stands");
}
