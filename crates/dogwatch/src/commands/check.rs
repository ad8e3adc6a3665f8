//! `dogwatch agent check <name>`: run a check's instances once and print their output, and
//! `dogwatch agent check --list`.

use std::time::Duration;

use anyhow::{Result, bail};
use comfy_table::{ContentArrangement, Table, presets};
use dogwatch_agent::checks::runner::{RunOutcome, run_once};
use dogwatch_agent::checks::{CheckOutput, CheckPlan};
use dogwatch_agent::{hostname, runtime};

use crate::support;
use crate::{CheckArgs, ConfigFileArgs};

/// Runs the named check's instances and prints their series, service checks and events;
/// nothing is sent.
pub fn run(config: ConfigFileArgs, args: CheckArgs) -> Result<()> {
    let env = support::agent_environment()?;
    let loaded = support::load_config(&config, &env)?;
    let identity = hostname::resolve(&loaded.config, &env)?;
    let name = args.name.clone().unwrap_or_default();
    if !args.list && name == "process" {
        return super::process_check::run(&loaded.config, &identity, &env, args.json);
    }
    let data_dir = support::data_dir_path(&crate::DataDirArgs {
        data_dir: env.get("DOGWATCH_DATA_DIR").map(std::path::PathBuf::from),
    })?;
    let python = runtime::python_loader(&loaded, &env, &identity, &runtime::run_path(&loaded.config, &data_dir));
    let plan = runtime::check_plan(&loaded, &env, Some(&python))?;
    if args.list {
        list(&plan);
        return Ok(());
    }
    let settings = runtime::runner_settings(&loaded.config, &identity);
    let instances: Vec<_> = plan.instances.into_iter().filter(|i| i.name == name).collect();
    if instances.is_empty() {
        if let Some(error) = plan.config_errors.get(&name).or(plan.loading_errors.get(&name)) {
            bail!("the check {name:?} cannot run:\n{error}");
        }
        let mut known: Vec<&str> = dogwatch_agent::checks::CORE_CHECKS
            .iter()
            .chain(dogwatch_agent::checks::INTEGRATION_CHECKS)
            .map(|c| c.name)
            .collect();
        known.push("process");
        bail!(
            "there is no check called {name:?} (and no conf.d file configures one); available checks: {}",
            known.join(", ")
        );
    }
    let mut failed = false;
    let mut json = Vec::new();
    for mut instance in instances {
        let mut sender = settings.sender_for(&instance);
        let mut outcome = run_once(instance.check.as_mut(), &mut sender);
        if outcome.result.is_ok() && sender.needs_second_run() {
            std::thread::sleep(Duration::from_secs(1));
            outcome = run_once(instance.check.as_mut(), &mut sender);
        }
        failed |= outcome.result.is_err();
        // A failed run's service checks (redis.can_connect CRITICAL, …) are still sent.
        let failed_service_checks = sender.take_failed_service_checks();
        if args.json {
            json.push(serde_json::json!({
                "check": instance.name,
                "instance_id": instance.id,
                "source": instance.source,
                "error": outcome.result.as_ref().err(),
                "warnings": outcome.warnings,
                "metadata": sender.metadata(),
                "output": outcome.result.as_ref().ok(),
                "failed_run_service_checks": failed_service_checks,
            }));
        } else {
            print_outcome(
                &instance.name,
                &instance.version,
                &instance.id,
                &instance.source,
                &outcome,
                &failed_service_checks,
                sender.metadata(),
            );
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    if failed {
        bail!("the check {name:?} failed");
    }
    Ok(())
}

fn list(plan: &CheckPlan) {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_header(["Check", "Instance ID", "Configuration Source"]);
    for i in &plan.instances {
        table.add_row([i.name.as_str(), i.id.as_str(), i.source.as_str()]);
    }
    table.add_row(["process", "process", "built-in (live processes)"]);
    for (kind, errors) in [
        ("config error", &plan.config_errors),
        ("loading error", &plan.loading_errors),
    ] {
        for (name, error) in errors {
            table.add_row([name.as_str(), "-", &format!("{kind}: {}", error.replace('\n', "; "))]);
        }
    }
    println!("{table}");
}

fn print_outcome(
    name: &str,
    version: &str,
    id: &str,
    source: &str,
    outcome: &RunOutcome,
    failed_service_checks: &[dogwatch_model::CheckRun],
    metadata: &std::collections::BTreeMap<String, String>,
) {
    let empty = CheckOutput {
        service_checks: failed_service_checks.to_vec(),
        ..CheckOutput::default()
    };
    let output = outcome.result.as_ref().unwrap_or(&empty);
    println!("=== Series ===");
    let mut series = Table::new();
    series
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    series.set_header(["Metric", "Type", "Value", "Timestamp", "Host", "Tags"]);
    for s in &output.series {
        for (ts, value) in &s.points {
            series.add_row([
                s.metric.clone(),
                s.kind.name().into(),
                value.to_string(),
                ts.to_string(),
                s.host.clone().unwrap_or_default(),
                s.tags.join(" "),
            ]);
        }
    }
    println!("{series}");
    println!("=== Service Checks ===");
    if output.service_checks.is_empty() {
        println!("(none)");
    }
    for sc in &output.service_checks {
        println!("{} {} on {} {}", sc.check, sc.status.name(), sc.host_name, sc.message);
    }
    println!("=== Events ===");
    if output.events.is_empty() {
        println!("(none)");
    }
    for e in &output.events {
        println!("{}: {}", e.title, e.text);
    }
    println!();
    println!("    {name} ({version})");
    println!("    {}", "-".repeat(name.len() + version.len() + 3));
    let state = match (&outcome.result, outcome.warnings.is_empty()) {
        (Err(_), _) => "ERROR",
        (Ok(_), false) => "WARNING",
        (Ok(_), true) => "OK",
    };
    println!("      Instance ID: {id} [{state}]");
    println!("      Configuration Source: {source}");
    println!("      Metric Samples: Last Run: {}", output.series.len());
    println!("      Service Checks: Last Run: {}", output.service_checks.len());
    println!("      Average Execution Time : {}ms", outcome.elapsed.as_millis());
    if !metadata.is_empty() {
        println!("      metadata:");
        for (key, value) in metadata {
            println!("        {key}: {value}");
        }
    }
    if let Err(e) = &outcome.result {
        println!("      Error: {e}");
    }
    for w in &outcome.warnings {
        println!("      Warning: {w}");
    }
    println!();
    match &outcome.result {
        Ok(_) => println!("Check {name} ({version}) ran successfully."),
        Err(_) => println!("Check {name} ({version}) failed."),
    }
}
