//! What happens to decoded traces before they are sent: normalization, top-level marking,
//! obfuscation, unified service tags, stats and sampling — Datadog's trace agent's order.
//!
//! libdatadog does the per-span work (`libdd-trace-normalization`, `libdd-trace-utils`'
//! top-level marking, `libdd-trace-obfuscation`, `libdd-trace-stats`' concentrator); this
//! module decides what applies to which chunk and builds the `TracerPayload` the writer sends.

use std::time::Instant;

use dogwatch_model::apm::{SAMPLING_PRIORITY_KEY, TOP_LEVEL_KEY, pb};
use libdd_trace_obfuscation::obfuscation_config::ObfuscationConfig;

use super::decode::Traces;
use super::sampler::{Decision, Sampler};
use super::stats::Concentrator;

/// The metric a tracer sets on spans it marked top-level itself.
const TRACER_TOP_LEVEL_KEY: &str = "_dd.top_level";

/// What a tracer said about itself in its request headers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TracerInfo {
    /// `Datadog-Meta-Lang`, e.g. `python`.
    pub lang: String,
    /// `Datadog-Meta-Lang-Version`.
    pub lang_version: String,
    /// `Datadog-Meta-Lang-Interpreter`, e.g. `CPython`.
    pub interpreter: String,
    /// `Datadog-Meta-Tracer-Version`.
    pub tracer_version: String,
    /// `Datadog-Container-ID`.
    pub container_id: String,
}

/// The flags a tracer sends with its traces.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracerFlags {
    /// `Datadog-Client-Computed-Top-Level`: the tracer marked top-level spans.
    pub computed_top_level: bool,
    /// `Datadog-Client-Computed-Stats`: the tracer sends its own stats to `/v0.6/stats`.
    pub computed_stats: bool,
}

/// The agent-wide values the pipeline applies.
pub struct PipelineSettings {
    /// The host the agent reports.
    pub hostname: String,
    /// The env given to traces that carry none (`apm_config.env`, else `env`).
    pub default_env: String,
    /// What obfuscation does (Datadog's defaults).
    pub obfuscation: ObfuscationConfig,
}

/// The outcome of one request's traces.
#[derive(Debug, Default)]
pub struct Outcome {
    /// What to send: kept chunks, with the tracer's identity.
    pub payload: pb::TracerPayload,
    /// Spans in the request.
    pub spans: u64,
    /// Chunks dropped because they failed normalization.
    pub invalid_traces: u64,
    /// Chunks dropped by sampling (their stats were counted).
    pub sampled_out: u64,
}

/// Runs the pipeline over one request's traces. `concentrator` gets every span of every valid
/// chunk (before sampling, as Datadog computes stats on all traffic) unless the tracer
/// computed its own stats.
pub fn process(
    traces: Traces,
    tracer: &TracerInfo,
    flags: TracerFlags,
    settings: &PipelineSettings,
    sampler: &mut Sampler,
    concentrator: &mut Concentrator,
    now: Instant,
) -> Outcome {
    let mut outcome = Outcome {
        payload: pb::TracerPayload {
            container_id: tracer.container_id.clone(),
            language_name: tracer.lang.clone(),
            language_version: tracer.lang_version.clone(),
            tracer_version: tracer.tracer_version.clone(),
            hostname: settings.hostname.clone(),
            ..Default::default()
        },
        ..Default::default()
    };
    for mut spans in traces {
        outcome.spans += spans.len() as u64;
        if spans.is_empty() {
            continue;
        }
        // libdd-trace-normalization 4.3.1 mangles names with repeated separators
        // (`__main__.list_notes` becomes `main_.list_notes`); such names are normalized again
        // from the original, as Datadog's agent does.
        let odd_names: Vec<(usize, String)> = spans
            .iter()
            .enumerate()
            .filter(|(_, s)| !is_plain_name(&s.name))
            .map(|(i, s)| (i, s.name.clone()))
            .collect();
        if let Err(e) = libdd_trace_normalization::normalizer::normalize_trace(&mut spans) {
            tracing::debug!(error = %e, "A trace failed normalization and was dropped.");
            outcome.invalid_traces += 1;
            continue;
        }
        for (i, name) in odd_names {
            spans[i].name = normalize_name(&name);
        }
        if flags.computed_top_level {
            for span in &mut spans {
                if span.metrics.contains_key(TRACER_TOP_LEVEL_KEY) {
                    span.metrics.insert(TOP_LEVEL_KEY.to_string(), 1.0);
                }
            }
        } else {
            mark_top_level(&mut spans);
        }
        for span in &mut spans {
            libdd_trace_obfuscation::obfuscate::obfuscate_pb_span(span, &settings.obfuscation);
        }
        let root = libdd_trace_utils::trace_utils::get_root_span_index(&spans).unwrap_or(0);
        let env = match spans[root].meta.get("env").filter(|e| !e.is_empty()) {
            Some(env) => env.clone(),
            None => spans
                .iter()
                .find_map(|s| s.meta.get("env").filter(|e| !e.is_empty()).cloned())
                .unwrap_or_else(|| settings.default_env.clone()),
        };
        let version = spans[root].meta.get("version").cloned().unwrap_or_default();
        if !env.is_empty() {
            for span in &mut spans {
                if !span.meta.contains_key("env") {
                    span.meta.insert("env".to_string(), env.clone());
                }
            }
        }
        if !flags.computed_stats {
            concentrator.add(&env, &version, &spans);
        }
        let priority = spans[root]
            .metrics
            .get(SAMPLING_PRIORITY_KEY)
            .or_else(|| spans.iter().find_map(|s| s.metrics.get(SAMPLING_PRIORITY_KEY)))
            .copied();
        let has_error = spans.iter().any(|s| s.error != 0);
        let decision = sampler.sample(&spans[root].service, &env, priority, has_error, now);
        if decision == Decision::Drop {
            outcome.sampled_out += 1;
            continue;
        }
        if outcome.payload.env.is_empty() {
            outcome.payload.env = env;
            outcome.payload.app_version = version;
        }
        let origin = spans[root].meta.get("_dd.origin").cloned().unwrap_or_default();
        outcome.payload.chunks.push(pb::TraceChunk {
            priority: priority.map_or(1, |p| p as i32),
            origin,
            spans,
            tags: Default::default(),
            dropped_trace: false,
        });
    }
    outcome
}

/// The longest span name kept (Datadog's `MaxNameLen`).
const MAX_NAME_LEN: usize = 100;

/// Whether libdatadog's name normalization handles `name` correctly: letters, digits and
/// single dots, starting with a letter.
fn is_plain_name(name: &str) -> bool {
    name.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
        && !name.contains("..")
        && name.len() <= MAX_NAME_LEN
}

/// Datadog's `NormalizeName`: skip to the first letter; keep letters, digits and dots; any
/// other run of characters becomes one `_`; `_.` becomes `.`; no trailing `_`; at most 100
/// bytes; `unnamed_operation` when nothing is left.
pub fn normalize_name(name: &str) -> String {
    let mut cut = name.len().min(MAX_NAME_LEN);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let name = &name[..cut];
    let mut out = String::with_capacity(name.len());
    let mut wrote_underscore = false;
    let start = name.bytes().position(|b| b.is_ascii_alphabetic()).unwrap_or(name.len());
    for b in name[start..].bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
            wrote_underscore = false;
        } else if b == b'.' {
            if out.ends_with('_') {
                out.pop();
            }
            out.push('.');
            wrote_underscore = false;
        } else if !wrote_underscore {
            out.push('_');
            wrote_underscore = true;
        }
    }
    if out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("unnamed_operation");
    }
    out
}

/// Marks top-level spans (`_top_level` = 1): roots, spans whose parent is not in the chunk,
/// and spans whose parent belongs to another service. libdatadog's `compute_top_level_span`
/// does the same but copies every span's service into a map; this borrows them.
fn mark_top_level(spans: &mut [pb::Span]) {
    let top: Vec<bool> = {
        let services: std::collections::HashMap<u64, &str> =
            spans.iter().map(|s| (s.span_id, s.service.as_str())).collect();
        spans
            .iter()
            .map(|s| s.parent_id == 0 || services.get(&s.parent_id).is_none_or(|parent| *parent != s.service))
            .collect()
    };
    for (span, top) in spans.iter_mut().zip(top) {
        if top {
            span.metrics.insert(TOP_LEVEL_KEY.to_string(), 1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn span(service: &str, span_id: u64, parent_id: u64, error: i32) -> pb::Span {
        pb::Span {
            service: service.into(),
            name: "op".into(),
            resource: "res".into(),
            trace_id: 9,
            span_id,
            parent_id,
            start: 1_732_183_200_000_000_000,
            duration: 1000,
            error,
            meta: HashMap::new(),
            metrics: [(SAMPLING_PRIORITY_KEY.to_string(), 1.0)].into(),
            ..Default::default()
        }
    }

    fn settings() -> PipelineSettings {
        PipelineSettings {
            hostname: "web-1".into(),
            default_env: "staging".into(),
            obfuscation: ObfuscationConfig::default(),
        }
    }

    fn run(traces: Traces, flags: TracerFlags) -> (Outcome, Concentrator) {
        let now = Instant::now();
        let mut sampler = Sampler::new(10.0, 10.0, now);
        let mut concentrator = Concentrator::new(std::time::SystemTime::now());
        let outcome = process(
            traces,
            &TracerInfo::default(),
            flags,
            &settings(),
            &mut sampler,
            &mut concentrator,
            now,
        );
        (outcome, concentrator)
    }

    #[test]
    fn top_level_spans_are_roots_and_service_entries() {
        let (outcome, _) = run(
            vec![vec![
                span("notes", 1, 0, 0),
                span("notes", 2, 1, 0),
                span("calendar", 3, 2, 0),
            ]],
            TracerFlags::default(),
        );
        let spans = &outcome.payload.chunks[0].spans;
        let top: Vec<bool> = spans.iter().map(dogwatch_model::apm::is_top_level).collect();
        assert_eq!(top, vec![true, false, true]);
        assert_eq!(outcome.spans, 3);
    }

    #[test]
    fn the_default_env_fills_spans_without_one() {
        let (outcome, _) = run(vec![vec![span("notes", 1, 0, 0)]], TracerFlags::default());
        assert_eq!(outcome.payload.env, "staging");
        assert_eq!(outcome.payload.chunks[0].spans[0].meta["env"], "staging");
        assert_eq!(outcome.payload.hostname, "web-1");
    }

    #[test]
    fn dropped_priority_chunks_count_in_stats_but_are_not_sent() {
        let mut dropped = span("notes", 1, 0, 0);
        dropped.metrics.insert(SAMPLING_PRIORITY_KEY.into(), 0.0);
        let (outcome, mut concentrator) = run(vec![vec![dropped]], TracerFlags::default());
        assert!(outcome.payload.chunks.is_empty());
        assert_eq!(outcome.sampled_out, 1);
        let stats = concentrator.flush(
            std::time::SystemTime::now() + std::time::Duration::from_secs(3600),
            true,
            "h",
        );
        let hits: u64 = stats
            .iter()
            .flat_map(|p| &p.stats)
            .flat_map(|b| &b.stats)
            .map(|g| g.hits)
            .sum();
        assert_eq!(hits, 1);
    }

    #[test]
    fn traces_with_foreign_spans_are_invalid() {
        let mut foreign = span("notes", 2, 1, 0);
        foreign.trace_id = 10;
        let (outcome, _) = run(vec![vec![span("notes", 1, 0, 0), foreign]], TracerFlags::default());
        assert_eq!(outcome.invalid_traces, 1);
        assert!(outcome.payload.chunks.is_empty());
    }

    #[test]
    fn names_are_normalized_as_datadog_does() {
        for (raw, normal) in [
            ("__main__.list_notes", "main.list_notes"),
            ("flask.request", "flask.request"),
            ("a__b", "a_b"),
            ("contiguous_____underscores", "contiguous_underscores"),
            ("my-op name!", "my_op_name"),
            ("a_.b", "a.b"),
            ("123", "unnamed_operation"),
            ("", "unnamed_operation"),
        ] {
            assert_eq!(normalize_name(raw), normal, "{raw}");
            let (outcome, _) = run(
                vec![vec![pb::Span {
                    name: raw.into(),
                    ..span("notes", 1, 0, 0)
                }]],
                TracerFlags::default(),
            );
            assert_eq!(
                outcome.payload.chunks[0].spans[0].name, normal,
                "{raw} through the pipeline"
            );
        }
        assert_eq!(normalize_name(&"x".repeat(150)).len(), 100);
    }

    #[test]
    fn sql_resources_are_obfuscated() {
        let mut query = span("db", 1, 0, 0);
        query.r#type = "sql".into();
        query.resource = "SELECT * FROM users WHERE id = 42".into();
        let (outcome, _) = run(vec![vec![query]], TracerFlags::default());
        assert_eq!(
            outcome.payload.chunks[0].spans[0].resource,
            "SELECT * FROM users WHERE id = ?"
        );
    }

    #[test]
    fn client_computed_top_level_is_respected() {
        let mut child = span("notes", 2, 1, 0);
        child.metrics.insert(TRACER_TOP_LEVEL_KEY.into(), 1.0);
        let (outcome, _) = run(
            vec![vec![span("notes", 1, 0, 0), child]],
            TracerFlags {
                computed_top_level: true,
                computed_stats: false,
            },
        );
        let spans = &outcome.payload.chunks[0].spans;
        assert!(!dogwatch_model::apm::is_top_level(&spans[0]));
        assert!(dogwatch_model::apm::is_top_level(&spans[1]));
    }
}
