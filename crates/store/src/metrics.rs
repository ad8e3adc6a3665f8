//! The metric store's types: contexts (metric name + host + tags), their points and
//! distribution sketches, events, and service check summaries.

use serde::Serialize;

/// How a context's points are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoredKind {
    /// The value at the point's time.
    Gauge,
    /// A per-second rate over the point's interval.
    Rate,
    /// A count over the point's interval.
    Count,
    /// A sketch of values per point.
    Distribution,
}

impl StoredKind {
    /// The lower-case name used in storage and in the API.
    pub fn name(self) -> &'static str {
        match self {
            StoredKind::Gauge => "gauge",
            StoredKind::Rate => "rate",
            StoredKind::Count => "count",
            StoredKind::Distribution => "distribution",
        }
    }

    /// The kind named `name`; unknown names read as gauges.
    pub fn from_name(name: &str) -> StoredKind {
        match name {
            "rate" => StoredKind::Rate,
            "count" => StoredKind::Count,
            "distribution" => StoredKind::Distribution,
            _ => StoredKind::Gauge,
        }
    }
}

/// One metric context: a metric name with one host and one tag set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricContext {
    /// The store's id for it.
    pub id: i64,
    /// The metric name.
    pub metric: String,
    /// The host; empty for none.
    pub host: String,
    /// Sorted, de-duplicated `key:value` tags.
    pub tags: Vec<String>,
    /// How its points are read (the last kind written).
    pub kind: StoredKind,
    /// Seconds per point, for rates and counts.
    pub interval: Option<u64>,
    /// Unix seconds of its newest point.
    pub last_ts: i64,
}

/// A distribution point: one context's sketch at one time (a `Dogsketch` protobuf).
#[derive(Debug, Clone, PartialEq)]
pub struct SketchPoint {
    /// The context.
    pub context: i64,
    /// Unix seconds.
    pub ts: i64,
    /// The encoded `dogwatch_model::Dogsketch`.
    pub sketch: Vec<u8>,
}

/// A distribution context's points, for [`crate::Records::Sketches`].
#[derive(Debug, Clone, PartialEq)]
pub struct SketchSeries {
    /// The metric name.
    pub metric: String,
    /// The host; empty for none.
    pub host: String,
    /// `key:value` tags.
    pub tags: Vec<String>,
    /// `(Unix seconds, encoded Dogsketch)` per point.
    pub points: Vec<(i64, Vec<u8>)>,
}

/// A metric name with what is known of it (for listings).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSummary {
    /// The metric name.
    pub name: String,
    /// The kind of its most recent context.
    #[serde(rename = "type")]
    pub kind: StoredKind,
    /// How many contexts it has.
    pub contexts: u64,
    /// How many distinct hosts.
    pub hosts: u64,
    /// Unix seconds of its newest point.
    pub last_seen: i64,
}

/// Which metric names to list.
#[derive(Debug, Clone, Default)]
pub struct MetricNameQuery {
    /// Only names containing this text, ignoring ASCII case.
    pub contains: Option<String>,
    /// Only metrics with a point at or after this Unix second.
    pub since: Option<i64>,
    /// Only metrics with a context on this host.
    pub host: Option<String>,
    /// At most this many, by name.
    pub limit: usize,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    /// The store's id.
    pub id: i64,
    /// The event; `date_happened` is always set.
    #[serde(flatten)]
    pub event: dogwatch_model::Event,
}

/// Which events to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// From this Unix second, inclusive.
    pub start: i64,
    /// To this Unix second, inclusive.
    pub end: i64,
    /// Only this priority.
    pub priority: Option<String>,
    /// Only these `source_type_name`s.
    pub sources: Vec<String>,
    /// Case-insensitive text that the title or text must contain.
    pub text: Option<String>,
    /// At most this many (the caller filters tags, so it asks for more).
    pub limit: usize,
}

/// The latest run of one (check, host), with counts of its recent runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckSummary {
    /// The latest run.
    pub run: dogwatch_model::CheckRun,
    /// Runs since the window's start by status: OK, WARNING, CRITICAL, UNKNOWN.
    pub counts: [u64; 4],
}
