//! `dogwatch server`, and the server start-up that `dogwatch up` shares.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use dogwatch_agent::config::{Environment, LogLevel};
use dogwatch_server::tls::TlsFiles;
use dogwatch_server::{KeyOrigin, Server, ServerKey, ServerSettings, keys};
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
    let key = keys::ensure_api_key(store.as_ref(), env.get("DD_API_KEY")).context("cannot set up the API key")?;
    let settings = ServerSettings {
        listen,
        process_retention: retention.process_retention,
        trace_retention: retention.trace_retention,
        metric_retention: retention.metric_retention,
        tls,
        ..ServerSettings::default()
    };
    let accepted = keys::accepted_keys(store.as_ref(), &key)?;
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
    match key.origin {
        KeyOrigin::GeneratedNow => {
            println!(
                "  API key:      {}  (generated now and shown once; `dogwatch api-key` shows it again)",
                key.key
            );
        }
        KeyOrigin::Environment => println!("  API key:      from DD_API_KEY"),
        KeyOrigin::Stored => println!(
            "  API key:      ending with {}  (`dogwatch api-key` shows it)",
            dogwatch_model::api_key_tail(&key.key)
        ),
    }
}

/// Runs the server alone until Ctrl-C or SIGTERM.
pub fn run(args: ServerArgs) -> Result<()> {
    let env = Environment::from_process();
    let level = env
        .get("DD_LOG_LEVEL")
        .and_then(|l| LogLevel::try_from(l.to_string()).ok())
        .unwrap_or(LogLevel::Info);
    support::init_logging(level);
    let data_dir = support::data_dir(&args.data_dir)?;
    support::runtime()?.block_on(async {
        let tls = tls_files(&args.tls);
        let tls_on = tls.is_some();
        let (server, key) = start(args.listen.listen, tls, &args.retention, &data_dir, &env).await?;
        announce(server.local_addr(), tls_on, &key, &data_dir);
        server.run(support::termination_signal()).await?;
        Ok(())
    })
}
