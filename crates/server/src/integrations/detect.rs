//! Which integrations run where: the [signatures](super::signatures) matched against every
//! host's live processes, beside the checks each host's agent reports.
//!
//! ## How a signature matches a command line
//!
//! Datadog matches its manifests' signatures against Live Process command lines with an
//! algorithm it does not publish (a substring match is the likely reading). A bare substring
//! would count `grep redis-server`, `vim /etc/redis-server.conf` or `tail -f postgres.log` as
//! the server itself, so dogwatch asks for more. Both the signature and the command line (the
//! scrubbed command line the index keeps, lower-cased) are split into words at whitespace:
//!
//! - the signature's first word must be the **program**: the basename of the command line's first
//!   word (`/usr/bin/redis-server` → `redis-server`), after both drop a `.exe` suffix and
//!   trailing version characters (digits, `.`, `-`, `_`), so `apache2` is `apache`, `python3.11`
//!   is `python` and `mysqld.exe` is `mysqld`;
//! - each further signature word must appear after it, in order but not necessarily adjacent,
//!   as a word of the command line or as the basename of one (`java … -cp x.jar kafka.Kafka`
//!   matches `java kafka.kafka`; `python3 /usr/bin/gunicorn app:app` matches `python gunicorn`).
//!
//! A process title that a server rewrites into one argument (`nginx: master process
//! /usr/sbin/nginx`, `/usr/bin/redis-server 127.0.0.1:6379`) is split the same way. A process
//! is counted for the first integration (in table order) that one of its signatures matches.
//!
//! ## Status
//!
//! A host has an integration **configured** when its agent's `agent_checks` metadata lists the
//! check's name: a check instance, or the `initialization` error an agent reports for a check it
//! could not load (a configured check not built into it yet still shows the user configured it).
//! Over the hosts that run an integration: **detected** when none has it configured,
//! **partial** (Partial Visibility) when some do, **installed** when all do. An integration
//! configured on hosts where none of its processes run (a check pointed at a remote server) is
//! **installed** too.

use std::collections::BTreeMap;
use std::sync::Arc;

use dogwatch_model::AgentCheck;
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use super::signatures::{INTEGRATIONS, Integration};
use crate::processes::index::FIELD_SEPARATOR;
use crate::processes::live::Snapshot;
use crate::processes::parallel;

/// An integration's state over all hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Running on at least one host, configured on none of them.
    Detected,
    /// Configured on some, not all, of the hosts running it.
    Partial,
    /// Configured on every host running it, or configured where it does not run.
    Installed,
}

impl Status {
    /// What the UI shows.
    pub fn label(self) -> &'static str {
        match self {
            Status::Detected => "Detected",
            Status::Partial => "Partial Visibility",
            Status::Installed => "Installed",
        }
    }
}

/// The program name a word stands for, for comparing first words: its basename, lower-cased by
/// the caller, without `.exe` and trailing version characters.
fn program(word: &str) -> &str {
    let base = basename(word);
    let base = base.strip_suffix(".exe").unwrap_or(base);
    let trimmed = base.trim_end_matches(|c: char| c.is_ascii_digit() || ".-_".contains(c));
    if trimmed.is_empty() { base } else { trimmed }
}

fn basename(word: &str) -> &str {
    word.rfind(['/', '\\']).map_or(word, |at| &word[at + 1..])
}

/// One signature ready to match: its program and the words that must follow.
#[derive(Debug)]
struct Compiled {
    integration: usize,
    rest: Vec<String>,
}

/// The signature table, indexed by program so that a process costs one map lookup.
#[derive(Debug)]
pub struct Matcher {
    by_program: HashMap<String, Vec<Compiled>>,
}

impl Default for Matcher {
    fn default() -> Self {
        Matcher::new(INTEGRATIONS)
    }
}

impl Matcher {
    /// A matcher over `integrations`' signatures.
    pub fn new(integrations: &[Integration]) -> Matcher {
        let mut by_program: HashMap<String, Vec<Compiled>> = HashMap::default();
        for (integration, i) in integrations.iter().enumerate() {
            for signature in i.signatures {
                let lower = signature.text.to_lowercase();
                let mut words = lower.split_whitespace();
                let Some(first) = words.next() else { continue };
                by_program.entry(program(first).to_owned()).or_default().push(Compiled {
                    integration,
                    rest: words.map(str::to_owned).collect(),
                });
            }
        }
        Matcher { by_program }
    }

    /// The index (into the table) of the integration `command_line` runs, if any.
    /// `command_line` must be lower-cased.
    pub fn match_command_line(&self, command_line: &str) -> Option<usize> {
        let line = command_line.trim_start();
        let (first, rest) = line.split_at(line.find(char::is_whitespace).unwrap_or(line.len()));
        let candidates = self.by_program.get(program(first))?;
        candidates
            .iter()
            .find(|c| follows_in_order(&c.rest, rest.split_whitespace()))
            .map(|c| c.integration)
    }

    /// Per integration index, the pids of `snapshot`'s processes that run it.
    pub fn match_snapshot(&self, snapshot: &Snapshot) -> BTreeMap<usize, Vec<i32>> {
        let mut found: BTreeMap<usize, Vec<i32>> = BTreeMap::new();
        for (i, process) in snapshot.processes.iter().enumerate() {
            let haystack = snapshot.index.haystack(i);
            let command_line = haystack.split(FIELD_SEPARATOR).next().unwrap_or("");
            if let Some(integration) = self.match_command_line(command_line) {
                found.entry(integration).or_default().push(process.pid);
            }
        }
        found
    }
}

/// Whether each of `wanted` appears in `words`, in order, as a word or a word's basename.
fn follows_in_order<'a>(wanted: &[String], mut words: impl Iterator<Item = &'a str>) -> bool {
    wanted
        .iter()
        .all(|w| words.any(|word| word == w || basename(word) == w))
}

/// Whether `checks` (a host's agent_checks) configure the check `id`.
pub fn configures(checks: &[AgentCheck], id: &str) -> bool {
    checks.iter().any(|c| c.check == id)
}

/// One host as the integrations see it.
#[derive(Debug, Clone)]
pub struct HostInput {
    /// The hostname.
    pub hostname: String,
    /// Its latest live process snapshot, if it has a fresh one.
    pub snapshot: Option<Arc<Snapshot>>,
    /// Its agent's checks (empty when its agent reported none).
    pub checks: Vec<AgentCheck>,
}

/// One integration on one host.
#[derive(Debug, Clone, Serialize)]
pub struct HostState {
    /// The hostname.
    pub hostname: String,
    /// How many of its live processes run the integration.
    pub processes: usize,
    /// Their pids, lowest first.
    pub pids: Vec<i32>,
    /// Whether the host's agent has the integration's check configured.
    pub configured: bool,
    /// The host's instances (or loading errors) of the check.
    pub checks: Vec<AgentCheck>,
}

/// One integration over every host.
#[derive(Debug, Clone, Serialize)]
pub struct IntegrationState {
    /// The integration.
    #[serde(flatten)]
    pub integration: &'static Integration,
    /// Its status.
    pub status: Status,
    /// What the UI calls the status.
    pub status_label: &'static str,
    /// Hosts running it.
    pub hosts_running: usize,
    /// Hosts with its check configured (running it or not).
    pub hosts_configured: usize,
    /// Hosts running it without its check configured.
    pub hosts_unconfigured: usize,
    /// Its processes over every host.
    pub processes: usize,
    /// Each host that runs it or has it configured, by hostname.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostState>,
}

/// Every integration that runs or is configured somewhere, in table order, with its hosts.
pub fn detect(matcher: &Matcher, hosts: &[HostInput]) -> Vec<IntegrationState> {
    let processes = hosts
        .iter()
        .filter_map(|h| h.snapshot.as_ref())
        .map(|s| s.processes.len())
        .sum();
    let matched = parallel::map(hosts, processes, |host| {
        host.snapshot
            .as_ref()
            .map(|s| matcher.match_snapshot(s))
            .unwrap_or_default()
    });
    let mut per: BTreeMap<usize, Vec<HostState>> = BTreeMap::new();
    for (host, mut running) in hosts.iter().zip(matched) {
        for (index, integration) in INTEGRATIONS.iter().enumerate() {
            let checks: Vec<AgentCheck> = host
                .checks
                .iter()
                .filter(|c| c.check == integration.id)
                .cloned()
                .collect();
            let mut pids = running.remove(&index).unwrap_or_default();
            if pids.is_empty() && checks.is_empty() {
                continue;
            }
            pids.sort_unstable();
            per.entry(index).or_default().push(HostState {
                hostname: host.hostname.clone(),
                processes: pids.len(),
                pids,
                configured: !checks.is_empty(),
                checks,
            });
        }
    }
    per.into_iter()
        .map(|(index, mut hosts)| {
            hosts.sort_by(|a, b| a.hostname.cmp(&b.hostname));
            let running = hosts.iter().filter(|h| h.processes > 0).count();
            let configured = hosts.iter().filter(|h| h.configured).count();
            let unconfigured = hosts.iter().filter(|h| h.processes > 0 && !h.configured).count();
            let status = if unconfigured == 0 {
                Status::Installed
            } else if unconfigured == running {
                Status::Detected
            } else {
                Status::Partial
            };
            IntegrationState {
                integration: &INTEGRATIONS[index],
                status,
                status_label: status.label(),
                hosts_running: running,
                hosts_configured: configured,
                hosts_unconfigured: unconfigured,
                processes: hosts.iter().map(|h| h.processes).sum(),
                hosts,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_of(matcher: &Matcher, command_line: &str) -> Option<&'static str> {
        matcher
            .match_command_line(&command_line.to_lowercase())
            .map(|i| INTEGRATIONS[i].id)
    }

    #[test]
    fn servers_as_their_packages_run_them_are_recognized() {
        let m = Matcher::default();
        let cases = [
            ("/usr/bin/redis-server 127.0.0.1:6379", "redisdb"),
            ("redis-server *:6380", "redisdb"),
            (
                "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main -c config_file=/etc/postgresql/15/main/postgresql.conf",
                "postgres",
            ),
            ("pg_ctl start -l logfile", "postgres"),
            ("/usr/sbin/mysqld --basedir=/usr", "mysql"),
            ("/usr/sbin/mariadbd", "mysql"),
            ("C:\\mysql\\bin\\mysqld.exe", "mysql"),
            (
                "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;",
                "nginx",
            ),
            ("/usr/sbin/apache2 -k start", "apache"),
            ("/usr/sbin/httpd -DFOREGROUND", "apache"),
            (
                "/usr/lib/jvm/java-17/bin/java -Xmx1G -cp /opt/kafka/libs/* kafka.Kafka config/server.properties",
                "kafka",
            ),
            (
                "/usr/share/elasticsearch/jdk/bin/java -Xms1g -Des.path.home=/usr/share/elasticsearch org.elasticsearch.bootstrap.Elasticsearch -p /run/es.pid",
                "elastic",
            ),
            ("/usr/bin/mongod --config /etc/mongod.conf", "mongo"),
            ("/usr/bin/memcached -m 64 -p 11211 -u memcache", "mcache"),
            (
                "/usr/lib/erlang/erts-13.2/bin/beam.smp -W w -- -root /usr/lib/erlang -noshell -s rabbit boot",
                "rabbitmq",
            ),
            ("/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg", "haproxy"),
            ("php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)", "php_fpm"),
            ("/usr/bin/python3.11 /usr/bin/gunicorn app:app", "gunicorn"),
            ("/usr/sbin/sendmail -bd -q15m", "postfix"),
        ];
        for (command_line, id) in cases {
            assert_eq!(id_of(&m, command_line), Some(id), "{command_line}");
        }
    }

    #[test]
    fn tools_that_only_name_a_server_are_not_the_server() {
        let m = Matcher::default();
        for command_line in [
            "grep redis-server",
            "vim /etc/redis/redis-server.conf",
            "tail -f /var/log/postgresql/postgres.log",
            "less nginx: master process",
            "/usr/bin/python3 check_redis.py redis-server",
            "postgres: checkpointer",
            "postgres: 15/main: walwriter",
            "nginx: worker process",
            "java -jar app.jar",
            "/usr/bin/redis-cli -p 6379 ping",
            "[kworker/0:1]",
            "",
        ] {
            assert_eq!(id_of(&m, command_line), None, "{command_line:?}");
        }
    }

    #[test]
    fn program_names_drop_paths_versions_and_exe() {
        assert_eq!(program("/usr/bin/python3.11"), "python");
        assert_eq!(program("apache2"), "apache");
        assert_eq!(program("mysqld.exe"), "mysqld");
        assert_eq!(program("redis-server"), "redis-server");
        assert_eq!(program("nginx:"), "nginx:");
        assert_eq!(program("7z"), "7z");
    }

    #[test]
    fn every_integrations_view_query_finds_what_its_signature_matches() {
        use dogwatch_model::{HostInfo, ProcessRecord};
        for integration in INTEGRATIONS {
            // A command line made of the first signature's words matches its integration, and
            // the Views query of that integration selects it.
            let command: Vec<String> = integration.signatures[0]
                .text
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            let record: ProcessRecord = serde_json::from_value(serde_json::json!({
                "pid": 7, "ppid": 1, "pgroup": 7, "user": "u", "uid": 1, "gid": 1, "name": "x",
                "cmdline": command, "exe": "", "cwd": "", "state": "S", "create_time_ms": 0,
                "cpu_user_pct": 0.0, "cpu_system_pct": 0.0, "cpu_total_pct": 0.0, "rss": 0, "vms": 0,
                "swap": 0, "threads": 1, "open_fds": 0, "io_read_ops_rate": 0.0, "io_write_ops_rate": 0.0,
                "io_read_bytes_rate": 0.0, "io_write_bytes_rate": 0.0, "ctx_switches_voluntary": 0,
                "ctx_switches_involuntary": 0, "nice": 0, "tags": []
            }))
            .unwrap();
            let host: HostInfo = serde_json::from_value(serde_json::json!({
                "hostname": "h", "cpu_count": 1, "cpu_model": "", "memory_total": 0, "kernel": "",
                "os": "", "boot_time": 0, "agent_version": "", "tags": []
            }))
            .unwrap();
            let run = crate::processes::live::RunInfo {
                run_id: 1,
                collected_at_ms: 0,
                received_at_ms: 0,
                interval_s: 10,
                realtime: false,
            };
            let snapshot = Snapshot::new(host, run, vec![record]);
            let found = Matcher::default().match_snapshot(&snapshot);
            let index = INTEGRATIONS.iter().position(|i| i.id == integration.id).unwrap();
            assert_eq!(found.get(&index), Some(&vec![7]), "{}", integration.id);
            let filter = crate::processes::ProcessFilter::parse(integration.query).unwrap();
            assert_eq!(filter.select(&snapshot), vec![0], "{}'s query", integration.id);
        }
    }

    fn check(name: &str) -> AgentCheck {
        AgentCheck {
            check: name.into(),
            instance_id: format!("{name}:1"),
            status: "OK".into(),
            error: String::new(),
        }
    }

    #[test]
    fn status_follows_how_many_running_hosts_have_the_check() {
        let m = Matcher::default();
        let snapshot = |name: &str, cmd: &str| {
            let record: dogwatch_model::ProcessRecord = serde_json::from_value(serde_json::json!({
                "pid": 42, "ppid": 1, "pgroup": 42, "user": "u", "uid": 1, "gid": 1, "name": "x",
                "cmdline": [cmd], "exe": "", "cwd": "", "state": "S", "create_time_ms": 0,
                "cpu_user_pct": 0.0, "cpu_system_pct": 0.0, "cpu_total_pct": 0.0, "rss": 0, "vms": 0,
                "swap": 0, "threads": 1, "open_fds": 0, "io_read_ops_rate": 0.0, "io_write_ops_rate": 0.0,
                "io_read_bytes_rate": 0.0, "io_write_bytes_rate": 0.0, "ctx_switches_voluntary": 0,
                "ctx_switches_involuntary": 0, "nice": 0, "tags": []
            }))
            .unwrap();
            let host = serde_json::from_value(serde_json::json!({
                "hostname": name, "cpu_count": 1, "cpu_model": "", "memory_total": 0, "kernel": "",
                "os": "", "boot_time": 0, "agent_version": "", "tags": []
            }))
            .unwrap();
            let run = crate::processes::live::RunInfo {
                run_id: 1,
                collected_at_ms: 0,
                received_at_ms: 0,
                interval_s: 10,
                realtime: false,
            };
            Some(Arc::new(Snapshot::new(host, run, vec![record])))
        };
        let hosts = vec![
            HostInput {
                hostname: "a".into(),
                snapshot: snapshot("a", "/usr/bin/redis-server *:6379"),
                checks: vec![check("redisdb"), check("cpu")],
            },
            HostInput {
                hostname: "b".into(),
                snapshot: snapshot("b", "/usr/bin/redis-server *:6379"),
                checks: vec![check("cpu")],
            },
            HostInput {
                hostname: "c".into(),
                snapshot: snapshot("c", "nginx: master process /usr/sbin/nginx"),
                checks: vec![check("postgres")],
            },
        ];
        let states = detect(&m, &hosts);
        let by_id: std::collections::HashMap<_, _> = states.iter().map(|s| (s.integration.id, s)).collect();
        assert_eq!(by_id["redisdb"].status, Status::Partial);
        assert_eq!(
            (by_id["redisdb"].hosts_running, by_id["redisdb"].hosts_configured),
            (2, 1)
        );
        assert_eq!(by_id["nginx"].status, Status::Detected);
        // Configured where nothing of it runs (a check pointed at a remote server).
        assert_eq!(by_id["postgres"].status, Status::Installed);
        assert_eq!(by_id["postgres"].hosts_running, 0);
        assert!(!by_id.contains_key("cpu"));
        assert_eq!(states.len(), 3);
    }
}
