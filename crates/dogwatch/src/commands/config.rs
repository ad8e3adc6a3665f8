//! `dogwatch config`: the effective configuration with the origin of every value.

use anyhow::Result;
use comfy_table::{ContentArrangement, Table, presets};
use dogwatch_agent::{heroku, hostname};
use serde_json::{Value, json};

use crate::ConfigArgs;
use crate::support;

/// Prints every setting with its value and source, then the hostname and host tags.
pub fn run(args: ConfigArgs) -> Result<()> {
    let env = support::agent_environment()?;
    let loaded = support::load_config(&args.config, &env)?;
    let identity = hostname::resolve(&loaded.config, &env);
    let entries = loaded.entries();

    if args.json {
        let settings: Vec<Value> = entries
            .iter()
            .map(|(key, value, source)| json!({"key": key, "value": value, "source": source}))
            .collect();
        let identity_json = match &identity {
            Ok(id) => json!({
                "hostname": id.hostname,
                "hostname_provider": id.provider,
                "host_tags": id.host_tags,
                "unused_hostname_providers": id.unused_providers.iter().map(|(p, reason)| json!({"provider": p, "reason": reason})).collect::<Vec<_>>(),
                "hostname_error": null,
            }),
            Err(e) => {
                json!({"hostname": null, "hostname_provider": null, "host_tags": null, "hostname_error": e.to_string()})
            }
        };
        let heroku_configs = heroku::database_configs(&env);
        let generated: Vec<Value> = heroku_configs
            .masked_instances()
            .into_iter()
            .map(|(check, source, instance)| json!({"check": check, "source": source, "instance": instance}))
            .collect();
        let mut out = json!({
            "config_file": loaded.file,
            "settings": settings,
            "warnings": loaded.warnings,
            "heroku_generated_instances": generated,
            "heroku_warnings": heroku_configs.warnings_by_check(),
        });
        out.as_object_mut()
            .expect("an object")
            .extend(identity_json.as_object().expect("an object").clone());
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }

    match &loaded.file {
        Some(path) => println!("Config file: {}", path.display()),
        None => println!("Config file: none (defaults and DD_* variables only)"),
    }
    for warning in &loaded.warnings {
        println!("Warning: {warning}");
    }
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(["Key", "Value", "Source"]);
    for (key, value, source) in &entries {
        let shown = match value {
            Value::String(s) => s.clone(),
            Value::Array(items) if items.iter().all(Value::is_string) => {
                items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" ")
            }
            other => other.to_string(),
        };
        table.add_row([key.clone(), shown, source.to_string()]);
    }
    println!("{table}");
    print_heroku_instances(&env);
    match identity {
        Ok(id) => {
            println!("Hostname: {} (from {})", id.hostname, id.provider);
            let tags = if id.host_tags.is_empty() {
                "none".to_string()
            } else {
                id.host_tags.join(" ")
            };
            println!("Host tags: {tags}");
            for (provider, reason) in &id.unused_providers {
                println!("Unused hostname provider {provider}: {reason}");
            }
        }
        Err(e) => println!("Hostname: cannot be resolved: {e}"),
    }
    Ok(())
}

/// The check instances Heroku's variables generate (`DD_ENABLE_HEROKU_REDIS`, …), with
/// passwords masked, and the variables that cannot be used.
fn print_heroku_instances(env: &dogwatch_agent::config::Environment) {
    let configs = heroku::database_configs(env);
    let generated = configs.masked_instances();
    let warnings = configs.warnings_by_check();
    if generated.is_empty() && warnings.is_empty() {
        return;
    }
    println!("Check instances from Heroku variables:");
    for (check, source, instance) in &generated {
        println!("  {check} (from {source}): {instance}");
    }
    for (check, list) in &warnings {
        for warning in list {
            println!("  Warning ({check}): {warning}");
        }
    }
}
