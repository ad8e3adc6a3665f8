//! One collection run over `/proc`, with the state kept between runs.
//!
//! What cannot change for a (pid, start time) — command line, executable, working
//! directory, user, container, service tags — is read once, when the process is first
//! seen. Every later run reads only what moves: `stat` (CPU, state, memory, threads) and
//! `schedstat`; then `io`, the fd count and `status` (swap, context switches) only when the
//! process was scheduled since the last run (the comments in [`ProcessCollector::collect`]
//! say when exactly). CPU percent and IO rates are deltas against the previous run, so a
//! process is reported from the second run that sees it; the first run only primes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dogwatch_model::ProcessRecord;
use thiserror::Error;

use super::blacklist::Blacklist;
use super::container::container_id;
use super::procfs::{
    HostPaths, IoCounters, PF_KTHREAD, ProcReader, StatusFields, parse_cmdline, parse_host_stat, parse_io,
    parse_schedstat_slices, parse_service_tags, parse_stat, parse_status,
};
use super::scrub::{CACHE_MAX_RUNS, ScrubCache, Scrubber};
use super::users::UserNames;

/// Why a collection run failed as a whole.
#[derive(Debug, Error)]
pub enum CollectError {
    /// `/proc` itself could not be listed.
    #[error("cannot list processes in {path} (set HOST_PROC if the host's /proc is mounted elsewhere): {source}")]
    ProcUnreadable {
        /// The `/proc` directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `/proc/stat` could not be read or had no CPU line.
    #[error(
        "cannot read the host's CPU time from {path}/stat (set HOST_PROC if the host's /proc is mounted elsewhere)"
    )]
    HostStat {
        /// The `/proc` directory.
        path: String,
    },
}

/// The result of one run.
#[derive(Debug, Clone)]
pub struct Collection {
    /// The processes to report: those seen in the previous run too, minus blacklisted ones.
    pub processes: Vec<ProcessRecord>,
    /// Processes tracked this run, reported or not (kernel threads excluded).
    pub tracked: usize,
    /// Processes skipped by `process_config.blacklist_patterns`.
    pub blacklisted: usize,
    /// Reported processes whose `status` was read this run (the rest had not been scheduled).
    pub status_reads: usize,
    /// Reported processes whose `io` was read this run.
    pub io_reads: usize,
    /// Reported processes whose fds were counted this run.
    pub fd_reads: usize,
    /// How long the run took.
    pub duration: Duration,
    /// Whether this was the priming run (nothing reported).
    pub first_run: bool,
}

/// What the collector needs to know about the host and the configuration.
pub struct CollectorSettings {
    /// Where `/proc` and `/etc` are.
    pub paths: HostPaths,
    /// The host tags, added to every process.
    pub host_tags: Vec<String>,
    /// The argument scrubber (`process_config.scrub_args`, `custom_sensitive_words`,
    /// `strip_proc_arguments`).
    pub scrubber: Scrubber,
    /// `process_config.blacklist_patterns`.
    pub blacklist: Blacklist,
}

/// A process that has not been scheduled since `status` was last read still has its `status`
/// re-read after this many runs (one minute at the standard interval), for its swap.
pub const STATUS_REFRESH_RUNS: u64 = 6;

/// What is read once per (pid, start time).
#[derive(Debug)]
struct Statics {
    /// The command line as reported: scrubbed, or stripped.
    cmdline: Arc<[String]>,
    exe: String,
    cwd: String,
    user: String,
    container_id: Option<String>,
    /// `user`, `command`, service tags and host tags, sorted.
    tags: Vec<String>,
    /// Whether it is reported; hidden processes are tracked so they are not re-read.
    visibility: Visibility,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visibility {
    Reported,
    KernelThread,
    Blacklisted,
}

#[derive(Debug)]
struct Known {
    create_time_ms: i64,
    utime: u64,
    stime: u64,
    io: Option<IoCounters>,
    statics: Arc<Statics>,
    seen_in_run: u64,
    /// The last `status` read, and the run it was read in.
    status: StatusFields,
    status_run: u64,
    /// Times scheduled, from `schedstat`, when it could be read.
    slices: Option<u64>,
    /// The fd count of the last run that reported the process.
    open_fds: Option<i32>,
}

/// Collects live processes; keep one for the agent's lifetime so runs can take deltas.
pub struct ProcessCollector {
    reader: ProcReader,
    paths: HostPaths,
    users: UserNames,
    scrubber: Scrubber,
    scrub_cache: ScrubCache,
    blacklist: Blacklist,
    host_tags: Vec<String>,
    clock_ticks: u64,
    page_size: u64,
    known: HashMap<i32, Known>,
    previous: Option<(u64, Instant)>,
    runs: u64,
}

impl ProcessCollector {
    /// A collector that has not run yet.
    pub fn new(settings: CollectorSettings) -> ProcessCollector {
        let mut host_tags = settings.host_tags;
        host_tags.sort();
        host_tags.dedup();
        ProcessCollector {
            reader: ProcReader::new(&settings.paths.proc),
            users: UserNames::new(&settings.paths.etc),
            paths: settings.paths,
            scrubber: settings.scrubber,
            scrub_cache: ScrubCache::new(),
            blacklist: settings.blacklist,
            host_tags,
            clock_ticks: rustix::param::clock_ticks_per_second().max(1),
            page_size: rustix::param::page_size() as u64,
            known: HashMap::new(),
            previous: None,
            runs: 0,
        }
    }

    /// The host paths this collector reads.
    pub fn paths(&self) -> &HostPaths {
        &self.paths
    }

    /// Runs once. The first run only primes and reports nothing.
    pub fn collect(&mut self) -> Result<Collection, CollectError> {
        let started = Instant::now();
        let proc_path = || self.paths.proc.display().to_string();
        let host = match self.reader.read(None, "stat") {
            Ok(text) => parse_host_stat(text),
            Err(_) => return Err(CollectError::HostStat { path: proc_path() }),
        };
        if host.total_ticks == 0 {
            return Err(CollectError::HostStat { path: proc_path() });
        }
        let pids = self.reader.pids().map_err(|source| CollectError::ProcUnreadable {
            path: proc_path(),
            source,
        })?;
        self.users.refresh();
        self.runs += 1;
        let run = self.runs;
        let now = Instant::now();
        let cpu_count = f64::from(host.cpu_count.max(1));
        let (host_delta, elapsed) = match self.previous {
            Some((ticks, at)) => (
                host.total_ticks.saturating_sub(ticks) as f64,
                now.duration_since(at).as_secs_f64(),
            ),
            None => (0.0, 0.0),
        };
        let first_run = self.previous.is_none();
        let refresh_statics = run.is_multiple_of(u64::from(CACHE_MAX_RUNS));

        let mut processes = Vec::with_capacity(self.known.len());
        let mut tracked = 0;
        let mut blacklisted = 0;
        let mut status_reads = 0;
        let mut io_reads = 0;
        let mut fd_reads = 0;
        for pid in pids {
            let Some(stat) = self.reader.read(Some(pid), "stat").ok().and_then(parse_stat) else {
                continue; // Gone since the listing.
            };
            let create_time_ms = ((stat.starttime / self.clock_ticks) as i64 + host.boot_time) * 1000;
            let previous = self.known.remove(&pid).filter(|k| k.create_time_ms == create_time_ms);
            let Some(mut known) = previous else {
                // First sight: read what will not change, report from the next run.
                let (statics, status) = self.read_statics(pid, create_time_ms, stat.flags);
                let reported = statics.visibility == Visibility::Reported;
                tracked += usize::from(statics.visibility != Visibility::KernelThread);
                let io = if reported { self.read_io(pid) } else { None };
                let slices = if reported { self.read_slices(pid) } else { None };
                self.known.insert(
                    pid,
                    Known {
                        create_time_ms,
                        utime: stat.utime,
                        stime: stat.stime,
                        io,
                        statics: Arc::new(statics),
                        seen_in_run: run,
                        status,
                        status_run: run,
                        slices,
                        open_fds: None,
                    },
                );
                continue;
            };
            known.seen_in_run = run;
            if refresh_statics {
                // Every CACHE_MAX_RUNS runs the static fields are read again, as the scrub
                // cache is emptied: a process that exec'd or changed directory is seen then.
                let (statics, status) = self.read_statics(pid, create_time_ms, stat.flags);
                known.statics = Arc::new(statics);
                known.status = status;
                known.status_run = run;
            }
            match known.statics.visibility {
                Visibility::Reported => {}
                Visibility::KernelThread => {
                    self.known.insert(pid, known);
                    continue;
                }
                Visibility::Blacklisted => {
                    tracked += 1;
                    blacklisted += 1;
                    self.known.insert(pid, known);
                    continue;
                }
            }
            tracked += 1;
            // What moves only while a process runs is re-read only if it ran. `schedstat`
            // counts the times the main thread was scheduled. `status`'s context switches
            // are the main thread's too, so they follow it; `io` and the fd table belong to
            // every thread, so they follow it only for single-threaded processes. Swap can
            // move without the process running: `status` is re-read at least every
            // STATUS_REFRESH_RUNS runs regardless.
            let slices = self.read_slices(pid);
            let ran = slices.is_none() || slices != known.slices;
            let alone_idle = !ran && stat.num_threads <= 1;
            let io = match known.io {
                Some(io) if alone_idle => Some(io),
                _ => {
                    io_reads += 1;
                    self.read_io(pid)
                }
            };
            let open_fds = match known.open_fds {
                Some(fds) if alone_idle => fds,
                _ => {
                    fd_reads += 1;
                    self.reader.count_fds(pid).unwrap_or(-1)
                }
            };
            if known.status_run != run
                && (ran || run - known.status_run >= STATUS_REFRESH_RUNS)
                && let Ok(text) = self.reader.read(Some(pid), "status")
            {
                known.status = parse_status(text);
                known.status_run = run;
                status_reads += 1;
            }
            let statics = &known.statics;
            let status = &known.status;
            let pct = |delta: u64| cpu_percent(delta as f64, host_delta, cpu_count);
            let d_user = stat.utime.saturating_sub(known.utime);
            let d_system = stat.stime.saturating_sub(known.stime);
            let rate = |now: Option<u64>, before: Option<u64>| io_rate(now, before, elapsed);
            let (cur, prev) = (io, known.io);
            processes.push(ProcessRecord {
                pid,
                ppid: stat.ppid,
                pgroup: stat.pgrp,
                user: statics.user.clone(),
                uid: status.uid,
                gid: status.gid,
                name: stat.comm.clone(),
                cmdline: statics.cmdline.to_vec(),
                exe: statics.exe.clone(),
                cwd: statics.cwd.clone(),
                state: char::from(stat.state).to_string(),
                create_time_ms,
                cpu_user_pct: pct(d_user),
                cpu_system_pct: pct(d_system),
                cpu_total_pct: pct(d_user + d_system),
                rss: stat.rss_pages * self.page_size,
                vms: stat.vsize,
                swap: status.swap,
                threads: stat.num_threads,
                open_fds,
                io_read_ops_rate: rate(cur.map(|c| c.syscr), prev.map(|p| p.syscr)),
                io_write_ops_rate: rate(cur.map(|c| c.syscw), prev.map(|p| p.syscw)),
                io_read_bytes_rate: rate(cur.map(|c| c.read_bytes), prev.map(|p| p.read_bytes)),
                io_write_bytes_rate: rate(cur.map(|c| c.write_bytes), prev.map(|p| p.write_bytes)),
                ctx_switches_voluntary: status.voluntary_ctxt_switches,
                ctx_switches_involuntary: status.nonvoluntary_ctxt_switches,
                nice: stat.nice,
                container_id: statics.container_id.clone(),
                tags: statics.tags.clone(),
            });
            known.utime = stat.utime;
            known.stime = stat.stime;
            known.io = io;
            known.open_fds = Some(open_fds);
            known.slices = slices;
            self.known.insert(pid, known);
        }
        // Processes that were not seen this run have exited.
        self.known.retain(|_, k| k.seen_in_run == run);
        self.scrub_cache.end_run();
        self.previous = Some((host.total_ticks, now));
        if first_run {
            processes.clear();
        }
        Ok(Collection {
            processes,
            tracked,
            blacklisted,
            status_reads,
            io_reads,
            fd_reads,
            duration: started.elapsed(),
            first_run,
        })
    }

    /// Reads what does not change for this (pid, start time), and `status`.
    fn read_statics(&mut self, pid: i32, create_time_ms: i64, flags: u64) -> (Statics, StatusFields) {
        let argv = self
            .reader
            .read(Some(pid), "cmdline")
            .map(parse_cmdline)
            .unwrap_or_default();
        if flags & PF_KTHREAD != 0 && argv.is_empty() {
            let statics = Statics {
                cmdline: Arc::from(Vec::new()),
                exe: String::new(),
                cwd: String::new(),
                user: String::new(),
                container_id: None,
                tags: Vec::new(),
                visibility: Visibility::KernelThread,
            };
            return (statics, StatusFields::default());
        }
        let exe = self.reader.read_link(pid, "exe").unwrap_or_default();
        let cwd = self.reader.read_link(pid, "cwd").unwrap_or_default();
        let status = self
            .reader
            .read(Some(pid), "status")
            .map(parse_status)
            .unwrap_or_default();
        let user = self.users.name(status.uid);
        let container_id = self
            .reader
            .read(Some(pid), "cgroup")
            .ok()
            .and_then(|text| container_id(&String::from_utf8_lossy(text)));
        let service_tags = self
            .reader
            .read(Some(pid), "environ")
            .map(parse_service_tags)
            .unwrap_or_default();
        let visibility = if self.blacklist.is_blacklisted(&argv, &exe) {
            Visibility::Blacklisted
        } else {
            Visibility::Reported
        };
        // The blacklist sees the raw command line, as Datadog's does; only then is it scrubbed.
        let cmdline = match visibility {
            Visibility::Reported => self
                .scrub_cache
                .get_or_scrub(&self.scrubber, pid, create_time_ms, &argv),
            _ => Arc::from(Vec::new()),
        };
        let command = command_name(&exe, &argv);
        let mut tags = self.host_tags.clone();
        tags.push(format!("user:{user}"));
        if !command.is_empty() {
            tags.push(format!("command:{command}"));
        }
        tags.extend(service_tags);
        tags.sort();
        tags.dedup();
        let statics = Statics {
            cmdline,
            exe,
            cwd,
            user,
            container_id,
            tags,
            visibility,
        };
        (statics, status)
    }

    fn read_io(&mut self, pid: i32) -> Option<IoCounters> {
        self.reader.read(Some(pid), "io").ok().map(parse_io)
    }

    fn read_slices(&mut self, pid: i32) -> Option<u64> {
        self.reader
            .read(Some(pid), "schedstat")
            .ok()
            .and_then(parse_schedstat_slices)
    }
}

/// The `command` tag: the executable's base name. When the executable cannot be read (a
/// process of another user), argv[0]'s first word, so a daemon that rewrote its title
/// (`nginx: master process`, `postgres: checkpointer`) still gets its name.
fn command_name(exe: &str, argv: &[String]) -> String {
    let path = if exe.is_empty() {
        let first = argv.first().and_then(|a| a.split(' ').next()).unwrap_or("");
        first.strip_suffix(':').unwrap_or(first)
    } else {
        exe.strip_suffix(" (deleted)").unwrap_or(exe)
    };
    path.rsplit('/').next().unwrap_or("").to_string()
}

/// Percent of one core, as Datadog computes it: the share of all CPUs' time, capped at
/// 100 %, times the number of CPUs.
pub fn cpu_percent(process_delta: f64, host_delta: f64, cpu_count: f64) -> f32 {
    if host_delta <= 0.0 {
        return 0.0;
    }
    let overall = (process_delta / host_delta * 100.0).min(100.0);
    (overall * cpu_count).max(0.0) as f32
}

/// A per-second rate between runs: -1 when unreadable now, 0 when there is no usable
/// previous value (none, 0, or larger than now) or no time passed.
pub fn io_rate(now: Option<u64>, before: Option<u64>, elapsed_s: f64) -> f32 {
    let Some(now) = now else {
        return -1.0;
    };
    match before {
        Some(before) if before != 0 && before <= now && elapsed_s > 0.0 => ((now - before) as f64 / elapsed_s) as f32,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_percent_is_per_core_and_capped() {
        // A busy loop on one of two CPUs: half of all CPU time, reported as 100 %.
        assert_eq!(cpu_percent(100.0, 200.0, 2.0), 100.0);
        assert_eq!(cpu_percent(50.0, 200.0, 2.0), 50.0);
        // More process time than host time is nonsense; capped at 100 % of all CPUs.
        assert_eq!(cpu_percent(500.0, 200.0, 2.0), 200.0);
        assert_eq!(cpu_percent(10.0, 0.0, 2.0), 0.0);
    }

    #[test]
    fn io_rates_follow_datadogs_rules() {
        assert_eq!(io_rate(None, Some(10), 1.0), -1.0);
        assert_eq!(io_rate(Some(30), Some(10), 2.0), 10.0);
        assert_eq!(io_rate(Some(30), Some(0), 2.0), 0.0);
        assert_eq!(io_rate(Some(5), Some(10), 2.0), 0.0);
        assert_eq!(io_rate(Some(30), Some(10), 0.0), 0.0);
        assert_eq!(io_rate(Some(30), None, 2.0), 0.0);
    }

    #[test]
    fn the_command_tag_is_the_executables_base_name() {
        let argv = vec!["python3 -m http.server".to_string()];
        assert_eq!(command_name("/usr/bin/python3.11", &argv), "python3.11");
        assert_eq!(command_name("", &argv), "python3");
        assert_eq!(
            command_name("", &["nginx: master process /usr/sbin/nginx".to_string()]),
            "nginx"
        );
        assert_eq!(command_name("/opt/app/server (deleted)", &[]), "server");
        assert_eq!(command_name("", &[]), "");
    }
}
