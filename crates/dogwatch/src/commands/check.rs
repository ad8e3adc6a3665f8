//! `dogwatch agent check <name>`: run one check once and print its output.

use anyhow::{Result, bail};
use comfy_table::{ContentArrangement, Table, presets};
use dogwatch_agent::checks::{self, CheckContext};
use dogwatch_agent::config::Environment;
use dogwatch_agent::hostname;

use crate::support;
use crate::{CheckArgs, ConfigFileArgs};

/// Runs the named check and prints its series and service checks; nothing is sent.
pub fn run(config: ConfigFileArgs, args: CheckArgs) -> Result<()> {
    if args.list {
        for name in checks::CHECK_NAMES {
            println!("{name}");
        }
        println!("process");
        return Ok(());
    }
    let name = args.name.unwrap_or_default();
    if name == "process" {
        let env = Environment::from_process();
        let loaded = support::load_config(&config, &env)?;
        let identity = hostname::resolve(&loaded.config, &env)?;
        return super::process_check::run(&loaded.config, &identity, &env, args.json);
    }
    let Some(mut check) = checks::build(&name) else {
        bail!(
            "there is no check called {name:?}; available checks: {}, process",
            checks::CHECK_NAMES.join(", ")
        );
    };
    let env = Environment::from_process();
    let loaded = support::load_config(&config, &env)?;
    let identity = hostname::resolve(&loaded.config, &env)?;
    let ctx = CheckContext::new(identity.hostname, identity.host_tags, &env);
    let output = check.run(&ctx)?;

    if args.json {
        println!("{}", serde_json::to_string_pretty(&output)?);
        return Ok(());
    }
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
    println!("\nCheck {} ({}) ran successfully.", check.name(), check.version());
    Ok(())
}
