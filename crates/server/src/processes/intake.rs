//! Intake of process payloads (`POST /api/v1/collector`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use bytes::Bytes;
use dogwatch_model::{CollectorAnswer, ProcessPayload};

use crate::AppState;
use crate::http::error::ApiError;
use crate::http::intake::{body_bytes, parse};
use crate::now_ms;

/// `POST /api/v1/collector`: one chunk of a host's process run, kept in the live state
/// (replaced by the next run); complete runs are also sampled into the store's process
/// history (see [`crate::processes::history`]). The answer says whether anyone is
/// watching that host, which switches its agent to real-time collection.
pub async fn process_collector(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CollectorAnswer>, ApiError> {
    let payload: ProcessPayload = parse(&body_bytes(body)?, "process")?;
    payload
        .validate()
        .map_err(|e| ApiError::bad_request(format!("invalid process payload: {e}")))?;
    let hostname = payload.host.hostname.clone();
    if state.live.apply(payload, now_ms()) == crate::processes::live::Applied::Completed
        && let Some(snapshot) = state.live.snapshot(&hostname)
    {
        state.history.record(&state.store, snapshot).await;
    }
    Ok(Json(CollectorAnswer {
        collector: state.live.collector_status(&hostname, std::time::Instant::now()),
    }))
}
