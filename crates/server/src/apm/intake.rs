//! APM intake: `/api/v0.2/traces` (an `AgentPayload` protobuf) and `/api/v0.2/stats` (a
//! `StatsPayload` in msgpack), the formats Datadog's trace agent sends its own intake.
//!
//! Every span is stored with the host, env and version it belongs to: the span's own tags
//! (`_dd.hostname`, `env`, `version`) first, then its tracer payload's, then the agent's.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use dogwatch_model::apm::{self, pb};
use dogwatch_store::{Records, SpanRow, StatsRow};
use serde_json::Value;

use crate::AppState;
use crate::http::error::ApiError;
use crate::http::intake::{body_bytes, store};

/// `POST /api/v0.2/traces`.
pub async fn traces(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = body_bytes(body)?;
    let payload = apm::decode_agent_payload(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid trace payload (an AgentPayload protobuf): {e}")))?;
    store(&state, &headers, Records::Spans(span_rows(payload))).await
}

/// `POST /api/v0.2/stats`.
pub async fn stats(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = body_bytes(body)?;
    let payload: pb::StatsPayload = rmp_serde::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid stats payload (a StatsPayload in msgpack): {e}")))?;
    store(&state, &headers, Records::ApmStats(stats_rows(payload))).await
}

fn first_non_empty(candidates: [&str; 3]) -> &str {
    candidates.into_iter().find(|s| !s.is_empty()).unwrap_or("")
}

/// The spans of an agent payload as store rows.
pub fn span_rows(payload: pb::AgentPayload) -> Vec<SpanRow> {
    let mut rows = Vec::new();
    for tracer in payload.tracer_payloads {
        for chunk in tracer.chunks {
            for span in chunk.spans {
                let meta_str = |key: &str| span.meta.get(key).map(String::as_str).unwrap_or("");
                let host =
                    first_non_empty([meta_str("_dd.hostname"), &tracer.hostname, &payload.host_name]).to_string();
                let env = first_non_empty([meta_str("env"), &tracer.env, &payload.env]).to_string();
                let version = first_non_empty([meta_str("version"), &tracer.app_version, ""]).to_string();
                rows.push(SpanRow {
                    trace_id: span.trace_id,
                    trace_id_high: apm::trace_id_high(&span),
                    span_id: span.span_id,
                    parent_id: span.parent_id,
                    start: span.start,
                    duration: span.duration,
                    error: span.error != 0,
                    top_level: apm::is_top_level(&span),
                    measured: apm::is_measured(&span),
                    host,
                    env,
                    version,
                    service: span.service,
                    name: span.name,
                    resource: span.resource,
                    kind: span.r#type,
                    meta: span.meta.into_iter().collect(),
                    metrics: span.metrics.into_iter().collect(),
                });
            }
        }
    }
    rows
}

/// The groups of a stats payload as store rows.
pub fn stats_rows(payload: pb::StatsPayload) -> Vec<StatsRow> {
    let mut rows = Vec::new();
    for client in payload.stats {
        let host = first_non_empty([&client.hostname, &payload.agent_hostname, ""]).to_string();
        let env = first_non_empty([&client.env, &payload.agent_env, ""]).to_string();
        for bucket in client.stats {
            for group in bucket.stats {
                rows.push(StatsRow {
                    bucket_start: bucket.start as i64,
                    bucket_duration: bucket.duration as i64,
                    host: host.clone(),
                    env: env.clone(),
                    version: client.version.clone(),
                    service: group.service,
                    name: group.name,
                    resource: group.resource,
                    kind: group.r#type,
                    http_status_code: group.http_status_code,
                    span_kind: group.span_kind,
                    hits: group.hits,
                    errors: group.errors,
                    top_level_hits: group.top_level_hits,
                    duration: group.duration,
                    ok_summary: group.ok_summary,
                    error_summary: group.error_summary,
                    client_computed: payload.client_computed,
                });
            }
        }
    }
    rows
}
