//! The dogwatch server.
//!
//! This crate owns the HTTP side of a dogwatch deployment: API keys ([`keys`]), the
//! authenticated intake of agent payloads in Datadog's shapes ([`intake`]), APM spans, stats
//! and their query API ([`apm`]), the live
//! process state ([`live`]), the query API ([`api`]), the views users save in the web UI
//! ([`views_api`]) and the pages a browser gets
//! ([`pages`]). It keeps data through the
//! `dogwatch-store` trait and must never read the host it runs on (no /proc): everything
//! it knows arrives from agents.

pub mod apm;
pub mod auth;
pub mod hosts;
pub mod http;
pub mod integrations;
pub mod metrics;
pub mod pages;
pub mod processes;
pub mod pruning;
pub mod tls;
pub mod ui;
pub mod views;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use dogwatch_store::Store;
use thiserror::Error;
use tokio::net::TcpListener;

pub use auth::{KeyOrigin, ServerKey};
use processes::{history, live};

/// The largest request body accepted, after decompression: 16 MiB. Larger bodies get 413.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// The address to listen on. Defaults to `127.0.0.1:8585`.
    pub listen: SocketAddr,
    /// The largest request body accepted after decompression. Defaults to 16 MiB.
    pub max_body_bytes: usize,
    /// How long process history (samples for a process's charts) is kept. Defaults to 36 h.
    pub process_retention: std::time::Duration,
    /// How long spans and APM stats are kept. Defaults to 3 days.
    pub trace_retention: std::time::Duration,
    /// How long metric points, events and service check runs are kept. Defaults to 15 days.
    pub metric_retention: std::time::Duration,
    /// The certificate and key the port speaks TLS with (`--tls-cert`, `--tls-key`).
    /// Defaults to none (plain HTTP).
    pub tls: Option<tls::TlsFiles>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8585)),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            process_retention: history::DEFAULT_PROCESS_RETENTION,
            trace_retention: apm::DEFAULT_TRACE_RETENTION,
            metric_retention: metrics::DEFAULT_METRIC_RETENTION,
            tls: None,
        }
    }
}

/// What request handlers share.
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Users, keys and sessions.
    pub auth: Arc<auth::AuthState>,
    /// Settings.
    pub settings: ServerSettings,
    /// Every host's latest process snapshot, and who is watching.
    pub live: live::LiveProcesses,
    /// Which process runs go into the store's history.
    pub history: history::ProcessHistory,
}

impl AppState {
    /// The state of a server over `store`, accepting the store's API keys and, while it runs,
    /// `keys` too.
    pub fn new(store: Arc<dyn Store>, settings: ServerSettings, keys: &[String]) -> Result<Arc<AppState>, ServerError> {
        let auth = auth::AuthState::load(store.clone(), auth::sessions::DEFAULT_IDLE)?;
        for key in keys {
            auth.accept_api_key(key);
        }
        Ok(Arc::new(AppState {
            store,
            auth: Arc::new(auth),
            settings,
            live: live::LiveProcesses::default(),
            history: history::ProcessHistory::default(),
        }))
    }
}

/// The current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The server could not start.
#[derive(Debug, Error)]
pub enum ServerError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr} (--listen): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TLS certificate or key cannot be used.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] dogwatch_store::StoreError),
}

/// A server bound to its address, ready to run.
pub struct Server {
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: Arc<AppState>,
}

impl Server {
    /// Binds the listen address. The server accepts the API keys in its store and, while it
    /// runs, also `keys` (`DD_API_KEY`, and the key `dogwatch up` gives its own agent).
    pub async fn bind(
        settings: ServerSettings,
        store: Arc<dyn Store>,
        keys: Vec<String>,
    ) -> Result<Server, ServerError> {
        let tls = settings.tls.as_ref().map(tls::load).transpose()?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|source| ServerError::Bind {
                addr: settings.listen,
                source,
            })?;
        let state = AppState::new(store, settings, &keys)?;
        Ok(Server { listener, tls, state })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The HTTP routes, for tests that call them without a socket.
    pub fn router(state: Arc<AppState>) -> Router {
        http::router(state)
    }

    /// What handlers share, e.g. to create users and keys in tests.
    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// Serves until `shutdown` resolves, finishing requests in flight, then flushes the store.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let state = self.state.clone();
        let pruning = tokio::spawn(pruning::prune_forever(
            state.store.clone(),
            state.settings.process_retention,
            "process history",
            |store, cutoff_ms| store.prune_process_history(cutoff_ms),
        ));
        let trace_pruning = tokio::spawn(pruning::prune_forever(
            state.store.clone(),
            state.settings.trace_retention,
            "spans and APM stats",
            apm::prune,
        ));
        let metric_pruning = tokio::spawn(pruning::prune_forever(
            state.store.clone(),
            state.settings.metric_retention,
            "metrics, events and service checks",
            metrics::prune,
        ));
        let reload = tokio::spawn(auth::reload_forever(state.auth.clone()));
        let app = Server::router(self.state).into_make_service_with_connect_info::<http::ClientAddr>();
        let served = match self.tls {
            None => axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await,
            Some(config) => {
                axum::serve(tls::TlsListener::new(self.listener, config), app)
                    .with_graceful_shutdown(shutdown)
                    .await
            }
        };
        if let Err(e) = served {
            tracing::error!(error = %e, "The server stopped with an error.");
        }
        reload.abort();
        pruning.abort();
        trace_pruning.abort();
        metric_pruning.abort();
        let store = state.store.clone();
        tokio::task::spawn_blocking(move || store.flush())
            .await
            .expect("store flush does not panic")?;
        tracing::info!("The server has stopped and the store is flushed.");
        Ok(())
    }
}
