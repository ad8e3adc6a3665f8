//! `/intake/` and `/api/v1/check_run` as a stock Datadog Agent 7 posts them (the JSON of its
//! host metadata v5 payload, its separate `agent_checks` payload and its service checks,
//! zlib-compressed as its forwarder sends them), over real HTTP against a real store, read back
//! through `/api/ui/hosts` and `/api/ui/service_checks`.

mod common;

use std::io::Write;

use serde_json::{Value, json};

fn deflate(body: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(body).unwrap();
    e.finish().unwrap()
}

/// Posts `body` as Agent 7's forwarder does: JSON, zlib (`Content-Encoding: deflate`), the
/// API key header and the agent's user agent.
async fn post(s: &common::Running, path: &str, body: &Value) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", s.base))
        .header("DD-API-KEY", common::KEY)
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "deflate")
        .header("DD-Agent-Version", "7.60.0")
        .header("User-Agent", "datadog-agent/7.60.0")
        .body(deflate(body.to_string().as_bytes()))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn get(s: &common::Running, path: &str) -> Value {
    let response = common::client().get(format!("{}{path}", s.base)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

fn host<'a>(hosts: &'a Value, name: &str) -> &'a Value {
    hosts["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hostname"] == name)
        .unwrap_or_else(|| panic!("{name} not in {hosts}"))
}

/// The host metadata v5 payload as Agent 7 (comp/metadata/host, pkg/metadata v5) fills it:
/// common fields, `os`, `python`, `systemStats`, `meta`, `host-tags`, `network`, `logs`,
/// `install-method`, `proxy-info`, `otlp`, gohai as a JSON string, the process `resources`,
/// and `agent_checks` rows of every shape the agent writes (OK; WARNING with its warnings as an
/// array; ERROR; a check that failed to load, five items).
fn v5_payload(now: i64) -> Value {
    let gohai = json!({
        "cpu": {"cpu_cores": "4", "model_name": "Intel(R) Xeon(R)", "mhz": "2300.000"},
        "filesystem": [{"kb_size": "102687672", "mounted_on": "/", "name": "/dev/root"}],
        "memory": {"swap_total": "0kB", "total": "16380988kB"},
        "network": {"ipaddress": "10.0.0.12", "ipaddressv6": "", "macaddress": "02:42:ac:11:00:02"},
        "platform": {"GOOARCH": "amd64", "GOOS": "linux", "goV": "1.22.8", "hostname": "web-1",
                     "kernel_name": "Linux", "kernel_release": "6.5.0-1016-aws", "os": "GNU/Linux"}
    });
    json!({
        "apiKey": common::KEY,
        "agentVersion": "7.60.0",
        "uuid": "0b6a4c8e-5d0e-5f8b-9f1e-2c3d4e5f6a7b",
        "internalHostname": "web-1",
        "os": "linux",
        "agent-flavor": "agent",
        "python": "3.12.6 (main, Oct  1 2024, 09:01:47) [GCC 11.4.0]",
        "systemStats": {
            "cpuCores": 4, "machine": "amd64", "platform": "linux", "pythonV": "3.12.6",
            "processor": "Intel(R) Xeon(R)", "macV": ["", "", ""], "nixV": ["ubuntu", "22.04", ""],
            "fbsdV": ["", "", ""], "winV": ["", "", ""]
        },
        "meta": {
            "socket-hostname": "ip-10-0-0-12",
            "timezones": ["UTC"],
            "socket-fqdn": "ip-10-0-0-12.ec2.internal",
            "ec2-hostname": "ip-10-0-0-12.ec2.internal",
            "hostname": "web-1",
            "host_aliases": ["i-0abc123def4567890"],
            "instance-id": "i-0abc123def4567890",
            "hostname-resolution-version": 1
        },
        "host-tags": {"system": ["env:prod", "team:notes"], "google cloud platform": []},
        "network": {"network-id": "vpc-0123456789abcdef0"},
        "logs": {"transport": "", "auto_multi_line_detection_enabled": false},
        "install-method": {"tool": "install_script", "tool_version": "install_script", "installer_version": "install_script-1.32.0"},
        "proxy-info": {"no-proxy-nonexact-match": false, "proxy-behavior-changed": false, "no-proxy-nonexact-match-explicitly-set": false},
        "otlp": {"enabled": false},
        "gohai": gohai.to_string(),
        "resources": {"processes": {"snaps": [[now, [["root", 0.0, 0.1, 123456, 4567, "1", "dockerd", "dockerd", 1]]]]}, "meta": {"host": "web-1"}},
        "agent_checks": [
            ["cpu", "cpu", "cpu:e331d61ed1323219", "OK", "", ""],
            ["disk", "disk", "disk:e5dffb8bef24336f", "WARNING", ["Unable to get disk metrics for /snap: permission denied"], ""],
            ["redisdb", "redisdb", "redisdb:8f1c2b3a4d5e6f70", "ERROR", "[{\"message\": \"Error 111 connecting to localhost:6379. Connection refused.\"}]", ""],
            ["mysql", "mysql", "initialization", "ERROR", "{\"Core Check Loader\":\"Check mysql not found in Catalog\"}"]
        ]
    })
}

#[tokio::test]
async fn agent7_host_metadata_agent_checks_and_service_checks_are_stored_and_shown() {
    let s = common::start(dogwatch_server::DEFAULT_MAX_BODY_BYTES).await;
    let now = dogwatch_server::now_ms() / 1000;
    let (status, body) = post(&s, "/intake/", &v5_payload(now)).await;
    assert_eq!(status, 202, "{body}");

    let hosts = get(&s, "/api/ui/hosts").await;
    let web = host(&hosts, "web-1");
    assert_eq!(
        (web["agent_version"].as_str(), web["os"].as_str()),
        (Some("7.60.0"), Some("linux"))
    );
    assert_eq!(web["tags"], json!(["env:prod", "team:notes"]));
    let checks: Vec<(&str, &str, &str)> = web["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap(),
                c["instance_id"].as_str().unwrap(),
                c["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        checks,
        [
            ("cpu", "cpu:e331d61ed1323219", "OK"),
            ("disk", "disk:e5dffb8bef24336f", "WARNING"),
            ("redisdb", "redisdb:8f1c2b3a4d5e6f70", "ERROR"),
            ("mysql", "initialization", "ERROR"),
        ]
    );
    assert_eq!(
        web["checks"][1]["error"],
        "Unable to get disk metrics for /snap: permission denied"
    );
    assert!(
        web["checks"][3]["error"]
            .as_str()
            .unwrap()
            .contains("not found in Catalog")
    );

    // Agent 7's separate agent_checks payload (common fields, meta, checks, external host
    // tags; no os, no host-tags) updates the checks and keeps the os and tags.
    let agent_checks = json!({
        "apiKey": common::KEY,
        "agentVersion": "7.60.0",
        "uuid": "0b6a4c8e-5d0e-5f8b-9f1e-2c3d4e5f6a7b",
        "internalHostname": "web-1",
        "meta": {"socket-hostname": "ip-10-0-0-12", "timezones": ["UTC"], "socket-fqdn": "", "ec2-hostname": "",
                 "hostname": "web-1", "host_aliases": null, "instance-id": ""},
        "agent_checks": [["cpu", "cpu", "cpu:e331d61ed1323219", "OK", "", ""]],
        "external_host_tags": []
    });
    let (status, body) = post(&s, "/intake/", &agent_checks).await;
    assert_eq!(status, 202, "{body}");
    let hosts = get(&s, "/api/ui/hosts").await;
    let web = host(&hosts, "web-1");
    assert_eq!(
        (web["os"].as_str(), &web["tags"]),
        (Some("linux"), &json!(["env:prod", "team:notes"]))
    );
    assert_eq!(web["checks"].as_array().unwrap().len(), 1);

    // A host whose agent has no configured tags: Go writes `null`s.
    let mut bare = v5_payload(now);
    bare["internalHostname"] = json!("db-1");
    bare["host-tags"] = json!({"system": null});
    bare["meta"]["host_aliases"] = Value::Null;
    bare["agent_checks"] = Value::Null;
    let (status, body) = post(&s, "/intake/", &bare).await;
    assert_eq!(status, 202, "{body}");
    let hosts = get(&s, "/api/ui/hosts").await;
    assert_eq!(host(&hosts, "db-1")["tags"], json!([]));

    // Service checks as Agent 7's serializer writes them (`tags` null when none).
    let runs = json!([
        {"check": "datadog.agent.up", "host_name": "web-1", "timestamp": now, "status": 0, "message": "", "tags": null},
        {"check": "datadog.agent.check_status", "host_name": "web-1", "timestamp": now, "status": 2,
         "message": "Error 111 connecting to localhost:6379. Connection refused.",
         "tags": ["check:redisdb", "dd_enable_check_intake:true"]},
        {"check": "redis.can_connect", "host_name": "web-1", "timestamp": now, "status": 2,
         "message": "Error 111 connecting to localhost:6379. Connection refused.",
         "tags": ["redis_host:localhost", "redis_port:6379", "redis_role:master"]}
    ]);
    let (status, body) = post(&s, "/api/v1/check_run", &runs).await;
    assert_eq!(status, 202, "{body}");
    let checks = get(&s, "/api/ui/service_checks").await;
    let seen: Vec<(&str, &str, &str)> = checks["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap(),
                c["host"].as_str().unwrap(),
                c["status_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("datadog.agent.check_status", "web-1", "CRITICAL"),
            ("redis.can_connect", "web-1", "CRITICAL"),
            ("datadog.agent.up", "web-1", "OK"),
        ],
        "{checks}"
    );
    assert_eq!(
        checks["totals"],
        json!({"ok": 1, "warning": 0, "critical": 2, "unknown": 0})
    );
    assert_eq!(
        checks["checks"][1]["tags"],
        json!(["redis_host:localhost", "redis_port:6379", "redis_role:master"])
    );

    // A check row that is not one: a 400 naming it, and nothing stored.
    let mut bad = v5_payload(now);
    bad["internalHostname"] = json!("bad-1");
    bad["agent_checks"] = json!([["cpu", "cpu", "cpu:1", "OK", "", ""], ["cpu"]]);
    let (status, body) = post(&s, "/intake/", &bad).await;
    assert_eq!(status, 400);
    assert!(body.contains("agent_checks[1]"), "{body}");
    let hosts = get(&s, "/api/ui/hosts").await;
    assert!(
        hosts["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["hostname"] != "bad-1")
    );
}
