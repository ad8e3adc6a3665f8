//! Host metadata: who this agent is and how its checks are doing, sent to the server's
//! `/intake/` at start, again once the checks have run, then every 10 minutes (Datadog's
//! agents send host metadata every 30 minutes and `agent_checks` every 10).

use std::time::Duration;

use dogwatch_model::metadata::{HostMeta, HostTags};
use dogwatch_model::{AgentCheck, HostMetadata, endpoints};

use crate::checks::runner::CollectorStats;

use crate::forwarder::ForwarderHandle;
use crate::hostname::HostIdentity;
use crate::shutdown::Shutdown;

/// How often host metadata is re-sent after the first times.
pub const METADATA_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// When the second payload goes, so that it carries the checks' first results.
pub const AFTER_FIRST_CHECKS: Duration = Duration::from_secs(20);

/// The host metadata payload for this agent.
pub fn host_metadata(identity: &HostIdentity) -> HostMetadata {
    HostMetadata {
        internal_hostname: identity.hostname.clone(),
        agent_version: dogwatch_model::VERSION.to_string(),
        os: std::env::consts::OS.to_string(),
        host_tags: HostTags {
            system: identity.host_tags.clone(),
        },
        meta: HostMeta {
            socket_hostname: identity.os_hostname.clone(),
            hostname: identity.hostname.clone(),
            hostname_provider: identity.provider.name().to_string(),
        },
        agent_checks: None,
    }
}

/// Every check instance with its status, as the `agent_checks` metadata lists them, then every
/// check whose configuration or loading failed, as Datadog's agent reports those: instance id
/// `initialization`, status `ERROR` and the error (so the server knows the check is configured).
pub fn agent_checks(stats: &CollectorStats) -> Vec<AgentCheck> {
    let state = stats.lock().expect("collector stats lock");
    let instances = state.instances.iter().map(|(id, s)| AgentCheck {
        check: s.check.clone(),
        instance_id: id.clone(),
        status: s.state().to_string(),
        error: s.last_error.clone().unwrap_or_default(),
    });
    let failed = state
        .config_errors
        .iter()
        .chain(&state.loading_errors)
        .map(|(check, error)| AgentCheck {
            check: check.clone(),
            instance_id: "initialization".to_string(),
            status: "ERROR".to_string(),
            error: error.clone(),
        });
    instances.chain(failed).collect()
}

/// Sends host metadata now, after the first checks, and every [`METADATA_INTERVAL`] until
/// `shutdown`.
pub async fn run_metadata_sender(
    identity: HostIdentity,
    checks: CollectorStats,
    forwarder: ForwarderHandle,
    mut shutdown: Shutdown,
) {
    let mut payload = host_metadata(&identity);
    let mut wait = Duration::ZERO;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait() => return,
        }
        payload.agent_checks = Some(agent_checks(&checks));
        forwarder.submit_json(endpoints::HOST_METADATA, &payload);
        wait = if wait.is_zero() {
            AFTER_FIRST_CHECKS
        } else {
            METADATA_INTERVAL
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_that_could_not_load_are_listed_as_initialization_errors() {
        let stats = CollectorStats::default();
        {
            let mut state = stats.lock().unwrap();
            state.instances.insert("cpu:1".into(), Default::default());
            state.instances.get_mut("cpu:1").unwrap().check = "cpu".into();
            state
                .loading_errors
                .insert("redisdb".into(), "no check called `redisdb`".into());
        }
        let checks = agent_checks(&stats);
        assert_eq!(checks.len(), 2);
        assert_eq!((checks[0].check.as_str(), checks[0].status.as_str()), ("cpu", "OK"));
        assert_eq!(
            checks[1],
            AgentCheck {
                check: "redisdb".into(),
                instance_id: "initialization".into(),
                status: "ERROR".into(),
                error: "no check called `redisdb`".into(),
            }
        );
    }
}
