//! The query API that the web pages read, under `/api/ui/`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use bytes::Bytes;
use dogwatch_store::HostRecord;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::http::error::ApiError;
use crate::http::{Access, Route, read_store};
use crate::now_ms;
use crate::processes::live::LiveHostSummary;
use dogwatch_model::endpoints;

/// A host whose agent has sent nothing for this long is shown as stale: its agent sends a
/// heartbeat (`datadog.agent.up`) every 15 s, so this is several missed beats.
pub const STALE_AFTER_MS: i64 = 2 * 60 * 1000;

/// A host as the UI shows it.
#[derive(Debug, Serialize)]
pub struct HostView {
    /// The stored record.
    #[serde(flatten)]
    pub record: HostRecord,
    /// Its tags by source: the agent's under `Datadog`, user-set ones (Datadog's tags API)
    /// under their source (`Users` for `user`). `record.tags` holds all of them, each once.
    pub tags_by_source: std::collections::BTreeMap<String, Vec<String>>,
    /// Whether its agent has stopped reporting.
    pub stale: bool,
    /// Its latest live process snapshot, summed up; absent until its agent sends processes.
    pub processes: Option<LiveHostSummary>,
}

/// The `/api/ui/` routes.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/api/ui/hosts", Access::Read, get(hosts)),
        Route::post("/api/ui/processes/watch", Access::Read, post(watch)),
        Route::get("/api/ui/processes/snapshot", Access::Read, get(snapshot)),
        Route::intake(endpoints::HOST_METADATA, post(super::intake::host_metadata)),
    ]
}

/// Every known host with its staleness.
pub async fn host_views(state: &Arc<AppState>) -> Result<Vec<HostView>, ApiError> {
    let (records, user) = read_store(state, "hosts", |store| {
        Ok((store.hosts()?, store.user_host_tags(None)?))
    })
    .await?;
    let user = super::public::by_host(&user);
    let now = now_ms();
    let mut live: std::collections::HashMap<String, LiveHostSummary> = state
        .live
        .summaries(now)
        .into_iter()
        .map(|s| (s.hostname.clone(), s))
        .collect();
    Ok(records
        .into_iter()
        .map(|mut record| {
            let mine = user.get(record.hostname.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            let tags_by_source = super::public::tags_by_source(&record, mine);
            record.tags = super::public::all_tags(&record, mine);
            HostView {
                tags_by_source,
                stale: now - record.last_seen_ms > STALE_AFTER_MS,
                processes: live.remove(&record.hostname),
                record,
            }
        })
        .collect())
}

/// `GET /api/ui/hosts`: `{"hosts": [...]}`.
async fn hosts(State(state): State<Arc<AppState>>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(serde_json::json!({ "hosts": host_views(&state).await? })))
}

/// The body of `POST /api/ui/processes/watch`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchRequest {
    /// The hosts to watch; absent means every host.
    pub hosts: Option<Vec<String>>,
}

/// `POST /api/ui/processes/watch`: someone is looking at live processes, so the agents of
/// these hosts (or of all hosts) switch to real-time collection for the next 30 minutes.
/// The UI repeats it while its page is open. An empty body watches every host.
async fn watch(State(state): State<Arc<AppState>>, body: Bytes) -> Result<Json<serde_json::Value>, ApiError> {
    let request: WatchRequest = if body.iter().all(u8::is_ascii_whitespace) {
        WatchRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("invalid watch request: {e}")))?
    };
    let until = state.live.watch(request.hosts.as_deref(), std::time::Instant::now());
    let lease_ms = until.saturating_duration_since(std::time::Instant::now()).as_millis() as i64;
    Ok(Json(serde_json::json!({ "watching_until_ms": now_ms() + lease_ms })))
}

/// The query of `GET /api/ui/processes/snapshot`.
#[derive(Debug, Deserialize)]
pub struct SnapshotQuery {
    /// The host whose snapshot to return.
    pub host: String,
}

/// `GET /api/ui/processes/snapshot?host=NAME`: the host's latest complete process run as
/// its agent sent it (host description, run, and every process record); 404 if its agent
/// has sent none.
async fn snapshot(
    State(state): State<Arc<AppState>>,
    Query(query): Query<SnapshotQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let snapshot = state.live.snapshot(&query.host).ok_or_else(|| {
        ApiError::not_found(format!(
            "no process snapshot for host {:?}: its agent has not sent processes yet",
            query.host
        ))
    })?;
    let body = serde_json::to_vec(&*snapshot).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response())
}
