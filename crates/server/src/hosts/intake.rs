//! Intake of host metadata (`POST /intake/`): who an agent is, and its checks' status.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use serde_json::Value;

use crate::AppState;
use crate::http::error::ApiError;
use crate::http::intake::{body_bytes, parse, store};
use dogwatch_model::HostMetadata;
use dogwatch_store::Records;

/// `POST /intake/`: host metadata as Datadog's agents send it.
pub async fn host_metadata(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let meta: HostMetadata = parse(&body_bytes(body)?, "host metadata")?;
    if meta.internal_hostname.trim().is_empty() {
        return Err(ApiError::bad_request("host metadata has an empty internalHostname"));
    }
    store(&state, &headers, Records::HostMetadata(meta)).await
}
