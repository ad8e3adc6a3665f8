//! `dogwatch status`: asks the running agent's local API for its report.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use dogwatch_agent::config::Environment;
use dogwatch_agent::status::server::STATUS_PATH;
use dogwatch_agent::status::{StatusReport, render_text};

use crate::StatusArgs;
use crate::support;

/// Prints the report as text, or as JSON with --json.
pub fn run(args: StatusArgs) -> Result<()> {
    let env = Environment::from_process();
    let loaded = support::load_config(&args.config, &env)?;
    let config = &loaded.config;
    let host = if config.cmd_host == "localhost" {
        "127.0.0.1"
    } else {
        config.cmd_host.as_str()
    };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let url = format!("http://{host}:{}{STATUS_PATH}", config.cmd_port);
    support::runtime()?.block_on(async {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(15)).build()?;
        let response = client.get(&url).send().await.with_context(|| {
            format!("cannot reach the agent's local API at {url} (cmd_port {}): is `dogwatch agent` or `dogwatch up` running?", config.cmd_port)
        })?;
        if !response.status().is_success() {
            bail!("the agent's local API at {url} answered {}", response.status());
        }
        let report: StatusReport = response.json().await.context("the agent's status report is not in the expected shape")?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", render_text(&report));
        }
        Ok(())
    })
}
