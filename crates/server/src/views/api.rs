//! Saved views of the web UI, under `/api/ui/views`: a page's state (query, columns,
//! grouping, visualization, …) saved under a name in the store, so every user of the server
//! sees it. Users list, create, rename or replace, and delete them.
//!
//! The server checks the page name, the view's name and that the state is a JSON object of at
//! most [`MAX_VIEW_BYTES`]; what the state holds is the page's business.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use bytes::Bytes;
use dogwatch_store::{NewSavedView, SavedView, SavedViewChange, Store, StoreError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::AppState;
use crate::http::error::ApiError;
use crate::http::{Access, Route};
use crate::http::{on_store, read_store};
use crate::now_ms;

/// The longest view name, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 100;
/// The longest page name, in characters.
pub const MAX_PAGE_CHARS: usize = 50;
/// The largest request body, and the largest state once serialized: 64 KiB. Larger gets 413.
pub const MAX_VIEW_BYTES: usize = 64 * 1024;

/// The saved view routes.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/api/ui/views", Access::Read, get(list)),
        Route::post(
            "/api/ui/views",
            Access::Write,
            post(create).layer(DefaultBodyLimit::max(MAX_VIEW_BYTES)),
        ),
        Route::put(
            "/api/ui/views/{id}",
            Access::Write,
            put(update).layer(DefaultBodyLimit::max(MAX_VIEW_BYTES)),
        ),
        Route::delete("/api/ui/views/{id}", Access::Write, delete(remove)),
    ]
}

/// The query of `GET /api/ui/views`.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Only the views of this page; absent or empty means every page.
    pub page: Option<String>,
}

/// The answer of `GET /api/ui/views`.
#[derive(Debug, Serialize)]
pub struct ViewList {
    /// The views, by name ignoring case, then by id.
    pub views: Vec<SavedView>,
}

/// The body of `POST /api/ui/views`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// The page the view belongs to, e.g. `processes`.
    pub page: String,
    /// The view's name; surrounding whitespace is trimmed.
    pub name: String,
    /// What the page restores: a JSON object.
    pub state: Value,
}

/// The body of `PUT /api/ui/views/{id}`: at least one of the two.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    /// A new name; surrounding whitespace is trimmed.
    #[serde(default)]
    pub name: Option<String>,
    /// A new state, replacing the old one whole.
    #[serde(default)]
    pub state: Option<Value>,
}

/// `GET /api/ui/views?page=NAME`: `{"views": [...]}`, the views of one page or of all.
async fn list(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<ViewList>, ApiError> {
    let query: ListQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("the query string cannot be decoded: {e}")))?;
    let page = query.page.filter(|p| !p.is_empty());
    if let Some(page) = &page {
        check_page(page)?;
    }
    let views = read_store(&state, "saved views", move |store| store.saved_views(page.as_deref())).await?;
    Ok(Json(ViewList { views }))
}

/// `POST /api/ui/views`: saves a new view; 201 with it, 409 when its name is taken on its page.
async fn create(State(state): State<Arc<AppState>>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let request: CreateRequest = parse_body(body)?;
    check_page(&request.page)?;
    let view = NewSavedView {
        name: checked_name(&request.name)?,
        state: checked_state(request.state)?,
        page: request.page,
    };
    let saved = write_store(&state, "save the view", move |store| {
        store.create_saved_view(&view, now_ms())
    })
    .await?;
    let location = HeaderValue::from_str(&format!("/api/ui/views/{}", saved.id)).expect("a path is a header value");
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(saved)).into_response())
}

/// `PUT /api/ui/views/{id}`: renames a view and/or replaces its state; 200 with the view,
/// 404 when there is none with this id, 409 when the new name is taken on its page.
async fn update(
    State(state): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SavedView>, ApiError> {
    let id = view_id(id)?;
    let request: UpdateRequest = parse_body(body)?;
    if request.name.is_none() && request.state.is_none() {
        return Err(ApiError::bad_request(
            "nothing to change: give a new `name`, a new `state` or both",
        ));
    }
    let change = SavedViewChange {
        name: request.name.as_deref().map(checked_name).transpose()?,
        state: request.state.map(checked_state).transpose()?,
    };
    write_store(&state, "update the view", move |store| {
        store.update_saved_view(id, &change, now_ms())
    })
    .await?
    .map(Json)
    .ok_or_else(|| no_such_view(id))
}

/// `DELETE /api/ui/views/{id}`: 204, or 404 when there is no view with this id.
async fn remove(
    State(state): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = view_id(id)?;
    if write_store(&state, "delete the view", move |store| store.delete_saved_view(id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_such_view(id))
    }
}

fn no_such_view(id: i64) -> ApiError {
    ApiError::not_found(format!("no saved view with id {id}"))
}

/// Runs a store write on the blocking pool: a name taken is 409 (its message names the name
/// and the page), any other failure 500; `what` names the write in that error.
async fn write_store<T: Send + 'static>(
    state: &AppState,
    what: &'static str,
    write: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    on_store(state, write).await?.map_err(|e| match e {
        StoreError::NameTaken { .. } => ApiError::conflict(e.to_string()),
        e => ApiError::internal(format!("cannot {what}: {e}")),
    })
}

/// The view id in the path: a whole number.
fn view_id(id: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let Path(text) = id.map_err(|e| ApiError::bad_request(format!("invalid view id: {}", e.body_text())))?;
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("the view id must be a whole number, got {text:?}")))
}

/// Parses a JSON object body, naming the field at fault; a body over [`MAX_VIEW_BYTES`] is 413.
fn parse_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                format!(
                    "the request body is larger than {} KiB, the most a saved view may take",
                    MAX_VIEW_BYTES / 1024
                ),
            )
        } else {
            ApiError::new(
                status,
                format!("cannot read the request body: {}", rejection.body_text()),
            )
        }
    })?;
    let value: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    // Checked here because serde would also take a struct from an array of its fields.
    if !value.is_object() {
        return Err(ApiError::bad_request(format!(
            "the body must be a JSON object, got {}",
            json_kind(&value)
        )));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        // serde names an unknown or missing field itself; a wrong type is named by its path.
        let error = e.inner().to_string();
        let path = format!("`{}`", e.path());
        if path == "`.`" || error.contains(&path) {
            ApiError::bad_request(format!("invalid saved view: {error}"))
        } else {
            ApiError::bad_request(format!("invalid saved view: {path}: {error}"))
        }
    })
}

/// What kind of JSON value this is, for messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks a page name: 1 to [`MAX_PAGE_CHARS`] of `a-z`, `0-9`, `_` and `-`.
fn check_page(page: &str) -> Result<(), ApiError> {
    if page.is_empty() {
        return Err(ApiError::bad_request("`page` must not be empty"));
    }
    if !page
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(ApiError::bad_request(format!(
            "`page` may hold only a-z, 0-9, `_` and `-`, got {page:?}"
        )));
    }
    if page.len() > MAX_PAGE_CHARS {
        return Err(ApiError::bad_request(format!(
            "`page` is {} characters long; the most allowed is {MAX_PAGE_CHARS}",
            page.len()
        )));
    }
    Ok(())
}

/// The view name, trimmed: not empty, at most [`MAX_NAME_CHARS`], no control characters.
fn checked_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::bad_request("`name` must not be empty"));
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(ApiError::bad_request(format!(
            "`name` is {chars} characters long; the most allowed is {MAX_NAME_CHARS}"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::bad_request("`name` must not contain control characters"));
    }
    Ok(name.to_string())
}

/// The state: a JSON object of at most [`MAX_VIEW_BYTES`] once serialized (413 past it).
fn checked_state(state: Value) -> Result<Value, ApiError> {
    if !state.is_object() {
        return Err(ApiError::bad_request(format!(
            "`state` must be a JSON object, got {}",
            json_kind(&state)
        )));
    }
    let bytes = serde_json::to_vec(&state)
        .map_err(|e| ApiError::internal(e.to_string()))?
        .len();
    if bytes > MAX_VIEW_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("`state` is {bytes} bytes as JSON; the most allowed is {MAX_VIEW_BYTES}"),
        ));
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_names_are_short_lowercase_words() {
        for ok in [
            "processes",
            "live-processes",
            "apm_traces2",
            &"a".repeat(MAX_PAGE_CHARS),
        ] {
            assert!(check_page(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Processes",
            "pro cesses",
            "procès",
            "a/b",
            &"a".repeat(MAX_PAGE_CHARS + 1),
        ] {
            assert!(check_page(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_counted_in_characters() {
        assert_eq!(checked_name("  Busy Java \t").unwrap(), "Busy Java");
        assert!(checked_name(&"é".repeat(MAX_NAME_CHARS)).is_ok());
        let err = checked_name(&"é".repeat(MAX_NAME_CHARS + 1)).unwrap_err();
        assert_eq!(err.message, "`name` is 101 characters long; the most allowed is 100");
        assert!(checked_name(" \n ").is_err());
        assert!(checked_name("two\nlines").is_err());
    }
}
