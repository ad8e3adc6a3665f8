//! The agent's local API: `GET /agent/status` on a loopback address (`cmd_host:cmd_port`).
//!
//! Every request must carry the agent's token (`Authorization: Bearer <token>`, the token
//! in `<run_path>/auth_token`, see [`super::auth`]); any other gets 401.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use thiserror::Error;

use super::health::{HEALTH_PATH, HealthRegistry};
use super::{StatusProvider, StatusReport};
use crate::shutdown::Shutdown;

/// The path `dogwatch status` asks.
pub const STATUS_PATH: &str = "/agent/status";
/// The path `dogwatch agent dogstatsd-stats` asks: DogStatsD's samples per context.
pub const DOGSTATSD_STATS_PATH: &str = "/agent/dogstatsd-stats";

/// The answer of [`DOGSTATSD_STATS_PATH`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DogStatsdStats {
    /// Whether DogStatsD runs and `dogstatsd_metrics_stats_enable` is on.
    pub enabled: bool,
    /// Contexts, most samples first.
    pub contexts: Vec<crate::dogstatsd::aggregate::ContextStats>,
}

/// What the local API answers besides the status sections.
#[derive(Clone, Default)]
struct Extras {
    health: HealthRegistry,
    dogstatsd: Option<Arc<crate::dogstatsd::Shared>>,
}

/// The local API could not start.
#[derive(Debug, Error)]
#[error(
    "cannot listen on {addr} for the agent's local API ({source}); another agent may be running (a Datadog Agent also uses port 5001): set cmd_port / DD_CMD_PORT to a free port"
)]
pub struct BindError {
    /// The address tried.
    pub addr: String,
    /// The I/O error.
    pub source: std::io::Error,
}

/// A bound local API, ready to serve.
pub struct StatusServer {
    listener: tokio::net::TcpListener,
    providers: Arc<Vec<Box<dyn StatusProvider>>>,
    auth_token: Arc<str>,
    extras: Extras,
}

impl StatusServer {
    /// Binds `host:port`. `host` must be a loopback name or address (checked by config);
    /// requests must carry `auth_token` ([`super::auth::ensure_token`]).
    pub async fn bind(
        host: &str,
        port: u16,
        providers: Vec<Box<dyn StatusProvider>>,
        auth_token: &str,
    ) -> Result<StatusServer, BindError> {
        let host = if host == "localhost" { "127.0.0.1" } else { host };
        let addr = format!("{host}:{port}");
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|source| BindError { addr, source })?;
        Ok(StatusServer {
            listener,
            providers: Arc::new(providers),
            auth_token: auth_token.into(),
            extras: Extras::default(),
        })
    }

    /// The components `GET /agent/health` reports on; register each task in it.
    pub fn health(&self) -> HealthRegistry {
        self.extras.health.clone()
    }

    /// Answers `GET /agent/dogstatsd-stats` from this DogStatsD's aggregator.
    pub fn set_dogstatsd(&mut self, shared: Arc<crate::dogstatsd::Shared>) {
        self.extras.dogstatsd = Some(shared);
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown`.
    pub async fn run(self, mut shutdown: Shutdown) {
        let extras = self.extras;
        let (health, dogstatsd) = (extras.health.clone(), extras.dogstatsd.clone());
        let app = Router::new()
            .route(STATUS_PATH, get(status))
            .with_state(self.providers)
            .route(HEALTH_PATH, get(move || async move { Json(health.report()) }))
            .route(
                DOGSTATSD_STATS_PATH,
                get(move || async move {
                    let contexts = dogstatsd.as_ref().and_then(|d| d.aggregator().metric_stats());
                    Json(DogStatsdStats {
                        enabled: contexts.is_some(),
                        contexts: contexts.unwrap_or_default(),
                    })
                }),
            )
            .layer(middleware::from_fn_with_state(self.auth_token, require_token));
        let result = axum::serve(self.listener, app)
            .with_graceful_shutdown(async move { shutdown.wait().await })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "The agent's local API stopped.");
        }
    }
}

async fn status(State(providers): State<Arc<Vec<Box<dyn StatusProvider>>>>) -> Json<StatusReport> {
    let mut sections = Vec::with_capacity(providers.len());
    for provider in providers.iter() {
        let mut section = provider.section().await;
        // A check's error may quote its configuration: no secret value leaves the agent.
        for line in section.blocks.iter_mut().flat_map(|b| b.lines.iter_mut()) {
            line.value = crate::config::secrets::scrub_text(&line.value);
            line.name = crate::config::secrets::scrub_text(&line.name);
        }
        sections.push(section);
    }
    Json(StatusReport { sections })
}

/// Lets a request through only with `Authorization: Bearer <the agent's token>`.
async fn require_token(State(token): State<Arc<str>>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, given)| given.trim());
    match given {
        Some(given) if super::auth::tokens_match(given.as_bytes(), token.as_bytes()) => next.run(request).await,
        _ => {
            let mut response = (
                StatusCode::UNAUTHORIZED,
                "The agent's local API needs its token: send `Authorization: Bearer <token>` with the token in the agent's <run_path>/auth_token (`dogwatch status` does).\n",
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
    }
}
