//! `dogwatch agent check process`: two collection runs a second apart, printed as the
//! payloads the agent would send (like Datadog's `process-agent check process`).

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use comfy_table::CellAlignment;
use dogwatch_agent::config::{AgentConfig, Environment};
use dogwatch_agent::hostname::HostIdentity;
use dogwatch_agent::process::HostPaths;
use dogwatch_agent::process::runner::{build_collector, chunk_payloads, intervals};
use dogwatch_agent::status::{format_time, human_bytes, human_duration};
use dogwatch_model::ProcessPayload;

/// Command lines longer than this are cut in the table (`--json` has them whole).
const COMMAND_MAX_CHARS: usize = 200;

/// How long to wait between the priming run and the reported one.
const GAP: Duration = Duration::from_secs(1);

/// Collects twice and prints the second run; nothing is sent.
pub fn run(config: &AgentConfig, identity: &HostIdentity, env: &Environment, json: bool) -> Result<()> {
    let paths = HostPaths::from_env(env);
    let (mut collector, host, warnings) = build_collector(config, paths, &identity.hostname, &identity.host_tags);
    collector.collect().context("the first (priming) collection failed")?;
    std::thread::sleep(GAP);
    let collection = collector.collect().context("the second collection failed")?;
    let mut processes = collection.processes;
    processes.sort_by_key(|p| p.pid);
    let per_message = config.process_config.max_per_message.clamp(1, 10_000) as usize;
    let payloads = chunk_payloads(&host, 1, processes, per_message, intervals(config).standard, false);
    if json {
        println!("{}", serde_json::to_string_pretty(&payloads)?);
        return Ok(());
    }
    print_table(&payloads);
    for warning in &warnings {
        println!("warning: {warning}");
    }
    println!(
        "\n{} processes (kernel threads are not reported) in {} payload(s) of at most {per_message}; the reported run took {:.1} ms.",
        payloads.first().map_or(0, |p| p.total_processes),
        payloads.len(),
        collection.duration.as_secs_f64() * 1000.0
    );
    Ok(())
}

fn print_table(payloads: &[ProcessPayload]) {
    let Some(first) = payloads.first() else {
        return;
    };
    let h = &first.host;
    println!(
        "Host {} · {} × {} · {} memory · {} · kernel {} · booted {}",
        h.hostname,
        h.cpu_count,
        if h.cpu_model.is_empty() { "CPU" } else { &h.cpu_model },
        human_bytes(h.memory_total),
        h.os,
        h.kernel,
        format_time(
            u64::try_from(h.boot_time)
                .ok()
                .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
        )
    );
    let mut table = crate::support::terminal_table();
    table.set_header([
        "PID",
        "PPID",
        "USER",
        "CPU%",
        "RSS",
        "THR",
        "FDS",
        "S",
        "AGE",
        "CONTAINER",
        "COMMAND",
    ]);
    let now = SystemTime::now();
    for p in payloads.iter().flat_map(|p| &p.processes) {
        let started = SystemTime::UNIX_EPOCH + Duration::from_millis(p.create_time_ms.max(0) as u64);
        let age = now.duration_since(started).unwrap_or_default();
        let mut command = if p.cmdline.is_empty() {
            format!("[{}]", p.name)
        } else {
            p.cmdline.join(" ")
        };
        if let Some((cut, _)) = command.char_indices().nth(COMMAND_MAX_CHARS) {
            command.truncate(cut);
            command.push('…');
        }
        table.add_row([
            p.pid.to_string(),
            p.ppid.to_string(),
            p.user.clone(),
            format!("{:.1}", p.cpu_total_pct),
            human_bytes(p.rss),
            p.threads.to_string(),
            if p.open_fds < 0 {
                "-".into()
            } else {
                p.open_fds.to_string()
            },
            p.state.clone(),
            human_duration(age.as_secs()),
            p.container_id
                .as_deref()
                .map_or(String::new(), |id| id.chars().take(12).collect()),
            command,
        ]);
    }
    for column in [0, 1, 3, 4, 5, 6] {
        if let Some(c) = table.column_mut(column) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    println!("{table}");
}
