//! The pages a browser gets: the web UI (see [`crate::ui`]) at `/`, `/processes` and
//! `/hosts`, and its files under `/assets/`; and at `/overview` a plain server-rendered overview
//! of the hosts, which a server built without the UI also answers the page paths with, saying
//! how to build the UI.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use dogwatch_model::human_bytes;

use crate::AppState;
use crate::hosts::api::host_views;
use crate::http::error::ApiError;
use crate::http::{Access, Route, guard};
use crate::now_ms;
use crate::ui;

/// The paths the UI's pages live at; each answers with the UI's `index.html`.
pub const PAGE_PATHS: [&str; 15] = [
    "/",
    "/login",
    "/processes",
    "/hosts",
    "/hosts/{hostname}",
    "/apm",
    "/apm/services",
    "/apm/services/{service}",
    "/apm/traces",
    "/apm/trace/{trace_id}",
    "/metrics",
    "/events",
    "/checks",
    "/integrations",
    "/integrations/{id}",
];

/// What a server built without the UI says on its pages.
const NO_UI_NOTE: &str = "<p class=\"note\">This server was built without its web UI. Build it with <code>./scripts/up.sh</code> \
     (needs Node.js 20.19+ and npm), or <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code> and rebuild \
     dogwatch.</p>";

/// The page routes: the pages and their files are public (the UI signs in through the API);
/// the overview, which shows hosts, needs a user.
pub fn routes() -> Vec<Route> {
    let mut routes = vec![
        Route::get("/assets/{*path}", Access::Public, get(asset)),
        Route::get("/overview", Access::Read, get(overview)),
    ];
    for path in PAGE_PATHS {
        routes.push(Route::get(path, Access::Public, get(page)));
    }
    routes
}

/// A page: the UI when built in, else the overview (for a signed-in user) or a note on how to
/// build the UI.
async fn page(state: State<Arc<AppState>>, headers: HeaderMap, uri: Uri) -> Result<Response, ApiError> {
    if ui::index_html().is_none() && guard::principal(&state, &headers, &uri).is_err() {
        return Ok(Html(format!("<!doctype html><title>dogwatch</title>{NO_UI_NOTE}")).into_response());
    }
    match ui::index_html() {
        Some(html) => Ok((
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            html,
        )
            .into_response()),
        None => Ok(overview(state).await?.into_response()),
    }
}

/// `GET /assets/PATH`: a built UI file. Their names carry a content hash, so they are cached for a year.
async fn asset(Path(path): Path<String>) -> Result<Response, ApiError> {
    let file =
        ui::file(&format!("assets/{path}")).ok_or_else(|| ApiError::not_found(format!("no UI file assets/{path}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, file.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable".to_string()),
        ],
        file.body,
    )
        .into_response())
}

/// `GET /overview`: the server-rendered overview of the hosts, which needs no JavaScript; the
/// page paths answer with it when the server was built without the UI.
async fn overview(State(state): State<Arc<AppState>>) -> Result<Html<String>, ApiError> {
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
    let note = if ui::is_built() {
        "<p><a href=\"/processes\">Open the web UI</a> for Live Processes and Hosts.</p>"
    } else {
        NO_UI_NOTE
    };
    Ok(Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>dogwatch</title><style>\
         body{{font:14px system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse}}\
         td,th{{border-bottom:1px solid #ddd;padding:4px 12px;text-align:left}}tr.stale{{color:#a00}}</style></head>\
         <body><h1>dogwatch {}</h1>{note}<h2>Hosts ({})</h2><table><tr><th>Host</th><th>Agent</th><th>OS</th><th>Last seen</th><th>Processes</th><th>Tags</th></tr>{rows}</table>\
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
