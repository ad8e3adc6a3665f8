//! What several commands share: finding the config file and data directory, logging, and
//! waiting for Ctrl-C or SIGTERM.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use dogwatch_agent::config::{self, Environment, LoadedConfig, LogLevel};

use crate::{ConfigFileArgs, DataDirArgs};

/// Config files read when --config is not given, in order. A Datadog Agent's own
/// /etc/datadog-agent/datadog.yaml is not read unless named: on a host running both, its
/// Datadog `api_key` would be refused by the dogwatch server.
const DEFAULT_CONFIG_FILES: [&str; 1] = ["/etc/dogwatch/datadog.yaml"];

/// This process's environment after the Heroku conf folder's `prerun.sh`, when there is one
/// (`DD_HEROKU_CONF_FOLDER`, or `/app/datadog` on a dyno): what the script sets takes effect
/// for the agent, as Datadog's buildpack sources it before starting the agent.
pub fn agent_environment() -> Result<Environment> {
    Ok(dogwatch_agent::heroku::run_prerun(Environment::from_process())?)
}

/// Loads the agent configuration from --config (or a default location) and the environment.
pub fn load_config(args: &ConfigFileArgs, env: &Environment) -> Result<LoadedConfig> {
    let file = match &args.config {
        Some(path) => Some(path.clone()),
        None => DEFAULT_CONFIG_FILES.iter().map(PathBuf::from).find(|p| p.is_file()),
    };
    let loaded = config::load(file.as_deref(), env)?;
    Ok(loaded)
}

/// The data directory: --data-dir, or the per-user data directory. Created if missing.
pub fn data_dir(args: &DataDirArgs) -> Result<PathBuf> {
    let dir = data_dir_path(args)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    Ok(dir)
}

/// The data directory as [`data_dir`] finds it, without creating it (for commands that only
/// read what a running agent or server wrote there).
pub fn data_dir_path(args: &DataDirArgs) -> Result<PathBuf> {
    Ok(match &args.data_dir {
        Some(dir) => dir.clone(),
        None => directories::ProjectDirs::from("", "", "dogwatch")
            .context("cannot find a per-user data directory (no home directory?); pass --data-dir")?
            .data_dir()
            .to_path_buf(),
    })
}

/// The database file of the server in `data_dir`.
pub fn store_path(data_dir: &Path) -> PathBuf {
    data_dir.join("dogwatch.db")
}

/// Sends logs to stderr at `level`; noisy HTTP internals are kept at warn.
pub fn init_logging(level: LogLevel) {
    let directive = level.filter_directive();
    let filter = if level == LogLevel::Off {
        "off".to_string()
    } else {
        format!("{directive},hyper=warn,hyper_util=warn,reqwest=warn,tower_http=warn")
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Logs warnings collected while loading the configuration.
pub fn log_config_warnings(loaded: &LoadedConfig) {
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
}

/// Logs hostname providers that were set up but could not give a name.
pub fn log_hostname_warnings(identity: &dogwatch_agent::hostname::HostIdentity) {
    for (provider, reason) in &identity.unused_providers {
        tracing::warn!(provider = provider.name(), reason = %reason, hostname = %identity.hostname, "A hostname provider could not be used; the next one was.");
    }
}

/// A multi-threaded runtime for the long-running commands.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // tokio's default 10 s keep-alive makes each 15 s round of checks start its blocking
        // threads anew (bench/README.md: about a tenth of a checks-only agent's CPU); keeping
        // them 60 s cost 2 MiB of RssAnon idle and 6 MiB under DogStatsD load
        // (bench/agent_memory.py), against the 20 MiB budget, so the default stays.
        .build()
        .context("cannot start the async runtime")
}

/// Resolves when the process gets Ctrl-C (SIGINT) or SIGTERM. A second Ctrl-C during the
/// orderly shutdown that follows ends the process at once (a repeated SIGTERM does not: a
/// supervisor or a wrapper such as `timeout` may pass one on twice).
pub async fn termination_signal() {
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler installs");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("Got Ctrl-C; shutting down (press Ctrl-C again to stop at once)."),
        _ = term.recv() => tracing::info!("Got SIGTERM; shutting down."),
    }
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::warn!("Got a second Ctrl-C; stopping at once without finishing the shutdown.");
            std::process::exit(130);
        }
    });
}

/// A table's width when standard output is not a terminal.
pub const FALLBACK_TABLE_WIDTH: u16 = 160;

/// A condensed table that fits the terminal, or [`FALLBACK_TABLE_WIDTH`] columns when piped.
pub fn terminal_table() -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    if table.width().is_none() {
        table.set_width(FALLBACK_TABLE_WIDTH); // Not a terminal: keep lines readable in a file or pager.
    }
    table
}
