//! The "APM Agent" section of `dogwatch status`, in the layout of `datadog-agent status`:
//! status, pid, uptime, receiver address, what each tracer sent in the previous minute, and
//! the priority sampling rates.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use super::Shared;
use super::counters::ClientCounts;
use crate::status::{StatusBlock, StatusProvider, StatusSection, human_bytes, human_duration};

/// The APM section; `None` when `apm_config.enabled` is false.
pub struct ApmStatus(pub Option<Arc<Shared>>);

impl StatusProvider for ApmStatus {
    fn section(&self) -> Pin<Box<dyn Future<Output = StatusSection> + Send + '_>> {
        Box::pin(async move {
            let Some(shared) = &self.0 else {
                return StatusSection {
                    title: "APM Agent".into(),
                    blocks: vec![
                        StatusBlock::new("")
                            .line("Status", "Not running (apm_config.enabled / DD_APM_ENABLED is false)"),
                    ],
                };
            };
            let settings = &shared.settings;
            let mut receiver = Vec::new();
            if let Some(addr) = settings.tcp {
                receiver.push(format!("{addr}"));
            }
            if let Some(path) = &settings.socket {
                receiver.push(format!("unix://{}", path.display()));
            }
            let info = StatusBlock::new("")
                .line("Status", "Running")
                .line("Pid", std::process::id())
                .line("Uptime", human_duration(shared.started.elapsed().as_secs()))
                .line("Receiver", receiver.join(", "));
            let mut minute = StatusBlock::new("Receiver (previous minute)");
            let previous = shared.receiver_stats.previous_minute();
            if previous.is_empty() {
                minute = minute.text("No traces received in the previous minute.");
            }
            for (tracer, counts) in &previous {
                minute = client_lines(minute, tracer, counts);
            }
            let current = shared.receiver_stats.current_minute();
            let mut this_minute = StatusBlock::new("Receiver (this minute so far)");
            for (tracer, counts) in &current {
                this_minute = client_lines(this_minute, tracer, counts);
            }
            let rates = shared
                .processing
                .lock()
                .expect("APM processing lock")
                .sampler
                .rates(Instant::now());
            let mut sampling = StatusBlock::new("Priority sampling");
            for (key, rate) in rates {
                let label = if key == super::sampler::DEFAULT_RATE_KEY {
                    "Default priority sampling rate".to_string()
                } else {
                    format!("Priority sampling rate for '{key}'")
                };
                sampling = sampling.line(label, format!("{:.1}%", rate * 100.0));
            }
            let totals = shared.receiver_stats.totals();
            let mut other = StatusBlock::new("Other endpoints")
                .line("Spans received since start", totals.spans)
                .line("Tracer stats payloads (/v0.6/stats)", totals.client_stats_payloads);
            if !totals.not_stored.is_empty() {
                other = other.text("Accepted, not stored yet:");
                for (path, (requests, bytes)) in &totals.not_stored {
                    other = other.sub_line(path, format!("{requests} requests ({})", human_bytes(*bytes)));
                }
            }
            let mut blocks = vec![info, minute];
            if !current.is_empty() {
                blocks.push(this_minute);
            }
            blocks.push(sampling);
            blocks.push(other);
            StatusSection {
                title: "APM Agent".into(),
                blocks,
            }
        })
    }
}

/// Datadog's lines for one client: `From <lang> <version> (<interpreter>), client <tracer>`.
fn client_lines(block: StatusBlock, tracer: &super::pipeline::TracerInfo, counts: &ClientCounts) -> StatusBlock {
    let lang = if tracer.lang.is_empty() {
        "an unknown client"
    } else {
        &tracer.lang
    };
    let mut block = block
        .text(format!(
            "From {lang} {} ({}), client {}",
            tracer.lang_version, tracer.interpreter, tracer.tracer_version
        ))
        .sub_line(
            "Traces received",
            format!("{} ({})", counts.traces, human_bytes(counts.bytes)),
        )
        .sub_line("Spans received", counts.spans);
    if counts.sampled_out > 0 {
        block = block.sub_line("Traces dropped by sampling", counts.sampled_out);
    }
    if counts.invalid_traces > 0 {
        block = block.sub_line("Traces dropped as invalid", counts.invalid_traces);
    }
    if counts.errors > 0 {
        block = block.sub_line("Requests refused", counts.errors);
    }
    if counts.writer_drops > 0 {
        block = block.sub_line("Payloads dropped (writer queue full)", counts.writer_drops);
    }
    block
}
