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
    let payload = decode_stats_payload(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid stats payload (a StatsPayload in msgpack): {e}")))?;
    store(&state, &headers, Records::ApmStats(stats_rows(payload))).await
}

fn first_non_empty(candidates: [&str; 3]) -> &str {
    candidates.into_iter().find(|s| !s.is_empty()).unwrap_or("")
}

/// The spans of an agent payload as store rows.
///
/// What the trace agent keeps outside the spans is kept on the chunk's root spans (those whose
/// parent is not in the chunk), where Datadog shows it, without replacing what a span says
/// itself: the chunk's tags (`_dd.p.dm`, …), its origin as `_dd.origin` and its sampling
/// priority as `_sampling_priority_v1`, then the tracer payload's tags, then the agent
/// payload's (`_dd.apm_mode`, …).
pub fn span_rows(payload: pb::AgentPayload) -> Vec<SpanRow> {
    let mut rows = Vec::new();
    for tracer in payload.tracer_payloads {
        for chunk in tracer.chunks {
            let ids: std::collections::HashSet<u64> = chunk.spans.iter().map(|s| s.span_id).collect();
            for mut span in chunk.spans {
                if span.parent_id == 0 || !ids.contains(&span.parent_id) {
                    for (k, v) in chunk.tags.iter().chain(&tracer.tags).chain(&payload.tags) {
                        span.meta.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                    if !chunk.origin.is_empty() {
                        span.meta
                            .entry(apm::ORIGIN_KEY.into())
                            .or_insert_with(|| chunk.origin.clone());
                    }
                    if chunk.priority != apm::PRIORITY_NOT_SET {
                        span.metrics
                            .entry(apm::SAMPLING_PRIORITY_KEY.into())
                            .or_insert(f64::from(chunk.priority));
                    }
                }
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

/// Decodes a msgpack `StatsPayload` as Datadog's trace agent writes it (Go `msgp`, field names
/// as map keys): a field the agent leaves out — `Stats` when there are none (`omitempty`), or
/// one an older Agent 7 does not know yet (`SplitPayload`, `AgentTimeShift`, `SpanKind`,
/// `PeerTags`, `IsTraceRoot`…) — reads as its default, and unknown fields are skipped.
pub fn decode_stats_payload(body: &[u8]) -> Result<pb::StatsPayload, rmp_serde::decode::Error> {
    rmp_serde::from_slice::<wire::StatsPayload>(body).map(Into::into)
}

/// The msgpack form of the stats messages, every field optional.
mod wire {
    use dogwatch_model::apm::pb;
    use serde::Deserialize;

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "PascalCase")]
    pub struct StatsPayload {
        agent_hostname: String,
        agent_env: String,
        #[serde(deserialize_with = "null_as_default")]
        stats: Vec<ClientStatsPayload>,
        agent_version: String,
        client_computed: bool,
        split_payload: bool,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "PascalCase")]
    struct ClientStatsPayload {
        hostname: String,
        env: String,
        version: String,
        #[serde(deserialize_with = "null_as_default")]
        stats: Vec<ClientStatsBucket>,
        lang: String,
        tracer_version: String,
        #[serde(rename = "RuntimeID")]
        runtime_id: String,
        sequence: u64,
        agent_aggregation: String,
        service: String,
        #[serde(rename = "ContainerID")]
        container_id: String,
        #[serde(deserialize_with = "null_as_default")]
        tags: Vec<String>,
        git_commit_sha: String,
        image_tag: String,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "PascalCase")]
    struct ClientStatsBucket {
        start: u64,
        duration: u64,
        #[serde(deserialize_with = "null_as_default")]
        stats: Vec<ClientGroupedStats>,
        agent_time_shift: i64,
    }

    #[derive(Deserialize, Default)]
    #[serde(default, rename_all = "PascalCase")]
    struct ClientGroupedStats {
        service: String,
        name: String,
        resource: String,
        #[serde(rename = "HTTPStatusCode")]
        http_status_code: u32,
        r#type: String,
        #[serde(rename = "DBType")]
        db_type: String,
        hits: u64,
        errors: u64,
        duration: u64,
        ok_summary: Bytes,
        error_summary: Bytes,
        synthetics: bool,
        top_level_hits: u64,
        span_kind: String,
        #[serde(deserialize_with = "null_as_default")]
        peer_tags: Vec<String>,
        is_trace_root: i32,
        #[serde(rename = "GRPCStatusCode")]
        grpc_status_code: String,
        #[serde(rename = "HTTPMethod")]
        http_method: String,
        #[serde(rename = "HTTPEndpoint")]
        http_endpoint: String,
    }

    /// A msgpack `bin` (what Go's `[]byte` is written as), or an array of byte values; `nil`
    /// reads as empty.
    #[derive(Default)]
    struct Bytes(Vec<u8>);

    impl<'de> Deserialize<'de> for Bytes {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
            struct Visitor;
            impl<'de> serde::de::Visitor<'de> for Visitor {
                type Value = Bytes;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("bytes (an encoded DDSketch)")
                }
                fn visit_bytes<E>(self, v: &[u8]) -> Result<Bytes, E> {
                    Ok(Bytes(v.to_vec()))
                }
                fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Bytes, E> {
                    Ok(Bytes(v))
                }
                fn visit_str<E>(self, v: &str) -> Result<Bytes, E> {
                    Ok(Bytes(v.as_bytes().to_vec()))
                }
                fn visit_unit<E>(self) -> Result<Bytes, E> {
                    Ok(Bytes::default())
                }
                fn visit_none<E>(self) -> Result<Bytes, E> {
                    Ok(Bytes::default())
                }
                fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Bytes, A::Error> {
                    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                    while let Some(b) = seq.next_element::<u8>()? {
                        out.push(b);
                    }
                    Ok(Bytes(out))
                }
            }
            d.deserialize_any(Visitor)
        }
    }

    fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: serde::Deserializer<'de>,
        T: Deserialize<'de> + Default,
    {
        Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
    }

    impl From<StatsPayload> for pb::StatsPayload {
        fn from(p: StatsPayload) -> pb::StatsPayload {
            pb::StatsPayload {
                agent_hostname: p.agent_hostname,
                agent_env: p.agent_env,
                stats: p.stats.into_iter().map(Into::into).collect(),
                agent_version: p.agent_version,
                client_computed: p.client_computed,
                split_payload: p.split_payload,
            }
        }
    }

    impl From<ClientStatsPayload> for pb::ClientStatsPayload {
        fn from(c: ClientStatsPayload) -> pb::ClientStatsPayload {
            pb::ClientStatsPayload {
                hostname: c.hostname,
                env: c.env,
                version: c.version,
                stats: c.stats.into_iter().map(Into::into).collect(),
                lang: c.lang,
                tracer_version: c.tracer_version,
                runtime_id: c.runtime_id,
                sequence: c.sequence,
                agent_aggregation: c.agent_aggregation,
                service: c.service,
                container_id: c.container_id,
                tags: c.tags,
                git_commit_sha: c.git_commit_sha,
                image_tag: c.image_tag,
                ..Default::default()
            }
        }
    }

    impl From<ClientStatsBucket> for pb::ClientStatsBucket {
        fn from(b: ClientStatsBucket) -> pb::ClientStatsBucket {
            pb::ClientStatsBucket {
                start: b.start,
                duration: b.duration,
                stats: b.stats.into_iter().map(Into::into).collect(),
                agent_time_shift: b.agent_time_shift,
            }
        }
    }

    impl From<ClientGroupedStats> for pb::ClientGroupedStats {
        fn from(g: ClientGroupedStats) -> pb::ClientGroupedStats {
            pb::ClientGroupedStats {
                service: g.service,
                name: g.name,
                resource: g.resource,
                http_status_code: g.http_status_code,
                r#type: g.r#type,
                db_type: g.db_type,
                hits: g.hits,
                errors: g.errors,
                duration: g.duration,
                ok_summary: g.ok_summary.0,
                error_summary: g.error_summary.0,
                synthetics: g.synthetics,
                top_level_hits: g.top_level_hits,
                span_kind: g.span_kind,
                peer_tags: g.peer_tags,
                is_trace_root: g.is_trace_root,
                grpc_status_code: g.grpc_status_code,
                http_method: g.http_method,
                http_endpoint: g.http_endpoint,
                ..Default::default()
            }
        }
    }
}
