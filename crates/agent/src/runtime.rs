//! Wires the agent's components together, runs them, and shuts them down in order:
//! sources stop first, then the forwarder drains its queue (what it cannot send goes to
//! disk), then the local API closes.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

use thiserror::Error;
use tokio::task::JoinHandle;

use crate::apm::TraceAgent;
use crate::apm::status::ApmStatus;
use crate::checks::python::status::PythonHostStatus;
use crate::checks::runner::{CheckRunner, CollectorStatus, RunnerSettings};
use crate::checks::{self, confd};
use crate::config::secrets::{SecretBackend, SecretError};
use crate::config::{Environment, LoadedConfig};
use crate::dogstatsd::aggregate::HistogramAggregate;
use crate::dogstatsd::status::DogStatsdStatus;
use crate::dogstatsd::{DogStatsd, DogStatsdSettings};
use crate::forwarder::{ApiKeyStatus, Forwarder, ForwarderError, ForwarderHandle, ForwarderSettings};
use crate::hostname::HostIdentity;
use crate::process::{HostPaths, ProcessRunner, ProcessStatus};
use crate::shutdown::{self, ShutdownTrigger};
use crate::status::server::{BindError, StatusServer};
use crate::status::{StatusBlock, StatusProvider, StatusSection, format_time, human_bytes, human_duration};

/// Everything the agent needs to start.
pub struct AgentOptions {
    /// The loaded configuration.
    pub loaded: LoadedConfig,
    /// The resolved hostname and host tags.
    pub identity: HostIdentity,
    /// The environment the configuration was read from (for `HOST_PROC`, `HOST_ETC`).
    pub env: Environment,
    /// Where the agent keeps state (`run_path`, else the data directory).
    pub run_path: PathBuf,
    /// A PEM certificate the server must present, trusted whatever its name or issuer
    /// instead of `tls_ca_cert`/`skip_ssl_validation`: `dogwatch up` pins its own server's.
    /// `None` (what [`AgentOptions::new`] sets) checks certificates as configured.
    pub server_certificate: Option<PathBuf>,
}

impl AgentOptions {
    /// Options with the state directory taken from `run_path`, or `<data_dir>/agent` when
    /// `run_path` is empty.
    pub fn new(loaded: LoadedConfig, identity: HostIdentity, env: Environment, data_dir: &std::path::Path) -> Self {
        let run_path = run_path(&loaded.config, data_dir);
        AgentOptions {
            loaded,
            identity,
            env,
            run_path,
            server_certificate: None,
        }
    }
}

/// The agent's state directory (disk buffer, `auth_token`): `run_path`, or `<data_dir>/agent`
/// when it is empty. `dogwatch status` finds the agent's token through the same rule.
pub fn run_path(config: &crate::config::AgentConfig, data_dir: &std::path::Path) -> PathBuf {
    match config.run_path.as_str() {
        "" => data_dir.join("agent"),
        path => PathBuf::from(path),
    }
}

/// Why the agent could not start.
#[derive(Debug, Error)]
pub enum AgentError {
    /// No API key is configured.
    #[error(
        "no API key is configured: set `api_key` in datadog.yaml or DD_API_KEY (the server prints its key on first start; `dogwatch api-key` shows it)"
    )]
    MissingApiKey,
    /// The forwarder could not start.
    #[error(transparent)]
    Forwarder(#[from] ForwarderError),
    /// The local API's auth token could not be written or read.
    #[error(transparent)]
    AuthToken(#[from] crate::status::auth::AuthTokenError),
    /// The local API could not bind.
    #[error(transparent)]
    LocalApi(#[from] BindError),
    /// The trace receiver could not bind.
    #[error(transparent)]
    Apm(#[from] crate::apm::ApmError),
    /// DogStatsD could not start.
    #[error(transparent)]
    DogStatsd(#[from] crate::dogstatsd::DogStatsdError),
    /// An `ENC[]` value in a conf.d file could not be resolved.
    #[error(transparent)]
    Secret(#[from] crate::config::secrets::SecretError),
}

/// A running agent. Call [`RunningAgent::shutdown`] to stop it in order.
pub struct RunningAgent {
    sources: Vec<JoinHandle<()>>,
    sources_stop: ShutdownTrigger,
    forwarder_task: JoinHandle<()>,
    forwarder_stop: ShutdownTrigger,
    local_api_task: JoinHandle<()>,
    local_api_stop: ShutdownTrigger,
    local_api_addr: SocketAddr,
    apm_addr: Option<SocketAddr>,
    dogstatsd_addr: Option<SocketAddr>,
    forwarder: ForwarderHandle,
}

impl RunningAgent {
    /// Starts every component.
    pub async fn start(options: AgentOptions) -> Result<RunningAgent, AgentError> {
        let config = &options.loaded.config;
        if config.api_key.trim().is_empty() {
            return Err(AgentError::MissingApiKey);
        }
        let mut forwarder_settings = ForwarderSettings::from_config(config, &options.run_path);
        forwarder_settings.tls.pinned_cert = options.server_certificate.clone();
        let forwarder = Forwarder::new(forwarder_settings)?;
        let auth_token = crate::status::auth::ensure_token(&options.run_path)?;
        let handle = forwarder.handle();

        let python = python_loader(&options.loaded, &options.env, &options.identity, &options.run_path);
        let runner = CheckRunner::new(
            check_plan(&options.loaded, &options.env, Some(&python))?,
            runner_settings(config, &options.identity),
            handle.clone(),
        );

        let collector_stats = runner.stats();
        let process_runner = config.process_config.process_collection_enabled().then(|| {
            ProcessRunner::new(
                config,
                HostPaths::from_env(&options.env),
                &options.identity.hostname,
                &options.identity.host_tags,
                handle.clone(),
            )
        });

        let (sources_stop, sources_signal) = shutdown::channel();
        let trace_agent = if config.apm_config.enabled {
            Some(
                TraceAgent::start(
                    config,
                    &options.identity.hostname,
                    handle.clone(),
                    sources_signal.clone(),
                )
                .await?,
            )
        } else {
            None
        };
        let apm_addr = trace_agent.as_ref().and_then(TraceAgent::local_addr);
        let dogstatsd_settings = DogStatsdSettings::from_config(config, &options.identity.hostname);
        let dogstatsd = if dogstatsd_settings.enabled() {
            Some(DogStatsd::start(
                dogstatsd_settings,
                handle.clone(),
                sources_signal.clone(),
            )?)
        } else {
            None
        };
        let dogstatsd_addr = dogstatsd.as_ref().and_then(DogStatsd::local_addr);
        let providers: Vec<Box<dyn StatusProvider>> = vec![
            Box::new(AgentInfoStatus {
                identity: options.identity.clone(),
                config_file: options.loaded.file.clone(),
                log_level: config.log_level.name(),
                run_path: options.run_path.clone(),
                started: (Instant::now(), SystemTime::now()),
            }),
            Box::new(CollectorStatus(collector_stats.clone())),
            Box::new(ProcessStatus {
                stats: process_runner.as_ref().map(ProcessRunner::stats),
            }),
            Box::new(trace_agent.as_ref().map_or(ApmStatus(None), TraceAgent::status)),
            Box::new(dogstatsd.as_ref().map_or(DogStatsdStatus(None), DogStatsd::status)),
            Box::new(ForwarderStatus(handle.clone())),
        ];
        let mut providers = providers;
        if python.loaded_any() {
            providers.insert(2, Box::new(PythonHostStatus(python.host().clone())));
        }
        let mut local_api = StatusServer::bind(&config.cmd_host, config.cmd_port, providers, &auth_token).await?;
        let local_api_addr = local_api.local_addr();
        if let Some(shared) = dogstatsd.as_ref().and_then(|d| d.status().0) {
            local_api.set_dogstatsd(shared);
        }
        let health = local_api.health();

        let (forwarder_stop, forwarder_signal) = shutdown::channel();
        let (local_api_stop, local_api_signal) = shutdown::channel();
        let mut sources = vec![tokio::spawn(runner.run(sources_signal.clone()))];
        health.register("collector", &sources[0]);
        if let Some(trace_agent) = trace_agent {
            let tasks = trace_agent.into_tasks();
            tasks.iter().for_each(|t| health.register("trace-agent", t));
            sources.extend(tasks);
        }
        if let Some(dogstatsd) = dogstatsd {
            let tasks = dogstatsd.into_tasks();
            tasks.iter().for_each(|t| health.register("dogstatsd-main", t));
            sources.extend(tasks);
        }
        if let Some(process_runner) = process_runner {
            sources.push(tokio::spawn(process_runner.run(sources_signal.clone())));
            health.register("process-collector", sources.last().expect("just pushed"));
        }
        if config.enable_metadata_collection {
            sources.push(tokio::spawn(crate::metadata::run_metadata_sender(
                options.identity.clone(),
                collector_stats,
                handle.clone(),
                sources_signal,
            )));
            health.register("metadata-sender", sources.last().expect("just pushed"));
        }
        let forwarder_task = tokio::spawn(forwarder.run(forwarder_signal));
        health.register("forwarder", &forwarder_task);
        tokio::spawn(report_api_key_status(handle.clone()));
        let local_api_task = tokio::spawn(local_api.run(local_api_signal));
        tracing::info!(
            hostname = %options.identity.hostname,
            server = %handle.server_url(),
            local_api = %local_api_addr,
            "The agent is running."
        );
        Ok(RunningAgent {
            sources,
            sources_stop,
            forwarder_task,
            forwarder_stop,
            local_api_task,
            local_api_stop,
            local_api_addr,
            apm_addr,
            dogstatsd_addr,
            forwarder: handle,
        })
    }

    /// The address of the local API (`dogwatch status` asks it).
    pub fn local_api_addr(&self) -> SocketAddr {
        self.local_api_addr
    }

    /// The trace receiver's TCP address, when it listens on TCP.
    pub fn apm_addr(&self) -> Option<SocketAddr> {
        self.apm_addr
    }

    /// DogStatsD's UDP address, when it listens on UDP.
    pub fn dogstatsd_addr(&self) -> Option<SocketAddr> {
        self.dogstatsd_addr
    }

    /// The forwarder, for components added by the caller.
    pub fn forwarder(&self) -> &ForwarderHandle {
        &self.forwarder
    }

    /// Stops sources, drains the forwarder, then closes the local API.
    pub async fn shutdown(self) {
        self.sources_stop.trigger();
        for task in self.sources {
            let _ = task.await;
        }
        self.forwarder_stop.trigger();
        let _ = self.forwarder_task.await;
        self.local_api_stop.trigger();
        let _ = self.local_api_task.await;
        tracing::info!("The agent has stopped.");
    }
}

/// The check instances this agent runs: conf.d plus the core checks' defaults, with the
/// `ENC[]` values of conf.d resolved by `secret_backend_command`.
/// Names no Rust check has are looked up as Python checks by `python`.
pub fn check_plan(
    loaded: &LoadedConfig,
    env: &Environment,
    python: Option<&checks::python::Loader>,
) -> Result<checks::CheckPlan, SecretError> {
    let mut confd = confd_contents(loaded, env);
    confd.resolve_secrets(SecretBackend::from_config(&loaded.config).as_ref())?;
    let host_metrics = !env.is_true("DD_DISABLE_HOST_METRICS");
    Ok(checks::plan_with_python(
        &confd,
        &HostPaths::from_env(env),
        host_metrics,
        python,
    ))
}

/// The directories of Python checks: `additional_checksd`, else `checks.d` beside the config
/// file; then the Heroku conf folder's `checks.d` (`DD_HEROKU_CONF_FOLDER`), when it exists.
pub fn checksd_dirs(loaded: &LoadedConfig, env: &Environment) -> Vec<PathBuf> {
    let mut dirs = configured_checksd_dirs(loaded);
    dirs.extend(crate::heroku::checksd_dir(env));
    dirs
}

fn configured_checksd_dirs(loaded: &LoadedConfig) -> Vec<PathBuf> {
    match loaded.config.additional_checksd.as_str() {
        "" => loaded
            .file
            .as_deref()
            .and_then(std::path::Path::parent)
            .map(|dir| vec![dir.join("checks.d")])
            .unwrap_or_default(),
        dir => vec![PathBuf::from(dir)],
    }
}

/// The loader of Python checks (`additional_checksd`, `python_interpreter`), whose host keeps
/// its files under `run_path` and answers `datadog_agent` calls from this identity and config.
pub fn python_loader(
    loaded: &LoadedConfig,
    env: &Environment,
    identity: &HostIdentity,
    run_path: &std::path::Path,
) -> checks::python::Loader {
    let start_time = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    checks::python::Loader::new(checks::python::PythonSettings {
        interpreter: loaded.config.python_interpreter.clone(),
        checksd: checksd_dirs(loaded, env),
        run_path: run_path.to_path_buf(),
        context: serde_json::json!({
            "hostname": identity.hostname,
            "host_tags": identity.host_tags,
            "version": dogwatch_model::VERSION,
            "config": serde_json::to_value(&loaded.config).unwrap_or_default(),
            "run_path": run_path,
            "start_time": start_time,
            "cluster_name": "",
        }),
    })
}

/// The check configurations the agent reads (conf.d, and Heroku's folders), with their
/// `ENC[]` values not resolved yet.
pub fn confd_contents(loaded: &LoadedConfig, env: &Environment) -> confd::ConfdContents {
    let mut confd = checks::confd_dir(&loaded.config.confd_path, loaded.file.as_deref())
        .map(|dir| confd::read_confd(&dir))
        .unwrap_or_default();
    crate::heroku::apply(&mut confd, env);
    confd
}

/// The check instances of `confd` plus the core checks' defaults.
pub fn plan_from(confd: &confd::ConfdContents, env: &Environment) -> checks::CheckPlan {
    let host_metrics = !env.is_true("DD_DISABLE_HOST_METRICS");
    checks::plan(confd, &HostPaths::from_env(env), host_metrics)
}

/// What every check instance's sender adds: host, host tags, histogram settings.
pub fn runner_settings(config: &crate::config::AgentConfig, identity: &HostIdentity) -> RunnerSettings {
    RunnerSettings {
        hostname: identity.hostname.clone(),
        host_tags: identity.host_tags.clone(),
        histogram_aggregates: config
            .histogram_aggregates
            .iter()
            .filter_map(|a| HistogramAggregate::from_name(a))
            .collect(),
        histogram_percentiles: config.histogram_percentile_values(),
        agent_up_interval: Duration::from_secs(config.check_interval.max(1)),
    }
}

/// Checks the API key once at start-up, so a key the server does not know is reported
/// at once rather than as dropped payloads later.
async fn report_api_key_status(forwarder: ForwarderHandle) {
    match forwarder.validate_api_key().await {
        ApiKeyStatus::Valid => tracing::info!("The server accepts the API key."),
        ApiKeyStatus::Invalid => tracing::error!(
            server = %forwarder.server_url(),
            "The server does not know this API key, so it will refuse every payload. Set api_key or DD_API_KEY to one of its keys (`dogwatch api-key` on the server lists them)."
        ),
        other => {
            tracing::warn!(server = %forwarder.server_url(), status = %other.describe(), "Cannot check the API key yet; payloads are kept until the server answers.")
        }
    }
}

/// A block with a total and a count per key, e.g. HTTP errors by code.
fn breakdown_block<'a, K: ToString + 'a>(
    heading: &str,
    label: &str,
    counts: impl Iterator<Item = (&'a K, &'a u64)> + Clone,
) -> StatusBlock {
    let total: u64 = counts.clone().map(|(_, n)| n).sum();
    let mut block = StatusBlock::new(heading).line("Total number", total).text(label);
    for (key, n) in counts {
        block = block.sub_line(key.to_string(), n);
    }
    block
}

/// The report's header section: version, identity, paths.
struct AgentInfoStatus {
    identity: HostIdentity,
    config_file: Option<PathBuf>,
    log_level: &'static str,
    run_path: PathBuf,
    started: (Instant, SystemTime),
}

impl StatusProvider for AgentInfoStatus {
    fn section(&self) -> Pin<Box<dyn Future<Output = StatusSection> + Send + '_>> {
        Box::pin(async move {
            let info = StatusBlock::new("")
                .line("Status date", format_time(Some(SystemTime::now())))
                .line("Agent start", format_time(Some(self.started.1)))
                .line("Uptime", human_duration(self.started.0.elapsed().as_secs()))
                .line("Pid", std::process::id())
                .line("Build arch", std::env::consts::ARCH)
                .line("Log Level", self.log_level);
            let config_file = match &self.config_file {
                Some(path) => path.display().to_string(),
                None => "There is no config file".into(),
            };
            let paths = StatusBlock::new("Paths")
                .line("Config File", config_file)
                .line("Run Path", self.run_path.display());
            let mut hostnames = StatusBlock::new("Hostnames")
                .line("hostname", &self.identity.hostname)
                .line("socket-hostname", &self.identity.os_hostname)
                .text("host tags:");
            for tag in &self.identity.host_tags {
                hostnames = hostnames.sub_line(tag, "");
            }
            hostnames = hostnames.line("hostname provider", self.identity.provider);
            if !self.identity.unused_providers.is_empty() {
                hostnames = hostnames.text("unused hostname providers:");
                for (provider, reason) in &self.identity.unused_providers {
                    hostnames = hostnames.sub_line(provider.name(), reason);
                }
            }
            StatusSection {
                title: format!("Agent (v{})", dogwatch_model::VERSION),
                blocks: vec![info, paths, hostnames],
            }
        })
    }
}

/// The Forwarder section: transactions, disk buffer, API key status.
struct ForwarderStatus(ForwarderHandle);

impl StatusProvider for ForwarderStatus {
    fn section(&self) -> Pin<Box<dyn Future<Output = StatusSection> + Send + '_>> {
        Box::pin(async move {
            let counts = self.0.counts();
            let queue = self.0.queue_state();
            let mut transactions = StatusBlock::new("Transactions")
                .line("Server", self.0.server_url())
                .line("Submitted", counts.submitted)
                .line("Success", counts.success)
                .line("Retried", counts.retried)
                .line("Dropped", counts.dropped())
                .line("InMemory", queue.in_memory)
                .line("OnDisk", queue.on_disk);
            if counts.dropped() > 0 {
                transactions = transactions
                    .text("Dropped by reason:")
                    .sub_line("RejectedByServer", counts.dropped_rejected)
                    .sub_line("DiskBufferFull", counts.dropped_disk_full)
                    .sub_line("MemoryQueueFull", counts.dropped_memory_full)
                    .sub_line("UnreadableOnDisk", counts.dropped_corrupt)
                    .sub_line("LiveNotDelivered", counts.dropped_live);
            }
            let mut blocks = vec![transactions];
            let breakdowns = [
                (
                    "Transaction Successes",
                    "Successes By Endpoint:",
                    &counts.success_by_endpoint,
                ),
                ("Transaction Errors", "Errors By Type:", &counts.transport_errors),
            ];
            for (heading, label, counts_by) in breakdowns {
                if !counts_by.is_empty() {
                    blocks.push(breakdown_block(heading, label, counts_by.iter()));
                }
            }
            if !counts.http_errors.is_empty() {
                blocks.push(breakdown_block(
                    "HTTP Errors",
                    "HTTP Errors By Code:",
                    counts.http_errors.iter(),
                ));
            }
            let disk = match &queue.disk_path {
                None => StatusBlock::new("On-disk storage")
                    .text("On-disk storage is disabled. Configure `forwarder_storage_max_size_in_bytes` to enable it."),
                Some(path) => StatusBlock::new("On-disk storage")
                    .line("Path", path.display())
                    .line("Payloads on disk", queue.on_disk)
                    .line(
                        "Disk usage",
                        format!(
                            "{} of {}",
                            human_bytes(queue.disk_bytes),
                            human_bytes(queue.disk_max_bytes)
                        ),
                    )
                    .line("Disk errors", counts.disk_errors),
            };
            blocks.push(disk);
            blocks.push(StatusBlock::new("API Keys status").line(
                format!("API key ending with {}", dogwatch_model::api_key_tail(self.0.api_key())),
                self.0.validate_api_key().await.describe(),
            ));
            StatusSection {
                title: "Forwarder".into(),
                blocks,
            }
        })
    }
}
