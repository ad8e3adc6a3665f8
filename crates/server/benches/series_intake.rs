//! Series intake on one core: `/api/v2/series` protobuf (`MetricPayload`, what the Datadog
//! Agent 7 sends) side by side with today's `/api/v1/series` JSON, the same points in both.
//!
//! 1. decode + check + convert to the stored form (the handlers' `v2_series` / `v1_series`),
//!    in points per CPU-second of the bench's thread;
//! 2. end to end against the embedded SQLite store: the same, then one ingest transaction per
//!    payload.
//!
//! Two payload shapes: an agent flush (1,000 series of one point each: host resource, 4 tags)
//! and a backfill (100 series of 10 points). Bodies are measured uncompressed: both routes share
//! the decompression layer (the compressed sizes are printed).
//!
//! Run: `cargo bench -p dogwatch-server --bench series_intake` (add `-- --seconds N`, CPU
//! seconds per measurement, default 3).

use std::time::Instant;

use dogwatch_model::series_v2::{Metadata, MetricPayload, MetricPoint, MetricSeries, MetricType, Origin, Resource};
use dogwatch_model::{MetricKind, Series, SeriesPayload};
use dogwatch_server::metrics::intake::{v1_series, v2_series};
use dogwatch_store::{IntakeBatch, Records, SqliteStore, Store};
use prost::Message;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Nanoseconds this thread has run on a CPU (`/proc/thread-self/schedstat`), so other work on
/// the machine does not count.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

struct Shape {
    name: &'static str,
    series: usize,
    points: usize,
}

/// The same points as v1 JSON and as a v2 protobuf, starting at `t0`.
fn bodies(shape: &Shape, t0: i64) -> (Vec<u8>, Vec<u8>) {
    let mut v1 = Vec::new();
    let mut v2 = Vec::new();
    for i in 0..shape.series {
        let metric = format!("system.bench.metric_{}", i % 200);
        let host = format!("host-{}", i % 7);
        let tags = vec![
            "env:prod".to_string(),
            format!("device:sd{}", i % 4),
            format!("service:svc-{}", i / 200),
            "team:observability".to_string(),
        ];
        let points: Vec<(i64, f64)> = (0..shape.points)
            .map(|p| (t0 + 10 * p as i64, (i * 31 + p) as f64 * 0.25))
            .collect();
        v1.push(Series {
            metric: metric.clone(),
            points: points.iter().map(|&(t, v)| (t as f64, v)).collect(),
            kind: MetricKind::Gauge,
            interval: Some(10),
            host: Some(host.clone()),
            tags: tags.clone(),
        });
        v2.push(MetricSeries {
            resources: vec![Resource {
                r#type: "host".into(),
                name: host,
            }],
            metric,
            tags,
            points: points
                .iter()
                .map(|&(timestamp, value)| MetricPoint { value, timestamp })
                .collect(),
            r#type: MetricType::Gauge as i32,
            unit: String::new(),
            source_type_name: "System".into(),
            interval: 10,
            metadata: Some(Metadata {
                origin: Some(Origin {
                    origin_product: 10,
                    origin_category: 11,
                    origin_service: 0,
                }),
            }),
        });
    }
    (
        serde_json::to_vec(&SeriesPayload { series: v1 }).unwrap(),
        MetricPayload { series: v2 }.encode_to_vec(),
    )
}

/// Runs `f` until `seconds` of CPU time have passed; points per CPU-second.
fn rate(seconds: f64, points_per_call: usize, mut f: impl FnMut(u64)) -> f64 {
    let (start, wall) = (cpu_ns(), Instant::now());
    let mut calls = 0u64;
    while (cpu_ns() - start) as f64 / 1e9 < seconds && wall.elapsed().as_secs_f64() < seconds * 20.0 {
        f(calls);
        calls += 1;
    }
    let cpu = ((cpu_ns() - start) as f64 / 1e9).max(1e-9);
    (calls as usize * points_per_call) as f64 / cpu
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: f64 = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let t0 = dogwatch_server::now_ms() / 1000 - 86_400;
    let shapes = [
        Shape {
            name: "agent flush: 1000 series x 1 point",
            series: 1000,
            points: 1,
        },
        Shape {
            name: "backfill: 100 series x 10 points",
            series: 100,
            points: 10,
        },
    ];
    for shape in &shapes {
        let points = shape.series * shape.points;
        let (json, proto) = bodies(shape, t0);
        assert_eq!(
            v1_series(&json).unwrap(),
            v2_series(Some("application/x-protobuf"), &proto).unwrap().0
        );
        let zstd_size = |b: &[u8]| zstd::encode_all(b, 1).unwrap().len();
        println!(
            "{} ({points} points): v1 JSON {} bytes ({} zstd), v2 protobuf {} bytes ({} zstd)",
            shape.name,
            json.len(),
            zstd_size(&json),
            proto.len(),
            zstd_size(&proto)
        );
        let v1 = rate(seconds, points, |_| {
            std::hint::black_box(v1_series(&json).unwrap());
        });
        let v2 = rate(seconds, points, |_| {
            std::hint::black_box(v2_series(Some("application/x-protobuf"), &proto).unwrap().0);
        });
        println!(
            "  decode + convert:  v1 JSON {v1:>12.0} points/s   v2 protobuf {v2:>12.0} points/s   ratio {:.2}x",
            v2 / v1
        );

        // Each in its own new store, each payload's points a step later so that every ingest
        // writes new rows.
        let step = 10 * shape.points as i64;
        let end_to_end = |decode: &dyn Fn() -> Vec<Series>| {
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(&dir.path().join("dogwatch.db")).unwrap();
            rate(seconds, points, |n| {
                let mut records = decode();
                for series in &mut records {
                    for p in &mut series.points {
                        p.0 += (n as i64 * step) as f64;
                    }
                }
                store
                    .ingest(IntakeBatch {
                        payload_id: None,
                        received_at_ms: n as i64,
                        records: Records::Series(records),
                    })
                    .unwrap();
            })
        };
        let v1 = end_to_end(&|| v1_series(&json).unwrap());
        let v2 = end_to_end(&|| v2_series(Some("application/x-protobuf"), &proto).unwrap().0);
        println!(
            "  end to end (SQLite): v1 JSON {v1:>10.0} points/s   v2 protobuf {v2:>12.0} points/s   ratio {:.2}x",
            v2 / v1
        );
    }
}
