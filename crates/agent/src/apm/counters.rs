//! What the receiver took in, per tracer, for `dogwatch status`: Datadog's "Receiver (previous
//! minute)" block counts traces, spans and bytes per client over the last full minute.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::pipeline::{Outcome, TracerInfo};

/// Counts for one tracer over one minute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientCounts {
    /// Requests with traces.
    pub requests: u64,
    /// Trace chunks received.
    pub traces: u64,
    /// Spans received.
    pub spans: u64,
    /// Bytes of trace bodies.
    pub bytes: u64,
    /// Chunks that failed normalization.
    pub invalid_traces: u64,
    /// Chunks dropped by sampling after their stats were counted.
    pub sampled_out: u64,
    /// Requests refused (malformed, too large, timed out).
    pub errors: u64,
    /// Payloads dropped because the writer's queue was full.
    pub writer_drops: u64,
}

/// Totals since the agent started, for the status page's other lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Spans received.
    pub spans: u64,
    /// Tracer-computed stats payloads (`/v0.6/stats`) received.
    pub client_stats_payloads: u64,
    /// Requests to endpoints whose data is not stored yet, by path.
    pub not_stored: BTreeMap<String, (u64, u64)>,
}

#[derive(Debug, Default)]
struct Minutes {
    started: Option<Instant>,
    current: BTreeMap<TracerInfo, ClientCounts>,
    previous: BTreeMap<TracerInfo, ClientCounts>,
    totals: Totals,
}

impl Minutes {
    /// Moves the current minute to `previous` when it has ended.
    fn roll(&mut self, now: Instant) {
        let started = *self.started.get_or_insert(now);
        let elapsed = now.saturating_duration_since(started);
        if elapsed >= Duration::from_secs(120) {
            self.previous.clear();
            self.current.clear();
            self.started = Some(now);
        } else if elapsed >= Duration::from_secs(60) {
            self.previous = std::mem::take(&mut self.current);
            self.started = Some(started + Duration::from_secs(60));
        }
    }
}

/// The receiver's counters, shared by its request handlers and the status section.
#[derive(Debug, Default)]
pub struct ReceiverStats(Mutex<Minutes>);

impl Minutes {
    /// This minute's counts for `tracer`; its key is copied only the first time in the minute.
    fn client(&mut self, tracer: &TracerInfo) -> &mut ClientCounts {
        self.roll(Instant::now());
        if !self.current.contains_key(tracer) {
            self.current.insert(tracer.clone(), ClientCounts::default());
        }
        self.current.get_mut(tracer).expect("inserted above")
    }
}

impl ReceiverStats {
    fn with_client(&self, tracer: &TracerInfo, update: impl FnOnce(&mut ClientCounts)) {
        update(self.0.lock().expect("receiver stats lock").client(tracer));
    }

    /// Counts a request whose traces were processed.
    pub fn record(&self, tracer: &TracerInfo, traces: u64, spans: u64, bytes: u64, outcome: &Outcome) {
        let mut minutes = self.0.lock().expect("receiver stats lock");
        minutes.totals.spans += spans;
        let c = minutes.client(tracer);
        c.requests += 1;
        c.traces += traces;
        c.spans += spans;
        c.bytes += bytes;
        c.invalid_traces += outcome.invalid_traces;
        c.sampled_out += outcome.sampled_out;
    }

    /// Counts a refused request.
    pub fn record_error(&self, tracer: &TracerInfo) {
        self.with_client(tracer, |c| c.errors += 1);
    }

    /// Counts a payload the writer could not take.
    pub fn record_writer_drop(&self, tracer: &TracerInfo) {
        self.with_client(tracer, |c| c.writer_drops += 1);
    }

    /// Counts a `/v0.6/stats` payload.
    pub fn record_client_stats(&self) {
        self.0.lock().expect("receiver stats lock").totals.client_stats_payloads += 1;
    }

    /// Counts a request to an endpoint whose data is not stored.
    pub fn record_not_stored(&self, path: &str, bytes: u64) {
        let mut minutes = self.0.lock().expect("receiver stats lock");
        let key = path.split('/').take(3).collect::<Vec<_>>().join("/");
        let entry = minutes.totals.not_stored.entry(key).or_default();
        entry.0 += 1;
        entry.1 += bytes;
    }

    /// The previous full minute, per tracer.
    pub fn previous_minute(&self) -> BTreeMap<TracerInfo, ClientCounts> {
        let mut minutes = self.0.lock().expect("receiver stats lock");
        minutes.roll(Instant::now());
        minutes.previous.clone()
    }

    /// The current, unfinished minute, per tracer.
    pub fn current_minute(&self) -> BTreeMap<TracerInfo, ClientCounts> {
        let mut minutes = self.0.lock().expect("receiver stats lock");
        minutes.roll(Instant::now());
        minutes.current.clone()
    }

    /// Totals since start.
    pub fn totals(&self) -> Totals {
        self.0.lock().expect("receiver stats lock").totals.clone()
    }
}
