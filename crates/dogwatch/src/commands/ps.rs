//! `dogwatch ps`: live processes of every host, from a running server, in the search
//! language of the Live Processes page; or grouped by tags with `--by`.

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use comfy_table::CellAlignment;
use dogwatch_agent::status::human_duration;
use dogwatch_model::human_bytes;
use serde_json::Value;

use crate::PsArgs;
use crate::support;

/// Command lines longer than this are cut in the table (`--json` has them whole).
const COMMAND_MAX_CHARS: usize = 200;

/// Queries the server and prints a table, or the server's JSON with `--json`.
pub fn run(args: PsArgs) -> Result<()> {
    let base = args.server.trim_end_matches('/').to_owned();
    let query = args.query.join(" ");
    let (path, params) = match &args.by {
        None => (
            "/api/ui/processes",
            vec![
                ("query", query.clone()),
                ("sort", args.sort.clone()),
                ("order", if args.asc { "asc" } else { "desc" }.to_owned()),
                ("limit", args.limit.to_string()),
                ("columns", "user,command,cpu,rss,threads,state,start".to_owned()),
            ],
        ),
        Some(by) => (
            "/api/ui/processes/groups",
            vec![
                ("query", query.clone()),
                ("by", by.clone()),
                ("metrics", "cpu,rss,threads".to_owned()),
                ("sort", group_sort(&args.sort)),
                ("limit", args.limit.to_string()),
            ],
        ),
    };
    let url = format!("{base}{path}");
    let (api_key, app_key) = keys(&args)?;
    let body: Value = support::runtime()?.block_on(async {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
        let response = client
            .get(&url)
            .query(&params)
            .header("DD-API-KEY", &api_key)
            .header("DD-APPLICATION-KEY", &app_key)
            .send()
            .await
            .with_context(|| {
            format!(
                "cannot reach the dogwatch server at {base} (--server): is `dogwatch up` or `dogwatch server` running?"
            )
        })?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .with_context(|| format!("the server at {base} answered {status} with a body that is not JSON"))?;
        if !status.is_success() {
            let message = body["errors"][0].as_str().unwrap_or("no message").to_owned();
            if let Some(position) = body["query_error"]["position"].as_u64() {
                let length = body["query_error"]["length"].as_u64().unwrap_or(1).max(1);
                bail!(
                    "{message}\n  {query}\n  {}{}",
                    " ".repeat(position as usize),
                    "^".repeat(length as usize)
                );
            }
            bail!("the server answered {status}: {message}");
        }
        Ok(body)
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(());
    }
    match &args.by {
        None => print_processes(&body),
        Some(by) => print_groups(&body, by),
    }
    print_footer(&body);
    Ok(())
}

/// `--sort` for groups: `count`, or a metric summed (`cpu` → `sum:cpu`).
fn group_sort(sort: &str) -> String {
    if sort == "count" || sort.contains(':') {
        sort.to_owned()
    } else {
        format!("sum:{sort}")
    }
}

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap_or(0.0)
}

fn print_processes(body: &Value) {
    let mut table = support::terminal_table();
    table.set_header(["HOST", "PID", "USER", "CPU%", "RSS", "THR", "S", "AGE", "COMMAND"]);
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    for p in body["processes"].as_array().into_iter().flatten() {
        let age_ms = (now_ms - p["start"].as_i64().unwrap_or(now_ms)).max(0);
        let mut command: String = p["command"]
            .as_str()
            .unwrap_or("")
            .chars()
            .take(COMMAND_MAX_CHARS)
            .collect();
        if p["command"]
            .as_str()
            .is_some_and(|c| c.chars().count() > COMMAND_MAX_CHARS)
        {
            command.push('…');
        }
        table.add_row([
            p["host"].as_str().unwrap_or("").to_owned(),
            p["pid"].to_string(),
            p["user"].as_str().unwrap_or("").to_owned(),
            format!("{:.1}", number(&p["cpu"])),
            human_bytes(number(&p["rss"]) as u64),
            p["threads"].to_string(),
            p["state"].as_str().unwrap_or("").to_owned(),
            age(age_ms as u64 / 1000),
            command,
        ]);
    }
    for column in [1, 3, 4, 5] {
        if let Some(c) = table.column_mut(column) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    println!("{table}");
}

/// A process's age in its two largest units, e.g. `3h 12m`.
fn age(seconds: u64) -> String {
    human_duration(seconds).split(' ').take(2).collect::<Vec<_>>().join(" ")
}

fn print_groups(body: &Value, by: &str) {
    let keys: Vec<&str> = by.split(',').map(str::trim).filter(|k| !k.is_empty()).collect();
    let mut table = support::terminal_table();
    let mut header: Vec<String> = keys.iter().map(|k| k.to_uppercase()).collect();
    header.extend(
        [
            "PROCS", "HOSTS", "CPU% SUM", "CPU% AVG", "RSS SUM", "RSS AVG", "THR SUM",
        ]
        .map(String::from),
    );
    table.set_header(header);
    for g in body["groups"].as_array().into_iter().flatten() {
        let mut row: Vec<String> = keys
            .iter()
            .map(|k| g["tags"][*k].as_str().unwrap_or("(none)").to_owned())
            .collect();
        let m = &g["metrics"];
        row.extend([
            g["count"].to_string(),
            g["hosts"].to_string(),
            format!("{:.1}", number(&m["cpu"]["sum"])),
            format!("{:.1}", number(&m["cpu"]["avg"])),
            human_bytes(number(&m["rss"]["sum"]) as u64),
            human_bytes(number(&m["rss"]["avg"]) as u64),
            format!("{}", number(&m["threads"]["sum"])),
        ]);
        table.add_row(row);
    }
    for column in keys.len()..keys.len() + 7 {
        if let Some(c) = table.column_mut(column) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    println!("{table}");
}

fn print_footer(body: &Value) {
    let shown = body["processes"]
        .as_array()
        .map(Vec::len)
        .or_else(|| body["groups"].as_array().map(Vec::len))
        .unwrap_or(0);
    let what = if body.get("groups").is_some() {
        format!("{shown} of {} groups", body["total_groups"])
    } else {
        format!("{shown} of {} processes", body["total"])
    };
    println!("{what} matching, on {} host(s).", body["hosts"]);
    for stale in body["stale_hosts"].as_array().into_iter().flatten() {
        println!(
            "warning: host {} has sent no processes recently and is left out (stale).",
            stale["hostname"].as_str().unwrap_or("?")
        );
    }
}

/// The API and application keys to send: --api-key/--app-key (DD_API_KEY, DD_APP_KEY), else
/// `api_key`/`app_key` from the agent's configuration.
fn keys(args: &PsArgs) -> Result<(String, String)> {
    let env = dogwatch_agent::config::Environment::from_process();
    let loaded = support::load_config(&crate::ConfigFileArgs { config: None }, &env)?;
    let api = args.api_key.clone().unwrap_or(loaded.config.api_key);
    let app = args.app_key.clone().unwrap_or(loaded.config.app_key);
    if api.is_empty() || app.is_empty() {
        bail!(
            "reading from the server needs an API key and an application key: set DD_API_KEY and DD_APP_KEY \
             (`dogwatch api-key create` and `dogwatch app-key create` on the server make them), or pass --api-key and --app-key"
        );
    }
    Ok((api, app))
}
