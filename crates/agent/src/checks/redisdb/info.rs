//! Redis's `INFO` text, and which of its fields Datadog's `redisdb` check sends under which name
//! (integrations-core `redisdb/datadog_checks/redisdb`: `GAUGE_KEYS`, `RATE_KEYS`).
//!
//! `INFO` answers `# Section` headings and `field:value` lines. Most values are numbers; the
//! keyspace (`db0:keys=3,expires=1,avg_ttl=0`), replica (`slave0:ip=…,port=…,offset=…`) and
//! command statistics (`cmdstat_get:calls=2,usec=9,usec_per_call=4.50,…`) lines hold
//! comma-separated `name=value` pairs.

use std::collections::HashMap;

/// INFO fields sent as gauges, by Datadog's names. Counters such as `expired_keys` are among
/// them, as in Datadog's check (dashboards take their differences).
pub(crate) const GAUGE_KEYS: &[(&str, &str)] = &[
    ("io_threads_active", "redis.server.io_threads_active"),
    ("active_defrag_running", "redis.active_defrag.running"),
    ("active_defrag_hits", "redis.active_defrag.hits"),
    ("active_defrag_misses", "redis.active_defrag.misses"),
    ("active_defrag_key_hits", "redis.active_defrag.key_hits"),
    ("active_defrag_key_misses", "redis.active_defrag.key_misses"),
    ("aof_last_rewrite_time_sec", "redis.aof.last_rewrite_time"),
    ("aof_rewrite_in_progress", "redis.aof.rewrite"),
    ("aof_current_size", "redis.aof.size"),
    ("aof_buffer_length", "redis.aof.buffer_length"),
    ("loading_total_bytes", "redis.aof.loading_total_bytes"),
    ("loading_loaded_bytes", "redis.aof.loading_loaded_bytes"),
    ("loading_loaded_perc", "redis.aof.loading_loaded_perc"),
    ("loading_eta_seconds", "redis.aof.loading_eta_seconds"),
    ("connected_clients", "redis.net.clients"),
    ("connected_slaves", "redis.net.slaves"),
    ("rejected_connections", "redis.net.rejected"),
    ("total_connections_received", "redis.net.total_connections_received"),
    ("instantaneous_input_kbps", "redis.net.instantaneous_input"),
    ("instantaneous_output_kbps", "redis.net.instantaneous_output"),
    ("blocked_clients", "redis.clients.blocked"),
    ("client_biggest_input_buf", "redis.clients.biggest_input_buf"),
    ("client_longest_output_list", "redis.clients.longest_output_list"),
    (
        "client_recent_max_input_buffer",
        "redis.clients.recent_max_input_buffer",
    ),
    (
        "client_recent_max_output_buffer",
        "redis.clients.recent_max_output_buffer",
    ),
    ("evicted_keys", "redis.keys.evicted"),
    ("expired_keys", "redis.keys.expired"),
    ("latest_fork_usec", "redis.perf.latest_fork_usec"),
    ("bytes_received_per_sec", "redis.bytes_received_per_sec"),
    ("bytes_sent_per_sec", "redis.bytes_sent_per_sec"),
    ("pubsub_channels", "redis.pubsub.channels"),
    ("pubsub_patterns", "redis.pubsub.patterns"),
    ("rdb_bgsave_in_progress", "redis.rdb.bgsave"),
    ("rdb_changes_since_last_save", "redis.rdb.changes_since_last"),
    ("rdb_last_bgsave_time_sec", "redis.rdb.last_bgsave_time"),
    ("mem_fragmentation_bytes", "redis.mem.fragmentation"),
    ("mem_fragmentation_ratio", "redis.mem.fragmentation_ratio"),
    ("used_memory", "redis.mem.used"),
    ("used_memory_lua", "redis.mem.lua"),
    ("used_memory_peak", "redis.mem.peak"),
    ("used_memory_rss", "redis.mem.rss"),
    ("used_memory_startup", "redis.mem.startup"),
    ("used_memory_overhead", "redis.mem.overhead"),
    ("used_memory_dataset", "redis.mem.dataset"),
    ("used_memory_scripts", "redis.mem.scripts"),
    ("maxmemory", "redis.mem.maxmemory"),
    ("master_last_io_seconds_ago", "redis.replication.last_io_seconds_ago"),
    ("master_sync_in_progress", "redis.replication.sync"),
    ("master_sync_left_bytes", "redis.replication.sync_left_bytes"),
    ("repl_backlog_histlen", "redis.replication.backlog_histlen"),
    ("master_repl_offset", "redis.replication.master_repl_offset"),
    ("slave_repl_offset", "redis.replication.slave_repl_offset"),
];

/// INFO fields sent as rates (per second of the counter).
pub(crate) const RATE_KEYS: &[(&str, &str)] = &[
    ("used_cpu_sys", "redis.cpu.sys"),
    ("used_cpu_sys_children", "redis.cpu.sys_children"),
    ("used_cpu_user", "redis.cpu.user"),
    ("used_cpu_user_children", "redis.cpu.user_children"),
    ("used_cpu_sys_main_thread", "redis.cpu.sys_main_thread"),
    ("used_cpu_user_main_thread", "redis.cpu.user_main_thread"),
    ("keyspace_hits", "redis.stats.keyspace_hits"),
    ("keyspace_misses", "redis.stats.keyspace_misses"),
    ("io_threaded_reads_processed", "redis.stats.io_threaded_reads_processed"),
    (
        "io_threaded_writes_processed",
        "redis.stats.io_threaded_writes_processed",
    ),
];

/// One `INFO` answer, split into plain fields and the `name=value` lists.
#[derive(Debug, Default)]
pub(crate) struct Info {
    /// `field:value` lines whose value is not a list, as text.
    pub fields: HashMap<String, String>,
    /// `db<N>` lines: (N, its pairs), in the order INFO gave them.
    pub keyspace: Vec<(u32, Pairs)>,
    /// `slave<N>` lines: (N, its pairs).
    pub replicas: Vec<(u32, Pairs)>,
    /// `cmdstat_<command>` lines: (command, its pairs).
    pub commands: Vec<(String, Pairs)>,
}

/// A line's `name=value` pairs.
pub(crate) type Pairs = Vec<(String, String)>;

impl Info {
    /// Parses INFO's text. Lines that are neither headings nor `field:value` are skipped.
    pub fn parse(text: &str) -> Info {
        let mut info = Info::default();
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((field, value)) = line.split_once(':') else {
                continue;
            };
            if let Some(n) = numbered(field, "db") {
                info.keyspace.push((n, pairs(value)));
            } else if let Some(n) = numbered(field, "slave") {
                if value.contains('=') {
                    info.replicas.push((n, pairs(value)));
                }
            } else if let Some(command) = field.strip_prefix("cmdstat_") {
                info.commands.push((command.to_string(), pairs(value)));
            } else {
                info.fields.insert(field.to_string(), value.to_string());
            }
        }
        info
    }

    /// A field as a number, if it is one.
    pub fn number(&self, field: &str) -> Option<f64> {
        self.fields.get(field).and_then(|v| v.parse().ok())
    }

    /// A field as text.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

/// A pair's value as a number.
pub(crate) fn pair_number(pairs: &Pairs, name: &str) -> Option<f64> {
    pairs.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.parse().ok())
}

/// A pair's value as text.
pub(crate) fn pair_text<'a>(pairs: &'a Pairs, name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `db3` → 3 for prefix `db`; `None` unless the rest is all digits.
fn numbered(field: &str, prefix: &str) -> Option<u32> {
    let rest = field.strip_prefix(prefix)?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

fn pairs(value: &str) -> Pairs {
    value
        .split(',')
        .filter_map(|item| item.rsplit_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Whether a `keys` entry is a glob (an unescaped `*`, `?` or `[`), listed with SCAN.
pub(crate) fn is_glob(pattern: &str) -> bool {
    let mut escaped = false;
    for c in pattern.chars() {
        match c {
            '\\' if !escaped => {
                escaped = true;
                continue;
            }
            '*' | '?' | '[' if !escaped => return true,
            _ => {}
        }
        escaped = false;
    }
    false
}

/// `major.minor.patch` of a semantic version (`7.0.15`), as Datadog's semver transformer reads
/// it; `None` for anything else.
pub(crate) fn semver(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.trim().trim_start_matches('v');
    let core = core.split(['-', '+']).next()?;
    let mut parts = core.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor, patch))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# Server\r\nredis_version:7.0.15\r\nrole:master\r\n\r\n# Clients\r\nconnected_clients:3\r\n\
# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=10.0.0.2,port=6380,state=online,offset=90,lag=0\r\n\
master_repl_offset:100\r\n# Commandstats\r\ncmdstat_get:calls=2,usec=9,usec_per_call=4.50,rejected_calls=0\r\n\
cmdstat_client|setinfo:calls=1,usec=1,usec_per_call=1.00\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\ndb12:keys=1,expires=0,avg_ttl=0\r\n";

    #[test]
    fn info_splits_fields_keyspace_replicas_and_command_stats() {
        let info = Info::parse(SAMPLE);
        assert_eq!(info.text("redis_version"), Some("7.0.15"));
        assert_eq!(info.number("connected_clients"), Some(3.0));
        assert_eq!(info.keyspace.len(), 2);
        assert_eq!(info.keyspace[1].0, 12);
        assert_eq!(pair_number(&info.keyspace[0].1, "expires"), Some(1.0));
        assert_eq!(info.replicas.len(), 1);
        assert_eq!(pair_text(&info.replicas[0].1, "ip"), Some("10.0.0.2"));
        assert_eq!(info.commands[0].0, "get");
        assert_eq!(pair_number(&info.commands[0].1, "usec_per_call"), Some(4.5));
        assert_eq!(info.commands[1].0, "client|setinfo");
    }

    #[test]
    fn garbage_lines_are_skipped_not_fatal() {
        let info = Info::parse("no colon here\n:\ndbx:keys=1\nslave_read_only:1\n");
        assert!(info.keyspace.is_empty());
        assert_eq!(info.text("dbx"), Some("keys=1"));
        assert_eq!(info.number("slave_read_only"), Some(1.0));
    }

    #[test]
    fn globs_are_unescaped_wildcards() {
        assert!(is_glob("user:*"));
        assert!(is_glob("a?c"));
        assert!(is_glob("[ab]"));
        assert!(!is_glob("plain"));
        assert!(!is_glob("star\\*"));
    }

    #[test]
    fn semver_reads_three_numbers() {
        assert_eq!(semver("7.0.15"), Some((7, 0, 15)));
        assert_eq!(semver("6.2.1-rc1"), Some((6, 2, 1)));
        assert_eq!(semver("7.0"), None);
        assert_eq!(semver("x"), None);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn info_parsing_never_panics(text in "(?s).{0,400}") {
            let info = Info::parse(&text);
            for (_, pairs) in &info.keyspace {
                let _ = pair_number(pairs, "keys");
            }
        }

        #[test]
        fn globs_and_versions_never_panic(text in ".{0,40}") {
            let _ = is_glob(&text);
            let _ = semver(&text);
        }
    }
}
