//! The server's intake over real HTTP: API keys, size limits, decompression, bad bodies.

use std::io::Write;

use dogwatch_store::{CheckRunQuery, SqliteStore, Store};
use serde_json::{Value, json};

mod common;
use common::{KEY, Running};

const LIMIT: usize = 64 * 1024;

async fn start() -> Running {
    common::start(LIMIT).await
}

fn check_run(message: &str) -> Value {
    json!([{"check": "app.ok", "host_name": "h1", "status": 0, "message": message, "tags": null}])
}

async fn post(base: &str, path: &str, key: Option<&str>, body: Vec<u8>, encoding: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("Content-Type", "application/json")
        .body(body);
    if let Some(key) = key {
        request = request.header("DD-API-KEY", key);
    }
    if let Some(encoding) = encoding {
        request = request.header("Content-Encoding", encoding);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn stored(store: &SqliteStore) -> Vec<String> {
    store
        .check_runs(&CheckRunQuery::default())
        .unwrap()
        .into_iter()
        .map(|r| r.run.message)
        .collect()
}

#[tokio::test]
async fn validate_accepts_a_known_key_and_forbids_others_like_datadog() {
    let s = start().await;
    let client = reqwest::Client::new();
    let ok = client
        .get(format!("{}/api/v1/validate", s.base))
        .header("DD-API-KEY", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap(), json!({"valid": true}));
    let by_query = client
        .get(format!("{}/api/v1/validate?api_key={KEY}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), 200);
    for bad in [Some("wrong"), None] {
        let mut request = client.get(format!("{}/api/v1/validate", s.base));
        if let Some(key) = bad {
            request = request.header("DD-API-KEY", key);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403);
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"errors": ["Forbidden"]})
        );
    }
}

#[tokio::test]
async fn every_intake_path_requires_a_valid_key() {
    let s = start().await;
    for path in ["/api/v1/series", "/api/v1/check_run", "/intake/"] {
        for key in [None, Some("wrong")] {
            let (status, body) = post(&s.base, path, key, b"{}".to_vec(), None).await;
            assert_eq!(
                (status, body),
                (403, json!({"errors": ["Forbidden"]})),
                "{path} with {key:?}"
            );
        }
    }
}

#[tokio::test]
async fn compressed_and_plain_check_runs_are_stored() {
    let s = start().await;
    let plain = serde_json::to_vec(&check_run("plain")).unwrap();
    assert_eq!(
        post(&s.base, "/api/v1/check_run", Some(KEY), plain.clone(), None).await,
        (202, json!({"status": "ok"}))
    );
    let zstd = zstd::bulk::compress(&serde_json::to_vec(&check_run("zstd")).unwrap(), 3).unwrap();
    assert_eq!(
        post(&s.base, "/api/v1/check_run", Some(KEY), zstd, Some("zstd"))
            .await
            .0,
        202
    );
    let mut deflate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    deflate
        .write_all(&serde_json::to_vec(&check_run("deflate")).unwrap())
        .unwrap();
    assert_eq!(
        post(
            &s.base,
            "/api/v1/check_run",
            Some(KEY),
            deflate.finish().unwrap(),
            Some("deflate")
        )
        .await
        .0,
        202
    );
    assert_eq!(stored(&s.store), ["plain", "zstd", "deflate"]);
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_and_nothing_is_stored() {
    let s = start().await;
    let big = json!([{"check": "x", "host_name": "h", "status": 0, "message": "a".repeat(LIMIT)}]);
    let (status, _) = post(
        &s.base,
        "/api/v1/check_run",
        Some(KEY),
        serde_json::to_vec(&big).unwrap(),
        None,
    )
    .await;
    assert_eq!(status, 413);
    assert!(stored(&s.store).is_empty());
}

#[tokio::test]
async fn a_small_compressed_body_that_expands_past_the_limit_gets_413() {
    let s = start().await;
    let mut body = br#"[{"check":"x","host_name":"h","status":0,"message":""#.to_vec();
    body.extend(std::iter::repeat_n(b'a', 50 * LIMIT));
    body.extend_from_slice(br#""}]"#);
    let bomb = zstd::bulk::compress(&body, 19).unwrap();
    assert!(
        bomb.len() < LIMIT / 10,
        "the compressed body is small: {} bytes",
        bomb.len()
    );
    let (status, response) = post(&s.base, "/api/v1/check_run", Some(KEY), bomb, Some("zstd")).await;
    assert_eq!(status, 413, "{response}");
    assert!(stored(&s.store).is_empty());
}

#[tokio::test]
async fn malformed_bodies_get_400_with_the_byte_offset_and_nothing_is_stored() {
    let s = start().await;
    let (status, body) = post(
        &s.base,
        "/api/v1/check_run",
        Some(KEY),
        br#"[{"check": "x", "status": oops}]"#.to_vec(),
        None,
    )
    .await;
    assert_eq!(status, 400);
    let message = body["errors"][0].as_str().unwrap();
    assert!(message.contains("invalid check_run payload at byte 26"), "{message}");
    let (status, body) = post(
        &s.base,
        "/api/v1/check_run",
        Some(KEY),
        br#"[{"check":"x","host_name":"h","status":7}]"#.to_vec(),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0].as_str().unwrap().contains("status must be 0"),
        "{body}"
    );
    let (status, _) = post(
        &s.base,
        "/api/v1/check_run",
        Some(KEY),
        b"\x28\xb5\x2f\xfdgarbage".to_vec(),
        Some("zstd"),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = post(
        &s.base,
        "/api/v1/series",
        Some(KEY),
        br#"{"series":[{"metric":"","points":[[1,2]]}]}"#.to_vec(),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(stored(&s.store).is_empty());
}

#[tokio::test]
async fn a_payload_id_sent_twice_is_stored_once() {
    let s = start().await;
    let client = reqwest::Client::new();
    for _ in 0..2 {
        let response = client
            .post(format!("{}/api/v1/check_run", s.base))
            .header("DD-API-KEY", KEY)
            .header("Dogwatch-Payload-Id", "0f0f0f0f")
            .body(serde_json::to_vec(&check_run("once")).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
    assert_eq!(stored(&s.store), ["once"]);
}

#[tokio::test]
async fn host_metadata_shows_up_in_the_hosts_api_and_the_overview_page() {
    let s = start().await;
    let meta = json!({"internalHostname": "web-1", "agentVersion": "7.50.0", "os": "linux", "host-tags": {"system": ["team:a"]}, "gohai": "{}"});
    assert_eq!(
        post(&s.base, "/intake/", Some(KEY), serde_json::to_vec(&meta).unwrap(), None)
            .await
            .0,
        202
    );
    let hosts: Value = common::client()
        .get(format!("{}/api/ui/hosts", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hosts["hosts"][0]["hostname"], "web-1");
    assert_eq!(hosts["hosts"][0]["stale"], false);
    let page = common::client()
        .get(format!("{}/overview", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("web-1") && page.contains("team:a"), "{page}");
}

fn process_chunk(run_id: u64, chunk_index: u32, chunk_count: u32, pids: &[i32]) -> Value {
    let processes: Vec<Value> = pids
        .iter()
        .map(|pid| {
            json!({
                "pid": pid, "ppid": 1, "pgroup": pid, "user": "app", "uid": 1000, "gid": 1000, "name": "app",
                "cmdline": ["/usr/bin/app", "--password=********"], "exe": "/usr/bin/app", "cwd": "/srv",
                "state": "S", "create_time_ms": 1_700_000_000_000i64, "cpu_user_pct": 1.5, "cpu_system_pct": 0.5,
                "cpu_total_pct": 2.0, "rss": 1024, "vms": 4096, "swap": 0, "threads": 2, "open_fds": 5,
                "io_read_ops_rate": 0.0, "io_write_ops_rate": 0.0, "io_read_bytes_rate": 0.0,
                "io_write_bytes_rate": 0.0, "ctx_switches_voluntary": 3, "ctx_switches_involuntary": 1, "nice": 0,
                "tags": ["user:app", "command:app"]
            })
        })
        .collect();
    json!({
        "host": {"hostname": "web-1", "cpu_count": 2, "cpu_model": "x", "memory_total": 1024, "kernel": "6.1",
                 "os": "Debian", "boot_time": 1_700_000_000, "agent_version": "0.1.0"},
        "run_id": run_id, "chunk_count": chunk_count, "chunk_index": chunk_index,
        "collected_at_ms": 1_700_000_000_000i64, "interval_s": 10, "realtime": false,
        "total_processes": pids.len(), "processes": processes
    })
}

async fn snapshot_pids(base: &str) -> Option<Vec<i64>> {
    let response = common::client()
        .get(format!("{base}/api/ui/processes/snapshot?host=web-1"))
        .send()
        .await
        .unwrap();
    if response.status() == 404 {
        return None;
    }
    let body: Value = response.json().await.unwrap();
    Some(
        body["processes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["pid"].as_i64().unwrap())
            .collect(),
    )
}

#[tokio::test]
async fn process_chunks_become_the_hosts_snapshot_and_the_answer_says_who_watches() {
    let server = start().await;
    let body = |v: Value| serde_json::to_vec(&v).unwrap();
    let path = "/api/v1/collector";
    assert_eq!(
        post(&server.base, path, None, body(process_chunk(1, 0, 1, &[1])), None)
            .await
            .0,
        403
    );

    let (code, answer) = post(
        &server.base,
        path,
        Some(KEY),
        body(process_chunk(1, 0, 2, &[10, 11])),
        None,
    )
    .await;
    assert_eq!(
        (code, &answer),
        (200, &json!({"collector": {"active_clients": 0, "interval": 2}}))
    );
    assert_eq!(snapshot_pids(&server.base).await, None, "half a run is not shown");
    post(&server.base, path, Some(KEY), body(process_chunk(1, 1, 2, &[12])), None).await;
    assert_eq!(snapshot_pids(&server.base).await, Some(vec![10, 11, 12]));

    // Bad chunks are refused whole, naming the problem, and change nothing.
    let bad = [
        (process_chunk(2, 3, 2, &[1]), "chunk_index 3"),
        (process_chunk(2, 0, 1, &[7, 7]), "pid 7 is listed twice"),
        (process_chunk(2, 0, 1_000_000, &[1]), "over the limit"),
    ];
    for (chunk, expected) in bad {
        let (code, answer) = post(&server.base, path, Some(KEY), body(chunk), None).await;
        assert_eq!(code, 400);
        assert!(answer.to_string().contains(expected), "{answer}");
    }
    let (code, answer) = post(
        &server.base,
        path,
        Some(KEY),
        br#"{"host": {"hostname": 5}}"#.to_vec(),
        None,
    )
    .await;
    assert_eq!(code, 400);
    assert!(
        answer.to_string().contains("invalid process payload at byte"),
        "{answer}"
    );
    assert_eq!(snapshot_pids(&server.base).await, Some(vec![10, 11, 12]));

    // Someone watches web-1: the next answer asks its agent for real time.
    let watch = common::client()
        .post(format!("{}/api/ui/processes/watch", server.base))
        .body(r#"{"hosts":["web-1"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(watch.status(), 200);
    let (_, answer) = post(&server.base, path, Some(KEY), body(process_chunk(2, 0, 1, &[20])), None).await;
    assert_eq!(answer, json!({"collector": {"active_clients": 1, "interval": 2}}));
    assert_eq!(snapshot_pids(&server.base).await, Some(vec![20]));
}
