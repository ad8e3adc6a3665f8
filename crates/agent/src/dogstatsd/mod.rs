//! DogStatsD: metrics, events and service checks from Datadog's StatsD clients, over UDP
//! (`dogstatsd_port`, default 127.0.0.1:8125) and a Unix datagram socket (`dogstatsd_socket`).
//!
//! [`listener`] threads read datagrams; [`parse`] reads their lines without copying;
//! [`aggregate`] buckets samples by 10 s per context as Datadog's agent does; a flush task sends
//! closed buckets every `dogstatsd_flush_interval_ms` through the forwarder, in Datadog's intake
//! shapes: series to `/api/v1/series`, distribution sketches to `/api/beta/sketches`, events to
//! `/api/v1/events`, service checks to `/api/v1/check_run`. At stop, the readers end and
//! everything still held — open buckets included — is flushed.

pub mod aggregate;
pub mod listener;
pub mod parse;
pub mod status;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dogwatch_model::{SeriesPayload, SketchPayload, endpoints};
use prost::Message;
use thiserror::Error;
use tokio::task::JoinHandle;

use crate::config::AgentConfig;
use crate::forwarder::{ForwarderHandle, Payload};
use crate::shutdown::Shutdown;
use aggregate::{Aggregator, AggregatorSettings, Flushed, HistogramAggregate};
use listener::SocketCounts;

/// Why DogStatsD could not start.
#[derive(Debug, Error)]
pub enum DogStatsdError {
    /// The UDP port could not be bound.
    #[error(
        "could not listen for DogStatsD on udp://{addr}: {source}; set `dogstatsd_port` (DD_DOGSTATSD_PORT) to a free port, or to 0 to turn UDP off"
    )]
    BindUdp {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The Unix socket could not be bound.
    #[error(
        "could not listen for DogStatsD on the Unix socket {path} (`dogstatsd_socket`, DD_DOGSTATSD_SOCKET): {source}"
    )]
    BindSocket {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A reader thread could not be started.
    #[error("could not start a DogStatsD reader thread: {0}")]
    Thread(std::io::Error),
}

/// DogStatsD's settings, from the agent's configuration.
#[derive(Debug, Clone)]
pub struct DogStatsdSettings {
    /// The UDP address; `None` when `dogstatsd_port` is 0.
    pub udp: Option<SocketAddr>,
    /// The Unix datagram socket path; `None` when `dogstatsd_socket` is empty.
    pub socket: Option<PathBuf>,
    /// `dogstatsd_buffer_size`.
    pub buffer_size: usize,
    /// `dogstatsd_so_rcvbuf` (0: the OS default).
    pub so_rcvbuf: usize,
    /// `dogstatsd_flush_interval_ms`.
    pub flush_interval: Duration,
    /// How samples are aggregated.
    pub aggregator: AggregatorSettings,
    /// `dogstatsd_metrics_stats_enable`: count samples per context.
    pub metrics_stats: bool,
}

impl DogStatsdSettings {
    /// Settings from `config`, with `hostname` as the host of samples that name none.
    pub fn from_config(config: &AgentConfig, hostname: &str) -> DogStatsdSettings {
        let ip = if config.dogstatsd_non_local_traffic {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        };
        let mut percentiles = config.histogram_percentile_values();
        percentiles.sort_by(f64::total_cmp);
        DogStatsdSettings {
            udp: (config.dogstatsd_port != 0).then(|| SocketAddr::new(ip, config.dogstatsd_port)),
            socket: (!config.dogstatsd_socket.is_empty()).then(|| PathBuf::from(&config.dogstatsd_socket)),
            buffer_size: config.dogstatsd_buffer_size.clamp(512, 65_536) as usize,
            so_rcvbuf: config.dogstatsd_so_rcvbuf as usize,
            flush_interval: Duration::from_millis(config.dogstatsd_flush_interval_ms.max(100)),
            aggregator: AggregatorSettings {
                hostname: hostname.to_string(),
                extra_tags: config.dogstatsd_tags.clone(),
                expiry_seconds: config.dogstatsd_expiry_seconds as i64,
                context_limit: config.aggregate_context_limit as usize,
                histogram_aggregates: config
                    .histogram_aggregates
                    .iter()
                    .filter_map(|a| HistogramAggregate::from_name(a))
                    .collect(),
                histogram_percentiles: percentiles,
            },
            metrics_stats: config.dogstatsd_metrics_stats_enable,
        }
    }

    /// Whether any socket is configured.
    pub fn enabled(&self) -> bool {
        self.udp.is_some() || self.socket.is_some()
    }
}

/// What the readers, the flusher and the status section share.
pub struct Shared {
    /// The settings.
    pub settings: DogStatsdSettings,
    aggregator: Mutex<Aggregator>,
    /// UDP counters.
    pub udp: SocketCounts,
    /// Unix socket counters.
    pub uds: SocketCounts,
    /// The bound UDP address.
    pub udp_addr: Option<SocketAddr>,
    /// The UDP socket's receive buffer size in effect (the kernel reports twice what was
    /// asked, its own bookkeeping included).
    pub udp_rcvbuf: Option<usize>,
    /// When DogStatsD started.
    pub started: Instant,
}

impl Shared {
    /// The aggregator, locked. A reader that panicked cannot leave it half-updated in a way
    /// that matters, so a poisoned lock is taken over.
    pub fn aggregator(&self) -> MutexGuard<'_, Aggregator> {
        self.aggregator.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The running DogStatsD server.
pub struct DogStatsd {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl DogStatsd {
    /// Binds the sockets and starts the readers and the flush task, which sends through
    /// `forwarder`. At `shutdown` the readers stop and everything held is flushed.
    pub fn start(
        settings: DogStatsdSettings,
        forwarder: ForwarderHandle,
        mut shutdown: Shutdown,
    ) -> Result<DogStatsd, DogStatsdError> {
        let udp = match settings.udp {
            Some(addr) => {
                let socket = UdpSocket::bind(addr).map_err(|source| DogStatsdError::BindUdp { addr, source })?;
                let rcvbuf = listener::prepare(&socket, settings.so_rcvbuf)
                    .map_err(|source| DogStatsdError::BindUdp { addr, source })?;
                Some((socket, rcvbuf))
            }
            None => None,
        };
        let uds = match &settings.socket {
            Some(path) => {
                remove_stale_socket(path);
                let socket = UnixDatagram::bind(path).map_err(|source| DogStatsdError::BindSocket {
                    path: path.clone(),
                    source,
                })?;
                listener::prepare(&socket, settings.so_rcvbuf).map_err(|source| DogStatsdError::BindSocket {
                    path: path.clone(),
                    source,
                })?;
                Some(socket)
            }
            None => None,
        };
        let shared = Arc::new(Shared {
            aggregator: Mutex::new({
                let mut aggregator = Aggregator::new(settings.aggregator.clone());
                if settings.metrics_stats {
                    aggregator.enable_metric_stats();
                }
                aggregator
            }),
            udp: SocketCounts::default(),
            uds: SocketCounts::default(),
            udp_addr: udp.as_ref().and_then(|(s, _)| s.local_addr().ok()),
            udp_rcvbuf: udp.as_ref().map(|(_, size)| *size),
            started: Instant::now(),
            settings,
        });
        let stop = Arc::new(AtomicBool::new(false));
        let (to_aggregator, aggregator_thread) =
            listener::spawn_aggregator(shared.clone()).map_err(DogStatsdError::Thread)?;
        let mut readers = Vec::new();
        if let Some((socket, _)) = udp {
            readers.push(
                listener::spawn_reader(
                    "dogstatsd-udp",
                    socket.into(),
                    shared.clone(),
                    to_aggregator.clone(),
                    stop.clone(),
                    |s| &s.udp,
                )
                .map_err(DogStatsdError::Thread)?,
            );
        }
        if let Some(socket) = uds {
            readers.push(
                listener::spawn_reader(
                    "dogstatsd-uds",
                    socket.into(),
                    shared.clone(),
                    to_aggregator.clone(),
                    stop.clone(),
                    |s| &s.uds,
                )
                .map_err(DogStatsdError::Thread)?,
            );
        }
        // The aggregator thread ends once the readers, the last senders, have ended.
        drop(to_aggregator);
        readers.push(aggregator_thread);
        tracing::info!(udp = ?shared.udp_addr, socket = ?shared.settings.socket, "DogStatsD is listening.");
        let flusher_shared = shared.clone();
        let flusher = tokio::spawn(async move {
            let shared = flusher_shared;
            let mut tick = tokio::time::interval(shared.settings.flush_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let flushed = shared.aggregator().flush(unix_now(), false);
                        send(&forwarder, flushed);
                    }
                    _ = shutdown.wait() => break,
                }
            }
            stop.store(true, Ordering::Relaxed);
            let joined = tokio::task::spawn_blocking(move || {
                // Readers first: the aggregator thread is last in the list.
                for reader in readers {
                    let _ = reader.join();
                }
            });
            let _ = joined.await;
            let flushed = shared.aggregator().flush(unix_now(), true);
            send(&forwarder, flushed);
            if let Some(path) = &shared.settings.socket {
                let _ = std::fs::remove_file(path);
            }
        });
        Ok(DogStatsd {
            shared,
            tasks: vec![flusher],
        })
    }

    /// The bound UDP address (useful with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.shared.udp_addr
    }

    /// The status section provider.
    pub fn status(&self) -> status::DogStatsdStatus {
        status::DogStatsdStatus(Some(self.shared.clone()))
    }

    /// The tasks to await after triggering the shutdown given to [`DogStatsd::start`].
    pub fn into_tasks(self) -> Vec<JoinHandle<()>> {
        self.tasks
    }
}

/// Queues one flush's payloads on the forwarder, one per intake path.
fn send(forwarder: &ForwarderHandle, flushed: Flushed) {
    if !flushed.series.is_empty() {
        forwarder.submit_json(endpoints::SERIES_V1, &SeriesPayload { series: flushed.series });
    }
    if !flushed.sketches.is_empty() {
        let body = SketchPayload {
            sketches: flushed.sketches,
        }
        .encode_to_vec();
        forwarder.submit(Payload::new(
            endpoints::SKETCHES,
            "application/x-protobuf",
            &body,
            forwarder.compressor(),
        ));
    }
    if !flushed.events.is_empty() {
        forwarder.submit_json(endpoints::EVENTS_V1, &flushed.events);
    }
    if !flushed.service_checks.is_empty() {
        forwarder.submit_json(endpoints::CHECK_RUN_V1, &flushed.service_checks);
    }
}

/// Removes a socket file left by an earlier run, never a regular file.
fn remove_stale_socket(path: &std::path::Path) {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
