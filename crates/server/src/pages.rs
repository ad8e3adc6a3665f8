//! The pages a browser gets. Until the web UI lands, `/` is a server-rendered overview of
//! the hosts reporting to this server.

use std::fmt::Write;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;

use dogwatch_model::human_bytes;

use crate::AppState;
use crate::api::host_views;
use crate::error::ApiError;
use crate::keys::now_ms;

/// The page routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/", get(home))
}

async fn home(State(state): State<Arc<AppState>>) -> Result<Html<String>, ApiError> {
    let hosts = host_views(&state).await?;
    let now = now_ms();
    let mut rows = String::new();
    for h in &hosts {
        let r = &h.record;
        let processes = match &h.processes {
            Some(p) => format!(
                "{}{} · {:.0}% CPU · {} RSS",
                p.processes,
                if p.stale { " (stale)" } else { "" },
                p.cpu_total_pct,
                human_bytes(p.rss_total)
            ),
            None => "—".to_string(),
        };
        let _ = write!(
            rows,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}s ago{}</td><td>{}</td><td>{}</td></tr>",
            if h.stale { "stale" } else { "" },
            escape(&r.hostname),
            escape(&r.agent_version),
            escape(&r.os),
            (now - r.last_seen_ms).max(0) / 1000,
            if h.stale { " (stale)" } else { "" },
            escape(&processes),
            escape(&r.tags.join(", ")),
        );
    }
    if hosts.is_empty() {
        rows.push_str("<tr><td colspan=\"6\">No agent has reported yet. Start one with <code>dogwatch agent</code>, or use <code>dogwatch up</code>.</td></tr>");
    }
    Ok(Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>dogwatch</title><style>\
         body{{font:14px system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse}}\
         td,th{{border-bottom:1px solid #ddd;padding:4px 12px;text-align:left}}tr.stale{{color:#a00}}</style></head>\
         <body><h1>dogwatch {}</h1><h2>Hosts ({})</h2><table><tr><th>Host</th><th>Agent</th><th>OS</th><th>Last seen</th><th>Processes</th><th>Tags</th></tr>{rows}</table>\
         <p>API: <code>GET /api/ui/hosts</code>, <code>GET /api/v1/validate</code></p></body></html>",
        dogwatch_model::VERSION,
        hosts.len()
    )))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
