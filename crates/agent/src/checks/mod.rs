//! Checks, as Datadog's agent runs them: configurations from `confd_path` ([`confd`]), one
//! scheduled run per instance at its `min_collection_interval` ([`runner`]), and a [`Sender`]
//! per instance that turns gauge/count/rate/monotonic_count/histogram submissions into series
//! ([`sender`]).
//!
//! The core checks ([`CORE_CHECKS`]: cpu, load, memory, disk, io, network, file_handle,
//! uptime) run with no configuration at all, as Datadog's `conf.yaml.default` files make them;
//! a `conf.d/<name>.d/conf.yaml` replaces the default instance, and
//! `DD_DISABLE_HOST_METRICS=true` turns the defaults off. See docs/adding-a-check.md.

pub mod confd;
pub mod instance;
pub mod postgres;
pub mod python;
pub mod redisdb;
pub mod runner;
pub mod sender;
pub mod system;

use std::collections::BTreeMap;
use std::path::PathBuf;

use dogwatch_model::{CheckRun, Event, Series};
use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::process::HostPaths;
use confd::{CheckConfig, ConfdContents};
use instance::{InstanceOptions, instance_id, parse_keys};
pub use sender::Sender;

/// What one run of a check produced, after the sender's commit.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckOutput {
    /// Metric series, one point each.
    pub series: Vec<Series>,
    /// Service check runs.
    pub service_checks: Vec<CheckRun>,
    /// Events.
    pub events: Vec<Event>,
}

/// Why a check run failed.
#[derive(Debug, Error)]
pub enum CheckError {
    /// A file the check needs could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file did not hold what the check expected.
    #[error("{path} does not look as expected: {detail}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// Anything else the check reports.
    #[error("{0}")]
    Other(String),
}

/// A configured check instance, run on a schedule. It submits through the sender; the
/// runner commits.
pub trait Check: Send {
    /// Collects once.
    fn run(&mut self, sender: &mut Sender) -> Result<(), CheckError>;
}

/// What a check is built from: its instance, its `init_config`, and where the host's files are.
pub struct CheckSetup<'a> {
    /// `init_config`.
    pub init_config: &'a Value,
    /// The instance.
    pub instance: &'a Value,
    /// The instance's position in `instances`, for error messages.
    pub index: usize,
    /// The host's `/proc`, `/sys` and `/etc`.
    pub paths: &'a HostPaths,
}

impl CheckSetup<'_> {
    /// The instance's options as `T`; an error names the key (`instances[0].tags`).
    pub fn instance_options<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        parse_keys(self.instance, &format!("instances[{}]", self.index))
    }

    /// `init_config`'s options as `T`.
    pub fn init_options<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        parse_keys(self.init_config, "init_config")
    }
}

/// A check the agent carries.
pub struct CoreCheck {
    /// Its name, as conf.d and `dogwatch agent check` call it.
    pub name: &'static str,
    /// Makes an instance, or says which option is wrong.
    pub build: fn(&CheckSetup) -> Result<Box<dyn Check>, String>,
}

/// Datadog's core system checks, on by default.
pub const CORE_CHECKS: &[CoreCheck] = &[
    CoreCheck {
        name: system::cpu::NAME,
        build: system::cpu::build,
    },
    CoreCheck {
        name: system::disk::NAME,
        build: system::disk::build,
    },
    CoreCheck {
        name: system::file_handle::NAME,
        build: system::file_handle::build,
    },
    CoreCheck {
        name: system::io::NAME,
        build: system::io::build,
    },
    CoreCheck {
        name: system::load::NAME,
        build: system::load::build,
    },
    CoreCheck {
        name: system::memory::NAME,
        build: system::memory::build,
    },
    CoreCheck {
        name: system::network::NAME,
        build: system::network::build,
    },
    CoreCheck {
        name: system::uptime::NAME,
        build: system::uptime::build,
    },
];

/// Datadog's integrations that dogwatch carries in Rust (`redisdb`, `postgres`): unlike the core
/// checks they run only when a conf.d file configures them.
pub const INTEGRATION_CHECKS: &[CoreCheck] = &[
    CoreCheck {
        name: postgres::NAME,
        build: postgres::build,
    },
    CoreCheck {
        name: redisdb::NAME,
        build: redisdb::build,
    },
];

/// The check called `name`, core or integration.
pub fn core_check(name: &str) -> Option<&'static CoreCheck> {
    CORE_CHECKS.iter().chain(INTEGRATION_CHECKS).find(|c| c.name == name)
}

/// One instance, built and ready to schedule.
pub struct CheckInstance {
    /// The check's name.
    pub name: String,
    /// The check's version, shown in the status header.
    pub version: String,
    /// `name:<hash>` or `name:<instance name>:<hash>`.
    pub id: String,
    /// Where its configuration came from (`file:<path>[i]`, or `default`).
    pub source: String,
    /// Its common options.
    pub options: InstanceOptions,
    /// The check itself.
    pub check: Box<dyn Check>,
}

/// Everything the agent will run, and what it could not.
#[derive(Default)]
pub struct CheckPlan {
    /// Instances to schedule.
    pub instances: Vec<CheckInstance>,
    /// Files or options that could not be used, by check name (status "Config Errors").
    pub config_errors: BTreeMap<String, String>,
    /// Checks that could not be made, by name (status "Loading Errors").
    pub loading_errors: BTreeMap<String, String>,
}

/// Builds every instance from `confd` plus the core checks' defaults. With `host_metrics`
/// false (`DD_DISABLE_HOST_METRICS=true`) the core checks' built-in and `.default`
/// configurations are not used, as Heroku's buildpack renames them away.
pub fn plan(confd: &ConfdContents, paths: &HostPaths, host_metrics: bool) -> CheckPlan {
    plan_with_python(confd, paths, host_metrics, None)
}

/// [`plan`], with the names no Rust check has looked up as Python checks (`checks.d/<name>.py`
/// or a `datadog_checks.<name>` package) by `python`.
pub fn plan_with_python(
    confd: &ConfdContents,
    paths: &HostPaths,
    host_metrics: bool,
    python: Option<&python::Loader>,
) -> CheckPlan {
    let mut plan = CheckPlan {
        config_errors: confd.errors.clone(),
        ..CheckPlan::default()
    };
    let mut names: Vec<String> = CORE_CHECKS.iter().map(|c| c.name.to_string()).collect();
    names.extend(confd.names());
    names.sort();
    names.dedup();
    for name in names {
        let core = core_check(&name);
        let mut configs: Vec<CheckConfig> = confd.for_check(&name).into_iter().cloned().collect();
        if CORE_CHECKS.iter().any(|c| c.name == name) {
            if !host_metrics {
                configs.retain(|c| !c.is_default_file);
            } else if configs.is_empty() && !confd.errors.contains_key(&name) {
                configs.push(CheckConfig::builtin(&name));
            }
        }
        if configs.is_empty() {
            continue;
        }
        let Some(core) = core else {
            if let Some(python) = python
                && python.load(&name, &configs, &mut plan)
            {
                continue;
            }
            let known: Vec<&str> = CORE_CHECKS.iter().chain(INTEGRATION_CHECKS).map(|c| c.name).collect();
            let files: Vec<String> = configs
                .iter()
                .filter_map(|c| c.file.as_ref().map(|f| f.display().to_string()))
                .collect();
            plan.loading_errors.insert(
                name.clone(),
                format!(
                    "no check called `{name}` (configured in {}): dogwatch's checks are {}; {}",
                    files.join(", "),
                    known.join(", "),
                    python.map_or_else(
                        || "Python checks are not looked for here".to_string(),
                        |p| p.not_found(&name)
                    )
                ),
            );
            continue;
        };
        for config in &configs {
            for (index, instance) in config.instances.iter().enumerate() {
                let where_ = config
                    .file
                    .as_ref()
                    .map_or("the default configuration".to_string(), |f| f.display().to_string());
                let options = match InstanceOptions::read(&config.init_config, instance, index) {
                    Ok(o) => o,
                    Err(e) => {
                        append(&mut plan.config_errors, &name, format!("{where_}: {e}"));
                        continue;
                    }
                };
                let setup = CheckSetup {
                    init_config: &config.init_config,
                    instance,
                    index,
                    paths,
                };
                match (core.build)(&setup) {
                    Ok(check) => plan.instances.push(CheckInstance {
                        name: name.clone(),
                        version: dogwatch_model::VERSION.to_string(),
                        id: instance_id(&name, options.name.as_deref(), instance, &config.init_config),
                        source: config.source(index),
                        options,
                        check,
                    }),
                    Err(e) => append(&mut plan.loading_errors, &name, format!("{where_}: {e}")),
                }
            }
        }
    }
    plan
}

fn append(map: &mut BTreeMap<String, String>, name: &str, message: String) {
    tracing::warn!(check = name, error = %message, "A check instance cannot be loaded.");
    map.entry(name.to_string())
        .and_modify(|m| {
            m.push('\n');
            m.push_str(&message);
        })
        .or_insert(message);
}

/// The conf.d directory: `confd_path` when set, else `conf.d` beside the config file, else none.
pub fn confd_dir(confd_path: &str, config_file: Option<&std::path::Path>) -> Option<PathBuf> {
    if !confd_path.is_empty() {
        return Some(PathBuf::from(confd_path));
    }
    config_file.and_then(|f| f.parent()).map(|dir| dir.join("conf.d"))
}

/// The current time in Unix seconds.
pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(plan: &CheckPlan) -> Vec<&str> {
        plan.instances.iter().map(|i| i.name.as_str()).collect()
    }

    #[test]
    fn core_checks_run_by_default_unless_host_metrics_are_disabled() {
        let paths = HostPaths::under(std::path::Path::new("/"));
        let plan = plan(&ConfdContents::default(), &paths, true);
        assert_eq!(
            names(&plan),
            [
                "cpu",
                "disk",
                "file_handle",
                "io",
                "load",
                "memory",
                "network",
                "uptime"
            ]
        );
        assert!(plan.instances.iter().all(|i| i.source == "default"));
        assert!(
            super::plan(&ConfdContents::default(), &paths, false)
                .instances
                .is_empty()
        );
    }

    #[test]
    fn explicit_configs_replace_defaults_and_still_run_with_host_metrics_disabled() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("cpu.d")).unwrap();
        std::fs::write(
            dir.path().join("cpu.d/conf.yaml"),
            "instances:\n  - name: a\n  - name: b\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("load.d")).unwrap();
        std::fs::write(dir.path().join("load.d/conf.yaml.default"), "instances: [{}]\n").unwrap();
        let confd = confd::read_confd(dir.path());
        let paths = HostPaths::under(std::path::Path::new("/"));
        let plan = plan(&confd, &paths, false);
        assert_eq!(
            names(&plan),
            ["cpu", "cpu"],
            "load's .default file is off, cpu's conf.yaml is not"
        );
        assert!(plan.instances[0].id.starts_with("cpu:a:"), "{}", plan.instances[0].id);
        assert!(plan.instances[1].source.ends_with("cpu.d/conf.yaml[1]"));
    }

    #[test]
    fn unknown_checks_and_bad_options_are_reported_and_the_rest_still_load() {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in [
            ("nosuch.d/conf.yaml", "instances: [{}]\n"),
            ("network.d/conf.yaml", "instances:\n  - excluded_interface_re: '('\n"),
            ("load.d/conf.yaml", "instances:\n  - tags: notalist\n"),
        ] {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let paths = HostPaths::under(std::path::Path::new("/"));
        let plan = plan(&confd::read_confd(dir.path()), &paths, true);
        assert!(plan.loading_errors["nosuch"].contains("no check called `nosuch`"));
        assert!(plan.loading_errors["network"].contains("excluded_interface_re"));
        let load = &plan.config_errors["load"];
        assert!(
            load.contains("load.d/conf.yaml") && load.contains("instances[0].tags"),
            "{load}"
        );
        assert!(names(&plan).contains(&"cpu"));
        assert!(!names(&plan).contains(&"load") && !names(&plan).contains(&"network"));
    }

    #[test]
    fn confd_defaults_to_conf_d_beside_the_config_file() {
        assert_eq!(
            confd_dir("", Some(std::path::Path::new("/etc/dd/datadog.yaml"))),
            Some(PathBuf::from("/etc/dd/conf.d"))
        );
        assert_eq!(confd_dir("/x", None), Some(PathBuf::from("/x")));
        assert_eq!(confd_dir("", None), None);
    }
}
