//! Intake of series (`/api/v1/series`, and `/api/v2/series` in protobuf or JSON), service check runs (`/api/v1/check_run`), distribution
//! sketches (`/api/beta/sketches`) and events (`/api/v1/events`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use dogwatch_model::series_v2::{JsonMetricPayload, MetricPayload, MetricUnits};
use dogwatch_model::{CheckRun, Event, Series, SeriesPayload, SketchPayload};
use dogwatch_store::{Records, SketchSeries};
use prost::Message;
use serde_json::{Value, json};

use crate::AppState;
use crate::http::error::ApiError;
use crate::http::intake::{body_bytes, parse, store};
use crate::now_ms;

/// `POST /api/beta/sketches`: a `SketchPayload` protobuf; each point is stored as its encoded
/// `Dogsketch`. The keys of dogwatch's own agent (libdd-ddsketch's mapping) and of a stock
/// Datadog Agent (the Go agent's `pkg/quantile`) are the same bins, so both are stored as sent.
pub async fn sketches(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let payload = SketchPayload::decode(body_bytes(body)?)
        .map_err(|e| ApiError::bad_request(format!("invalid sketch payload (SketchPayload protobuf): {e}")))?;
    let mut series = Vec::with_capacity(payload.sketches.len());
    for (i, sketch) in payload.sketches.into_iter().enumerate() {
        if sketch.metric.trim().is_empty() {
            return Err(ApiError::bad_request(format!("sketches[{i}] has an empty metric name")));
        }
        if let Some(d) = sketch.dogsketches.iter().find(|d| d.k.len() != d.n.len()) {
            return Err(ApiError::bad_request(format!(
                "sketches[{i}] ({}) at {} has {} keys but {} counts",
                sketch.metric,
                d.ts,
                d.k.len(),
                d.n.len()
            )));
        }
        series.push(SketchSeries {
            points: sketch.dogsketches.iter().map(|d| (d.ts, d.encode_to_vec())).collect(),
            metric: sketch.metric,
            host: sketch.host,
            tags: sketch.tags,
        });
    }
    store(&state, &headers, Records::Sketches(series)).await
}

/// `POST /api/v1/events`: one event (Datadog's public API: the answer carries it with its id)
/// or an array of them (what the agent sends).
pub async fn events(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = body_bytes(body)?;
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let mut events: Vec<Event> = parse(&body, "events")?;
        for (i, event) in events.iter_mut().enumerate() {
            check_event(event).map_err(|e| ApiError::bad_request(format!("events[{i}]: {e}")))?;
        }
        return store(&state, &headers, Records::Events(events)).await;
    }
    let mut event: Event = parse(&body, "event")?;
    check_event(&mut event).map_err(ApiError::bad_request)?;
    let stored = crate::http::on_store(&state, move |store| store.add_event(&event, now_ms()))
        .await?
        .map_err(|e| ApiError::internal(format!("could not store the event: {e}")))?;
    let event = super::api::event_json(&stored);
    Ok((StatusCode::ACCEPTED, Json(json!({ "status": "ok", "event": event }))))
}

fn check_event(event: &mut Event) -> Result<(), String> {
    if event.title.trim().is_empty() {
        return Err("the event has an empty title".into());
    }
    event.truncate_to_limits();
    Ok(())
}

/// `POST /api/v1/series`: Datadog's v1 series JSON.
pub async fn series(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let series = v1_series(&body_bytes(body)?)?;
    store(&state, &headers, Records::Series(series)).await
}

/// Reads and checks a `/api/v1/series` body into the stored form.
pub fn v1_series(body: &[u8]) -> Result<Vec<Series>, ApiError> {
    let payload: SeriesPayload = parse(body, "series")?;
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
    Ok(payload.series)
}

/// `POST /api/v2/series`: a `MetricPayload` protobuf (Datadog Agent 7) or Datadog's v2 JSON
/// (its API clients), stored as v1 series are; answered 202 `{"errors": []}` as Datadog does.
/// A series' unit becomes its metric's metadata unit when none is set yet (once per metric per
/// payload; a unit set with `PUT /api/v1/metrics/{name}` is kept).
pub async fn series_v2(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let (series, units) = v2_series(content_type, &body_bytes(body)?)?;
    let (status, _) = store(&state, &headers, Records::Series(series)).await?;
    if !units.is_empty() {
        let now = now_ms();
        let set = crate::http::on_store(&state, move |store| store.set_metric_units_if_unset(&units, now)).await?;
        if let Err(e) = set {
            // The points are stored; a unit that could not be kept is not worth a retry.
            tracing::warn!(error = %e, "Cannot keep the units of a /api/v2/series payload.");
        }
    }
    Ok((status, Json(json!({ "errors": [] }))))
}

/// Reads and checks a `/api/v2/series` body into the stored form: JSON when `content_type`
/// says JSON (or, without one, when the body starts with `{`), else a `MetricPayload`
/// protobuf. Also gives `(metric, unit)` once per metric that names a unit; a unit that is not
/// a unit name (letters, digits, `_`, at most 64 bytes) is left out.
pub fn v2_series(content_type: Option<&str>, body: &[u8]) -> Result<(Vec<Series>, MetricUnits), ApiError> {
    let json = match content_type {
        Some(t) if t.contains("json") => true,
        Some(t) if t.contains("protobuf") => false,
        _ => body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'),
    };
    let payload = if json {
        MetricPayload::from(parse::<JsonMetricPayload>(body, "series")?)
    } else {
        MetricPayload::decode_protobuf(body).map_err(|e| ApiError::bad_request(e.to_string()))?
    };
    let (series, mut units) = payload
        .into_series_and_units()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    units.retain(|(_, unit)| unit.len() <= 64 && unit.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    Ok((series, units))
}

/// `POST /api/v1/check_run`: service check runs.
pub async fn check_run(
    State(state): State<Arc<AppState>>,
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
