//! DogStatsD benchmark: metric samples per second on one core, parsed and aggregated (10 s
//! buckets, context lookup, histogram and distribution accumulators, and the flushes that turn
//! closed buckets into series and sketches), over datagrams shaped like a busy service's: 1,000
//! contexts with 4 tags each, 60 % counters, 20 % gauges, 10 % timings, 10 % distributions,
//! some with sample rates. Two datagram shapes: one line each (a plain StatsD client) and
//! ~1.4 KB of lines each (Datadog's clients buffer lines up to their packet size).
//! The goal (DESIGN.md): over 1,000,000 samples/s on one core.
//!
//! Run: `cargo bench -p dogwatch-agent --bench dogstatsd` (add `-- --seconds N`).

use std::time::{Duration, Instant};

use dogwatch_agent::dogstatsd::aggregate::{Aggregator, AggregatorSettings, HistogramAggregate};

#[path = "support/cpu.rs"]
mod cpu;
use cpu::thread_cpu_ns;

// The allocator the dogwatch binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Line `i` of the workload.
fn line(i: usize) -> String {
    let context = i % 1000;
    let tags = format!(
        "#env:prod,service:svc{},endpoint:/api/v1/items/{},host_group:g{}",
        context % 7,
        context % 50,
        context % 10
    );
    match i % 10 {
        0..=5 => format!("app.requests.c{}:1|c|{tags}", context % 20),
        6 | 7 => format!("app.queue.depth.g{}:{}|g|{tags}", context % 20, i % 300),
        8 => format!("app.latency.t{}:{}.{}|ms|@0.5|{tags}", context % 20, i % 250, i % 10),
        _ => format!("app.payload.d{}:{}|d|{tags}", context % 20, (i * 37) % 5000),
    }
}

/// Datagrams of up to `max_bytes` of lines each, covering 20,000 lines.
fn datagrams(max_bytes: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for i in 0..20_000 {
        let l = line(i);
        if !current.is_empty() && current.len() + l.len() + 1 > max_bytes {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(b'\n');
        }
        current.extend_from_slice(l.as_bytes());
    }
    out.push(current);
    out
}

fn run(name: &str, datagrams: &[Vec<u8>], seconds: u64) {
    let mut aggregator = Aggregator::new(AggregatorSettings {
        hostname: "bench".into(),
        extra_tags: Vec::new(),
        expiry_seconds: 300,
        context_limit: 200_000,
        histogram_aggregates: ["max", "median", "avg", "count"]
            .into_iter()
            .filter_map(HistogramAggregate::from_name)
            .collect(),
        histogram_percentiles: vec![0.95],
    });
    let lines_per_pass: usize = datagrams.iter().map(|d| d.split(|b| *b == b'\n').count()).sum();
    let started = Instant::now();
    let cpu_started = thread_cpu_ns();
    // A simulated clock: one second per pass, a flush every 10 s, so buckets close and flush
    // as they would in the agent.
    let mut now = 1_700_000_000i64;
    let (mut samples, mut series, mut sketches) = (0u64, 0u64, 0u64);
    while started.elapsed() < Duration::from_secs(seconds) {
        for d in datagrams {
            aggregator.add_datagram(d, now);
        }
        samples += lines_per_pass as u64;
        now += 1;
        if now % 10 == 0 {
            let flushed = aggregator.flush(now, false);
            series += flushed.series.len() as u64;
            sketches += flushed.sketches.len() as u64;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = (thread_cpu_ns() - cpu_started) as f64 / 1e9;
    let rate = samples as f64 / cpu;
    println!("dogstatsd parse + aggregate + flush, one thread, {name}:");
    println!(
        "  {samples} samples in {} datagrams per pass, {elapsed:.2} s wall, {cpu:.2} s on CPU; flushed {series} series, {sketches} sketches",
        datagrams.len()
    );
    println!(
        "  {rate:.0} samples per CPU-second (one core), {:.0} ns per sample; goal 1,000,000: {:.2}×",
        1e9 / rate,
        rate / 1e6
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    run("one line per datagram", &datagrams(1), seconds);
    run("lines batched into 1,432-byte datagrams", &datagrams(1432), seconds);
}
