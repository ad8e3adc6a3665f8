//! The forwarder: sends payloads to the dogwatch server, in order, surviving outages.
//!
//! Components hand payloads to a [`ForwarderHandle`]; one task ([`Forwarder::run`]) sends
//! them oldest first over HTTP with the `DD-API-KEY` header. A payload the server refuses
//! as Datadog's forwarder treats as final (400, 403, 404, 413) is dropped and counted; any
//! other failure (no response, 5xx, 401, 408, 429, a redirect, ...) is retried after an
//! exponential backoff with jitter, and while the server is unreachable payloads are kept
//! in the disk buffer so an agent restart loses nothing. On shutdown the task keeps sending
//! for a short drain period, then moves whatever is left to disk.

mod disk;
mod payload;
mod queue;
mod stats;
mod tls;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::Bytes;
use dogwatch_model::endpoints;
use serde::Serialize;
use thiserror::Error;
use tokio::sync::Notify;
use tokio::time::Instant;

pub use disk::DiskBuffer;
pub use payload::Payload;
pub use stats::{ForwarderCounts, ForwarderStats};
pub use tls::TlsSettings;

use crate::config::{AgentConfig, CompressorKind};
use crate::shutdown::Shutdown;
use queue::SendQueue;

/// How the forwarder sends and where it buffers.
#[derive(Debug, Clone)]
pub struct ForwarderSettings {
    /// The server's base URL, without a trailing slash.
    pub server_url: String,
    /// The API key sent as `DD-API-KEY`.
    pub api_key: String,
    /// How payloads are compressed.
    pub compressor: CompressorKind,
    /// How long one request may take.
    pub timeout: Duration,
    /// Bytes of payloads kept in memory before the oldest move to disk.
    pub memory_max_bytes: u64,
    /// The disk buffer's directory, or `None` for no disk buffer.
    pub disk_dir: Option<PathBuf>,
    /// The disk buffer's size cap in bytes.
    pub disk_max_bytes: u64,
    /// The first retry delay.
    pub backoff_base: Duration,
    /// The longest retry delay.
    pub backoff_max: Duration,
    /// How long shutdown waits for queued payloads to be sent before moving them to disk.
    pub drain_timeout: Duration,
    /// How an https:// server's certificate is checked.
    pub tls: TlsSettings,
}

impl ForwarderSettings {
    /// Settings from the agent configuration; `run_path` is the agent's state directory.
    pub fn from_config(config: &AgentConfig, run_path: &Path) -> ForwarderSettings {
        let disk_dir = match (
            config.forwarder_storage_max_size_in_bytes,
            config.forwarder_storage_path.as_str(),
        ) {
            (0, _) => None,
            (_, "") => Some(run_path.join("transactions_to_retry")),
            (_, path) => Some(PathBuf::from(path)),
        };
        ForwarderSettings {
            server_url: config.server_url().to_string(),
            api_key: config.api_key.clone(),
            compressor: config.serializer_compressor_kind,
            timeout: Duration::from_secs(config.forwarder_timeout),
            memory_max_bytes: config.forwarder_retry_queue_payloads_max_size,
            disk_dir,
            disk_max_bytes: config.forwarder_storage_max_size_in_bytes,
            backoff_base: Duration::from_secs_f64(config.forwarder_backoff_base),
            backoff_max: Duration::from_secs_f64(config.forwarder_backoff_max),
            drain_timeout: Duration::from_secs(3),
            tls: TlsSettings {
                ca_cert: (!config.tls_ca_cert.is_empty()).then(|| PathBuf::from(&config.tls_ca_cert)),
                skip_validation: config.skip_ssl_validation,
                pinned_cert: None,
            },
        }
    }
}

/// Why the forwarder could not start.
#[derive(Debug, Error)]
pub enum ForwarderError {
    /// The disk buffer directory cannot be used.
    #[error("cannot use the forwarder's disk buffer at {path} (forwarder_storage_path): {source}")]
    DiskBuffer {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A certificate file for TLS cannot be used.
    #[error("cannot use {what} {path}: {message}")]
    Tls {
        /// The setting that names the file (`tls_ca_cert`).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the forwarder's HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Why a live payload was not delivered.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum LiveSendError {
    /// The server answered with an error status.
    #[error("the server answered {0}{hint}", hint = status_hint(*.0))]
    Status(u16),
    /// The server could not be reached, or the answer could not be read.
    #[error("cannot reach the server: {0}")]
    Transport(String),
}

fn status_hint(code: u16) -> String {
    match code {
        400 | 403 | 404 | 413 => format!(" ({})", rejection_hint(code)),
        _ => String::new(),
    }
}

/// What the server said about the API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "detail", rename_all = "snake_case")]
pub enum ApiKeyStatus {
    /// The server knows the key.
    Valid,
    /// The server refused the key.
    Invalid,
    /// The server could not be reached.
    Unreachable(String),
    /// The server answered something else.
    Unexpected(u16),
}

impl ApiKeyStatus {
    /// Datadog's wording for this status.
    pub fn describe(&self) -> String {
        match self {
            ApiKeyStatus::Valid => "API Key valid".into(),
            ApiKeyStatus::Invalid => "API Key invalid".into(),
            ApiKeyStatus::Unreachable(why) => format!("Unable to reach the API Key validation endpoint ({why})"),
            ApiKeyStatus::Unexpected(code) => {
                format!("Unexpected response code from the API Key validation endpoint ({code})")
            }
        }
    }
}

/// The queue's size now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueState {
    /// Payloads waiting in memory.
    pub in_memory: usize,
    /// Payloads waiting on disk.
    pub on_disk: usize,
    /// Bytes on disk.
    pub disk_bytes: u64,
    /// The disk buffer's cap in bytes (0: no disk buffer).
    pub disk_max_bytes: u64,
    /// The disk buffer's directory, if there is one.
    pub disk_path: Option<PathBuf>,
}

struct Shared {
    settings: ForwarderSettings,
    client: reqwest::Client,
    queue: Mutex<SendQueue>,
    wake: Notify,
    stats: ForwarderStats,
}

/// Submits payloads to the forwarder and reads its state. Cheap to clone.
#[derive(Clone)]
pub struct ForwarderHandle(Arc<Shared>);

/// The forwarder's sending task; see the module documentation.
pub struct Forwarder(Arc<Shared>);

enum Outcome {
    Delivered,
    Rejected(u16),
    RetryHttp(u16),
    RetryTransport(&'static str, String),
}

impl Forwarder {
    /// Opens the disk buffer (picking up payloads left by an earlier run) and builds the
    /// HTTP client.
    pub fn new(settings: ForwarderSettings) -> Result<Forwarder, ForwarderError> {
        let disk =
            match &settings.disk_dir {
                Some(dir) => Some(DiskBuffer::open(dir, settings.disk_max_bytes).map_err(|source| {
                    ForwarderError::DiskBuffer {
                        path: dir.clone(),
                        source,
                    }
                })?),
                None => None,
            };
        if let Some(disk) = disk.as_ref().filter(|d| !d.is_empty()) {
            tracing::info!(
                payloads = disk.len(),
                bytes = disk.bytes(),
                "Found payloads buffered on disk by an earlier run; they are sent first."
            );
        }
        let builder = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(format!("dogwatch-agent/{}", dogwatch_model::VERSION))
            // A redirect would turn the POST into a GET; report it instead (dd_url is wrong).
            .redirect(reqwest::redirect::Policy::none());
        let client = tls::configure(builder, &settings.tls)?.build()?;
        let queue = Mutex::new(SendQueue::new(settings.memory_max_bytes, disk));
        Ok(Forwarder(Arc::new(Shared {
            settings,
            client,
            queue,
            wake: Notify::new(),
            stats: ForwarderStats::default(),
        })))
    }

    /// A handle for submitting payloads.
    pub fn handle(&self) -> ForwarderHandle {
        ForwarderHandle(self.0.clone())
    }

    /// Sends until `shutdown`, then drains for `drain_timeout` and moves the rest to disk.
    pub async fn run(self, mut shutdown: Shutdown) {
        let shared = &self.0;
        let mut backoff = new_backoff(&shared.settings);
        let mut drain_until: Option<Instant> = None;
        loop {
            if drain_until.is_none() && shutdown.is_triggered() {
                drain_until = Some(Instant::now() + shared.settings.drain_timeout);
            }
            if drain_until.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let (front, losses) = shared.queue.lock().expect("queue lock").front();
            shared.record_losses(losses);
            let Some(payload) = front else {
                if drain_until.is_some() {
                    break;
                }
                tokio::select! {
                    _ = shared.wake.notified() => {}
                    _ = shutdown.wait() => {}
                }
                continue;
            };

            let outcome = match drain_until {
                Some(deadline) => tokio::time::timeout_at(deadline, shared.send(&payload))
                    .await
                    .unwrap_or(Outcome::RetryTransport("timeout", "shutdown drain period ended".into())),
                // A send in flight when shutdown comes is abandoned and made again, with the
                // drain deadline, so a slow server cannot hold shutdown for forwarder_timeout.
                None => tokio::select! {
                    outcome = shared.send(&payload) => outcome,
                    _ = shutdown.wait() => continue,
                },
            };
            match outcome {
                Outcome::Delivered => {
                    shared.stats.success(&payload.endpoint);
                    let mut queue = shared.queue.lock().expect("queue lock");
                    let mut losses = queue.remove_sent(&payload.id);
                    losses.merge(queue.set_unreachable(false));
                    drop(queue);
                    shared.record_losses(losses);
                    backoff = new_backoff(&shared.settings);
                }
                Outcome::Rejected(code) => {
                    tracing::error!(endpoint = %payload.endpoint, status = code, hint = rejection_hint(code), "The server refused a payload; it is dropped.");
                    shared.stats.http_error(code, false);
                    let losses = shared.queue.lock().expect("queue lock").remove_sent(&payload.id);
                    shared.record_losses(losses);
                }
                Outcome::RetryHttp(_) | Outcome::RetryTransport(..) => {
                    match &outcome {
                        Outcome::RetryHttp(code) => {
                            tracing::warn!(endpoint = %payload.endpoint, status = code, "The server could not take a payload; it will be retried.");
                            shared.stats.http_error(*code, true);
                        }
                        Outcome::RetryTransport(kind, detail) => {
                            tracing::warn!(endpoint = %payload.endpoint, error = %detail, "Cannot reach the server; payloads are kept and retried.");
                            shared.stats.transport_error(kind);
                        }
                        _ => unreachable!(),
                    }
                    let losses = shared.queue.lock().expect("queue lock").set_unreachable(true);
                    shared.record_losses(losses);
                    if drain_until.is_some() {
                        break;
                    }
                    let delay = backoff.next().unwrap_or(shared.settings.backoff_max);
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = shutdown.wait() => {}
                    }
                }
            }
        }
        let mut queue = shared.queue.lock().expect("queue lock");
        let left = queue.memory_len();
        let losses = queue.spill();
        shared.record_losses(losses);
        match queue.disk() {
            Some(disk) if !disk.is_empty() => tracing::info!(
                payloads = disk.len(),
                path = %disk.dir().display(),
                "Payloads not yet sent are kept on disk and will be sent when the agent starts again."
            ),
            None if left > 0 => tracing::warn!(
                payloads = left,
                "Payloads not yet sent are lost: the disk buffer is off (forwarder_storage_max_size_in_bytes is 0)."
            ),
            _ => {}
        }
    }
}

impl Shared {
    /// The intake request for `payload`.
    fn request(&self, payload: &Payload) -> reqwest::RequestBuilder {
        let url = format!("{}{}", self.settings.server_url, payload.endpoint);
        self.client
            .post(url)
            .header(endpoints::API_KEY_HEADER, &self.settings.api_key)
            .header(endpoints::AGENT_VERSION_HEADER, dogwatch_model::VERSION)
            .header(endpoints::PAYLOAD_ID_HEADER, &payload.id)
            .header(reqwest::header::CONTENT_TYPE, &payload.content_type)
            .header(reqwest::header::CONTENT_ENCODING, &payload.content_encoding)
            .body(payload.body.clone())
    }

    async fn send(&self, payload: &Payload) -> Outcome {
        match self.request(payload).send().await {
            Ok(response) => {
                let code = response.status().as_u16();
                // Datadog's forwarder drops exactly these codes and retries every other failure.
                match code {
                    200..=299 => Outcome::Delivered,
                    400 | 403 | 404 | 413 => Outcome::Rejected(code),
                    _ => Outcome::RetryHttp(code),
                }
            }
            Err(e) => Outcome::RetryTransport(transport_kind(&e), error_chain(&e)),
        }
    }

    fn record_losses(&self, losses: queue::Losses) {
        if losses.disk_full > 0 {
            tracing::warn!(
                payloads = losses.disk_full,
                "The disk buffer is full; the oldest payloads were deleted (forwarder_storage_max_size_in_bytes)."
            );
        }
        if losses.memory_full > 0 {
            tracing::warn!(
                payloads = losses.memory_full,
                "The memory queue is full and the disk buffer cannot take more; the oldest payloads were dropped."
            );
        }
        for error in &losses.disk_errors {
            tracing::error!(error = %error, "A disk buffer operation failed.");
        }
        self.stats.lost(&losses);
    }
}

impl ForwarderHandle {
    /// Queues a payload for sending. Never blocks on the network.
    pub fn submit(&self, payload: Payload) {
        self.0.stats.submitted();
        let losses = self.0.queue.lock().expect("queue lock").push(payload);
        self.0.record_losses(losses);
        self.0.wake.notify_one();
    }

    /// Serializes `value` as JSON, compresses it and queues it for `endpoint`.
    pub fn submit_json<T: Serialize>(&self, endpoint: &str, value: &T) {
        self.submit(Payload::json(endpoint, value, self.0.settings.compressor));
    }

    /// Sends a live payload now, beside the queue, and returns the server's answer body.
    ///
    /// Live payloads (process snapshots) describe the host as it is now: one that cannot be
    /// delivered is counted and dropped, never buffered or retried, because the next
    /// collection run replaces it. They use the same client, API key, headers and counters
    /// as queued payloads.
    pub async fn send_live(&self, payload: Payload) -> Result<Bytes, LiveSendError> {
        let shared = &self.0;
        shared.stats.submitted();
        let response = match shared.request(&payload).send().await {
            Ok(response) => response,
            Err(e) => {
                let kind = match transport_kind(&e) {
                    "request" => "connection",
                    kind => kind,
                };
                shared.stats.live_transport_error(kind);
                return Err(LiveSendError::Transport(error_chain(&e)));
            }
        };
        let code = response.status().as_u16();
        if !response.status().is_success() {
            shared.stats.live_http_error(code);
            return Err(LiveSendError::Status(code));
        }
        match response.bytes().await {
            Ok(body) => {
                shared.stats.success(&payload.endpoint);
                Ok(body)
            }
            Err(e) => {
                shared.stats.live_transport_error("response");
                Err(LiveSendError::Transport(error_chain(&e)))
            }
        }
    }

    /// The compressor this forwarder's payloads use (`serializer_compressor_kind`).
    pub fn compressor(&self) -> CompressorKind {
        self.0.settings.compressor
    }

    /// The counters since start.
    pub fn counts(&self) -> ForwarderCounts {
        self.0.stats.snapshot()
    }

    /// The queue's size now.
    pub fn queue_state(&self) -> QueueState {
        let queue = self.0.queue.lock().expect("queue lock");
        let disk = queue.disk();
        QueueState {
            in_memory: queue.memory_len(),
            on_disk: disk.map_or(0, DiskBuffer::len),
            disk_bytes: disk.map_or(0, DiskBuffer::bytes),
            disk_max_bytes: disk.map_or(0, DiskBuffer::max_bytes),
            disk_path: disk.map(|d| d.dir().to_path_buf()),
        }
    }

    /// Whether nothing is waiting to be sent.
    pub fn is_idle(&self) -> bool {
        self.0.queue.lock().expect("queue lock").is_empty()
    }

    /// The server this forwarder sends to.
    pub fn server_url(&self) -> &str {
        &self.0.settings.server_url
    }

    /// The API key this forwarder sends.
    pub fn api_key(&self) -> &str {
        &self.0.settings.api_key
    }

    /// Asks the server's `/api/v1/validate` whether the API key is known.
    pub async fn validate_api_key(&self) -> ApiKeyStatus {
        let url = format!("{}{}", self.0.settings.server_url, endpoints::VALIDATE);
        let request = self
            .0
            .client
            .get(url)
            .header(endpoints::API_KEY_HEADER, &self.0.settings.api_key)
            .timeout(Duration::from_secs(5));
        match request.send().await {
            Ok(r) if r.status() == reqwest::StatusCode::FORBIDDEN => ApiKeyStatus::Invalid,
            Ok(r) if r.status().is_success() => match r.json::<serde_json::Value>().await {
                Ok(body) if body["valid"] == serde_json::Value::Bool(true) => ApiKeyStatus::Valid,
                _ => ApiKeyStatus::Invalid,
            },
            Ok(r) => ApiKeyStatus::Unexpected(r.status().as_u16()),
            Err(e) => ApiKeyStatus::Unreachable(error_chain(&e)),
        }
    }
}

/// Retry delays: the base, doubling to the cap, each with "equal jitter" — a random delay
/// between half the nominal delay and the nominal delay, never above the cap. backon adds
/// up to +100 % jitter on top of its current delay, so it is given half the base and cap.
fn new_backoff(settings: &ForwarderSettings) -> impl Iterator<Item = Duration> + use<> {
    ExponentialBuilder::default()
        .with_min_delay(settings.backoff_base / 2)
        .with_max_delay(settings.backoff_max / 2)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
}

fn rejection_hint(code: u16) -> &'static str {
    match code {
        403 => "the server does not know this API key; check api_key / DD_API_KEY",
        404 => "the server has no such intake endpoint; check dd_url",
        413 => "the payload is larger than the server accepts",
        _ => "the server considers the payload invalid",
    }
}

/// The kind a failed request is counted under in `dogwatch status` (Errors By Type):
/// `tls` (a certificate refused, as Datadog's TLSErrors), `timeout`, `connection` or
/// `request`.
fn transport_kind(error: &reqwest::Error) -> &'static str {
    if tls::is_tls_error(error) {
        "tls"
    } else if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connection"
    } else {
        "request"
    }
}

/// An error with its causes, e.g. `error sending request: connection refused`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
