//! `/api/v0.2/traces` and `/api/v0.2/stats` as a stock Datadog Agent 7 trace agent sends
//! them, over real HTTP against a real store.
//!
//! Traces: an `AgentPayload` built with libdd-trace-protobuf's structs the way Agent 7 fills
//! them (tracer payloads with container, language and tracer fields; chunks with priority,
//! origin and `_dd.p.dm`; spans with `_sampling_priority_v1`, `_dd.top_level`, `_top_level`,
//! `_dd.agent_psr`; payload tags such as `_dd.apm_mode`), protobuf, gzip- or zstd-compressed, with the
//! agent's headers; read back through the trace and span search APIs with those tags kept.
//!
//! Stats: a `StatsPayload` written as the Go agent's `msgp` code writes it (field names as
//! map keys, `Stats` left out when there are none, `bin` summaries), gzip-compressed, with
//! `agentAggregation` set; read back through the services API. An older Agent 7's payload
//! (no `SplitPayload`, `AgentTimeShift`, `SpanKind`, `PeerTags`, `IsTraceRoot`) is read too.

mod common;

use std::io::Write;

use dogwatch_model::apm::{self, pb};
use libdd_ddsketch::DDSketch;
use prost::Message;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Value, json};

const MS: i64 = 1_000_000;

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(body).unwrap();
    e.finish().unwrap()
}

/// Posts `body` gzip-compressed with Agent 7's trace writer headers.
async fn post(s: &common::Running, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", s.base))
        .header("DD-API-KEY", common::KEY)
        .header("Content-Type", content_type)
        .header("Content-Encoding", "gzip")
        .header("X-Datadog-Reported-Languages", "python|go")
        .header("User-Agent", "Datadog Trace Agent/7.60.0/abcdef1")
        .body(gzip(body))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn get(s: &common::Running, path: &str) -> (u16, Value) {
    let response = common::client().get(format!("{}{path}", s.base)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn strings(pairs: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn numbers(pairs: &[(&str, f64)]) -> std::collections::HashMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// A trace as Agent 7 forwards it after its processing: a Python tracer's `flask.request`
/// root and a measured `postgres.query` child.
fn agent7_payload(start: i64) -> pb::AgentPayload {
    let root = pb::Span {
        service: "notes".into(),
        name: "flask.request".into(),
        resource: "GET /notes".into(),
        trace_id: 0x1122_3344_5566_7788,
        span_id: 101,
        parent_id: 0,
        start,
        duration: 40 * MS,
        error: 0,
        meta: strings(&[
            ("_dd.p.dm", "-0"),
            ("_dd.p.tid", "65f0a1b200000000"),
            ("env", "prod"),
            ("version", "1.2.3"),
            ("language", "python"),
            ("runtime-id", "8c5bd6b8b3d94d6c9a0c7f3e1e3c2a10"),
            ("component", "flask"),
            ("span.kind", "server"),
            ("http.method", "GET"),
            ("http.status_code", "200"),
            ("http.url", "http://notes.local/notes"),
        ]),
        metrics: numbers(&[
            ("_sampling_priority_v1", 1.0),
            ("_dd.top_level", 1.0),
            ("_top_level", 1.0),
            ("_dd.agent_psr", 1.0),
            ("_dd.tracer_kr", 1.0),
            ("_dd.measured", 1.0),
            ("process_id", 4242.0),
        ]),
        r#type: "web".into(),
        ..Default::default()
    };
    let child = pb::Span {
        service: "notes-postgres".into(),
        name: "postgres.query".into(),
        resource: "SELECT * FROM notes WHERE id = ?".into(),
        trace_id: root.trace_id,
        span_id: 102,
        parent_id: 101,
        start: start + 5 * MS,
        duration: 20 * MS,
        meta: strings(&[
            ("_dd.base_service", "notes"),
            ("component", "psycopg"),
            ("span.kind", "client"),
            ("db.system", "postgresql"),
            ("out.host", "db-1"),
        ]),
        metrics: numbers(&[("_dd.measured", 1.0), ("_dd.top_level", 1.0), ("_top_level", 1.0)]),
        r#type: "sql".into(),
        ..Default::default()
    };
    pb::AgentPayload {
        host_name: "web-1".into(),
        env: "prod".into(),
        tracer_payloads: vec![pb::TracerPayload {
            container_id: "3f1d2c0a9b8e".into(),
            language_name: "python".into(),
            language_version: "3.11.4".into(),
            tracer_version: "2.9.2".into(),
            runtime_id: "8c5bd6b8b3d94d6c9a0c7f3e1e3c2a10".into(),
            chunks: vec![pb::TraceChunk {
                priority: 1,
                origin: "synthetics".into(),
                spans: vec![root, child],
                tags: strings(&[("_dd.p.dm", "-0"), ("_dd.hostname", "web-1")]),
                dropped_trace: false,
            }],
            tags: strings(&[("_dd.tags.container", "image_name:notes,short_image:notes")]),
            env: "prod".into(),
            hostname: "web-1".into(),
            app_version: "1.2.3".into(),
            ..Default::default()
        }],
        tags: strings(&[("_dd.apm_mode", "edge")]),
        agent_version: "7.60.0".into(),
        target_tps: 10.0,
        error_tps: 10.0,
        rare_sampler_enabled: false,
        ..Default::default()
    }
}

#[tokio::test]
async fn agent7_traces_gzip_protobuf_are_stored_with_their_dd_tags() {
    let s = common::start(dogwatch_server::DEFAULT_MAX_BODY_BYTES).await;
    let start = (dogwatch_server::now_ms() - 30_000) * MS;
    let payload = agent7_payload(start);
    let (status, body) = post(
        &s,
        "/api/v0.2/traces",
        "application/x-protobuf",
        &payload.encode_to_vec(),
    )
    .await;
    assert_eq!(status, 202, "{body}");

    let (status, trace) = get(&s, &format!("/api/ui/apm/traces/{}", 0x1122_3344_5566_7788u64)).await;
    assert_eq!(status, 200, "{trace}");
    assert_eq!(trace["trace_id_128"], "65f0a1b2000000001122334455667788");
    assert_eq!(trace["root_span_id"], "101");
    assert_eq!(trace["hosts"], json!(["web-1"]));
    let spans = trace["spans"].as_array().unwrap();
    let root = spans.iter().find(|s| s["span_id"] == "101").unwrap();
    let child = spans.iter().find(|s| s["span_id"] == "102").unwrap();
    // The span's own tags, as sent.
    for (key, value) in [
        ("_dd.p.dm", "-0"),
        ("language", "python"),
        ("runtime-id", "8c5bd6b8b3d94d6c9a0c7f3e1e3c2a10"),
    ] {
        assert_eq!(root["meta"][key], value, "{key}");
    }
    for (key, value) in [
        ("_sampling_priority_v1", 1.0),
        ("_dd.top_level", 1.0),
        ("_top_level", 1.0),
        ("_dd.agent_psr", 1.0),
        ("_dd.measured", 1.0),
    ] {
        assert_eq!(root["metrics"][key].as_f64(), Some(value), "{key}");
    }
    // The chunk's, tracer payload's and agent payload's, kept on the root span.
    assert_eq!(root["meta"]["_dd.origin"], "synthetics");
    assert_eq!(root["meta"]["_dd.hostname"], "web-1");
    assert_eq!(root["meta"]["_dd.tags.container"], "image_name:notes,short_image:notes");
    assert_eq!(root["meta"]["_dd.apm_mode"], "edge");
    assert_eq!(
        (root["host"].as_str(), root["env"].as_str(), root["version"].as_str()),
        (Some("web-1"), Some("prod"), Some("1.2.3"))
    );
    assert_eq!(root["top_level"], true);
    // The child keeps its own and does not get the root's.
    assert_eq!(child["meta"]["_dd.base_service"], "notes");
    assert_eq!(child["meta"].get("_dd.apm_mode"), None);
    assert_eq!(
        (child["top_level"].as_bool(), child["measured"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(
        (child["env"].as_str(), child["version"].as_str()),
        (Some("prod"), Some("1.2.3"))
    );

    // Datadog's span search finds them by those tags.
    let search = json!({"data": {"type": "search_request", "attributes": {
        "filter": {"query": "service:notes @_dd.p.dm:-0", "from": "now-15m", "to": "now"},
        "sort": "-timestamp", "page": {"limit": 10}}}});
    let response = common::client()
        .post(format!("{}/api/v2/spans/events/search", s.base))
        .json(&search)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let found: Value = response.json().await.unwrap();
    let ids: Vec<&str> = found["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["101"], "{found}");

    // A tracer that set only `_dd.top_level` (no `_top_level` from an agent) is top-level too.
    let mut only_tracer_key = agent7_payload(start);
    let chunk = &mut only_tracer_key.tracer_payloads[0].chunks[0];
    chunk.spans.truncate(1);
    chunk.spans[0].trace_id = 77;
    chunk.spans[0].metrics.remove("_top_level");
    let (status, _) = post(
        &s,
        "/api/v0.2/traces",
        "application/x-protobuf",
        &only_tracer_key.encode_to_vec(),
    )
    .await;
    assert_eq!(status, 202);
    let (_, trace) = get(&s, "/api/ui/apm/traces/77").await;
    assert_eq!(trace["spans"][0]["top_level"], true, "{trace}");

    // Agent 7 with zstd compression for traces (`Content-Encoding: zstd`).
    let mut zstd_payload = agent7_payload(start);
    for span in &mut zstd_payload.tracer_payloads[0].chunks[0].spans {
        span.trace_id = 78;
    }
    let response = reqwest::Client::new()
        .post(format!("{}/api/v0.2/traces", s.base))
        .header("DD-API-KEY", common::KEY)
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "zstd")
        .header("X-Datadog-Reported-Languages", "python")
        .body(zstd::encode_all(zstd_payload.encode_to_vec().as_slice(), 1).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let (_, trace) = get(&s, "/api/ui/apm/traces/78").await;
    assert_eq!(trace["span_count"], 2, "{trace}");
    let root = trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["span_id"] == "101")
        .unwrap();
    assert_eq!(root["meta"]["_dd.apm_mode"], "edge");
}

/// A msgpack value written in the order and shape Go's `msgp` code writes it.
enum Go {
    Str(String),
    U64(u64),
    I64(i64),
    Bool(bool),
    Bin(Vec<u8>),
    Arr(Vec<Go>),
    Map(Vec<(&'static str, Go)>),
}

impl Serialize for Go {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Go::Str(v) => s.serialize_str(v),
            Go::U64(v) => s.serialize_u64(*v),
            Go::I64(v) => s.serialize_i64(*v),
            Go::Bool(v) => s.serialize_bool(*v),
            Go::Bin(v) => s.serialize_bytes(v),
            Go::Arr(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Go::Map(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

fn str(v: &str) -> Go {
    Go::Str(v.into())
}

/// `Stats` with Go's `omitempty`: left out when there are none.
fn push_stats(fields: &mut Vec<(&'static str, Go)>, stats: Vec<Go>) {
    if !stats.is_empty() {
        fields.push(("Stats", Go::Arr(stats)));
    }
}

/// A `ClientGroupedStats` as the Go agent writes it; `old` leaves out what older Agent 7s do
/// not write.
fn go_group(g: &pb::ClientGroupedStats, old: bool) -> Go {
    let mut fields = vec![
        ("Service", str(&g.service)),
        ("Name", str(&g.name)),
        ("Resource", str(&g.resource)),
        ("HTTPStatusCode", Go::U64(g.http_status_code.into())),
        ("Type", str(&g.r#type)),
        ("DBType", str(&g.db_type)),
        ("Hits", Go::U64(g.hits)),
        ("Errors", Go::U64(g.errors)),
        ("Duration", Go::U64(g.duration)),
        ("OkSummary", Go::Bin(g.ok_summary.clone())),
        ("ErrorSummary", Go::Bin(g.error_summary.clone())),
        ("Synthetics", Go::Bool(g.synthetics)),
        ("TopLevelHits", Go::U64(g.top_level_hits)),
    ];
    if !old {
        fields.push(("SpanKind", str(&g.span_kind)));
        fields.push(("PeerTags", Go::Arr(g.peer_tags.iter().map(|t| str(t)).collect())));
        fields.push(("IsTraceRoot", Go::I64(g.is_trace_root.into())));
    }
    Go::Map(fields)
}

/// A `StatsPayload` as the Go agent's `msgp` code writes it.
fn go_stats_payload(p: &pb::StatsPayload, old: bool) -> Vec<u8> {
    let clients = p
        .stats
        .iter()
        .map(|c| {
            let buckets = c
                .stats
                .iter()
                .map(|b| {
                    let mut fields = vec![("Start", Go::U64(b.start)), ("Duration", Go::U64(b.duration))];
                    push_stats(&mut fields, b.stats.iter().map(|g| go_group(g, old)).collect());
                    if !old {
                        fields.push(("AgentTimeShift", Go::I64(b.agent_time_shift)));
                    }
                    Go::Map(fields)
                })
                .collect();
            let mut fields = vec![
                ("Hostname", str(&c.hostname)),
                ("Env", str(&c.env)),
                ("Version", str(&c.version)),
            ];
            push_stats(&mut fields, buckets);
            fields.extend([
                ("Lang", str(&c.lang)),
                ("TracerVersion", str(&c.tracer_version)),
                ("RuntimeID", str(&c.runtime_id)),
                ("Sequence", Go::U64(c.sequence)),
                ("AgentAggregation", str(&c.agent_aggregation)),
                ("Service", str(&c.service)),
                ("ContainerID", str(&c.container_id)),
                ("Tags", Go::Arr(c.tags.iter().map(|t| str(t)).collect())),
                ("GitCommitSha", str(&c.git_commit_sha)),
                ("ImageTag", str(&c.image_tag)),
            ]);
            Go::Map(fields)
        })
        .collect();
    let mut fields = vec![
        ("AgentHostname", str(&p.agent_hostname)),
        ("AgentEnv", str(&p.agent_env)),
    ];
    push_stats(&mut fields, clients);
    fields.push(("AgentVersion", str(&p.agent_version)));
    fields.push(("ClientComputed", Go::Bool(p.client_computed)));
    if !old {
        fields.push(("SplitPayload", Go::Bool(p.split_payload)));
    }
    rmp_serde::to_vec(&Go::Map(fields)).unwrap()
}

fn sketch(durations_ms: &[i64]) -> Vec<u8> {
    let mut sketch = DDSketch::default();
    for d in durations_ms {
        sketch.add((d * MS) as f64).unwrap();
    }
    sketch.encode_to_vec()
}

/// Stats as Agent 7's concentrator flushes them: one client payload per host, env and version,
/// `agentAggregation` set, a 10 s bucket with the `flask.request` group, and an empty bucket
/// (written without `Stats`).
fn agent7_stats(service: &str, bucket_start: u64) -> pb::StatsPayload {
    let group = pb::ClientGroupedStats {
        service: service.into(),
        name: "flask.request".into(),
        resource: "GET /notes".into(),
        http_status_code: 200,
        r#type: "web".into(),
        hits: 3,
        errors: 1,
        duration: 120 * MS as u64,
        ok_summary: sketch(&[30, 50]),
        error_summary: sketch(&[40]),
        top_level_hits: 3,
        span_kind: "server".into(),
        is_trace_root: pb::Trilean::True as i32,
        ..Default::default()
    };
    pb::StatsPayload {
        agent_hostname: "web-1".into(),
        agent_env: "prod".into(),
        stats: vec![pb::ClientStatsPayload {
            hostname: "web-1".into(),
            env: "prod".into(),
            version: "1.2.3".into(),
            lang: "python".into(),
            tracer_version: "2.9.2".into(),
            agent_aggregation: "distributions".into(),
            container_id: String::new(),
            stats: vec![
                pb::ClientStatsBucket {
                    start: bucket_start,
                    duration: 10_000 * MS as u64,
                    stats: vec![group],
                    agent_time_shift: 0,
                },
                pb::ClientStatsBucket {
                    start: bucket_start + 10_000 * MS as u64,
                    duration: 10_000 * MS as u64,
                    stats: Vec::new(),
                    agent_time_shift: 0,
                },
            ],
            ..Default::default()
        }],
        agent_version: "7.60.0".into(),
        client_computed: false,
        split_payload: false,
    }
}

#[tokio::test]
async fn agent7_stats_gzip_msgpack_as_go_writes_them_are_stored_and_read_back() {
    let s = common::start(dogwatch_server::DEFAULT_MAX_BODY_BYTES).await;
    let bucket_start = ((dogwatch_server::now_ms() - 60_000) / 10_000 * 10_000 * MS) as u64;
    for (service, old) in [("notes", false), ("notes-old-agent", true)] {
        let body = go_stats_payload(&agent7_stats(service, bucket_start), old);
        let (status, answer) = post(&s, "/api/v0.2/stats", apm::STATS_PAYLOAD_CONTENT_TYPE, &body).await;
        assert_eq!(status, 202, "{service}: {answer}");
    }
    // A payload with no client stats at all (Stats left out) is accepted and stores nothing.
    let empty = pb::StatsPayload {
        stats: Vec::new(),
        ..agent7_stats("none", bucket_start)
    };
    let (status, answer) = post(
        &s,
        "/api/v0.2/stats",
        apm::STATS_PAYLOAD_CONTENT_TYPE,
        &go_stats_payload(&empty, false),
    )
    .await;
    assert_eq!(status, 202, "{answer}");

    let (status, list) = get(&s, "/api/ui/apm/services?from=now-15m&to=now").await;
    assert_eq!(status, 200, "{list}");
    for service in ["notes", "notes-old-agent"] {
        let row = list["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["service"] == service)
            .unwrap_or_else(|| panic!("{service} missing from {list}"));
        assert_eq!(
            (row["hits"].as_u64(), row["errors"].as_u64()),
            (Some(3), Some(1)),
            "{service}: {row}"
        );
    }
    let (status, page) = get(&s, "/api/ui/apm/services/notes?from=now-15m&to=now").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["operation"], "flask.request");
    assert_eq!(page["summary"]["hits"], 3);
    assert_eq!(page["resources"][0]["resource"], "GET /notes");

    // Not msgpack: a 400 naming the payload.
    let (status, answer) = post(
        &s,
        "/api/v0.2/stats",
        apm::STATS_PAYLOAD_CONTENT_TYPE,
        b"\xc1 not msgpack",
    )
    .await;
    assert_eq!(status, 400);
    assert!(answer.contains("StatsPayload"), "{answer}");
}
