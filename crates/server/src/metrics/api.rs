//! The metric, event and service check read routes: Datadog's `/api/v1/query`,
//! `/api/v1/metrics`, `/api/v1/search`, `/api/v2/metrics/{name}/all-tags`, `/api/v1/events`,
//! and the UI's `/api/ui/metrics*` and `/api/ui/service_checks`. docs/api.md documents them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, post};
use dogwatch_store::{EventQuery, MetricNameQuery, StoredEvent};
use serde_json::{Value, json};

use super::query;
use crate::AppState;
use crate::http::error::ApiError;
use crate::http::params::Params;
use crate::http::read_store;
use crate::http::{Access, Route};
use crate::now_ms;
use dogwatch_model::endpoints;

/// The longest window `/api/v1/query` reads.
const MAX_QUERY_RANGE_S: i64 = 31 * 86_400;
/// Values listed per tag key in `/api/ui/metrics/{name}`.
const MAX_TAG_VALUES: usize = 100;

/// The metric, event and service check routes.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/api/v1/query", Access::Read, get(query_route)),
        Route::get("/api/v1/metrics", Access::Read, get(active_metrics)),
        Route::get("/api/v1/search", Access::Read, get(search)),
        Route::get("/api/v2/metrics/{metric}/all-tags", Access::Read, get(all_tags)),
        Route::get("/api/ui/metrics", Access::Read, get(ui_metrics)),
        Route::get("/api/ui/metrics/{metric}", Access::Read, get(ui_metric)),
        Route::get("/api/v1/events", Access::Read, get(events)),
        Route::get("/api/v1/events/{id}", Access::Read, get(event)),
        Route::get("/api/ui/service_checks", Access::Read, get(service_checks)),
        Route::intake(endpoints::SERIES_V1, post(super::intake::series)),
        Route::intake(endpoints::SERIES_V2, post(super::intake::series_v2)),
        Route::intake(endpoints::CHECK_RUN_V1, post(super::intake::check_run)),
        Route::intake(endpoints::SKETCHES, post(super::intake::sketches)),
        Route::intake(endpoints::EVENTS_V1, post(super::intake::events)),
    ]
}

/// A time parameter in Unix seconds: a whole number below 10^11 is seconds (Datadog's v1
/// APIs), anything else what `parse_time_ms` reads (epoch ms, ISO 8601, `now-1h`).
fn time_s(params: &Params, name: &str, default: Option<i64>) -> Result<i64, ApiError> {
    let Some(text) = params.text(name).map(str::trim).filter(|t| !t.is_empty()) else {
        return default.ok_or_else(|| ApiError::bad_request(format!("`{name}` is required (Unix seconds)")));
    };
    if let Ok(n) = text.parse::<i64>()
        && n.abs() < 100_000_000_000
    {
        return Ok(n);
    }
    dogwatch_model::time::parse_time_ms(text, now_ms())
        .map(|ms| ms.div_euclid(1000))
        .map_err(|e| ApiError::bad_request(format!("`{name}`: {e}")))
}

/// `GET /api/v1/query?from=&to=&query=`.
async fn query_route(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let from = time_s(&params, "from", None)?;
    let to = time_s(&params, "to", None)?;
    let text = params
        .text("query")
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("`query` is required, e.g. avg:system.load.1{*}"))?
        .to_string();
    if from >= to {
        return Err(ApiError::bad_request(format!(
            "`from` ({from}) must be before `to` ({to})"
        )));
    }
    if to - from > MAX_QUERY_RANGE_S {
        return Err(ApiError::bad_request("the range from `from` to `to` is over 31 days"));
    }
    let queries = dogwatch_search::parse_metric_queries(&text)
        .map_err(|e| with_error_status(ApiError::bad_query("query", &e)))?;
    let store = state.store.clone();
    let series = tokio::task::spawn_blocking(move || query::evaluate(store.as_ref(), &queries, from, to))
        .await
        .map_err(|e| ApiError::internal(format!("the store task failed: {e}")))?
        .map_err(|e| match e {
            query::QueryError::Invalid(error) => with_error_status(ApiError::bad_query("query", &error)),
            query::QueryError::Store(error) => ApiError::internal(format!("cannot read metrics: {error}")),
        })?;
    let group_by: Vec<String> = series.group_by.clone();
    Ok(Json(json!({
        "status": "ok",
        "res_type": "time_series",
        "resp_version": 1,
        "query": text,
        "from_date": from * 1000,
        "to_date": to * 1000,
        "group_by": group_by,
        "message": "",
        "values": [],
        "times": [],
        "series": series.series,
    })))
}

/// Adds Datadog's `"status": "error"` to a query error's body.
fn with_error_status(mut error: ApiError) -> ApiError {
    error
        .detail
        .get_or_insert_with(Default::default)
        .insert("status".into(), json!("error"));
    error
}

/// `GET /api/v1/metrics?from=`: metrics with a point since `from`.
async fn active_metrics(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let from = time_s(&params, "from", None)?;
    let query = MetricNameQuery {
        since: Some(from),
        host: params.text("host").filter(|h| !h.is_empty()).map(str::to_string),
        limit: 100_000,
        ..Default::default()
    };
    let names = read_store(&state, "metric names", move |s| s.metric_names(&query)).await?;
    let names: Vec<String> = names.into_iter().map(|m| m.name).collect();
    Ok(Json(json!({ "metrics": names, "from": from.to_string() })))
}

/// `GET /api/v1/search?q=metrics:<text>`.
async fn search(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let q = params.text("q").unwrap_or_default();
    let (kind, text) = q.split_once(':').unwrap_or(("metrics", q));
    if kind != "metrics" && kind != "hosts" {
        return Err(ApiError::bad_request("`q` must be `metrics:<text>` or `hosts:<text>`"));
    }
    let mut metrics = Vec::new();
    let mut hosts = Vec::new();
    let contains = (!text.is_empty()).then(|| text.to_string());
    if kind == "metrics" {
        let query = MetricNameQuery {
            contains,
            limit: 1000,
            ..Default::default()
        };
        metrics = read_store(&state, "metric names", move |s| s.metric_names(&query)).await?;
    } else {
        let all = read_store(&state, "hosts", |s| s.hosts()).await?;
        hosts = all
            .into_iter()
            .map(|h| h.hostname)
            .filter(|h| contains.as_ref().is_none_or(|c| h.contains(c.as_str())))
            .collect();
    }
    let metrics: Vec<String> = metrics.into_iter().map(|m| m.name).collect();
    Ok(Json(json!({ "results": { "metrics": metrics, "hosts": hosts } })))
}

/// Every `key:value` tag of a metric's contexts (hosts as `host:<name>`), or 404.
async fn metric_tags(
    state: &Arc<AppState>,
    metric: String,
) -> Result<(Vec<dogwatch_store::MetricContext>, BTreeSet<String>), ApiError> {
    let name = metric.clone();
    let contexts = read_store(state, "metric contexts", move |s| s.metric_contexts(&name)).await?;
    if contexts.is_empty() {
        return Err(ApiError::not_found(format!(
            "no metric named {metric:?} has been received"
        )));
    }
    let mut tags = BTreeSet::new();
    for c in &contexts {
        if !c.host.is_empty() {
            tags.insert(format!("host:{}", c.host));
        }
        tags.extend(c.tags.iter().cloned());
    }
    Ok((contexts, tags))
}

/// `GET /api/v2/metrics/{metric}/all-tags`.
async fn all_tags(State(state): State<Arc<AppState>>, Path(metric): Path<String>) -> Result<Json<Value>, ApiError> {
    let (_, tags) = metric_tags(&state, metric.clone()).await?;
    Ok(Json(
        json!({ "data": { "type": "metrics", "id": metric, "attributes": { "tags": tags, "ingested_tags": tags } } }),
    ))
}

/// `GET /api/ui/metrics?q=&limit=`.
async fn ui_metrics(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let limit = params.number("limit", 100usize, Some(1000))?;
    let query = MetricNameQuery {
        contains: params
            .text("q")
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_string),
        limit: limit + 1,
        ..Default::default()
    };
    let mut metrics = read_store(&state, "metric names", move |s| s.metric_names(&query)).await?;
    let more = metrics.len() > limit;
    metrics.truncate(limit);
    Ok(Json(
        json!({ "metrics": metrics, "total": metrics.len(), "more": more }),
    ))
}

/// `GET /api/ui/metrics/{metric}`: kind, contexts and tag values by key.
async fn ui_metric(State(state): State<Arc<AppState>>, Path(metric): Path<String>) -> Result<Json<Value>, ApiError> {
    let (contexts, tags) = metric_tags(&state, metric.clone()).await?;
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for tag in &tags {
        let (key, value) = tag.split_once(':').unwrap_or((tag, ""));
        let values = by_key.entry(key).or_default();
        if values.len() < MAX_TAG_VALUES {
            values.push(value);
        }
    }
    let newest = contexts
        .iter()
        .max_by_key(|c| c.last_ts)
        .expect("metric_tags returns contexts");
    let metadata = super::metadata::metadata_of(&state, &metric).await?;
    Ok(Json(json!({
        "metadata": metadata,
        "name": metric,
        "type": newest.kind,
        "contexts": contexts.len(),
        "last_seen": newest.last_ts,
        "tags": by_key,
    })))
}

/// Whether `tags` hold every filter of a comma-separated `tags` parameter (`*` wildcards).
fn has_tags(tags: &[String], filters: &[String]) -> bool {
    filters
        .iter()
        .all(|f| tags.iter().any(|t| dogwatch_search::wildcard_match(f, t, false)))
}

/// An event as the event routes answer it: with its `url`, and `null` for absent fields.
pub(super) fn event_json(e: &StoredEvent) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    v["url"] = json!(format!("/events?id={}", e.id));
    for key in ["host", "aggregation_key", "source_type_name"] {
        if v.get(key).is_none() {
            v[key] = Value::Null;
        }
    }
    v
}

/// `GET /api/v1/events?start=&end=`.
async fn events(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let start = time_s(&params, "start", None)?;
    let end = time_s(&params, "end", None)?;
    let limit = params.number("limit", 100usize, Some(1000))?;
    let filters: Vec<String> = params.list("tags").unwrap_or_default();
    let priority = params.text("priority").filter(|p| !p.is_empty()).map(str::to_string);
    if let Some(p) = &priority
        && p != "normal"
        && p != "low"
    {
        return Err(ApiError::bad_request("`priority` must be `normal` or `low`"));
    }
    let query = EventQuery {
        start,
        end,
        priority,
        sources: params.list("sources").unwrap_or_default(),
        text: params
            .text("q")
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_string),
        limit: if filters.is_empty() {
            limit
        } else {
            limit.saturating_mul(20).max(10_000)
        },
    };
    let found = read_store(&state, "events", move |s| s.events(&query)).await?;
    let events: Vec<Value> = found
        .iter()
        .filter(|e| has_tags(&e.event.tags, &filters))
        .take(limit)
        .map(event_json)
        .collect();
    Ok(Json(json!({ "events": events })))
}

/// `GET /api/v1/events/{id}`.
async fn event(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("event id {id:?} is not a number")))?;
    match read_store(&state, "events", move |s| s.event(id)).await? {
        Some(e) => Ok(Json(json!({ "event": event_json(&e) }))),
        None => Err(ApiError::not_found(format!("no event has id {id}"))),
    }
}

/// `GET /api/ui/service_checks?q=&status=&tags=&window=`.
async fn service_checks(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let window = params.number("window", 3600i64, Some(MAX_QUERY_RANGE_S))?;
    let status = match params.text("status").map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => None,
        Some("ok") => Some(0u8),
        Some("warning") => Some(1),
        Some("critical") => Some(2),
        Some("unknown") => Some(3),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`status` {other:?} must be ok, warning, critical or unknown"
            )));
        }
    };
    let text = params
        .text("q")
        .map(|q| q.trim().to_lowercase())
        .filter(|q| !q.is_empty());
    let filters: Vec<String> = params.list("tags").unwrap_or_default();
    let since = now_ms() / 1000 - window;
    let mut found = read_store(&state, "service checks", move |s| s.check_summaries(since)).await?;
    found.retain(|c| {
        text.as_ref()
            .is_none_or(|t| c.run.check.to_lowercase().contains(t.as_str()))
            && has_tags(&c.run.tags, &filters)
    });
    let mut totals = [0u64; 4];
    for c in &found {
        totals[usize::from(u8::from(c.run.status))] += 1;
    }
    found.retain(|c| status.is_none_or(|s| u8::from(c.run.status) == s));
    // Worst first: CRITICAL, WARNING, UNKNOWN, OK; then by name and host.
    let rank = |s: u8| [3, 1, 0, 2][usize::from(s)];
    found.sort_by(|a, b| {
        (rank(a.run.status.into()), &a.run.check, &a.run.host_name).cmp(&(
            rank(b.run.status.into()),
            &b.run.check,
            &b.run.host_name,
        ))
    });
    let counts = |c: [u64; 4]| json!({ "ok": c[0], "warning": c[1], "critical": c[2], "unknown": c[3] });
    let checks: Vec<Value> = found
        .iter()
        .map(|c| {
            json!({
                "check": c.run.check,
                "host": c.run.host_name,
                "status": u8::from(c.run.status),
                "status_name": c.run.status.name(),
                "message": c.run.message,
                "tags": c.run.tags,
                "timestamp": c.run.timestamp,
                "counts": counts(c.counts),
            })
        })
        .collect();
    Ok(Json(json!({ "checks": checks, "totals": counts(totals) })))
}
