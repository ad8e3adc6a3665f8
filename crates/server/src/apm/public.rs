//! Datadog's public span POSTs: `POST /api/v2/spans/events/search` (the span list, with the
//! query and paging in a JSON:API body) and `POST /api/v2/spans/analytics/aggregate` (count,
//! percentiles, sums... of a measure over matching spans, grouped by facets), both over the
//! stored spans with the span search of [`super::search`]. docs/api.md documents the shapes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use bytes::Bytes;
use dogwatch_search::Query;
use dogwatch_store::{SpanRow, SpanScan};
use serde_json::{Map, Value, json};

use super::api::{
    DEFAULT_WINDOW_MS, MAX_SCANNED, SCAN_BATCH, cursor_text, datadog_span, ms_to_ns, parse_cursor, search,
};
use super::search::{SpanMatcher, facet_text, measure, narrow_scan};
use crate::AppState;
use crate::http::error::ApiError;
use crate::http::{Access, Route};
use crate::now_ms;

/// Groups one facet of an aggregation returns when `limit` is not given (Datadog's default).
const DEFAULT_GROUP_LIMIT: usize = 10;
/// The most groups one facet returns.
const MAX_GROUP_LIMIT: usize = 10_000;

/// The span POST routes.
pub fn routes() -> Vec<Route> {
    vec![
        Route::post("/api/v2/spans/events/search", Access::Read, post(search_spans)),
        Route::post("/api/v2/spans/analytics/aggregate", Access::Read, post(aggregate_spans)),
    ]
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
}

/// `data.attributes` of a JSON:API request body whose `data.type` must be `kind`.
fn attributes(body: &[u8], kind: &str) -> Result<Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    let data = value
        .get("data")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("`data` is required: {\"data\": {\"type\": ..., \"attributes\": {...}}}"))?;
    match data.get("type") {
        None => {}
        Some(Value::String(t)) if t == kind => {}
        Some(other) => return Err(bad(format!("`data.type` must be {kind:?}, got {other}"))),
    }
    match data.get("attributes") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(a)) => Ok(a.clone()),
        Some(_) => Err(bad("`data.attributes` must be an object")),
    }
}

fn text<'a>(object: &'a Map<String, Value>, key: &str, path: &str) -> Result<Option<&'a str>, ApiError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(bad(format!("`{path}` must be a string"))),
    }
}

/// The query and `[from, to)` window in ms of `attributes.filter`.
fn filter(attributes: &Map<String, Value>) -> Result<(Query, i64, i64), ApiError> {
    let empty = Map::new();
    let filter = match attributes.get("filter") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(f)) => f,
        Some(_) => return Err(bad("`data.attributes.filter` must be an object")),
    };
    let now = now_ms();
    let time = |key: &str, default: i64| -> Result<i64, ApiError> {
        let path = format!("data.attributes.filter.{key}");
        match text(filter, key, &path)?.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(default),
            Some(t) => dogwatch_model::time::parse_time_ms(t, now).map_err(|e| bad(format!("`{path}`: {e}"))),
        }
    };
    let to = time("to", now)?;
    let from = time("from", to - DEFAULT_WINDOW_MS)?;
    if from >= to {
        return Err(bad(format!(
            "`data.attributes.filter.from` ({from}) must be before `data.attributes.filter.to` ({to})"
        )));
    }
    let query = match text(filter, "query", "data.attributes.filter.query")?
        .map(str::trim)
        .filter(|q| !q.is_empty() && *q != "*")
    {
        None => Query::All,
        Some(q) => dogwatch_search::parse(q).map_err(|e| ApiError::bad_query("data.attributes.filter.query", &e))?,
    };
    Ok((query, from, to))
}

/// `POST /api/v2/spans/events/search`: Datadog's `SpansListRequest` → `SpansListResponse`.
async fn search_spans(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let attributes = attributes(&body, "search_request")?;
    let (query, from, to) = filter(&attributes)?;
    let oldest_first = match text(&attributes, "sort", "data.attributes.sort")? {
        None | Some("-timestamp") => false,
        Some("timestamp") => true,
        Some(other) => {
            return Err(bad(format!(
                "`data.attributes.sort` {other:?} must be -timestamp (newest first) or timestamp (oldest first)"
            )));
        }
    };
    let empty = Map::new();
    let page = match attributes.get("page") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(p)) => p,
        Some(_) => return Err(bad("`data.attributes.page` must be an object")),
    };
    let limit = match page.get("limit") {
        None | Some(Value::Null) => 10,
        Some(v) => v
            .as_u64()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| bad("`data.attributes.page.limit` must be a whole number from 1 to 1000"))?
            as usize,
    };
    let cursor = text(page, "cursor", "data.attributes.page.cursor")?;
    let scan = SpanScan {
        from_ns: ms_to_ns(from),
        to_ns: ms_to_ns(to),
        before: parse_cursor(cursor, "data.attributes.page.cursor")?,
        oldest_first,
        ..Default::default()
    };
    let found = search(&state, query, scan, limit).await?;
    let data: Vec<Value> = found.spans.iter().map(datadog_span).collect();
    let mut answer = json!({ "data": data, "meta": { "status": "done", "page": {} }, "links": {} });
    if let Some(next) = found.next {
        let after = cursor_text(next);
        answer["meta"]["page"]["after"] = json!(after);
        // The same search as Datadog links it: its GET form, as an absolute URL.
        let filter = attributes.get("filter").and_then(Value::as_object);
        let mut pairs = vec![
            ("page[cursor]".to_string(), after),
            ("page[limit]".to_string(), limit.to_string()),
        ];
        for key in ["query", "from", "to"] {
            if let Some(v) = filter.and_then(|f| f.get(key)).and_then(Value::as_str) {
                pairs.push((format!("filter[{key}]"), v.to_string()));
            }
        }
        if oldest_first {
            pairs.push(("sort".to_string(), "timestamp".to_string()));
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        answer["links"]["next"] = json!(crate::http::absolute_url(
            &state,
            &headers,
            &format!("/api/v2/spans/events?{query}")
        ));
    }
    Ok(Json(answer))
}

/// One `compute` of an aggregation.
#[derive(Debug, Clone)]
struct Compute {
    aggregation: String,
    metric: Option<String>,
    /// For `type: timeseries`, the bucket width in ms.
    interval_ms: Option<i64>,
}

/// One `group_by` of an aggregation.
#[derive(Debug, Clone)]
struct GroupBy {
    facet: String,
    limit: usize,
    missing: Option<Value>,
    /// Alphabetical by the facet's value instead of by a compute.
    alphabetical: bool,
    /// The compute to order by (its index).
    by_compute: usize,
    descending: bool,
}

const AGGREGATIONS: &[&str] = &[
    "count",
    "cardinality",
    "pc75",
    "pc90",
    "pc95",
    "pc98",
    "pc99",
    "sum",
    "min",
    "max",
    "avg",
    "median",
];

/// Datadog's `interval` of a timeseries compute: `30s`, `5m`, `1h`, `1d`, or whole ms.
fn interval_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: i64 = number.parse().ok()?;
    let ms = match unit {
        "" | "ms" => n,
        "s" => n.checked_mul(1000)?,
        "m" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        "d" => n.checked_mul(86_400_000)?,
        _ => return None,
    };
    (ms >= 1000).then_some(ms)
}

fn computes(attributes: &Map<String, Value>, from: i64, to: i64) -> Result<Vec<Compute>, ApiError> {
    let list = match attributes.get("compute") {
        None | Some(Value::Null) => {
            return Ok(vec![Compute {
                aggregation: "count".into(),
                metric: None,
                interval_ms: None,
            }]);
        }
        Some(Value::Array(list)) => list,
        Some(_) => return Err(bad("`data.attributes.compute` must be a list")),
    };
    let mut out = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let path = format!("data.attributes.compute[{i}]");
        let c = c
            .as_object()
            .ok_or_else(|| bad(format!("`{path}` must be an object")))?;
        let aggregation = text(c, "aggregation", &format!("{path}.aggregation"))?
            .ok_or_else(|| bad(format!("`{path}.aggregation` is required")))?;
        if !AGGREGATIONS.contains(&aggregation) {
            return Err(bad(format!(
                "`{path}.aggregation` {aggregation:?} must be one of {}",
                AGGREGATIONS.join(", ")
            )));
        }
        let interval_ms = match text(c, "type", &format!("{path}.type"))? {
            None | Some("total") => None,
            Some("timeseries") => Some(match text(c, "interval", &format!("{path}.interval"))? {
                // Datadog's default: about 150 points over the window.
                None => ((to - from) / 150).max(1000),
                Some(t) => {
                    let ms = interval_ms(t).ok_or_else(|| {
                        bad(format!(
                            "`{path}.interval` {t:?} must be a duration of at least 1s, e.g. 30s, 5m, 1h"
                        ))
                    })?;
                    if (to - from) / ms > 10_000 {
                        return Err(bad(format!(
                            "`{path}.interval` {t:?} gives more than 10000 points over the window"
                        )));
                    }
                    ms
                }
            }),
            Some(other) => {
                return Err(bad(format!("`{path}.type` {other:?} must be total or timeseries")));
            }
        };
        let metric = text(c, "metric", &format!("{path}.metric"))?.map(str::to_string);
        if metric.is_none() && aggregation != "count" {
            return Err(bad(format!(
                "`{path}.metric` is required for {aggregation}, e.g. @duration"
            )));
        }
        out.push(Compute {
            aggregation: aggregation.to_string(),
            metric,
            interval_ms,
        });
    }
    if out.is_empty() {
        return Err(bad("`data.attributes.compute` is empty"));
    }
    Ok(out)
}

fn group_bys(attributes: &Map<String, Value>, computes: &[Compute]) -> Result<Vec<GroupBy>, ApiError> {
    let list = match attributes.get("group_by") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(bad("`data.attributes.group_by` must be a list")),
    };
    let mut out = Vec::new();
    for (i, g) in list.iter().enumerate() {
        let path = format!("data.attributes.group_by[{i}]");
        let g = g
            .as_object()
            .ok_or_else(|| bad(format!("`{path}` must be an object")))?;
        let facet = text(g, "facet", &format!("{path}.facet"))?
            .filter(|f| !f.trim().is_empty())
            .ok_or_else(|| bad(format!("`{path}.facet` is required, e.g. service")))?
            .trim()
            .to_string();
        if g.get("histogram").is_some_and(|h| !h.is_null()) {
            return Err(bad(format!("`{path}.histogram` is not supported")));
        }
        if g.get("total").is_some_and(|t| !t.is_null() && *t != json!(false)) {
            return Err(bad(format!("`{path}.total` is not supported")));
        }
        let limit = match g.get("limit") {
            None | Some(Value::Null) => DEFAULT_GROUP_LIMIT,
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=MAX_GROUP_LIMIT as u64).contains(n))
                .ok_or_else(|| {
                    bad(format!(
                        "`{path}.limit` must be a whole number from 1 to {MAX_GROUP_LIMIT}"
                    ))
                })? as usize,
        };
        let missing = match g.get("missing") {
            None | Some(Value::Null) => None,
            Some(v @ (Value::String(_) | Value::Number(_))) => Some(v.clone()),
            Some(_) => return Err(bad(format!("`{path}.missing` must be a string or a number"))),
        };
        let mut group = GroupBy {
            facet,
            limit,
            missing,
            alphabetical: false,
            by_compute: 0,
            descending: true,
        };
        match g.get("sort") {
            None | Some(Value::Null) => {}
            Some(Value::Object(sort)) => {
                let sort_path = format!("{path}.sort");
                match text(sort, "order", &format!("{sort_path}.order"))? {
                    None | Some("desc") => {}
                    Some("asc") => group.descending = false,
                    Some(other) => return Err(bad(format!("`{sort_path}.order` {other:?} must be asc or desc"))),
                }
                match text(sort, "type", &format!("{sort_path}.type"))? {
                    Some("alphabetical") => {
                        group.alphabetical = true;
                        if sort.get("order").is_none() {
                            group.descending = false;
                        }
                    }
                    None | Some("measure") => {
                        let aggregation = text(sort, "aggregation", &format!("{sort_path}.aggregation"))?;
                        let metric = text(sort, "metric", &format!("{sort_path}.metric"))?;
                        if let Some(aggregation) = aggregation {
                            group.by_compute = computes
                                .iter()
                                .position(|c| {
                                    c.aggregation == aggregation && (metric.is_none() || c.metric.as_deref() == metric)
                                })
                                .ok_or_else(|| {
                                    bad(format!(
                                        "`{sort_path}` sorts by {aggregation} {}, which is not among the computes",
                                        metric.unwrap_or("")
                                    ))
                                })?;
                        }
                    }
                    Some(other) => {
                        return Err(bad(format!(
                            "`{sort_path}.type` {other:?} must be alphabetical or measure"
                        )));
                    }
                }
            }
            Some(_) => return Err(bad(format!("`{path}.sort` must be an object"))),
        }
        out.push(group);
    }
    Ok(out)
}

/// What one group collects for one compute.
#[derive(Default)]
struct Acc {
    count: u64,
    values: Vec<f64>,
    distinct: HashSet<String>,
    /// For a timeseries compute: one accumulator per bucket start (ms).
    series: BTreeMap<i64, Acc>,
}

impl Acc {
    fn add(&mut self, compute: &Compute, span: &SpanRow) {
        if let Some(interval) = compute.interval_ms {
            let at = span.start.div_euclid(1_000_000).div_euclid(interval) * interval;
            let total = Compute {
                interval_ms: None,
                ..compute.clone()
            };
            self.series.entry(at).or_default().add(&total, span);
            return;
        }
        match (&compute.metric, compute.aggregation.as_str()) {
            (None, _) => self.count += 1,
            (Some(metric), "cardinality") => {
                if let Some(v) = facet_text(span, metric) {
                    self.distinct.insert(v);
                }
            }
            (Some(metric), "count") => {
                if facet_text(span, metric).is_some() {
                    self.count += 1;
                }
            }
            (Some(metric), _) => {
                if let Some(v) = measure(span, metric) {
                    self.values.push(v);
                }
            }
        }
    }

    /// The compute's answer: a number (or null), or for a timeseries `[{"time", "value"}]`.
    fn answer(&mut self, compute: &Compute) -> Value {
        if compute.interval_ms.is_none() {
            return self.value(&compute.aggregation);
        }
        let points: Vec<Value> = self
            .series
            .iter_mut()
            .map(|(at, acc)| json!({ "time": dogwatch_model::time::iso8601_ms(*at), "value": acc.value(&compute.aggregation) }))
            .collect();
        json!(points)
    }

    fn value(&mut self, aggregation: &str) -> Value {
        let values = &mut self.values;
        let percentile = |values: &mut Vec<f64>, q: f64| -> Value {
            if values.is_empty() {
                return Value::Null;
            }
            values.sort_by(f64::total_cmp);
            // Nearest rank.
            let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
            json!(values[rank - 1])
        };
        match aggregation {
            "count" => json!(self.count),
            "cardinality" => json!(self.distinct.len()),
            "sum" => json!(values.iter().sum::<f64>()),
            "min" => values
                .iter()
                .copied()
                .reduce(f64::min)
                .map_or(Value::Null, |v| json!(v)),
            "max" => values
                .iter()
                .copied()
                .reduce(f64::max)
                .map_or(Value::Null, |v| json!(v)),
            "avg" if values.is_empty() => Value::Null,
            "avg" => json!(values.iter().sum::<f64>() / values.len() as f64),
            "median" => percentile(values, 0.5),
            p => {
                let q = p.strip_prefix("pc").and_then(|n| n.parse::<f64>().ok()).unwrap_or(50.0) / 100.0;
                percentile(values, q)
            }
        }
    }
}

/// The value of one group key part: a facet's text, or `missing`, or none (the span is left out).
fn group_key(span: &SpanRow, group: &GroupBy) -> Option<Value> {
    match facet_text(span, &group.facet) {
        Some(v) => Some(json!(v)),
        None => group.missing.clone(),
    }
}

fn key_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `POST /api/v2/spans/analytics/aggregate`: Datadog's `SpansAggregateRequest` →
/// `SpansAggregateResponse`, one bucket per group (one bucket when nothing is grouped by).
async fn aggregate_spans(State(state): State<Arc<AppState>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let started = std::time::Instant::now();
    let attributes = attributes(&body, "aggregate_request")?;
    let (query, from, to) = filter(&attributes)?;
    let computes = computes(&attributes, from, to)?;
    let groups = group_bys(&attributes, &computes)?;
    let mut scan = SpanScan {
        from_ns: ms_to_ns(from),
        to_ns: ms_to_ns(to),
        limit: SCAN_BATCH,
        ..Default::default()
    };
    narrow_scan(&query, &mut scan);
    let store = state.store.clone();
    let task_computes = computes.clone();
    let (buckets, complete) = tokio::task::spawn_blocking(move || {
        let computes = task_computes;
        let mut buckets: HashMap<Vec<String>, (Vec<Value>, Vec<Acc>)> = HashMap::new();
        let mut scanned = 0usize;
        loop {
            let batch = store
                .scan_spans(&scan)
                .map_err(|e| ApiError::internal(format!("cannot read spans: {e}")))?;
            let exhausted = batch.len() < scan.limit;
            for (cursor, span) in batch {
                scanned += 1;
                scan.before = Some(cursor);
                if !query.matches(&SpanMatcher, &span) {
                    continue;
                }
                let Some(key) = groups
                    .iter()
                    .map(|g| group_key(&span, g))
                    .collect::<Option<Vec<Value>>>()
                else {
                    continue;
                };
                let texts: Vec<String> = key.iter().map(key_text).collect();
                let entry = buckets
                    .entry(texts)
                    .or_insert_with(|| (key, computes.iter().map(|_| Acc::default()).collect()));
                for (acc, compute) in entry.1.iter_mut().zip(&computes) {
                    acc.add(compute, &span);
                }
            }
            if exhausted {
                return Ok::<_, ApiError>((buckets, true));
            }
            if scanned >= MAX_SCANNED {
                return Ok((buckets, false));
            }
        }
    })
    .await
    .map_err(|e| ApiError::internal(format!("the span aggregation failed: {e}")))??;
    let groups = group_bys(&attributes, &computes)?;
    let mut rows: Vec<(Vec<Value>, Vec<Value>)> = buckets
        .into_values()
        .map(|(key, mut accs)| {
            let values = accs.iter_mut().zip(&computes).map(|(acc, c)| acc.answer(c)).collect();
            (key, values)
        })
        .collect();
    if groups.is_empty() && rows.is_empty() {
        let values = computes.iter().map(|c| Acc::default().answer(c)).collect();
        rows.push((Vec::new(), values));
    }
    // Order by the first facet's sort, then each later one, and keep each facet's top `limit`
    // values (Datadog limits per facet, the first facet first).
    let number = |v: &Value| v.as_f64().unwrap_or(f64::NEG_INFINITY);
    rows.sort_by(|a, b| {
        for (i, g) in groups.iter().enumerate() {
            let order = if g.alphabetical {
                key_text(&a.0[i]).cmp(&key_text(&b.0[i]))
            } else {
                number(&a.1[g.by_compute]).total_cmp(&number(&b.1[g.by_compute]))
            };
            let order = if g.descending { order.reverse() } else { order };
            if order.is_ne() {
                return order;
            }
        }
        a.0.iter().map(key_text).cmp(b.0.iter().map(key_text))
    });
    if let Some(first) = groups.first() {
        let mut kept: Vec<String> = Vec::new();
        rows.retain(|(key, _)| {
            let k = key_text(&key[0]);
            if kept.contains(&k) {
                return true;
            }
            if kept.len() < first.limit {
                kept.push(k);
                return true;
            }
            false
        });
    }
    let data: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, (key, values))| {
            let by: BTreeMap<&str, &Value> = groups.iter().map(|g| g.facet.as_str()).zip(key.iter()).collect();
            let computes: BTreeMap<String, &Value> =
                values.iter().enumerate().map(|(n, v)| (format!("c{n}"), v)).collect();
            json!({
                "id": format!("bucket-{i}"),
                "type": "bucket",
                "attributes": { "by": by, "compute": {}, "computes": computes },
            })
        })
        .collect();
    let mut meta = json!({
        "status": "done",
        "elapsed": started.elapsed().as_millis() as u64,
    });
    if !complete {
        meta["warnings"] = json!([{
            "code": "partial_results",
            "title": "Partial results",
            "detail": format!("only the newest {MAX_SCANNED} spans of the window were aggregated"),
        }]);
    }
    Ok(Json(json!({ "data": data, "meta": meta })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_and_empty_measures_are_null() {
        let mut acc = Acc {
            values: (1..=100).map(f64::from).collect(),
            ..Default::default()
        };
        assert_eq!(acc.value("pc75"), json!(75.0));
        assert_eq!(acc.value("pc99"), json!(99.0));
        assert_eq!(acc.value("median"), json!(50.0));
        assert_eq!(acc.value("avg"), json!(50.5));
        assert_eq!(Acc::default().value("avg"), Value::Null);
        assert_eq!(Acc::default().value("count"), json!(0));
    }
}
