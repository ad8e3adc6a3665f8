//! Config values that take one of a fixed set of words.
//!
//! Each parses case-insensitively from the word a user writes and prints back as the
//! canonical word, so `dogwatch config` shows what the agent understood.

use serde::{Deserialize, Serialize};

/// How much the agent logs (`log_level`), with Datadog's level names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum LogLevel {
    /// Everything, including per-payload detail.
    Trace,
    /// Diagnostic detail.
    Debug,
    /// Start-up, shutdown and state changes.
    Info,
    /// Problems the agent works around.
    Warn,
    /// Failures.
    Error,
    /// Only failures that stop a component; logged at error level.
    Critical,
    /// Nothing.
    Off,
}

impl LogLevel {
    /// The canonical lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Critical => "critical",
            LogLevel::Off => "off",
        }
    }

    /// The `tracing` filter directive for this level (`critical` logs errors).
    pub fn filter_directive(self) -> &'static str {
        match self {
            LogLevel::Critical => "error",
            other => other.name(),
        }
    }
}

impl TryFrom<String> for LogLevel {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        Ok(match value.trim().to_ascii_lowercase().as_str() {
            "trace" => LogLevel::Trace,
            "debug" => LogLevel::Debug,
            "info" => LogLevel::Info,
            "warn" | "warning" => LogLevel::Warn,
            "error" | "err" => LogLevel::Error,
            "critical" => LogLevel::Critical,
            "off" => LogLevel::Off,
            _ => {
                return Err(format!(
                    "unknown log level {value:?}; expected one of trace, debug, info, warn, error, critical, off"
                ));
            }
        })
    }
}

impl From<LogLevel> for String {
    fn from(level: LogLevel) -> String {
        level.name().to_string()
    }
}

/// How the forwarder compresses payloads (`serializer_compressor_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum CompressorKind {
    /// Zstandard (`Content-Encoding: zstd`).
    Zstd,
    /// zlib/deflate (`Content-Encoding: deflate`).
    Zlib,
}

impl CompressorKind {
    /// The canonical name, as written in `datadog.yaml`.
    pub fn name(self) -> &'static str {
        match self {
            CompressorKind::Zstd => "zstd",
            CompressorKind::Zlib => "zlib",
        }
    }
}

impl TryFrom<String> for CompressorKind {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "zstd" => Ok(CompressorKind::Zstd),
            "zlib" | "deflate" => Ok(CompressorKind::Zlib),
            _ => Err(format!("unknown compressor {value:?}; expected zstd or zlib")),
        }
    }
}

impl From<CompressorKind> for String {
    fn from(kind: CompressorKind) -> String {
        kind.name().to_string()
    }
}

/// The legacy process agent switch (`process_config.enabled`, `DD_PROCESS_AGENT_ENABLED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ProcessAgentMode {
    /// Not set: `process_config.process_collection.enabled` decides.
    Unset,
    /// Collect processes.
    True,
    /// Do not collect processes.
    False,
    /// Turn off everything process-related.
    Disabled,
}

impl TryFrom<String> for ProcessAgentMode {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" => Ok(ProcessAgentMode::Unset),
            "true" | "1" | "t" => Ok(ProcessAgentMode::True),
            "false" | "0" | "f" => Ok(ProcessAgentMode::False),
            "disabled" => Ok(ProcessAgentMode::Disabled),
            _ => Err(format!("expected true, false or disabled, got {value:?}")),
        }
    }
}

impl From<ProcessAgentMode> for String {
    fn from(mode: ProcessAgentMode) -> String {
        match mode {
            ProcessAgentMode::Unset => "",
            ProcessAgentMode::True => "true",
            ProcessAgentMode::False => "false",
            ProcessAgentMode::Disabled => "disabled",
        }
        .to_string()
    }
}
