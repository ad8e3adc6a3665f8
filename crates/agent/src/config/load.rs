//! Builds an [`AgentConfig`] from defaults, a `datadog.yaml` file and `DD_*` variables.
//!
//! The defaults are the serialized [`AgentConfig::default`], so the set of known keys and
//! their types come from one place: the struct. The file is overlaid on the defaults, then
//! the environment on the file; each value is first coerced to the default's type (as
//! Datadog's viper does: `"8125"` is a port, `"true"` a boolean, `"a b"` a list), and the
//! origin of each value is remembered.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::env::{self, Environment, ListStyle};
use super::{AgentConfig, ConfigError, secrets};

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum ValueSource {
    /// The built-in default.
    Default,
    /// The config file at this path.
    File(PathBuf),
    /// This environment variable.
    Env(String),
}

impl fmt::Display for ValueSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueSource::Default => f.write_str("default"),
            ValueSource::File(path) => write!(f, "file {}", path.display()),
            ValueSource::Env(name) => write!(f, "env {name}"),
        }
    }
}

/// A loaded configuration with the origin of every value that is not a default.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The typed configuration.
    pub config: AgentConfig,
    /// The file that was read, if any.
    pub file: Option<PathBuf>,
    /// Dotted key -> origin, for values set by the file or the environment.
    pub sources: BTreeMap<String, ValueSource>,
    /// Problems that did not stop loading, e.g. unknown keys in the file.
    pub warnings: Vec<String>,
    /// The `ENC[]` values of the file, resolved by `secret_backend_command` ([`secrets`]).
    pub secrets: Vec<secrets::SecretUse>,
}

impl LoadedConfig {
    /// Where `key`'s value came from.
    pub fn source_of(&self, key: &str) -> ValueSource {
        self.sources.get(key).cloned().unwrap_or(ValueSource::Default)
    }

    /// Every leaf setting as (dotted key, value as JSON, origin), in key order. The API key
    /// is masked to its last five characters, as Datadog shows it.
    pub fn entries(&self) -> Vec<(String, Value, ValueSource)> {
        let tree = serde_json::to_value(&self.config).expect("AgentConfig serializes to JSON");
        let mut leaves = Vec::new();
        flatten(&tree, "", &mut leaves);
        leaves
            .into_iter()
            .map(|(key, value)| {
                let value = if key == "api_key" || key == "app_key" {
                    mask_secret(value)
                } else if self.secrets.iter().any(|u| u.key == key) {
                    Value::String(secrets::MASK.into())
                } else {
                    value.clone()
                };
                let source = self.source_of(&key);
                (key, value, source)
            })
            .collect()
    }
}

/// `***...abcde`: all but the last five characters hidden.
fn mask_secret(value: &Value) -> Value {
    match value.as_str() {
        Some("") | None => value.clone(),
        Some(s) => {
            let tail = dogwatch_model::api_key_tail(s);
            Value::String(format!(
                "{}{tail}",
                "*".repeat(s.chars().count() - tail.chars().count())
            ))
        }
    }
}

/// Loads the configuration: defaults, then `file` (when given), then `env`.
pub fn load(file: Option<&Path>, env: &Environment) -> Result<LoadedConfig, ConfigError> {
    let defaults = serde_json::to_value(AgentConfig::default()).expect("AgentConfig serializes to JSON");
    let mut merged = defaults.clone();
    let mut sources = BTreeMap::new();
    let mut warnings = Vec::new();

    let mut secret_uses = Vec::new();
    if let Some(path) = file {
        let mut tree = read_yaml(path)?;
        let origin = ValueSource::File(path.to_path_buf());
        if !secrets::find_uses(&tree, path).is_empty() {
            let backend = secret_backend(&tree, &defaults, &origin, env)?;
            secret_uses = secrets::resolve_tree(&mut tree, path, backend.as_ref())?;
        }
        overlay_file(&mut merged, &defaults, tree, "", &origin, &mut sources, &mut warnings)?;
    }
    overlay_env(&mut merged, &defaults, env, &mut sources)?;

    let mut config: AgentConfig = serde_path_to_error::deserialize(merged).map_err(|e| {
        let key = e.path().to_string();
        let origin = sources.get(&key).cloned().unwrap_or(ValueSource::Default);
        ConfigError::InvalidValue {
            key,
            origin,
            message: e.into_inner().to_string(),
        }
    })?;
    // Secrets mounted from files often end with a newline; Datadog trims the key too.
    config.api_key = config.api_key.trim().to_string();
    secrets::remember(&config.api_key);
    secrets::remember(&config.app_key);
    let loaded = LoadedConfig {
        config,
        file: file.map(Path::to_path_buf),
        sources,
        warnings,
        secrets: secret_uses,
    };
    validate(&loaded)?;
    Ok(loaded)
}

/// The `secret_backend_*` settings, read from the file's own keys and the environment before
/// the rest of the file (whose `ENC[]` values they resolve).
fn secret_backend(
    tree: &Value,
    defaults: &Value,
    origin: &ValueSource,
    env: &Environment,
) -> Result<Option<secrets::SecretBackend>, ConfigError> {
    let only: Map<String, Value> = tree
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.to_ascii_lowercase().starts_with("secret_backend_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut merged = defaults.clone();
    let mut sources = BTreeMap::new();
    overlay_file(
        &mut merged,
        defaults,
        Value::Object(only),
        "",
        origin,
        &mut sources,
        &mut Vec::new(),
    )?;
    overlay_env(&mut merged, defaults, env, &mut sources)?;
    let config: AgentConfig = serde_json::from_value(merged).map_err(|e| ConfigError::InvalidValue {
        key: "secret_backend_command".into(),
        origin: origin.clone(),
        message: e.to_string(),
    })?;
    Ok(secrets::SecretBackend::from_config(&config))
}

fn read_yaml(path: &Path) -> Result<Value, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let tree: Value = serde_saphyr::from_str(&text).map_err(|e| ConfigError::Yaml {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    match tree {
        Value::Object(_) => Ok(tree),
        Value::Null => Ok(Value::Object(Map::new())),
        other => Err(ConfigError::NotAMapping {
            path: path.to_path_buf(),
            found: describe(&other),
        }),
    }
}

/// Overlays a file's mapping onto `merged`, following the shape of `defaults`.
fn overlay_file(
    merged: &mut Value,
    defaults: &Value,
    given: Value,
    prefix: &str,
    origin: &ValueSource,
    sources: &mut BTreeMap<String, ValueSource>,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let Value::Object(given) = given else {
        unreachable!("callers pass mappings")
    };
    for (name, value) in given {
        // Keys match case-insensitively, as Datadog's viper lower-cases them.
        let name = name.to_ascii_lowercase();
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let Some(default) = defaults.get(&name) else {
            warnings.push(format!("unknown key `{key}` in {origin} is ignored"));
            continue;
        };
        if value.is_null() {
            continue; // `key:` with no value leaves the default, as in Datadog.
        }
        if is_struct(default) {
            if !value.is_object() {
                return Err(invalid(
                    &key,
                    origin,
                    format!("expected a mapping of keys, found {}", describe(&value)),
                ));
            }
            let slot = merged.get_mut(&name).expect("merged has the default's keys");
            overlay_file(slot, default, value, &key, origin, sources, warnings)?;
        } else {
            let coerced = coerce(default, value, env::list_style(&key)).map_err(|m| invalid(&key, origin, m))?;
            merged[name.as_str()] = coerced;
            sources.insert(key, origin.clone());
        }
    }
    Ok(())
}

/// Overlays `DD_*` variables for every known key.
fn overlay_env(
    merged: &mut Value,
    defaults: &Value,
    env: &Environment,
    sources: &mut BTreeMap<String, ValueSource>,
) -> Result<(), ConfigError> {
    let mut leaves = Vec::new();
    flatten(defaults, "", &mut leaves);
    for (key, default) in leaves {
        let Some((name, raw)) = env::env_names(&key)
            .into_iter()
            .find_map(|n| env.get(&n).map(|v| (n.clone(), v.to_string())))
        else {
            continue;
        };
        let origin = ValueSource::Env(name);
        let value = if default.is_object() {
            serde_json::from_str(&raw).map_err(|e| invalid(&key, &origin, format!("expected a JSON object: {e}")))?
        } else {
            Value::String(raw)
        };
        let coerced = coerce(default, value, env::list_style(&key)).map_err(|m| invalid(&key, &origin, m))?;
        *pointer_mut(merged, &key) = coerced;
        sources.insert(key, origin);
    }
    Ok(())
}

/// Converts `given` to the type of `default`, the way Datadog's viper casts values.
fn coerce(default: &Value, given: Value, style: ListStyle) -> Result<Value, String> {
    match default {
        Value::Bool(_) => match &given {
            Value::Bool(_) => Ok(given),
            Value::String(s) => env::parse_bool(s)
                .map(Value::Bool)
                .ok_or_else(|| format!("expected true or false, found {s:?}")),
            Value::Number(n) if n.as_u64() == Some(0) || n.as_u64() == Some(1) => {
                Ok(Value::Bool(n.as_u64() == Some(1)))
            }
            other => Err(format!("expected true or false, found {}", describe(other))),
        },
        Value::Number(n) if n.is_f64() => match &given {
            Value::Number(_) => Ok(given),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("expected a number, found {s:?}")),
            other => Err(format!("expected a number, found {}", describe(other))),
        },
        Value::Number(_) => match &given {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(given),
            Value::String(s) => {
                let s = s.trim();
                s.parse::<u64>()
                    .map(Value::from)
                    .or_else(|_| s.parse::<i64>().map(Value::from))
                    .map_err(|_| format!("expected a whole number, found {s:?}"))
            }
            other => Err(format!("expected a whole number, found {}", describe(other))),
        },
        Value::String(_) => match given {
            Value::String(_) => Ok(given),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            other => Err(format!("expected a string, found {}", describe(&other))),
        },
        Value::Array(_) => match given {
            Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(_) => Ok(item),
                    Value::Number(n) => Ok(Value::String(n.to_string())),
                    Value::Bool(b) => Ok(Value::String(b.to_string())),
                    other => Err(format!(
                        "expected a list of strings, found an item that is {}",
                        describe(&other)
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Value::String(s) => {
                env::split_list(&s, style).map(|v| Value::Array(v.into_iter().map(Value::String).collect()))
            }
            other => Err(format!("expected a list, found {}", describe(&other))),
        },
        Value::Object(_) => match given {
            Value::Object(_) => Ok(given),
            other => Err(format!("expected a mapping, found {}", describe(&other))),
        },
        Value::Null => Ok(given),
    }
}

/// Checks rules that the types alone do not express.
fn validate(loaded: &LoadedConfig) -> Result<(), ConfigError> {
    let c = &loaded.config;
    let fail = |key: &str, message: String| Err(invalid(key, &loaded.source_of(key), message));

    const AGGREGATES: [&str; 6] = ["max", "min", "median", "avg", "sum", "count"];
    if let Some(bad) = c
        .histogram_aggregates
        .iter()
        .find(|a| !AGGREGATES.contains(&a.as_str()))
    {
        return fail(
            "histogram_aggregates",
            format!("unknown aggregate {bad:?}; expected any of {}", AGGREGATES.join(", ")),
        );
    }
    for p in &c.histogram_percentiles {
        match p.trim().parse::<f64>() {
            Ok(v) if v > 0.0 && v < 1.0 => {}
            _ => {
                return fail(
                    "histogram_percentiles",
                    format!("{p:?} is not a percentile; write each as a number between 0 and 1, e.g. 0.95"),
                );
            }
        }
    }
    let intervals = c.process_config.intervals;
    if intervals.process_realtime == 0 {
        return fail(
            "process_config.intervals.process_realtime",
            "must be at least 1 second".into(),
        );
    }
    if intervals.process == 0 || !intervals.process.is_multiple_of(intervals.process_realtime) {
        return fail(
            "process_config.intervals.process",
            format!(
                "must be a positive multiple of process_config.intervals.process_realtime ({} s), got {}",
                intervals.process_realtime, intervals.process
            ),
        );
    }
    let loopback = c.cmd_host == "localhost" || c.cmd_host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return fail(
            "cmd_host",
            format!(
                "the local API is for this host's own commands (`dogwatch status`), so it only binds loopback addresses (localhost, 127.0.0.1, ::1), got {:?}",
                c.cmd_host
            ),
        );
    }
    const MAX_BACKOFF_SECONDS: f64 = 86_400.0;
    for (key, value) in [
        ("forwarder_backoff_base", c.forwarder_backoff_base),
        ("forwarder_backoff_max", c.forwarder_backoff_max),
    ] {
        if !(value > 0.0 && value <= MAX_BACKOFF_SECONDS) {
            return fail(
                key,
                format!("must be more than 0 and at most {MAX_BACKOFF_SECONDS} seconds, got {value}"),
            );
        }
    }
    if c.forwarder_backoff_max < c.forwarder_backoff_base {
        return fail(
            "forwarder_backoff_max",
            format!("must be at least forwarder_backoff_base ({})", c.forwarder_backoff_base),
        );
    }
    if c.forwarder_timeout == 0 {
        return fail("forwarder_timeout", "must be at least 1 second".into());
    }
    if c.check_interval == 0 {
        return fail("check_interval", "must be at least 1 second".into());
    }
    if !c.dd_url.is_empty() {
        match reqwest::Url::parse(&c.dd_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            Ok(_) => {
                return fail(
                    "dd_url",
                    format!("must be an http:// or https:// URL with a host, got {:?}", c.dd_url),
                );
            }
            Err(e) => return fail("dd_url", format!("{:?} is not a URL: {e}", c.dd_url)),
        }
    }
    if !c.api_key.bytes().all(|b| b.is_ascii_graphic()) {
        return fail(
            "api_key",
            "may only hold printable ASCII characters without spaces".into(),
        );
    }
    Ok(())
}

fn invalid(key: &str, origin: &ValueSource, message: String) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.to_string(),
        origin: origin.clone(),
        message,
    }
}

/// A mapping with known keys (a nested config struct), as opposed to a free-form map.
fn is_struct(default: &Value) -> bool {
    default.as_object().is_some_and(|m| !m.is_empty())
}

/// Collects (dotted key, value) for every leaf; free-form maps are leaves.
fn flatten<'a>(tree: &'a Value, prefix: &str, out: &mut Vec<(String, &'a Value)>) {
    match tree {
        Value::Object(map) if !map.is_empty() => {
            for (name, value) in map {
                let key = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(value, &key, out);
            }
        }
        leaf => out.push((prefix.to_string(), leaf)),
    }
}

fn pointer_mut<'a>(tree: &'a mut Value, key: &str) -> &'a mut Value {
    key.split('.').fold(tree, |node, part| &mut node[part])
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
