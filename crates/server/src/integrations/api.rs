//! The integrations routes: `GET /api/ui/integrations` (each integration that runs or is
//! configured somewhere, with its status and host counts; `?host=` narrows it to one host and
//! adds that host's pids) and `GET /api/ui/integrations/{id}` (one integration and its hosts).
//!
//! Both read the live process state (hosts whose process data went stale are left out of
//! "running") and the hosts' stored `agent_checks`.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use serde_json::{Value, json};

use super::detect::{HostInput, IntegrationState, Matcher, detect};
use super::signatures::{self, INTEGRATIONS};
use crate::AppState;
use crate::http::error::ApiError;
use crate::http::params::Params;
use crate::http::{Access, Route, read_store};
use crate::now_ms;

/// The integrations routes; both read.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/api/ui/integrations", Access::Read, get(list)),
        Route::get("/api/ui/integrations/{id}", Access::Read, get(one)),
    ]
}

/// The signature table, compiled once.
fn matcher() -> &'static Matcher {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    MATCHER.get_or_init(Matcher::default)
}

/// Every host the server knows (from metadata or processes), with its fresh snapshot and checks.
async fn host_inputs(state: &Arc<AppState>) -> Result<Vec<HostInput>, ApiError> {
    let records = read_store(state, "hosts", |store| store.hosts()).await?;
    let now = now_ms();
    let mut hosts: BTreeMap<String, HostInput> = records
        .into_iter()
        .map(|r| {
            (
                r.hostname.clone(),
                HostInput {
                    hostname: r.hostname,
                    snapshot: None,
                    checks: r.checks,
                },
            )
        })
        .collect();
    for snapshot in state.live.snapshots() {
        if snapshot.is_stale(now) {
            continue;
        }
        let name = snapshot.host.hostname.clone();
        hosts
            .entry(name.clone())
            .or_insert_with(|| HostInput {
                hostname: name,
                snapshot: None,
                checks: Vec::new(),
            })
            .snapshot = Some(snapshot);
    }
    Ok(hosts.into_values().collect())
}

/// An integration's entry in a list: without its hosts, or with only `host`'s.
fn list_entry(mut s: IntegrationState, host: Option<&str>) -> Option<Value> {
    let on_host = match host {
        None => None,
        Some(name) => Some(s.hosts.iter().find(|h| h.hostname == name)?.clone()),
    };
    s.hosts.clear();
    let mut entry = serde_json::to_value(&s).ok()?;
    if let Some(h) = on_host {
        entry["host"] = serde_json::to_value(h).ok()?;
    }
    Some(entry)
}

/// `GET /api/ui/integrations[?host=NAME]`:
/// `{"integrations": [{id, name, status, status_label, hosts_running, hosts_configured,
/// hosts_unconfigured, processes, signatures, metrics, query, [host]}], "catalog": [{id, name,
/// query}]}`: `catalog` is every integration dogwatch detects, for the Views menu.
async fn list(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(raw)?;
    let host = params.text("host").filter(|h| !h.is_empty());
    let mut hosts = host_inputs(&state).await?;
    if let Some(name) = host {
        hosts.retain(|h| h.hostname == name);
    }
    let states = detect(matcher(), &hosts);
    let integrations: Vec<Value> = states.into_iter().filter_map(|s| list_entry(s, host)).collect();
    let catalog: Vec<Value> = INTEGRATIONS
        .iter()
        .map(|i| json!({ "id": i.id, "name": i.name, "query": i.query }))
        .collect();
    Ok(Json(json!({ "integrations": integrations, "catalog": catalog })))
}

/// `GET /api/ui/integrations/{id}`: the integration with its status and each host that runs it
/// or has its check configured (`hosts: [{hostname, processes, pids, configured, checks}]`);
/// `status` is null when neither is true anywhere. 404 for an id not in the table.
async fn one(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let Some(integration) = signatures::by_id(&id) else {
        return Err(ApiError::not_found(format!(
            "no integration {id:?}: dogwatch detects {}",
            INTEGRATIONS.iter().map(|i| i.id).collect::<Vec<_>>().join(", ")
        )));
    };
    let states = detect(matcher(), &host_inputs(&state).await?);
    match states.into_iter().find(|s| s.integration.id == id) {
        Some(s) => {
            let mut value = serde_json::to_value(&s).map_err(|e| ApiError::internal(e.to_string()))?;
            if s.hosts.is_empty() {
                value["hosts"] = json!([]);
            }
            Ok(Json(value))
        }
        None => {
            let mut value = serde_json::to_value(integration).map_err(|e| ApiError::internal(e.to_string()))?;
            value["status"] = Value::Null;
            value["status_label"] = json!("Not detected");
            value["hosts_running"] = json!(0);
            value["hosts_configured"] = json!(0);
            value["hosts_unconfigured"] = json!(0);
            value["processes"] = json!(0);
            value["hosts"] = json!([]);
            Ok(Json(value))
        }
    }
}
