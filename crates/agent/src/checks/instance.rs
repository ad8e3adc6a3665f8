//! The options every check instance takes, and its ID, as Datadog's CommonConfigure
//! (pkg/collector/corechecks/checkbase.go) and pkg/collector/check/id read them.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// Datadog's default collection interval for checks.
pub const DEFAULT_MIN_COLLECTION_INTERVAL: Duration = Duration::from_secs(15);

/// The options common to every instance; `init_config` gives defaults for
/// `min_collection_interval` and `service`, the instance overrides them.
#[derive(Debug, Clone, Default, Deserialize)]
struct CommonOptions {
    min_collection_interval: Option<f64>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    service: Option<String>,
    empty_default_hostname: Option<bool>,
    name: Option<String>,
}

/// An instance's common options, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceOptions {
    /// `min_collection_interval`: seconds between runs. Defaults to 15.
    pub interval: Duration,
    /// `tags`, plus `service:<service>` when `service` is set. Defaults to none.
    pub tags: Vec<String>,
    /// `empty_default_hostname`: send without a host when the check names none. Defaults to
    /// false.
    pub empty_default_hostname: bool,
    /// `name`: the instance's name, part of its ID. Defaults to none.
    pub name: Option<String>,
}

impl InstanceOptions {
    /// Reads the common options of `instance` over `init_config`. Errors name the key.
    pub fn read(init_config: &Value, instance: &Value, index: usize) -> Result<InstanceOptions, String> {
        let init: CommonOptions = parse_keys(init_config, "init_config")?;
        let inst: CommonOptions = parse_keys(instance, &format!("instances[{index}]"))?;
        let seconds = inst
            .min_collection_interval
            .or(init.min_collection_interval)
            .unwrap_or(DEFAULT_MIN_COLLECTION_INTERVAL.as_secs_f64());
        if !(seconds.is_finite() && seconds > 0.0) {
            let key = if inst.min_collection_interval.is_some() {
                format!("instances[{index}].min_collection_interval")
            } else {
                "init_config.min_collection_interval".to_string()
            };
            return Err(format!("`{key}` must be a number of seconds above 0, not {seconds}"));
        }
        let mut tags = inst.tags.unwrap_or_default();
        if let Some(service) = inst.service.or(init.service).filter(|s| !s.is_empty()) {
            tags.push(format!("service:{service}"));
        }
        Ok(InstanceOptions {
            interval: Duration::from_secs_f64(seconds),
            tags,
            empty_default_hostname: inst.empty_default_hostname.unwrap_or(false),
            name: inst.name.filter(|n| !n.is_empty()),
        })
    }
}

/// Deserializes `value` as `T`, with an error that names the key (`instances[0].tags`).
pub fn parse_keys<T: serde::de::DeserializeOwned>(value: &Value, prefix: &str) -> Result<T, String> {
    let value = if value.is_null() {
        Value::Object(Default::default())
    } else {
        value.clone()
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let key = if path == "." {
            prefix.to_string()
        } else {
            format!("{prefix}.{path}")
        };
        format!("`{key}`: {}", e.into_inner())
    })
}

/// The instance's ID as Datadog prints it: `name:<hex>`, or `name:<instance name>:<hex>`, the
/// hex being the 64-bit FNV-1 hash of the instance and `init_config` (serialized with sorted keys).
pub fn instance_id(check: &str, instance_name: Option<&str>, instance: &Value, init_config: &Value) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in instance.to_string().bytes().chain(init_config.to_string().bytes()) {
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        hash ^= u64::from(byte);
    }
    match instance_name {
        Some(name) => format!("{check}:{name}:{hash:x}"),
        None => format!("{check}:{hash:x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_instance_overrides_init_config_and_service_becomes_a_tag() {
        let o = InstanceOptions::read(
            &json!({"min_collection_interval": 30, "service": "base"}),
            &json!({"min_collection_interval": 5, "tags": ["a:1"], "service": "web", "name": "main"}),
            0,
        )
        .unwrap();
        assert_eq!(o.interval, Duration::from_secs(5));
        assert_eq!(o.tags, ["a:1", "service:web"]);
        assert_eq!(o.name.as_deref(), Some("main"));
        let o = InstanceOptions::read(
            &json!({"min_collection_interval": 30, "service": "base"}),
            &json!({}),
            0,
        )
        .unwrap();
        assert_eq!(
            (o.interval, o.tags),
            (Duration::from_secs(30), vec!["service:base".to_string()])
        );
        let o = InstanceOptions::read(&json!({}), &json!({}), 0).unwrap();
        assert_eq!(o.interval, DEFAULT_MIN_COLLECTION_INTERVAL);
    }

    #[test]
    fn a_wrong_type_is_an_error_naming_the_key() {
        let err = InstanceOptions::read(&json!({}), &json!({"tags": "a:1"}), 2).unwrap_err();
        assert!(err.starts_with("`instances[2].tags`"), "{err}");
        let err = InstanceOptions::read(&json!({}), &json!({"min_collection_interval": "often"}), 0).unwrap_err();
        assert!(err.contains("instances[0].min_collection_interval"), "{err}");
        let err = InstanceOptions::read(&json!({"min_collection_interval": 0}), &json!({}), 0).unwrap_err();
        assert!(err.contains("init_config.min_collection_interval"), "{err}");
    }

    #[test]
    fn ids_are_stable_differ_by_config_and_carry_the_instance_name() {
        let a = instance_id("cpu", None, &json!({}), &json!({}));
        assert_eq!(a, instance_id("cpu", None, &json!({}), &json!({})));
        assert!(a.starts_with("cpu:") && a.len() > 8, "{a}");
        assert_ne!(a, instance_id("cpu", None, &json!({"tags": ["x"]}), &json!({})));
        let named = instance_id("redisdb", Some("cache"), &json!({}), &json!({}));
        assert!(named.starts_with("redisdb:cache:"), "{named}");
    }
}
