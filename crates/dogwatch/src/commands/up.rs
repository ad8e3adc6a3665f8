//! `dogwatch up`: a server and an agent in one process.

use anyhow::Result;
use dogwatch_agent::hostname;
use dogwatch_agent::runtime::{AgentOptions, RunningAgent};
use tokio::sync::oneshot;

use crate::UpArgs;
use crate::commands::server;
use crate::support;

/// Starts the server, then an agent that sends to it; on Ctrl-C or SIGTERM stops the agent
/// (sources, then the forwarder's drain), then the server, then flushes the store.
pub fn run(args: UpArgs) -> Result<()> {
    let env = support::agent_environment()?;
    let mut loaded = support::load_config(&args.config, &env)?;
    let data_dir = support::data_dir(&args.data_dir)?;
    // One process, one log: the agent's keys (log_file, default <run_path>/logs/agent.log).
    let run_path = dogwatch_agent::runtime::run_path(&loaded.config, &data_dir);
    crate::logging::init(&crate::logging::LogSettings::from_agent_config(
        &loaded.config,
        &run_path,
    )?)?;
    support::log_config_warnings(&loaded);
    let identity = hostname::resolve(&loaded.config, &env)?;
    support::log_hostname_warnings(&identity);

    support::runtime()?.block_on(async {
        let tls = server::tls_files(&args.tls);
        let pinned_cert = tls.as_ref().map(|files| files.cert.clone());
        let (server, key) = server::start(args.listen.listen, tls, &args.retention, &data_dir, &env).await?;
        let addr = server.local_addr();
        let link = server::sign_in_link(&server)?;
        // The in-process agent always sends to this server with a key of its own (DD_API_KEY
        // when set, else one valid while this process runs), whatever a datadog.yaml kept from
        // a Datadog Agent says.
        let agent_key = match (key.origin, &key.key) {
            (dogwatch_server::KeyOrigin::Environment, Some(k)) => k.clone(),
            _ => {
                let k = dogwatch_server::auth::secrets::generate_key();
                server.state().auth.accept_api_key(&k);
                k
            }
        };
        let config = &mut loaded.config;
        if !config.api_key.is_empty() && config.api_key != agent_key {
            tracing::info!(
                "dogwatch up sends with the server's own API key; api_key from the configuration is not used."
            );
        }
        config.api_key = agent_key;
        let host = if addr.ip().is_unspecified() {
            [127, 0, 0, 1].into()
        } else {
            addr.ip()
        };
        // With TLS the agent sends over https and trusts exactly the server's certificate,
        // whatever names it holds (it may not name 127.0.0.1) and whoever signed it.
        let scheme = if pinned_cert.is_some() { "https" } else { "http" };
        config.dd_url = format!("{scheme}://{}", std::net::SocketAddr::new(host, addr.port()));
        let (stop_server, server_stopped) = oneshot::channel::<()>();
        let server_task = tokio::spawn(server.run(async {
            let _ = server_stopped.await;
        }));
        let mut options = AgentOptions::new(loaded, identity, env, &data_dir);
        options.server_certificate = pinned_cert.clone();
        let agent = RunningAgent::start(options).await?;
        server::announce(addr, pinned_cert.is_some(), &key, &data_dir);
        server::announce_sign_in(addr, pinned_cert.is_some(), link.as_deref());
        println!(
            "  Agent status: dogwatch status (local API on {})",
            agent.local_api_addr()
        );

        support::termination_signal().await;
        agent.shutdown().await;
        let _ = stop_server.send(());
        server_task.await??;
        Ok(())
    })
}
