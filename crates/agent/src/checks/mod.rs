//! Checks: small collectors that run on a schedule and produce metrics and service checks.
//!
//! A check implements [`Check`]; [`build`] makes one by name (what `dogwatch agent check
//! <name>` and the scheduler use); [`runner::CheckRunner`] runs them every
//! `check_interval` seconds and forwards what they produce, together with the agent's own
//! `datadog.agent.up` service check. See docs/adding-a-check.md.

pub mod runner;
mod uptime;

use std::path::PathBuf;

use dogwatch_model::{CheckRun, Series};
use serde::Serialize;
use thiserror::Error;

/// What a check knows about the host it runs on.
#[derive(Debug, Clone)]
pub struct CheckContext {
    /// The agent's hostname, put on every series and service check.
    pub hostname: String,
    /// Host tags, added to every series and service check.
    pub host_tags: Vec<String>,
    /// Where /proc is (`HOST_PROC`, default `/proc`).
    pub proc_root: PathBuf,
}

impl CheckContext {
    /// A context for this host, honouring `HOST_PROC`.
    pub fn new(hostname: String, host_tags: Vec<String>, env: &crate::config::Environment) -> CheckContext {
        let proc_root = PathBuf::from(env.get("HOST_PROC").unwrap_or("/proc"));
        CheckContext {
            hostname,
            host_tags,
            proc_root,
        }
    }
}

/// What one run of a check produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckOutput {
    /// Metric series, one point each.
    pub series: Vec<Series>,
    /// Service check runs.
    pub service_checks: Vec<CheckRun>,
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
}

/// A collector run on a schedule.
pub trait Check: Send {
    /// The check's name, as `dogwatch agent check <name>` takes it.
    fn name(&self) -> &'static str;

    /// The check's version, shown by `dogwatch status`.
    fn version(&self) -> &'static str {
        dogwatch_model::VERSION
    }

    /// Collects once.
    fn run(&mut self, ctx: &CheckContext) -> Result<CheckOutput, CheckError>;
}

/// The names of every built-in check.
pub const CHECK_NAMES: &[&str] = &[uptime::NAME];

/// The checks that report host system metrics; Heroku's `DD_DISABLE_HOST_METRICS=true`
/// turns them off, because a dyno's host metrics describe a shared machine.
pub const HOST_METRIC_CHECKS: &[&str] = &[uptime::NAME];

/// The checks the agent runs on its schedule: every built-in check, less the host metric
/// checks when `DD_DISABLE_HOST_METRICS` is true.
pub fn scheduled_checks(env: &crate::config::Environment) -> Vec<Box<dyn Check>> {
    let host_metrics = !env.is_true("DD_DISABLE_HOST_METRICS");
    CHECK_NAMES
        .iter()
        .filter(|name| host_metrics || !HOST_METRIC_CHECKS.contains(name))
        .filter_map(|name| build(name))
        .collect()
}

/// Makes the built-in check called `name`.
pub fn build(name: &str) -> Option<Box<dyn Check>> {
    match name {
        uptime::NAME => Some(Box::new(uptime::Uptime)),
        _ => None,
    }
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
    use crate::config::Environment;

    fn names(env: &[(&str, &str)]) -> Vec<&'static str> {
        scheduled_checks(&Environment::from_pairs(env.iter().copied()))
            .iter()
            .map(|c| c.name())
            .collect()
    }

    #[test]
    fn host_metric_checks_run_unless_dd_disable_host_metrics_is_true() {
        assert_eq!(names(&[]), ["uptime"]);
        assert_eq!(names(&[("DD_DISABLE_HOST_METRICS", "false")]), ["uptime"]);
        assert!(names(&[("DD_DISABLE_HOST_METRICS", "true")]).is_empty());
    }
}
