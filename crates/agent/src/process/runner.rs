//! Runs the process collector on its schedule and sends its payloads.
//!
//! Every `process_config.intervals.process` seconds (10 by default) the collector runs and
//! its processes go to the server in chunks of `process_config.max_per_message`. While the
//! server's answer says someone is watching, runs come every real-time interval (2 s by
//! default, or what the server asks for), as Datadog's real-time mode does; the agent falls
//! back to the standard interval when the server says no one is watching, or after 30
//! minutes without an answer that renews it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use dogwatch_model::{CollectorAnswer, HostInfo, ProcessPayload, ProcessRecord, endpoints};

use super::collector::{Collection, CollectorSettings, ProcessCollector};
use super::procfs::HostPaths;
use super::{Blacklist, Scrubber, host};
use crate::config::AgentConfig;
use crate::forwarder::{ForwarderHandle, Payload};
use crate::shutdown::Shutdown;
use crate::status::{StatusBlock, StatusProvider, StatusSection, format_time, human_duration};

/// How long real-time mode lasts without a renewing answer.
pub const REALTIME_LEASE: Duration = Duration::from_secs(30 * 60);

/// The two intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intervals {
    /// Between runs normally (`process_config.intervals.process`, default 10 s).
    pub standard: Duration,
    /// Between runs in real-time mode when the server names none
    /// (`process_config.intervals.process_realtime`, default 2 s).
    pub realtime: Duration,
}

/// What the Processes status section shows.
#[derive(Debug, Clone, Default)]
pub struct ProcessStats {
    /// Runs so far, the priming run included.
    pub runs: u64,
    /// Processes reported by the last run.
    pub last_reported: usize,
    /// Processes tracked by the last run (kernel threads excluded).
    pub last_tracked: usize,
    /// Processes hidden by `blacklist_patterns` in the last run.
    pub last_blacklisted: usize,
    /// How long the last run took.
    pub last_duration: Duration,
    /// When the last run ended.
    pub last_run: Option<SystemTime>,
    /// The interval in force now.
    pub interval: Duration,
    /// Until when real-time mode lasts, if it is on.
    pub realtime_until: Option<SystemTime>,
    /// Payloads the server accepted.
    pub payloads_sent: u64,
    /// Runs or sends that failed.
    pub errors: u64,
    /// The last failure.
    pub last_error: Option<String>,
    /// Configuration warnings (rejected sensitive words, invalid blacklist patterns).
    pub warnings: Vec<String>,
}

/// Shared, updated after every run.
pub type SharedProcessStats = Arc<Mutex<ProcessStats>>;

/// Builds the collector and its host description from the configuration; also returns
/// the configuration warnings (rejected words and patterns), already logged.
pub fn build_collector(
    config: &AgentConfig,
    paths: HostPaths,
    hostname: &str,
    host_tags: &[String],
) -> (ProcessCollector, HostInfo, Vec<String>) {
    let process = &config.process_config;
    let (scrubber, mut warnings) = Scrubber::new(
        process.scrub_args,
        process.strip_proc_arguments,
        &process.custom_sensitive_words,
    );
    let (blacklist, blacklist_warnings) = Blacklist::new(&process.blacklist_patterns);
    warnings.extend(blacklist_warnings);
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    let info = host::host_info(&paths, hostname, host_tags);
    let collector = ProcessCollector::new(CollectorSettings {
        paths,
        host_tags: host_tags.to_vec(),
        scrubber,
        blacklist,
    });
    (collector, info, warnings)
}

/// Splits one run into payloads of at most `per_message` processes. A run with no
/// processes still makes one (empty) payload, so the server hears from the host.
pub fn chunk_payloads(
    host: &HostInfo,
    run_id: u64,
    processes: Vec<ProcessRecord>,
    per_message: usize,
    interval: Duration,
    realtime: bool,
) -> Vec<ProcessPayload> {
    let per_message = per_message.max(1);
    let total = processes.len();
    let chunk_count = total.div_ceil(per_message).max(1);
    let collected_at_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut processes = processes.into_iter();
    (0..chunk_count)
        .map(|index| ProcessPayload {
            host: host.clone(),
            run_id,
            chunk_count: chunk_count as u32,
            chunk_index: index as u32,
            collected_at_ms,
            interval_s: interval.as_secs().max(1) as u32,
            realtime,
            total_processes: total as u32,
            processes: processes.by_ref().take(per_message).collect(),
        })
        .collect()
}

/// Real-time mode: on while answers say someone watches, for at most [`REALTIME_LEASE`]
/// after the last such answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RealtimeMode {
    until: Option<Instant>,
    interval: Option<Duration>,
}

impl RealtimeMode {
    /// Applies the server's answers to one run's payloads: any watcher turns real-time on
    /// (and renews it); answers that all say no one watches turn it off.
    pub fn apply(&mut self, answers: &[CollectorAnswer], now: Instant) {
        if answers.is_empty() {
            return; // No answer: keep the current mode until its lease ends.
        }
        match answers
            .iter()
            .filter(|a| a.collector.active_clients > 0)
            .max_by_key(|a| a.collector.interval)
        {
            Some(answer) => {
                if self.until.is_none() {
                    tracing::info!("Someone is watching live processes; collecting in real time.");
                }
                self.until = Some(now + REALTIME_LEASE);
                self.interval =
                    (answer.collector.interval > 0).then(|| Duration::from_secs(answer.collector.interval.into()));
            }
            None => {
                if self.until.take().is_some() {
                    tracing::info!("No one is watching live processes any more; back to the standard interval.");
                }
            }
        }
    }

    /// The interval to wait before the next run; ends the mode when its lease has run out.
    pub fn next_interval(&mut self, intervals: Intervals, now: Instant) -> Duration {
        match self.until {
            Some(until) if now < until => self.interval.unwrap_or(intervals.realtime),
            Some(_) => {
                tracing::info!("Real-time mode was not renewed for 30 minutes; back to the standard interval.");
                self.until = None;
                intervals.standard
            }
            None => intervals.standard,
        }
    }

    /// Whether real-time mode is on.
    pub fn is_on(&self, now: Instant) -> bool {
        self.until.is_some_and(|until| now < until)
    }

    /// When the mode lapses, if it is on.
    pub fn until(&self) -> Option<Instant> {
        self.until
    }
}

/// The scheduled process check.
pub struct ProcessRunner {
    collector: ProcessCollector,
    host: HostInfo,
    forwarder: ForwarderHandle,
    intervals: Intervals,
    per_message: usize,
    stats: SharedProcessStats,
}

impl ProcessRunner {
    /// A runner for this configuration and host.
    pub fn new(
        config: &AgentConfig,
        paths: HostPaths,
        hostname: &str,
        host_tags: &[String],
        forwarder: ForwarderHandle,
    ) -> ProcessRunner {
        let (collector, host, mut warnings) = build_collector(config, paths, hostname, host_tags);
        let intervals = intervals(config);
        if !intervals
            .standard
            .as_secs()
            .is_multiple_of(intervals.realtime.as_secs())
        {
            let warning = format!(
                "process_config.intervals.process ({} s) is not a multiple of process_config.intervals.process_realtime ({} s), as Datadog requires; both are used as given",
                intervals.standard.as_secs(),
                intervals.realtime.as_secs()
            );
            tracing::warn!("{warning}");
            warnings.push(warning);
        }
        let stats = ProcessStats {
            interval: intervals.standard,
            warnings,
            ..ProcessStats::default()
        };
        ProcessRunner {
            collector,
            host,
            forwarder,
            intervals,
            per_message: config.process_config.max_per_message.clamp(1, 10_000) as usize,
            stats: Arc::new(Mutex::new(stats)),
        }
    }

    /// The counters the status section reads.
    pub fn stats(&self) -> SharedProcessStats {
        self.stats.clone()
    }

    /// Runs until `shutdown`.
    pub async fn run(self, mut shutdown: Shutdown) {
        let ProcessRunner {
            mut collector,
            host,
            forwarder,
            intervals,
            per_message,
            stats,
        } = self;
        let mut realtime = RealtimeMode::default();
        let mut run_id = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        loop {
            let started = tokio::time::Instant::now();
            let result = tokio::task::spawn_blocking(move || {
                let result = collector.collect();
                (collector, result)
            })
            .await;
            let outcome = match result {
                Ok((back, outcome)) => {
                    collector = back;
                    outcome
                }
                Err(e) => {
                    tracing::error!(error = %e, "The process collector crashed; process collection stops.");
                    return;
                }
            };
            run_id += 1;
            let interval_now = realtime.next_interval(intervals, Instant::now());
            match outcome {
                Ok(mut collection) => {
                    record_run(&mut stats.lock().expect("process stats lock"), &collection);
                    let sent = if collection.first_run {
                        Ok(Vec::new())
                    } else {
                        let payloads = chunk_payloads(
                            &host,
                            run_id,
                            std::mem::take(&mut collection.processes),
                            per_message,
                            interval_now,
                            realtime.is_on(Instant::now()),
                        );
                        // A slow or unreachable server must not hold up shutdown.
                        tokio::select! {
                            sent = send(&forwarder, payloads) => sent,
                            _ = shutdown.wait() => return,
                        }
                    };
                    let mut s = stats.lock().expect("process stats lock");
                    match sent {
                        Ok(answers) => {
                            s.payloads_sent += answers.len() as u64;
                            realtime.apply(&answers, Instant::now());
                        }
                        Err(error) => {
                            tracing::warn!(error = %error, "Cannot send live processes to the server; the next run will replace them.");
                            s.errors += 1;
                            s.last_error = Some(error);
                        }
                    }
                }
                Err(error) => {
                    tracing::error!(error = %error, "Process collection failed.");
                    let mut s = stats.lock().expect("process stats lock");
                    s.runs += 1;
                    s.errors += 1;
                    s.last_error = Some(error.to_string());
                }
            }
            let next = realtime.next_interval(intervals, Instant::now());
            {
                let mut s = stats.lock().expect("process stats lock");
                s.interval = next;
                s.realtime_until = realtime
                    .until()
                    .map(|until| SystemTime::now() + until.saturating_duration_since(Instant::now()));
            }
            tokio::select! {
                _ = tokio::time::sleep_until(started + next) => {}
                _ = shutdown.wait() => return,
            }
        }
    }
}

fn record_run(stats: &mut ProcessStats, collection: &Collection) {
    stats.runs += 1;
    stats.last_reported = collection.processes.len();
    stats.last_tracked = collection.tracked;
    stats.last_blacklisted = collection.blacklisted;
    stats.last_duration = collection.duration;
    stats.last_run = Some(SystemTime::now());
}

/// Sends a run's payloads; the answers of those delivered, or the first failure.
async fn send(forwarder: &ForwarderHandle, payloads: Vec<ProcessPayload>) -> Result<Vec<CollectorAnswer>, String> {
    let mut answers = Vec::with_capacity(payloads.len());
    for payload in payloads {
        let payload = Payload::json(endpoints::PROCESS_COLLECTOR, &payload, forwarder.compressor());
        let body = forwarder.send_live(payload).await.map_err(|e| e.to_string())?;
        match serde_json::from_slice::<CollectorAnswer>(&body) {
            Ok(answer) => answers.push(answer),
            Err(e) => return Err(format!("the server's answer is not a collector status: {e}")),
        }
    }
    Ok(answers)
}

/// The intervals from `process_config.intervals`.
pub fn intervals(config: &AgentConfig) -> Intervals {
    let i = &config.process_config.intervals;
    Intervals {
        standard: Duration::from_secs(i.process.max(1)),
        realtime: Duration::from_secs(i.process_realtime.max(1)),
    }
}

/// The Processes section of `dogwatch status`.
pub struct ProcessStatus {
    /// The runner's counters, or `None` when process collection is off.
    pub stats: Option<SharedProcessStats>,
}

impl StatusProvider for ProcessStatus {
    fn section(&self) -> Pin<Box<dyn Future<Output = StatusSection> + Send + '_>> {
        let stats = self
            .stats
            .as_ref()
            .map(|s| s.lock().expect("process stats lock").clone());
        Box::pin(async move {
            let Some(s) = stats else {
                return StatusSection {
                    title: "Processes".into(),
                    blocks: vec![StatusBlock::new("").text(
                        "Process collection is off (process_config.process_collection.enabled / DD_PROCESS_AGENT_ENABLED)",
                    )],
                };
            };
            let realtime = match s.realtime_until {
                Some(until) => format!("on (someone is watching; until {})", format_time(Some(until))),
                None => "off".into(),
            };
            let mut block = StatusBlock::new("")
                .line("Status", if s.runs == 0 { "Starting" } else { "Running" })
                .line("Processes collected", s.last_reported)
                .line("Processes tracked", s.last_tracked)
                .line("Blacklisted", s.last_blacklisted)
                .line("Total runs", s.runs)
                .line(
                    "Last run duration",
                    format!("{:.1}ms", s.last_duration.as_secs_f64() * 1000.0),
                )
                .line("Last run", format_time(s.last_run))
                .line("Interval", human_duration(s.interval.as_secs()))
                .line("Real-time", realtime)
                .line("Payloads sent", s.payloads_sent)
                .line("Errors", s.errors);
            if let Some(error) = &s.last_error {
                block = block.line("Last error", error);
            }
            if !s.warnings.is_empty() {
                block = block.text("Configuration warnings:");
                for warning in &s.warnings {
                    block = block.sub_line(warning, "");
                }
            }
            StatusSection {
                title: "Processes".into(),
                blocks: vec![block],
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dogwatch_model::CollectorStatus;

    fn answer(active_clients: u32, interval: u32) -> CollectorAnswer {
        CollectorAnswer {
            collector: CollectorStatus {
                active_clients,
                interval,
            },
        }
    }

    const INTERVALS: Intervals = Intervals {
        standard: Duration::from_secs(10),
        realtime: Duration::from_secs(2),
    };

    #[test]
    fn a_watcher_switches_to_real_time_and_no_watcher_switches_back() {
        let now = Instant::now();
        let mut mode = RealtimeMode::default();
        assert_eq!(mode.next_interval(INTERVALS, now), Duration::from_secs(10));
        mode.apply(&[answer(0, 0), answer(1, 2)], now);
        assert!(mode.is_on(now));
        assert_eq!(mode.next_interval(INTERVALS, now), Duration::from_secs(2));
        // No answer (server unreachable) keeps the mode.
        mode.apply(&[], now);
        assert!(mode.is_on(now));
        mode.apply(&[answer(0, 2)], now);
        assert!(!mode.is_on(now));
        assert_eq!(mode.next_interval(INTERVALS, now), Duration::from_secs(10));
    }

    #[test]
    fn real_time_lapses_after_thirty_minutes_without_renewal() {
        let now = Instant::now();
        let mut mode = RealtimeMode::default();
        mode.apply(&[answer(2, 0)], now);
        assert_eq!(
            mode.next_interval(INTERVALS, now + Duration::from_secs(60)),
            Duration::from_secs(2)
        );
        let later = now + REALTIME_LEASE + Duration::from_secs(1);
        assert_eq!(mode.next_interval(INTERVALS, later), Duration::from_secs(10));
        assert!(!mode.is_on(later));
    }

    #[test]
    fn the_server_may_name_the_real_time_interval() {
        let now = Instant::now();
        let mut mode = RealtimeMode::default();
        mode.apply(&[answer(1, 5)], now);
        assert_eq!(mode.next_interval(INTERVALS, now), Duration::from_secs(5));
    }

    fn record(pid: i32) -> ProcessRecord {
        serde_json::from_value(serde_json::json!({
            "pid": pid, "ppid": 1, "pgroup": pid, "user": "root", "uid": 0, "gid": 0, "name": "x",
            "cmdline": ["x"], "exe": "/x", "cwd": "/", "state": "S", "create_time_ms": 1,
            "cpu_user_pct": 0.0, "cpu_system_pct": 0.0, "cpu_total_pct": 0.0, "rss": 1, "vms": 1, "swap": 0,
            "threads": 1, "open_fds": -1, "io_read_ops_rate": -1.0, "io_write_ops_rate": -1.0,
            "io_read_bytes_rate": -1.0, "io_write_bytes_rate": -1.0, "ctx_switches_voluntary": 0,
            "ctx_switches_involuntary": 0, "nice": 0
        }))
        .unwrap()
    }

    #[test]
    fn runs_are_chunked_at_the_message_size() {
        let host: HostInfo = serde_json::from_value(serde_json::json!({
            "hostname": "h", "cpu_count": 1, "cpu_model": "", "memory_total": 0, "kernel": "", "os": "",
            "boot_time": 0, "agent_version": "0"
        }))
        .unwrap();
        let records: Vec<_> = (1..=250).map(record).collect();
        let chunks = chunk_payloads(&host, 7, records, 100, Duration::from_secs(10), false);
        assert_eq!(chunks.len(), 3);
        assert_eq!(
            chunks.iter().map(|c| c.processes.len()).collect::<Vec<_>>(),
            vec![100, 100, 50]
        );
        assert!(
            chunks
                .iter()
                .all(|c| c.chunk_count == 3 && c.run_id == 7 && c.total_processes == 250)
        );
        assert_eq!(chunks[2].chunk_index, 2);
        chunks.iter().for_each(|c| c.validate().unwrap());
        let empty = chunk_payloads(&host, 8, Vec::new(), 100, Duration::from_secs(10), false);
        assert_eq!(empty.len(), 1);
        assert!(empty[0].processes.is_empty());
    }
}
