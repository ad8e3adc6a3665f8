//! Access control's routes.
//!
//! The web UI's: `POST /api/ui/login`, `POST /api/ui/logout`, `GET /api/ui/me`,
//! `PUT /api/ui/me/password`, `GET /login/{token}` (the one-time sign-in link), and users under
//! `/api/ui/users` (Admin).
//!
//! Datadog's public API, in its JSON:API shapes: `/api/v2/api_keys` (Admin),
//! `/api/v2/application_keys` (Admin: every user's) and `/api/v2/current_user/application_keys`
//! (anyone: their own). A key is shown whole only in the answer that creates it.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, patch, post, put};
use dogwatch_model::time::iso8601_ms;
use dogwatch_store::{ApiKey, AppKey, Role, StoreError, User as StoredUser, UserChange};
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin;
use super::secrets::{hash_password, verify_password};
use super::sessions::COOKIE;
use super::{Principal, Via};
use crate::AppState;
use crate::http::error::ApiError;
use crate::http::guard::{User, request_session_token};
use crate::http::{Access, ClientIp, Route, on_store};

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// The access-control routes.
pub fn routes() -> Vec<Route> {
    vec![
        Route::post("/api/ui/login", Access::Public, post(login)),
        Route::post("/api/ui/logout", Access::Public, post(logout)),
        Route::get("/login/{token}", Access::Public, get(sign_in_link)),
        Route::get("/api/ui/me", Access::Read, get(me)),
        Route::put("/api/ui/me/password", Access::Read, put(set_own_password)),
        Route::get("/api/ui/users", Access::Admin, get(list_users)),
        Route::post("/api/ui/users", Access::Admin, post(create_user)),
        Route::patch("/api/ui/users/{id}", Access::Admin, patch(change_user)),
        Route::get("/api/v2/api_keys", Access::Admin, get(list_api_keys)),
        Route::post("/api/v2/api_keys", Access::Admin, post(create_api_key)),
        Route::get("/api/v2/api_keys/{id}", Access::Admin, get(get_api_key)),
        Route::patch("/api/v2/api_keys/{id}", Access::Admin, patch(rename_api_key)),
        Route::delete("/api/v2/api_keys/{id}", Access::Admin, delete(delete_api_key)),
        Route::get("/api/v2/application_keys", Access::Admin, get(list_all_app_keys)),
        Route::get("/api/v2/application_keys/{id}", Access::Admin, get(get_any_app_key)),
        Route::patch(
            "/api/v2/application_keys/{id}",
            Access::Admin,
            patch(rename_any_app_key),
        ),
        Route::delete(
            "/api/v2/application_keys/{id}",
            Access::Admin,
            delete(delete_any_app_key),
        ),
        Route::get(
            "/api/v2/current_user/application_keys",
            Access::Read,
            get(list_own_app_keys),
        ),
        Route::post(
            "/api/v2/current_user/application_keys",
            Access::Read,
            post(create_own_app_key),
        ),
        Route::get(
            "/api/v2/current_user/application_keys/{id}",
            Access::Read,
            get(get_own_app_key),
        ),
        Route::patch(
            "/api/v2/current_user/application_keys/{id}",
            Access::Read,
            patch(rename_own_app_key),
        ),
        Route::delete(
            "/api/v2/current_user/application_keys/{id}",
            Access::Read,
            delete(delete_own_app_key),
        ),
    ]
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::UserExists { .. } => ApiError::conflict(e.to_string()),
        e => {
            tracing::error!(error = %e, "An access-control store operation failed.");
            ApiError::internal("the server could not read or write users and keys; retry later")
        }
    }
}

/// Runs a store operation and reloads the key index after it.
async fn on_auth_store<T: Send + 'static>(
    state: &Arc<AppState>,
    op: impl FnOnce(&dyn dogwatch_store::Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let result = on_store(state, op).await?.map_err(store_error)?;
    let auth = state.auth.clone();
    on_store(state, move |_| auth.reload()).await?.map_err(store_error)?;
    Ok(result)
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid {what}: {e}")))
}

fn user_json(p: &Principal) -> Value {
    json!({"id": p.user_id.to_string(), "name": p.user_name, "role": p.role.as_str(), "role_name": p.role.datadog_name()})
}

/// The session cookie, HttpOnly and SameSite=Lax, Secure when the server serves TLS.
fn session_cookie(state: &AppState, token: &str, max_age: Option<u64>) -> HeaderValue {
    let secure = if state.settings.tls.is_some() { "; Secure" } else { "" };
    let age = max_age.map_or(String::new(), |s| format!("; Max-Age={s}"));
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax{secure}{age}"
    ))
    .expect("a hex token makes a valid header")
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

/// `POST /api/ui/login` `{"username","password"}`: a session cookie and `{"user","csrf_token"}`.
/// A wrong name or password is the same 401; past the attempt limit, 429 even when right.
async fn login(
    State(state): State<Arc<AppState>>,
    ClientIp(addr): ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let request: LoginRequest = json_body(&body, "sign-in request (expected {\"username\", \"password\"})")?;
    let now = Instant::now();
    if request.username.len() > 256 || request.password.len() > 1024 {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "Invalid username or password"));
    }
    if !state.auth.limiter.allowed(&request.username, addr, now) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed sign-in attempts; try again in a minute",
        ));
    }
    let auth = state.auth.clone();
    let name = request.username.clone();
    let found = on_store(&state, move |_| auth.find_user(&name))
        .await?
        .map_err(store_error)?;
    let password = request.password;
    let user = tokio::task::spawn_blocking(move || {
        let hash = found.as_ref().map_or("", |u| u.password_hash.as_str());
        let ok = verify_password(&password, hash);
        found.filter(|u| ok && !u.disabled)
    })
    .await
    .map_err(|e| ApiError::internal(format!("the sign-in task failed: {e}")))?;
    let Some(user) = user else {
        state.auth.limiter.failed(&request.username, addr, now);
        tracing::info!("A sign-in attempt failed.");
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "Invalid username or password"));
    };
    if state.auth.principal_of(user.id, Via::AppKey).is_none() {
        // A user just added by the CLI: load it now rather than at the next reload.
        let auth = state.auth.clone();
        on_store(&state, move |_| auth.reload()).await?.map_err(store_error)?;
    }
    let (token, session) = state.auth.sessions.start(user.id, now);
    let principal = Principal {
        user_id: user.id,
        user_name: user.name,
        role: user.role,
        via: Via::Session {
            csrf: session.csrf.clone(),
        },
    };
    let mut response = Json(json!({"user": user_json(&principal), "csrf_token": session.csrf})).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, &token, None));
    Ok(response)
}

/// `POST /api/ui/logout`: ends the session and clears its cookie (204 either way).
async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(token) = request_session_token(&headers) {
        state.auth.sessions.end(&token);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", Some(0)));
    response
}

/// `GET /login/{token}`: the one-time sign-in link the first start prints; signs in and goes to
/// the UI, where the admin sets a password.
async fn sign_in_link(State(state): State<Arc<AppState>>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let now = Instant::now();
    let user_id = state
        .auth
        .redeem_sign_in_link(&token, now)
        .filter(|id| state.auth.principal_of(*id, Via::AppKey).is_some())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "This sign-in link has been used or has expired. Restart the server for a new one, or set a password with `dogwatch user reset-password`.",
            )
        })?;
    let (session_token, _) = state.auth.sessions.start(user_id, now);
    let mut response = Redirect::to("/?set-password=1").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, &session_token, None));
    Ok(response)
}

/// `GET /api/ui/me`: the signed-in user, the session's CSRF token, and whether the user has a
/// password yet.
async fn me(State(state): State<Arc<AppState>>, User(p): User) -> Result<Json<Value>, ApiError> {
    let id = p.user_id;
    let has_password = on_store(&state, move |s| s.users())
        .await?
        .map_err(store_error)?
        .into_iter()
        .any(|u| u.id == id && !u.password_hash.is_empty());
    let csrf = match &p.via {
        Via::Session { csrf } => Some(csrf.clone()),
        Via::AppKey => None,
    };
    Ok(Json(
        json!({"user": user_json(&p), "csrf_token": csrf, "has_password": has_password}),
    ))
}

#[derive(Deserialize)]
struct PasswordRequest {
    #[serde(default)]
    current_password: String,
    new_password: String,
}

fn check_password_rules(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::bad_request(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > 1024 {
        return Err(ApiError::bad_request("the password is longer than 1024 bytes"));
    }
    Ok(())
}

/// `PUT /api/ui/me/password` `{"current_password","new_password"}` (the current one only
/// while the user has none yet may be left out).
async fn set_own_password(
    State(state): State<Arc<AppState>>,
    User(p): User,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    let request: PasswordRequest = json_body(
        &body,
        "password change (expected {\"current_password\", \"new_password\"})",
    )?;
    check_password_rules(&request.new_password)?;
    let id = p.user_id;
    let current = on_store(&state, move |s| s.users())
        .await?
        .map_err(store_error)?
        .into_iter()
        .find(|u| u.id == id)
        .ok_or_else(ApiError::forbidden)?;
    let ok = tokio::task::spawn_blocking(move || {
        current.password_hash.is_empty() || verify_password(&request.current_password, &current.password_hash)
    })
    .await
    .map_err(|e| ApiError::internal(format!("the password task failed: {e}")))?;
    if !ok {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "the current password is wrong"));
    }
    let new_hash = tokio::task::spawn_blocking(move || hash_password(&request.new_password))
        .await
        .map_err(|e| ApiError::internal(format!("the password task failed: {e}")))?;
    on_auth_store(&state, move |s| {
        s.update_user(
            id,
            &UserChange {
                password_hash: Some(new_hash),
                ..UserChange::default()
            },
        )
    })
    .await?;
    // Other browsers signed in as this user must sign in again with the new password.
    state
        .auth
        .sessions
        .end_user_except(id, request_session_token(&headers).as_deref());
    Ok(StatusCode::NO_CONTENT)
}

fn stored_user_json(u: &StoredUser) -> Value {
    json!({
        "id": u.id.to_string(),
        "name": u.name,
        "role": u.role.as_str(),
        "role_name": u.role.datadog_name(),
        "disabled": u.disabled,
        "has_password": !u.password_hash.is_empty(),
        "created_at": iso8601_ms(u.created_at_ms),
    })
}

async fn list_users(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let users = on_store(&state, |s| s.users()).await?.map_err(store_error)?;
    Ok(Json(
        json!({"users": users.iter().map(stored_user_json).collect::<Vec<_>>()}),
    ))
}

#[derive(Deserialize)]
struct NewUserRequest {
    name: String,
    role: String,
    #[serde(default)]
    password: String,
}

fn parse_role(text: &str) -> Result<Role, ApiError> {
    Role::parse(text)
        .ok_or_else(|| ApiError::bad_request(format!("unknown role {text:?}: use admin, standard or read_only")))
}

async fn create_user(State(state): State<Arc<AppState>>, body: axum::body::Bytes) -> Result<Response, ApiError> {
    let request: NewUserRequest = json_body(&body, "user (expected {\"name\", \"role\", \"password\"})")?;
    let name = request.name.trim().to_string();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "a user name must be 1 to 100 characters without control characters",
        ));
    }
    let role = parse_role(&request.role)?;
    if !request.password.is_empty() {
        check_password_rules(&request.password)?;
    }
    let password = request.password;
    let user = on_auth_store(&state, move |s| admin::create_user(s, &name, role, &password)).await?;
    Ok((StatusCode::CREATED, Json(json!({"user": stored_user_json(&user)}))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChangeRequest {
    role: Option<String>,
    disabled: Option<bool>,
    password: Option<String>,
}

async fn change_user(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found(format!("no user {id:?}")))?;
    let request: UserChangeRequest = json_body(&body, "user change (expected {\"role\", \"disabled\", \"password\"})")?;
    let role = request.role.as_deref().map(parse_role).transpose()?;
    if let Some(p) = &request.password {
        check_password_rules(p)?;
    }
    let password_hash = match request.password {
        Some(p) => Some(
            tokio::task::spawn_blocking(move || hash_password(&p))
                .await
                .map_err(|e| ApiError::internal(format!("the password task failed: {e}")))?,
        ),
        None => None,
    };
    let ends_sessions = request.disabled == Some(true) || password_hash.is_some();
    let change = UserChange {
        role,
        password_hash,
        disabled: request.disabled,
    };
    let user = on_auth_store(&state, move |s| s.update_user(id, &change))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user {id}")))?;
    if ends_sessions {
        state.auth.sessions.end_user(id);
    }
    Ok(Json(json!({"user": stored_user_json(&user)})))
}

fn api_key_json(k: &ApiKey, key: Option<&str>) -> Value {
    let mut attributes = json!({
        "name": k.name,
        "last4": k.last4,
        "created_at": iso8601_ms(k.created_at_ms),
        "modified_at": iso8601_ms(k.created_at_ms),
    });
    if let Some(key) = key {
        attributes["key"] = json!(key);
    }
    json!({"type": "api_keys", "id": k.id, "attributes": attributes})
}

fn app_key_json(k: &AppKey, key: Option<&str>) -> Value {
    let mut attributes = json!({
        "name": k.name,
        "last4": k.last4,
        "created_at": iso8601_ms(k.created_at_ms),
        "scopes": null,
    });
    if let Some(key) = key {
        attributes["key"] = json!(key);
    }
    json!({
        "type": "application_keys",
        "id": k.id,
        "attributes": attributes,
        "relationships": {"owned_by": {"data": {"type": "users", "id": k.user_id.to_string()}}},
    })
}

/// `{"data": {"attributes": {"name": …}}}`, Datadog's create and update body.
#[derive(Deserialize)]
struct KeyBody {
    data: KeyData,
}

#[derive(Deserialize)]
struct KeyData {
    #[serde(default)]
    attributes: KeyAttributes,
}

#[derive(Deserialize, Default)]
struct KeyAttributes {
    name: Option<String>,
}

fn key_name(body: &[u8]) -> Result<String, ApiError> {
    let parsed: KeyBody = json_body(
        body,
        "key request (expected {\"data\": {\"attributes\": {\"name\": …}}})",
    )?;
    let name = parsed.data.attributes.name.unwrap_or_default().trim().to_string();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::bad_request(
            "`data.attributes.name` must be 1 to 200 characters",
        ));
    }
    Ok(name)
}

fn list_json(items: Vec<Value>) -> Json<Value> {
    let n = items.len();
    Json(json!({"data": items, "meta": {"page": {"total_filtered_count": n}}}))
}

async fn list_api_keys(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let keys = on_store(&state, |s| s.api_keys()).await?.map_err(store_error)?;
    Ok(list_json(keys.iter().map(|k| api_key_json(k, None)).collect()))
}

async fn create_api_key(State(state): State<Arc<AppState>>, body: axum::body::Bytes) -> Result<Response, ApiError> {
    let name = key_name(&body)?;
    let (key, record) = on_auth_store(&state, move |s| admin::create_api_key(s, &name)).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"data": api_key_json(&record, Some(&key))})),
    )
        .into_response())
}

async fn find_api_key(state: &Arc<AppState>, id: String) -> Result<ApiKey, ApiError> {
    let keys = on_store(state, |s| s.api_keys()).await?.map_err(store_error)?;
    keys.into_iter()
        .find(|k| k.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no API key {id:?}")))
}

async fn get_api_key(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let key = find_api_key(&state, id).await?;
    Ok(Json(json!({"data": api_key_json(&key, None)})))
}

async fn rename_api_key(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let name = key_name(&body)?;
    let key_id = id.clone();
    if !on_auth_store(&state, move |s| s.rename_api_key(&key_id, &name)).await? {
        return Err(ApiError::not_found(format!("no API key {id:?}")));
    }
    let key = find_api_key(&state, id).await?;
    Ok(Json(json!({"data": api_key_json(&key, None)})))
}

async fn delete_api_key(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let key_id = id.clone();
    if !on_auth_store(&state, move |s| s.delete_api_key(&key_id)).await? {
        return Err(ApiError::not_found(format!("no API key {id:?}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The application keys `owner` may see: its own, or every one (`None`, for an admin).
async fn app_keys_of(state: &Arc<AppState>, owner: Option<i64>) -> Result<Vec<AppKey>, ApiError> {
    let keys = on_store(state, |s| s.app_keys()).await?.map_err(store_error)?;
    Ok(keys
        .into_iter()
        .filter(|k| owner.is_none_or(|o| k.user_id == o))
        .collect())
}

async fn find_app_key(state: &Arc<AppState>, owner: Option<i64>, id: &str) -> Result<AppKey, ApiError> {
    app_keys_of(state, owner)
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no application key {id:?}")))
}

async fn list_all_app_keys(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let keys = app_keys_of(&state, None).await?;
    Ok(list_json(keys.iter().map(|k| app_key_json(k, None)).collect()))
}

async fn list_own_app_keys(State(state): State<Arc<AppState>>, User(p): User) -> Result<Json<Value>, ApiError> {
    let keys = app_keys_of(&state, Some(p.user_id)).await?;
    Ok(list_json(keys.iter().map(|k| app_key_json(k, None)).collect()))
}

async fn create_own_app_key(
    State(state): State<Arc<AppState>>,
    User(p): User,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let name = key_name(&body)?;
    let user = p.user_id;
    let (key, record) = on_auth_store(&state, move |s| admin::create_app_key(s, user, &name)).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"data": app_key_json(&record, Some(&key))})),
    )
        .into_response())
}

async fn get_any_app_key(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let key = find_app_key(&state, None, &id).await?;
    Ok(Json(json!({"data": app_key_json(&key, None)})))
}

async fn get_own_app_key(
    State(state): State<Arc<AppState>>,
    User(p): User,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let key = find_app_key(&state, Some(p.user_id), &id).await?;
    Ok(Json(json!({"data": app_key_json(&key, None)})))
}

async fn rename_app_key(
    state: &Arc<AppState>,
    owner: Option<i64>,
    id: String,
    body: &[u8],
) -> Result<Json<Value>, ApiError> {
    let name = key_name(body)?;
    find_app_key(state, owner, &id).await?;
    let key_id = id.clone();
    on_auth_store(state, move |s| s.rename_app_key(&key_id, &name)).await?;
    let key = find_app_key(state, owner, &id).await?;
    Ok(Json(json!({"data": app_key_json(&key, None)})))
}

async fn rename_any_app_key(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    rename_app_key(&state, None, id, &body).await
}

async fn rename_own_app_key(
    State(state): State<Arc<AppState>>,
    User(p): User,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    rename_app_key(&state, Some(p.user_id), id, &body).await
}

async fn delete_app_key(state: &Arc<AppState>, owner: Option<i64>, id: String) -> Result<StatusCode, ApiError> {
    find_app_key(state, owner, &id).await?;
    on_auth_store(state, move |s| s.delete_app_key(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_any_app_key(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    delete_app_key(&state, None, id).await
}

async fn delete_own_app_key(
    State(state): State<Arc<AppState>>,
    User(p): User,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    delete_app_key(&state, Some(p.user_id), id).await
}
