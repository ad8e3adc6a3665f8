//! Live process query benchmark: 200 hosts × 500 synthetic processes (100,000), queried the
//! way the Live Processes page does. Prints p50/p95/max per query in milliseconds.
//!
//! Run: `cargo bench -p dogwatch-server --bench process_query` (add `-- --json` for JSON, or
//! `-- --hosts N --per-host M --iterations K`, or `-- --only facets` for the queries whose
//! name contains `facets`).

use std::sync::Arc;
use std::time::Instant;

use dogwatch_model::{HostInfo, ProcessRecord};
use dogwatch_server::processes::live::{RunInfo, Snapshot};
use dogwatch_server::processes::query::{Aggregation, GroupOrder, GroupRequest, ListRequest, ScatterRequest};
use dogwatch_server::processes::{Field, LiveView, ProcessFilter};

const COMMANDS: [(&str, &str); 12] = [
    ("nginx", "nginx: worker process"),
    (
        "java",
        "/usr/bin/java -Xmx2g -jar /srv/app/service-{}.jar --server.port=8080",
    ),
    (
        "java",
        "/usr/lib/jvm/java-17/bin/java -cp /usr/share/elasticsearch/lib/* org.elasticsearch.bootstrap.Elasticsearch",
    ),
    ("java", "java -Xmx1G kafka.Kafka /etc/kafka/server.properties"),
    ("python3", "python3 /srv/worker/run.py --queue jobs-{} --concurrency 4"),
    ("postgres", "postgres: 15/main: app app 10.0.0.{}(5432) idle"),
    ("redis-server", "/usr/bin/redis-server 127.0.0.1:6379"),
    ("node", "node /srv/web/server.js --port 30{}"),
    ("sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"),
    ("bash", "-bash"),
    (
        "dockerd",
        "/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock",
    ),
    (
        "gunicorn",
        "/srv/venv/bin/python /srv/venv/bin/gunicorn app:wsgi --workers {}",
    ),
];

const USERS: [&str; 6] = ["root", "app", "postgres", "www-data", "kafka", "elasticsearch"];
const SERVICES: [&str; 5] = ["billing", "notes", "search", "checkout", "auth"];

/// A small deterministic generator (xorshift), so every run queries the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn synthetic_host(h: usize, per_host: usize, rng: &mut Rng) -> Arc<Snapshot> {
    let hostname = format!("host-{h:03}.{}", ["prod", "staging", "dev"][h % 3]);
    let host_tags = vec![
        format!("env:{}", ["prod", "staging", "dev"][h % 3]),
        format!("team:{}", ["web", "data", "infra", "payments"][h % 4]),
        format!("availability-zone:us-east-1{}", ["a", "b", "c"][h % 3]),
    ];
    let processes = (0..per_host)
        .map(|i| {
            let (command, template) = COMMANDS[rng.below(COMMANDS.len() as u64) as usize];
            let cmdline: Vec<String> = template
                .replace("{}", &rng.below(100).to_string())
                .split(' ')
                .map(String::from)
                .collect();
            let user = USERS[rng.below(USERS.len() as u64) as usize];
            let mut tags = host_tags.clone();
            tags.push(format!("user:{user}"));
            tags.push(format!("command:{command}"));
            if rng.below(3) == 0 {
                tags.push(format!("service:{}", SERVICES[rng.below(5) as usize]));
                tags.push(format!("version:1.{}", rng.below(10)));
            }
            let cpu = (rng.below(10_000) as f32 / 100.0).powi(2) / 100.0;
            ProcessRecord {
                pid: 100 + i as i32,
                ppid: 1,
                pgroup: 100 + i as i32,
                user: user.into(),
                uid: 1000,
                gid: 1000,
                name: command.into(),
                exe: format!("/usr/bin/{command}"),
                cwd: format!("/srv/{command}"),
                cmdline,
                state: "S".into(),
                create_time_ms: 1_700_000_000_000 - rng.below(86_400_000) as i64,
                cpu_user_pct: cpu * 0.7,
                cpu_system_pct: cpu * 0.3,
                cpu_total_pct: cpu,
                rss: rng.below(2 << 30),
                vms: rng.below(8 << 30),
                swap: 0,
                threads: 1 + rng.below(200) as i32,
                open_fds: rng.below(1000) as i32,
                io_read_ops_rate: rng.below(1000) as f32,
                io_write_ops_rate: rng.below(1000) as f32,
                io_read_bytes_rate: rng.below(1 << 20) as f32,
                io_write_bytes_rate: rng.below(1 << 20) as f32,
                ctx_switches_voluntary: 0,
                ctx_switches_involuntary: 0,
                nice: 0,
                container_id: (rng.below(4) == 0).then(|| format!("{:064x}", rng.next())),
                tags,
            }
        })
        .collect();
    let host = HostInfo {
        hostname,
        cpu_count: 8,
        cpu_model: String::new(),
        memory_total: 32 << 30,
        kernel: String::new(),
        os: String::new(),
        boot_time: 0,
        agent_version: "0.1.0".into(),
        tags: host_tags,
    };
    let run = RunInfo {
        run_id: 1,
        collected_at_ms: NOW_MS,
        received_at_ms: NOW_MS,
        interval_s: 2,
        realtime: true,
    };
    Arc::new(Snapshot::new(host, run, processes))
}

const NOW_MS: i64 = 1_700_000_000_000;

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let hosts = arg(&args, "--hosts", 200);
    let per_host = arg(&args, "--per-host", 500);
    let iterations = arg(&args, "--iterations", 50);
    let json = args.iter().any(|a| a == "--json");
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    let snapshots: Vec<_> = (0..hosts).map(|h| synthetic_host(h, per_host, &mut rng)).collect();
    let build_ms = started.elapsed().as_secs_f64() * 1000.0;

    type Case = (&'static str, Box<dyn Fn(&LiveView) -> usize>);
    let cases: Vec<Case> = vec![
        (
            "text + tag filter, sort by cpu, limit 100",
            Box::new(|view: &LiveView| {
                let filter = ProcessFilter::parse("java env:prod -kafka").unwrap();
                let page = view.select(&filter).list(&ListRequest {
                    sort: Field::Cpu,
                    descending: true,
                    offset: 0,
                    limit: 100,
                    columns: Field::DEFAULT_COLUMNS.to_vec(),
                });
                page.processes.len()
            }),
        ),
        (
            "all processes, sort by rss, limit 100",
            Box::new(|view: &LiveView| {
                let page = view.select(&ProcessFilter::all()).list(&ListRequest {
                    sort: Field::Rss,
                    descending: true,
                    offset: 0,
                    limit: 100,
                    columns: Field::DEFAULT_COLUMNS.to_vec(),
                });
                page.processes.len()
            }),
        ),
        (
            "facets (all keys, top 10), text filter",
            Box::new(|view: &LiveView| {
                let filter = ProcessFilter::parse("srv").unwrap();
                view.select(&filter).facets(None, 10).len()
            }),
        ),
        (
            "facets (all keys, top 10), all processes",
            Box::new(|view: &LiveView| view.select(&ProcessFilter::all()).facets(None, 10).len()),
        ),
        (
            "group-by command, user: count, cpu, rss",
            Box::new(|view: &LiveView| {
                let groups = view.select(&ProcessFilter::all()).group_by(&GroupRequest {
                    by: vec!["command".into(), "user".into()],
                    metrics: vec![Field::Cpu, Field::Rss],
                    order: GroupOrder::Count,
                    limit: 100,
                });
                groups.groups.len()
            }),
        ),
        (
            "scatter cpu × rss by command",
            Box::new(|view: &LiveView| {
                let scatter = view.select(&ProcessFilter::all()).scatter(&ScatterRequest {
                    x: Field::Cpu,
                    y: Field::Rss,
                    aggregation: Aggregation::Avg,
                    by: vec!["command".into()],
                    limit: 1000,
                });
                scatter.points.len()
            }),
        ),
        (
            "integrations detected (every host, /api/ui/integrations)",
            Box::new({
                use dogwatch_server::integrations::detect::{HostInput, Matcher, detect};
                let matcher = Matcher::default();
                let inputs: Vec<HostInput> = snapshots
                    .iter()
                    .map(|s| HostInput {
                        hostname: s.host.hostname.clone(),
                        snapshot: Some(s.clone()),
                        checks: Vec::new(),
                    })
                    .collect();
                move |_: &LiveView| detect(&matcher, &inputs).len()
            }),
        ),
    ];

    let mut results = Vec::new();
    for (name, run) in &cases {
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        let mut times = Vec::with_capacity(iterations);
        let mut out = 0;
        for _ in 0..iterations {
            let started = Instant::now();
            // A request builds its view from the live state, so that is part of the cost.
            let view = LiveView::from_snapshots(snapshots.clone(), NOW_MS);
            out = std::hint::black_box(run(&view));
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
        results.push((*name, pct(0.5), pct(0.95), times[times.len() - 1], out));
    }

    if json {
        let rows: Vec<_> = results
            .iter()
            .map(|(name, p50, p95, max, _)| serde_json::json!({"query": name, "p50_ms": p50, "p95_ms": p95, "max_ms": max}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"processes": hosts * per_host, "hosts": hosts, "iterations": iterations, "index_build_ms": build_ms, "results": rows})
        );
        return;
    }
    println!(
        "{} processes on {hosts} hosts, {iterations} iterations; indexing them took {build_ms:.0} ms",
        hosts * per_host
    );
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>7}",
        "query", "p50 ms", "p95 ms", "max ms", "rows"
    );
    for (name, p50, p95, max, out) in results {
        println!("{name:<44} {p50:>8.2} {p95:>8.2} {max:>8.2} {out:>7}");
    }
}
