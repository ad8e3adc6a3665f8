//! What users add by hand beside what agents send: host tags set through Datadog's tags API
//! (`/api/v1/tags/hosts`), kept per source, and metric metadata (unit, type, description) set
//! through `/api/v1/metrics/{name}`.

use serde::{Deserialize, Serialize};

/// The source of host tags set without one, as Datadog's tags API defaults it.
pub const DEFAULT_TAG_SOURCE: &str = "user";

/// One user-set host tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserHostTag {
    /// The host it is on.
    pub host: String,
    /// Where it came from (`user` unless the caller named a source).
    pub source: String,
    /// The tag, `key:value` or a bare word.
    pub tag: String,
}

/// How [`crate::Store::set_host_tags`] treats a host's tags already set from the same source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagWrite {
    /// Adds to them (Datadog's `POST`), keeping each tag once.
    Append,
    /// Replaces them (Datadog's `PUT`).
    Replace,
}

/// A metric's metadata as Datadog's `MetricMetadata` carries it; `None` fields are unset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricMetadata {
    /// The metric type: `gauge`, `rate`, `count`, `distribution`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A description of the metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A short name for the metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_name: Option<String>,
    /// The primary unit, e.g. `byte`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The per unit, e.g. `second` in `bytes per second`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_unit: Option<String>,
    /// The StatsD flush interval in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statsd_interval: Option<i64>,
    /// The integration that sends the metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration: Option<String>,
}

impl MetricMetadata {
    /// This metadata with every field `change` sets replaced (Datadog's update keeps the rest).
    pub fn merged(&self, change: &MetricMetadata) -> MetricMetadata {
        fn pick<T: Clone>(new: &Option<T>, old: &Option<T>) -> Option<T> {
            new.clone().or_else(|| old.clone())
        }
        MetricMetadata {
            kind: pick(&change.kind, &self.kind),
            description: pick(&change.description, &self.description),
            short_name: pick(&change.short_name, &self.short_name),
            unit: pick(&change.unit, &self.unit),
            per_unit: pick(&change.per_unit, &self.per_unit),
            statsd_interval: pick(&change.statsd_interval, &self.statsd_interval),
            integration: pick(&change.integration, &self.integration),
        }
    }
}
