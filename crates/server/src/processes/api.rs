//! The live process APIs: Datadog's public `GET /api/v2/processes`, and the UI's own list,
//! facets, groups, scatter and detail under `/api/ui/processes`.
//!
//! Every UI query reads the live state (hosts whose agents stopped sending are left out and
//! listed in `stale_hosts`) and renews the watch that keeps agents in real-time mode: the
//! hosts a query names with top-level `host:` filters, or every host.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use dogwatch_model::ProcessRecord;
use dogwatch_model::time::iso8601_ms;
use dogwatch_store::{ProcessKey, ProcessSampleQuery, SeenProcess, SeenProcessQuery};
use serde_json::{Value, json};

use crate::AppState;
use crate::http::error::ApiError;
use crate::http::params::Params;
use crate::http::read_store;
use crate::http::{Access, Route};
use crate::now_ms;
use crate::processes::fields::command_line;
use crate::processes::live::Snapshot;
use crate::processes::query::{Aggregation, GroupOrder, GroupRequest, ListRequest, ScatterRequest, Selection};
use crate::processes::{Field, LiveView, ProcessFilter};

/// Rows a list returns when `limit` is not given.
pub const DEFAULT_LIST_LIMIT: usize = 100;
/// The most rows (or groups, or dots) one request may ask for.
pub const MAX_LIMIT: usize = 10_000;
/// Datadog's default `page[limit]` for `/api/v2/processes`.
pub const DEFAULT_PAGE_LIMIT: usize = 1000;
/// The window of `/api/v2/processes` when neither `from` nor `to` is given: 15 minutes.
pub const DEFAULT_WINDOW_MS: i64 = 15 * 60 * 1000;
/// The history window of a process detail when none is given: one hour.
pub const DEFAULT_DETAIL_WINDOW_MS: i64 = 60 * 60 * 1000;
/// Points per history series at most, unless `points` says otherwise.
pub const DEFAULT_HISTORY_POINTS: usize = 360;

/// The process API routes; all read.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/api/v2/processes", Access::Read, get(list_v2)),
        Route::get("/api/ui/processes", Access::Read, get(list)),
        Route::get("/api/ui/processes/facets", Access::Read, get(facets)),
        Route::get("/api/ui/processes/groups", Access::Read, get(groups)),
        Route::get("/api/ui/processes/scatter", Access::Read, get(scatter)),
        Route::get("/api/ui/processes/detail", Access::Read, get(detail)),
    ]
}

/// What the process routes read from a query string beyond [`Params`]' generic values.
trait ProcessParams {
    /// The search query (`query`, or Datadog's `search`), parsed.
    fn filter(&self, name: &str) -> Result<ProcessFilter, ApiError>;
    /// A field parameter, checked by `allowed`.
    fn field(&self, name: &str, default: Field, allowed: fn(Field) -> bool, what: &str) -> Result<Field, ApiError>;
}

impl ProcessParams for Params {
    fn filter(&self, name: &str) -> Result<ProcessFilter, ApiError> {
        match self.text(name) {
            None => Ok(ProcessFilter::all()),
            Some(text) => ProcessFilter::parse(text).map_err(|e| ApiError::bad_query(name, &e)),
        }
    }

    fn field(&self, name: &str, default: Field, allowed: fn(Field) -> bool, what: &str) -> Result<Field, ApiError> {
        match self.text(name).filter(|t| !t.is_empty()) {
            None => Ok(default),
            Some(text) => parse_field(name, text, allowed, what),
        }
    }
}

fn parse_field(param: &str, text: &str, allowed: fn(Field) -> bool, what: &str) -> Result<Field, ApiError> {
    Field::from_name(text).filter(|f| allowed(*f)).ok_or_else(|| {
        ApiError::bad_request(format!(
            "unknown {what} {text:?} in `{param}`; allowed: {}",
            Field::names(allowed)
        ))
    })
}

fn parse_aggregation(param: &str, text: &str) -> Result<Aggregation, ApiError> {
    Aggregation::from_name(text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "unknown aggregation {text:?} in `{param}`; allowed: {}",
            Aggregation::NAMES
        ))
    })
}

/// Tag keys for group-by: at most 4, each a valid key.
fn group_keys(param: &str, keys: Vec<String>) -> Result<Vec<String>, ApiError> {
    if keys.len() > 4 {
        return Err(ApiError::bad_request(format!(
            "`{param}` names {} tag keys; group by at most 4",
            keys.len()
        )));
    }
    Ok(keys)
}

/// Renews the watch `filter` implies, then runs `work` over the processes it selects on the
/// fresh hosts, off the async threads (scanning 100,000 processes takes milliseconds).
/// Returns the answer's common fields (see [`view_meta`]) and what `work` made.
async fn live_query<T: Send + 'static>(
    state: &AppState,
    filter: ProcessFilter,
    work: impl FnOnce(Selection<'_>) -> T + Send + 'static,
) -> Result<(serde_json::Map<String, Value>, T), ApiError> {
    let until = watch(state, &filter);
    let view = LiveView::new(&state.live, now_ms());
    let (view, result) = tokio::task::spawn_blocking(move || {
        let result = work(view.select(&filter));
        (view, result)
    })
    .await
    .map_err(|e| ApiError::internal(format!("the query task failed: {e}")))?;
    Ok((view_meta(&view, until), result))
}

/// Renews the watch for the hosts `filter` names, or for every host.
fn watch(state: &AppState, filter: &ProcessFilter) -> i64 {
    // `host:` filters ignore case; the watch must name the hosts as their agents do.
    let hosts = filter.named_hosts().map(|names| {
        let known = state.live.hostnames();
        names
            .into_iter()
            .map(|name| {
                known
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(&name))
                    .cloned()
                    .unwrap_or(name)
            })
            .collect::<Vec<_>>()
    });
    let until = state.live.watch(hosts.as_deref(), Instant::now());
    now_ms() + until.saturating_duration_since(Instant::now()).as_millis() as i64
}

/// What every UI answer carries about the live state.
fn view_meta(view: &LiveView, watching_until_ms: i64) -> serde_json::Map<String, Value> {
    let mut meta = serde_json::Map::new();
    meta.insert("hosts".into(), json!(view.snapshots.len()));
    meta.insert("stale_hosts".into(), json!(view.stale));
    meta.insert("collected_at_ms".into(), json!(view.collected_at_ms()));
    meta.insert("watching_until_ms".into(), json!(watching_until_ms));
    meta
}

fn merge(mut meta: serde_json::Map<String, Value>, body: impl serde::Serialize) -> Result<Json<Value>, ApiError> {
    match serde_json::to_value(body).map_err(|e| ApiError::internal(e.to_string()))? {
        Value::Object(fields) => meta.extend(fields),
        other => {
            meta.insert("result".into(), other);
        }
    }
    Ok(Json(Value::Object(meta)))
}

/// `GET /api/ui/processes?query=&sort=cpu&order=desc&limit=100&offset=0&columns=host,pid,...`
async fn list(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let filter = params.filter("query")?;
    let sort = params.field("sort", Field::Cpu, Field::is_sortable, "sort field")?;
    let order = params.text("order").unwrap_or("desc");
    let descending = match order {
        "desc" | "" => true,
        "asc" => false,
        other => return Err(ApiError::bad_request(format!("`order` is {other:?}; use asc or desc"))),
    };
    let columns = match params.list("columns") {
        None => Field::DEFAULT_COLUMNS.to_vec(),
        Some(names) => names
            .iter()
            .map(|n| parse_field("columns", n, |_| true, "column"))
            .collect::<Result<_, _>>()?,
    };
    let request = ListRequest {
        sort,
        descending,
        offset: params.number("offset", 0usize, None)?,
        limit: params.number("limit", DEFAULT_LIST_LIMIT, Some(MAX_LIMIT))?,
        columns,
    };
    let (offset, limit) = (request.offset, request.limit);
    let (mut meta, page) = live_query(&state, filter, move |selection| selection.list(&request)).await?;
    meta.insert("offset".into(), json!(offset));
    meta.insert("limit".into(), json!(limit));
    merge(meta, page)
}

/// `GET /api/ui/processes/facets?query=&keys=user,command&limit=10`
async fn facets(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let filter = params.filter("query")?;
    let keys = params.list("keys").filter(|k| !k.is_empty());
    let limit = params.number("limit", 10usize, Some(1000))?;
    let (meta, body) = live_query(
        &state,
        filter,
        move |selection| json!({ "total": selection.total(), "facets": selection.facets(keys.as_deref(), limit) }),
    )
    .await?;
    merge(meta, body)
}

/// `GET /api/ui/processes/groups?query=&by=command,user&metrics=cpu,rss&sort=count|avg:cpu&limit=100`
async fn groups(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let filter = params.filter("query")?;
    let by = group_keys("by", params.list("by").unwrap_or_default())?;
    if by.is_empty() {
        return Err(ApiError::bad_request(
            "`by` is required: the tag keys to group by, comma-separated (e.g. by=command,user)",
        ));
    }
    let metrics = match params.list("metrics") {
        None => vec![Field::Cpu, Field::Rss],
        Some(names) => names
            .iter()
            .map(|n| parse_field("metrics", n, Field::is_metric, "metric"))
            .collect::<Result<_, _>>()?,
    };
    let order = match params.text("sort").filter(|s| !s.is_empty() && *s != "count") {
        None => GroupOrder::Count,
        Some(text) => {
            let (aggregation, metric) = text.split_once(':').ok_or_else(|| {
                ApiError::bad_request(format!(
                    "`sort` is {text:?}; use count or AGGREGATION:METRIC such as avg:cpu or sum:rss"
                ))
            })?;
            GroupOrder::Metric(
                parse_field("sort", metric, Field::is_metric, "metric")?,
                parse_aggregation("sort", aggregation)?,
            )
        }
    };
    let request = GroupRequest {
        by,
        metrics,
        order,
        limit: params.number("limit", DEFAULT_LIST_LIMIT, Some(MAX_LIMIT))?,
    };
    let (meta, groups) = live_query(&state, filter, move |selection| selection.group_by(&request)).await?;
    merge(meta, groups)
}

/// `GET /api/ui/processes/scatter?query=&x=cpu&y=rss&agg=avg&by=command&limit=1000`
async fn scatter(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let filter = params.filter("query")?;
    let by = match params.list("by") {
        None => vec!["command".to_owned()],
        Some(keys) if keys == ["none"] => Vec::new(),
        Some(keys) => group_keys("by", keys)?,
    };
    let request = ScatterRequest {
        x: params.field("x", Field::Cpu, Field::is_metric, "metric")?,
        y: params.field("y", Field::Rss, Field::is_metric, "metric")?,
        aggregation: match params.text("agg").filter(|a| !a.is_empty()) {
            None => Aggregation::Avg,
            Some(a) => parse_aggregation("agg", a)?,
        },
        by,
        limit: params.number("limit", 1000usize, Some(MAX_LIMIT))?,
    };
    let (x, y, by) = (request.x.name(), request.y.name(), request.by.clone());
    let (mut meta, scatter) = live_query(&state, filter, move |selection| selection.scatter(&request)).await?;
    meta.insert("x".into(), json!(x));
    meta.insert("y".into(), json!(y));
    meta.insert("by".into(), json!(by));
    merge(meta, scatter)
}

/// A process as a detail answer shows it: the record, its host and joined command line.
fn process_json(host: &str, p: &ProcessRecord) -> Value {
    let mut value = serde_json::to_value(p).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut value {
        fields.insert("host".into(), json!(host));
        fields.insert("command".into(), json!(command_line(p)));
    }
    value
}

/// A parent or child in a detail answer.
fn summary_json(p: &ProcessRecord) -> Value {
    json!({
        "pid": p.pid,
        "ppid": p.ppid,
        "user": p.user,
        "name": p.name,
        "command": command_line(p),
        "create_time_ms": p.create_time_ms,
        "cpu_total_pct": p.cpu_total_pct,
        "rss": p.rss,
    })
}

/// `GET /api/ui/processes/detail?host=H&pid=N[&start=MS][&from=MS&to=MS][&points=360]`: one
/// process — live if it still runs, else its last record from history — with its parent,
/// children and sample history for charts.
async fn detail(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let host = params
        .text("host")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| ApiError::bad_request("`host` is required"))?
        .to_owned();
    let pid: i32 = params.number("pid", -1, None)?;
    if pid < 0 {
        return Err(ApiError::bad_request("`pid` is required"));
    }
    let start: Option<i64> = match params.text("start").filter(|s| !s.is_empty()) {
        None => None,
        Some(_) => Some(params.number("start", 0i64, None)?),
    };
    let now = now_ms();
    let to_ms = params.number("to", now, None)?;
    let from_ms = params.number("from", to_ms - DEFAULT_DETAIL_WINDOW_MS, None)?;
    if from_ms > to_ms {
        return Err(ApiError::bad_request(format!(
            "`from` ({from_ms}) is after `to` ({to_ms})"
        )));
    }
    let points = params.number("points", DEFAULT_HISTORY_POINTS, Some(MAX_LIMIT))?;

    state.live.watch(Some(std::slice::from_ref(&host)), Instant::now());
    // A stale host's last run is not "now": its processes come from history.
    let snapshot = state.live.snapshot(&host).filter(|s| !s.is_stale(now));
    let live = snapshot.as_ref().and_then(|s| {
        s.processes
            .iter()
            .position(|p| p.pid == pid && start.is_none_or(|t| t == p.create_time_ms))
            .map(|i| (s.clone(), i))
    });
    let (record, live_at, first_seen, last_seen) = match &live {
        Some((s, i)) => (s.processes[*i].clone(), Some(s.collected_at_ms), None, None),
        None => {
            let query = SeenProcessQuery {
                from_ms: 0,
                to_ms: i64::MAX,
                host: Some(host.clone()),
                pid: Some(pid),
                limit: None,
            };
            let lives: Vec<SeenProcess> =
                read_store(&state, "process history", move |store| store.seen_processes(&query)).await?;
            let life = lives
                .into_iter()
                .filter(|l| start.is_none_or(|t| t == l.key.create_time_ms))
                .max_by_key(|l| l.last_seen_ms)
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "no process {pid} on host {host:?}{}: it is not running now and has no history",
                        start.map(|t| format!(" started at {t}")).unwrap_or_default()
                    ))
                })?;
            (life.record, None, Some(life.first_seen_ms), Some(life.last_seen_ms))
        }
    };
    let (parent, children) = match &snapshot {
        Some(s) => family(s, &record),
        None => (Value::Null, Vec::new()),
    };
    let key = ProcessKey {
        host: host.clone(),
        pid,
        create_time_ms: record.create_time_ms,
    };
    let query = ProcessSampleQuery {
        key,
        from_ms,
        to_ms,
        max_points: Some(points),
    };
    let samples = read_store(&state, "process history", move |store| store.process_samples(&query)).await?;
    Ok(Json(json!({
        "process": process_json(&host, &record),
        "live": live_at.is_some(),
        "collected_at_ms": live_at,
        "first_seen_ms": first_seen,
        "last_seen_ms": last_seen,
        "parent": parent,
        "children": children,
        "history": { "from_ms": from_ms, "to_ms": to_ms, "samples": samples },
    })))
}

/// The parent and children of `record` in `snapshot`.
fn family(snapshot: &Snapshot, record: &ProcessRecord) -> (Value, Vec<Value>) {
    let parent = snapshot
        .processes
        .iter()
        .find(|p| p.pid == record.ppid && record.ppid != record.pid)
        .map_or(Value::Null, summary_json);
    let mut children: Vec<&ProcessRecord> = snapshot
        .processes
        .iter()
        .filter(|p| p.ppid == record.pid && p.pid != record.pid)
        .collect();
    children.sort_by_key(|p| p.pid);
    (parent, children.into_iter().map(summary_json).collect())
}

/// One process of a `/api/v2/processes` answer, before it is shaped.
struct Found {
    host: String,
    record: ProcessRecord,
    seen_ms: i64,
}

fn cursor_key(host: &str, pid: i32, start: i64) -> String {
    let plain = format!("{host}\u{0}{pid}\u{0}{start}");
    plain.bytes().map(|b| format!("{b:02x}")).collect()
}

fn parse_cursor(cursor: &str) -> Result<(String, i32, i64), ApiError> {
    let bad = || ApiError::bad_request(format!("`page[cursor]` {cursor:?} is not a cursor this server gave"));
    if !cursor.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes: Vec<u8> = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2).ok_or_else(bad)?, 16).map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.split('\u{0}');
    let (Some(host), Some(pid), Some(start), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    Ok((
        host.to_owned(),
        pid.parse().map_err(|_| bad())?,
        start.parse().map_err(|_| bad())?,
    ))
}

/// `GET /api/v2/processes?search=&tags=a:b,c:d&from=&to=&page[limit]=&page[cursor]=`:
/// Datadog's public process list. Processes seen in the window (default the last 15
/// minutes): those running now on fresh hosts and, from history, those that ran in it.
/// Ordered by host, pid and start; `meta.page.after` is the cursor to the next page.
async fn list_v2(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let tags = params.list("tags").unwrap_or_default();
    let filter = params.filter("search")?.and_tags(tags.iter().map(String::as_str));
    let now = now_ms();
    let seconds = |name: &str| -> Result<Option<i64>, ApiError> {
        match params.text(name).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(_) => Ok(Some(params.number(name, 0i64, None)?.saturating_mul(1000))),
        }
    };
    let (from_ms, to_ms) = match (seconds("from")?, seconds("to")?) {
        (None, None) => (now - DEFAULT_WINDOW_MS, now),
        (Some(from), None) => (from, from + DEFAULT_WINDOW_MS),
        (None, Some(to)) => (to - DEFAULT_WINDOW_MS, to),
        (Some(from), Some(to)) => (from, to),
    };
    if from_ms > to_ms {
        return Err(ApiError::bad_request("`from` is after `to`"));
    }
    let limit = params.number("page[limit]", DEFAULT_PAGE_LIMIT, Some(MAX_LIMIT))?;
    if limit == 0 {
        return Err(ApiError::bad_request("`page[limit]` must be at least 1"));
    }
    let after = params
        .text("page[cursor]")
        .filter(|c| !c.is_empty())
        .map(parse_cursor)
        .transpose()?;

    let view = LiveView::new(&state.live, now);
    let mut found: Vec<Found> = Vec::new();
    let mut live_keys = std::collections::HashSet::new();
    for snapshot in &view.snapshots {
        if snapshot.received_at_ms < from_ms || snapshot.received_at_ms > to_ms {
            continue;
        }
        // A running process is reported as it is now, never from an older recorded run.
        for p in &snapshot.processes {
            live_keys.insert((snapshot.host.hostname.clone(), p.pid, p.create_time_ms));
        }
        for i in filter.select(snapshot) {
            let p = &snapshot.processes[i as usize];
            found.push(Found {
                host: snapshot.host.hostname.clone(),
                record: p.clone(),
                seen_ms: snapshot.received_at_ms,
            });
        }
    }
    let query = SeenProcessQuery {
        from_ms,
        to_ms,
        host: None,
        pid: None,
        limit: None,
    };
    let history = read_store(&state, "process history", move |store| store.seen_processes(&query)).await?;
    let past: Vec<Found> = history
        .into_iter()
        .filter(|l| !live_keys.contains(&(l.key.host.clone(), l.key.pid, l.key.create_time_ms)))
        .map(|l| Found {
            host: l.key.host,
            record: l.record,
            seen_ms: l.last_seen_ms.min(to_ms),
        })
        .collect();
    if !past.is_empty() {
        let snapshots: Vec<Arc<Snapshot>> = group_as_snapshots(past);
        for s in &snapshots {
            for i in filter.select(s) {
                let p = &s.processes[i as usize];
                found.push(Found {
                    host: s.host.hostname.clone(),
                    record: p.clone(),
                    seen_ms: s.collected_at_ms,
                });
            }
        }
    }
    found.sort_by(|a, b| {
        (&a.host, a.record.pid, a.record.create_time_ms).cmp(&(&b.host, b.record.pid, b.record.create_time_ms))
    });
    if let Some((host, pid, start)) = &after {
        let cut = found.partition_point(|f| (&f.host, f.record.pid, f.record.create_time_ms) <= (host, *pid, *start));
        found.drain(..cut);
    }
    let more = found.len() > limit;
    found.truncate(limit);
    let after = if more {
        found
            .last()
            .map(|f| cursor_key(&f.host, f.record.pid, f.record.create_time_ms))
    } else {
        None
    };
    let data: Vec<Value> = found
        .iter()
        .map(|f| {
            let mut tags = vec![format!("host:{}", f.host)];
            tags.extend(f.record.tags.iter().cloned());
            json!({
                "id": format!("{}:{}:{}", f.host, f.record.pid, f.record.create_time_ms),
                "type": "process",
                "attributes": {
                    "cmdline": command_line(&f.record),
                    "host": f.host,
                    "pid": f.record.pid,
                    "ppid": f.record.ppid,
                    "start": iso8601_ms(f.record.create_time_ms),
                    "tags": tags,
                    "timestamp": iso8601_ms(f.seen_ms),
                    "user": f.record.user,
                },
            })
        })
        .collect();
    let mut page = json!({ "size": data.len() });
    if let Some(after) = after {
        page["after"] = json!(after);
    }
    Ok(Json(json!({ "data": data, "meta": { "page": page } })))
}

/// Past process lives as one indexed snapshot per (host, last seen time), so the same
/// filter code evaluates them.
fn group_as_snapshots(past: Vec<Found>) -> Vec<Arc<Snapshot>> {
    let mut by_host: HashMap<(String, i64), Vec<ProcessRecord>> = HashMap::new();
    for f in past {
        by_host.entry((f.host, f.seen_ms)).or_default().push(f.record);
    }
    by_host
        .into_iter()
        .map(|((host, seen_ms), processes)| {
            let info = dogwatch_model::HostInfo {
                hostname: host,
                cpu_count: 0,
                cpu_model: String::new(),
                memory_total: 0,
                kernel: String::new(),
                os: String::new(),
                boot_time: 0,
                agent_version: String::new(),
                tags: Vec::new(),
            };
            let run = crate::processes::live::RunInfo {
                run_id: 0,
                collected_at_ms: seen_ms,
                received_at_ms: seen_ms,
                interval_s: 0,
                realtime: false,
            };
            Arc::new(Snapshot::new(info, run, processes))
        })
        .collect()
}
