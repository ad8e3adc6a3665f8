//! The "DogStatsD" section of `dogwatch status`: Datadog's counters (packets and parse errors
//! per kind, UDP/UDS packets and bytes) and the aggregator's (contexts, drops, what was sent).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Shared;
use super::listener::SocketCounts;
use crate::status::{StatusBlock, StatusProvider, StatusSection, human_bytes, human_duration};

/// The DogStatsD section; `None` when neither `dogstatsd_port` nor `dogstatsd_socket` is set.
pub struct DogStatsdStatus(pub Option<Arc<Shared>>);

impl StatusProvider for DogStatsdStatus {
    fn section(&self) -> Pin<Box<dyn Future<Output = StatusSection> + Send + '_>> {
        Box::pin(async move {
            let title = "DogStatsD".to_string();
            let Some(shared) = &self.0 else {
                return StatusSection {
                    title,
                    blocks: vec![StatusBlock::new("").line(
                        "Status",
                        "Not running (dogstatsd_port is 0 and dogstatsd_socket is empty)",
                    )],
                };
            };
            let settings = &shared.settings;
            let mut listening = Vec::new();
            if let Some(addr) = shared.udp_addr {
                listening.push(format!("udp://{addr}"));
            }
            if let Some(path) = &settings.socket {
                listening.push(format!("unix://{}", path.display()));
            }
            let (counts, contexts) = {
                let aggregator = shared.aggregator();
                (aggregator.counts().clone(), aggregator.context_count())
            };
            let socket = |c: &SocketCounts, what: &str, block: StatusBlock| {
                block
                    .line(format!("{what} Bytes"), human_bytes(c.bytes.load(Ordering::Relaxed)))
                    .line(
                        format!("{what} Packet Reading Errors"),
                        c.read_errors.load(Ordering::Relaxed),
                    )
                    .line(format!("{what} Packets"), c.packets.load(Ordering::Relaxed))
            };
            let mut counters = StatusBlock::new("")
                .line("Status", "Running")
                .line("Listening on", listening.join(", "))
                .line("Uptime", human_duration(shared.started.elapsed().as_secs()))
                .line("Event Packets", counts.event_packets)
                .line("Event Parse Errors", counts.event_parse_errors)
                .line("Metric Packets", counts.metric_packets)
                .line("Metric Parse Errors", counts.metric_parse_errors)
                .line("Service Check Packets", counts.service_check_packets)
                .line("Service Check Parse Errors", counts.service_check_parse_errors);
            counters = socket(&shared.udp, "Udp", counters);
            if let Some(size) = shared.udp_rcvbuf {
                counters = counters.line("Udp Receive Buffer", human_bytes(size as u64));
            }
            counters = socket(&shared.uds, "Uds", counters);
            if let Some(error) = &counts.last_parse_error {
                counters = counters.line("Last Parse Error", error);
            }
            let aggregator = StatusBlock::new("Aggregator")
                .line("Contexts", contexts)
                .line("Context Limit", settings.aggregator.context_limit)
                .line("Samples Dropped (context limit)", counts.context_limit_drops)
                .line("Events and Service Checks Dropped (queue full)", counts.pending_drops)
                .line("Series Flushed", counts.series_flushed)
                .line("Sketches Flushed", counts.sketches_flushed)
                .line("Events Flushed", counts.events_flushed)
                .line("Service Checks Flushed", counts.service_checks_flushed);
            StatusSection {
                title,
                blocks: vec![counters, aggregator],
            }
        })
    }
}
