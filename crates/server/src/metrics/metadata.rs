//! Metric metadata and volumes, as Datadog's public API has them: `GET/PUT
//! /api/v1/metrics/{metric_name}` (type, unit, per unit, description, short name, StatsD
//! interval; set by users, kept in the store, the type otherwise taken from what was received)
//! and `GET /api/v2/metrics/{metric_name}/volumes` (distinct contexts). docs/api.md documents
//! them.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::{get, put};
use bytes::Bytes;
use dogwatch_store::MetricMetadata;
use serde_json::{Value, json};

use crate::AppState;
use crate::http::error::ApiError;
use crate::http::{Access, Route, on_store, read_store};
use crate::now_ms;

/// The metric types `type` may name (Datadog's).
const TYPES: &[&str] = &["gauge", "rate", "count", "distribution", "set"];
/// The longest text field.
const MAX_TEXT: usize = 400;

/// The metadata and volume routes.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/api/v1/metrics/{metric}", Access::Read, get(get_metadata)),
        Route::put("/api/v1/metrics/{metric}", Access::Write, put(update_metadata)),
        Route::get("/api/v2/metrics/{metric}/volumes", Access::Read, get(volumes)),
    ]
}

/// A metric's metadata: what users set, with the type of what was received when none was set;
/// `None` when the metric was neither received nor given metadata.
pub async fn metadata_of(state: &AppState, metric: &str) -> Result<Option<MetricMetadata>, ApiError> {
    let name = metric.to_string();
    let (set, contexts) = read_store(state, "metric metadata", move |store| {
        Ok((store.metric_metadata(&name)?, store.metric_contexts(&name)?))
    })
    .await?;
    if set.is_none() && contexts.is_empty() {
        return Ok(None);
    }
    let received = contexts.iter().max_by_key(|c| c.last_ts).map(|c| MetricMetadata {
        kind: Some(c.kind.name().to_string()),
        statsd_interval: c.interval.and_then(|i| i64::try_from(i).ok()),
        ..Default::default()
    });
    Ok(Some(received.unwrap_or_default().merged(&set.unwrap_or_default())))
}

fn unknown(metric: &str) -> ApiError {
    ApiError::not_found(format!("no metric named {metric:?} has been received"))
}

/// `GET /api/v1/metrics/{metric_name}`: Datadog's `MetricMetadata`; unset fields are left out.
async fn get_metadata(State(state): State<Arc<AppState>>, Path(metric): Path<String>) -> Result<Json<Value>, ApiError> {
    let metadata = metadata_of(&state, &metric).await?.ok_or_else(|| unknown(&metric))?;
    Ok(Json(json!(metadata)))
}

/// Reads a `MetricMetadata` body, naming the field that is wrong.
fn parse_change(body: &[u8]) -> Result<MetricMetadata, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| ApiError::bad_request("the body must be a MetricMetadata object"))?;
    let mut change = MetricMetadata::default();
    for (key, v) in object {
        if key == "statsd_interval" {
            let n = v.as_i64().filter(|n| (1..=86_400).contains(n)).ok_or_else(|| {
                ApiError::bad_request("`statsd_interval` must be a whole number of seconds, 1 to 86400")
            })?;
            change.statsd_interval = Some(n);
            continue;
        }
        let slot = match key.as_str() {
            "type" => &mut change.kind,
            "description" => &mut change.description,
            "short_name" => &mut change.short_name,
            "unit" => &mut change.unit,
            "per_unit" => &mut change.per_unit,
            "integration" => {
                return Err(ApiError::bad_request("`integration` is read-only"));
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "`{other}` is not a metric metadata field (type, description, short_name, unit, per_unit, statsd_interval)"
                )));
            }
        };
        let text = v
            .as_str()
            .ok_or_else(|| ApiError::bad_request(format!("`{key}` must be a string")))?
            .trim();
        if text.len() > MAX_TEXT {
            return Err(ApiError::bad_request(format!(
                "`{key}` is longer than {MAX_TEXT} bytes"
            )));
        }
        *slot = Some(text.to_string());
    }
    if let Some(kind) = &change.kind
        && !TYPES.contains(&kind.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "`type` {kind:?} must be one of {}",
            TYPES.join(", ")
        )));
    }
    for (name, unit) in [("unit", &change.unit), ("per_unit", &change.per_unit)] {
        if let Some(unit) = unit
            && (unit.is_empty() || !unit.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return Err(ApiError::bad_request(format!(
                "`{name}` {unit:?} must be a unit name such as byte, second or request"
            )));
        }
    }
    Ok(change)
}

/// `PUT /api/v1/metrics/{metric_name}`: sets the fields given, keeps the rest; answers the
/// metadata as it now is.
async fn update_metadata(
    State(state): State<Arc<AppState>>,
    Path(metric): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let change = parse_change(&body)?;
    let name = metric.clone();
    let now = now_ms();
    let stored = on_store(&state, move |store| {
        if store.metric_metadata(&name)?.is_none() && store.metric_contexts(&name)?.is_empty() {
            return Ok(None);
        }
        let merged = store.metric_metadata(&name)?.unwrap_or_default().merged(&change);
        store.set_metric_metadata(&name, &merged, now)?;
        Ok(Some(()))
    })
    .await?
    .map_err(|e| ApiError::internal(format!("cannot store metric metadata: {e}")))?;
    stored.ok_or_else(|| unknown(&metric))?;
    let metadata = metadata_of(&state, &metric).await?.ok_or_else(|| unknown(&metric))?;
    Ok(Json(json!(metadata)))
}

/// `GET /api/v2/metrics/{metric_name}/volumes`: Datadog's `MetricDistinctVolume`, the number
/// of distinct contexts (host and tag sets) received.
async fn volumes(State(state): State<Arc<AppState>>, Path(metric): Path<String>) -> Result<Json<Value>, ApiError> {
    let name = metric.clone();
    let contexts = read_store(&state, "metric contexts", move |s| s.metric_contexts(&name)).await?;
    if contexts.is_empty() {
        return Err(unknown(&metric));
    }
    Ok(Json(json!({
        "data": {
            "id": metric,
            "type": "distinct_metric_volumes",
            "attributes": { "distinct_volume": contexts.len() },
        }
    })))
}
