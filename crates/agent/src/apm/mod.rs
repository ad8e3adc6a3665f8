//! The APM trace agent: receives traces from Datadog's tracing libraries on TCP 8126 (and a
//! Unix socket when configured), decodes, normalizes, obfuscates and samples them, computes
//! APM stats, and forwards both to the server in Datadog's intake formats.
//!
//! - [`receiver`]: the HTTP endpoints tracers call;
//! - [`decode`] (with [`msgpack_check`]): v0.3/v0.4/v0.5 bodies into protobuf spans;
//! - [`pipeline`]: normalization, top-level marking, obfuscation, env, sampling;
//! - [`sampler`]: `rate_by_service` and which traces are kept;
//! - [`stats`]: the APM stats concentrator;
//! - [`writer`]: batching into `AgentPayload`/`StatsPayload` for the forwarder;
//! - [`counters`] and [`status`]: what `dogwatch status` shows.
//!
//! libdatadog's crates are reached from `decode`, `pipeline` and `stats` only.

pub mod counters;
pub mod decode;
pub mod msgpack_check;
pub mod pipeline;
pub mod receiver;
pub mod sampler;
pub mod stats;
pub mod status;
pub mod writer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use dogwatch_model::apm::pb;
use libdd_trace_obfuscation::obfuscation_config::ObfuscationConfig;
use thiserror::Error;
use tokio::task::JoinHandle;

use crate::config::AgentConfig;
use crate::forwarder::ForwarderHandle;
use crate::shutdown::Shutdown;

/// How the receiver listens and what it tells tracers.
#[derive(Debug, Clone)]
pub struct ReceiverSettings {
    /// The TCP address (`apm_config.receiver_port` on localhost, or every interface with
    /// `apm_config.apm_non_local_traffic`); None when the port is 0.
    pub tcp: Option<SocketAddr>,
    /// The Unix socket path (`apm_config.receiver_socket`); None when empty.
    pub socket: Option<PathBuf>,
    /// The TCP port, for `/info`.
    pub receiver_port: u16,
    /// The socket path as configured, for `/info`.
    pub receiver_socket: String,
    /// The largest request body (`apm_config.max_payload_size`, 25 MiB).
    pub max_payload_size: usize,
    /// Time allowed to read a request (`apm_config.receiver_timeout`, 5 s).
    pub read_timeout: Duration,
    /// `apm_config.target_traces_per_second` (10).
    pub target_tps: f64,
    /// `apm_config.errors_per_second` (10).
    pub error_tps: f64,
    /// The DogStatsD port, for `/info`.
    pub statsd_port: u16,
}

impl ReceiverSettings {
    /// The settings from the agent's configuration.
    pub fn from_config(config: &AgentConfig) -> ReceiverSettings {
        let apm = &config.apm_config;
        let ip = if apm.apm_non_local_traffic {
            std::net::IpAddr::from([0, 0, 0, 0])
        } else {
            std::net::IpAddr::from([127, 0, 0, 1])
        };
        ReceiverSettings {
            tcp: (apm.receiver_port != 0).then(|| SocketAddr::new(ip, apm.receiver_port)),
            socket: (!apm.receiver_socket.is_empty()).then(|| PathBuf::from(&apm.receiver_socket)),
            receiver_port: apm.receiver_port,
            receiver_socket: apm.receiver_socket.clone(),
            max_payload_size: usize::try_from(apm.max_payload_size).unwrap_or(usize::MAX),
            read_timeout: Duration::from_secs(apm.receiver_timeout.max(1)),
            target_tps: apm.target_traces_per_second,
            error_tps: apm.errors_per_second,
            statsd_port: config.dogstatsd_port,
        }
    }
}

/// The state that sampling and stats share across requests.
pub struct Processing {
    /// Priority rates and the error sampler.
    pub sampler: sampler::Sampler,
    /// Stats being aggregated.
    pub concentrator: stats::Concentrator,
    /// Tracer-computed stats waiting for the next flush.
    pub client_stats: Vec<pb::ClientStatsPayload>,
}

/// What the receiver's handlers, the writers and the status section share.
pub struct Shared {
    /// Listening and limits.
    pub settings: ReceiverSettings,
    /// What the pipeline applies.
    pub pipeline: pipeline::PipelineSettings,
    /// Sampling and stats.
    pub processing: Mutex<Processing>,
    /// Kept traces on their way to the writer.
    pub writer: writer::TraceQueue,
    /// Counters for `dogwatch status`.
    pub receiver_stats: counters::ReceiverStats,
    /// When the trace agent started.
    pub started: Instant,
}

/// The receiver could not start.
#[derive(Debug, Error)]
pub enum ApmError {
    /// The TCP port is taken or not allowed.
    #[error(
        "cannot listen for traces on {addr} (apm_config.receiver_port / DD_APM_RECEIVER_PORT): {source}; is a Datadog agent already running? Set DD_APM_RECEIVER_PORT to another port or DD_APM_ENABLED=false"
    )]
    BindTcp {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The Unix socket could not be created.
    #[error(
        "cannot listen for traces on the socket {path} (apm_config.receiver_socket / DD_APM_RECEIVER_SOCKET): {source}"
    )]
    BindSocket {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A running trace agent.
pub struct TraceAgent {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
    local_addr: Option<SocketAddr>,
}

impl TraceAgent {
    /// Binds the receiver and starts it, with the writers sending through `forwarder`. Listeners
    /// stop at `shutdown`; the writers then flush what they hold.
    pub async fn start(
        config: &AgentConfig,
        hostname: &str,
        forwarder: ForwarderHandle,
        shutdown: Shutdown,
    ) -> Result<TraceAgent, ApmError> {
        let settings = ReceiverSettings::from_config(config);
        let default_env = match config.apm_config.env.as_str() {
            "" => config.env.clone(),
            env => env.to_string(),
        };
        let (queue, queue_rx) = writer::queue();
        let now = Instant::now();
        let shared = Arc::new(Shared {
            pipeline: pipeline::PipelineSettings {
                hostname: hostname.to_string(),
                default_env,
                obfuscation: ObfuscationConfig::default(),
            },
            processing: Mutex::new(Processing {
                sampler: sampler::Sampler::new(settings.target_tps, settings.error_tps, now),
                concentrator: stats::Concentrator::new(SystemTime::now()),
                client_stats: Vec::new(),
            }),
            writer: queue,
            receiver_stats: counters::ReceiverStats::default(),
            started: now,
            settings,
        });
        let mut tasks = Vec::new();
        let mut local_addr = None;
        if let Some(addr) = shared.settings.tcp {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| ApmError::BindTcp { addr, source })?;
            local_addr = listener.local_addr().ok();
            let app = receiver::router(shared.clone());
            let mut stop = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                let served = axum::serve(listener, app).with_graceful_shutdown(async move { stop.wait().await });
                if let Err(e) = served.await {
                    tracing::error!(error = %e, "The trace receiver stopped with an error.");
                }
            }));
        }
        if let Some(path) = shared.settings.socket.clone() {
            let _ = std::fs::remove_file(&path);
            let listener = tokio::net::UnixListener::bind(&path).map_err(|source| ApmError::BindSocket {
                path: path.clone(),
                source,
            })?;
            let app = receiver::router(shared.clone());
            let mut stop = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                let served = axum::serve(listener, app).with_graceful_shutdown(async move { stop.wait().await });
                if let Err(e) = served.await {
                    tracing::error!(error = %e, "The trace socket receiver stopped with an error.");
                }
                let _ = std::fs::remove_file(&path);
            }));
        }
        tasks.push(tokio::spawn(writer::run_trace_writer(
            shared.clone(),
            queue_rx,
            forwarder.clone(),
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(writer::run_stats_writer(
            shared.clone(),
            forwarder,
            shutdown,
        )));
        tracing::info!(
            tcp = ?shared.settings.tcp,
            socket = ?shared.settings.socket,
            "The trace receiver is listening."
        );
        Ok(TraceAgent {
            shared,
            tasks,
            local_addr,
        })
    }

    /// The TCP address the receiver is bound to (useful with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// The status section provider.
    pub fn status(&self) -> status::ApmStatus {
        status::ApmStatus(Some(self.shared.clone()))
    }

    /// The tasks to await after triggering the shutdown given to [`TraceAgent::start`].
    pub fn into_tasks(self) -> Vec<JoinHandle<()>> {
        self.tasks
    }
}
