//! Authenticated intake of agent payloads, in Datadog's paths and shapes.
//!
//! Every intake route needs a known API key (`DD-API-KEY` header, or `api_key` in the
//! query string as Datadog also allows). Bodies may be compressed (`Content-Encoding`
//! zstd — or `zstd1`, as Datadog's API clients name it — deflate or gzip); the size limit applies to the compressed body and again to the
//! decompressed one, so a small compressed body cannot expand past it. A body is parsed
//! whole before anything is stored, so a bad payload stores nothing.

use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::{Json, Router};
use bytes::Bytes;
use dogwatch_model::endpoints;
use dogwatch_store::{Applied, IntakeBatch, Records};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::AppState;
use crate::http::error::ApiError;
use crate::now_ms;

/// How long one intake request may take, body upload included, before it gets 408: a
/// client that sends slowly cannot hold a connection and its buffers forever.
pub const INTAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Wraps the intake routes in the limits every intake route has: the body limit on the
/// compressed body, decompression, the same limit on the decompressed body, and a timeout.
pub fn with_intake_layers(router: Router<Arc<AppState>>, limit: usize) -> Router<Arc<AppState>> {
    router
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestDecompressionLayer::new())
        .layer(tower::util::MapRequestLayer::new(zstd1_as_zstd))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            INTAKE_TIMEOUT,
        ))
}

/// Reads `Content-Encoding: zstd1`, what Datadog's API clients send for zstd
/// (`MetricContentEncoding.ZSTD1`), as `zstd`.
fn zstd1_as_zstd<B>(mut request: axum::http::Request<B>) -> axum::http::Request<B> {
    let encoding = axum::http::header::CONTENT_ENCODING;
    if request.headers().get(&encoding).is_some_and(|v| v == "zstd1") {
        request
            .headers_mut()
            .insert(encoding, axum::http::HeaderValue::from_static("zstd"));
    }
    request
}

/// A request that carries a known API key.
pub struct ApiKeyAuth;

impl FromRequestParts<Arc<AppState>> for ApiKeyAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, ApiError> {
        match super::guard::request_api_key(&parts.headers, &parts.uri) {
            Some(key) if state.auth.is_valid_api_key(&key) => Ok(ApiKeyAuth),
            _ => Err(ApiError::forbidden()),
        }
    }
}

/// `GET /api/v1/validate`: `{"valid": true}` for a known key, else 403 `{"errors":["Forbidden"]}`.
pub async fn validate(auth: Result<ApiKeyAuth, ApiError>) -> Result<Json<Value>, ApiError> {
    auth.map(|_| Json(json!({ "valid": true })))
}

/// The body, or the reason it could not be read: 413 past the limit (compressed or not),
/// 400 for a body that does not decompress.
pub(crate) fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "the request body is larger than the server accepts (after decompression)".to_string()
        } else {
            format!("cannot read the request body: {}", rejection.body_text())
        };
        ApiError::new(status, message)
    })
}

/// Parses JSON, naming the payload kind and the byte offset of the first error.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8], kind: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let offset = dogwatch_model::json::error_offset(body, &e);
        ApiError::bad_request(format!("invalid {kind} payload at byte {offset}: {e}"))
    })
}

/// Stores a parsed payload (at most once per `Dogwatch-Payload-Id`) and answers 202.
pub(crate) async fn store(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    records: Records,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let payload_id = match headers.get(endpoints::PAYLOAD_ID_HEADER) {
        None => None,
        Some(v) => match v.to_str() {
            Ok(id)
                if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
            {
                Some(id.to_string())
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "{} must be 1 to 64 letters, digits or '-'",
                    endpoints::PAYLOAD_ID_HEADER
                )));
            }
        },
    };
    let batch = IntakeBatch {
        payload_id,
        received_at_ms: now_ms(),
        records,
    };
    let store = state.store.clone();
    let applied = tokio::task::spawn_blocking(move || store.ingest(batch))
        .await
        .map_err(|e| ApiError::internal(format!("the store task failed: {e}")))?
        .map_err(|e| {
            tracing::error!(error = %e, "Cannot store an intake payload.");
            ApiError::internal("the server could not store the payload; retry later")
        })?;
    if applied == Applied::Duplicate {
        tracing::debug!("A payload that was already stored arrived again; it was skipped.");
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "status": "ok" }))))
}
