//! Process search semantics, lists, facets, group-by and scatter over fixture snapshots.

use std::sync::Arc;

use dogwatch_model::{HostInfo, ProcessRecord};
use dogwatch_server::processes::live::{RunInfo, Snapshot};
use dogwatch_server::processes::query::{Aggregation, GroupOrder, GroupRequest, ListRequest, ScatterRequest};
use dogwatch_server::processes::{Field, LiveView, ProcessFilter};
use serde_json::json;

const NOW_MS: i64 = 1_700_000_000_000;

struct P {
    pid: i32,
    user: &'static str,
    cmdline: &'static str,
    exe: &'static str,
    cwd: &'static str,
    cpu: f32,
    rss: u64,
    threads: i32,
    tags: &'static [&'static str],
    container: Option<&'static str>,
}

fn record(p: &P) -> ProcessRecord {
    let cmdline: Vec<String> = p
        .cmdline
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    ProcessRecord {
        pid: p.pid,
        ppid: if p.pid == 1 { 0 } else { 1 },
        pgroup: p.pid,
        user: p.user.into(),
        uid: 0,
        gid: 0,
        name: cmdline
            .first()
            .map_or("kworker".into(), |c| c.rsplit('/').next().unwrap().into()),
        cmdline,
        exe: p.exe.into(),
        cwd: p.cwd.into(),
        state: "S".into(),
        create_time_ms: NOW_MS - 3_600_000 + i64::from(p.pid),
        cpu_user_pct: p.cpu / 2.0,
        cpu_system_pct: p.cpu / 2.0,
        cpu_total_pct: p.cpu,
        rss: p.rss,
        vms: p.rss * 2,
        swap: 0,
        threads: p.threads,
        open_fds: if p.user == "root" { 10 } else { -1 },
        io_read_ops_rate: -1.0,
        io_write_ops_rate: -1.0,
        io_read_bytes_rate: if p.user == "root" { 100.0 } else { -1.0 },
        io_write_bytes_rate: -1.0,
        ctx_switches_voluntary: 0,
        ctx_switches_involuntary: 0,
        nice: 0,
        container_id: p.container.map(String::from),
        tags: p.tags.iter().map(|t| t.to_string()).collect(),
    }
}

fn snapshot(hostname: &str, received_at_ms: i64, processes: &[P]) -> Arc<Snapshot> {
    let host = HostInfo {
        hostname: hostname.into(),
        cpu_count: 4,
        cpu_model: String::new(),
        memory_total: 1 << 34,
        kernel: String::new(),
        os: String::new(),
        boot_time: 0,
        agent_version: "0.1.0".into(),
        tags: vec!["env:prod".into()],
    };
    let run = RunInfo {
        run_id: 1,
        collected_at_ms: received_at_ms,
        received_at_ms,
        interval_s: 10,
        realtime: false,
    };
    Arc::new(Snapshot::new(host, run, processes.iter().map(record).collect()))
}

fn view() -> LiveView {
    let web = snapshot(
        "web-1",
        NOW_MS,
        &[
            P {
                pid: 101,
                user: "root",
                cmdline: "nginx: master process /usr/sbin/nginx -g daemon off;",
                exe: "/usr/sbin/nginx",
                cwd: "/",
                cpu: 0.5,
                rss: 10 << 20,
                threads: 1,
                tags: &["env:prod", "user:root", "command:nginx"],
                container: None,
            },
            P {
                pid: 102,
                user: "www-data",
                cmdline: "nginx: worker process",
                exe: "/usr/sbin/nginx",
                cwd: "/",
                cpu: 12.0,
                rss: 20 << 20,
                threads: 1,
                tags: &["env:prod", "user:www-data", "command:nginx"],
                container: None,
            },
            P {
                pid: 103,
                user: "elasticsearch",
                cmdline: "/usr/bin/java -Xms1g -cp /usr/share/elasticsearch/lib/* org.elasticsearch.bootstrap.Elasticsearch",
                exe: "/usr/lib/jvm/java-17/bin/java",
                cwd: "/usr/share/elasticsearch",
                cpu: 80.0,
                rss: 1 << 30,
                threads: 90,
                tags: &["env:prod", "user:elasticsearch", "command:java"],
                container: None,
            },
            P {
                pid: 104,
                user: "app",
                cmdline: "java -jar /srv/app/billing.jar --port=8080",
                exe: "/usr/lib/jvm/java-17/bin/java",
                cwd: "/srv/app",
                cpu: 30.0,
                rss: 512 << 20,
                threads: 40,
                tags: &["env:prod", "user:app", "command:java", "service:billing", "version:1.2"],
                container: None,
            },
            P {
                pid: 105,
                user: "app",
                cmdline: "python3 manage.py runserver 0.0.0.0:8000",
                exe: "/usr/bin/python3.11",
                cwd: "/srv/Notes",
                cpu: 3.0,
                rss: 60 << 20,
                threads: 4,
                tags: &["env:prod", "user:app", "command:python3", "service:notes"],
                container: None,
            },
        ],
    );
    let db = snapshot(
        "db-1",
        NOW_MS - 5_000,
        &[
            P {
                pid: 201,
                user: "postgres",
                cmdline: "/usr/lib/postgresql/9.6/bin/postgres -D /var/lib/postgresql/9.6/main",
                exe: "/usr/lib/postgresql/9.6/bin/postgres",
                cwd: "/var/lib/postgresql/9.6/main",
                cpu: 20.0,
                rss: 200 << 20,
                threads: 1,
                tags: &["env:prod", "user:postgres", "command:postgres"],
                container: Some("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
            },
            P {
                pid: 202,
                user: "postgres",
                cmdline: "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main",
                exe: "/usr/lib/postgresql/15/bin/postgres",
                cwd: "/var/lib/postgresql/15/main",
                cpu: 10.0,
                rss: 100 << 20,
                threads: 1,
                tags: &["env:prod", "user:postgres", "command:postgres"],
                container: None,
            },
            P {
                pid: 203,
                user: "kafka",
                cmdline: "java -Xmx1G kafka.Kafka /etc/kafka/server.properties",
                exe: "/usr/lib/jvm/java-17/bin/java",
                cwd: "/opt/kafka",
                cpu: 50.0,
                rss: 2 << 30,
                threads: 120,
                tags: &["env:prod", "user:kafka", "command:java"],
                container: None,
            },
            P {
                pid: 204,
                user: "root",
                cmdline: "grep --color=auto -r password /etc",
                exe: "/usr/bin/grep",
                cwd: "/root",
                cpu: 1.0,
                rss: 1 << 20,
                threads: 1,
                tags: &["env:prod", "user:root", "command:grep"],
                container: None,
            },
        ],
    );
    let gone = snapshot(
        "old-1",
        NOW_MS - 600_000,
        &[P {
            pid: 301,
            user: "root",
            cmdline: "java -jar stale.jar",
            exe: "/usr/bin/java",
            cwd: "/",
            cpu: 99.0,
            rss: 1,
            threads: 1,
            tags: &["command:java"],
            container: None,
        }],
    );
    LiveView::from_snapshots(vec![web, gone, db], NOW_MS)
}

fn pids(view: &LiveView, query: &str) -> Vec<i32> {
    let filter = ProcessFilter::parse(query).unwrap_or_else(|e| panic!("{query:?}: {e}"));
    let mut pids: Vec<i32> = view.select(&filter).each().map(|(s, i)| s.processes[i].pid).collect();
    pids.sort_unstable();
    pids
}

#[test]
fn free_text_matches_command_line_exe_and_cwd_ignoring_case() {
    let v = view();
    assert_eq!(
        pids(&v, ""),
        [101, 102, 103, 104, 105, 201, 202, 203, 204],
        "stale hosts are left out"
    );
    assert_eq!(pids(&v, "(NOT (elasticsearch OR kafka) java) OR python"), [104, 105]);
    assert_eq!(pids(&v, "postgres /9."), [201]);
    assert_eq!(pids(&v, "NGINX"), [101, 102]);
    assert_eq!(pids(&v, "\"worker process\""), [102]);
    assert_eq!(pids(&v, "python3.11"), [105], "the exe is searched");
    assert_eq!(pids(&v, "srv/notes"), [105], "the cwd is searched, ignoring case");
    assert_eq!(pids(&v, "--color=auto"), [204], "a flag is a term, not a negation");
    assert_eq!(pids(&v, "!java"), [101, 102, 105, 201, 202, 204]);
    assert_eq!(pids(&v, "-java -nginx"), [105, 201, 202, 204]);
    assert_eq!(pids(&v, "post*main"), [201, 202], "a wildcard spans one field");
    assert_eq!(pids(&v, "nginx*postgres"), [] as [i32; 0]);
}

#[test]
fn tags_match_process_host_and_container_tags() {
    let v = view();
    assert_eq!(pids(&v, "command:nginx"), [101, 102]);
    assert_eq!(pids(&v, "command:ng*"), [101, 102]);
    assert_eq!(pids(&v, "host:web-*"), [101, 102, 103, 104, 105]);
    assert_eq!(pids(&v, "host:db-1 java"), [203]);
    assert_eq!(pids(&v, "user:ROOT"), [101, 204], "tag values ignore case");
    assert_eq!(pids(&v, "service:billing OR service:notes"), [104, 105]);
    assert_eq!(pids(&v, "container_id:0123*"), [201]);
    assert_eq!(pids(&v, "env:prod -command:java"), [101, 102, 105, 201, 202, 204]);
    assert_eq!(pids(&v, "@cpu:>=30"), [103, 104, 203]);
    assert_eq!(pids(&v, "@rss:[100000000 TO 300000000] postgres"), [201, 202]);
    assert_eq!(pids(&v, "@threads:>50 !kafka"), [103]);
}

#[test]
fn bad_queries_name_the_problem_and_its_position() {
    let e = ProcessFilter::parse("java a").unwrap_err();
    assert_eq!((e.position, e.len), (5, 1));
    assert!(e.message.contains("too short"), "{e}");
    assert!(e.message.contains("at least 2 characters"), "{e}");
    let e = ProcessFilter::parse("nginx @bogus:>1").unwrap_err();
    assert_eq!(e.position, 6);
    assert!(e.message.contains("`@bogus`") && e.message.contains("cpu, "), "{e}");
    let e = ProcessFilter::parse("@rss:>512m").unwrap_err();
    assert!(e.message.contains("duration"), "{e}");
    let e = ProcessFilter::parse("(java").unwrap_err();
    assert!(e.message.contains("unclosed parenthesis"), "{e}");
}

#[test]
fn lists_sort_cut_and_choose_columns() {
    let v = view();
    let all = ProcessFilter::all();
    let request = ListRequest {
        sort: Field::Cpu,
        descending: true,
        offset: 0,
        limit: 3,
        columns: vec![Field::Command, Field::Cpu],
    };
    let page = v.select(&all).list(&request);
    assert_eq!(page.total, 9);
    let rows: Vec<_> = page
        .processes
        .iter()
        .map(|r| (r["pid"].clone(), r["cpu"].clone()))
        .collect();
    assert_eq!(
        rows,
        [
            (json!(103), json!(80.0)),
            (json!(203), json!(50.0)),
            (json!(104), json!(30.0))
        ]
    );
    let first = &page.processes[0];
    assert_eq!(first["host"], "web-1");
    assert!(first["command"].as_str().unwrap().starts_with("/usr/bin/java -Xms1g"));
    assert!(
        first.get("rss").is_none(),
        "only the chosen columns, plus host, pid and start"
    );
    assert!(first.get("start").is_some());

    let next = v.select(&all).list(&ListRequest {
        offset: 3,
        ..request.clone()
    });
    assert_eq!(next.processes[0]["pid"], 201);
    let past_end = v.select(&all).list(&ListRequest {
        offset: 50,
        ..request.clone()
    });
    assert!(past_end.processes.is_empty());
    let none = v.select(&all).list(&ListRequest {
        limit: 0,
        ..request.clone()
    });
    assert!(none.processes.is_empty() && none.total == 9);

    let by_user = v.select(&all).list(&ListRequest {
        sort: Field::User,
        descending: false,
        offset: 0,
        limit: 100,
        columns: vec![Field::User],
    });
    let users: Vec<_> = by_user
        .processes
        .iter()
        .map(|r| r["user"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(users.first().map(String::as_str), Some("app"));
    assert_eq!(users.last().map(String::as_str), Some("www-data"));
    // Ties are broken by host (alphabetical: db-1 first), then pid.
    let order: Vec<_> = by_user.processes.iter().map(|r| r["pid"].as_i64().unwrap()).collect();
    assert_eq!(order, [104, 105, 103, 203, 201, 202, 204, 101, 102]);
}

#[test]
fn facets_count_values_among_matches() {
    let v = view();
    let java = ProcessFilter::parse("java").unwrap();
    let facets = v.select(&java).facets(None, 10);
    let keys: Vec<_> = facets.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        &keys[..7],
        ["host", "user", "command", "service", "env", "version", "container_id"]
    );
    let host = &facets[0];
    assert_eq!(
        host.values
            .iter()
            .map(|v| (v.value.as_str(), v.count))
            .collect::<Vec<_>>(),
        [("web-1", 2), ("db-1", 1)]
    );
    let service = facets.iter().find(|f| f.key == "service").unwrap();
    assert_eq!((service.values.len(), service.missing), (1, 2));
    let user = v.select(&ProcessFilter::all()).facets(Some(&["user".into()]), 2);
    assert_eq!(user.len(), 1);
    assert_eq!(
        user[0]
            .values
            .iter()
            .map(|v| (v.value.as_str(), v.count))
            .collect::<Vec<_>>(),
        [("app", 2), ("postgres", 2)]
    );
    assert_eq!(user[0].other_values, 4);
}

#[test]
fn group_by_counts_and_aggregates() {
    let v = view();
    let all = ProcessFilter::all();
    let groups = v.select(&all).group_by(&GroupRequest {
        by: vec!["command".into()],
        metrics: vec![Field::Cpu, Field::Rss, Field::ReadBytes],
        order: GroupOrder::Count,
        limit: 10,
    });
    assert_eq!((groups.total, groups.total_groups), (9, 5));
    let java = &groups.groups[0];
    assert_eq!(java.tags["command"], "java");
    assert_eq!((java.count, java.hosts), (3, 2));
    let cpu = java.metrics["cpu"];
    assert_eq!((cpu.sum, cpu.avg, cpu.max, cpu.min), (160.0, 53.33, 80.0, 30.0));
    assert_eq!(java.metrics["read_bytes"].readable, 0, "unreadable IO is left out");

    let by_cpu = v.select(&all).group_by(&GroupRequest {
        by: vec!["host".into(), "service".into()],
        metrics: vec![Field::Cpu],
        order: GroupOrder::Metric(Field::Rss, Aggregation::Sum),
        limit: 2,
    });
    assert_eq!(
        by_cpu.groups[0].tags,
        json!({"host": "db-1", "service": null}).as_object().unwrap().clone()
    );
    assert_eq!(by_cpu.groups.len(), 2);
    assert!(
        !by_cpu.groups[0].metrics.contains_key("rss"),
        "only the metrics asked for"
    );
}

#[test]
fn scatter_plots_groups_or_processes() {
    let v = view();
    let all = ProcessFilter::all();
    let scatter = v.select(&all).scatter(&ScatterRequest {
        x: Field::Cpu,
        y: Field::Rss,
        aggregation: Aggregation::Max,
        by: vec!["command".into()],
        limit: 100,
    });
    assert_eq!(scatter.total_points, 5);
    let java = scatter.points.iter().find(|p| p.group["command"] == "java").unwrap();
    assert_eq!((java.x, java.y, java.count), (80.0, (2u64 << 30) as f64, 3));
    let each = v
        .select(&ProcessFilter::parse("nginx").unwrap())
        .scatter(&ScatterRequest {
            x: Field::Cpu,
            y: Field::Threads,
            aggregation: Aggregation::Avg,
            by: vec![],
            limit: 1,
        });
    assert_eq!((each.total_points, each.points.len()), (2, 1));
    assert_eq!(each.points[0].group["pid"], 102);
}

#[test]
fn named_hosts_come_from_top_level_host_filters() {
    let hosts = |q: &str| ProcessFilter::parse(q).unwrap().named_hosts();
    assert_eq!(hosts("host:a java"), Some(vec!["a".to_string()]));
    assert_eq!(hosts("host:a OR host:b"), Some(vec!["a".to_string(), "b".to_string()]));
    assert_eq!(hosts("host:a OR java"), None);
    assert_eq!(hosts("host:a*"), None);
    assert_eq!(hosts("java"), None);
}
