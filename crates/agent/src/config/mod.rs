//! The agent's configuration: Datadog's `datadog.yaml` keys, overlaid by `DD_*` variables.
//!
//! [`AgentConfig`] is the typed result. Every field is named after its Datadog key (nested
//! structs for `apm_config.*` and `process_config.*`), and its doc comment ends with the
//! default. [`load`] builds it from defaults, an optional file and the environment, and
//! remembers where each value came from so `dogwatch config` can say so.

mod env;
mod error;
mod load;
pub mod secrets;
mod values;

use serde::{Deserialize, Serialize};

pub use env::Environment;
pub use error::ConfigError;
pub use load::{LoadedConfig, ValueSource, load};
pub use values::{CompressorKind, LogLevel, ProcessAgentMode};

/// The default address of a dogwatch server, used when `dd_url` is not set.
pub const DEFAULT_SERVER_URL: &str = "http://127.0.0.1:8585";

/// Everything the agent reads from `datadog.yaml` and `DD_*` variables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentConfig {
    /// The API key sent with every payload (`DD_API_KEY`). Defaults to empty, which the
    /// standalone agent refuses; `dogwatch up` fills in the server's own key.
    pub api_key: String,
    /// The application key CLI readers (`dogwatch ps`) send with the API key to read from the
    /// server (`DD_APP_KEY`, or `DD_APPLICATION_KEY`). The agent itself never needs one.
    /// Defaults to empty.
    pub app_key: String,
    /// Datadog's site name (`DD_SITE`). Accepted for compatibility; dogwatch sends to
    /// `dd_url`. Defaults to `datadoghq.com`.
    pub site: String,
    /// The dogwatch server to send to (`DD_DD_URL`, or `DD_URL`). Defaults to empty, which
    /// means `http://127.0.0.1:8585`.
    pub dd_url: String,
    /// Accept any certificate from an https:// `dd_url`: expired, self-signed, or for another
    /// name (`DD_SKIP_SSL_VALIDATION`). Only for trying things out. Defaults to false.
    pub skip_ssl_validation: bool,
    /// A PEM file of CA certificates trusted for an https:// `dd_url` besides the system's
    /// (`DD_TLS_CA_CERT`), for a server whose certificate a private CA signed. dogwatch's own
    /// key: Datadog's agent trusts only the system store. Defaults to empty (the system's CAs).
    pub tls_ca_cert: String,
    /// The host name to report, overriding every other source (`DD_HOSTNAME`). Defaults to
    /// empty (resolve it).
    pub hostname: String,
    /// A file whose first line is the host name (`DD_HOSTNAME_FILE`). Defaults to empty.
    pub hostname_file: String,
    /// Tags added to everything this host reports (`DD_TAGS`, space- or comma-separated).
    /// Defaults to none.
    pub tags: Vec<String>,
    /// More host tags, appended to `tags` (`DD_EXTRA_TAGS`). Defaults to none.
    pub extra_tags: Vec<String>,
    /// The environment tag of this host (`DD_ENV`), added as `env:<value>`. Defaults to empty.
    pub env: String,
    /// How much the agent logs (`DD_LOG_LEVEL`): trace, debug, info, warn, error, critical
    /// or off. Defaults to `info`.
    pub log_level: LogLevel,
    /// The loopback port of the agent's local API, which `dogwatch status` asks
    /// (`DD_CMD_PORT`). Defaults to 5001.
    pub cmd_port: u16,
    /// The address the local API binds (`DD_CMD_HOST`); only loopback addresses are
    /// accepted. Defaults to `localhost`.
    pub cmd_host: String,
    /// Where the agent keeps its state (`DD_RUN_PATH`). Defaults to empty: the data
    /// directory (`--data-dir`).
    pub run_path: String,
    /// Seconds before a request to the server is abandoned and retried
    /// (`DD_FORWARDER_TIMEOUT`). Defaults to 20.
    pub forwarder_timeout: u64,
    /// Bytes of payloads held in memory while they wait to be sent
    /// (`DD_FORWARDER_RETRY_QUEUE_PAYLOADS_MAX_SIZE`); past it, the oldest go to disk.
    /// Defaults to 15 MiB.
    pub forwarder_retry_queue_payloads_max_size: u64,
    /// Bytes of payloads kept on disk while the server cannot be reached
    /// (`DD_FORWARDER_STORAGE_MAX_SIZE_IN_BYTES`); when full, the oldest are dropped and
    /// counted; 0 turns the disk buffer off. Defaults to 100 MiB.
    pub forwarder_storage_max_size_in_bytes: u64,
    /// The directory of the disk buffer (`DD_FORWARDER_STORAGE_PATH`). Defaults to empty:
    /// `<run_path>/transactions_to_retry`.
    pub forwarder_storage_path: String,
    /// The first retry delay in seconds; each further retry doubles it, with jitter
    /// (`DD_FORWARDER_BACKOFF_BASE`). Defaults to 2.
    pub forwarder_backoff_base: f64,
    /// The longest retry delay in seconds (`DD_FORWARDER_BACKOFF_MAX`). Defaults to 64.
    pub forwarder_backoff_max: f64,
    /// How payloads are compressed: `zstd` or `zlib` (`DD_SERIALIZER_COMPRESSOR_KIND`).
    /// Defaults to `zstd`.
    pub serializer_compressor_kind: CompressorKind,
    /// Seconds between `datadog.agent.up` service checks. Each check instance runs at its own
    /// `min_collection_interval` (15 s unless its conf.d file says otherwise). Defaults to 15.
    pub check_interval: u64,
    /// The directory of check configurations, `<name>.d/conf.yaml` as Datadog's
    /// (`DD_CONFD_PATH`). Defaults to empty: `conf.d` beside the config file, or none when
    /// there is no config file (the core checks then run with their defaults).
    pub confd_path: String,
    /// The directory of Python custom checks, `<name>.py` as Datadog's
    /// (`DD_ADDITIONAL_CHECKSD`). Defaults to empty: `checks.d` beside the config file, or
    /// none when there is no config file.
    pub additional_checksd: String,
    /// The Python interpreter that runs Python checks (`DD_PYTHON_INTERPRETER`): a name looked
    /// up on `PATH` or a path, e.g. a virtualenv's `bin/python` with `datadog-checks-base`
    /// installed. dogwatch's own key (Datadog's agent embeds its Python). Defaults to `python3`.
    pub python_interpreter: String,
    /// Whether host metadata is sent (`DD_ENABLE_METADATA_COLLECTION`). Defaults to true.
    pub enable_metadata_collection: bool,
    /// The DogStatsD UDP port (`DD_DOGSTATSD_PORT`); 0 turns UDP off. Defaults to 8125.
    pub dogstatsd_port: u16,
    /// Listen on every interface instead of localhost (`DD_DOGSTATSD_NON_LOCAL_TRAFFIC`).
    /// Defaults to false.
    pub dogstatsd_non_local_traffic: bool,
    /// A Unix datagram socket path for DogStatsD (`DD_DOGSTATSD_SOCKET`). Defaults to empty
    /// (off).
    pub dogstatsd_socket: String,
    /// The largest datagram read, in bytes (`DD_DOGSTATSD_BUFFER_SIZE`). Defaults to 8192.
    pub dogstatsd_buffer_size: u64,
    /// The socket receive buffer in bytes (`DD_DOGSTATSD_SO_RCVBUF`); 0 keeps the OS
    /// default (Datadog's default). Defaults to 4194304 (4 MiB): the OS default of about
    /// 208 KiB holds 2.5 ms of datagrams at 100k/s, and drops bursts on a busy machine. The
    /// kernel caps it at `net.core.rmem_max` for processes without CAP_NET_ADMIN.
    pub dogstatsd_so_rcvbuf: u64,
    /// Seconds a counter keeps reporting 0 after its last sample
    /// (`DD_DOGSTATSD_EXPIRY_SECONDS`). Defaults to 300.
    pub dogstatsd_expiry_seconds: u64,
    /// Tags added to every DogStatsD sample (`DD_DOGSTATSD_TAGS`). Defaults to none.
    pub dogstatsd_tags: Vec<String>,
    /// Milliseconds between flushes of closed 10 s DogStatsD buckets
    /// (`DD_DOGSTATSD_FLUSH_INTERVAL_MS`). dogwatch's own key: Datadog's agent flushes every
    /// 15 s; tests lower it so that a closed bucket shows up at once. Defaults to 15000.
    pub dogstatsd_flush_interval_ms: u64,
    /// The most DogStatsD contexts (metric name + host + tags) held at once
    /// (`DD_AGGREGATE_CONTEXT_LIMIT`, Datadog's Agent Data Plane key). Samples for new contexts
    /// beyond it are dropped and counted, so a high-cardinality flood cannot exhaust memory.
    /// Defaults to 200000.
    pub aggregate_context_limit: u64,
    /// Histogram aggregates to send: any of max, min, median, avg, sum, count
    /// (`DD_HISTOGRAM_AGGREGATES`, space-separated). Defaults to `max median avg count`.
    pub histogram_aggregates: Vec<String>,
    /// Histogram percentiles to send, each between 0 and 1 (`DD_HISTOGRAM_PERCENTILES`,
    /// space-separated). Defaults to `0.95`.
    pub histogram_percentiles: Vec<String>,
    /// Count DogStatsD samples per metric context for `dogwatch agent dogstatsd-stats`
    /// (`DD_DOGSTATSD_METRICS_STATS_ENABLE`). Defaults to false, as Datadog's.
    pub dogstatsd_metrics_stats_enable: bool,
    /// The executable that resolves `ENC[handle]` values (`DD_SECRET_BACKEND_COMMAND`;
    /// [`secrets`]). Defaults to empty (secrets off).
    pub secret_backend_command: String,
    /// Arguments given to `secret_backend_command`. Defaults to none.
    pub secret_backend_arguments: Vec<String>,
    /// Seconds `secret_backend_command` may take. Defaults to 30.
    pub secret_backend_timeout: u64,
    /// The most bytes `secret_backend_command` may write. Defaults to 1048576 (1 MiB).
    pub secret_backend_output_max_size: u64,
    /// Let the command's group read and execute it. Defaults to false.
    pub secret_backend_command_allow_group_exec_perm: bool,
    /// The agent's log file (`DD_LOG_FILE`). Defaults to empty: `<run_path>/logs/agent.log`.
    pub log_file: String,
    /// The size at which the log file is rotated, e.g. `10Mb` (`DD_LOG_FILE_MAX_SIZE`).
    /// Defaults to `10Mb`.
    pub log_file_max_size: String,
    /// Rotated log files kept (`agent.log.1`, …) (`DD_LOG_FILE_MAX_ROLLS`). Defaults to 1.
    pub log_file_max_rolls: u64,
    /// Write no log file (`DD_DISABLE_FILE_LOGGING`). Defaults to false.
    pub disable_file_logging: bool,
    /// Log to standard error too (`DD_LOG_TO_CONSOLE`). Defaults to true.
    pub log_to_console: bool,
    /// Log JSON lines instead of text (`DD_LOG_FORMAT_JSON`). Defaults to false.
    pub log_format_json: bool,
    /// Text logs' times in RFC 3339 (`DD_LOG_FORMAT_RFC3339`). Defaults to false.
    pub log_format_rfc3339: bool,
    /// Send logs to syslog too (`DD_LOG_TO_SYSLOG`). Defaults to false.
    pub log_to_syslog: bool,
    /// Where syslog is: `unix:///dev/log`, a socket path, or `udp://host:port`
    /// (`DD_SYSLOG_URI`). Defaults to empty: `/dev/log`.
    pub syslog_uri: String,
    /// APM trace intake (`apm_config.*`).
    pub apm_config: ApmConfig,
    /// Live process collection (`process_config.*`).
    pub process_config: ProcessConfig,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            api_key: String::new(),
            app_key: String::new(),
            site: "datadoghq.com".into(),
            dd_url: String::new(),
            skip_ssl_validation: false,
            tls_ca_cert: String::new(),
            hostname: String::new(),
            hostname_file: String::new(),
            tags: Vec::new(),
            extra_tags: Vec::new(),
            env: String::new(),
            log_level: LogLevel::Info,
            cmd_port: 5001,
            cmd_host: "localhost".into(),
            run_path: String::new(),
            forwarder_timeout: 20,
            forwarder_retry_queue_payloads_max_size: 15 * 1024 * 1024,
            forwarder_storage_max_size_in_bytes: 100 * 1024 * 1024,
            forwarder_storage_path: String::new(),
            forwarder_backoff_base: 2.0,
            forwarder_backoff_max: 64.0,
            serializer_compressor_kind: CompressorKind::Zstd,
            check_interval: 15,
            confd_path: String::new(),
            additional_checksd: String::new(),
            python_interpreter: "python3".into(),
            enable_metadata_collection: true,
            dogstatsd_port: 8125,
            dogstatsd_non_local_traffic: false,
            dogstatsd_socket: String::new(),
            dogstatsd_buffer_size: 8192,
            dogstatsd_so_rcvbuf: 4 * 1024 * 1024,
            dogstatsd_expiry_seconds: 300,
            dogstatsd_tags: Vec::new(),
            dogstatsd_flush_interval_ms: 15_000,
            aggregate_context_limit: 200_000,
            histogram_aggregates: ["max", "median", "avg", "count"].map(String::from).to_vec(),
            histogram_percentiles: vec!["0.95".into()],
            dogstatsd_metrics_stats_enable: false,
            secret_backend_command: String::new(),
            secret_backend_arguments: Vec::new(),
            secret_backend_timeout: secrets::DEFAULT_TIMEOUT_SECONDS,
            secret_backend_output_max_size: secrets::DEFAULT_OUTPUT_MAX_SIZE,
            secret_backend_command_allow_group_exec_perm: false,
            log_file: String::new(),
            log_file_max_size: "10Mb".into(),
            log_file_max_rolls: 1,
            disable_file_logging: false,
            log_to_console: true,
            log_format_json: false,
            log_format_rfc3339: false,
            log_to_syslog: false,
            syslog_uri: String::new(),
            apm_config: ApmConfig::default(),
            process_config: ProcessConfig::default(),
        }
    }
}

impl AgentConfig {
    /// The server URL payloads go to: `dd_url` without a trailing slash, or the default.
    pub fn server_url(&self) -> &str {
        match self.dd_url.trim_end_matches('/') {
            "" => DEFAULT_SERVER_URL,
            url => url,
        }
    }

    /// Configured host tags: `tags`, `extra_tags` and `env:<env>`, without duplicates, in
    /// that order.
    pub fn configured_host_tags(&self) -> Vec<String> {
        let env_tag = (!self.env.is_empty()).then(|| format!("env:{}", self.env));
        let mut out: Vec<String> = Vec::new();
        for tag in self.tags.iter().chain(&self.extra_tags).chain(env_tag.as_ref()) {
            if !tag.is_empty() && !out.contains(tag) {
                out.push(tag.clone());
            }
        }
        out
    }

    /// Histogram percentiles as numbers; [`load`] has already checked they parse.
    pub fn histogram_percentile_values(&self) -> Vec<f64> {
        self.histogram_percentiles
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

/// APM trace intake settings (`apm_config.*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApmConfig {
    /// Whether the trace receiver runs (`DD_APM_ENABLED`). Defaults to true.
    pub enabled: bool,
    /// The trace receiver's TCP port (`DD_APM_RECEIVER_PORT`); 0 turns TCP off. Defaults
    /// to 8126.
    pub receiver_port: u16,
    /// Listen on every interface instead of localhost (`DD_APM_NON_LOCAL_TRAFFIC`).
    /// Defaults to false.
    pub apm_non_local_traffic: bool,
    /// A Unix socket path for traces (`DD_APM_RECEIVER_SOCKET`). Defaults to empty (off).
    pub receiver_socket: String,
    /// The largest accepted request body in bytes (`DD_APM_MAX_PAYLOAD_SIZE`). Defaults to
    /// 25 MiB.
    pub max_payload_size: u64,
    /// Seconds allowed to read one request (`DD_APM_RECEIVER_TIMEOUT`). Defaults to 5.
    pub receiver_timeout: u64,
    /// The environment given to spans that carry none (`DD_APM_ENV`). Defaults to empty
    /// (the agent's `env`).
    pub env: String,
    /// Traces per second per service and env that sampling rates aim at
    /// (`DD_APM_TARGET_TPS`). Defaults to 10.
    pub target_traces_per_second: f64,
    /// Error traces per second kept by the error sampler (`DD_APM_ERROR_TPS`). Defaults to 10.
    pub errors_per_second: f64,
}

impl Default for ApmConfig {
    fn default() -> Self {
        ApmConfig {
            enabled: true,
            receiver_port: 8126,
            apm_non_local_traffic: false,
            receiver_socket: String::new(),
            max_payload_size: 25 * 1024 * 1024,
            receiver_timeout: 5,
            env: String::new(),
            target_traces_per_second: 10.0,
            errors_per_second: 10.0,
        }
    }
}

/// Live process collection settings (`process_config.*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcessConfig {
    /// The legacy switch `DD_PROCESS_AGENT_ENABLED`: `true` turns process collection on,
    /// `false` off, `disabled` turns everything process-related off. Defaults to empty
    /// (decided by `process_collection.enabled`).
    pub enabled: ProcessAgentMode,
    /// Process collection (`DD_PROCESS_CONFIG_PROCESS_COLLECTION_ENABLED`).
    pub process_collection: Toggle,
    /// Container collection (`DD_PROCESS_CONFIG_CONTAINER_COLLECTION_ENABLED`).
    pub container_collection: Toggle,
    /// Hide the values of sensitive arguments (`DD_SCRUB_ARGS`). Defaults to true.
    pub scrub_args: bool,
    /// More sensitive words, merged after the defaults (`DD_CUSTOM_SENSITIVE_WORDS`,
    /// comma-separated or a JSON list). Defaults to none.
    pub custom_sensitive_words: Vec<String>,
    /// Keep only the executable of each command line (`DD_STRIP_PROCESS_ARGS`). Defaults
    /// to false.
    pub strip_proc_arguments: bool,
    /// Regular expressions; matching processes are not reported. Defaults to none.
    pub blacklist_patterns: Vec<String>,
    /// Collection intervals in seconds.
    pub intervals: ProcessIntervals,
    /// Processes per payload. Defaults to 100.
    pub max_per_message: u64,
}

impl Default for ProcessConfig {
    fn default() -> Self {
        ProcessConfig {
            enabled: ProcessAgentMode::Unset,
            process_collection: Toggle { enabled: true },
            container_collection: Toggle { enabled: true },
            scrub_args: true,
            custom_sensitive_words: Vec::new(),
            strip_proc_arguments: false,
            blacklist_patterns: Vec::new(),
            intervals: ProcessIntervals::default(),
            max_per_message: 100,
        }
    }
}

impl ProcessConfig {
    /// Whether live processes are collected, after the legacy switch is applied.
    pub fn process_collection_enabled(&self) -> bool {
        match self.enabled {
            ProcessAgentMode::Unset => self.process_collection.enabled,
            ProcessAgentMode::True => true,
            ProcessAgentMode::False | ProcessAgentMode::Disabled => false,
        }
    }
}

/// An `enabled: bool` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Toggle {
    /// On or off. Defaults to true.
    pub enabled: bool,
}

impl Default for Toggle {
    fn default() -> Self {
        Toggle { enabled: true }
    }
}

/// Process collection intervals (`process_config.intervals.*`), in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProcessIntervals {
    /// The standard interval; must be a multiple of `process_realtime`. Defaults to 10.
    pub process: u64,
    /// The interval while someone watches live processes. Defaults to 2.
    pub process_realtime: u64,
}

impl Default for ProcessIntervals {
    fn default() -> Self {
        ProcessIntervals {
            process: 10,
            process_realtime: 2,
        }
    }
}
