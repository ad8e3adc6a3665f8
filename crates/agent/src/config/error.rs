//! Errors from loading the agent's configuration.

use std::path::PathBuf;

use thiserror::Error;

use super::ValueSource;

/// Why the configuration could not be loaded. Every variant names what the user must fix:
/// the file, or the key and where its bad value came from.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid YAML.
    #[error("config file {path} is not valid YAML: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The config file's top level is not a mapping of keys.
    #[error("config file {path} must be a mapping of keys (like `api_key: ...`), found {found}")]
    NotAMapping {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        found: &'static str,
    },
    /// A key has a value of the wrong type or out of range.
    #[error("invalid value for `{key}` (from {origin}): {message}")]
    InvalidValue {
        /// The dotted key, e.g. `apm_config.receiver_port`.
        key: String,
        /// Where the bad value came from.
        origin: ValueSource,
        /// What was wrong.
        message: String,
    },
    /// An `ENC[]` value could not be resolved by `secret_backend_command`.
    #[error(transparent)]
    Secret(#[from] super::secrets::SecretError),
}
