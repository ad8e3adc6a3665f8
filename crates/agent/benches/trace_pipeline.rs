//! Trace intake benchmark: spans per second on one core for decode + normalize + top-level +
//! obfuscate + sampling + APM stats, over v0.4 msgpack bodies shaped like a web service's
//! traces (a request span, SQL and cache calls, a downstream HTTP call; ~10 tags per span).
//! The anchor is the Go trace agent's published sizing: 58,000 spans/s on one core.
//!
//! Run: `cargo bench -p dogwatch-agent --bench trace_pipeline` (add `-- --seconds N`).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use dogwatch_agent::apm::decode::{TraceVersion, decode_traces};
use dogwatch_agent::apm::pipeline::{PipelineSettings, TracerFlags, TracerInfo, process};
use dogwatch_agent::apm::sampler::Sampler;
use dogwatch_agent::apm::stats::Concentrator;

#[path = "support/cpu.rs"]
mod cpu;
use cpu::thread_cpu_ns;

// The allocator the dogwatch binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(serde::Serialize)]
struct Span {
    service: &'static str,
    name: &'static str,
    resource: String,
    trace_id: u64,
    span_id: u64,
    parent_id: u64,
    start: i64,
    duration: i64,
    error: i32,
    meta: HashMap<&'static str, String>,
    metrics: HashMap<&'static str, f64>,
    r#type: &'static str,
}

/// One body of `traces` traces of 10 spans each.
fn body(traces: u64, seed: u64) -> Vec<u8> {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    let mut all = Vec::new();
    for t in 0..traces {
        let trace_id = seed * 1_000_000 + t + 1;
        let mut spans = Vec::new();
        for i in 0..10u64 {
            let (service, name, kind, resource) = match i {
                0 => ("web", "flask.request", "web", format!("GET /users/{}", t % 20)),
                1..=4 => (
                    "postgres",
                    "postgres.query",
                    "sql",
                    format!("SELECT * FROM users WHERE id = {} AND org = 'acme'", t + i),
                ),
                5..=7 => ("redis", "redis.command", "redis", format!("GET session:{t}")),
                _ => ("web", "requests.request", "http", "GET /billing".to_string()),
            };
            let mut meta: HashMap<&'static str, String> = HashMap::new();
            meta.insert("env", "prod".into());
            meta.insert("version", "1.4.2".into());
            meta.insert("component", name.split('.').next().unwrap().into());
            meta.insert("runtime-id", "4c5f0a8f9e1d4b8a9d0e3f1a2b3c4d5e".into());
            meta.insert("_dd.p.dm", "-0".into());
            meta.insert("span.kind", if i == 0 { "server" } else { "client" }.into());
            meta.insert("http.method", "GET".into());
            meta.insert("http.url", format!("http://web:8080/users/{t}?token=abc"));
            meta.insert("http.status_code", "200".into());
            meta.insert("out.host", "db.internal".into());
            let mut metrics: HashMap<&'static str, f64> = HashMap::new();
            metrics.insert("_sampling_priority_v1", 1.0);
            metrics.insert("process_id", 4242.0);
            metrics.insert("_dd.measured", if i == 0 { 0.0 } else { 1.0 });
            spans.push(Span {
                service,
                name,
                resource,
                trace_id,
                span_id: trace_id * 100 + i + 1,
                parent_id: if i == 0 { 0 } else { trace_id * 100 + 1 },
                start: now + i as i64 * 1000,
                duration: 1_000_000 - i as i64 * 1000,
                error: i32::from(t % 50 == 0 && i == 0),
                meta,
                metrics,
                r#type: kind,
            });
        }
        all.push(spans);
    }
    rmp_serde::to_vec_named(&all).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let bodies: Vec<Vec<u8>> = (0..8).map(|seed| body(100, seed)).collect();
    let settings = PipelineSettings {
        hostname: "bench".into(),
        default_env: "prod".into(),
        obfuscation: Default::default(),
    };
    let tracer = TracerInfo {
        lang: "python".into(),
        ..Default::default()
    };
    let mut sampler = Sampler::new(10.0, 10.0, Instant::now());
    let mut concentrator = Concentrator::new(SystemTime::now());
    let mut spans = 0u64;
    let mut kept = 0u64;
    let mut bytes = 0u64;
    let started = Instant::now();
    let cpu_started = thread_cpu_ns();
    let mut i = 0;
    while started.elapsed() < Duration::from_secs(seconds) {
        let body = &bodies[i % bodies.len()];
        i += 1;
        let traces = decode_traces(TraceVersion::V04, "application/msgpack", body).unwrap();
        let outcome = process(
            traces,
            &tracer,
            TracerFlags::default(),
            &settings,
            &mut sampler,
            &mut concentrator,
            Instant::now(),
        );
        spans += outcome.spans;
        kept += outcome.payload.chunks.iter().map(|c| c.spans.len() as u64).sum::<u64>();
        bytes += body.len() as u64;
        if i % 64 == 0 {
            let _ = concentrator.flush(SystemTime::now() + Duration::from_secs(20), false, "bench");
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = (thread_cpu_ns() - cpu_started) as f64 / 1e9;
    let wall_rate = spans as f64 / elapsed;
    let rate = spans as f64 / cpu;
    println!("trace pipeline (decode v0.4 msgpack + normalize + top-level + obfuscate + sample + stats), one thread:");
    println!(
        "  {spans} spans ({kept} kept) from {:.1} MiB in {elapsed:.2} s wall, {cpu:.2} s on CPU",
        bytes as f64 / 1048576.0
    );
    println!(
        "  {rate:.0} spans per CPU-second (one core), {:.2} µs per span; {wall_rate:.0} spans/s wall",
        1e6 / rate
    );
    println!(
        "  goal 200,000 spans/s: {:.2}×; Go trace agent's sizing 58,000 spans/s/core: {:.2}×",
        rate / 200_000.0,
        rate / 58_000.0
    );
}
