//! APM as Datadog scopes it: a service's hits, errors and latency are those of its primary
//! operation (the top-level operation name with the most hits), or of the operation a request
//! picks; the services list and a service's page list its operations; `_dd.base_service`
//! comes from its spans. Spans and stats are posted through the real intake
//! (`/api/v0.2/traces` protobuf, `/api/v0.2/stats` msgpack) of a real server and store.

mod common;

use dogwatch_model::apm::{self, pb};
use libdd_ddsketch::DDSketch;
use serde_json::Value;

const MS: i64 = 1_000_000;

fn sketch(durations_ms: &[i64]) -> Vec<u8> {
    let mut sketch = DDSketch::default();
    for d in durations_ms {
        sketch.add((d * MS) as f64).unwrap();
    }
    sketch.encode_to_vec()
}

/// A stats group of top-level spans of one operation and resource.
fn group(service: &str, name: &str, resource: &str, durations_ms: &[i64], errors: u64) -> pb::ClientGroupedStats {
    pb::ClientGroupedStats {
        service: service.into(),
        name: name.into(),
        resource: resource.into(),
        r#type: "custom".into(),
        hits: durations_ms.len() as u64,
        top_level_hits: durations_ms.len() as u64,
        errors,
        duration: durations_ms.iter().map(|d| (d * MS) as u64).sum(),
        ok_summary: sketch(durations_ms),
        error_summary: Vec::new(),
        ..Default::default()
    }
}

/// `notes_helper` as Datadog's APM tutorial app makes it: `long_running_process` three times
/// (300, 332 and 364 ms, one an error) and `another_process` once (50 ms), both top-level;
/// plus a non-top-level `inner` (measured, counted as hits but not top-level hits), and
/// `notes` with one `flask.request`. Posted as a stats payload of the last minute.
async fn post_stats(s: &common::Running) {
    let start = (dogwatch_server::now_ms() - 60_000) / 10_000 * 10_000 * MS;
    let mut inner = group("notes_helper", "inner", "inner", &[5, 5], 0);
    inner.top_level_hits = 0;
    let payload = pb::StatsPayload {
        agent_hostname: "web-1".into(),
        agent_env: "dev".into(),
        stats: vec![pb::ClientStatsPayload {
            hostname: "web-1".into(),
            env: "dev".into(),
            stats: vec![pb::ClientStatsBucket {
                start: start as u64,
                duration: 10_000 * MS as u64,
                stats: vec![
                    group(
                        "notes_helper",
                        "long_running_process",
                        "long_running_process",
                        &[300, 332],
                        0,
                    ),
                    group("notes_helper", "long_running_process", "other_resource", &[364], 1),
                    group("notes_helper", "another_process", "another_process", &[50], 0),
                    inner,
                    group("notes", "flask.request", "GET /notes", &[20], 0),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let body = rmp_serde::to_vec_named(&payload).unwrap();
    let response = common::client()
        .post(format!("{}/api/v0.2/stats", s.base))
        .header("Content-Type", apm::STATS_PAYLOAD_CONTENT_TYPE)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202, "{}", response.text().await.unwrap());
}

/// Spans: a `notes` entry span, and a `requests` client span below it whose tracer marks it
/// `_dd.base_service: notes`.
async fn post_spans(s: &common::Running) {
    let start = (dogwatch_server::now_ms() - 30_000) * MS;
    let span = |id: u64, parent: u64, service: &str, name: &str, base: Option<&str>| pb::Span {
        service: service.into(),
        name: name.into(),
        resource: name.into(),
        trace_id: 42,
        span_id: id,
        parent_id: parent,
        start: start + id as i64 * MS,
        duration: 10 * MS,
        metrics: [("_top_level".to_string(), 1.0)].into(),
        meta: base
            .map(|b| [("_dd.base_service".to_string(), b.to_string())].into())
            .unwrap_or_default(),
        ..Default::default()
    };
    let payload = pb::AgentPayload {
        host_name: "web-1".into(),
        env: "dev".into(),
        tracer_payloads: vec![pb::TracerPayload {
            chunks: vec![pb::TraceChunk {
                spans: vec![
                    span(1, 0, "notes", "flask.request", None),
                    span(2, 1, "requests", "requests.request", Some("notes")),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let response = common::client()
        .post(format!("{}/api/v0.2/traces", s.base))
        .header("Content-Type", apm::AGENT_PAYLOAD_CONTENT_TYPE)
        .body(apm::encode_agent_payload(&payload))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202, "{}", response.text().await.unwrap());
}

async fn get(s: &common::Running, path: &str) -> (u16, Value) {
    let response = common::client().get(format!("{}{path}", s.base)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn service_row<'a>(list: &'a Value, service: &str) -> Option<&'a Value> {
    list["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service"] == service)
}

#[tokio::test]
async fn a_service_reports_its_primary_operation_and_lists_the_others() {
    let s = common::start(dogwatch_server::DEFAULT_MAX_BODY_BYTES).await;
    post_stats(&s).await;
    post_spans(&s).await;

    let (status, list) = get(&s, "/api/ui/apm/services?from=now-15m&to=now").await;
    assert_eq!(status, 200, "{list}");
    let helper = service_row(&list, "notes_helper").expect("notes_helper listed");
    // The primary operation is the one with the most hits: 3 of long_running_process, not
    // 4 of every operation mixed.
    assert_eq!(helper["operation"], "long_running_process");
    assert_eq!((helper["hits"].as_u64(), helper["errors"].as_u64()), (Some(3), Some(1)));
    assert_eq!(helper["avg"].as_f64(), Some(332.0 * MS as f64));
    let p50 = helper["p50"].as_f64().unwrap();
    assert!((p50 - 332e6).abs() / 332e6 < 0.015, "p50 {p50}");
    let ops: Vec<(String, u64, bool)> = helper["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap().to_string(),
                o["hits"].as_u64().unwrap(),
                o["primary"] == true,
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("long_running_process".to_string(), 3, true),
            ("another_process".to_string(), 1, false)
        ],
        "the non-top-level `inner` is no operation of the service"
    );
    assert_eq!(helper["base_service"], Value::Null);

    // `operation` picks another one; services without it are left out.
    let (_, list) = get(&s, "/api/ui/apm/services?from=now-15m&to=now&operation=another_process").await;
    let helper = service_row(&list, "notes_helper").unwrap();
    assert_eq!(
        (helper["operation"].as_str(), helper["hits"].as_u64()),
        (Some("another_process"), Some(1))
    );
    assert_eq!(helper["avg"].as_f64(), Some(50.0 * MS as f64));
    assert!(service_row(&list, "notes").is_none(), "{list}");

    // The service page: the primary operation's summary and resources only.
    let (status, page) = get(&s, "/api/ui/apm/services/notes_helper?from=now-15m&to=now").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["operation"], "long_running_process");
    assert_eq!(page["summary"]["hits"], 3);
    let resources: Vec<(&str, u64)> = page["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["resource"].as_str().unwrap(), r["hits"].as_u64().unwrap()))
        .collect();
    assert_eq!(resources, [("long_running_process", 2), ("other_resource", 1)]);
    let names: Vec<&str> = page["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["long_running_process", "another_process"]);
    assert_eq!(page["operations"][1]["avg"].as_f64(), Some(50.0 * MS as f64));

    let (_, page) = get(
        &s,
        "/api/ui/apm/services/notes_helper?from=now-15m&to=now&operation=another_process",
    )
    .await;
    assert_eq!(
        (page["operation"].as_str(), page["summary"]["hits"].as_u64()),
        (Some("another_process"), Some(1))
    );
    assert_eq!(page["resources"].as_array().unwrap().len(), 1);

    // The series follow the same operation.
    let (_, series) = get(&s, "/api/ui/apm/series?service=notes_helper&from=now-15m&to=now").await;
    assert_eq!(series["operation"], "long_running_process");
    let hits: u64 = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["hits"].as_u64().unwrap())
        .sum();
    assert_eq!(hits, 3);
    let (_, series) = get(
        &s,
        "/api/ui/apm/series?service=notes_helper&operation=another_process&from=now-15m&to=now",
    )
    .await;
    let hits: u64 = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["hits"].as_u64().unwrap())
        .sum();
    assert_eq!(hits, 1);
}

#[tokio::test]
async fn integration_services_carry_their_base_service() {
    let s = common::start(dogwatch_server::DEFAULT_MAX_BODY_BYTES).await;
    post_spans(&s).await;
    let start = (dogwatch_server::now_ms() - 60_000) / 10_000 * 10_000 * MS;
    let payload = pb::StatsPayload {
        stats: vec![pb::ClientStatsPayload {
            env: "dev".into(),
            stats: vec![pb::ClientStatsBucket {
                start: start as u64,
                duration: 10_000 * MS as u64,
                stats: vec![
                    group("notes", "flask.request", "GET /notes", &[20], 0),
                    group("requests", "requests.request", "GET", &[10], 0),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let response = common::client()
        .post(format!("{}/api/v0.2/stats", s.base))
        .body(rmp_serde::to_vec_named(&payload).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let (_, list) = get(&s, "/api/ui/apm/services?from=now-15m&to=now").await;
    assert_eq!(service_row(&list, "requests").unwrap()["base_service"], "notes");
    assert_eq!(service_row(&list, "notes").unwrap()["base_service"], Value::Null);
    let (_, page) = get(&s, "/api/ui/apm/services/requests?from=now-15m&to=now").await;
    assert_eq!(page["base_service"], "notes");
    assert_eq!(page["operation"], "requests.request");
}
