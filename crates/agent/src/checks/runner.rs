//! Runs check instances on their schedules and forwards what they produce.
//!
//! Each instance has its own task that ticks at its `min_collection_interval` and runs the
//! check on tokio's blocking pool, so a slow check holds up no other. A run that panics or
//! fails is recorded (status shows the error) and the next run goes ahead as usual. A run
//! still going after its time limit (the interval) is reported as an error; the instance's
//! later runs are skipped until it returns. Every `check_interval` the agent's own
//! `datadog.agent.up` service check is sent, as Datadog's aggregator sends it.
//!
//! What the runs produce goes to one outbox task, which sends everything that arrives within
//! [`COALESCE`] of the first output as one series payload (and one of service checks, one of
//! events), as Datadog's aggregator flushes all checks together: instances with the same
//! interval run at the same moment, so a round of the core checks is two requests, not
//! sixteen.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use dogwatch_model::{CheckRun, CheckStatus, Event, SeriesPayload, endpoints};
use serde::Serialize;

use super::sender::{Sender, SenderSettings};
use super::{Check, CheckInstance, CheckOutput, CheckPlan};
use crate::dogstatsd::aggregate::HistogramAggregate;
use crate::forwarder::ForwarderHandle;
use crate::shutdown::Shutdown;
use crate::status::{StatusBlock, StatusProvider, StatusSection, format_time, thousands};

/// The agent's own service check, sent OK every `check_interval`, as Datadog's aggregator does.
pub const AGENT_UP_CHECK: &str = "datadog.agent.up";

/// How long the outbox waits after a first output for others of the same round.
pub const COALESCE: Duration = Duration::from_millis(300);

/// How many recent run times make the status's average (Datadog's stats.go keeps 32).
const RECENT_RUNS: usize = 32;

/// Counters for one instance, shown in the Collector section of `dogwatch status`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InstanceStats {
    /// The check's name.
    pub check: String,
    /// The check's version.
    pub version: String,
    /// Where its configuration came from.
    pub source: String,
    /// Runs so far.
    pub total_runs: u64,
    /// Metric samples in the last run.
    pub metric_samples_last: u64,
    /// Metric samples in all runs.
    pub metric_samples_total: u64,
    /// Events in the last run.
    pub events_last: u64,
    /// Events in all runs.
    pub events_total: u64,
    /// Service checks in the last run.
    pub service_checks_last: u64,
    /// Service checks in all runs.
    pub service_checks_total: u64,
    /// The last runs' durations, for the average.
    #[serde(skip)]
    pub recent: VecDeque<Duration>,
    /// When it last ran.
    pub last_run: Option<SystemTime>,
    /// When it last succeeded.
    pub last_success: Option<SystemTime>,
    /// The last run's error, if it failed.
    pub last_error: Option<String>,
    /// The last run's warnings.
    pub warnings: Vec<String>,
    /// Metadata the check set (`version.raw`, …).
    pub metadata: BTreeMap<String, String>,
}

impl InstanceStats {
    /// `OK`, `WARNING` or `ERROR`, as Datadog's status marks an instance.
    pub fn state(&self) -> &'static str {
        if self.last_error.is_some() {
            "ERROR"
        } else if !self.warnings.is_empty() {
            "WARNING"
        } else {
            "OK"
        }
    }

    /// The mean of the recent run times.
    pub fn average_run_time(&self) -> Duration {
        if self.recent.is_empty() {
            return Duration::ZERO;
        }
        self.recent.iter().sum::<Duration>() / self.recent.len() as u32
    }
}

/// What the Collector knows: every instance's counters, and the configs it could not use.
#[derive(Debug, Clone, Default)]
pub struct CollectorState {
    /// Instances by ID.
    pub instances: BTreeMap<String, InstanceStats>,
    /// Config errors by check name.
    pub config_errors: BTreeMap<String, String>,
    /// Loading errors by check name.
    pub loading_errors: BTreeMap<String, String>,
}

/// Shared collector state.
pub type CollectorStats = Arc<Mutex<CollectorState>>;

/// Agent-wide settings every instance's sender gets.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// The agent's hostname.
    pub hostname: String,
    /// Host tags, added to everything.
    pub host_tags: Vec<String>,
    /// `histogram_aggregates`.
    pub histogram_aggregates: Vec<HistogramAggregate>,
    /// `histogram_percentiles`.
    pub histogram_percentiles: Vec<f64>,
    /// Seconds between `datadog.agent.up` service checks (`check_interval`).
    pub agent_up_interval: Duration,
}

impl RunnerSettings {
    /// The sender for an instance with these instance tags and interval.
    pub fn sender_for(&self, instance: &CheckInstance) -> Sender {
        let mut tags = self.host_tags.clone();
        for tag in &instance.options.tags {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        let mut settings = SenderSettings::new(self.hostname.clone(), tags, instance.options.interval.as_secs().max(1));
        settings.empty_default_hostname = instance.options.empty_default_hostname;
        settings.histogram_aggregates = self.histogram_aggregates.clone();
        settings.histogram_percentiles = self.histogram_percentiles.clone();
        Sender::new(settings)
    }
}

/// The outcome of one run.
pub struct RunOutcome {
    /// What it produced, or its error.
    pub result: Result<CheckOutput, String>,
    /// Warnings it raised.
    pub warnings: Vec<String>,
    /// How long it took.
    pub elapsed: Duration,
}

/// Runs `check` once through `sender` and commits, catching a panic as an error.
pub fn run_once(check: &mut dyn Check, sender: &mut Sender) -> RunOutcome {
    let started = Instant::now();
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| check.run(sender)));
    let elapsed = started.elapsed();
    match result {
        Ok(Ok(())) => {
            let (output, warnings) = sender.commit(super::unix_now());
            RunOutcome {
                result: Ok(output),
                warnings,
                elapsed,
            }
        }
        Ok(Err(e)) => RunOutcome {
            warnings: sender.discard(),
            result: Err(e.to_string()),
            elapsed,
        },
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            RunOutcome {
                warnings: sender.discard(),
                result: Err(format!("the check panicked: {what}")),
                elapsed,
            }
        }
    }
}

/// Runs a plan's instances on their schedules and submits their output to the forwarder.
pub struct CheckRunner {
    instances: Vec<CheckInstance>,
    settings: RunnerSettings,
    forwarder: ForwarderHandle,
    stats: CollectorStats,
}

impl CheckRunner {
    /// A runner for `plan`; its config and loading errors go straight to the status.
    pub fn new(plan: CheckPlan, settings: RunnerSettings, forwarder: ForwarderHandle) -> CheckRunner {
        let mut state = CollectorState {
            config_errors: plan.config_errors,
            loading_errors: plan.loading_errors,
            ..CollectorState::default()
        };
        for instance in &plan.instances {
            state.instances.insert(
                instance.id.clone(),
                InstanceStats {
                    check: instance.name.clone(),
                    version: instance.version.clone(),
                    source: instance.source.clone(),
                    ..InstanceStats::default()
                },
            );
        }
        CheckRunner {
            instances: plan.instances,
            settings,
            forwarder,
            stats: Arc::new(Mutex::new(state)),
        }
    }

    /// The counters, for the status section and host metadata.
    pub fn stats(&self) -> CollectorStats {
        self.stats.clone()
    }

    /// Sends the agent's start event, then runs every instance and `datadog.agent.up` until
    /// `shutdown`.
    pub async fn run(self, shutdown: Shutdown) {
        self.forwarder
            .submit_json(endpoints::EVENTS_V1, &[start_event(&self.settings)]);
        let (outbox, outputs) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for instance in self.instances {
            let sender = self.settings.sender_for(&instance);
            tasks.push(tokio::spawn(run_instance(
                instance,
                sender,
                outbox.clone(),
                self.stats.clone(),
                shutdown.clone(),
            )));
        }
        tasks.push(tokio::spawn(send_agent_up(self.settings.clone(), outbox, shutdown)));
        let flusher = tokio::spawn(flush_outputs(outputs, self.forwarder.clone()));
        for task in tasks {
            let _ = task.await;
        }
        // Every sender is gone now: the outbox sends what it holds and ends.
        let _ = flusher.await;
    }
}

/// Sends outputs as they come, each batch being what arrives within [`COALESCE`] of its first;
/// ends when every instance task has stopped.
async fn flush_outputs(mut outputs: tokio::sync::mpsc::UnboundedReceiver<CheckOutput>, forwarder: ForwarderHandle) {
    while let Some(mut batch) = outputs.recv().await {
        let deadline = tokio::time::Instant::now() + COALESCE;
        while let Ok(Some(more)) = tokio::time::timeout_at(deadline, outputs.recv()).await {
            batch.series.extend(more.series);
            batch.service_checks.extend(more.service_checks);
            batch.events.extend(more.events);
        }
        submit(&forwarder, &batch);
    }
}

/// "Datadog-compatible agent started on <host>", which the Events page shows when an agent
/// comes up.
fn start_event(settings: &RunnerSettings) -> Event {
    Event {
        title: format!("Datadog-compatible agent started on {}", settings.hostname),
        text: format!(
            "dogwatch agent {} started on {}.",
            dogwatch_model::VERSION,
            settings.hostname
        ),
        date_happened: Some(super::unix_now() as i64),
        priority: dogwatch_model::EventPriority::Normal,
        host: Some(settings.hostname.clone()),
        tags: settings.host_tags.clone(),
        alert_type: dogwatch_model::AlertType::Info,
        aggregation_key: Some("dogwatch-agent-start".into()),
        source_type_name: Some("dogwatch".into()),
    }
}

async fn send_agent_up(settings: RunnerSettings, outbox: Outbox, mut shutdown: Shutdown) {
    let mut ticker = tokio::time::interval(settings.agent_up_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.wait() => return,
        }
        let run = CheckRun {
            check: AGENT_UP_CHECK.into(),
            host_name: settings.hostname.clone(),
            timestamp: Some(super::unix_now() as i64),
            status: CheckStatus::Ok,
            message: String::new(),
            tags: settings.host_tags.clone(),
        };
        let _ = outbox.send(CheckOutput {
            service_checks: vec![run],
            ..CheckOutput::default()
        });
    }
}

type Parts = (Box<dyn Check>, Sender);

/// Where instance tasks put what their runs produced.
type Outbox = tokio::sync::mpsc::UnboundedSender<CheckOutput>;

async fn run_instance(
    instance: CheckInstance,
    sender: Sender,
    outbox: Outbox,
    stats: CollectorStats,
    mut shutdown: Shutdown,
) {
    let id = instance.id.clone();
    let limit = instance.options.interval;
    let mut ticker = tokio::time::interval(limit);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut parts: Option<Parts> = Some((instance.check, sender));
    let mut late: Option<tokio::task::JoinHandle<(Parts, RunOutcome)>> = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.wait() => return,
        }
        if let Some(handle) = late.take() {
            if !handle.is_finished() {
                late = Some(handle);
                tracing::warn!(check = %id, "A check is still running past its time limit; this run is skipped.");
                continue;
            }
            // The overdue run's output is too old to send; take the check back.
            if let Ok((back, _)) = handle.await {
                parts = Some(back);
            }
        }
        let Some((mut check, mut sender)) = parts.take() else {
            tracing::error!(check = %id, "A check was lost after a failed run; it will not run again.");
            return;
        };
        let mut handle = tokio::task::spawn_blocking(move || {
            let outcome = run_once(check.as_mut(), &mut sender);
            ((check, sender), outcome)
        });
        let (back, outcome) = match tokio::time::timeout(limit, &mut handle).await {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => {
                record(
                    &stats,
                    &id,
                    Err(format!("the check's task failed: {e}")),
                    Vec::new(),
                    limit,
                    None,
                );
                return;
            }
            Err(_) => {
                let message = format!(
                    "the run took longer than its time limit of {}s and was left running; later runs are skipped until it returns",
                    limit.as_secs_f64()
                );
                tracing::warn!(check = %id, "A check run went past its time limit.");
                record(&stats, &id, Err(message), Vec::new(), limit, None);
                late = Some(handle);
                continue;
            }
        };
        let mut back = back;
        let metadata = Some(back.1.metadata().clone());
        let failed_service_checks = back.1.take_failed_service_checks();
        if !failed_service_checks.is_empty() {
            let _ = outbox.send(CheckOutput {
                service_checks: failed_service_checks,
                ..CheckOutput::default()
            });
        }
        parts = Some(back);
        if let Err(e) = &outcome.result {
            tracing::warn!(check = %id, error = %e, "A check run failed.");
        }
        if let Ok(output) = &outcome.result {
            let _ = outbox.send(output.clone());
        }
        record(&stats, &id, outcome.result, outcome.warnings, outcome.elapsed, metadata);
    }
}

/// Sends a run's series, service checks and events.
pub fn submit(forwarder: &ForwarderHandle, output: &CheckOutput) {
    if !output.series.is_empty() {
        forwarder.submit_json(
            endpoints::SERIES_V1,
            &SeriesPayload {
                series: output.series.clone(),
            },
        );
    }
    if !output.service_checks.is_empty() {
        forwarder.submit_json(endpoints::CHECK_RUN_V1, &output.service_checks);
    }
    if !output.events.is_empty() {
        forwarder.submit_json(endpoints::EVENTS_V1, &output.events);
    }
}

fn record(
    stats: &CollectorStats,
    id: &str,
    result: Result<CheckOutput, String>,
    warnings: Vec<String>,
    elapsed: Duration,
    metadata: Option<BTreeMap<String, String>>,
) {
    let mut state = stats.lock().expect("collector stats lock");
    let Some(entry) = state.instances.get_mut(id) else {
        return;
    };
    entry.total_runs += 1;
    entry.recent.push_back(elapsed);
    if entry.recent.len() > RECENT_RUNS {
        entry.recent.pop_front();
    }
    entry.last_run = Some(SystemTime::now());
    entry.warnings = warnings;
    if let Some(metadata) = metadata {
        entry.metadata = metadata;
    }
    match result {
        Ok(output) => {
            entry.metric_samples_last = output.series.iter().map(|s| s.points.len() as u64).sum();
            entry.metric_samples_total += entry.metric_samples_last;
            entry.events_last = output.events.len() as u64;
            entry.events_total += entry.events_last;
            entry.service_checks_last = output.service_checks.len() as u64;
            entry.service_checks_total += entry.service_checks_last;
            entry.last_success = entry.last_run;
            entry.last_error = None;
        }
        Err(e) => {
            entry.metric_samples_last = 0;
            entry.events_last = 0;
            entry.service_checks_last = 0;
            entry.last_error = Some(e);
        }
    }
}

/// The Collector section, in the layout of Datadog's collector.tmpl: Running Checks (per check,
/// per instance), then Config Errors and Loading Errors.
pub struct CollectorStatus(pub CollectorStats);

impl StatusProvider for CollectorStatus {
    fn section(&self) -> Pin<Box<dyn Future<Output = StatusSection> + Send + '_>> {
        let state = self.0.lock().expect("collector stats lock").clone();
        Box::pin(async move {
            StatusSection {
                title: "Collector".into(),
                blocks: collector_blocks(&state),
            }
        })
    }
}

/// The Collector section's blocks.
pub fn collector_blocks(state: &CollectorState) -> Vec<StatusBlock> {
    let mut running = StatusBlock::new("Running Checks");
    if state.instances.is_empty() {
        running = running.text("No checks have run yet");
    }
    let mut by_check: BTreeMap<(&str, &str), Vec<(&String, &InstanceStats)>> = BTreeMap::new();
    for (id, s) in &state.instances {
        by_check.entry((&s.check, &s.version)).or_default().push((id, s));
    }
    for ((check, version), instances) in by_check {
        let header = format!("{check} ({version})");
        running = running.text(header.clone()).text("-".repeat(header.chars().count()));
        for (id, s) in instances {
            running = running
                .sub_line("Instance ID", format!("{id} [{}]", s.state()))
                .sub_line("Configuration Source", &s.source)
                .sub_line("Total Runs", thousands(s.total_runs));
            if s.total_runs == 0 {
                running = running.text("");
                continue;
            }
            running = running
                .sub_line(
                    "Metric Samples",
                    format!(
                        "Last Run: {}, Total: {}",
                        thousands(s.metric_samples_last),
                        thousands(s.metric_samples_total)
                    ),
                )
                .sub_line(
                    "Events",
                    format!(
                        "Last Run: {}, Total: {}",
                        thousands(s.events_last),
                        thousands(s.events_total)
                    ),
                )
                .sub_line(
                    "Service Checks",
                    format!(
                        "Last Run: {}, Total: {}",
                        thousands(s.service_checks_last),
                        thousands(s.service_checks_total)
                    ),
                )
                .sub_line(
                    "Average Execution Time ",
                    format!("{}ms", s.average_run_time().as_millis()),
                )
                .sub_line("Last Execution Date ", format_time(s.last_run))
                .sub_line("Last Successful Execution Date ", format_time(s.last_success));
            if !s.metadata.is_empty() {
                running = running.sub_line("metadata:", "");
                for (k, v) in &s.metadata {
                    running = running.deep_line(2, k, v);
                }
            }
            if let Some(error) = &s.last_error {
                // A Python check's error is its message, then its traceback, one line each.
                let mut lines = error.lines();
                running = running.sub_line("Error", lines.next().unwrap_or_default());
                for line in lines {
                    running = running.sub_line(line, "");
                }
            }
            for warning in &s.warnings {
                running = running.sub_line("Warning", warning);
            }
            running = running.text("");
        }
    }
    let mut blocks = vec![running];
    for (heading, errors) in [
        ("Config Errors", &state.config_errors),
        ("Loading Errors", &state.loading_errors),
    ] {
        if errors.is_empty() {
            continue;
        }
        let mut block = StatusBlock::new(heading);
        for (name, error) in errors {
            block = block.text(name).text("-".repeat(name.chars().count()));
            for line in error.lines() {
                block = block.sub_line(line, "");
            }
            block = block.text("");
        }
        blocks.push(block);
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::CheckError;
    use crate::checks::instance::InstanceOptions;
    use crate::status::{StatusReport, render_text};

    struct Panics;
    impl Check for Panics {
        fn run(&mut self, _: &mut Sender) -> Result<(), CheckError> {
            panic!("boom");
        }
    }

    struct Fails;
    impl Check for Fails {
        fn run(&mut self, sender: &mut Sender) -> Result<(), CheckError> {
            sender.gauge("half.done", 1.0, &[]);
            sender.service_check(
                "thing.can_connect",
                CheckStatus::Critical,
                &[],
                "cannot reach the thing",
            );
            Err(CheckError::Other("cannot reach the thing".into()))
        }
    }

    struct Hangs;
    impl Check for Hangs {
        fn run(&mut self, _: &mut Sender) -> Result<(), CheckError> {
            std::thread::sleep(Duration::from_millis(1500));
            Ok(())
        }
    }

    struct Works;
    impl Check for Works {
        fn run(&mut self, sender: &mut Sender) -> Result<(), CheckError> {
            sender.gauge("works", 1.0, &[]);
            Ok(())
        }
    }

    fn instance(name: &str, check: Box<dyn Check>) -> CheckInstance {
        CheckInstance {
            name: name.into(),
            version: "1".into(),
            id: format!("{name}:1"),
            source: "default".into(),
            options: InstanceOptions {
                interval: Duration::from_millis(200),
                tags: vec![],
                empty_default_hostname: false,
                name: None,
            },
            check,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_check_that_panics_or_hangs_does_not_stop_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::AgentConfig {
            api_key: "k".into(),
            dd_url: "http://127.0.0.1:9".into(),
            forwarder_storage_max_size_in_bytes: 0,
            ..Default::default()
        };
        let forwarder =
            crate::forwarder::Forwarder::new(crate::forwarder::ForwarderSettings::from_config(&config, dir.path()))
                .unwrap();
        let plan = CheckPlan {
            instances: vec![
                instance("hangs", Box::new(Hangs)),
                instance("panics", Box::new(Panics)),
                instance("works", Box::new(Works)),
            ],
            ..CheckPlan::default()
        };
        let settings = RunnerSettings {
            hostname: "h".into(),
            host_tags: vec![],
            histogram_aggregates: vec![],
            histogram_percentiles: vec![],
            agent_up_interval: Duration::from_secs(60),
        };
        let runner = CheckRunner::new(plan, settings, forwarder.handle());
        let stats = runner.stats();
        let (stop, signal) = crate::shutdown::channel();
        let task = tokio::spawn(runner.run(signal));
        tokio::time::sleep(Duration::from_millis(1100)).await;
        stop.trigger();
        task.await.unwrap();
        let state = stats.lock().unwrap().clone();
        let works = &state.instances["works:1"];
        assert!(works.total_runs >= 4 && works.last_error.is_none(), "{works:?}");
        let panics = &state.instances["panics:1"];
        assert!(
            panics.total_runs >= 4,
            "a panicking check keeps its schedule: {panics:?}"
        );
        assert!(panics.last_error.as_deref().unwrap().contains("panicked: boom"));
        let hangs = &state.instances["hangs:1"];
        assert!(hangs.last_error.as_deref().unwrap().contains("time limit"), "{hangs:?}");
        assert_eq!(hangs.total_runs, 1, "its later runs are skipped while it hangs");
        assert!(
            forwarder.handle().counts().submitted >= 4,
            "works' series and the start event were sent"
        );
    }

    #[test]
    fn a_panic_is_caught_as_the_runs_error() {
        let mut sender = Sender::new(SenderSettings::new("h".into(), vec![], 15));
        let outcome = run_once(&mut Panics, &mut sender);
        assert_eq!(outcome.result.unwrap_err(), "the check panicked: boom");
    }

    #[test]
    fn a_failed_run_sends_nothing_it_submitted_but_its_service_checks() {
        let mut sender = Sender::new(SenderSettings::new("h".into(), vec![], 15));
        let outcome = run_once(&mut Fails, &mut sender);
        assert_eq!(outcome.result.unwrap_err(), "cannot reach the thing");
        let failed = sender.take_failed_service_checks();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].status, CheckStatus::Critical);
        assert!(failed[0].timestamp.is_some());
        let (out, _) = sender.commit(1.0);
        assert!(out.series.is_empty() && out.service_checks.is_empty());
    }

    #[test]
    fn the_status_follows_datadogs_collector_layout() {
        let mut state = CollectorState::default();
        let mut stats = InstanceStats {
            check: "postgres".into(),
            version: "5.4.0".into(),
            source: "file:/etc/conf.d/postgres.d/conf.yaml".into(),
            total_runs: 4282,
            metric_samples_last: 15,
            metric_samples_total: 64230,
            service_checks_last: 1,
            service_checks_total: 4282,
            ..InstanceStats::default()
        };
        stats.recent.push_back(Duration::from_millis(43));
        stats.metadata.insert("version.major".into(), "13".into());
        state.instances.insert("postgres:e07ef94b907fe733".into(), stats);
        state
            .loading_errors
            .insert("nosuch".into(), "no check called `nosuch`".into());
        let text = render_text(&StatusReport {
            sections: vec![StatusSection {
                title: "Collector".into(),
                blocks: collector_blocks(&state),
            }],
        });
        for expected in [
            "    postgres (5.4.0)\n    ----------------\n",
            "      Instance ID: postgres:e07ef94b907fe733 [OK]\n",
            "      Configuration Source: file:/etc/conf.d/postgres.d/conf.yaml\n",
            "      Total Runs: 4,282\n",
            "      Metric Samples: Last Run: 15, Total: 64,230\n",
            "      Events: Last Run: 0, Total: 0\n",
            "      Service Checks: Last Run: 1, Total: 4,282\n",
            "      Average Execution Time : 43ms\n",
            "      Last Successful Execution Date : Never\n",
            "      metadata:\n        version.major: 13\n",
            "  Loading Errors\n  ==============\n    nosuch\n    ------\n      no check called `nosuch`\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    #[test]
    fn instance_tags_and_service_reach_the_sender() {
        let settings = RunnerSettings {
            hostname: "h".into(),
            host_tags: vec!["env:prod".into()],
            histogram_aggregates: vec![],
            histogram_percentiles: vec![],
            agent_up_interval: Duration::from_secs(15),
        };
        let instance = CheckInstance {
            name: "x".into(),
            version: "1".into(),
            id: "x:1".into(),
            source: "default".into(),
            options: InstanceOptions {
                interval: Duration::from_secs(30),
                tags: vec!["role:db".into(), "service:pg".into()],
                empty_default_hostname: false,
                name: None,
            },
            check: Box::new(Fails),
        };
        let s = settings.sender_for(&instance);
        assert_eq!(s.settings().tags, ["env:prod", "role:db", "service:pg"]);
        assert_eq!(s.settings().interval_secs, 30);
    }
}
