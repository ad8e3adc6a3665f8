//! Metric series (`POST /api/v1/series`).

use serde::{Deserialize, Serialize};

/// How a series' points are to be read, as Datadog's v1 intake names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// The value at the point's time.
    #[default]
    Gauge,
    /// A per-second rate over the series' interval.
    Rate,
    /// A count over the series' interval.
    Count,
}

impl MetricKind {
    /// The lower-case name used on the wire and in storage.
    pub fn name(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Rate => "rate",
            MetricKind::Count => "count",
        }
    }
}

/// One metric with its points, in the JSON shape of Datadog's `/api/v1/series`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The metric name, e.g. `system.uptime`.
    pub metric: String,
    /// `[unix seconds, value]` pairs.
    pub points: Vec<(f64, f64)>,
    /// How to read the points. Defaults to `gauge`, as Datadog's intake does.
    #[serde(default, rename = "type")]
    pub kind: MetricKind,
    /// Seconds covered by each point of a rate or count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
    /// The host the metric describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `key:value` tags; `null` reads as none, as Datadog's serializer sends it.
    #[serde(default, deserialize_with = "crate::null_as_empty")]
    pub tags: Vec<String>,
}

/// The body of `POST /api/v1/series`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPayload {
    /// The series, each with its own points.
    pub series: Vec<Series>,
}
