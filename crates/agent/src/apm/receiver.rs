//! The trace receiver's HTTP endpoints, as Datadog's trace agent answers them on port 8126.
//!
//! Trace bodies are decoded and run through the pipeline on the blocking pool (a 25 MiB body
//! takes a while), then handed to the writer. Every answer carries `Datadog-Agent-Version`.
//! Endpoints that dogwatch does not store yet (telemetry, profiling, the EVP proxy, the
//! debugger, the DogStatsD proxy) accept their bodies and answer as Datadog's agent does, so
//! tracers log no warnings; what they received is counted in `dogwatch status`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use bytes::Bytes;
use dogwatch_model::apm::pb;
use serde_json::{Value, json};
use tower_http::timeout::TimeoutLayer;

use super::decode::{TraceVersion, decode_traces};
use super::pipeline::{self, TracerFlags, TracerInfo};
use super::{Shared, msgpack_check};

/// The header every answer carries.
pub const AGENT_VERSION_HEADER: &str = "Datadog-Agent-Version";

/// The endpoints `/info` lists, in Datadog's order.
pub const ENDPOINTS: &[&str] = &[
    "/v0.3/traces",
    "/v0.3/services",
    "/v0.4/traces",
    "/v0.4/services",
    "/v0.5/traces",
    "/v0.6/stats",
    "/profiling/v1/input",
    "/telemetry/proxy/",
    "/v0.1/pipeline_stats",
    "/evp_proxy/v1/",
    "/evp_proxy/v2/",
    "/evp_proxy/v3/",
    "/evp_proxy/v4/",
    "/debugger/v1/input",
    "/debugger/v1/diagnostics",
    "/debugger/v2/input",
    "/dogstatsd/v2/proxy",
];

/// The receiver's routes over `shared`.
pub fn router(shared: Arc<Shared>) -> Router {
    let limit = shared.settings.max_payload_size;
    let timeout = shared.settings.read_timeout;
    let traces = |version: TraceVersion| {
        move |state: State<Arc<Shared>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>| {
            receive_traces(state, version, headers, body)
        }
    };
    Router::new()
        .route(
            "/v0.3/traces",
            post(traces(TraceVersion::V03)).put(traces(TraceVersion::V03)),
        )
        .route(
            "/v0.4/traces",
            post(traces(TraceVersion::V04)).put(traces(TraceVersion::V04)),
        )
        .route(
            "/v0.5/traces",
            post(traces(TraceVersion::V05)).put(traces(TraceVersion::V05)),
        )
        .route("/v0.3/services", any(services))
        .route("/v0.4/services", any(services))
        .route("/v0.6/stats", post(client_stats).put(client_stats))
        .route("/info", get(info))
        .route("/telemetry/proxy/{*path}", any(accepted_not_stored))
        .route("/profiling/v1/input", any(accepted_not_stored))
        .route("/v0.1/pipeline_stats", any(accepted_not_stored))
        .route("/evp_proxy/{version}/{*path}", any(accepted_not_stored))
        .route("/debugger/v1/input", any(accepted_not_stored))
        .route("/debugger/v1/diagnostics", any(accepted_not_stored))
        .route("/debugger/v2/input", any(accepted_not_stored))
        .route("/dogstatsd/v2/proxy", any(accepted_not_stored))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(axum::middleware::map_response(add_version_header))
        .with_state(shared)
}

async fn add_version_header(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(AGENT_VERSION_HEADER, HeaderValue::from_static(dogwatch_model::VERSION));
    response
}

/// A plain-text error answer.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, message.into()).into_response()
}

/// The body, or why not: 413 past the limit, 400 when it cannot be read.
fn read_body(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, (StatusCode, String)> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is larger than {limit} bytes (apm_config.max_payload_size)"),
            )
        } else {
            (
                rejection.status(),
                format!("cannot read the request body: {}", rejection.body_text()),
            )
        }
    })
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").trim()
}

/// Datadog's rule for boolean headers: empty or a spelling of false is false, anything else true.
fn header_true(headers: &HeaderMap, name: &str) -> bool {
    !matches!(
        header_str(headers, name),
        "" | "0" | "f" | "F" | "false" | "False" | "FALSE"
    )
}

/// Who sent a request, from the `Datadog-Meta-*` headers.
pub fn tracer_info(headers: &HeaderMap) -> TracerInfo {
    TracerInfo {
        lang: header_str(headers, "Datadog-Meta-Lang").to_string(),
        lang_version: header_str(headers, "Datadog-Meta-Lang-Version").to_string(),
        interpreter: header_str(headers, "Datadog-Meta-Lang-Interpreter").to_string(),
        tracer_version: header_str(headers, "Datadog-Meta-Tracer-Version").to_string(),
        container_id: header_str(headers, "Datadog-Container-ID").to_string(),
    }
}

async fn receive_traces(
    State(shared): State<Arc<Shared>>,
    version: TraceVersion,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let tracer = tracer_info(&headers);
    let body = match read_body(body, shared.settings.max_payload_size) {
        Ok(body) => body,
        Err((status, message)) => {
            shared.receiver_stats.record_error(&tracer);
            return error(status, message);
        }
    };
    let flags = TracerFlags {
        computed_top_level: header_true(&headers, "Datadog-Client-Computed-Top-Level"),
        computed_stats: header_true(&headers, "Datadog-Client-Computed-Stats"),
    };
    let content_type = header_str(&headers, header::CONTENT_TYPE.as_str()).to_string();
    let worker = shared.clone();
    let worker_tracer = tracer.clone();
    let bytes = body.len() as u64;
    let outcome = tokio::task::spawn_blocking(move || {
        let traces = decode_traces(version, &content_type, &body)?;
        let trace_count = traces.len() as u64;
        let mut processing = worker.processing.lock().expect("APM processing lock");
        let processing = &mut *processing;
        let outcome = pipeline::process(
            traces,
            &worker_tracer,
            flags,
            &worker.pipeline,
            &mut processing.sampler,
            &mut processing.concentrator,
            Instant::now(),
        );
        Ok::<_, super::decode::DecodeError>((trace_count, outcome))
    })
    .await;
    let (trace_count, outcome) = match outcome {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => {
            shared.receiver_stats.record_error(&tracer);
            tracing::debug!(error = %e, lang = %tracer.lang, "A trace payload was refused.");
            return error(StatusCode::BAD_REQUEST, e.to_string());
        }
        Err(e) => {
            shared.receiver_stats.record_error(&tracer);
            tracing::error!(error = %e, "Processing a trace payload failed.");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the trace payload could not be processed",
            );
        }
    };
    shared
        .receiver_stats
        .record(&tracer, trace_count, outcome.spans, bytes, &outcome);
    if !outcome.payload.chunks.is_empty() && !shared.writer.send(outcome.payload) {
        shared.receiver_stats.record_writer_drop(&tracer);
    }
    match version {
        TraceVersion::V03 => (StatusCode::OK, "OK").into_response(),
        TraceVersion::V04 | TraceVersion::V05 => Json(rate_by_service(&shared)).into_response(),
    }
}

/// `{"rate_by_service": {"service:<svc>,env:<env>": rate, ..., "service:,env:": rate}}`.
fn rate_by_service(shared: &Shared) -> Value {
    let rates = shared
        .processing
        .lock()
        .expect("APM processing lock")
        .sampler
        .rates(Instant::now());
    let map: serde_json::Map<String, Value> = rates.into_iter().map(|(k, v)| (k, json!(v))).collect();
    json!({ "rate_by_service": map })
}

async fn services() -> Response {
    (StatusCode::OK, "OK").into_response()
}

/// `/v0.6/stats`: a tracer's own stats (a msgpack `ClientStatsPayload`), kept as they are and
/// forwarded with the agent's next stats payload.
async fn client_stats(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match read_body(body, shared.settings.max_payload_size) {
        Ok(body) => body,
        Err((status, message)) => return error(status, message),
    };
    if let Err(e) = msgpack_check::check(&body) {
        return error(StatusCode::BAD_REQUEST, format!("invalid v0.6 stats payload: {e}"));
    }
    let mut payload: pb::ClientStatsPayload = match rmp_serde::from_slice(&body) {
        Ok(payload) => payload,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid v0.6 stats payload: {e}")),
    };
    let tracer = tracer_info(&headers);
    if payload.lang.is_empty() {
        payload.lang = tracer.lang;
    }
    if payload.tracer_version.is_empty() {
        payload.tracer_version = tracer.tracer_version;
    }
    if payload.hostname.is_empty() {
        payload.hostname = shared.pipeline.hostname.clone();
    }
    if payload.env.is_empty() {
        payload.env = shared.pipeline.default_env.clone();
    }
    shared.receiver_stats.record_client_stats();
    shared
        .processing
        .lock()
        .expect("APM processing lock")
        .client_stats
        .push(payload);
    (StatusCode::OK, "OK").into_response()
}

/// What tracers ask at start-up to learn what this agent supports.
async fn info(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let settings = &shared.settings;
    Json(json!({
        "version": dogwatch_model::VERSION,
        "git_commit": "",
        "endpoints": ENDPOINTS,
        "feature_flags": [],
        "client_drop_p0s": true,
        "span_meta_structs": true,
        "long_running_spans": true,
        "span_events": false,
        "evp_proxy_allowed_headers": ["Content-Type", "Accept-Encoding", "Content-Encoding", "User-Agent", "DD-CI-PROVIDER-NAME"],
        "peer_tags": [],
        "config": {
            "default_env": shared.pipeline.default_env,
            "target_tps": settings.target_tps,
            "max_eps": 200.0,
            "receiver_port": settings.receiver_port,
            "receiver_socket": settings.receiver_socket,
            "connection_limit": 0,
            "receiver_timeout": settings.read_timeout.as_secs(),
            "max_request_bytes": settings.max_payload_size,
            "statsd_port": settings.statsd_port,
            "max_memory": 0.0,
            "max_cpu": 0.0,
            "analyzed_spans_by_service": {},
            "obfuscation": {
                "elastic_search": true, "mongo": true, "sql_exec_plan": false, "sql_exec_plan_normalize": false,
                "http": {"remove_query_string": false, "remove_path_digits": false},
                "remove_stack_traces": false,
                "redis": {"Enabled": true, "RemoveAllArgs": false},
                "memcached": {"Enabled": true, "KeepCommand": false}
            }
        }
    }))
}

/// Endpoints whose data dogwatch does not store yet: the body is read (within the limit) and
/// acknowledged as Datadog's agent does, and counted.
async fn accepted_not_stored(
    State(shared): State<Arc<Shared>>,
    uri: axum::http::Uri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match read_body(body, shared.settings.max_payload_size) {
        Ok(body) => body,
        Err((status, message)) => return error(status, message),
    };
    shared.receiver_stats.record_not_stored(uri.path(), body.len() as u64);
    (StatusCode::ACCEPTED, Json(json!({}))).into_response()
}

async fn not_found(uri: axum::http::Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("{} is not a trace agent endpoint; see /info for the list", uri.path()),
    )
}
