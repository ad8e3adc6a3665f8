//! The HTTP layer every domain uses, and that imports no domain but through the route table:
//! the access each route needs and its enforcement ([`guard`]), body limits, decompression
//! and the shared intake steps ([`intake`]), the JSON error type ([`error`]), query
//! parameters ([`params`]), and the route table itself ([`table`]), which lists every route
//! of every domain with the access it needs.

pub mod error;
pub mod guard;
pub mod intake;
pub mod params;
pub mod table;

use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use axum::routing::MethodRouter;

use crate::AppState;
use error::ApiError;

/// What a request must prove to reach a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nothing: pages, their files, sign-in, `/api/v1/validate` (which checks its key itself).
    Public,
    /// An API key (`DD-API-KEY`, or `?api_key=`): agents' payloads.
    Intake,
    /// A user who may read: a web session, or an API key plus an application key.
    Read,
    /// A user with the Standard role or above.
    Write,
    /// A user with the Admin role.
    Admin,
}

/// One route: method, path, the access it needs, and its handler.
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path, in axum's syntax (`/api/ui/views/{id}`).
    pub path: &'static str,
    /// The access it needs.
    pub access: Access,
    /// Whether it takes agent payloads (body limits, decompression, a timeout).
    pub intake: bool,
    handler: MethodRouter<Arc<AppState>>,
}

impl Route {
    /// A route of `method` at `path`, served by `handler` (a `MethodRouter` for that method).
    pub fn new(method: Method, path: &'static str, access: Access, handler: MethodRouter<Arc<AppState>>) -> Route {
        Route {
            method,
            path,
            access,
            intake: false,
            handler,
        }
    }

    /// `GET path`.
    pub fn get(path: &'static str, access: Access, handler: MethodRouter<Arc<AppState>>) -> Route {
        Route::new(Method::GET, path, access, handler)
    }

    /// `POST path`.
    pub fn post(path: &'static str, access: Access, handler: MethodRouter<Arc<AppState>>) -> Route {
        Route::new(Method::POST, path, access, handler)
    }

    /// `PUT path`.
    pub fn put(path: &'static str, access: Access, handler: MethodRouter<Arc<AppState>>) -> Route {
        Route::new(Method::PUT, path, access, handler)
    }

    /// `PATCH path`.
    pub fn patch(path: &'static str, access: Access, handler: MethodRouter<Arc<AppState>>) -> Route {
        Route::new(Method::PATCH, path, access, handler)
    }

    /// `DELETE path`.
    pub fn delete(path: &'static str, access: Access, handler: MethodRouter<Arc<AppState>>) -> Route {
        Route::new(Method::DELETE, path, access, handler)
    }

    /// An intake route: `POST path` with an API key, body limits and decompression.
    pub fn intake(path: &'static str, handler: MethodRouter<Arc<AppState>>) -> Route {
        Route {
            intake: true,
            ..Route::new(Method::POST, path, Access::Intake, handler)
        }
    }
}

/// Every route, each behind its access check, as one router.
pub fn router(state: Arc<AppState>) -> Router {
    let (mut intake_routes, mut others) = (Router::new(), Router::new());
    for route in table::routes() {
        let access = route.access;
        let handler = route.handler.route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            move |st, req, next| guard::enforce(st, access, req, next),
        ));
        if route.intake {
            intake_routes = intake_routes.route(route.path, handler);
        } else {
            others = others.route(route.path, handler);
        }
    }
    others
        .merge(intake::with_intake_layers(intake_routes, state.settings.max_body_bytes))
        .fallback(not_found)
        .with_state(state)
}

/// The peer address of a connection, for per-address sign-in limits; the server records it
/// for plain and TLS connections alike.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>> for ClientAddr {
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, crate::tls::TlsListener>> for ClientAddr {
    fn connect_info(stream: axum::serve::IncomingStream<'_, crate::tls::TlsListener>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

/// The client's IP address, when the server recorded it (not in tests without a socket).
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<ClientAddr>>()
                .map(|c| c.0.0.ip()),
        ))
    }
}

/// Runs a store operation on the blocking pool. The outer error is the task failing; the
/// inner one is the store's, for the caller to turn into an answer.
pub(crate) async fn on_store<T: Send + 'static>(
    state: &AppState,
    op: impl FnOnce(&dyn dogwatch_store::Store) -> Result<T, dogwatch_store::StoreError> + Send + 'static,
) -> Result<Result<T, dogwatch_store::StoreError>, ApiError> {
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || op(store.as_ref()))
        .await
        .map_err(|e| ApiError::internal(format!("the store task failed: {e}")))
}

/// Runs a store read on the blocking pool; `what` names it in the error.
pub(crate) async fn read_store<T: Send + 'static>(
    state: &AppState,
    what: &str,
    read: impl FnOnce(&dyn dogwatch_store::Store) -> Result<T, dogwatch_store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    on_store(state, read)
        .await?
        .map_err(|e| ApiError::internal(format!("cannot read {what}: {e}")))
}

/// `path_and_query` as an absolute URL on this server, as Datadog's `links` carry them: the
/// scheme from `X-Forwarded-Proto` (else https when the port speaks TLS), the authority from
/// `X-Forwarded-Host` or `Host` (else the listen address).
pub(crate) fn absolute_url(state: &AppState, headers: &axum::http::HeaderMap, path_and_query: &str) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let scheme = header("x-forwarded-proto").unwrap_or(if state.settings.tls.is_some() { "https" } else { "http" });
    let listen = state.settings.listen.to_string();
    let host = header("x-forwarded-host").or_else(|| header("host")).unwrap_or(&listen);
    format!("{scheme}://{host}{path_and_query}")
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}
