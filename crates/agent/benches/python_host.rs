//! Python check host benchmark: the CPU per run of a trivial Python check (one gauge) in the
//! Python check host, split into the agent's side (this process: the run, the pipe, the
//! reader thread, the sender's commit) and the host's side (the Python process), and the
//! host's RSS; beside the same figures for the Rust `uptime` check as the baseline.
//!
//! Two hosts: Datadog's datadog_checks.base AgentCheck (the venv of
//! scripts/install-tracers.sh) and dogwatch's own `checks.AgentCheck` on the venv's base
//! Python (no datadog_checks).
//!
//! Run: `cargo bench -p dogwatch-agent --bench python_host` (add `-- --runs N`).

use std::path::Path;
use std::time::{Duration, Instant};

use dogwatch_agent::checks::confd::read_confd;
use dogwatch_agent::checks::python::{Loader, PythonSettings};
use dogwatch_agent::checks::runner::{RunnerSettings, run_once};
use dogwatch_agent::checks::{CheckInstance, plan_with_python};
use dogwatch_agent::process::HostPaths;

// The allocator the dogwatch binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BASE_CHECK: &str = "from datadog_checks.base import AgentCheck\n\nclass Trivial(AgentCheck):\n    def check(self, instance):\n        self.gauge('bench.trivial', 1, tags=['a:b'])\n";
const LEGACY_CHECK: &str = "from checks import AgentCheck\n\nclass Trivial(AgentCheck):\n    def check(self, instance):\n        self.gauge('bench.trivial', 1, tags=['a:b'])\n";

/// CPU nanoseconds of every live thread of this process.
fn own_cpu_ns() -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        if let Ok(s) = std::fs::read_to_string(task.path().join("schedstat")) {
            total += s
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

/// utime + stime of `pid` in nanoseconds (clock ticks of 10 ms; threads that ended count too).
fn process_cpu_ns(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return 0;
    };
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 =
        f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0) + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks * 10_000_000
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn settings() -> RunnerSettings {
    RunnerSettings {
        hostname: "bench".into(),
        host_tags: vec!["env:bench".into()],
        histogram_aggregates: vec![],
        histogram_percentiles: vec![0.95],
        agent_up_interval: Duration::from_secs(15),
    }
}

/// Runs `instance` `runs` times; returns (agent CPU-µs, wall µs) per run.
fn measure(instance: &mut CheckInstance, runs: u64) -> (f64, f64) {
    let mut sender = settings().sender_for(instance);
    for _ in 0..20 {
        run_once(instance.check.as_mut(), &mut sender)
            .result
            .expect("warm-up run");
    }
    let (cpu, wall) = (own_cpu_ns(), Instant::now());
    for _ in 0..runs {
        run_once(instance.check.as_mut(), &mut sender).result.expect("run");
    }
    (
        (own_cpu_ns() - cpu) as f64 / 1e3 / runs as f64,
        wall.elapsed().as_secs_f64() * 1e6 / runs as f64,
    )
}

fn python_case(label: &str, python: &str, source: &str, runs: u64) {
    let dir = tempfile::tempdir().unwrap();
    let checksd = dir.path().join("checks.d");
    std::fs::create_dir_all(&checksd).unwrap();
    std::fs::write(checksd.join("trivial.py"), source).unwrap();
    let confd = dir.path().join("conf.d/trivial.d");
    std::fs::create_dir_all(&confd).unwrap();
    std::fs::write(confd.join("conf.yaml"), "instances: [{}]\n").unwrap();
    let loader = Loader::new(PythonSettings {
        interpreter: python.into(),
        checksd: vec![checksd],
        run_path: dir.path().join("run"),
        context: serde_json::json!({"hostname": "bench", "config": {}}),
    });
    let mut plan = plan_with_python(
        &read_confd(&dir.path().join("conf.d")),
        &HostPaths::under(Path::new("/")),
        false,
        Some(&loader),
    );
    assert!(plan.loading_errors.is_empty(), "{:?}", plan.loading_errors);
    let mut instance = plan.instances.remove(0);
    let pid = loader.host().pid().expect("the host runs");
    let host_cpu = process_cpu_ns(pid);
    let (agent_us, wall_us) = measure(&mut instance, runs);
    let host_us = (process_cpu_ns(pid) - host_cpu) as f64 / 1e3 / runs as f64;
    println!(
        "  {label:<44} agent {agent_us:>7.1} µs + host {host_us:>7.1} µs = {:>7.1} CPU-µs per run, {wall_us:>7.1} µs wall; host RSS {:.1} MiB",
        agent_us + host_us,
        rss_kib(pid) as f64 / 1024.0
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: u64 = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tracer-env/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/install-tracers.sh",
        venv.display()
    );
    let venv = venv.display().to_string();
    let out = std::process::Command::new(&venv)
        .args(["-c", "import sys; print(sys._base_executable)"])
        .output()
        .unwrap();
    let plain = String::from_utf8(out.stdout).unwrap().trim().to_string();

    println!("a trivial check (one gauge), {runs} runs back to back, CPU per run:");
    let mut plan = dogwatch_agent::checks::plan(
        &dogwatch_agent::checks::confd::ConfdContents::default(),
        &HostPaths::under(Path::new("/")),
        true,
    );
    let at = plan.instances.iter().position(|i| i.name == "uptime").unwrap();
    let (rust_us, rust_wall) = measure(&mut plan.instances[at], runs);
    println!(
        "  {:<44} agent {rust_us:>7.1} µs (baseline), {rust_wall:>7.1} µs wall",
        "Rust uptime check"
    );
    python_case("datadog_checks.base AgentCheck (38.7.0)", &venv, BASE_CHECK, runs);
    python_case(
        "checks.AgentCheck (dogwatch's, no datadog_checks)",
        &plain,
        LEGACY_CHECK,
        runs,
    );
}
