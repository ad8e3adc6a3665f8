//! Decodes the trace payloads tracers send (`/v0.3`, `/v0.4`, `/v0.5` traces) into
//! libdatadog's protobuf spans, the one span type the rest of the pipeline works on.
//!
//! msgpack bodies go through libdatadog's decoders (`libdd-trace-utils`), which accept every
//! integer width and signedness tracers use and borrow strings from the body; JSON bodies
//! (v0.3/v0.4 with `application/json`, `text/json` or no content type) go through serde.

use std::collections::HashMap;

use dogwatch_model::apm::{TRACE_ID_HIGH_KEY, pb};
use libdd_trace_utils::msgpack_decoder::{v04, v05};
use libdd_trace_utils::span::v04::SpanSlice;
use serde::Deserialize;
use thiserror::Error;

/// A decoded body: traces, each the spans of one trace chunk.
pub type Traces = Vec<Vec<pb::Span>>;

/// The trace endpoint versions the receiver decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceVersion {
    /// `/v0.3/traces`: an array of traces, msgpack or JSON.
    V03,
    /// `/v0.4/traces`: as v0.3; the answer carries sampling rates.
    V04,
    /// `/v0.5/traces`: msgpack `[strings, traces]` with 12-element array spans.
    V05,
}

impl TraceVersion {
    /// The version as it appears in the path, e.g. `v0.4`.
    pub fn name(self) -> &'static str {
        match self {
            TraceVersion::V03 => "v0.3",
            TraceVersion::V04 => "v0.4",
            TraceVersion::V05 => "v0.5",
        }
    }
}

/// Why a body could not be decoded. Each message names the format and what was wrong.
#[derive(Debug, Error)]
pub enum DecodeError {
    /// The body is not a valid msgpack payload of this version.
    #[error("invalid {version} msgpack trace payload: {message}")]
    Msgpack {
        /// `v0.3`, `v0.4` or `v0.5`.
        version: &'static str,
        /// libdatadog's description of the problem.
        message: String,
    },
    /// The body is not well-formed msgpack (checked before decoding).
    #[error("invalid {version} msgpack trace payload: {source}")]
    Malformed {
        /// `v0.3`, `v0.4` or `v0.5`.
        version: &'static str,
        /// What is wrong, and at which byte.
        source: super::msgpack_check::MsgpackError,
    },
    /// The body is not valid JSON of the expected shape.
    #[error("invalid {version} JSON trace payload at byte {offset}: {message}")]
    Json {
        /// `v0.3` or `v0.4`.
        version: &'static str,
        /// Where in the body the problem was found.
        offset: usize,
        /// serde's description of the problem.
        message: String,
    },
    /// v0.5 is msgpack only.
    #[error("{version} trace payloads must be msgpack (Content-Type: application/msgpack), not {content_type:?}")]
    UnsupportedContentType {
        /// The endpoint version.
        version: &'static str,
        /// The request's content type.
        content_type: String,
    },
}

/// Whether a content type means JSON for v0.3/v0.4: `application/json`, `text/json`, or none.
fn is_json(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    media.is_empty() || media == "application/json" || media == "text/json"
}

/// Decodes a trace payload of `version` sent with `content_type`.
pub fn decode_traces(version: TraceVersion, content_type: &str, body: &[u8]) -> Result<Traces, DecodeError> {
    let msgpack_error = |e: libdd_trace_utils::msgpack_decoder::decode::error::DecodeError| DecodeError::Msgpack {
        version: version.name(),
        message: e.to_string(),
    };
    match version {
        TraceVersion::V05 => {
            if is_json(content_type) && !content_type.is_empty() {
                return Err(DecodeError::UnsupportedContentType {
                    version: version.name(),
                    content_type: content_type.to_string(),
                });
            }
            check_msgpack(version, body)?;
            let (traces, _) = v05::from_slice(body).map_err(msgpack_error)?;
            Ok(traces.iter().map(|t| t.iter().map(span_from_slice).collect()).collect())
        }
        TraceVersion::V03 | TraceVersion::V04 if is_json(content_type) => decode_json(version, body),
        TraceVersion::V03 | TraceVersion::V04 => {
            check_msgpack(version, body)?;
            let (traces, _) = v04::from_slice(body).map_err(msgpack_error)?;
            Ok(traces.iter().map(|t| t.iter().map(span_from_slice).collect()).collect())
        }
    }
}

fn check_msgpack(version: TraceVersion, body: &[u8]) -> Result<(), DecodeError> {
    super::msgpack_check::check(body).map_err(|source| DecodeError::Malformed {
        version: version.name(),
        source,
    })
}

/// Copies a borrowed libdatadog span into an owned protobuf span. A 128-bit trace id keeps
/// its low 64 bits in `trace_id` and its high 64 bits in meta `_dd.p.tid`, as Datadog's agent
/// does.
fn span_from_slice(span: &SpanSlice<'_>) -> pb::Span {
    let mut meta: HashMap<String, String> = HashMap::with_capacity(span.meta.len() + 1);
    for (k, v) in span.meta.iter() {
        meta.insert((*k).to_string(), (*v).to_string());
    }
    let high = (span.trace_id >> 64) as u64;
    if high != 0 {
        meta.entry(TRACE_ID_HIGH_KEY.to_string())
            .or_insert_with(|| format!("{high:016x}"));
    }
    let mut metrics = HashMap::with_capacity(span.metrics.len());
    for (k, v) in span.metrics.iter() {
        metrics.insert((*k).to_string(), *v);
    }
    let mut meta_struct = HashMap::with_capacity(span.meta_struct.len());
    for (k, v) in span.meta_struct.iter() {
        meta_struct.insert((*k).to_string(), v.to_vec());
    }
    pb::Span {
        service: span.service.to_string(),
        name: span.name.to_string(),
        resource: span.resource.to_string(),
        trace_id: span.trace_id as u64,
        span_id: span.span_id,
        parent_id: span.parent_id,
        start: span.start,
        duration: span.duration,
        error: span.error,
        meta,
        metrics,
        r#type: span.r#type.to_string(),
        meta_struct,
        span_links: span
            .span_links
            .iter()
            .map(|link| pb::SpanLink {
                trace_id: link.trace_id,
                trace_id_high: link.trace_id_high,
                span_id: link.span_id,
                attributes: link
                    .attributes
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                    .collect(),
                tracestate: link.tracestate.to_string(),
                flags: link.flags,
            })
            .collect(),
        span_events: Vec::new(),
    }
}

/// A span as v0.3/v0.4 JSON carries it. Integers may come as any JSON number; missing
/// fields default as in msgpack.
#[derive(Deserialize)]
struct JsonSpan {
    #[serde(default)]
    service: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    resource: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    trace_id: JsonInt,
    #[serde(default)]
    span_id: JsonInt,
    #[serde(default)]
    parent_id: JsonInt,
    #[serde(default)]
    start: JsonInt,
    #[serde(default)]
    duration: JsonInt,
    #[serde(default)]
    error: JsonInt,
    #[serde(default)]
    meta: Option<HashMap<String, String>>,
    #[serde(default)]
    metrics: Option<HashMap<String, f64>>,
}

/// A JSON number read as an integer: unsigned, signed or (from some clients) a float.
#[derive(Default, Deserialize)]
#[serde(untagged)]
enum JsonInt {
    #[default]
    Missing,
    Unsigned(u64),
    Signed(i64),
    Float(f64),
}

impl JsonInt {
    fn as_u64(&self) -> u64 {
        match *self {
            JsonInt::Missing => 0,
            JsonInt::Unsigned(v) => v,
            JsonInt::Signed(v) => v as u64,
            JsonInt::Float(v) => v as u64,
        }
    }

    fn as_i64(&self) -> i64 {
        match *self {
            JsonInt::Missing => 0,
            JsonInt::Unsigned(v) => v as i64,
            JsonInt::Signed(v) => v,
            JsonInt::Float(v) => v as i64,
        }
    }
}

fn decode_json(version: TraceVersion, body: &[u8]) -> Result<Traces, DecodeError> {
    let traces: Vec<Vec<JsonSpan>> = serde_json::from_slice(body).map_err(|e| DecodeError::Json {
        version: version.name(),
        offset: dogwatch_model::json::error_offset(body, &e),
        message: e.to_string(),
    })?;
    Ok(traces
        .into_iter()
        .map(|trace| {
            trace
                .into_iter()
                .map(|s| pb::Span {
                    service: s.service,
                    name: s.name,
                    resource: s.resource,
                    trace_id: s.trace_id.as_u64(),
                    span_id: s.span_id.as_u64(),
                    parent_id: s.parent_id.as_u64(),
                    start: s.start.as_i64(),
                    duration: s.duration.as_i64(),
                    error: s.error.as_i64() as i32,
                    meta: s.meta.unwrap_or_default(),
                    metrics: s.metrics.unwrap_or_default(),
                    r#type: s.kind,
                    ..Default::default()
                })
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmp_serde::encode::to_vec_named;
    use serde::Serialize;

    #[derive(Serialize)]
    struct Msgpack04 {
        service: &'static str,
        name: &'static str,
        resource: &'static str,
        trace_id: u64,
        span_id: u64,
        parent_id: u64,
        start: i64,
        duration: i64,
        error: i32,
        meta: HashMap<&'static str, &'static str>,
        metrics: HashMap<&'static str, f64>,
        r#type: &'static str,
    }

    fn sample_span() -> Msgpack04 {
        Msgpack04 {
            service: "notes",
            name: "flask.request",
            resource: "GET /notes",
            trace_id: u64::MAX - 1,
            span_id: 42,
            parent_id: 0,
            start: 1_732_183_200_000_000_000,
            duration: 1_500_000,
            error: 1,
            meta: [("http.status_code", "500"), ("_dd.p.tid", "6740aa3b00000000")].into(),
            metrics: [("_sampling_priority_v1", 1.0)].into(),
            r#type: "web",
        }
    }

    #[test]
    fn v04_msgpack_decodes_every_field() {
        let body = to_vec_named(&vec![vec![sample_span()]]).unwrap();
        let traces = decode_traces(TraceVersion::V04, "application/msgpack", &body).unwrap();
        let span = &traces[0][0];
        assert_eq!(span.service, "notes");
        assert_eq!(span.resource, "GET /notes");
        assert_eq!(span.trace_id, u64::MAX - 1);
        assert_eq!(span.span_id, 42);
        assert_eq!(span.start, 1_732_183_200_000_000_000);
        assert_eq!(span.duration, 1_500_000);
        assert_eq!(span.error, 1);
        assert_eq!(span.r#type, "web");
        assert_eq!(span.meta["http.status_code"], "500");
        assert_eq!(span.meta["_dd.p.tid"], "6740aa3b00000000");
        assert_eq!(span.metrics["_sampling_priority_v1"], 1.0);
    }

    #[test]
    fn small_integer_widths_and_signed_ids_are_accepted() {
        // A tracer may encode ids as positive fixints or signed ints.
        let mut body = Vec::new();
        rmp::encode::write_array_len(&mut body, 1).unwrap();
        rmp::encode::write_array_len(&mut body, 1).unwrap();
        rmp::encode::write_map_len(&mut body, 5).unwrap();
        for (key, value) in [
            ("trace_id", 5i64),
            ("span_id", 6),
            ("parent_id", 0),
            ("start", 100),
            ("duration", 7),
        ] {
            rmp::encode::write_str(&mut body, key).unwrap();
            rmp::encode::write_sint(&mut body, value).unwrap();
        }
        let traces = decode_traces(TraceVersion::V03, "application/msgpack", &body).unwrap();
        assert_eq!(
            (traces[0][0].trace_id, traces[0][0].span_id, traces[0][0].duration),
            (5, 6, 7)
        );
    }

    #[test]
    fn json_decodes_with_and_without_content_type() {
        let body = br#"[[{"service":"calendar","name":"req","resource":"GET /","trace_id":18446744073709551615,"span_id":3,"parent_id":2,"start":1732183200000000000,"duration":5,"error":0,"meta":{"env":"dev"},"metrics":{"x":1.5},"type":"web"}]]"#;
        for content_type in ["application/json", "text/json", ""] {
            let traces = decode_traces(TraceVersion::V04, content_type, body).unwrap();
            assert_eq!(traces[0][0].trace_id, u64::MAX);
            assert_eq!(traces[0][0].meta["env"], "dev");
            assert_eq!(traces[0][0].metrics["x"], 1.5);
        }
    }

    #[test]
    fn json_errors_name_the_byte_offset() {
        let err = decode_traces(TraceVersion::V04, "application/json", b"[[{\"span_id\": \"x\"}]]").unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("invalid v0.4 JSON trace payload at byte "),
            "{message}"
        );
    }

    /// Builds a v0.5 payload: a string table and one trace of the given spans.
    fn v05_body(strings: &[&str], spans: &[[u64; 12]]) -> Vec<u8> {
        let mut body = Vec::new();
        rmp::encode::write_array_len(&mut body, 2).unwrap();
        rmp::encode::write_array_len(&mut body, strings.len() as u32).unwrap();
        for s in strings {
            rmp::encode::write_str(&mut body, s).unwrap();
        }
        rmp::encode::write_array_len(&mut body, 1).unwrap();
        rmp::encode::write_array_len(&mut body, spans.len() as u32).unwrap();
        for span in spans {
            rmp::encode::write_array_len(&mut body, 12).unwrap();
            for (i, value) in span.iter().enumerate() {
                match i {
                    9 => {
                        rmp::encode::write_map_len(&mut body, 1).unwrap();
                        rmp::encode::write_uint(&mut body, 4).unwrap();
                        rmp::encode::write_uint(&mut body, 5).unwrap();
                    }
                    10 => {
                        rmp::encode::write_map_len(&mut body, 1).unwrap();
                        rmp::encode::write_uint(&mut body, 6).unwrap();
                        rmp::encode::write_f64(&mut body, 2.0).unwrap();
                    }
                    8 => {
                        rmp::encode::write_sint(&mut body, *value as i64).unwrap();
                    }
                    _ => {
                        rmp::encode::write_uint(&mut body, *value).unwrap();
                    }
                }
            }
        }
        body
    }

    #[test]
    fn v05_resolves_the_string_table() {
        let strings = [
            "",
            "notes",
            "flask.request",
            "GET /notes",
            "env",
            "dev",
            "_sampling_priority_v1",
            "web",
        ];
        let body = v05_body(&strings, &[[1, 2, 3, 11, 12, 0, 100, 50, 0, 0, 0, 7]]);
        let traces = decode_traces(TraceVersion::V05, "application/msgpack", &body).unwrap();
        let span = &traces[0][0];
        assert_eq!(
            (span.service.as_str(), span.name.as_str(), span.resource.as_str()),
            ("notes", "flask.request", "GET /notes")
        );
        assert_eq!(
            (span.trace_id, span.span_id, span.start, span.duration),
            (11, 12, 100, 50)
        );
        assert_eq!(span.meta["env"], "dev");
        assert_eq!(span.metrics["_sampling_priority_v1"], 2.0);
        assert_eq!(span.r#type, "web");
    }

    #[test]
    fn v05_index_out_of_range_is_an_error() {
        let strings = ["", "notes"];
        let body = v05_body(&strings, &[[1, 99, 1, 11, 12, 0, 100, 50, 0, 0, 0, 0]]);
        assert!(decode_traces(TraceVersion::V05, "application/msgpack", &body).is_err());
    }

    #[test]
    fn v05_refuses_json() {
        let err = decode_traces(TraceVersion::V05, "application/json", b"[]").unwrap_err();
        assert!(matches!(err, DecodeError::UnsupportedContentType { .. }));
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        let bodies: [&[u8]; 6] = [
            b"",
            b"\xc1",
            b"\x91\x91\x81\xa7service\xc0",
            b"\xdd\xff\xff\xff\xff",
            b"\x92\x90",
            b"[[{",
        ];
        for body in bodies {
            for version in [TraceVersion::V03, TraceVersion::V04, TraceVersion::V05] {
                let _ = decode_traces(version, "application/msgpack", body);
                let _ = decode_traces(version, "application/json", body);
            }
        }
        assert!(decode_traces(TraceVersion::V04, "application/msgpack", b"\xc1").is_err());
    }
}
