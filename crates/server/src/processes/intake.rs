//! Intake of process payloads (`POST /api/v1/collector`, `POST /api/v1/container`): dogwatch's
//! own agent's JSON, and the stock Datadog process agent's agent-payload messages
//! (`CollectorProc`, `CollectorRealTime`, `CollectorContainer`, `CollectorContainerRealTime`,
//! see [`dogwatch_model::process_agent`]), both kept in the same live state.

use std::io::Read;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use dogwatch_model::process_agent::{
    CollectorMessage, CollectorStatusPb, MessageEncoding, MessageHeader, MessageType, ResCollector, ResCollectorHeader,
    container_tags,
};
use dogwatch_model::{CollectorAnswer, CollectorStatus, ProcessPayload};
use prost::Message;

use crate::AppState;
use crate::http::error::ApiError;
use crate::http::intake::{body_bytes, parse};
use crate::now_ms;
use crate::processes::live::{Applied, REALTIME_INTERVAL_S};

/// The content type of agent-payload messages, asked and answered.
pub const PROTOBUF_CONTENT_TYPE: &str = "application/x-protobuf";

/// `POST /api/v1/collector` and `/api/v1/container`: one chunk of a host's process run, kept
/// in the live state (replaced by the next run); complete runs are also sampled into the
/// store's process history (see [`crate::processes::history`]). The answer says whether
/// anyone is watching that host, which switches its agent to real-time collection: JSON
/// `{"collector": {...}}` to a JSON payload, an agent-payload `ResCollector` message to an
/// agent-payload message, as Datadog's backend answers the stock process agent.
pub async fn process_collector(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body_bytes(body)?;
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let json = match content_type {
        Some(t) if t.contains("json") => true,
        Some(t) if t.contains("protobuf") => false,
        _ => body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'),
    };
    if json {
        let payload: ProcessPayload = parse(&body, "process")?;
        let hostname = payload.host.hostname.clone();
        apply(&state, payload, true).await?;
        let collector = state.live.collector_status(&hostname, std::time::Instant::now());
        return Ok(Json(CollectorAnswer { collector }).into_response());
    }
    let message = decode_message(&body, state.settings.max_body_bytes)?;
    let hostname = message.host_name().to_string();
    store_message(&state, &headers, message).await?;
    let status = state.live.collector_status(&hostname, std::time::Instant::now());
    Ok(protobuf_answer(status))
}

async fn apply(state: &Arc<AppState>, payload: ProcessPayload, numbered: bool) -> Result<(), ApiError> {
    payload
        .validate()
        .map_err(|e| ApiError::bad_request(format!("invalid process payload: {e}")))?;
    let hostname = payload.host.hostname.clone();
    let applied = if numbered {
        state.live.apply(payload, now_ms())
    } else {
        state.live.apply_unnumbered(payload, now_ms())
    };
    if applied == Applied::Completed
        && let Some(snapshot) = state.live.snapshot(&hostname)
    {
        state.history.record(&state.store, snapshot).await;
    }
    Ok(())
}

/// Reads an agent-payload message: its header, then its body, decompressed as the header
/// says (to at most `limit` bytes) and decoded as the header's type. Errors name the message
/// type and the byte offset.
pub fn decode_message(body: &[u8], limit: usize) -> Result<CollectorMessage, ApiError> {
    let (header, header_len) = MessageHeader::read(body)
        .map_err(|e| ApiError::bad_request(format!("invalid process agent message header: {e}")))?;
    if header.kind == MessageType::ResCollector {
        return Err(ApiError::bad_request(
            "byte 2: message type 23 (ResCollector) is the server's answer, not a payload",
        ));
    }
    let payload = &body[header_len..];
    let decompressed;
    let (protobuf, offset_base, where_) = match header.encoding {
        MessageEncoding::Protobuf => (payload, header_len, ""),
        MessageEncoding::Json => {
            return Err(ApiError::bad_request(format!(
                "byte 1: message encoding 1 (JSON) is not accepted for {}; send protobuf (0) or zstd (4)",
                header.kind.name()
            )));
        }
        MessageEncoding::ZstdPb | MessageEncoding::Zstd1xPb => {
            decompressed = unzstd(payload, limit, header.kind)?;
            (decompressed.as_slice(), 0, " of the decompressed body")
        }
    };
    CollectorMessage::decode(header.kind, protobuf).map_err(|e| {
        ApiError::bad_request(format!(
            "invalid {} protobuf at byte {}{where_}: {}",
            e.message,
            e.offset + offset_base,
            e.error
        ))
    })
}

fn unzstd(payload: &[u8], limit: usize, kind: MessageType) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    zstd::stream::read::Decoder::new(payload)
        .and_then(|d| d.take(limit as u64 + 1).read_to_end(&mut out))
        .map_err(|e| {
            ApiError::bad_request(format!(
                "the {} body (byte 16 on) is not zstd 1.x data: {e}",
                kind.name()
            ))
        })?;
    if out.len() > limit {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is larger than the server accepts (after decompression)",
        ));
    }
    Ok(out)
}

async fn store_message(state: &Arc<AppState>, headers: &HeaderMap, message: CollectorMessage) -> Result<(), ApiError> {
    let host = message.host_name().to_string();
    let now = now_ms();
    match message {
        CollectorMessage::Proc(proc) => {
            let version = ["X-Dd-Processagentversion", "DD-Agent-Version"]
                .iter()
                .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
                .unwrap_or("datadog-process-agent");
            apply(state, proc.to_payload(version, now), false).await?;
        }
        CollectorMessage::RealTime(rt) => {
            need_host(&host, "CollectorRealTime")?;
            state.live.update(&host, |processes, run| {
                for stat in &rt.stats {
                    if let Some(p) = processes
                        .iter_mut()
                        .find(|p| p.pid == stat.pid && (stat.create_time == 0 || p.create_time_ms == stat.create_time))
                    {
                        stat.apply_to(p);
                    }
                }
                run.realtime = true;
                run.interval_s = REALTIME_INTERVAL_S;
                run.collected_at_ms = now;
                run.received_at_ms = now;
            });
        }
        CollectorMessage::Container(c) => {
            need_host(&host, "CollectorContainer")?;
            state.live.update(&host, |processes, _| {
                for container in c.containers.iter().filter(|c| !c.id.is_empty()) {
                    let tags = container_tags(container);
                    for p in processes
                        .iter_mut()
                        .filter(|p| p.container_id.as_deref() == Some(container.id.as_str()))
                    {
                        p.tags.extend(tags.iter().cloned());
                        p.tags.sort();
                        p.tags.dedup();
                    }
                }
            });
        }
        // dogwatch keeps no container metrics: the message is read (and checked) and answered.
        CollectorMessage::ContainerRealTime(_) => need_host(&host, "CollectorContainerRealTime")?,
    }
    Ok(())
}

fn need_host(host: &str, message: &str) -> Result<(), ApiError> {
    if host.is_empty() {
        return Err(ApiError::bad_request(format!("invalid {message}: hostName is empty")));
    }
    Ok(())
}

/// The answer Datadog's backend gives a process agent: a version 3 header of type
/// `ResCollector` (23), then the `ResCollector` protobuf with the collector status.
pub fn protobuf_answer(status: CollectorStatus) -> Response {
    let header = MessageHeader::v3(MessageEncoding::Protobuf, MessageType::ResCollector, now_ms());
    let answer = ResCollector {
        header: Some(ResCollectorHeader {
            r#type: i32::from(MessageType::ResCollector.byte()),
        }),
        message: String::new(),
        status: Some(CollectorStatusPb {
            active_clients: status.active_clients as i32,
            interval: status.interval as i32,
        }),
    };
    let mut bytes = header.encode_v3().to_vec();
    answer.encode(&mut bytes).expect("a Vec grows");
    ([(CONTENT_TYPE, HeaderValue::from_static(PROTOBUF_CONTENT_TYPE))], bytes).into_response()
}
