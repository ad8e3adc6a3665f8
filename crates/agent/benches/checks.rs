//! Core checks benchmark: CPU-µs per run of each of Datadog's core system checks on this
//! machine's real `/proc` and `/sys`, including the sender's commit (rates, tags, series), i.e.
//! everything the agent does for a check run except forwarding. Each check runs once to warm
//! up (rates need a previous sample), then repeatedly for the given time.
//! The side-by-side figure against collectd is `bench/checks_vs_collectd.sh`.
//!
//! Run: `cargo bench -p dogwatch-agent --bench checks` (add `-- --seconds N`).

use std::time::{Duration, Instant};

use dogwatch_agent::checks::confd::ConfdContents;
use dogwatch_agent::checks::runner::{RunnerSettings, run_once};
use dogwatch_agent::checks::{CORE_CHECKS, plan};
use dogwatch_agent::dogstatsd::aggregate::HistogramAggregate;
use dogwatch_agent::process::HostPaths;

#[path = "support/cpu.rs"]
mod cpu;
use cpu::thread_cpu_ns;

// The allocator the dogwatch binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: f64 = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let settings = RunnerSettings {
        hostname: "bench".into(),
        host_tags: vec!["env:bench".into()],
        histogram_aggregates: vec![HistogramAggregate::Max, HistogramAggregate::Avg],
        histogram_percentiles: vec![0.95],
        agent_up_interval: Duration::from_secs(15),
    };
    let plan = plan(
        &ConfdContents::default(),
        &HostPaths::under(std::path::Path::new("/")),
        true,
    );
    assert_eq!(plan.instances.len(), CORE_CHECKS.len());
    println!("core checks on this machine, one thread, CPU time per run (run + commit):");
    let mut total_us = 0.0;
    for mut instance in plan.instances {
        let mut sender = settings.sender_for(&instance);
        let warm = run_once(instance.check.as_mut(), &mut sender);
        if let Err(e) = warm.result {
            panic!("{} failed: {e}", instance.name);
        }
        let (mut runs, mut samples) = (0u64, 0usize);
        let started = Instant::now();
        let cpu_started = thread_cpu_ns();
        while started.elapsed().as_secs_f64() < seconds {
            let outcome = run_once(instance.check.as_mut(), &mut sender);
            samples = outcome.result.map(|o| o.series.len()).unwrap_or(0);
            runs += 1;
        }
        let us = (thread_cpu_ns() - cpu_started) as f64 / 1e3 / runs as f64;
        total_us += us;
        println!(
            "  {:<12} {us:>8.1} µs per run, {samples:>4} series per run ({runs} runs)",
            instance.name
        );
    }
    println!(
        "  all {} checks: {total_us:.1} µs per round; at Datadog's 15 s interval that is {:.4} % of a core",
        CORE_CHECKS.len(),
        total_us / 15e6 * 100.0
    );
}
