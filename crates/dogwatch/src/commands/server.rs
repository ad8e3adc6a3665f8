//! `dogwatch server`, and the server start-up that `dogwatch up` shares.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use dogwatch_agent::config::Environment;
use dogwatch_server::auth::admin;
use dogwatch_server::tls::TlsFiles;
use dogwatch_server::{KeyOrigin, Server, ServerKey, ServerSettings};
use dogwatch_store::{SqliteStore, Store};

use crate::support;
use crate::{RetentionArgs, ServerArgs, TlsArgs};

/// The certificate and key of --tls-cert/--tls-key, when given (clap requires both or neither).
pub fn tls_files(args: &TlsArgs) -> Option<TlsFiles> {
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    }
}

/// Opens the store in `data_dir`, makes sure it has an API key, and binds the server
/// (with TLS when `tls` is given).
pub async fn start(
    listen: SocketAddr,
    tls: Option<TlsFiles>,
    retention: &RetentionArgs,
    data_dir: &Path,
    env: &Environment,
) -> Result<(Server, ServerKey)> {
    let path = support::store_path(data_dir);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path)?);
    let key = admin::ensure_api_key(store.as_ref(), env.get("DD_API_KEY")).context("cannot set up the API key")?;
    let settings = ServerSettings {
        listen,
        process_retention: retention.process_retention,
        trace_retention: retention.trace_retention,
        metric_retention: retention.metric_retention,
        tls,
        ..ServerSettings::default()
    };
    // DD_API_KEY is accepted while it is set, and never stored.
    let accepted: Vec<String> = key
        .key
        .iter()
        .filter(|_| key.origin == KeyOrigin::Environment)
        .cloned()
        .collect();
    let server = Server::bind(settings, store, accepted).await?;
    Ok((server, key))
}

/// Tells the user where the server is and, the first time only, the generated key.
pub fn announce(server_addr: SocketAddr, tls: bool, key: &ServerKey, data_dir: &Path) {
    let host = if server_addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], server_addr.port()))
    } else {
        server_addr
    };
    println!("dogwatch {} is running.", dogwatch_model::VERSION);
    let scheme = if tls { "https" } else { "http" };
    println!("  UI and API:   {scheme}://{host}/");
    println!("  Data:         {}", data_dir.display());
    match (key.origin, &key.key) {
        (KeyOrigin::GeneratedNow, Some(k)) => {
            println!(
                "  API key:      {k}  (generated now and shown once: it is stored hashed; `dogwatch api-key create` makes another)"
            );
        }
        (KeyOrigin::Environment, _) => println!("  API key:      from DD_API_KEY"),
        _ => println!(
            "  API key:      ending with {}  (`dogwatch api-key list` lists the keys; `dogwatch api-key create` makes another)",
            key.last4
        ),
    }
}

/// A one-time sign-in link for the first admin while no user has a password yet (each start
/// makes a new one), so the first sign-in needs no other step.
pub fn sign_in_link(server: &Server) -> Result<Option<String>> {
    let state = server.state();
    let admin = admin::ensure_first_admin(state.store.as_ref()).context("cannot set up the first admin")?;
    state.auth.reload().context("cannot load users and keys")?;
    Ok(admin.map(|u| format!("/login/{}", state.auth.sign_in_link(u.id))))
}

/// Prints the sign-in link, when there is one.
pub fn announce_sign_in(server_addr: SocketAddr, tls: bool, link: Option<&str>) {
    let Some(link) = link else { return };
    let host = if server_addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], server_addr.port()))
    } else {
        server_addr
    };
    let scheme = if tls { "https" } else { "http" };
    println!(
        "  Sign in:      {scheme}://{host}{link}  (one-time link for user `{}`; set a password once signed in)",
        admin::FIRST_ADMIN
    );
}

/// Runs the server alone until Ctrl-C or SIGTERM.
pub fn run(args: ServerArgs) -> Result<()> {
    let env = Environment::from_process();
    let data_dir = support::data_dir(&args.data_dir)?;
    // The agent's log keys from DD_* variables (DD_LOG_LEVEL, DD_LOG_FILE, …); the file
    // defaults to <data-dir>/logs/server.log.
    let logs = dogwatch_agent::config::load(None, &env).context("cannot read the DD_LOG_* settings")?;
    let mut settings = crate::logging::LogSettings::from_agent_config(&logs.config, &data_dir)?;
    if logs.config.log_file.is_empty() && settings.file.is_some() {
        settings.file = Some(crate::logging::default_log_file(&data_dir, "server"));
    }
    crate::logging::init(&settings)?;
    support::runtime()?.block_on(async {
        let tls = tls_files(&args.tls);
        let tls_on = tls.is_some();
        let (server, key) = start(args.listen.listen, tls, &args.retention, &data_dir, &env).await?;
        let link = sign_in_link(&server)?;
        announce(server.local_addr(), tls_on, &key, &data_dir);
        announce_sign_in(server.local_addr(), tls_on, link.as_deref());
        server.run(support::termination_signal()).await?;
        Ok(())
    })
}
