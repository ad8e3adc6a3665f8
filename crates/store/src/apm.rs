//! What the store keeps of APM: spans (assembled into traces by trace id when read, so spans
//! that arrive late or from another host join their trace) and APM stats rows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One stored span.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpanRow {
    /// The low 64 bits of the trace id.
    pub trace_id: u64,
    /// The high 64 bits of a 128-bit trace id (`_dd.p.tid`), 0 when absent.
    pub trace_id_high: u64,
    /// The span id.
    pub span_id: u64,
    /// The parent's span id; 0 for a root.
    pub parent_id: u64,
    /// Start, in nanoseconds since the Unix epoch.
    pub start: i64,
    /// Duration in nanoseconds.
    pub duration: i64,
    /// Whether the span is an error.
    pub error: bool,
    /// Whether the span is a service entry (`_top_level`).
    pub top_level: bool,
    /// Whether the span asks for stats (`_dd.measured`).
    pub measured: bool,
    /// The service.
    pub service: String,
    /// The operation name.
    pub name: String,
    /// The resource.
    pub resource: String,
    /// The span type (`web`, `sql`, ...).
    pub kind: String,
    /// The host the span came from (the tracer's `_dd.hostname`, else the agent's host).
    pub host: String,
    /// The env tag.
    pub env: String,
    /// The version tag.
    pub version: String,
    /// String tags.
    pub meta: BTreeMap<String, String>,
    /// Numeric tags.
    pub metrics: BTreeMap<String, f64>,
}

/// Where a newest-first span scan continues: strictly before this (start, row) position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanCursor {
    /// The start of the last span returned.
    pub start: i64,
    /// Its row id.
    pub row: i64,
}

/// A newest-first (or, with [`SpanScan::oldest_first`], oldest-first) scan of spans in a time
/// window, with the filters SQL can apply cheaply; the caller applies the rest of a search
/// query to what comes back.
#[derive(Debug, Clone, Default)]
pub struct SpanScan {
    /// Spans starting at or after this, ns since the epoch.
    pub from_ns: i64,
    /// Spans starting before this, ns since the epoch.
    pub to_ns: i64,
    /// Continue after this position, in the scan's order (before it when newest first).
    pub before: Option<SpanCursor>,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
    /// Only this service.
    pub service: Option<String>,
    /// Only this env.
    pub env: Option<String>,
    /// Only service entry spans.
    pub top_level_only: bool,
    /// Only error spans.
    pub errors_only: bool,
    /// At most this many rows.
    pub limit: usize,
}

/// One row of APM stats: one 10 s bucket of one aggregation key.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StatsRow {
    /// Bucket start, ns since the epoch.
    pub bucket_start: i64,
    /// Bucket width in ns.
    pub bucket_duration: i64,
    /// The reporting host.
    pub host: String,
    /// The env.
    pub env: String,
    /// The version.
    pub version: String,
    /// The service.
    pub service: String,
    /// The operation name.
    pub name: String,
    /// The resource.
    pub resource: String,
    /// The span type.
    pub kind: String,
    /// The HTTP status code, 0 when none.
    pub http_status_code: u32,
    /// The `span.kind` tag.
    pub span_kind: String,
    /// Spans counted.
    pub hits: u64,
    /// Error spans counted.
    pub errors: u64,
    /// Top-level spans counted.
    pub top_level_hits: u64,
    /// Total duration in ns.
    pub duration: u64,
    /// DDSketch (protobuf) of ok span durations.
    pub ok_summary: Vec<u8>,
    /// DDSketch (protobuf) of error span durations.
    pub error_summary: Vec<u8>,
    /// Whether a tracer computed these stats itself.
    pub client_computed: bool,
}

/// Which stats rows to read.
#[derive(Debug, Clone, Default)]
pub struct StatsQuery {
    /// Buckets starting at or after this, ns.
    pub from_ns: i64,
    /// Buckets starting before this, ns.
    pub to_ns: i64,
    /// Only this service.
    pub service: Option<String>,
    /// Only this env.
    pub env: Option<String>,
    /// Only this resource.
    pub resource: Option<String>,
}
