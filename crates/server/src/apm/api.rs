//! The APM query API: services with RED metrics from APM stats, a service's resources, chart
//! series, span search (the UI's and Datadog's public `/api/v2/spans/events`) and traces by id.
//! docs/api.md documents the shapes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use dogwatch_search::Query;
use dogwatch_store::{SpanCursor, SpanRow, SpanScan, StatsQuery, StatsRow};
use serde_json::{Value, json};

use super::search::{SpanMatcher, narrow_scan};
use super::sketch::MergedSketch;
use crate::AppState;
use crate::http::error::ApiError;
use crate::http::params::Params;
use crate::http::read_store;
use crate::http::{Access, Route};
use crate::now_ms;

/// The window when `from` is not given: 15 minutes.
pub(super) const DEFAULT_WINDOW_MS: i64 = 15 * 60 * 1000;
/// Spans one search request reads from the store at most before it answers with a cursor.
pub(super) const MAX_SCANNED: usize = 200_000;
/// Rows read from the store per batch while searching.
pub(super) const SCAN_BATCH: usize = 2_000;
/// The most points a series has.
const MAX_POINTS: i64 = 120;

/// The APM routes.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/api/ui/apm/services", Access::Read, get(services)),
        Route::get("/api/ui/apm/services/{service}", Access::Read, get(service)),
        Route::get("/api/ui/apm/series", Access::Read, get(series)),
        Route::get("/api/ui/apm/spans", Access::Read, get(ui_spans)),
        Route::get("/api/ui/apm/traces/{trace_id}", Access::Read, get(trace)),
        Route::get("/api/v2/spans/events", Access::Read, get(spans_events)),
    ]
}

/// A `[from, to)` window in ms, from `from`/`to` (or Datadog's `filter[from]`/`filter[to]`).
fn window(params: &Params, from_name: &str, to_name: &str) -> Result<(i64, i64), ApiError> {
    let now = now_ms();
    let time = |name: &str, default: i64| -> Result<i64, ApiError> {
        match params.text(name).filter(|t| !t.is_empty()) {
            None => Ok(default),
            Some(text) => dogwatch_model::time::parse_time_ms(text, now)
                .map_err(|e| ApiError::bad_request(format!("`{name}`: {e}"))),
        }
    };
    let to = time(to_name, now)?;
    let from = time(from_name, to - DEFAULT_WINDOW_MS)?;
    if from >= to {
        return Err(ApiError::bad_request(format!(
            "`{from_name}` ({from}) must be before `{to_name}` ({to})"
        )));
    }
    Ok((from, to))
}

pub(super) fn ms_to_ns(ms: i64) -> i64 {
    ms.saturating_mul(1_000_000)
}

/// RED metrics of a set of stats rows: service entry (top-level) traffic only.
#[derive(Default)]
struct Red {
    hits: u64,
    errors: u64,
    duration: u64,
    sketch: MergedSketch,
    types: HashMap<String, u64>,
    name: String,
}

impl Red {
    fn add(&mut self, row: &StatsRow) {
        if row.top_level_hits == 0 {
            return;
        }
        self.hits += row.top_level_hits;
        self.errors += row.errors;
        self.duration += row.duration;
        self.sketch.add_encoded(&row.ok_summary);
        self.sketch.add_encoded(&row.error_summary);
        *self.types.entry(row.kind.clone()).or_default() += row.top_level_hits;
        if self.name.is_empty() {
            self.name = row.name.clone();
        }
    }

    /// p50, p95 and p99 in whole ns; None when nothing was counted.
    fn percentiles(&self) -> [Option<f64>; 3] {
        [0.5, 0.95, 0.99].map(|q| self.sketch.quantile(q).map(|v| v.round()))
    }

    fn json(&self, seconds: f64) -> Value {
        let kind = self
            .types
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(k, _)| k.clone())
            .unwrap_or_default();
        let [p50, p95, p99] = self.percentiles();
        json!({
            "type": kind,
            "hits": self.hits,
            "errors": self.errors,
            "error_rate": if self.hits == 0 { 0.0 } else { self.errors as f64 / self.hits as f64 },
            "avg": if self.hits == 0 { None } else { Some((self.duration as f64 / self.hits as f64).round()) },
            "p50": p50,
            "p95": p95,
            "p99": p99,
            "hits_per_s": self.hits as f64 / seconds.max(1.0),
        })
    }
}

/// The top-level operations of one service (Datadog's primary and secondary operations):
/// RED metrics per operation name, from stats rows that counted top-level spans.
#[derive(Default)]
struct Operations {
    by_name: BTreeMap<String, Red>,
}

impl Operations {
    fn add(&mut self, row: &StatsRow) {
        if row.top_level_hits > 0 {
            self.by_name.entry(row.name.clone()).or_default().add(row);
        }
    }

    /// The primary operation: the top-level operation name with the most hits (on a tie,
    /// the first by name), as Datadog's backend picks a service's entry point.
    fn primary(&self) -> Option<&str> {
        self.by_name
            .iter()
            .max_by(|(a_name, a), (b_name, b)| a.hits.cmp(&b.hits).then_with(|| b_name.cmp(a_name)))
            .map(|(name, _)| name.as_str())
    }

    /// The operation a request asks for (`wanted`, when given), else the primary one.
    fn chosen(&self, wanted: Option<&str>) -> Option<String> {
        wanted.map(String::from).or_else(|| self.primary().map(String::from))
    }

    /// The operations by hits (most first), each `{name, hits, errors, primary}`.
    fn list(&self) -> Vec<Value> {
        let primary = self.primary();
        let mut list: Vec<(&String, &Red)> = self.by_name.iter().collect();
        list.sort_by(|a, b| b.1.hits.cmp(&a.1.hits).then_with(|| a.0.cmp(b.0)));
        list.into_iter()
            .map(|(name, red)| {
                json!({
                    "name": name,
                    "hits": red.hits,
                    "errors": red.errors,
                    "primary": Some(name.as_str()) == primary,
                })
            })
            .collect()
    }
}

/// The `operation` parameter, when given and not empty.
fn operation_param(params: &Params) -> Option<String> {
    params.text("operation").filter(|o| !o.is_empty()).map(String::from)
}

/// Each service's `_dd.base_service`: the tag on the newest span of the service in the window
/// (a tracer sets it on integration spans, such as `requests` or `sqlite`, whose service is
/// not the application's). Services whose spans lack it are left out.
async fn base_services(
    state: &AppState,
    services: Vec<String>,
    from: i64,
    to: i64,
) -> Result<HashMap<String, String>, ApiError> {
    read_store(state, "spans", move |store| {
        let mut found = HashMap::new();
        for service in services {
            let scan = SpanScan {
                from_ns: ms_to_ns(from),
                to_ns: ms_to_ns(to),
                service: Some(service.clone()),
                limit: 1,
                ..Default::default()
            };
            if let Some((_, span)) = store.scan_spans(&scan)?.into_iter().next()
                && let Some(base) = span
                    .meta
                    .get("_dd.base_service")
                    .filter(|b| !b.is_empty() && **b != service)
            {
                found.insert(service, base.clone());
            }
        }
        Ok(found)
    })
    .await
}

fn stats_query(params: &Params, from: i64, to: i64, service: Option<String>) -> StatsQuery {
    StatsQuery {
        from_ns: ms_to_ns(from),
        to_ns: ms_to_ns(to),
        service,
        env: params.text("env").filter(|e| !e.is_empty()).map(str::to_lowercase),
        resource: params.text("resource").filter(|r| !r.is_empty()).map(String::from),
    }
}

/// `GET /api/ui/apm/services?from&to&env&operation`: each service's RED metrics of its
/// primary operation (or of `operation`, leaving out services without it), its operations
/// and its `_dd.base_service`.
async fn services(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let (from, to) = window(&params, "from", "to")?;
    let query = StatsQuery {
        env: None,
        ..stats_query(&params, from, to, None)
    };
    let rows = read_store(&state, "APM stats", move |store| store.apm_stats(&query)).await?;
    let env_filter = params.text("env").filter(|e| !e.is_empty()).map(str::to_lowercase);
    let wanted = operation_param(&params);
    let mut envs: Vec<String> = rows.iter().map(|r| r.env.clone()).filter(|e| !e.is_empty()).collect();
    envs.sort();
    envs.dedup();
    let mut by_service: BTreeMap<(String, String), Operations> = BTreeMap::new();
    for row in rows.iter().filter(|r| env_filter.as_ref().is_none_or(|e| &r.env == e)) {
        by_service
            .entry((row.service.clone(), row.env.clone()))
            .or_default()
            .add(row);
    }
    let mut names: Vec<String> = by_service.keys().map(|(service, _)| service.clone()).collect();
    names.dedup();
    let bases = base_services(&state, names, from, to).await?;
    let seconds = (to - from) as f64 / 1000.0;
    let mut list: Vec<Value> = by_service
        .iter()
        .filter_map(|((service, env), ops)| {
            let operation = ops.chosen(wanted.as_deref())?;
            let red = ops.by_name.get(&operation).filter(|red| red.hits > 0)?;
            let mut row = red.json(seconds);
            row["service"] = json!(service);
            row["env"] = json!(env);
            row["operation"] = json!(operation);
            row["operations"] = json!(ops.list());
            row["base_service"] = json!(bases.get(service));
            Some(row)
        })
        .collect();
    list.sort_by(|a, b| b["hits"].as_u64().cmp(&a["hits"].as_u64()));
    Ok(Json(
        json!({ "from_ms": from, "to_ms": to, "envs": envs, "services": list }),
    ))
}

/// `GET /api/ui/apm/services/{service}?from&to&env&operation`: the summary and resources of
/// the service's primary operation (or of `operation`), and its operations.
async fn service(
    State(state): State<Arc<AppState>>,
    Path(service): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let (from, to) = window(&params, "from", "to")?;
    let query = StatsQuery {
        resource: None,
        ..stats_query(&params, from, to, Some(service.clone()))
    };
    let rows = read_store(&state, "APM stats", move |store| store.apm_stats(&query)).await?;
    let mut ops = Operations::default();
    for row in &rows {
        ops.add(row);
    }
    let operation = ops.chosen(operation_param(&params).as_deref());
    let mut summary = Red::default();
    let mut by_resource: BTreeMap<String, Red> = BTreeMap::new();
    for row in rows.iter().filter(|r| Some(&r.name) == operation.as_ref()) {
        summary.add(row);
        by_resource.entry(row.resource.clone()).or_default().add(row);
    }
    if ops.by_name.is_empty() && !has_spans(&state, &service, from, to).await? {
        return Err(ApiError::not_found(format!(
            "no traffic of service {service:?} between {} and {}",
            dogwatch_model::time::iso8601_ms(from),
            dogwatch_model::time::iso8601_ms(to)
        )));
    }
    let seconds = (to - from) as f64 / 1000.0;
    let mut resources: Vec<Value> = by_resource
        .iter()
        .filter(|(_, red)| red.hits > 0)
        .map(|(resource, red)| {
            let mut row = red.json(seconds);
            row["resource"] = json!(resource);
            row["name"] = json!(red.name);
            row["total_duration"] = json!(red.duration);
            row
        })
        .collect();
    resources.sort_by(|a, b| b["hits"].as_u64().cmp(&a["hits"].as_u64()));
    let mut summary_json = summary.json(seconds);
    summary_json["service"] = json!(service);
    summary_json["env"] = json!(params.text("env").unwrap_or("").to_lowercase());
    let operations: Vec<Value> = ops
        .list()
        .into_iter()
        .map(|mut row| {
            let name = row["name"].as_str().unwrap_or_default().to_string();
            if let Some(red) = ops.by_name.get(&name) {
                let mut full = red.json(seconds);
                full["name"] = json!(name);
                full["primary"] = row["primary"].take();
                row = full;
            }
            row
        })
        .collect();
    let base_service = base_services(&state, vec![service.clone()], from, to)
        .await?
        .remove(&service);
    Ok(Json(json!({
        "service": service,
        "from_ms": from,
        "to_ms": to,
        "operation": operation,
        "operations": operations,
        "base_service": base_service,
        "summary": summary_json,
        "resources": resources,
    })))
}

/// Whether any span of `service` started in the window (stats lag spans by up to 20 s).
async fn has_spans(state: &AppState, service: &str, from: i64, to: i64) -> Result<bool, ApiError> {
    let scan = SpanScan {
        from_ns: ms_to_ns(from),
        to_ns: ms_to_ns(to),
        service: Some(service.to_string()),
        limit: 1,
        ..Default::default()
    };
    let found = read_store(state, "spans", move |store| store.scan_spans(&scan)).await?;
    Ok(!found.is_empty())
}

/// `GET /api/ui/apm/series?service&operation&resource&env&from&to&step`: hits, errors and
/// latency percentiles per step, of the service's primary operation (or of `operation`).
async fn series(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let (from, to) = window(&params, "from", "to")?;
    let service = params
        .text("service")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request("`service` is required"))?
        .to_string();
    let span = to - from;
    let default_step_s = ((span / MAX_POINTS / 1000 + 9) / 10 * 10).max(10);
    let step_s: i64 = params.number("step", default_step_s, Some(86_400))?;
    if step_s < 10 {
        return Err(ApiError::bad_request(
            "`step` must be at least 10 seconds (the stats bucket)",
        ));
    }
    let step_ms = step_s * 1000;
    if span / step_ms > 10_000 {
        return Err(ApiError::bad_request(format!(
            "`step` of {step_s}s gives more than 10000 points over this window; use a larger step"
        )));
    }
    let query = stats_query(&params, from, to, Some(service));
    let rows = read_store(&state, "APM stats", move |store| store.apm_stats(&query)).await?;
    let first = from.div_euclid(step_ms) * step_ms;
    let count = ((to - first) + step_ms - 1) / step_ms;
    let mut ops = Operations::default();
    for row in &rows {
        ops.add(row);
    }
    let operation = ops.chosen(operation_param(&params).as_deref());
    let mut steps: Vec<Red> = (0..count).map(|_| Red::default()).collect();
    for row in rows.iter().filter(|r| Some(&r.name) == operation.as_ref()) {
        let at = (row.bucket_start / 1_000_000 - first).div_euclid(step_ms);
        if let Some(red) = usize::try_from(at).ok().and_then(|i| steps.get_mut(i)) {
            red.add(row);
        }
    }
    let points: Vec<Value> = steps
        .iter()
        .enumerate()
        .map(|(i, red)| {
            let [p50, p95, p99] = red.percentiles();
            json!({
                "t_ms": first + i as i64 * step_ms,
                "hits": red.hits,
                "errors": red.errors,
                "p50": p50,
                "p95": p95,
                "p99": p99,
            })
        })
        .collect();
    Ok(Json(
        json!({ "step_ms": step_ms, "operation": operation, "points": points }),
    ))
}

/// A span in the UI's shape (docs/api.md): ids as decimal strings, start as a string of ns.
pub fn span_json(span: &SpanRow) -> Value {
    json!({
        "trace_id": span.trace_id.to_string(),
        "trace_id_128": format!("{:016x}{:016x}", span.trace_id_high, span.trace_id),
        "span_id": span.span_id.to_string(),
        "parent_id": span.parent_id.to_string(),
        "service": span.service,
        "name": span.name,
        "resource": span.resource,
        "type": span.kind,
        "host": span.host,
        "env": span.env,
        "version": span.version,
        "start": span.start.to_string(),
        "start_ms": span.start as f64 / 1e6,
        "duration": span.duration,
        "error": i32::from(span.error),
        "top_level": span.top_level,
        "measured": span.measured,
        "meta": span.meta,
        "metrics": span.metrics,
    })
}

/// One page of a span search.
pub(super) struct SearchPage {
    pub(super) spans: Vec<SpanRow>,
    pub(super) next: Option<SpanCursor>,
}

/// Parses a search query; `name` is the parameter, for the error.
fn parse_query(params: &Params, name: &str) -> Result<Query, ApiError> {
    match params.text(name).map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(Query::All),
        Some(text) => dogwatch_search::parse(text).map_err(|e| ApiError::bad_query(name, &e)),
    }
}

pub(super) fn parse_cursor(text: Option<&str>, name: &str) -> Result<Option<SpanCursor>, ApiError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let bad = || ApiError::bad_request(format!("`{name}` {text:?} is not a cursor this API returned"));
    let (start, row) = text.split_once('_').ok_or_else(bad)?;
    Ok(Some(SpanCursor {
        start: start.parse().map_err(|_| bad())?,
        row: row.parse().map_err(|_| bad())?,
    }))
}

pub(super) fn cursor_text(cursor: SpanCursor) -> String {
    format!("{}_{}", cursor.start, cursor.row)
}

/// Reads spans newest first (oldest first when the scan says so), matching `query`, until `limit` match or the window is exhausted
/// (or [`MAX_SCANNED`] were read, when the answer carries a cursor to go on).
pub(super) async fn search(
    state: &AppState,
    query: Query,
    mut scan: SpanScan,
    limit: usize,
) -> Result<SearchPage, ApiError> {
    narrow_scan(&query, &mut scan);
    scan.limit = SCAN_BATCH;
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut spans = Vec::new();
        let mut scanned = 0usize;
        loop {
            let batch = store
                .scan_spans(&scan)
                .map_err(|e| ApiError::internal(format!("cannot read spans: {e}")))?;
            let exhausted = batch.len() < scan.limit;
            for (cursor, span) in batch {
                scanned += 1;
                scan.before = Some(cursor);
                if query.matches(&SpanMatcher, &span) {
                    spans.push(span);
                    if spans.len() == limit {
                        return Ok(SearchPage {
                            spans,
                            next: scan.before,
                        });
                    }
                }
            }
            if exhausted {
                return Ok(SearchPage { spans, next: None });
            }
            if scanned >= MAX_SCANNED {
                return Ok(SearchPage {
                    spans,
                    next: scan.before,
                });
            }
        }
    })
    .await
    .map_err(|e| ApiError::internal(format!("the span search failed: {e}")))?
}

/// `GET /api/ui/apm/spans?query&from&to&limit&cursor&entry`.
async fn ui_spans(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let (from, to) = window(&params, "from", "to")?;
    let query = parse_query(&params, "query")?;
    let limit: usize = params.number("limit", 50, Some(1000))?;
    let scan = SpanScan {
        from_ns: ms_to_ns(from),
        to_ns: ms_to_ns(to),
        before: parse_cursor(params.text("cursor"), "cursor")?,
        top_level_only: matches!(params.text("entry"), Some("1" | "true")),
        ..Default::default()
    };
    let page = search(&state, query, scan, limit.max(1)).await?;
    Ok(Json(json!({
        "spans": page.spans.iter().map(span_json).collect::<Vec<_>>(),
        "next_cursor": page.next.map(cursor_text),
    })))
}

/// `GET /api/v2/spans/events`: Datadog's public span list.
async fn spans_events(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let (from, to) = window(&params, "filter[from]", "filter[to]")?;
    let query = parse_query(&params, "filter[query]")?;
    let limit: usize = params.number("page[limit]", 10, Some(1000))?;
    let oldest_first = match params.text("sort") {
        None | Some("-timestamp") => false,
        Some("timestamp") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`sort` {other:?} must be -timestamp (newest first) or timestamp (oldest first)"
            )));
        }
    };
    let scan = SpanScan {
        from_ns: ms_to_ns(from),
        to_ns: ms_to_ns(to),
        before: parse_cursor(params.text("page[cursor]"), "page[cursor]")?,
        oldest_first,
        ..Default::default()
    };
    let page = search(&state, query, scan, limit.max(1)).await?;
    let data: Vec<Value> = page.spans.iter().map(datadog_span).collect();
    let mut answer = json!({ "data": data, "meta": { "status": "done", "page": {} }, "links": {} });
    if let Some(next) = page.next {
        answer["meta"]["page"]["after"] = json!(cursor_text(next));
        let mut link = format!(
            "/api/v2/spans/events?page[cursor]={}&page[limit]={limit}",
            cursor_text(next)
        );
        for name in ["filter[query]", "filter[from]", "filter[to]", "sort"] {
            if let Some(v) = params.text(name) {
                link.push_str(&format!(
                    "&{}",
                    serde_urlencoded::to_string([(name, v)]).unwrap_or_default()
                ));
            }
        }
        answer["links"]["next"] = json!(crate::http::absolute_url(&state, &headers, &link));
    }
    Ok(Json(answer))
}

/// A span in the shape of Datadog's `SpansAttributes`.
pub(super) fn datadog_span(span: &SpanRow) -> Value {
    let mut attributes: serde_json::Map<String, Value> = span.meta.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    for (k, v) in &span.metrics {
        attributes.insert(k.clone(), json!(v));
    }
    attributes.insert("operation_name".into(), json!(span.name));
    attributes.insert("duration".into(), json!(span.duration));
    let mut tags = vec![format!("service:{}", span.service)];
    for (key, value) in [("env", &span.env), ("version", &span.version), ("host", &span.host)] {
        if !value.is_empty() {
            tags.push(format!("{key}:{value}"));
        }
    }
    let iso = |ns: i64| dogwatch_model::time::iso8601_ms(ns.div_euclid(1_000_000));
    json!({
        "id": span.span_id.to_string(),
        "type": "spans",
        "attributes": {
            "attributes": attributes,
            "custom": { "duration": span.duration, "error": i32::from(span.error) },
            "start_timestamp": iso(span.start),
            "end_timestamp": iso(span.start.saturating_add(span.duration)),
            "env": span.env,
            "host": span.host,
            "parent_id": span.parent_id.to_string(),
            "resource_name": span.resource,
            "service": span.service,
            "single_span": false,
            "span_id": span.span_id.to_string(),
            "tags": tags,
            "trace_id": span.trace_id.to_string(),
            "type": span.kind,
        }
    })
}

/// A trace id from the path: decimal (the low 64 bits) or 32 hex digits.
fn parse_trace_id(text: &str) -> Result<u64, ApiError> {
    if text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return u64::from_str_radix(&text[16..], 16).map_err(|_| ApiError::bad_request("bad trace id"));
    }
    text.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "{text:?} is not a trace id: use the decimal id (x-datadog-trace-id) or 32 hex digits"
        ))
    })
}

/// `GET /api/ui/apm/traces/{trace_id}`: every stored span of a trace, with a summary.
async fn trace(State(state): State<Arc<AppState>>, Path(text): Path<String>) -> Result<Json<Value>, ApiError> {
    let trace_id = parse_trace_id(&text)?;
    let spans = read_store(&state, "the trace", move |store| store.trace_spans(trace_id)).await?;
    if spans.is_empty() {
        return Err(ApiError::not_found(format!(
            "no span of trace {text} is stored (yet: spans arrive a few seconds after a request ends)"
        )));
    }
    let start = spans.iter().map(|s| s.start).min().unwrap_or(0);
    let end = spans
        .iter()
        .map(|s| s.start.saturating_add(s.duration))
        .max()
        .unwrap_or(start);
    let ids: std::collections::HashSet<u64> = spans.iter().map(|s| s.span_id).collect();
    let root = spans
        .iter()
        .find(|s| s.parent_id == 0)
        .or_else(|| spans.iter().find(|s| !ids.contains(&s.parent_id)))
        .unwrap_or(&spans[0]);
    let high = spans.iter().map(|s| s.trace_id_high).max().unwrap_or(0);
    // Self time per span: its duration less its direct children's.
    let mut children_time: HashMap<u64, i64> = HashMap::new();
    for span in &spans {
        if span.parent_id != 0 {
            *children_time.entry(span.parent_id).or_default() += span.duration;
        }
    }
    let mut services: BTreeMap<&str, (u64, u64, i64)> = BTreeMap::new();
    for span in &spans {
        let entry = services.entry(&span.service).or_default();
        entry.0 += 1;
        entry.1 += u64::from(span.error);
        entry.2 += (span.duration - children_time.get(&span.span_id).copied().unwrap_or(0)).max(0);
    }
    let mut hosts: Vec<&str> = spans
        .iter()
        .map(|s| s.host.as_str())
        .filter(|h| !h.is_empty())
        .collect();
    hosts.sort();
    hosts.dedup();
    Ok(Json(json!({
        "trace_id": trace_id.to_string(),
        "trace_id_128": format!("{high:016x}{trace_id:016x}"),
        "start": start.to_string(),
        "start_ms": start as f64 / 1e6,
        "duration": end - start,
        "root_span_id": root.span_id.to_string(),
        "span_count": spans.len(),
        "errors": spans.iter().filter(|s| s.error).count(),
        "services": services.iter().map(|(service, (n, errors, time))| json!({
            "service": service, "spans": n, "errors": errors, "duration": time,
        })).collect::<Vec<_>>(),
        "hosts": hosts,
        "spans": spans.iter().map(|span| {
            // Tracers put `_dd.p.tid` on the first span of a chunk only: every span gets the trace's.
            let mut json = span_json(span);
            json["trace_id_128"] = json!(format!("{high:016x}{trace_id:016x}"));
            json
        }).collect::<Vec<_>>(),
    })))
}
