//! APM payloads from an agent to a server, in Datadog's own formats: traces as an
//! `AgentPayload` (protobuf, `/api/v0.2/traces`) and stats as a `StatsPayload` (msgpack,
//! `/api/v0.2/stats`), the shapes Datadog's trace agent sends its intake, so a stock agent
//! could send here too. The message types are libdatadog's (`libdd-trace-protobuf`),
//! re-exported so the agent and the server name one version of them.

pub use libdd_trace_protobuf::pb;
use prost::Message;

/// The media type of an encoded [`pb::AgentPayload`].
pub const AGENT_PAYLOAD_CONTENT_TYPE: &str = "application/x-protobuf";
/// The media type of an encoded [`pb::StatsPayload`].
pub const STATS_PAYLOAD_CONTENT_TYPE: &str = "application/msgpack";

/// The meta key that carries the high 64 bits of a 128-bit trace id, as 16 lower-case hex digits.
pub const TRACE_ID_HIGH_KEY: &str = "_dd.p.tid";
/// The metric that marks a span as top-level (a service's entry span).
pub const TOP_LEVEL_KEY: &str = "_top_level";
/// The metric tracers set on top-level spans (Datadog's trace agent reads it as
/// [`TOP_LEVEL_KEY`]).
pub const TRACER_TOP_LEVEL_KEY: &str = "_dd.top_level";
/// The meta key of a trace's origin (e.g. `synthetics`), a chunk's `origin`.
pub const ORIGIN_KEY: &str = "_dd.origin";
/// A chunk's `priority` when none was decided (Datadog's trace agent's `PriorityNone`).
pub const PRIORITY_NOT_SET: i32 = -128;
/// The metric that asks for stats on a span that is not top-level.
pub const MEASURED_KEY: &str = "_dd.measured";
/// The root span's sampling priority metric.
pub const SAMPLING_PRIORITY_KEY: &str = "_sampling_priority_v1";

/// Encodes an agent payload as protobuf.
pub fn encode_agent_payload(payload: &pb::AgentPayload) -> Vec<u8> {
    payload.encode_to_vec()
}

/// Decodes a protobuf agent payload.
pub fn decode_agent_payload(body: &[u8]) -> Result<pb::AgentPayload, prost::DecodeError> {
    pb::AgentPayload::decode(body)
}

/// The high 64 bits of a span's trace id, from `_dd.p.tid`; 0 when absent or not hex.
pub fn trace_id_high(span: &pb::Span) -> u64 {
    span.meta
        .get(TRACE_ID_HIGH_KEY)
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .unwrap_or(0)
}

/// Whether a span is top-level (`_top_level` = 1, or the tracer's `_dd.top_level` = 1).
pub fn is_top_level(span: &pb::Span) -> bool {
    [TOP_LEVEL_KEY, TRACER_TOP_LEVEL_KEY]
        .iter()
        .any(|key| span.metrics.get(*key).is_some_and(|v| *v == 1.0))
}

/// Whether a span asks for stats (`_dd.measured` = 1).
pub fn is_measured(span: &pb::Span) -> bool {
    span.metrics.get(MEASURED_KEY).is_some_and(|v| *v == 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_payloads_round_trip() {
        let span = pb::Span {
            service: "notes".into(),
            trace_id: 7,
            span_id: 8,
            meta: [(TRACE_ID_HIGH_KEY.to_string(), "6740aa3b00000000".to_string())].into(),
            ..Default::default()
        };
        let payload = pb::AgentPayload {
            host_name: "web-1".into(),
            tracer_payloads: vec![pb::TracerPayload {
                chunks: vec![pb::TraceChunk {
                    spans: vec![span],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let decoded = decode_agent_payload(&encode_agent_payload(&payload)).unwrap();
        assert_eq!(decoded, payload);
        assert_eq!(
            trace_id_high(&decoded.tracer_payloads[0].chunks[0].spans[0]),
            0x6740aa3b00000000
        );
    }
}
