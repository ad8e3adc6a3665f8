//! Runs checks on a schedule and forwards their output with `datadog.agent.up`.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use dogwatch_model::{CheckRun, CheckStatus, SeriesPayload, endpoints};
use serde::Serialize;

use super::{Check, CheckContext, CheckOutput};
use crate::forwarder::ForwarderHandle;
use crate::shutdown::Shutdown;
use crate::status::{StatusBlock, StatusProvider, StatusSection, format_time};

/// The agent's own service check, sent OK on every run, as Datadog's aggregator does.
pub const AGENT_UP_CHECK: &str = "datadog.agent.up";

/// Counters for one check, shown in the Collector section of `dogwatch status`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckStats {
    /// The check's version.
    pub version: String,
    /// Runs so far.
    pub total_runs: u64,
    /// Metric samples in the last run.
    pub metric_samples_last: u64,
    /// Metric samples in all runs.
    pub metric_samples_total: u64,
    /// Service checks in the last run.
    pub service_checks_last: u64,
    /// Service checks in all runs.
    pub service_checks_total: u64,
    /// Total run time, for the average.
    pub total_run_time: Duration,
    /// When it last ran.
    pub last_run: Option<SystemTime>,
    /// When it last succeeded.
    pub last_success: Option<SystemTime>,
    /// The last run's error, if it failed.
    pub last_error: Option<String>,
}

/// Shared per-check counters.
pub type CheckStatsMap = Arc<Mutex<BTreeMap<String, CheckStats>>>;

/// Runs a set of checks every `interval` and submits their output to the forwarder.
pub struct CheckRunner {
    checks: Vec<Box<dyn Check>>,
    ctx: CheckContext,
    interval: Duration,
    forwarder: ForwarderHandle,
    stats: CheckStatsMap,
}

impl CheckRunner {
    /// A runner for `checks`.
    pub fn new(
        checks: Vec<Box<dyn Check>>,
        ctx: CheckContext,
        interval: Duration,
        forwarder: ForwarderHandle,
    ) -> CheckRunner {
        CheckRunner {
            checks,
            ctx,
            interval,
            forwarder,
            stats: CheckStatsMap::default(),
        }
    }

    /// The counters, for the status section.
    pub fn stats(&self) -> CheckStatsMap {
        self.stats.clone()
    }

    /// Runs at once, then every interval, until `shutdown`.
    pub async fn run(mut self, mut shutdown: Shutdown) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => self.run_once(),
                _ = shutdown.wait() => return,
            }
        }
    }

    /// Runs every check once and submits the output.
    pub fn run_once(&mut self) {
        let mut all = CheckOutput::default();
        for check in &mut self.checks {
            let started = Instant::now();
            let result = check.run(&self.ctx);
            let elapsed = started.elapsed();
            let mut stats = self.stats.lock().expect("check stats lock");
            let entry = stats.entry(check.name().to_string()).or_default();
            entry.version = check.version().to_string();
            entry.total_runs += 1;
            entry.total_run_time += elapsed;
            entry.last_run = Some(SystemTime::now());
            match result {
                Ok(output) => {
                    entry.metric_samples_last = output.series.iter().map(|s| s.points.len() as u64).sum();
                    entry.metric_samples_total += entry.metric_samples_last;
                    entry.service_checks_last = output.service_checks.len() as u64;
                    entry.service_checks_total += entry.service_checks_last;
                    entry.last_success = entry.last_run;
                    entry.last_error = None;
                    all.series.extend(output.series);
                    all.service_checks.extend(output.service_checks);
                }
                Err(e) => {
                    tracing::warn!(check = check.name(), error = %e, "A check failed.");
                    entry.last_error = Some(e.to_string());
                }
            }
        }
        all.service_checks.push(CheckRun {
            check: AGENT_UP_CHECK.into(),
            host_name: self.ctx.hostname.clone(),
            timestamp: Some(super::unix_now() as i64),
            status: CheckStatus::Ok,
            message: String::new(),
            tags: self.ctx.host_tags.clone(),
        });
        if !all.series.is_empty() {
            self.forwarder
                .submit_json(endpoints::SERIES_V1, &SeriesPayload { series: all.series });
        }
        self.forwarder.submit_json(endpoints::CHECK_RUN_V1, &all.service_checks);
    }
}

/// The Collector section: one block per check, as `datadog-agent status` lists them.
pub struct CollectorStatus(pub CheckStatsMap);

impl StatusProvider for CollectorStatus {
    fn section(&self) -> Pin<Box<dyn Future<Output = StatusSection> + Send + '_>> {
        let stats = self.0.lock().expect("check stats lock").clone();
        Box::pin(async move {
            let mut block = StatusBlock::new("Running Checks");
            if stats.is_empty() {
                block = block.text("No checks have run yet");
            }
            for (name, s) in &stats {
                let state = if s.last_error.is_some() { "ERROR" } else { "OK" };
                let avg_ms = s.total_run_time.as_secs_f64() * 1000.0 / s.total_runs.max(1) as f64;
                block = block
                    .text(format!("{name} ({})", s.version))
                    .sub_line("Instance ID", format!("{name} [{state}]"))
                    .sub_line("Configuration Source", "built-in")
                    .sub_line("Total Runs", s.total_runs)
                    .sub_line(
                        "Metric Samples",
                        format!("Last Run: {}, Total: {}", s.metric_samples_last, s.metric_samples_total),
                    )
                    .sub_line(
                        "Service Checks",
                        format!("Last Run: {}, Total: {}", s.service_checks_last, s.service_checks_total),
                    )
                    .sub_line("Average Execution Time", format!("{avg_ms:.1}ms"))
                    .sub_line("Last Execution Date", format_time(s.last_run))
                    .sub_line("Last Successful Execution Date", format_time(s.last_success));
                if let Some(error) = &s.last_error {
                    block = block.sub_line("Error", error);
                }
            }
            StatusSection {
                title: "Collector".into(),
                blocks: vec![block],
            }
        })
    }
}
