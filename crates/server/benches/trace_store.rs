//! Span storage benchmark on the embedded SQLite store:
//! 1. sustained ingest: AgentPayloads (100 traces × 10 spans, protobuf) through the server's
//!    intake path — decode, convert, one transaction per payload — in spans per second
//!    (goal ≥ 50,000);
//! 2. trace by id once the store holds `--spans` spans (default 10,000,000): latency of
//!    assembling a random stored trace, p50/p99/max (goal ≤ 10 ms).
//!
//! Run: `cargo bench -p dogwatch-server --bench trace_store` (add `-- --spans N --dir PATH`;
//! 10M spans take about 4 GB in a temporary directory, removed at the end).

use std::time::{Instant, SystemTime};

use dogwatch_model::apm::{self, pb};
use dogwatch_server::apm::intake::span_rows;
use dogwatch_store::{IntakeBatch, Records, SqliteStore, Store};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TRACES_PER_PAYLOAD: u64 = 100;
const SPANS_PER_TRACE: u64 = 10;

/// One encoded AgentPayload whose trace ids start at `first_trace`.
fn payload(first_trace: u64, now: i64) -> Vec<u8> {
    let mut chunks = Vec::new();
    for t in 0..TRACES_PER_PAYLOAD {
        let trace_id = first_trace + t;
        let spans = (0..SPANS_PER_TRACE)
            .map(|i| pb::Span {
                service: if i < 5 { "web".into() } else { "postgres".into() },
                name: if i == 0 {
                    "flask.request".into()
                } else {
                    "postgres.query".into()
                },
                resource: if i == 0 {
                    format!("GET /users/{}", t % 20)
                } else {
                    "SELECT * FROM users WHERE id = ?".into()
                },
                trace_id,
                span_id: trace_id * 16 + i + 1,
                parent_id: if i == 0 { 0 } else { trace_id * 16 + 1 },
                start: now + (trace_id * 1000 + i) as i64,
                duration: 1_000_000,
                error: 0,
                meta: [
                    ("env", "prod"),
                    ("version", "1.4.2"),
                    ("component", "flask"),
                    ("runtime-id", "4c5f0a8f9e1d4b8a9d0e3f1a2b3c4d5e"),
                    ("span.kind", "client"),
                    ("http.method", "GET"),
                    ("http.status_code", "200"),
                    ("out.host", "db.internal"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
                metrics: [
                    ("_sampling_priority_v1", 1.0),
                    ("process_id", 4242.0),
                    ("_top_level", 1.0),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
                r#type: "web".into(),
                ..Default::default()
            })
            .collect();
        chunks.push(pb::TraceChunk {
            priority: 1,
            spans,
            ..Default::default()
        });
    }
    apm::encode_agent_payload(&pb::AgentPayload {
        host_name: "bench".into(),
        env: "prod".into(),
        tracer_payloads: vec![pb::TracerPayload {
            chunks,
            language_name: "python".into(),
            ..Default::default()
        }],
        ..Default::default()
    })
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() {
    let target: u64 = arg("--spans").and_then(|s| s.parse().ok()).unwrap_or(10_000_000);
    let dir = match arg("--dir") {
        Some(path) => tempfile::tempdir_in(path).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let store = SqliteStore::open(&dir.path().join("dogwatch.db")).unwrap();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    let per_payload = TRACES_PER_PAYLOAD * SPANS_PER_TRACE;
    let payloads = target.div_ceil(per_payload);
    println!(
        "span store: {payloads} payloads of {per_payload} spans into {}",
        dir.path().display()
    );
    let started = Instant::now();
    let mut window = (Instant::now(), 0u64);
    let mut rates = Vec::new();
    for p in 0..payloads {
        let body = payload(p * TRACES_PER_PAYLOAD + 1, now);
        let t = Instant::now();
        let rows = span_rows(apm::decode_agent_payload(&body).unwrap());
        store
            .ingest(IntakeBatch {
                payload_id: Some(format!("bench-{p}")),
                received_at_ms: 0,
                records: Records::Spans(rows),
            })
            .unwrap();
        window.1 += per_payload;
        let _ = t;
        if window.0.elapsed().as_secs_f64() >= 10.0 {
            let rate = window.1 as f64 / window.0.elapsed().as_secs_f64();
            rates.push(rate);
            println!(
                "  {:>10} spans stored, last 10 s: {rate:.0} spans/s",
                (p + 1) * per_payload
            );
            window = (Instant::now(), 0);
        }
    }
    let total = payloads * per_payload;
    let elapsed = started.elapsed().as_secs_f64();
    let overall = total as f64 / elapsed;
    let slowest = rates.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "ingest (protobuf decode + rows + SQLite, one writer): {total} spans in {elapsed:.1} s = {overall:.0} spans/s overall; slowest 10 s window {slowest:.0} spans/s"
    );
    println!(
        "  goal 50,000 spans/s: overall {:.2}×, slowest window {:.2}×",
        overall / 50_000.0,
        slowest / 50_000.0
    );

    let traces = payloads * TRACES_PER_PAYLOAD;
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut latencies = Vec::new();
    for _ in 0..2000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let id = seed % traces + 1;
        let t = Instant::now();
        let spans = store.trace_spans(id).unwrap();
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(spans.len() as u64, SPANS_PER_TRACE, "trace {id}");
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "trace by id with {total} spans stored (2000 random traces of {SPANS_PER_TRACE} spans): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        pct(0.5),
        pct(0.99),
        latencies[latencies.len() - 1]
    );
    println!("  goal ≤ 10 ms: p99 {:.3}× of the goal", pct(0.99) / 10.0);
    let size: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    println!(
        "  database size {:.2} GiB ({:.0} bytes per span)",
        size as f64 / (1u64 << 30) as f64,
        size as f64 / total as f64
    );
}
