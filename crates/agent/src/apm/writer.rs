//! Batches what the receiver kept into `AgentPayload`s and APM stats into `StatsPayload`s,
//! and hands them to the forwarder (which compresses, retries and buffers them on disk).
//!
//! Traces are sent at least every second, sooner when a batch reaches 3 MiB; stats every
//! 10 s, once their bucket is complete. On shutdown both flush whatever they hold.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dogwatch_model::apm::{self, pb};
use dogwatch_model::endpoints;
use prost::Message;
use tokio::sync::mpsc;

use super::Shared;
use crate::forwarder::{ForwarderHandle, Payload};
use crate::shutdown::Shutdown;

/// How long kept traces wait to be batched.
const TRACE_FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// A batch is sent at once past this encoded size.
const TRACE_BATCH_BYTES: usize = 3 * 1024 * 1024;
/// Tracer payloads the writer's queue holds before new ones are dropped (and counted).
pub const QUEUE_PAYLOADS: usize = 4096;

/// The receiver's side of the trace queue.
#[derive(Debug, Clone)]
pub struct TraceQueue(mpsc::Sender<pb::TracerPayload>);

impl TraceQueue {
    /// Queues a payload; false when the queue is full (the payload is dropped).
    pub fn send(&self, payload: pb::TracerPayload) -> bool {
        self.0.try_send(payload).is_ok()
    }
}

/// A new queue and its receiving end.
pub fn queue() -> (TraceQueue, mpsc::Receiver<pb::TracerPayload>) {
    let (tx, rx) = mpsc::channel(QUEUE_PAYLOADS);
    (TraceQueue(tx), rx)
}

/// Sends batches of traces until shutdown, then what is left.
pub async fn run_trace_writer(
    shared: Arc<Shared>,
    mut queue: mpsc::Receiver<pb::TracerPayload>,
    forwarder: ForwarderHandle,
    mut shutdown: Shutdown,
) {
    let mut batch: Vec<pb::TracerPayload> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut tick = tokio::time::interval(TRACE_FLUSH_INTERVAL);
    loop {
        tokio::select! {
            received = queue.recv() => match received {
                Some(payload) => {
                    batch_bytes += payload.encoded_len();
                    batch.push(payload);
                    if batch_bytes >= TRACE_BATCH_BYTES {
                        send_traces(&shared, &forwarder, std::mem::take(&mut batch));
                        batch_bytes = 0;
                    }
                }
                None => break,
            },
            _ = tick.tick() => {
                if !batch.is_empty() {
                    send_traces(&shared, &forwarder, std::mem::take(&mut batch));
                    batch_bytes = 0;
                }
            }
            _ = shutdown.wait() => break,
        }
    }
    while let Ok(payload) = queue.try_recv() {
        batch.push(payload);
    }
    if !batch.is_empty() {
        send_traces(&shared, &forwarder, batch);
    }
}

fn send_traces(shared: &Shared, forwarder: &ForwarderHandle, tracer_payloads: Vec<pb::TracerPayload>) {
    let payload = pb::AgentPayload {
        host_name: shared.pipeline.hostname.clone(),
        env: shared.pipeline.default_env.clone(),
        tracer_payloads,
        tags: Default::default(),
        agent_version: dogwatch_model::VERSION.to_string(),
        target_tps: shared.settings.target_tps,
        error_tps: shared.settings.error_tps,
        rare_sampler_enabled: false,
        idx_tracer_payloads: Vec::new(),
    };
    let body = apm::encode_agent_payload(&payload);
    forwarder.submit(Payload::new(
        endpoints::TRACES_V02,
        apm::AGENT_PAYLOAD_CONTENT_TYPE,
        &body,
        forwarder.compressor(),
    ));
}

/// Flushes complete stats buckets every 10 s until shutdown, then all of them.
pub async fn run_stats_writer(shared: Arc<Shared>, forwarder: ForwarderHandle, mut shutdown: Shutdown) {
    let mut tick = tokio::time::interval(super::stats::BUCKET);
    loop {
        tokio::select! {
            _ = tick.tick() => flush_stats(&shared, &forwarder, false),
            _ = shutdown.wait() => break,
        }
    }
    flush_stats(&shared, &forwarder, true);
}

/// Sends the agent's complete stats buckets and any tracer-computed stats received.
pub fn flush_stats(shared: &Shared, forwarder: &ForwarderHandle, force: bool) {
    let (computed, client) = {
        let mut processing = shared.processing.lock().expect("APM processing lock");
        // libdatadog's concentrator holds back the two newest buckets for late spans; asking
        // one bucket ahead holds back only the current one, so a bucket is sent within 10 s of
        // its end (tracers flush every second, so late spans are rare).
        let now = SystemTime::now() + super::stats::BUCKET;
        let computed = processing.concentrator.flush(now, force, &shared.pipeline.hostname);
        (computed, std::mem::take(&mut processing.client_stats))
    };
    for (stats, client_computed) in [(computed, false), (client, true)] {
        if stats.is_empty() {
            continue;
        }
        let payload = pb::StatsPayload {
            agent_hostname: shared.pipeline.hostname.clone(),
            agent_env: shared.pipeline.default_env.clone(),
            stats,
            agent_version: dogwatch_model::VERSION.to_string(),
            client_computed,
            split_payload: false,
        };
        match rmp_serde::to_vec_named(&payload) {
            Ok(body) => forwarder.submit(Payload::new(
                endpoints::STATS_V02,
                apm::STATS_PAYLOAD_CONTENT_TYPE,
                &body,
                forwarder.compressor(),
            )),
            Err(e) => tracing::error!(error = %e, "Cannot encode APM stats; they were dropped."),
        }
    }
}
