//! `dogwatch agent`: the agent alone, sending to a server elsewhere.

use anyhow::Result;
use dogwatch_agent::config::LogLevel;
use dogwatch_agent::hostname;
use dogwatch_agent::runtime::{AgentOptions, RunningAgent};

use crate::support;
use crate::{ConfigFileArgs, DataDirArgs};

/// Runs the agent until Ctrl-C or SIGTERM. With `DISABLE_DATADOG_AGENT` set it logs why
/// and exits at once, successfully, as Datadog's Heroku buildpack does.
pub fn run(config: ConfigFileArgs, data_dir: DataDirArgs) -> Result<()> {
    let env = support::agent_environment()?;
    if env.is_set("DISABLE_DATADOG_AGENT") {
        support::init_logging(LogLevel::Info);
        tracing::info!("DISABLE_DATADOG_AGENT is set, so the agent does not start. Unset it to run the agent.");
        return Ok(());
    }
    let loaded = support::load_config(&config, &env)?;
    let data_dir = support::data_dir(&data_dir)?;
    let run_path = dogwatch_agent::runtime::run_path(&loaded.config, &data_dir);
    crate::logging::init(&crate::logging::LogSettings::from_agent_config(
        &loaded.config,
        &run_path,
    )?)?;
    support::log_config_warnings(&loaded);
    let identity = hostname::resolve(&loaded.config, &env)?;
    support::log_hostname_warnings(&identity);
    support::runtime()?.block_on(async {
        let agent = RunningAgent::start(AgentOptions::new(loaded, identity, env, &data_dir)).await?;
        support::termination_signal().await;
        agent.shutdown().await;
        Ok(())
    })
}
