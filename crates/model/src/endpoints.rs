//! Intake paths and HTTP header names shared by the agent's forwarder and the server.

/// Metric series in Datadog's v1 JSON shape.
pub const SERIES_V1: &str = "/api/v1/series";
/// Metric series in Datadog's v2 shape: a `MetricPayload` protobuf (Datadog Agent 7) or JSON
/// (Datadog's API clients).
pub const SERIES_V2: &str = "/api/v2/series";
/// Service check runs in Datadog's v1 JSON shape.
pub const CHECK_RUN_V1: &str = "/api/v1/check_run";
/// Events in Datadog's v1 JSON shape: one object (Datadog's public API) or an array (the agent).
pub const EVENTS_V1: &str = "/api/v1/events";
/// Distribution sketches: a `SketchPayload` protobuf (Datadog's sketch intake path).
pub const SKETCHES: &str = "/api/beta/sketches";
/// Host metadata, as Datadog agents post it to `/intake/`.
pub const HOST_METADATA: &str = "/intake/";
/// Live process payloads (Datadog's process intake path); the answer says whether anyone is
/// watching.
pub const PROCESS_COLLECTOR: &str = "/api/v1/collector";
/// Container payloads of the stock Datadog process agent (`CollectorContainer`,
/// `CollectorContainerRealTime`); the server takes every process message on either path.
pub const PROCESS_CONTAINER: &str = "/api/v1/container";
/// APM traces: an `AgentPayload` protobuf (Datadog's trace intake path).
pub const TRACES_V02: &str = "/api/v0.2/traces";
/// APM stats: a `StatsPayload` in msgpack (Datadog's stats intake path).
pub const STATS_V02: &str = "/api/v0.2/stats";
/// API key validation, answered as Datadog's `GET /api/v1/validate`.
pub const VALIDATE: &str = "/api/v1/validate";

/// The header carrying the API key on every intake request (Datadog's name).
pub const API_KEY_HEADER: &str = "DD-API-KEY";
/// The header naming the agent's version (Datadog's name).
pub const AGENT_VERSION_HEADER: &str = "DD-Agent-Version";
/// A unique id per forwarded payload. The server applies a payload id at most once, so a
/// payload retried after its response was lost is not stored twice.
pub const PAYLOAD_ID_HEADER: &str = "Dogwatch-Payload-Id";
