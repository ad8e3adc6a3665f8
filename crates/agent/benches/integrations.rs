//! The `redisdb` and `postgres` checks: CPU per check run in Rust, and of the same checks
//! written as Python `AgentCheck`s (bench/integrations/*.py, same queries, redis-py and
//! psycopg) run in dogwatch's Python check host, against the same real servers (a
//! redis-server and a PostgreSQL cluster started here on loopback ports, as the tests start
//! them).
//!
//! CPU is what the work costs on every core: for a Rust check, this process's threads; for a
//! Python check, this process's threads (the agent side: request, reply, the sender's commit)
//! plus the Python host process's threads, from `/proc/<pid>/task/*/schedstat`. `noop_check`, an
//! AgentCheck that sends one gauge, gives the host's own cost per run. Each check runs a few
//! times to warm up, then `--runs` times back to back.
//!
//! Run: `bench/integrations_vs_python.sh` (makes the Python environment), or
//! `cargo bench -p dogwatch-agent --bench integrations -- [--runs N] [--python PATH]`; without
//! `--python` only the Rust checks run.

#[path = "../tests/support/services.rs"]
mod services;

use std::path::Path;
use std::time::{Duration, Instant};

use dogwatch_agent::checks::confd::read_confd;
use dogwatch_agent::checks::python::{Loader, PythonSettings};
use dogwatch_agent::checks::runner::{RunnerSettings, run_once};
use dogwatch_agent::checks::{CheckInstance, plan_with_python};
use dogwatch_agent::dogstatsd::aggregate::HistogramAggregate;
use dogwatch_agent::process::HostPaths;
use services::{PostgresServer, RedisServer};

// The allocator the dogwatch binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Nanoseconds every thread of process `pid` ("self" for this one) has run on a CPU.
fn process_cpu_ns(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
        .sum()
}

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

struct Measured {
    cpu_us: f64,
    wall_us: f64,
    series: usize,
}

/// Runs `instance` `runs` times after 3 warm-up runs; CPU of this process plus `host_pid`'s.
fn measure(instance: &mut CheckInstance, runs: u32, host_pid: Option<u32>) -> Measured {
    let settings = RunnerSettings {
        hostname: "bench".into(),
        host_tags: vec![],
        histogram_aggregates: vec![
            HistogramAggregate::Max,
            HistogramAggregate::Median,
            HistogramAggregate::Avg,
            HistogramAggregate::Count,
        ],
        histogram_percentiles: vec![0.95],
        agent_up_interval: Duration::from_secs(15),
    };
    let mut sender = settings.sender_for(instance);
    let mut skipped = 0;
    for i in 0..3 {
        if let Err(e) = run(instance, &mut sender, &mut skipped) {
            panic!("{} failed on warm-up run {i}: {e}", instance.name);
        }
    }
    let host = host_pid.map(|p| p.to_string());
    let cpu = || process_cpu_ns("self") + host.as_deref().map_or(0, process_cpu_ns);
    let started = Instant::now();
    let cpu_started = cpu();
    let mut series = 0;
    for _ in 0..runs {
        match run(instance, &mut sender, &mut skipped) {
            Ok(n) => series = n,
            Err(e) => panic!("{} failed: {e}", instance.name),
        }
    }
    if skipped > 0 {
        println!(
            "  ({}: the Python host refused {skipped} runs as \"previous run has not returned yet\" right after the previous one had; they were asked again)",
            instance.name
        );
    }
    Measured {
        cpu_us: (cpu() - cpu_started) as f64 / 1e3 / f64::from(runs),
        wall_us: started.elapsed().as_secs_f64() * 1e6 / f64::from(runs),
        series,
    }
}

/// One run; the series it produced. The Python host now and then answers a run asked for just
/// after the previous one returned with "the previous run has not returned yet": that run is
/// asked again (at most 10 times) and counted in `skipped`.
fn run(
    instance: &mut CheckInstance,
    sender: &mut dogwatch_agent::checks::Sender,
    skipped: &mut u32,
) -> Result<usize, String> {
    for _ in 0..10 {
        match run_once(instance.check.as_mut(), sender).result {
            Ok(out) => return Ok(out.series.len()),
            Err(e) if e.contains("previous run has not returned yet") => {
                *skipped += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(e),
        }
    }
    Err("the Python host refused 10 runs in a row as still running".into())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: u32 = arg(&args, "--runs").and_then(|r| r.parse().ok()).unwrap_or(200);
    let python = arg(&args, "--python");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");

    let redis = RedisServer::start("bench-pw");
    for i in 0..20 {
        redis.cli(&["SET", &format!("bench:str:{i}"), "v"]);
    }
    redis.cli(&["RPUSH", "bench:list", "a", "b", "c", "d"]);
    let postgres = PostgresServer::start("bench", "bench-pw");
    postgres.psql("postgres", "CREATE DATABASE benchdb");
    postgres.psql(
        "benchdb",
        "CREATE TABLE items (id serial PRIMARY KEY, v int); INSERT INTO items (v) SELECT g FROM generate_series(1, 1000) g; ANALYZE items",
    );

    let redis_instance = format!(
        "host: 127.0.0.1\n    port: {}\n    password: bench-pw\n    keys: [bench:list, 'bench:str:*']\n    command_stats: true",
        redis.port
    );
    let pg_instance = format!(
        "host: 127.0.0.1\n    port: {}\n    username: bench\n    password: bench-pw\n    dbname: benchdb\n    relations: [items]",
        postgres.port
    );
    let dir = tempfile::tempdir().unwrap();
    let confd = dir.path().join("conf.d");
    let mut configs = vec![("redisdb", redis_instance.clone()), ("postgres", pg_instance.clone())];
    if python.is_some() {
        configs.push(("redisdb_check", redis_instance));
        configs.push(("postgres_check", pg_instance));
        configs.push(("noop_check", "{}".into()));
    }
    for (name, instance) in &configs {
        let d = confd.join(format!("{name}.d"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("conf.yaml"),
            format!("init_config:\ninstances:\n  - {instance}\n"),
        )
        .unwrap();
    }
    let loader = python.as_ref().map(|interpreter| {
        Loader::new(PythonSettings {
            interpreter: interpreter.clone(),
            checksd: vec![repo.join("bench/integrations")],
            run_path: dir.path().join("run"),
            context: serde_json::json!({
                "hostname": "bench",
                "host_tags": [],
                "version": "7.0.0",
                "config": {"enable_metadata_collection": true},
            }),
        })
    });
    let plan = plan_with_python(
        &read_confd(&confd),
        &HostPaths::under(Path::new("/")),
        false,
        loader.as_ref(),
    );
    assert!(plan.loading_errors.is_empty(), "{:?}", plan.loading_errors);
    assert!(plan.config_errors.is_empty(), "{:?}", plan.config_errors);
    let host_pid = || loader.as_ref().and_then(|l| l.host().pid());

    println!("CPU per check run (this process + the Python host), {runs} runs after 3 warm-up runs:");
    let mut results = std::collections::BTreeMap::new();
    for mut instance in plan.instances {
        let pid = if ["redisdb", "postgres"].contains(&instance.name.as_str()) {
            None
        } else {
            host_pid()
        };
        let m = measure(&mut instance, runs, pid);
        println!(
            "  {:<16} {:>8.1} µs CPU  {:>8.1} µs wall  {:>4} series per run",
            instance.name, m.cpu_us, m.wall_us, m.series
        );
        results.insert(instance.name.clone(), m.cpu_us);
    }
    for (rust, py) in [("redisdb", "redisdb_check"), ("postgres", "postgres_check")] {
        if let (Some(r), Some(p)) = (results.get(rust), results.get(py)) {
            println!("  {rust}: Rust / Python = {:.3} (goal ≤ 0.25)", r / p);
        }
    }
    if let Some(pid) = host_pid() {
        println!(
            "  Python check host: {:.1} µs CPU per run of noop_check, RSS {} KiB with the three checks loaded",
            results.get("noop_check").copied().unwrap_or(0.0),
            rss_kib(pid)
        );
    }
}
