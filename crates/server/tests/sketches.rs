//! `POST /api/beta/sketches` as a stock Datadog Agent sends it, over real HTTP against a real
//! store: a `SketchPayload` encoded with prost from agent-payload's messages (every field of
//! `Sketch`, its deprecated `distributions` and `metadata` too), bins keyed by the Go agent's
//! mapping (bins split as it splits them), read back through `/api/v1/query` percentiles; beside
//! it the same values keyed as dogwatch's own agent keys them (libdd-ddsketch). The two
//! mappings are the same bins (γ = 1.015625, 1e-9 in bin 1), so both read back alike.

mod common;

use prost::Message;
use serde_json::Value;

/// agent-payload's `SketchPayload` (proto/metrics/agent_payload.proto), whole.
#[derive(Clone, PartialEq, prost::Message)]
struct StockSketchPayload {
    #[prost(message, repeated, tag = "1")]
    sketches: Vec<StockSketch>,
    #[prost(message, optional, tag = "2")]
    metadata: Option<CommonMetadata>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CommonMetadata {
    #[prost(string, tag = "1")]
    agent_version: String,
    #[prost(string, tag = "2")]
    timezone: String,
    #[prost(double, tag = "3")]
    current_epoch: f64,
    #[prost(string, tag = "4")]
    internal_ip: String,
    #[prost(string, tag = "5")]
    public_ip: String,
    #[prost(string, tag = "6")]
    api_key: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct StockSketch {
    #[prost(string, tag = "1")]
    metric: String,
    #[prost(string, tag = "2")]
    host: String,
    #[prost(message, repeated, tag = "3")]
    distributions: Vec<Distribution>,
    #[prost(string, repeated, tag = "4")]
    tags: Vec<String>,
    #[prost(message, repeated, tag = "7")]
    dogsketches: Vec<StockDogsketch>,
    #[prost(message, optional, tag = "8")]
    metadata: Option<Metadata>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Distribution {
    #[prost(int64, tag = "1")]
    ts: i64,
    #[prost(int64, tag = "2")]
    cnt: i64,
    #[prost(double, tag = "3")]
    min: f64,
    #[prost(double, tag = "4")]
    max: f64,
    #[prost(double, tag = "5")]
    avg: f64,
    #[prost(double, tag = "6")]
    sum: f64,
    #[prost(double, repeated, tag = "7")]
    v: Vec<f64>,
    #[prost(uint32, repeated, tag = "8")]
    g: Vec<u32>,
    #[prost(uint32, repeated, tag = "9")]
    delta: Vec<u32>,
    #[prost(double, repeated, tag = "10")]
    buf: Vec<f64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct StockDogsketch {
    #[prost(int64, tag = "1")]
    ts: i64,
    #[prost(int64, tag = "2")]
    cnt: i64,
    #[prost(double, tag = "3")]
    min: f64,
    #[prost(double, tag = "4")]
    max: f64,
    #[prost(double, tag = "5")]
    avg: f64,
    #[prost(double, tag = "6")]
    sum: f64,
    #[prost(sint32, repeated, tag = "7")]
    k: Vec<i32>,
    #[prost(uint32, repeated, tag = "8")]
    n: Vec<u32>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Metadata {
    #[prost(message, optional, tag = "1")]
    origin: Option<Origin>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Origin {
    #[prost(uint32, tag = "4")]
    origin_product: u32,
    #[prost(uint32, tag = "5")]
    origin_category: u32,
    #[prost(uint32, tag = "6")]
    origin_service: u32,
}

/// Keys and counts by the Go agent's `pkg/quantile` formula: round half to even of
/// log_1.015625(|v|), plus the bias 1338 that gives 1e-9 key 1; negative for negative values.
fn go_agent_bins(values: &[f64]) -> (Vec<i32>, Vec<u32>) {
    let mut bins = std::collections::BTreeMap::<i32, u32>::new();
    for &v in values {
        let key = if v.abs() < 1e-9 {
            0
        } else {
            (v.abs().ln() / (2.0f64 / 128.0).ln_1p()).round_ties_even() as i32 + 1338
        };
        *bins.entry(if v < 0.0 { -key } else { key }).or_default() += 1;
    }
    // The Go agent splits a bin whose count passes its uint16 into several of the same key;
    // split every bin of two or more in two here, so the server must add them up.
    let (mut keys, mut counts) = (Vec::new(), Vec::new());
    for (k, n) in bins {
        for part in [n / 2, n - n / 2].into_iter().filter(|p| *p > 0) {
            keys.push(k);
            counts.push(part);
        }
    }
    (keys, counts)
}

/// Keys and counts as dogwatch's own agent makes them (libdd-ddsketch's default mapping, the
/// positive store's contiguous bins); positive values only.
fn libdd_bins(values: &[f64]) -> (Vec<i32>, Vec<u32>) {
    let mut sketch = libdd_ddsketch::DDSketch::default();
    for &v in values {
        sketch.add(v).unwrap();
    }
    let store = sketch.into_pb().positive_values.unwrap();
    let mut keys = Vec::new();
    let mut counts = Vec::new();
    for (i, count) in store.contiguous_bin_counts.iter().enumerate() {
        if *count > 0.0 {
            keys.push(store.contiguous_bin_index_offset + i as i32);
            counts.push(*count as u32);
        }
    }
    (keys, counts)
}

fn payload(metric: &str, ts: i64, values: &[f64], (k, n): (Vec<i32>, Vec<u32>)) -> Vec<u8> {
    let sum: f64 = values.iter().sum();
    StockSketchPayload {
        sketches: vec![StockSketch {
            metric: metric.into(),
            host: "stock-1".into(),
            distributions: Vec::new(),
            tags: vec!["env:prod".into()],
            dogsketches: vec![StockDogsketch {
                ts,
                cnt: values.len() as i64,
                min: values.iter().copied().fold(f64::INFINITY, f64::min),
                max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                avg: sum / values.len() as f64,
                sum,
                k,
                n,
            }],
            metadata: Some(Metadata {
                origin: Some(Origin {
                    origin_product: 10,
                    origin_category: 10,
                    origin_service: 0,
                }),
            }),
        }],
        metadata: Some(CommonMetadata {
            agent_version: "7.60.0".into(),
            ..Default::default()
        }),
    }
    .encode_to_vec()
}

async fn post(s: &common::Running, user_agent: &str, body: Vec<u8>) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/api/beta/sketches", s.base))
        .header("DD-API-KEY", common::KEY)
        .header("Content-Type", "application/x-protobuf")
        .header("User-Agent", user_agent)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The single value `aggregator:metric{*}` answers over the last hour.
async fn value(s: &common::Running, aggregator: &str, metric: &str) -> f64 {
    let t = dogwatch_server::now_ms() / 1000;
    let answer: Value = common::client()
        .get(format!("{}/api/v1/query", s.base))
        .query(&[
            ("from", (t - 3600).to_string()),
            ("to", (t + 60).to_string()),
            ("query", format!("{aggregator}:{metric}{{*}}")),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let points = answer["series"][0]["pointlist"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"));
    assert_eq!(points.len(), 1, "{answer}");
    points[0][1].as_f64().unwrap()
}

#[tokio::test]
async fn a_stock_agents_sketch_reads_back_the_same_percentiles_as_dogwatchs_own() {
    let s = common::start(dogwatch_server::DEFAULT_MAX_BODY_BYTES).await;
    let ts = dogwatch_server::now_ms() / 1000 / 60 * 60 - 300;
    // Request latencies in ms: 1..=2000, spread over four orders of magnitude.
    let values: Vec<f64> = (1..=2000).map(|i| f64::from(i) * 0.5).collect();
    let (k, n) = go_agent_bins(&values);
    assert!(k.windows(2).any(|w| w[0] == w[1]), "some bins are split");
    let stock = payload("stock.latency", ts, &values, (k, n));
    assert_eq!(post(&s, "datadog-agent/7.60.0", stock).await, 202);
    let own = payload("own.latency", ts, &values, libdd_bins(&values));
    assert_eq!(post(&s, "dogwatch-agent/0.1.0", own).await, 202);
    for (aggregator, exact) in [("p50", 500.0), ("p90", 900.0), ("p99", 990.0), ("max", 1000.0)] {
        let stock = value(&s, aggregator, "stock.latency").await;
        let own = value(&s, aggregator, "own.latency").await;
        assert!(
            (stock - exact).abs() <= exact * 0.01,
            "{aggregator} of the stock agent's: {stock} vs {exact}"
        );
        assert_eq!(stock, own, "{aggregator}: the same bins");
        assert!(
            (own - exact).abs() <= exact * 0.01,
            "{aggregator} of dogwatch's: {own} vs {exact}"
        );
    }
    assert_eq!(value(&s, "count", "stock.latency").await, 2000.0);
}
