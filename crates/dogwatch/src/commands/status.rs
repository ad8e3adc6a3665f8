//! `dogwatch status`: asks the running agent's local API for its report.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use dogwatch_agent::config::Environment;
use dogwatch_agent::runtime;
use dogwatch_agent::status::auth;
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
    // The agent's token, found as the agent finds its run path. When it cannot be read the
    // request still goes out, so that an agent that is not running is reported as such.
    let token_path = auth::token_path(&runtime::run_path(config, &support::data_dir_path(&args.data_dir)?));
    let token = auth::read_token(&token_path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the agent's auth_token at {}: {e}; run as the agent's user, with the agent's --data-dir (or run_path)",
            token_path.display()
        )
    });
    support::runtime()?.block_on(async {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(15)).build()?;
        let mut request = client.get(&url);
        if let Ok(token) = &token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.with_context(|| {
            format!("cannot reach the agent's local API at {url} (cmd_port {}): is `dogwatch agent` or `dogwatch up` running?", config.cmd_port)
        })?;
        token?; // The agent answers, so the token it needs could not be read.
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            bail!(
                "the agent's local API at {url} refused the token in {} (401): it is another agent's; pass the --data-dir (or run_path) of the agent on cmd_port {}",
                token_path.display(),
                config.cmd_port
            );
        }
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
