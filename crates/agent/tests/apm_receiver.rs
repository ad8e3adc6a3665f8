//! The trace receiver's HTTP behaviour as tracers see it: status codes, headers, limits,
//! every endpoint of DATADOG-COMPAT.md §3, and decoders that never panic on any body.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dogwatch_agent::apm::decode::{TraceVersion, decode_traces};
use dogwatch_agent::apm::{Processing, ReceiverSettings, Shared, counters, pipeline, receiver, sampler, stats, writer};
use proptest::prelude::*;
use tower::ServiceExt;

fn shared(
    max_payload_size: usize,
) -> (
    Arc<Shared>,
    tokio::sync::mpsc::Receiver<dogwatch_model::apm::pb::TracerPayload>,
) {
    let (queue, rx) = writer::queue();
    let shared = Arc::new(Shared {
        settings: ReceiverSettings {
            tcp: None,
            socket: None,
            receiver_port: 8126,
            receiver_socket: String::new(),
            max_payload_size,
            read_timeout: Duration::from_secs(5),
            target_tps: 10.0,
            error_tps: 10.0,
            statsd_port: 8125,
        },
        pipeline: pipeline::PipelineSettings {
            hostname: "web-1".into(),
            default_env: "prod".into(),
            obfuscation: Default::default(),
        },
        processing: Mutex::new(Processing {
            sampler: sampler::Sampler::new(10.0, 10.0, Instant::now()),
            concentrator: stats::Concentrator::new(SystemTime::now()),
            client_stats: Vec::new(),
        }),
        writer: queue,
        receiver_stats: counters::ReceiverStats::default(),
        started: Instant::now(),
    });
    (shared, rx)
}

async fn call(
    shared: &Arc<Shared>,
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, String, String) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", content_type)
        .header("Datadog-Meta-Lang", "python")
        .header("Datadog-Meta-Tracer-Version", "3.0.0")
        .body(Body::from(body))
        .unwrap();
    let response = receiver::router(shared.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let version = response
        .headers()
        .get("Datadog-Agent-Version")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, version, String::from_utf8_lossy(&bytes).into_owned())
}

fn json_trace(service: &str, priority: f64) -> Vec<u8> {
    format!(
        r#"[[{{"service":"{service}","name":"op","resource":"GET /","trace_id":5,"span_id":1,"parent_id":0,"start":1732183200000000000,"duration":10,"metrics":{{"_sampling_priority_v1":{priority}}}}}]]"#
    )
    .into_bytes()
}

#[tokio::test]
async fn every_answer_carries_the_agent_version_and_v04_answers_rates() {
    let (shared, mut queue) = shared(1024);
    let (status, version, body) = call(
        &shared,
        "PUT",
        "/v0.4/traces",
        "application/json",
        json_trace("notes", 1.0),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(version, dogwatch_model::VERSION);
    let rates: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(rates["rate_by_service"]["service:notes,env:prod"], 1.0);
    assert_eq!(rates["rate_by_service"]["service:,env:"], 1.0);
    let payload = queue.try_recv().unwrap();
    assert_eq!(
        (payload.language_name.as_str(), payload.tracer_version.as_str()),
        ("python", "3.0.0")
    );
    assert_eq!(payload.chunks[0].spans[0].meta["env"], "prod");

    let (status, version, body) = call(&shared, "GET", "/nope", "", Vec::new()).await;
    assert_eq!((status, version.is_empty()), (StatusCode::NOT_FOUND, false));
    assert!(body.contains("/info"), "{body}");
}

#[tokio::test]
async fn v03_answers_ok_and_dropped_traces_are_not_queued() {
    let (shared, mut queue) = shared(1024);
    let (status, _, body) = call(&shared, "POST", "/v0.3/traces", "", json_trace("jobs", 0.0)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "OK"));
    assert!(
        queue.try_recv().is_err(),
        "a priority-0 trace without errors is not sent"
    );
    let counts = shared.receiver_stats.current_minute();
    let client = counts.values().next().unwrap();
    assert_eq!((client.traces, client.spans, client.sampled_out), (1, 1, 1));
}

#[tokio::test]
async fn oversized_and_malformed_bodies_are_413_and_400_with_a_reason() {
    let (shared, _queue) = shared(64);
    let (status, _, body) = call(&shared, "PUT", "/v0.4/traces", "application/json", vec![b' '; 65]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body.contains("apm_config.max_payload_size"), "{body}");
    let (status, _, body) = call(
        &shared,
        "PUT",
        "/v0.4/traces",
        "application/json",
        b"[[{\"span_id\":\"x\"}]]".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("at byte"), "{body}");
    let (status, _, body) = call(
        &shared,
        "PUT",
        "/v0.5/traces",
        "application/msgpack",
        b"\x92\x91".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("v0.5"), "{body}");
    assert_eq!(
        shared.receiver_stats.current_minute().values().next().unwrap().errors,
        3
    );
}

#[tokio::test]
async fn info_lists_the_endpoints_and_configuration() {
    let (shared, _queue) = shared(25 * 1024 * 1024);
    let (status, _, body) = call(&shared, "GET", "/info", "", Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    for endpoint in [
        "/v0.3/traces",
        "/v0.4/traces",
        "/v0.5/traces",
        "/v0.6/stats",
        "/telemetry/proxy/",
        "/evp_proxy/v2/",
        "/debugger/v1/input",
        "/profiling/v1/input",
        "/dogstatsd/v2/proxy",
    ] {
        assert!(
            info["endpoints"].as_array().unwrap().iter().any(|e| e == endpoint),
            "{endpoint}"
        );
    }
    assert_eq!(info["client_drop_p0s"], true);
    assert_eq!(info["config"]["default_env"], "prod");
    assert_eq!(info["config"]["max_request_bytes"], 25 * 1024 * 1024);
    assert_eq!(info["config"]["statsd_port"], 8125);
}

#[tokio::test]
async fn endpoints_not_stored_yet_are_accepted_and_counted() {
    let (shared, _queue) = shared(1024);
    for path in [
        "/telemetry/proxy/api/v2/apmtelemetry",
        "/profiling/v1/input",
        "/evp_proxy/v2/api/v2/citestcycle",
        "/debugger/v1/input",
        "/dogstatsd/v2/proxy",
        "/v0.4/services",
    ] {
        let (status, _, _) = call(&shared, "POST", path, "application/json", b"{}".to_vec()).await;
        assert!(status.is_success(), "{path}: {status}");
    }
    let totals = shared.receiver_stats.totals();
    assert_eq!(totals.not_stored.get("/telemetry/proxy"), Some(&(1, 2)));
    assert_eq!(totals.not_stored.len(), 5);
}

#[tokio::test]
async fn tracer_computed_stats_are_kept_for_the_next_flush() {
    let (shared, _queue) = shared(1024 * 1024);
    let payload = dogwatch_model::apm::pb::ClientStatsPayload {
        service: "notes".into(),
        stats: vec![dogwatch_model::apm::pb::ClientStatsBucket {
            start: 1,
            duration: 10,
            stats: vec![dogwatch_model::apm::pb::ClientGroupedStats {
                service: "notes".into(),
                hits: 3,
                ..Default::default()
            }],
            agent_time_shift: 0,
        }],
        ..Default::default()
    };
    let body = rmp_serde::to_vec_named(&payload).unwrap();
    let (status, _, body) = call(&shared, "PUT", "/v0.6/stats", "application/msgpack", body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let kept = shared.processing.lock().unwrap().client_stats.clone();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].lang.as_str(), kept[0].env.as_str(), kept[0].hostname.as_str()),
        ("python", "prod", "web-1")
    );
    assert_eq!(kept[0].stats[0].stats[0].hits, 3);
    let (status, _, _) = call(&shared, "PUT", "/v0.6/stats", "application/msgpack", b"\x81".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A valid v0.4 msgpack body of one trace of `n` spans.
fn valid_body(n: u64) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Span {
        service: String,
        name: &'static str,
        resource: String,
        trace_id: u64,
        span_id: u64,
        parent_id: u64,
        start: i64,
        duration: i64,
        meta: std::collections::HashMap<String, String>,
        metrics: std::collections::HashMap<String, f64>,
    }
    let spans: Vec<Span> = (0..n)
        .map(|i| Span {
            service: format!("svc{}", i % 3),
            name: "op",
            resource: format!("GET /{i}"),
            trace_id: 42,
            span_id: i + 1,
            parent_id: i,
            start: 1_732_183_200_000_000_000 + i as i64,
            duration: 100,
            meta: [("k".to_string(), "v".to_string())].into(),
            metrics: [("m".to_string(), 1.5)].into(),
        })
        .collect();
    rmp_serde::to_vec_named(&vec![spans]).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        for version in [TraceVersion::V03, TraceVersion::V04, TraceVersion::V05] {
            for content_type in ["application/msgpack", "application/json"] {
                let _ = decode_traces(version, content_type, &body);
            }
        }
    }

    #[test]
    fn decoders_never_panic_on_mutated_payloads(
        n in 1u64..6,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let mut body = valid_body(n);
        prop_assert_eq!(decode_traces(TraceVersion::V04, "application/msgpack", &body).unwrap()[0].len() as u64, n);
        for (at, byte) in flips {
            let len = body.len();
            body[at % len] = byte;
        }
        let _ = decode_traces(TraceVersion::V04, "application/msgpack", &body);
        body.truncate(cut % (body.len() + 1));
        let _ = decode_traces(TraceVersion::V04, "application/msgpack", &body);
        let _ = decode_traces(TraceVersion::V05, "application/msgpack", &body);
    }
}

/// `apm_config.receiver_socket`: the receiver answers on a Unix socket, and removes it at stop.
#[tokio::test]
async fn the_receiver_listens_on_a_unix_socket_when_configured() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("apm.socket");
    let mut config = dogwatch_agent::config::AgentConfig {
        api_key: "k".into(),
        ..Default::default()
    };
    config.apm_config.receiver_port = 0;
    config.apm_config.receiver_socket = socket.display().to_string();
    let forwarder = dogwatch_agent::forwarder::Forwarder::new(
        dogwatch_agent::forwarder::ForwarderSettings::from_config(&config, dir.path()),
    )
    .unwrap();
    let (stop, signal) = dogwatch_agent::shutdown::channel();
    let agent = dogwatch_agent::apm::TraceAgent::start(&config, "web-1", forwarder.handle(), signal)
        .await
        .unwrap();
    assert_eq!(agent.local_addr(), None, "port 0 turns TCP off");

    let body = json_trace("notes", 1.0);
    let mut stream = tokio::net::UnixStream::connect(&socket).await.unwrap();
    let head = format!(
        "PUT /v0.4/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.to_lowercase().contains("datadog-agent-version:"), "{answer}");
    assert!(answer.contains("service:notes,env:"), "{answer}");

    stop.trigger();
    for task in agent.into_tasks() {
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .unwrap()
            .unwrap();
    }
    assert!(!socket.exists(), "the socket file is removed at stop");
}
