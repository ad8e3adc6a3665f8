//! APM stats: hits, errors, top-level hits, durations and latency sketches per service, name,
//! resource, type, HTTP status and span kind, in 10 s buckets keyed by span end time.
//!
//! libdatadog's `SpanConcentrator` does the aggregation (its DDSketches have 1% relative
//! accuracy, as Datadog's). It is built for one tracer, whose env and version are fixed, so the
//! agent keeps one per env and version and labels each flushed payload with them.
//! It counts each span once: `_sample_rate` weighting (for tracers that sample before the
//! agent) is not applied, see ARCHITECTURE.md.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use dogwatch_model::apm::pb;
use libdd_trace_stats::span_concentrator::SpanConcentrator;

/// The width of a stats bucket.
pub const BUCKET: Duration = Duration::from_secs(10);

/// Span stats being aggregated, per env and version.
pub struct Concentrator {
    created: SystemTime,
    by_env_version: HashMap<(String, String), SpanConcentrator>,
}

impl Concentrator {
    /// An empty concentrator; spans that ended before `now` go to its oldest bucket.
    pub fn new(now: SystemTime) -> Concentrator {
        Concentrator {
            created: now,
            by_env_version: HashMap::new(),
        }
    }

    /// Adds the eligible spans of one chunk (top-level, measured, or of a stats span kind).
    pub fn add(&mut self, env: &str, version: &str, spans: &[pb::Span]) {
        let created = self.created;
        let concentrator = self
            .by_env_version
            .entry((env.to_string(), version.to_string()))
            .or_insert_with(|| {
                SpanConcentrator::new(
                    BUCKET,
                    created,
                    libdd_trace_stats::span_concentrator::default_stats_eligible_span_kinds(),
                    Vec::new(),
                    None,
                    Vec::new(),
                )
            });
        for span in spans {
            concentrator.add_span(span);
        }
    }

    /// Takes the buckets that are complete at `now` (all of them when `force`), one payload
    /// per env and version, reported from `hostname`.
    pub fn flush(&mut self, now: SystemTime, force: bool, hostname: &str) -> Vec<pb::ClientStatsPayload> {
        let mut payloads = Vec::new();
        for ((env, version), concentrator) in &mut self.by_env_version {
            let buckets: Vec<pb::ClientStatsBucket> = concentrator
                .flush(now, force)
                .all_buckets()
                .into_iter()
                .filter(|b| !b.stats.is_empty())
                .collect();
            if buckets.is_empty() {
                continue;
            }
            payloads.push(pb::ClientStatsPayload {
                hostname: hostname.to_string(),
                env: env.clone(),
                version: version.clone(),
                stats: buckets,
                ..Default::default()
            });
        }
        payloads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(resource: &str, duration: i64, error: i32, end: SystemTime) -> pb::Span {
        let end_ns = end.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as i64;
        pb::Span {
            service: "notes".into(),
            name: "flask.request".into(),
            resource: resource.into(),
            trace_id: 1,
            span_id: 1,
            start: end_ns - duration,
            duration,
            error,
            metrics: [("_top_level".to_string(), 1.0)].into(),
            meta: [("http.status_code".to_string(), "200".to_string())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn spans_are_counted_per_resource_and_env() {
        let now = SystemTime::now();
        let mut concentrator = Concentrator::new(now - Duration::from_secs(60));
        let end = now - Duration::from_secs(30);
        concentrator.add(
            "dev",
            "1.0",
            &[span("GET /a", 1_000_000, 0, end), span("GET /a", 3_000_000, 1, end)],
        );
        concentrator.add("prod", "", &[span("GET /b", 2_000_000, 0, end)]);
        let mut payloads = concentrator.flush(now + Duration::from_secs(60), true, "web-1");
        payloads.sort_by(|a, b| a.env.cmp(&b.env));
        assert_eq!(payloads.len(), 2);
        assert_eq!((payloads[0].env.as_str(), payloads[0].version.as_str()), ("dev", "1.0"));
        let group = &payloads[0].stats[0].stats[0];
        assert_eq!(
            (group.resource.as_str(), group.hits, group.errors, group.top_level_hits),
            ("GET /a", 2, 1, 2)
        );
        assert_eq!(group.duration, 4_000_000);
        assert_eq!(group.http_status_code, 200);
        assert!(!group.ok_summary.is_empty() && !group.error_summary.is_empty());
        assert_eq!(payloads[0].stats[0].duration, BUCKET.as_nanos() as u64);
        assert!(
            concentrator
                .flush(now + Duration::from_secs(60), true, "web-1")
                .is_empty()
        );
    }

    #[test]
    fn recent_buckets_wait_until_complete() {
        let now = SystemTime::now();
        let mut concentrator = Concentrator::new(now - Duration::from_secs(60));
        concentrator.add("", "", &[span("GET /a", 1_000, 0, now)]);
        assert!(concentrator.flush(now, false, "h").is_empty());
        assert_eq!(concentrator.flush(now + Duration::from_secs(40), false, "h").len(), 1);
    }
}
