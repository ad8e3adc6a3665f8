//! Enforcing a route's [`Access`]: who the request is (a session cookie, or `DD-API-KEY`
//! plus `DD-APPLICATION-KEY`), whether the role suffices, and CSRF on state-changing calls
//! made with a session. The request's [`Principal`] is put in its extensions for handlers.
//!
//! Answers, in Datadog's error shape: 401 when the request brings no credentials at all (the
//! UI then shows its sign-in page), 403 for a wrong key, a key missing its pair, an ended
//! session, a role that does not suffice, or a missing CSRF token. No answer says which part
//! of a credential was wrong beyond what the client itself sent.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dogwatch_model::endpoints;
use dogwatch_store::Role;

use super::Access;
use super::error::ApiError;
use crate::AppState;
use crate::auth::sessions::token_from_cookies;
use crate::auth::{Principal, Via};

/// The header the UI sends its session's CSRF token in.
pub const CSRF_HEADER: &str = "X-CSRF-Token";
/// Datadog's application key header.
pub const APP_KEY_HEADER: &str = "DD-APPLICATION-KEY";

/// The API key of a request: the `DD-API-KEY` header, else the `api_key` query parameter.
pub fn request_api_key(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    header_or_query(headers, uri, endpoints::API_KEY_HEADER, "api_key")
}

/// The application key of a request: `DD-APPLICATION-KEY`, else `application_key` in the query.
pub fn request_app_key(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    header_or_query(headers, uri, APP_KEY_HEADER, "application_key")
}

fn header_or_query(headers: &HeaderMap, uri: &Uri, header: &str, param: &str) -> Option<String> {
    if let Some(value) = headers.get(header) {
        return value.to_str().ok().map(|v| v.trim().to_string());
    }
    let prefix = format!("{param}=");
    uri.query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix(prefix.as_str()))
        .map(str::to_string)
}

/// The session token of a request's cookies.
pub fn request_session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(token_from_cookies)
        .map(str::to_string)
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "Unauthorized: sign in, or send an API key (DD-API-KEY) with an application key (DD-APPLICATION-KEY)",
    )
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, message)
}

/// Who the request is, for a route that needs a user.
pub fn principal(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<Principal, ApiError> {
    let api_key = request_api_key(headers, uri);
    let app_key = request_app_key(headers, uri);
    if let Some(token) = request_session_token(headers) {
        if let Some(p) = state.auth.session_principal(&token, Instant::now()) {
            return Ok(p);
        }
        if api_key.is_none() && app_key.is_none() {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized: the session has ended; sign in again",
            ));
        }
    }
    match (api_key, app_key) {
        (None, None) => Err(unauthorized()),
        (Some(api), _) if !state.auth.is_valid_api_key(&api) => Err(ApiError::forbidden()),
        (Some(_), None) => Err(forbidden(
            "Forbidden: this route needs an application key (DD-APPLICATION-KEY) as well as the API key",
        )),
        (None, Some(_)) => Err(forbidden(
            "Forbidden: this route needs an API key (DD-API-KEY) as well as the application key",
        )),
        (Some(_), Some(app)) => state.auth.app_key_principal(&app).ok_or_else(ApiError::forbidden),
    }
}

fn role_needed(access: Access) -> Role {
    match access {
        Access::Admin => Role::Admin,
        Access::Write => Role::Standard,
        _ => Role::ReadOnly,
    }
}

/// Reloads the key index when it may be missing a key just made by the CLI (at most once a
/// second); true when it reloaded.
async fn reload_for_miss(state: &Arc<AppState>) -> bool {
    if !state.auth.stale_for_a_miss() {
        return false;
    }
    let auth = state.auth.clone();
    matches!(tokio::task::spawn_blocking(move || auth.reload()).await, Ok(Ok(())))
}

/// The middleware in front of every route.
pub async fn enforce(State(state): State<Arc<AppState>>, access: Access, req: Request, next: Next) -> Response {
    let (error, retry) = match check(&state, access, req).await {
        Ok(req) => return next.run(req).await,
        Err(refused) => refused,
    };
    let Some(req) = retry else { return error.into_response() };
    if !reload_for_miss(&state).await {
        return error.into_response();
    }
    match check(&state, access, req).await {
        Ok(req) => next.run(req).await,
        Err((error, _)) => error.into_response(),
    }
}

/// The request, let through (with its principal for user routes), or the refusal (with the
/// request back when a reload of the key index might change the answer).
async fn check(
    state: &Arc<AppState>,
    access: Access,
    mut req: Request,
) -> Result<Request, (ApiError, Option<Request>)> {
    match access {
        Access::Public => Ok(req),
        Access::Intake => match request_api_key(req.headers(), req.uri()) {
            Some(key) if state.auth.is_valid_api_key(&key) => Ok(req),
            Some(_) => Err((ApiError::forbidden(), Some(req))),
            None => Err((ApiError::forbidden(), None)),
        },
        Access::Read | Access::Write | Access::Admin => {
            let principal = match principal(state, req.headers(), req.uri()) {
                Ok(p) => p,
                Err(e) => {
                    let retry =
                        e.status == StatusCode::FORBIDDEN && request_api_key(req.headers(), req.uri()).is_some();
                    return Err((e, retry.then_some(req)));
                }
            };
            let needed = role_needed(access);
            if principal.role < needed {
                return Err((
                    forbidden(&format!(
                        "Forbidden: this needs the {} or above; {} has the {}",
                        needed.datadog_name(),
                        principal.user_name,
                        principal.role.datadog_name()
                    )),
                    None,
                ));
            }
            if let Via::Session { csrf } = &principal.via
                && !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
            {
                let sent = req
                    .headers()
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if !crate::auth::secrets::ct_eq(sent, csrf) {
                    return Err((forbidden("Forbidden: missing or wrong CSRF token (X-CSRF-Token)"), None));
                }
            }
            req.extensions_mut().insert(principal);
            Ok(req)
        }
    }
}

/// The request's user, for handlers behind a Read, Write or Admin route.
pub struct User(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(User)
            .ok_or_else(unauthorized)
    }
}
