//! The live state: the latest process snapshot of every host, in memory, and who is
//! watching.
//!
//! An agent sends one collection run as numbered chunks. Chunks of a run are held aside
//! until all have arrived, then the run replaces the host's snapshot whole, so a reader
//! never sees half of one run and half of another. A run older than the snapshot is
//! ignored, unless the snapshot is stale (the agent restarted with a clock set back).
//!
//! Watching is Datadog's real-time mode: while someone looks at live processes, the answer
//! to every process payload says so and the agent collects every 2 s. A watch lapses
//! [`WATCH_LEASE`] after the last request that asked for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dogwatch_model::{CollectorStatus, HostInfo, ProcessPayload, ProcessRecord};
use serde::Serialize;

use crate::processes::ProcessIndex;

/// How long a watch lasts without being renewed.
pub const WATCH_LEASE: Duration = Duration::from_secs(30 * 60);

/// The real-time interval the server asks agents for, in seconds.
pub const REALTIME_INTERVAL_S: u32 = 2;

/// A host's snapshot is stale after this many of its intervals without a new run.
pub const STALE_AFTER_INTERVALS: i64 = 3;

/// One complete collection run of one host.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// The host as its agent describes it.
    pub host: HostInfo,
    /// The run.
    pub run_id: u64,
    /// When the agent collected it (ms since the epoch).
    pub collected_at_ms: i64,
    /// When its last chunk arrived (ms since the epoch).
    pub received_at_ms: i64,
    /// The agent's interval when it sent it, in seconds.
    pub interval_s: u32,
    /// Whether the agent was in real-time mode.
    pub realtime: bool,
    /// The processes.
    pub processes: Vec<ProcessRecord>,
    /// The processes indexed for search, built once when the run completed.
    #[serde(skip)]
    pub index: ProcessIndex,
}

impl Snapshot {
    /// A snapshot of `processes`, indexed for search.
    pub fn new(host: HostInfo, run: RunInfo, processes: Vec<ProcessRecord>) -> Snapshot {
        let index = ProcessIndex::build(&host.hostname, &processes);
        Snapshot {
            host,
            run_id: run.run_id,
            collected_at_ms: run.collected_at_ms,
            received_at_ms: run.received_at_ms,
            interval_s: run.interval_s,
            realtime: run.realtime,
            processes,
            index,
        }
    }

    /// Whether this snapshot stays over run `run_id` arriving at `now_ms`: it is the same or a
    /// newer run and not stale (a stale one yields, for an agent restarted with its clock back).
    pub fn outranks(&self, run_id: u64, now_ms: i64) -> bool {
        run_id <= self.run_id && !self.is_stale(now_ms)
    }

    /// Whether the agent has missed [`STALE_AFTER_INTERVALS`] runs.
    pub fn is_stale(&self, now_ms: i64) -> bool {
        // A real-time agent falls back to its standard interval (at most 10 s by default)
        // when watching stops, so a run is late only after the longer of the two.
        let interval_ms = i64::from(self.interval_s.max(10)) * 1000;
        now_ms - self.received_at_ms > STALE_AFTER_INTERVALS * interval_ms
    }
}

/// What a snapshot says about the run it came from.
#[derive(Debug, Clone, Copy)]
pub struct RunInfo {
    /// The run.
    pub run_id: u64,
    /// When the agent collected it (ms since the epoch).
    pub collected_at_ms: i64,
    /// When its last chunk arrived (ms since the epoch).
    pub received_at_ms: i64,
    /// The agent's interval, in seconds.
    pub interval_s: u32,
    /// Whether the agent was in real-time mode.
    pub realtime: bool,
}

/// A host's live summary, for the hosts API.
#[derive(Debug, Clone, Serialize)]
pub struct LiveHostSummary {
    /// The hostname.
    pub hostname: String,
    /// Processes in its latest snapshot.
    pub processes: usize,
    /// Total CPU of its processes, in percent of one core.
    pub cpu_total_pct: f64,
    /// Total RSS of its processes, in bytes.
    pub rss_total: u64,
    /// When the snapshot was collected (ms since the epoch).
    pub collected_at_ms: i64,
    /// Whether its agent has stopped sending process runs.
    pub stale: bool,
    /// Whether its agent was in real-time mode.
    pub realtime: bool,
    /// The host's logical CPUs, as its agent reported them.
    pub cpu_count: u32,
    /// The host's total memory in bytes, as its agent reported it.
    pub memory_total: u64,
    /// The version of the agent that sent the snapshot.
    pub agent_version: String,
    /// The host's operating system, as its agent describes it (e.g. `Debian GNU/Linux 12 (bookworm)`).
    pub os: String,
}

/// Why a chunk was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The chunk completed a run, which is now the host's snapshot.
    Completed,
    /// The chunk was kept; the run awaits more chunks.
    Pending,
    /// The chunk belongs to a run older than the snapshot; it was ignored.
    Outdated,
}

#[derive(Debug)]
struct PendingRun {
    run_id: u64,
    chunks: Vec<Option<Vec<ProcessRecord>>>,
}

#[derive(Debug, Default)]
struct HostState {
    snapshot: Option<Arc<Snapshot>>,
    pending: Option<PendingRun>,
}

#[derive(Debug, Default)]
struct Watches {
    everyone: Option<Instant>,
    hosts: HashMap<String, Instant>,
}

/// Every host's latest snapshot and the watches.
#[derive(Debug, Default)]
pub struct LiveProcesses {
    hosts: Mutex<HashMap<String, HostState>>,
    watches: Mutex<Watches>,
}

impl LiveProcesses {
    /// Takes one validated chunk.
    pub fn apply(&self, payload: ProcessPayload, received_at_ms: i64) -> Applied {
        self.apply_chunk(payload, received_at_ms, true)
    }

    /// Takes one validated chunk that carries no index (a stock Datadog process agent's
    /// `CollectorProc` says only its run's size): it fills the run's first missing chunk.
    pub fn apply_unnumbered(&self, payload: ProcessPayload, received_at_ms: i64) -> Applied {
        self.apply_chunk(payload, received_at_ms, false)
    }

    fn apply_chunk(&self, payload: ProcessPayload, received_at_ms: i64, numbered: bool) -> Applied {
        let mut hosts = self.hosts.lock().expect("live lock");
        let state = hosts.entry(payload.host.hostname.clone()).or_default();
        if state
            .snapshot
            .as_ref()
            .is_some_and(|s| s.outranks(payload.run_id, received_at_ms))
        {
            return Applied::Outdated;
        }
        let count = payload.chunk_count as usize;
        let index = payload.chunk_index as usize;
        let pending = match &mut state.pending {
            Some(p) if p.run_id == payload.run_id && p.chunks.len() == count => p,
            Some(p) if p.run_id > payload.run_id => return Applied::Outdated,
            slot => slot.insert(PendingRun {
                run_id: payload.run_id,
                chunks: vec![None; count],
            }),
        };
        let index = if numbered {
            index
        } else {
            match pending.chunks.iter().position(Option::is_none) {
                Some(free) => free,
                None => return Applied::Outdated,
            }
        };
        pending.chunks[index] = Some(payload.processes);
        if pending.chunks.iter().any(Option::is_none) {
            return Applied::Pending;
        }
        let chunks = state.pending.take().expect("pending run").chunks;
        // Indexing takes a while for a big host: do it without holding every host's lock.
        drop(hosts);
        let processes = chunks.into_iter().flatten().flatten().collect();
        let run = RunInfo {
            run_id: payload.run_id,
            collected_at_ms: payload.collected_at_ms,
            received_at_ms,
            interval_s: payload.interval_s,
            realtime: payload.realtime,
        };
        let snapshot = Arc::new(Snapshot::new(payload.host, run, processes));
        let mut hosts = self.hosts.lock().expect("live lock");
        let state = hosts.entry(snapshot.host.hostname.clone()).or_default();
        // Another run of this host may have completed meanwhile; the newer one stays.
        if state
            .snapshot
            .as_ref()
            .is_some_and(|s| s.outranks(snapshot.run_id, received_at_ms))
        {
            return Applied::Outdated;
        }
        state.snapshot = Some(snapshot);
        Applied::Completed
    }

    /// Changes `hostname`'s snapshot in place of a new run (real-time stats, container tags):
    /// `change` edits a copy of its processes and run, and the result replaces the snapshot
    /// unless another run replaced it meanwhile. False when the host has no snapshot.
    pub fn update(&self, hostname: &str, change: impl FnOnce(&mut Vec<ProcessRecord>, &mut RunInfo)) -> bool {
        let Some(current) = self.snapshot(hostname) else {
            return false;
        };
        let mut processes = current.processes.clone();
        let mut run = RunInfo {
            run_id: current.run_id,
            collected_at_ms: current.collected_at_ms,
            received_at_ms: current.received_at_ms,
            interval_s: current.interval_s,
            realtime: current.realtime,
        };
        change(&mut processes, &mut run);
        // Indexing takes a while for a big host: do it without holding every host's lock.
        let snapshot = Arc::new(Snapshot::new(current.host.clone(), run, processes));
        let mut hosts = self.hosts.lock().expect("live lock");
        match hosts.get_mut(hostname) {
            Some(state) if state.snapshot.as_ref().is_some_and(|s| Arc::ptr_eq(s, &current)) => {
                state.snapshot = Some(snapshot);
                true
            }
            _ => false,
        }
    }

    /// The latest snapshot of `hostname`.
    pub fn snapshot(&self, hostname: &str) -> Option<Arc<Snapshot>> {
        self.hosts.lock().expect("live lock").get(hostname)?.snapshot.clone()
    }

    /// The hostnames with a snapshot.
    pub fn hostnames(&self) -> Vec<String> {
        let hosts = self.hosts.lock().expect("live lock");
        hosts
            .iter()
            .filter(|(_, h)| h.snapshot.is_some())
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Every host's latest snapshot.
    pub fn snapshots(&self) -> Vec<Arc<Snapshot>> {
        let hosts = self.hosts.lock().expect("live lock");
        hosts.values().filter_map(|h| h.snapshot.clone()).collect()
    }

    /// A summary per host, sorted by hostname.
    pub fn summaries(&self, now_ms: i64) -> Vec<LiveHostSummary> {
        let mut summaries: Vec<_> = self
            .snapshots()
            .iter()
            .map(|s| LiveHostSummary {
                hostname: s.host.hostname.clone(),
                processes: s.processes.len(),
                cpu_total_pct: s.processes.iter().map(|p| f64::from(p.cpu_total_pct)).sum(),
                rss_total: s.processes.iter().map(|p| p.rss).sum(),
                collected_at_ms: s.collected_at_ms,
                stale: s.is_stale(now_ms),
                realtime: s.realtime,
                cpu_count: s.host.cpu_count,
                memory_total: s.host.memory_total,
                agent_version: s.host.agent_version.clone(),
                os: s.host.os.clone(),
            })
            .collect();
        summaries.sort_by(|a, b| a.hostname.cmp(&b.hostname));
        summaries
    }

    /// Marks `hosts` (or every host, now and to come, for `None`) as watched for
    /// [`WATCH_LEASE`] from `now`. Returns when the watch lapses.
    pub fn watch(&self, hosts: Option<&[String]>, now: Instant) -> Instant {
        let until = now + WATCH_LEASE;
        let mut watches = self.watches.lock().expect("watch lock");
        match hosts {
            None => watches.everyone = Some(until),
            Some(hosts) => {
                for host in hosts {
                    watches.hosts.insert(host.clone(), until);
                }
            }
        }
        watches.hosts.retain(|_, until| *until > now);
        until
    }

    /// What to answer `hostname`'s agent: watched or not, and the real-time interval.
    pub fn collector_status(&self, hostname: &str, now: Instant) -> CollectorStatus {
        let watches = self.watches.lock().expect("watch lock");
        let watched = watches.everyone.is_some_and(|until| until > now)
            || watches.hosts.get(hostname).is_some_and(|until| *until > now);
        CollectorStatus {
            active_clients: u32::from(watched),
            interval: REALTIME_INTERVAL_S,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str) -> HostInfo {
        HostInfo {
            hostname: name.into(),
            cpu_count: 2,
            cpu_model: String::new(),
            memory_total: 0,
            kernel: String::new(),
            os: String::new(),
            boot_time: 0,
            agent_version: "0".into(),
            tags: Vec::new(),
        }
    }

    fn record(pid: i32) -> ProcessRecord {
        ProcessRecord {
            pid,
            ppid: 1,
            pgroup: pid,
            user: "root".into(),
            uid: 0,
            gid: 0,
            name: "x".into(),
            cmdline: vec!["x".into()],
            exe: String::new(),
            cwd: String::new(),
            state: "S".into(),
            create_time_ms: 0,
            cpu_user_pct: 1.0,
            cpu_system_pct: 1.0,
            cpu_total_pct: 2.0,
            rss: 100,
            vms: 200,
            swap: 0,
            threads: 1,
            open_fds: -1,
            io_read_ops_rate: -1.0,
            io_write_ops_rate: -1.0,
            io_read_bytes_rate: -1.0,
            io_write_bytes_rate: -1.0,
            ctx_switches_voluntary: 0,
            ctx_switches_involuntary: 0,
            nice: 0,
            container_id: None,
            tags: Vec::new(),
        }
    }

    fn chunk(name: &str, run_id: u64, index: u32, count: u32, pids: &[i32]) -> ProcessPayload {
        ProcessPayload {
            host: host(name),
            run_id,
            chunk_count: count,
            chunk_index: index,
            collected_at_ms: 1000,
            interval_s: 10,
            realtime: false,
            total_processes: 0,
            processes: pids.iter().copied().map(record).collect(),
        }
    }

    #[test]
    fn a_run_replaces_the_snapshot_only_when_all_chunks_have_arrived() {
        let live = LiveProcesses::default();
        assert_eq!(live.apply(chunk("a", 1, 0, 1, &[1, 2]), 0), Applied::Completed);
        assert_eq!(live.snapshot("a").unwrap().processes.len(), 2);
        assert_eq!(live.apply(chunk("a", 2, 1, 2, &[4]), 0), Applied::Pending);
        assert_eq!(live.snapshot("a").unwrap().run_id, 1, "half a run is not shown");
        assert_eq!(live.apply(chunk("a", 2, 0, 2, &[3]), 0), Applied::Completed);
        let snapshot = live.snapshot("a").unwrap();
        assert_eq!(snapshot.run_id, 2);
        assert_eq!(snapshot.processes.iter().map(|p| p.pid).collect::<Vec<_>>(), vec![3, 4]);
    }

    #[test]
    fn unnumbered_chunks_fill_their_run_in_arrival_order_and_updates_replace_in_place() {
        let live = LiveProcesses::default();
        assert_eq!(live.apply_unnumbered(chunk("a", 3, 0, 2, &[1]), 0), Applied::Pending);
        assert_eq!(live.apply_unnumbered(chunk("a", 3, 0, 2, &[2]), 0), Applied::Completed);
        let before = live.snapshot("a").unwrap();
        assert_eq!(before.processes.iter().map(|p| p.pid).collect::<Vec<_>>(), vec![1, 2]);
        assert!(live.update("a", |processes, run| {
            processes[1].rss = 7;
            run.realtime = true;
        }));
        let after = live.snapshot("a").unwrap();
        assert_eq!((after.run_id, after.processes[1].rss, after.realtime), (3, 7, true));
        assert!(!live.update("nobody", |_, _| {}), "no snapshot, nothing to update");
    }

    #[test]
    fn older_runs_are_ignored_unless_the_snapshot_is_stale() {
        let live = LiveProcesses::default();
        live.apply(chunk("a", 5, 0, 1, &[1]), 0);
        assert_eq!(live.apply(chunk("a", 4, 0, 1, &[2]), 1000), Applied::Outdated);
        // A restarted agent whose clock went back is believed once the snapshot is stale.
        assert_eq!(live.apply(chunk("a", 4, 0, 1, &[2]), 60_000), Applied::Completed);
        assert_eq!(live.snapshot("a").unwrap().processes[0].pid, 2);
    }

    #[test]
    fn a_newer_run_abandons_an_incomplete_one() {
        let live = LiveProcesses::default();
        assert_eq!(live.apply(chunk("a", 1, 0, 2, &[1]), 0), Applied::Pending);
        assert_eq!(live.apply(chunk("a", 2, 0, 1, &[9]), 0), Applied::Completed);
        assert_eq!(live.apply(chunk("a", 1, 1, 2, &[2]), 0), Applied::Outdated);
        assert_eq!(live.snapshot("a").unwrap().processes[0].pid, 9);
    }

    #[test]
    fn summaries_total_each_host_and_mark_stale_ones() {
        let live = LiveProcesses::default();
        live.apply(chunk("b", 1, 0, 1, &[1, 2, 3]), 0);
        live.apply(chunk("a", 1, 0, 1, &[1]), 50_000);
        let summaries = live.summaries(55_000);
        assert_eq!(
            summaries.iter().map(|s| s.hostname.as_str()).collect::<Vec<_>>(),
            vec!["a", "b"]
        );
        assert_eq!((summaries[1].processes, summaries[1].rss_total), (3, 300));
        assert_eq!(summaries[1].cpu_total_pct, 6.0);
        assert!(summaries[1].stale && !summaries[0].stale);
    }

    #[test]
    fn watches_are_per_host_or_for_everyone_and_lapse() {
        let live = LiveProcesses::default();
        let now = Instant::now();
        assert_eq!(live.collector_status("a", now).active_clients, 0);
        live.watch(Some(&["a".to_string()]), now);
        assert_eq!(live.collector_status("a", now).active_clients, 1);
        assert_eq!(live.collector_status("b", now).active_clients, 0);
        live.watch(None, now);
        assert_eq!(live.collector_status("b", now).active_clients, 1);
        let later = now + WATCH_LEASE + Duration::from_secs(1);
        assert_eq!(live.collector_status("a", later).active_clients, 0);
        assert_eq!(live.collector_status("b", later).interval, REALTIME_INTERVAL_S);
    }
}
