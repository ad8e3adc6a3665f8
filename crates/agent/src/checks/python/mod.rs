//! Python custom checks (`checks.d`), run unchanged in a long-lived Python check host.
//!
//! A configured check name that no Rust check has becomes a Python check when the interpreter
//! (`python_interpreter`) has a `datadog_checks.<name>` package or `additional_checksd` has
//! `<name>.py`, in that order, as Datadog's loader looks. Each instance keeps the Rust side's
//! instance ID, tags, service, interval and hostname handling; the host imports the check once
//! and keeps its object between runs ([`check`]). The host is one process for every Python
//! check ([`host`]): the agent starts it, restarts it when it dies, and bounds what it reads
//! from it ([`protocol`]). The modules Datadog's agent embeds are shipped as Python source
//! ([`modules`]).

pub mod check;
pub mod host;
mod modules;
pub mod protocol;
pub mod status;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use thiserror::Error;

use super::confd::CheckConfig;
use super::instance::{InstanceOptions, instance_id};
use super::{CheckInstance, CheckPlan};
pub use check::PythonCheck;
pub use host::{HostConfig, HostStats, PythonHost};

/// How long loading a check (importing it and making its object) may take at start.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a Python check could not load or run.
#[derive(Debug, Error)]
pub enum PythonError {
    /// The interpreter could not be started.
    #[error(
        "the Python check host cannot start: the interpreter `{interpreter}` (`python_interpreter`, DD_PYTHON_INTERPRETER) cannot be run: {source}"
    )]
    Start {
        /// The interpreter.
        interpreter: String,
        /// Why.
        source: std::io::Error,
    },
    /// The host's modules could not be written.
    #[error("cannot write the Python check host's modules to {}: {source}", dir.display())]
    Modules {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The host died recently and waits before it is started again.
    #[error("the Python check host exited ({last_exit}); it is started again in {in_secs:.1}s")]
    Restarting {
        /// Seconds until the next start.
        in_secs: f64,
        /// How the last one ended.
        last_exit: String,
    },
    /// The pipe to the host failed.
    #[error("{0}")]
    Pipe(String),
    /// The host exited during the load or run.
    #[error("the Python check host exited during the run ({0}); it is started again for the next run")]
    Exited(String),
    /// The check could not be imported or made.
    #[error("{error}\n{traceback}")]
    Load {
        /// The exception.
        error: String,
        /// Its traceback.
        traceback: String,
        /// Whether the check simply does not exist (no wheel, no checks.d file).
        not_found: bool,
    },
    /// The load or run took too long.
    #[error("{0}")]
    Timeout(String),
    /// The check held the interpreter until the host was killed for it.
    #[error(
        "this check's run held the Python interpreter (no heartbeat from the host) until the host was killed; it is not run again until the agent restarts, so that the other Python checks keep running"
    )]
    Quarantined,
    /// The check's run raised; the message and traceback.
    #[error("{0}")]
    Run(String),
}

/// Where Python checks come from and how the host is run.
#[derive(Debug, Clone)]
pub struct PythonSettings {
    /// The interpreter (`python_interpreter`). Defaults to `python3`.
    pub interpreter: String,
    /// Directories searched for `<name>.py` (`additional_checksd`), in order.
    pub checksd: Vec<PathBuf>,
    /// The agent's `run_path`: the modules go to `python/`, the persistent cache to
    /// `python_cache/`.
    pub run_path: PathBuf,
    /// What `datadog_agent` answers from: `hostname`, `host_tags`, `version`, `config` (the
    /// agent's configuration as JSON, for `get_config`), `start_time`.
    pub context: Value,
}

/// Turns configured names into Python check instances, sharing one host.
pub struct Loader {
    settings: PythonSettings,
    host: Arc<PythonHost>,
    loaded: std::sync::atomic::AtomicUsize,
}

impl Loader {
    /// A loader; the host starts only when a check needs it.
    pub fn new(settings: PythonSettings) -> Loader {
        let host = PythonHost::new(HostConfig {
            interpreter: settings.interpreter.clone(),
            dir: settings.run_path.join("python"),
            cache_dir: settings.run_path.join("python_cache"),
            context: settings.context.clone(),
        });
        Loader {
            settings,
            host,
            loaded: Default::default(),
        }
    }

    /// The host, for the status section (and tests that kill it).
    pub fn host(&self) -> &Arc<PythonHost> {
        &self.host
    }

    /// Whether any Python check instance was loaded.
    pub fn loaded_any(&self) -> bool {
        self.loaded.load(std::sync::atomic::Ordering::Relaxed) > 0
    }

    /// `<name>.py` in the first checks.d directory that has it.
    pub fn checksd_file(&self, name: &str) -> Option<PathBuf> {
        self.settings
            .checksd
            .iter()
            .map(|d| d.join(format!("{name}.py")))
            .find(|p| p.is_file())
    }

    /// Why there is no Python check `name`, for the "no check called" loading error.
    pub fn not_found(&self, name: &str) -> String {
        let dirs: Vec<String> = self.settings.checksd.iter().map(|d| d.display().to_string()).collect();
        format!(
            "there is no Python check `{name}.py` in additional_checksd ({}) nor a `datadog_checks.{name}` package for `{}`",
            if dirs.is_empty() {
                "none".to_string()
            } else {
                dirs.join(", ")
            },
            self.settings.interpreter
        )
    }

    /// Loads every instance of `name` into `plan` as a Python check; false when there is no
    /// Python check of that name (the caller reports it). A check that exists but cannot be
    /// imported, or no interpreter, is a Loading Error of this check alone.
    pub fn load(&self, name: &str, configs: &[CheckConfig], plan: &mut CheckPlan) -> bool {
        let file = self.checksd_file(name);
        let mut errors = Vec::new();
        for config in configs {
            let where_ = config
                .file
                .as_ref()
                .map_or("the default configuration".to_string(), |f| f.display().to_string());
            for (index, instance) in config.instances.iter().enumerate() {
                let options = match InstanceOptions::read(&config.init_config, instance, index) {
                    Ok(o) => o,
                    Err(e) => {
                        super::append(&mut plan.config_errors, name, format!("{where_}: {e}"));
                        continue;
                    }
                };
                let id = instance_id(name, options.name.as_deref(), instance, &config.init_config);
                let timeout = options.interval.mul_f64(0.9).max(Duration::from_millis(500));
                let mut check = PythonCheck::new(
                    self.host.clone(),
                    &id,
                    name,
                    file.clone(),
                    config.init_config.clone(),
                    instance.clone(),
                    timeout,
                );
                match check.load(Instant::now() + LOAD_TIMEOUT) {
                    Ok(loaded) => {
                        let version = loaded.map_or_else(|| "unversioned".to_string(), |l| l.version);
                        self.loaded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        plan.instances.push(CheckInstance {
                            name: name.to_string(),
                            version,
                            id,
                            source: config.source(index),
                            options,
                            check: Box::new(check),
                        });
                    }
                    Err(PythonError::Load { not_found: true, .. }) => return false,
                    Err(e @ PythonError::Start { .. }) if file.is_none() => {
                        tracing::debug!(check = name, error = %e, "No interpreter to look for a datadog_checks package in.");
                        return false;
                    }
                    Err(e) => errors.push(format!("{where_}: {e}")),
                }
            }
        }
        for error in errors {
            super::append(&mut plan.loading_errors, name, error);
        }
        true
    }
}
