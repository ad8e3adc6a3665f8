//! Which of the agent's components are running: `GET /agent/health` on the local API, which
//! `dogwatch agent health` prints as Datadog's `agent health` does.
//!
//! A component is its task: healthy while the task runs, unhealthy once it has ended before
//! the agent was asked to stop (it returned early or panicked).

use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use tokio::task::{AbortHandle, JoinHandle};

/// The local API's path for the health report.
pub const HEALTH_PATH: &str = "/agent/health";

/// The components to report on, shared between the runtime (which registers them) and the
/// local API (which reports them).
#[derive(Debug, Clone, Default)]
pub struct HealthRegistry(Arc<Mutex<Vec<(String, AbortHandle)>>>);

impl HealthRegistry {
    /// Reports on `task` under `name`.
    pub fn register<T>(&self, name: &str, task: &JoinHandle<T>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((name.to_string(), task.abort_handle()));
    }

    /// Each component, healthy or not; the local API itself is healthy when it answers.
    pub fn report(&self) -> HealthReport {
        let mut report = HealthReport {
            healthy: vec!["local-api".to_string()],
            unhealthy: Vec::new(),
        };
        for (name, task) in self.0.lock().unwrap_or_else(PoisonError::into_inner).iter() {
            if task.is_finished() {
                report.unhealthy.push(name.clone());
            } else {
                report.healthy.push(name.clone());
            }
        }
        report.healthy.sort();
        report.healthy.dedup();
        report.unhealthy.sort();
        report.unhealthy.dedup();
        report.healthy.retain(|h| !report.unhealthy.contains(h));
        report
    }
}

/// Healthy and unhealthy components, by name (Datadog's `health.Status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    /// Components that run.
    #[serde(rename = "Healthy")]
    pub healthy: Vec<String>,
    /// Components that stopped.
    #[serde(rename = "Unhealthy")]
    pub unhealthy: Vec<String>,
}

impl HealthReport {
    /// Datadog's text: `Agent health: PASS` (or FAIL), then each list.
    pub fn render(&self) -> String {
        let mut out = format!(
            "Agent health: {}\n",
            if self.unhealthy.is_empty() { "PASS" } else { "FAIL" }
        );
        out.push_str(&format!("=== {} healthy components ===\n", self.healthy.len()));
        out.push_str(&self.healthy.join(", "));
        out.push('\n');
        if !self.unhealthy.is_empty() {
            out.push_str(&format!("=== {} unhealthy components ===\n", self.unhealthy.len()));
            out.push_str(&self.unhealthy.join(", "));
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_that_ended_is_unhealthy_and_a_running_one_healthy() {
        let registry = HealthRegistry::default();
        let running = tokio::spawn(std::future::pending::<()>());
        let ended = tokio::spawn(async {});
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while !ended.is_finished() {
                tokio::task::yield_now().await;
            }
        })
        .await;
        registry.register("forwarder", &running);
        registry.register("dogstatsd-main", &ended);
        let report = registry.report();
        assert_eq!(report.healthy, ["forwarder", "local-api"]);
        assert_eq!(report.unhealthy, ["dogstatsd-main"]);
        let text = report.render();
        assert!(text.starts_with("Agent health: FAIL\n=== 2 healthy components ===\nforwarder, local-api\n=== 1 unhealthy components ===\ndogstatsd-main\n"), "{text}");
        running.abort();
    }
}
