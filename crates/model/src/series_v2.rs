//! Metric series in Datadog's v2 shape (`POST /api/v2/series`): the protobuf `MetricPayload`
//! the Datadog Agent 7 sends (agent-payload's `proto/metrics/agent_payload.proto`, same
//! messages and field numbers) and the JSON form of Datadog's API clients
//! (`{"series":[{"metric","type","points":[{"timestamp","value"}],"resources",…}]}`).
//!
//! Both are read into the same [`MetricPayload`] and turned into v1 [`Series`] by
//! [`MetricPayload::into_series`], which checks the whole payload first: a payload with one bad
//! series gives an error and no series. The resource of type `host` is the series' host; a
//! `device` resource becomes a `device:<name>` tag, as Datadog's v1 `device` field does.
//! [`MetricPayload::into_series_and_units`] also gives each metric's unit (the first non-empty
//! one per metric in the payload), which the server makes the metric's metadata unit when none
//! is set, as Datadog does. `source_type_name` and origin metadata are read and checked but not
//! kept.

use serde::Deserialize;

use crate::series::{MetricKind, Series};

/// `(metric, unit)` pairs: the unit a payload gives each metric.
pub type MetricUnits = Vec<(String, String)>;

/// A batch of series, agent-payload's `MetricPayload`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricPayload {
    /// The series, each with its own points.
    #[prost(message, repeated, tag = "1")]
    pub series: Vec<MetricSeries>,
}

/// One metric context and its points, agent-payload's `MetricPayload.MetricSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricSeries {
    /// What the series describes; `{type: "host", name: <hostname>}` names its host.
    #[prost(message, repeated, tag = "1")]
    pub resources: Vec<Resource>,
    /// The metric name.
    #[prost(string, tag = "2")]
    pub metric: String,
    /// `key:value` tags.
    #[prost(string, repeated, tag = "3")]
    pub tags: Vec<String>,
    /// The points.
    #[prost(message, repeated, tag = "4")]
    pub points: Vec<MetricPoint>,
    /// The metric type: [`MetricType`] as its number (0 unspecified, read as a gauge).
    #[prost(enumeration = "MetricType", tag = "5")]
    pub r#type: i32,
    /// The unit's name, e.g. `byte`.
    #[prost(string, tag = "6")]
    pub unit: String,
    /// Where the metric came from (the check's name).
    #[prost(string, tag = "7")]
    pub source_type_name: String,
    /// Seconds between samples; what each point of a rate or count covers. 0 for none.
    #[prost(int64, tag = "8")]
    pub interval: i64,
    /// Origin metadata.
    #[prost(message, optional, tag = "9")]
    pub metadata: Option<Metadata>,
}

/// A series' metric type, agent-payload's `MetricPayload.MetricType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MetricType {
    /// Not given; read as a gauge, as Datadog does.
    Unspecified = 0,
    /// A count over the interval.
    Count = 1,
    /// A per-second rate over the interval.
    Rate = 2,
    /// The value at the point's time.
    Gauge = 3,
}

/// One point, agent-payload's `MetricPayload.MetricPoint`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricPoint {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Unix seconds.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// What a series describes, agent-payload's `MetricPayload.Resource`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Resource {
    /// The kind of resource, e.g. `host` or `device`.
    #[prost(string, tag = "1")]
    pub r#type: String,
    /// Its name.
    #[prost(string, tag = "2")]
    pub name: String,
}

/// Metadata of a series, agent-payload's `Metadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metadata {
    /// Which product made the metric.
    #[prost(message, optional, tag = "1")]
    pub origin: Option<Origin>,
}

/// Where a metric came from, agent-payload's `Origin` (fields 1 to 3 are reserved there).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Origin {
    /// The product.
    #[prost(uint32, tag = "4")]
    pub origin_product: u32,
    /// The category within the product.
    #[prost(uint32, tag = "5")]
    pub origin_category: u32,
    /// The service within the category.
    #[prost(uint32, tag = "6")]
    pub origin_service: u32,
}

/// Why a v2 series payload was refused.
#[derive(Debug, thiserror::Error)]
pub enum SeriesV2Error {
    /// The protobuf does not decode; `offset` is where the decoder stopped.
    #[error("invalid MetricPayload protobuf at byte {offset}: {error}")]
    Protobuf {
        /// Bytes read before the decoder failed.
        offset: usize,
        /// prost's error, naming the message and field path.
        error: prost::DecodeError,
    },
    /// A series that decodes but cannot be stored.
    #[error("series[{index}] ({metric:?}): {problem}")]
    Series {
        /// Its position in `series`.
        index: usize,
        /// Its metric name.
        metric: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl MetricPayload {
    /// Decodes a protobuf `MetricPayload`. Unknown fields are skipped, as protobuf does; on a
    /// failure the error names the message and field path (prost's) and the byte offset.
    pub fn decode_protobuf(body: &[u8]) -> Result<MetricPayload, SeriesV2Error> {
        crate::protobuf::decode(body, "MetricPayload").map_err(|e| SeriesV2Error::Protobuf {
            offset: e.offset,
            error: e.error,
        })
    }

    /// Checks every series, then turns them into v1 series (the stored form). The first bad
    /// series is the error, and then nothing is returned.
    pub fn into_series(self) -> Result<Vec<Series>, SeriesV2Error> {
        self.check()?;
        Ok(self.series.into_iter().map(to_series).collect())
    }

    /// As [`MetricPayload::into_series`], and also each metric's unit: `(metric, unit)` for
    /// the first series of each metric that names one, once per metric, in payload order.
    pub fn into_series_and_units(self) -> Result<(Vec<Series>, MetricUnits), SeriesV2Error> {
        self.check()?;
        let mut units: MetricUnits = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for s in &self.series {
            if !s.unit.is_empty() && seen.insert(s.metric.as_str()) {
                units.push((s.metric.clone(), s.unit.clone()));
            }
        }
        Ok((self.series.into_iter().map(to_series).collect(), units))
    }

    fn check(&self) -> Result<(), SeriesV2Error> {
        for (index, s) in self.series.iter().enumerate() {
            if let Some(problem) = problem_of(s) {
                return Err(SeriesV2Error::Series {
                    index,
                    metric: s.metric.clone(),
                    problem,
                });
            }
        }
        Ok(())
    }
}

fn problem_of(s: &MetricSeries) -> Option<String> {
    if s.metric.trim().is_empty() {
        return Some("the metric name is empty".into());
    }
    if MetricType::try_from(s.r#type).is_err() {
        return Some(format!(
            "type {} is not one of 0 (unspecified), 1 (count), 2 (rate), 3 (gauge)",
            s.r#type
        ));
    }
    if s.interval < 0 {
        return Some(format!("interval {} is negative", s.interval));
    }
    if let Some((i, p)) = s.points.iter().enumerate().find(|(_, p)| !p.value.is_finite()) {
        return Some(format!(
            "points[{i}] at {} has a value that is not a finite number: {}",
            p.timestamp, p.value
        ));
    }
    None
}

fn to_series(s: MetricSeries) -> Series {
    let kind = match MetricType::try_from(s.r#type) {
        Ok(MetricType::Count) => MetricKind::Count,
        Ok(MetricType::Rate) => MetricKind::Rate,
        _ => MetricKind::Gauge,
    };
    let mut host = None;
    let mut tags = s.tags;
    for r in s.resources {
        match r.r#type.as_str() {
            "host" if host.is_none() && !r.name.is_empty() => host = Some(r.name),
            "device" if !r.name.is_empty() => tags.push(format!("device:{}", r.name)),
            _ => {}
        }
    }
    Series {
        metric: s.metric,
        points: s.points.iter().map(|p| (p.timestamp as f64, p.value)).collect(),
        kind,
        interval: u64::try_from(s.interval).ok().filter(|i| *i > 0),
        host,
        tags,
    }
}

/// The JSON body of `POST /api/v2/series`, as Datadog's API clients send it
/// (`MetricsApi.submit_metrics`). Unknown fields are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct JsonMetricPayload {
    /// The series.
    pub series: Vec<JsonMetricSeries>,
}

/// One series of the JSON form.
#[derive(Debug, Clone, Deserialize)]
pub struct JsonMetricSeries {
    /// The metric name.
    pub metric: String,
    /// 0 unspecified (a gauge), 1 count, 2 rate, 3 gauge.
    #[serde(default, rename = "type")]
    pub kind: i32,
    /// The points.
    #[serde(default)]
    pub points: Vec<JsonMetricPoint>,
    /// What the series describes (`{"name": …, "type": "host"}`).
    #[serde(default)]
    pub resources: Option<Vec<JsonResource>>,
    /// `key:value` tags.
    #[serde(default, deserialize_with = "crate::null_as_empty")]
    pub tags: Vec<String>,
    /// The unit's name.
    #[serde(default)]
    pub unit: Option<String>,
    /// Where the metric came from.
    #[serde(default)]
    pub source_type_name: Option<String>,
    /// Seconds between samples.
    #[serde(default)]
    pub interval: Option<i64>,
}

/// One point of the JSON form.
#[derive(Debug, Clone, Deserialize)]
pub struct JsonMetricPoint {
    /// Unix seconds.
    pub timestamp: i64,
    /// The value.
    pub value: f64,
}

/// A resource of the JSON form.
#[derive(Debug, Clone, Deserialize)]
pub struct JsonResource {
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its kind, e.g. `host`.
    #[serde(default, rename = "type")]
    pub kind: String,
}

impl From<JsonMetricPayload> for MetricPayload {
    fn from(json: JsonMetricPayload) -> MetricPayload {
        MetricPayload {
            series: json
                .series
                .into_iter()
                .map(|s| MetricSeries {
                    resources: s
                        .resources
                        .unwrap_or_default()
                        .into_iter()
                        .map(|r| Resource {
                            r#type: r.kind,
                            name: r.name,
                        })
                        .collect(),
                    metric: s.metric,
                    tags: s.tags,
                    points: s
                        .points
                        .into_iter()
                        .map(|p| MetricPoint {
                            value: p.value,
                            timestamp: p.timestamp,
                        })
                        .collect(),
                    r#type: s.kind,
                    unit: s.unit.unwrap_or_default(),
                    source_type_name: s.source_type_name.unwrap_or_default(),
                    interval: s.interval.unwrap_or(0),
                    metadata: None,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn series(metric: &str, kind: MetricType) -> MetricSeries {
        MetricSeries {
            resources: vec![
                Resource {
                    r#type: "host".into(),
                    name: "web-1".into(),
                },
                Resource {
                    r#type: "device".into(),
                    name: "sda".into(),
                },
            ],
            metric: metric.into(),
            tags: vec!["env:prod".into()],
            points: vec![MetricPoint {
                value: 1.5,
                timestamp: 1_700_000_000,
            }],
            r#type: kind as i32,
            unit: "byte".into(),
            source_type_name: "disk".into(),
            interval: 10,
            metadata: Some(Metadata {
                origin: Some(Origin {
                    origin_product: 10,
                    origin_category: 11,
                    origin_service: 12,
                }),
            }),
        }
    }

    #[test]
    fn an_encoded_payload_becomes_v1_series_with_host_device_kind_and_interval() {
        let payload = MetricPayload {
            series: vec![series("system.disk.used", MetricType::Rate)],
        };
        let decoded = MetricPayload::decode_protobuf(&payload.encode_to_vec()).unwrap();
        assert_eq!(decoded, payload);
        let out = decoded.into_series().unwrap();
        assert_eq!(
            out,
            vec![Series {
                metric: "system.disk.used".into(),
                points: vec![(1_700_000_000.0, 1.5)],
                kind: MetricKind::Rate,
                interval: Some(10),
                host: Some("web-1".into()),
                tags: vec!["env:prod".into(), "device:sda".into()],
            }]
        );
    }

    #[test]
    fn a_truncated_payload_names_the_field_path_and_an_offset_inside_the_body() {
        let body = MetricPayload {
            series: vec![series("a", MetricType::Gauge), series("b", MetricType::Gauge)],
        }
        .encode_to_vec();
        let cut = &body[..body.len() - 3];
        let err = MetricPayload::decode_protobuf(cut).unwrap_err();
        let SeriesV2Error::Protobuf { offset, ref error } = err else {
            panic!("{err}")
        };
        assert!(
            offset > body.len() / 2 && offset <= cut.len(),
            "offset {offset} of {}",
            cut.len()
        );
        assert!(error.to_string().contains("MetricPayload.series"), "{error}");
        assert!(
            err.to_string().contains("invalid MetricPayload protobuf at byte"),
            "{err}"
        );
    }

    #[test]
    fn one_bad_series_refuses_the_whole_payload() {
        let mut bad = series("b", MetricType::Gauge);
        bad.r#type = 7;
        let err = MetricPayload {
            series: vec![series("a", MetricType::Gauge), bad],
        }
        .into_series()
        .unwrap_err();
        assert!(err.to_string().starts_with("series[1] (\"b\"): type 7"), "{err}");
        let mut nan = series("c", MetricType::Count);
        nan.points[0].value = f64::NAN;
        let err = MetricPayload { series: vec![nan] }.into_series().unwrap_err();
        assert!(err.to_string().contains("points[0]"), "{err}");
    }

    #[test]
    fn the_json_form_reads_as_the_protobuf_one() {
        let json = r#"{"series":[{"metric":"m","type":1,"points":[{"timestamp":5,"value":2.0}],
            "resources":[{"name":"h","type":"host"}],"tags":null,"unit":"request","interval":20,
            "metadata":{"origin":{"product":1}},"future_field":true}]}"#;
        let payload: JsonMetricPayload = serde_json::from_str(json).unwrap();
        let out = MetricPayload::from(payload).into_series().unwrap();
        assert_eq!(out[0].kind, MetricKind::Count);
        assert_eq!(out[0].host.as_deref(), Some("h"));
        assert_eq!((out[0].interval, out[0].points.clone()), (Some(20), vec![(5.0, 2.0)]));
    }
}
