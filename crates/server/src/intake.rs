//! Authenticated intake of agent payloads, in Datadog's paths and shapes.
//!
//! Every intake route needs a known API key (`DD-API-KEY` header, or `api_key` in the
//! query string as Datadog also allows). Bodies may be compressed (`Content-Encoding`
//! zstd, deflate or gzip); the size limit applies to the compressed body and again to the
//! decompressed one, so a small compressed body cannot expand past it. A body is parsed
//! whole before anything is stored, so a bad payload stores nothing.

use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use dogwatch_model::{CheckRun, CollectorAnswer, HostMetadata, ProcessPayload, SeriesPayload, endpoints};
use dogwatch_store::{Applied, IntakeBatch, Records};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::AppState;
use crate::error::ApiError;
use crate::keys::now_ms;

/// How long one intake request may take, body upload included, before it gets 408: a
/// client that sends slowly cannot hold a connection and its buffers forever.
pub const INTAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The intake routes and `/api/v1/validate`.
pub fn routes(state: Arc<AppState>) -> Router<Arc<AppState>> {
    let limit = state.settings.max_body_bytes;
    let intake = Router::new()
        .route(endpoints::SERIES_V1, post(series))
        .route(endpoints::CHECK_RUN_V1, post(check_run))
        .route(endpoints::HOST_METADATA, post(host_metadata))
        .route(endpoints::PROCESS_COLLECTOR, post(process_collector))
        .route(endpoints::TRACES_V02, post(crate::apm::intake::traces))
        .route(endpoints::STATS_V02, post(crate::apm::intake::stats))
        .route(endpoints::SKETCHES, post(crate::metrics::intake::sketches))
        .route(endpoints::EVENTS_V1, post(crate::metrics::intake::events))
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestDecompressionLayer::new())
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            INTAKE_TIMEOUT,
        ));
    Router::new().route(endpoints::VALIDATE, get(validate)).merge(intake)
}

/// A request that carries a known API key.
pub struct ApiKeyAuth;

/// The API key of a request: the `DD-API-KEY` header, else the `api_key` query parameter.
pub fn request_api_key(parts: &Parts) -> Option<String> {
    if let Some(key) = parts
        .headers
        .get(endpoints::API_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        return Some(key.trim().to_string());
    }
    parts
        .uri
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("api_key="))
        .map(str::to_string)
}

impl FromRequestParts<Arc<AppState>> for ApiKeyAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, ApiError> {
        match request_api_key(parts) {
            Some(key) if state.is_valid_key(&key) => Ok(ApiKeyAuth),
            _ => Err(ApiError::forbidden()),
        }
    }
}

/// `GET /api/v1/validate`: `{"valid": true}` for a known key, else 403 `{"errors":["Forbidden"]}`.
async fn validate(auth: Result<ApiKeyAuth, ApiError>) -> Result<Json<Value>, ApiError> {
    auth.map(|_| Json(json!({ "valid": true })))
}

async fn series(
    State(state): State<Arc<AppState>>,
    _auth: ApiKeyAuth,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let payload: SeriesPayload = parse(&body_bytes(body)?, "series")?;
    for (i, s) in payload.series.iter().enumerate() {
        if s.metric.trim().is_empty() {
            return Err(ApiError::bad_request(format!("series[{i}] has an empty metric name")));
        }
        if let Some((ts, v)) = s.points.iter().find(|(ts, v)| !ts.is_finite() || !v.is_finite()) {
            return Err(ApiError::bad_request(format!(
                "series[{i}] ({}) has a point that is not a finite number: [{ts}, {v}]",
                s.metric
            )));
        }
    }
    store(&state, &headers, Records::Series(payload.series)).await
}

async fn check_run(
    State(state): State<Arc<AppState>>,
    _auth: ApiKeyAuth,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let runs: Vec<CheckRun> = parse(&body_bytes(body)?, "check_run")?;
    if let Some(i) = runs.iter().position(|r| r.check.trim().is_empty()) {
        return Err(ApiError::bad_request(format!(
            "check run [{i}] has an empty check name"
        )));
    }
    store(&state, &headers, Records::CheckRuns(runs)).await
}

async fn host_metadata(
    State(state): State<Arc<AppState>>,
    _auth: ApiKeyAuth,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let meta: HostMetadata = parse(&body_bytes(body)?, "host metadata")?;
    if meta.internal_hostname.trim().is_empty() {
        return Err(ApiError::bad_request("host metadata has an empty internalHostname"));
    }
    store(&state, &headers, Records::HostMetadata(meta)).await
}

/// `POST /api/v1/collector`: one chunk of a host's process run, kept in the live state
/// (replaced by the next run); complete runs are also sampled into the store's process
/// history (see [`crate::history`]). The answer says whether anyone is
/// watching that host, which switches its agent to real-time collection.
async fn process_collector(
    State(state): State<Arc<AppState>>,
    _auth: ApiKeyAuth,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CollectorAnswer>, ApiError> {
    let payload: ProcessPayload = parse(&body_bytes(body)?, "process")?;
    payload
        .validate()
        .map_err(|e| ApiError::bad_request(format!("invalid process payload: {e}")))?;
    let hostname = payload.host.hostname.clone();
    if state.live.apply(payload, now_ms()) == crate::live::Applied::Completed
        && let Some(snapshot) = state.live.snapshot(&hostname)
    {
        state.history.record(&state.store, snapshot).await;
    }
    Ok(Json(CollectorAnswer {
        collector: state.live.collector_status(&hostname, std::time::Instant::now()),
    }))
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
