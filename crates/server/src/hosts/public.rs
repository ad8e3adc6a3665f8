//! Datadog's public host API: `GET /api/v1/hosts` (the host list with filter, sort and paging),
//! `GET /api/v1/hosts/totals`, and the tags API `/api/v1/tags/hosts[/{host_name}]`, whose
//! user-set tags (kept per source in the store) join the agent's wherever host tags are shown.
//! docs/api.md documents the shapes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use bytes::Bytes;
use dogwatch_store::{DEFAULT_TAG_SOURCE, HostRecord, TagWrite, UserHostTag};
use serde_json::{Value, json};

use super::api::STALE_AFTER_MS;
use crate::AppState;
use crate::http::error::ApiError;
use crate::http::params::Params;
use crate::http::{Access, Route, on_store, read_store};
use crate::now_ms;

/// Hosts listed when `from` is not given: those that reported in the last 3 hours, as Datadog's.
const DEFAULT_LIVE_S: i64 = 3 * 3600;
/// A host is active for `/api/v1/hosts/totals` when it reported in the last 2 hours.
const ACTIVE_S: i64 = 2 * 3600;
/// The most hosts one `/api/v1/hosts` page returns (Datadog's limit), and the default.
const MAX_COUNT: usize = 1000;
const DEFAULT_COUNT: usize = 100;
/// The longest tag the tags API takes (Datadog's limit).
const MAX_TAG_LEN: usize = 200;
/// The `tags_by_source` key of the agent's own host tags, as Datadog names it.
const AGENT_SOURCE: &str = "Datadog";

/// The public host and host tag routes.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/api/v1/hosts", Access::Read, get(list_hosts)),
        Route::get("/api/v1/hosts/totals", Access::Read, get(host_totals)),
        Route::get("/api/v1/tags/hosts", Access::Read, get(all_host_tags)),
        Route::get("/api/v1/tags/hosts/{host_name}", Access::Read, get(host_tags)),
        Route::post("/api/v1/tags/hosts/{host_name}", Access::Write, post(add_host_tags)),
        Route::put("/api/v1/tags/hosts/{host_name}", Access::Write, put(replace_host_tags)),
        Route::delete(
            "/api/v1/tags/hosts/{host_name}",
            Access::Write,
            delete(delete_host_tags),
        ),
    ]
}

/// The name under which `tags_by_source` shows user-set tags of `source`.
fn source_label(source: &str) -> String {
    if source == DEFAULT_TAG_SOURCE {
        "Users".to_string()
    } else {
        source.to_string()
    }
}

/// A host's tags by source: the agent's under `Datadog`, then each user source's.
pub fn tags_by_source(record: &HostRecord, user: &[&UserHostTag]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if !record.tags.is_empty() {
        out.insert(AGENT_SOURCE.to_string(), record.tags.clone());
    }
    for t in user {
        out.entry(source_label(&t.source)).or_default().push(t.tag.clone());
    }
    out
}

/// The agent's tags followed by the user-set ones, each once.
pub fn all_tags(record: &HostRecord, user: &[&UserHostTag]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    record
        .tags
        .iter()
        .chain(user.iter().map(|t| &t.tag))
        .filter(|t| seen.insert(t.as_str()))
        .cloned()
        .collect()
}

/// User-set tags grouped by host.
pub fn by_host(tags: &[UserHostTag]) -> HashMap<&str, Vec<&UserHostTag>> {
    let mut out: HashMap<&str, Vec<&UserHostTag>> = HashMap::new();
    for t in tags {
        out.entry(t.host.as_str()).or_default().push(t);
    }
    out
}

/// The latest value per host of the metrics behind a host's `metrics` (cpu, iowait, load).
#[derive(Debug, Default, Clone, Copy)]
struct HostMetrics {
    cpu: Option<f64>,
    iowait: Option<f64>,
    load: Option<f64>,
}

/// The newest point, per host, of `metric`'s contexts that carry no tag beyond the host's own
/// (so `system.cpu.idle`'s per-core contexts are left out when a whole-host one exists).
fn latest_by_host(
    store: &dyn dogwatch_store::Store,
    metric: &str,
) -> Result<HashMap<String, f64>, dogwatch_store::StoreError> {
    let contexts = store.metric_contexts(metric)?;
    let mut best: HashMap<&str, &dogwatch_store::MetricContext> = HashMap::new();
    for c in contexts.iter().filter(|c| !c.host.is_empty()) {
        let per_core = c.tags.iter().any(|t| t.starts_with("core:") || t.starts_with("cpu:"));
        let entry = best.entry(c.host.as_str()).or_insert(c);
        let entry_per_core = entry
            .tags
            .iter()
            .any(|t| t.starts_with("core:") || t.starts_with("cpu:"));
        if (entry_per_core && !per_core) || (entry_per_core == per_core && c.last_ts > entry.last_ts) {
            *entry = c;
        }
    }
    let mut out = HashMap::new();
    for (host, c) in best {
        if let Some((_, _, v)) = store.metric_values(&[c.id], c.last_ts, c.last_ts)?.last() {
            out.insert(host.to_string(), *v);
        }
    }
    Ok(out)
}

async fn host_metrics(state: &AppState) -> Result<HashMap<String, HostMetrics>, ApiError> {
    let (idle, iowait, load) = read_store(state, "host metrics", |store| {
        Ok((
            latest_by_host(store, "system.cpu.idle")?,
            latest_by_host(store, "system.cpu.iowait")?,
            latest_by_host(store, "system.load.norm.1")?,
        ))
    })
    .await?;
    let mut out: HashMap<String, HostMetrics> = HashMap::new();
    for (host, v) in idle {
        out.entry(host).or_default().cpu = Some((100.0 - v).clamp(0.0, 100.0));
    }
    for (host, v) in iowait {
        out.entry(host).or_default().iowait = Some(v);
    }
    for (host, v) in load {
        out.entry(host).or_default().load = Some(v);
    }
    Ok(out)
}

/// A boolean query parameter: `true`/`false` (or 1/0); absent is false.
fn flag(params: &Params, name: &str) -> Result<bool, ApiError> {
    match params.text(name).map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "`{name}` must be true or false, got {other:?}"
        ))),
    }
}

/// Whether a host matches every term of `filter` (separated by commas or spaces, as in
/// Datadog's `env:prod,role:db`): a `key:value` term
/// (`*` wildcards) must be one of its tags; another term is part of its name or of a tag,
/// ignoring case.
fn matches_filter(name: &str, tags: &[String], terms: &[String]) -> bool {
    terms.iter().all(|term| {
        if term.contains(':') {
            tags.iter().any(|t| dogwatch_search::wildcard_match(term, t, true))
        } else {
            let term = term.to_lowercase();
            name.to_lowercase().contains(&term) || tags.iter().any(|t| t.to_lowercase().contains(&term))
        }
    })
}

/// One host as Datadog's `Host`, with what sorting needs beside it.
struct Listed {
    json: Value,
    name: String,
    up: bool,
    apps: usize,
    last_reported: i64,
    metrics: HostMetrics,
}

/// `GET /api/v1/hosts?filter&sort_field&sort_dir&start&count&from&include_muted_hosts_data&include_hosts_metadata`.
async fn list_hosts(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let now = now_ms();
    let from: i64 = params.number("from", now / 1000 - DEFAULT_LIVE_S, None)?;
    let start: usize = params.number("start", 0, None)?;
    let count: usize = params.number("count", DEFAULT_COUNT, Some(MAX_COUNT))?;
    let sort_field = params.text("sort_field").filter(|s| !s.is_empty()).unwrap_or("name");
    if !["name", "status", "apps", "cpu", "iowait", "load", "last_reported_time"].contains(&sort_field) {
        return Err(ApiError::bad_request(format!(
            "`sort_field` {sort_field:?} is not one of name, status, apps, cpu, iowait, load, last_reported_time"
        )));
    }
    let descending = match params.text("sort_dir").filter(|s| !s.is_empty()) {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`sort_dir` {other:?} must be asc or desc"
            )));
        }
    };
    let muted = flag(&params, "include_muted_hosts_data")?;
    let metadata = flag(&params, "include_hosts_metadata")?;
    let terms: Vec<String> = params
        .text("filter")
        .unwrap_or("")
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect();
    let (records, user) = read_store(&state, "hosts", |store| {
        Ok((store.hosts()?, store.user_host_tags(None)?))
    })
    .await?;
    let user = by_host(&user);
    let metrics = host_metrics(&state).await?;
    let mut listed: Vec<Listed> = Vec::new();
    for record in &records {
        if record.last_seen_ms.div_euclid(1000) < from {
            continue;
        }
        let mine = user.get(record.hostname.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        let tags = all_tags(record, mine);
        if !matches_filter(&record.hostname, &tags, &terms) {
            continue;
        }
        let up = now - record.last_seen_ms <= STALE_AFTER_MS;
        let mut apps: Vec<String> = vec!["agent".to_string()];
        apps.extend(record.checks.iter().map(|c| c.check.clone()));
        apps.sort();
        apps.dedup();
        let m = metrics.get(&record.hostname).copied().unwrap_or_default();
        let mut meta = json!({
            "agent_version": record.agent_version,
            "platform": record.os,
            "socket-hostname": record.hostname,
        });
        if metadata {
            meta["agent_checks"] = json!(
                record
                    .checks
                    .iter()
                    .map(|c| json!([c.check, c.check, c.instance_id, c.status, c.error, {}]))
                    .collect::<Vec<_>>()
            );
        }
        let mut host = json!({
            "name": record.hostname,
            "host_name": record.hostname,
            "aliases": [record.hostname],
            "apps": apps,
            "sources": ["agent"],
            "tags_by_source": tags_by_source(record, mine),
            "up": up,
            "is_muted": false,
            "last_reported_time": record.last_seen_ms.div_euclid(1000),
            "meta": meta,
            "metrics": {
                "cpu": m.cpu.unwrap_or(0.0),
                "iowait": m.iowait.unwrap_or(0.0),
                "load": m.load.unwrap_or(0.0),
            },
        });
        if muted {
            host["mute_timeout"] = Value::Null;
        }
        listed.push(Listed {
            json: host,
            name: record.hostname.clone(),
            up,
            apps: apps.len(),
            last_reported: record.last_seen_ms,
            metrics: m,
        });
    }
    let number = |v: Option<f64>| v.unwrap_or(f64::NEG_INFINITY);
    listed.sort_by(|a, b| {
        let order = match sort_field {
            "status" => a.up.cmp(&b.up),
            "apps" => a.apps.cmp(&b.apps),
            "cpu" => number(a.metrics.cpu).total_cmp(&number(b.metrics.cpu)),
            "iowait" => number(a.metrics.iowait).total_cmp(&number(b.metrics.iowait)),
            "load" => number(a.metrics.load).total_cmp(&number(b.metrics.load)),
            "last_reported_time" => a.last_reported.cmp(&b.last_reported),
            _ => std::cmp::Ordering::Equal,
        };
        let order = if descending { order.reverse() } else { order };
        let by_name = if descending && sort_field == "name" {
            b.name.cmp(&a.name)
        } else {
            a.name.cmp(&b.name)
        };
        order.then(by_name)
    });
    let total_matching = listed.len();
    let page: Vec<Value> = listed.into_iter().skip(start).take(count).map(|l| l.json).collect();
    Ok(Json(json!({
        "host_list": page,
        "total_matching": total_matching,
        "total_returned": page.len(),
    })))
}

/// `GET /api/v1/hosts/totals?from`: hosts active (reported since `from`, by default in the last
/// 2 hours) and up (reporting now).
async fn host_totals(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let now = now_ms();
    let from: i64 = params.number("from", now / 1000 - ACTIVE_S, None)?;
    let records = read_store(&state, "hosts", |store| store.hosts()).await?;
    let active = records
        .iter()
        .filter(|r| r.last_seen_ms.div_euclid(1000) >= from)
        .count();
    let up = records
        .iter()
        .filter(|r| now - r.last_seen_ms <= STALE_AFTER_MS)
        .count();
    Ok(Json(json!({ "total_active": active, "total_up": up })))
}

/// The `source` parameter: lower case, `user` when absent.
fn source_param(params: &Params) -> Result<String, ApiError> {
    let source = params
        .text("source")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_TAG_SOURCE)
        .to_ascii_lowercase();
    if source.len() > 100
        || !source
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b' '))
    {
        return Err(ApiError::bad_request(format!(
            "`source` {source:?} must be a source name of letters, digits, `_`, `-`, `.` and spaces"
        )));
    }
    Ok(source)
}

/// `GET /api/v1/tags/hosts?source`: `{"tags": {tag: [host, ...]}}` over every host, the agent's
/// tags and the user-set ones (only the user-set tags of `source` when it is given; `datadog`
/// names the agent's).
async fn all_host_tags(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let source = params
        .text("source")
        .is_some()
        .then(|| source_param(&params))
        .transpose()?;
    let (records, user) = read_store(&state, "host tags", |store| {
        Ok((store.hosts()?, store.user_host_tags(None)?))
    })
    .await?;
    let mut tags: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if source.as_deref().is_none_or(|s| s == "datadog") {
        for r in &records {
            for t in &r.tags {
                tags.entry(t.clone()).or_default().insert(r.hostname.clone());
            }
        }
    }
    for t in user.iter().filter(|t| source.as_ref().is_none_or(|s| &t.source == s)) {
        tags.entry(t.tag.clone()).or_default().insert(t.host.clone());
    }
    Ok(Json(json!({ "tags": tags })))
}

/// The host's agent record and user-set tags; 404 when the host is unknown.
async fn known_host(state: &AppState, host: &str) -> Result<(Option<HostRecord>, Vec<UserHostTag>), ApiError> {
    let name = host.to_string();
    let (record, user) = read_store(state, "host tags", move |store| {
        let record = store.hosts()?.into_iter().find(|h| h.hostname == name);
        Ok((record, store.user_host_tags(Some(&name))?))
    })
    .await?;
    if record.is_none() && user.is_empty() {
        return Err(ApiError::not_found(format!(
            "host {host:?} is not known: no agent has reported it"
        )));
    }
    Ok((record, user))
}

/// `GET /api/v1/tags/hosts/{host_name}?source`: `{"tags": [...]}`: the agent's and the
/// user-set tags, or only those of `source`.
async fn host_tags(
    State(state): State<Arc<AppState>>,
    Path(host): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let source = params
        .text("source")
        .is_some()
        .then(|| source_param(&params))
        .transpose()?;
    let (record, user) = known_host(&state, &host).await?;
    let record = record.unwrap_or_else(|| empty_record(&host));
    let tags: Vec<String> = match source.as_deref() {
        None => all_tags(&record, &user.iter().collect::<Vec<_>>()),
        Some("datadog") => record.tags.clone(),
        Some(s) => user.iter().filter(|t| t.source == s).map(|t| t.tag.clone()).collect(),
    };
    Ok(Json(json!({ "tags": tags })))
}

fn empty_record(host: &str) -> HostRecord {
    HostRecord {
        hostname: host.to_string(),
        agent_version: String::new(),
        os: String::new(),
        tags: Vec::new(),
        hostname_provider: String::new(),
        first_seen_ms: 0,
        last_seen_ms: 0,
        checks: Vec::new(),
    }
}

/// The tags of a `HostTags` body (`{"host": ..., "tags": [...]}`), checked; `host`, when given,
/// must be the path's.
fn tags_body(body: &[u8], host: &str) -> Result<Vec<String>, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| ApiError::bad_request("the body must be an object: {\"host\": ..., \"tags\": [...]}"))?;
    if let Some(named) = object.get("host") {
        match named.as_str() {
            Some(h) if h == host => {}
            Some(h) => {
                return Err(ApiError::bad_request(format!(
                    "`host` {h:?} is not the host of the path, {host:?}"
                )));
            }
            None => return Err(ApiError::bad_request("`host` must be a string")),
        }
    }
    let list = object
        .get("tags")
        .ok_or_else(|| ApiError::bad_request("`tags` is required: a list of tags"))?
        .as_array()
        .ok_or_else(|| ApiError::bad_request("`tags` must be a list of strings"))?;
    let mut tags = Vec::with_capacity(list.len());
    for (i, t) in list.iter().enumerate() {
        let tag = t
            .as_str()
            .ok_or_else(|| ApiError::bad_request(format!("`tags[{i}]` must be a string")))?
            .trim();
        if tag.is_empty() || tag.len() > MAX_TAG_LEN {
            return Err(ApiError::bad_request(format!(
                "`tags[{i}]` must have 1 to {MAX_TAG_LEN} characters"
            )));
        }
        tags.push(tag.to_string());
    }
    Ok(tags)
}

async fn write_host_tags(
    state: Arc<AppState>,
    host: String,
    raw: Option<String>,
    body: Bytes,
    write: TagWrite,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let params = Params::parse(raw)?;
    let source = source_param(&params)?;
    let tags = tags_body(&body, &host)?;
    known_host(&state, &host).await?;
    let (h, s) = (host.clone(), source.clone());
    let now = now_ms();
    let user = on_store(&state, move |store| {
        store.set_user_host_tags(&h, &s, &tags, write, now)?;
        store.user_host_tags(Some(&h))
    })
    .await?
    .map_err(|e| ApiError::internal(format!("cannot store host tags: {e}")))?;
    let tags: Vec<&str> = user
        .iter()
        .filter(|t| t.source == source)
        .map(|t| t.tag.as_str())
        .collect();
    Ok((StatusCode::CREATED, Json(json!({ "host": host, "tags": tags }))))
}

/// `POST /api/v1/tags/hosts/{host_name}?source`: adds tags from `source` (`user` by default).
async fn add_host_tags(
    State(state): State<Arc<AppState>>,
    Path(host): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    write_host_tags(state, host, raw, body, TagWrite::Append).await
}

/// `PUT /api/v1/tags/hosts/{host_name}?source`: replaces the tags from `source`.
async fn replace_host_tags(
    State(state): State<Arc<AppState>>,
    Path(host): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    write_host_tags(state, host, raw, body, TagWrite::Replace).await
}

/// `DELETE /api/v1/tags/hosts/{host_name}?source`: deletes the tags from `source`; 204.
async fn delete_host_tags(
    State(state): State<Arc<AppState>>,
    Path(host): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<StatusCode, ApiError> {
    let params = Params::parse(raw)?;
    let source = source_param(&params)?;
    known_host(&state, &host).await?;
    on_store(&state, move |store| store.delete_user_host_tags(&host, &source))
        .await?
        .map_err(|e| ApiError::internal(format!("cannot delete host tags: {e}")))?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_term_with_a_colon_is_a_tag_and_another_is_part_of_the_name() {
        let tags = vec!["env:prod".to_string(), "role:web".to_string()];
        let terms = |t: &str| t.split_whitespace().map(String::from).collect::<Vec<_>>();
        assert!(matches_filter("web-1", &tags, &terms("env:prod")));
        assert!(matches_filter("web-1", &tags, &terms("env:pr* WEB")));
        assert!(matches_filter("web-1", &tags, &terms("")));
        assert!(!matches_filter("web-1", &tags, &terms("env:dev")));
        assert!(!matches_filter("web-1", &tags, &terms("db")));
    }
}
