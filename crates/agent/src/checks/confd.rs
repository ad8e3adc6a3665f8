//! Reading check configurations from `confd_path`, as Datadog's file config provider does
//! (comp/core/autodiscovery/providers/file.go).
//!
//! For a check called `NAME`, these files are read:
//! - every `NAME.d/*.yaml` (and `.yml`) file, each a configuration of its own;
//! - `NAME.d/conf.yaml.default`, only when no other file configures `NAME`;
//! - the legacy `NAME.yaml` (and `NAME.yaml.default`) directly in `confd_path`.
//!
//! Each file holds `init_config:` and `instances:` (a list; one scheduled run per instance).
//! `auto_conf.yaml` files are autodiscovery templates for containers and are not read here;
//! files holding only `logs:` configure log collection, which dogwatch does not do, and are
//! skipped. A file that is not YAML, or whose `instances` is not a list of maps, is a config
//! error naming the file and the key; the other files still load.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::secrets::{self, SecretBackend, SecretError, SecretUse};

/// One check's configuration from one file (or the built-in default).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckConfig {
    /// The check's name, from the directory or file name.
    pub name: String,
    /// The file it came from; `None` for a built-in default.
    pub file: Option<PathBuf>,
    /// Whether it came from a `.default` file (used only when nothing else configures the check).
    pub is_default_file: bool,
    /// `init_config`, a map (empty when absent or null).
    pub init_config: Value,
    /// `instances`, each a map.
    pub instances: Vec<Value>,
}

impl CheckConfig {
    /// A built-in configuration with one empty instance, for a core check on by default.
    pub fn builtin(name: &str) -> CheckConfig {
        CheckConfig {
            name: name.to_string(),
            file: None,
            is_default_file: false,
            init_config: Value::Object(Default::default()),
            instances: vec![Value::Object(Default::default())],
        }
    }

    /// Where instance `index` came from, as Datadog's status prints it: `file:<path>[index]`
    /// (the index only when the file has several instances), or `default` for a built-in one.
    pub fn source(&self, index: usize) -> String {
        match &self.file {
            None => "default".to_string(),
            Some(path) if self.instances.len() > 1 => format!("file:{}[{index}]", path.display()),
            Some(path) => format!("file:{}", path.display()),
        }
    }
}

/// What reading `confd_path` found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfdContents {
    /// Every configuration that parsed, `.default` files included, in file name order.
    pub configs: Vec<CheckConfig>,
    /// Files that could not be used, by check name: the status's "Config Errors".
    pub errors: BTreeMap<String, String>,
}

impl ConfdContents {
    /// The configurations of `name` that apply: the non-default files, else the `.default`
    /// ones.
    pub fn for_check(&self, name: &str) -> Vec<&CheckConfig> {
        let all: Vec<&CheckConfig> = self.configs.iter().filter(|c| c.name == name).collect();
        if all.iter().any(|c| !c.is_default_file) {
            all.into_iter().filter(|c| !c.is_default_file).collect()
        } else {
            all
        }
    }

    /// Resolves the `ENC[]` values of every configuration's `init_config` and `instances`
    /// with one run of `backend`; returns where each handle is used (file and key).
    pub fn resolve_secrets(&mut self, backend: Option<&SecretBackend>) -> Result<Vec<SecretUse>, SecretError> {
        let uses = self.secret_uses();
        if uses.is_empty() {
            return Ok(uses);
        }
        let values = secrets::resolve(&uses, backend)?;
        for config in &mut self.configs {
            secrets::substitute(&mut config.init_config, &values);
            config
                .instances
                .iter_mut()
                .for_each(|i| secrets::substitute(i, &values));
        }
        Ok(uses)
    }

    /// Every `ENC[]` value in the configurations, with its file and key
    /// (`instances[0].password`), without resolving any.
    pub fn secret_uses(&self) -> Vec<SecretUse> {
        let mut uses = Vec::new();
        for config in &self.configs {
            let Some(file) = &config.file else { continue };
            let tree = serde_json::json!({"init_config": config.init_config, "instances": config.instances});
            uses.extend(secrets::find_uses(&tree, file));
        }
        uses
    }

    /// Every check name that has a configuration or a config error.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.configs.iter().map(|c| c.name.clone()).collect();
        names.extend(self.errors.keys().cloned());
        names.sort();
        names.dedup();
        names
    }
}

/// Reads every check configuration under `dir`. A missing directory holds none; an
/// unreadable one is a config error under the name `confd_path`.
pub fn read_confd(dir: &Path) -> ConfdContents {
    let mut contents = ConfdContents::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return contents,
        Err(e) => {
            contents
                .errors
                .insert("confd_path".into(), format!("cannot read {}: {e}", dir.display()));
            return contents;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        if path.is_dir() {
            let Some(name) = file_name.strip_suffix(".d") else {
                continue;
            };
            let Ok(inner) = std::fs::read_dir(&path) else {
                contents.errors.insert(
                    name.to_string(),
                    format!("cannot read the directory {}", path.display()),
                );
                continue;
            };
            let mut files: Vec<PathBuf> = inner.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for file in files {
                let Some(inner_name) = file.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                if inner_name.starts_with("auto_conf.") || inner_name.starts_with("metrics.") {
                    continue;
                }
                if let Some(is_default) = config_file_kind(inner_name) {
                    read_one(&mut contents, name, &file, is_default);
                }
            }
        } else if let Some(is_default) = config_file_kind(&file_name) {
            let stem = file_name.trim_end_matches(".default");
            let name = stem.trim_end_matches(".yaml").trim_end_matches(".yml");
            read_one(&mut contents, name, &path, is_default);
        }
    }
    contents
}

/// `Some(is_default)` for a YAML config file name, `None` for anything else.
fn config_file_kind(name: &str) -> Option<bool> {
    if name.ends_with(".yaml") || name.ends_with(".yml") {
        Some(false)
    } else if name.ends_with(".yaml.default") || name.ends_with(".yml.default") {
        Some(true)
    } else {
        None
    }
}

fn read_one(contents: &mut ConfdContents, name: &str, path: &Path, is_default: bool) {
    match parse_config(name, path, is_default) {
        Ok(Some(config)) => contents.configs.push(config),
        Ok(None) => {}
        Err(message) => {
            tracing::warn!(check = name, file = %path.display(), error = %message, "A check configuration cannot be used.");
            contents.errors.insert(name.to_string(), message);
        }
    }
}

/// Parses one file; `Ok(None)` for a file that configures no check instances but is not
/// wrong (only `logs:`).
fn parse_config(name: &str, path: &Path, is_default: bool) -> Result<Option<CheckConfig>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_config_text(name, path, is_default, &text)
}

/// Parses a file's text (split out for tests).
pub(crate) fn parse_config_text(
    name: &str,
    path: &Path,
    is_default: bool,
    text: &str,
) -> Result<Option<CheckConfig>, String> {
    let shown = path.display();
    let root: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_saphyr::from_str(text).map_err(|e| format!("{shown} is not valid YAML: {e}"))?
    };
    let map = match root {
        Value::Object(map) => map,
        Value::Null => return Err(format!("{shown} is empty: it needs `init_config:` and `instances:`")),
        other => {
            return Err(format!(
                "{shown} must be a map with `init_config:` and `instances:`, not {}",
                kind_of(&other)
            ));
        }
    };
    let init_config = match map.get("init_config") {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(other) => return Err(format!("{shown}: `init_config` must be a map, not {}", kind_of(other))),
    };
    let instances = match map.get("instances") {
        None | Some(Value::Null) => {
            if map.contains_key("logs") {
                return Ok(None);
            }
            return Err(format!(
                "{shown}: `instances` is missing: the file configures no check instance"
            ));
        }
        Some(Value::Array(list)) => list.clone(),
        Some(other) => return Err(format!("{shown}: `instances` must be a list, not {}", kind_of(other))),
    };
    for (i, instance) in instances.iter().enumerate() {
        if !instance.is_object() {
            return Err(format!(
                "{shown}: `instances[{i}]` must be a map of options, not {}",
                kind_of(instance)
            ));
        }
    }
    if instances.is_empty() {
        return Err(format!(
            "{shown}: `instances` is empty: the file configures no check instance"
        ));
    }
    Ok(Some(CheckConfig {
        name: name.to_string(),
        file: Some(path.to_path_buf()),
        is_default_file: is_default,
        init_config,
        instances,
    }))
}

/// A YAML value's kind, for error messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn reads_directories_legacy_files_and_defaults_by_datadogs_rules() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "disk.d/conf.yaml", "init_config:\ninstances:\n  - use_mount: true\n");
        write(d, "disk.d/conf.yaml.default", "init_config:\ninstances:\n  - {}\n");
        write(d, "cpu.d/conf.yaml.default", "init_config:\ninstances:\n  - {}\n");
        write(d, "load.yaml", "init_config: {}\ninstances: [{tags: [a:1]}, {}]\n");
        write(d, "network.d/extra.yml", "instances:\n  - excluded_interfaces: [lo]\n");
        write(d, "redisdb.d/auto_conf.yaml", "ad_identifiers: [redis]\n");
        write(d, "nginx.d/conf.yaml", "logs:\n  - type: file\n");
        write(d, "README.md", "not a config");
        let c = read_confd(d);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        let disk = c.for_check("disk");
        assert_eq!(disk.len(), 1);
        assert!(!disk[0].is_default_file, "conf.yaml wins over conf.yaml.default");
        assert_eq!(disk[0].instances[0]["use_mount"], Value::Bool(true));
        assert!(c.for_check("cpu")[0].is_default_file, "a lone default is used");
        let load = c.for_check("load");
        assert_eq!(load[0].instances.len(), 2);
        assert!(load[0].source(1).ends_with("load.yaml[1]"), "{}", load[0].source(1));
        assert_eq!(c.for_check("network").len(), 1);
        assert!(c.for_check("redisdb").is_empty() && c.for_check("nginx").is_empty());
    }

    #[test]
    fn a_file_that_is_not_yaml_is_an_error_naming_the_file_and_others_still_load() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "cpu.d/conf.yaml", "instances:\n  - [unclosed\n");
        write(dir.path(), "load.d/conf.yaml", "instances:\n  - {}\n");
        let c = read_confd(dir.path());
        let err = &c.errors["cpu"];
        assert!(
            err.contains("cpu.d/conf.yaml") && err.contains("not valid YAML"),
            "{err}"
        );
        assert_eq!(c.for_check("load").len(), 1);
    }

    #[test]
    fn instances_that_are_not_a_list_of_maps_are_errors_naming_the_key() {
        let p = Path::new("/etc/dd/conf.d/io.d/conf.yaml");
        let err = parse_config_text("io", p, false, "instances:\n  host: x\n").unwrap_err();
        assert!(
            err.contains("io.d/conf.yaml") && err.contains("`instances` must be a list, not a map"),
            "{err}"
        );
        let err = parse_config_text("io", p, false, "instances:\n  - 3\n").unwrap_err();
        assert!(err.contains("`instances[0]` must be a map"), "{err}");
        let err = parse_config_text("io", p, false, "init_config: 4\ninstances: [{}]\n").unwrap_err();
        assert!(err.contains("`init_config` must be a map"), "{err}");
        let err = parse_config_text("io", p, false, "init_config:\n").unwrap_err();
        assert!(err.contains("`instances` is missing"), "{err}");
        let err = parse_config_text("io", p, false, "- a\n- b\n").unwrap_err();
        assert!(err.contains("must be a map"), "{err}");
    }

    #[test]
    fn a_missing_directory_holds_no_configuration() {
        let c = read_confd(Path::new("/nonexistent/conf.d"));
        assert_eq!(c, ConfdContents::default());
    }
}
