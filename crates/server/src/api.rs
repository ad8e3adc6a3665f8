//! The query API that the web pages read, under `/api/ui/`.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use dogwatch_store::HostRecord;
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;
use crate::keys::now_ms;

/// A host whose agent has sent nothing for this long is shown as stale: its agent sends a
/// heartbeat (`datadog.agent.up`) every 15 s, so this is several missed beats.
pub const STALE_AFTER_MS: i64 = 2 * 60 * 1000;

/// A host as the UI shows it.
#[derive(Debug, Serialize)]
pub struct HostView {
    /// The stored record.
    #[serde(flatten)]
    pub record: HostRecord,
    /// Whether its agent has stopped reporting.
    pub stale: bool,
}

/// The `/api/ui/` routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/api/ui/hosts", get(hosts))
}

/// Every known host with its staleness.
pub async fn host_views(state: &Arc<AppState>) -> Result<Vec<HostView>, ApiError> {
    let store = state.store.clone();
    let records = tokio::task::spawn_blocking(move || store.hosts())
        .await
        .map_err(|e| ApiError::internal(format!("the store task failed: {e}")))?
        .map_err(|e| ApiError::internal(format!("cannot read hosts: {e}")))?;
    let now = now_ms();
    Ok(records
        .into_iter()
        .map(|record| HostView {
            stale: now - record.last_seen_ms > STALE_AFTER_MS,
            record,
        })
        .collect())
}

/// `GET /api/ui/hosts`: `{"hosts": [...]}`.
async fn hosts(State(state): State<Arc<AppState>>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(serde_json::json!({ "hosts": host_views(&state).await? })))
}
