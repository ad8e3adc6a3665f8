//! `POST /api/v2/series` over real HTTP against a real store: the protobuf `MetricPayload` of
//! the Datadog Agent 7 (encoded here with prost from the agent-payload messages, compressed as
//! the agent does) and the JSON form of Datadog's API clients, read back through
//! `/api/v1/query`; bad protobuf, bad series and oversized bodies store nothing.

mod common;

use std::io::Write;

use dogwatch_model::series_v2::{Metadata, MetricPayload, MetricPoint, MetricSeries, MetricType, Origin, Resource};
use dogwatch_store::Store;
use prost::Message;
use serde_json::{Value, json};

const LIMIT: usize = 64 * 1024;

fn now_s() -> i64 {
    dogwatch_server::now_ms() / 1000
}

fn host(name: &str) -> Resource {
    Resource {
        r#type: "host".into(),
        name: name.into(),
    }
}

/// A series as the agent's serializer fills it: host resource, tags, unit, source, interval
/// and origin metadata.
fn agent_series(metric: &str, kind: MetricType, points: &[(i64, f64)], tags: &[&str]) -> MetricSeries {
    MetricSeries {
        resources: vec![host("web-1")],
        metric: metric.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        points: points
            .iter()
            .map(|&(timestamp, value)| MetricPoint { value, timestamp })
            .collect(),
        r#type: kind as i32,
        unit: "byte".into(),
        source_type_name: "System".into(),
        interval: 10,
        metadata: Some(Metadata {
            origin: Some(Origin {
                origin_product: 10,
                origin_category: 11,
                origin_service: 0,
            }),
        }),
    }
}

async fn post(s: &common::Running, content_type: &str, encoding: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/api/v2/series", s.base))
        .header("DD-API-KEY", common::KEY)
        .header("Content-Type", content_type)
        .body(body);
    if let Some(encoding) = encoding {
        request = request.header("Content-Encoding", encoding);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// `/api/v1/query` for `query` over the last hour: `{scope: [[ts_ms, value]]}`.
async fn query(s: &common::Running, query: &str) -> Value {
    let t = now_s();
    let answer: Value = common::client()
        .get(format!("{}/api/v1/query", s.base))
        .query(&[
            ("from", (t - 3600).to_string()),
            ("to", (t + 60).to_string()),
            ("query", query.to_string()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out = serde_json::Map::new();
    for series in answer["series"].as_array().unwrap_or(&Vec::new()) {
        out.insert(
            series["scope"].as_str().unwrap().to_string(),
            series["pointlist"].clone(),
        );
    }
    Value::Object(out)
}

fn zstd(body: &[u8]) -> Vec<u8> {
    zstd::encode_all(body, 1).unwrap()
}

fn deflate(body: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(body).unwrap();
    e.finish().unwrap()
}

fn ms(t: i64) -> i64 {
    t * 1000
}

/// A time on a minute boundary some minutes ago: points a minute apart stay whole in the
/// query's rollup buckets (20 s for the hour the tests query).
fn minute_ago() -> i64 {
    now_s() / 60 * 60 - 300
}

#[tokio::test]
async fn agent7_protobuf_series_compressed_are_stored_and_read_back_through_the_query_api() {
    let s = common::start(LIMIT).await;
    let t = minute_ago();
    let payload = MetricPayload {
        series: vec![
            agent_series(
                "v2.mem.used",
                MetricType::Gauge,
                &[(t, 100.0), (t + 60, 150.0)],
                &["env:prod"],
            ),
            agent_series("v2.requests", MetricType::Count, &[(t, 7.0)], &["env:prod"]),
            agent_series("v2.bytes_in", MetricType::Rate, &[(t, 2.5)], &[]),
            MetricSeries {
                r#type: MetricType::Unspecified as i32,
                resources: vec![
                    host("db-1"),
                    Resource {
                        r#type: "device".into(),
                        name: "sda".into(),
                    },
                ],
                ..agent_series("v2.mem.used", MetricType::Gauge, &[(t, 5.0)], &["env:prod"])
            },
        ],
    };
    let body = payload.encode_to_vec();
    let (status, answer) = post(&s, "application/x-protobuf", Some("zstd"), zstd(&body)).await;
    assert_eq!((status, answer), (202, json!({"errors": []})));
    assert_eq!(
        query(&s, "avg:v2.mem.used{env:prod} by {host}").await,
        json!({
            "env:prod,host:db-1": [[ms(t), 5.0]],
            "env:prod,host:web-1": [[ms(t), 100.0], [ms(t + 60), 150.0]],
        })
    );
    assert_eq!(
        query(&s, "sum:v2.mem.used{device:sda}").await,
        json!({"device:sda": [[ms(t), 5.0]]})
    );
    // A count is stored as a count, a rate as a rate, with the agent's interval.
    let contexts = s.store.metric_contexts("v2.requests").unwrap();
    assert_eq!((contexts[0].kind.name(), contexts[0].interval), ("count", Some(10)));
    let contexts = s.store.metric_contexts("v2.bytes_in").unwrap();
    assert_eq!((contexts[0].kind.name(), contexts[0].host.as_str()), ("rate", "web-1"));

    // The same with deflate, as the agent sends when zstd is off; the new point is added.
    let more = MetricPayload {
        series: vec![agent_series(
            "v2.mem.used",
            MetricType::Gauge,
            &[(t + 120, 175.0)],
            &["env:prod"],
        )],
    };
    let (status, _) = post(
        &s,
        "application/x-protobuf",
        Some("deflate"),
        deflate(&more.encode_to_vec()),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(
        query(&s, "max:v2.mem.used{host:web-1}").await,
        json!({"host:web-1": [[ms(t), 100.0], [ms(t + 60), 150.0], [ms(t + 120), 175.0]]})
    );
}

#[tokio::test]
async fn the_json_form_of_datadogs_clients_is_stored_and_answered_with_no_errors() {
    let s = common::start(LIMIT).await;
    let t = minute_ago();
    let body = json!({"series": [{
        "metric": "v2.json.temperature",
        "type": 3,
        "points": [{"timestamp": t, "value": 21.5}, {"timestamp": t + 60, "value": 22.0}],
        "resources": [{"name": "json-host", "type": "host"}],
        "tags": ["env:json"],
        "unit": "degree",
        "interval": 10,
        "metadata": {"origin": {"product": 1, "service": 2, "metric_type": 3}},
        "a_field_from_a_newer_client": {"x": 1}
    }]});
    // Compressed as the client's `content_encoding=ZSTD1` does: zstd, named `zstd1`.
    let (status, answer) = post(&s, "application/json", Some("zstd1"), zstd(body.to_string().as_bytes())).await;
    assert_eq!((status, answer), (202, json!({"errors": []})));
    assert_eq!(
        query(&s, "avg:v2.json.temperature{host:json-host}").await,
        json!({"host:json-host": [[ms(t), 21.5], [ms(t + 60), 22.0]]})
    );
    // Bad JSON names the byte offset; a bad type names the series.
    let (status, answer) = post(&s, "application/json", None, br#"{"series": [{"metric": 1}]}"#.to_vec()).await;
    assert_eq!(status, 400);
    assert!(
        answer["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("invalid series payload at byte "),
        "{answer}"
    );
    let bad = json!({"series": [{"metric": "v2.json.bad", "type": 9, "points": [{"timestamp": t, "value": 1.0}]}]});
    let (status, answer) = post(&s, "application/json", None, bad.to_string().into_bytes()).await;
    assert_eq!(status, 400);
    assert!(
        answer["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("series[0] (\"v2.json.bad\"): type 9"),
        "{answer}"
    );
}

/// A newer agent's messages: the known fields plus ones this server does not know.
#[derive(Clone, PartialEq, prost::Message)]
struct FuturePayload {
    #[prost(message, repeated, tag = "1")]
    series: Vec<FutureSeries>,
    #[prost(string, tag = "15")]
    something_new: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct FutureSeries {
    #[prost(message, repeated, tag = "1")]
    resources: Vec<Resource>,
    #[prost(string, tag = "2")]
    metric: String,
    #[prost(message, repeated, tag = "4")]
    points: Vec<MetricPoint>,
    #[prost(int32, tag = "5")]
    r#type: i32,
    #[prost(fixed64, tag = "20")]
    new_number: u64,
    #[prost(bytes = "vec", tag = "21")]
    new_bytes: Vec<u8>,
}

#[tokio::test]
async fn unknown_protobuf_fields_are_ignored() {
    let s = common::start(LIMIT).await;
    let t = minute_ago();
    let payload = FuturePayload {
        series: vec![FutureSeries {
            resources: vec![host("future-1")],
            metric: "v2.future".into(),
            points: vec![MetricPoint {
                value: 3.0,
                timestamp: t,
            }],
            r#type: MetricType::Gauge as i32,
            new_number: 42,
            new_bytes: vec![1, 2, 3],
        }],
        something_new: "hello".into(),
    };
    let (status, _) = post(&s, "application/x-protobuf", None, payload.encode_to_vec()).await;
    assert_eq!(status, 202);
    assert_eq!(query(&s, "avg:v2.future{*}").await, json!({"*": [[ms(t), 3.0]]}));
}

#[tokio::test]
async fn a_protobuf_that_does_not_decode_is_a_400_naming_the_message_and_offset_and_stores_nothing() {
    let s = common::start(LIMIT).await;
    let t = minute_ago();
    let payload = MetricPayload {
        series: vec![
            agent_series("v2.cut.a", MetricType::Gauge, &[(t, 1.0)], &[]),
            agent_series("v2.cut.b", MetricType::Gauge, &[(t, 2.0)], &[]),
        ],
    };
    let body = payload.encode_to_vec();
    let cut = body[..body.len() - 4].to_vec();
    let (status, answer) = post(&s, "application/x-protobuf", Some("zstd"), zstd(&cut)).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["errors"][0].as_str().unwrap();
    assert!(
        message.starts_with("invalid MetricPayload protobuf at byte "),
        "{message}"
    );
    let offset: usize = message["invalid MetricPayload protobuf at byte ".len()..]
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        offset > body.len() / 2 && offset <= cut.len(),
        "offset {offset} of {} bytes",
        cut.len()
    );
    assert!(message.contains("MetricPayload.series"), "{message}");
    // The first series decoded whole before the failure; it is not stored either.
    assert!(s.store.metric_contexts("v2.cut.a").unwrap().is_empty());

    // A series the server cannot store (NaN) refuses the payload: the good one beside it too.
    let mut bad = agent_series("v2.nan", MetricType::Gauge, &[(t, f64::NAN)], &[]);
    bad.resources.clear();
    let payload = MetricPayload {
        series: vec![agent_series("v2.good", MetricType::Gauge, &[(t, 1.0)], &[]), bad],
    };
    let (status, answer) = post(&s, "application/x-protobuf", None, payload.encode_to_vec()).await;
    assert_eq!(status, 400);
    assert!(
        answer["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("series[1] (\"v2.nan\"): points[0]"),
        "{answer}"
    );
    assert!(s.store.metric_contexts("v2.good").unwrap().is_empty());
}

#[tokio::test]
async fn a_payload_over_the_limit_is_a_413_and_stores_nothing() {
    let s = common::start(LIMIT).await;
    let t = minute_ago();
    let points: Vec<(i64, f64)> = (0..(LIMIT as i64 / 8)).map(|i| (t - i, i as f64)).collect();
    let payload = MetricPayload {
        series: vec![agent_series("v2.big", MetricType::Gauge, &points, &[])],
    };
    let body = payload.encode_to_vec();
    assert!(body.len() > LIMIT);
    let (status, _) = post(&s, "application/x-protobuf", None, body.clone()).await;
    assert_eq!(status, 413);
    // Compressed under the limit, but past it once decompressed: 413 as well.
    let compressed = zstd(&body);
    assert!(compressed.len() < LIMIT);
    let (status, _) = post(&s, "application/x-protobuf", Some("zstd"), compressed).await;
    assert_eq!(status, 413);
    assert!(s.store.metric_contexts("v2.big").unwrap().is_empty());
}

#[tokio::test]
async fn a_series_unit_becomes_the_metric_metadata_unit_unless_a_user_set_one() {
    let s = common::start(LIMIT).await;
    let t = minute_ago();
    let metadata = |metric: &'static str| {
        let url = format!("{}/api/v1/metrics/{metric}", s.base);
        async move {
            let response = common::client().get(url).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    // Protobuf, as Agent 7 sends it: the unit "byte" is kept as the metadata unit.
    let payload = MetricPayload {
        series: vec![
            agent_series("v2.unit.mem", MetricType::Gauge, &[(t, 1.0)], &["a:1"]),
            MetricSeries {
                unit: "kibibyte".into(),
                ..agent_series("v2.unit.mem", MetricType::Gauge, &[(t, 2.0)], &["a:2"])
            },
            MetricSeries {
                unit: String::new(),
                ..agent_series("v2.unit.none", MetricType::Gauge, &[(t, 2.0)], &[])
            },
            MetricSeries {
                unit: "not a unit!".into(),
                ..agent_series("v2.unit.bad", MetricType::Gauge, &[(t, 2.0)], &[])
            },
        ],
    };
    let (status, _) = post(
        &s,
        "application/x-protobuf",
        Some("zstd"),
        zstd(&payload.encode_to_vec()),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(
        metadata("v2.unit.mem").await,
        json!({"type": "gauge", "unit": "byte", "statsd_interval": 10})
    );
    assert_eq!(metadata("v2.unit.none").await.get("unit"), None);
    assert_eq!(metadata("v2.unit.bad").await.get("unit"), None);

    // The JSON form of Datadog's clients does the same.
    let body = json!({"series": [{"metric": "v2.unit.json", "type": 3, "unit": "request",
        "points": [{"timestamp": t, "value": 1.0}]}]});
    let (status, _) = post(&s, "application/json", None, body.to_string().into_bytes()).await;
    assert_eq!(status, 202);
    assert_eq!(metadata("v2.unit.json").await["unit"], "request");

    // A unit a user set with PUT wins over what later payloads say; the other fields stay.
    let put = common::client()
        .put(format!("{}/api/v1/metrics/v2.unit.mem", s.base))
        .json(&json!({"unit": "megabyte", "description": "Memory in use"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 200);
    let (status, _) = post(&s, "application/x-protobuf", None, payload.encode_to_vec()).await;
    assert_eq!(status, 202);
    let now = metadata("v2.unit.mem").await;
    assert_eq!(
        (now["unit"].as_str(), now["description"].as_str()),
        (Some("megabyte"), Some("Memory in use"))
    );
}
