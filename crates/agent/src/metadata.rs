//! Host metadata: who this agent is, sent to the server's `/intake/` at start and every
//! 30 minutes, as Datadog agents do.

use std::time::Duration;

use dogwatch_model::metadata::{HostMeta, HostTags};
use dogwatch_model::{HostMetadata, endpoints};

use crate::forwarder::ForwarderHandle;
use crate::hostname::HostIdentity;
use crate::shutdown::Shutdown;

/// How often host metadata is re-sent after the first time.
pub const METADATA_INTERVAL: Duration = Duration::from_secs(30 * 60);

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
    }
}

/// Sends host metadata now and every [`METADATA_INTERVAL`] until `shutdown`.
pub async fn run_metadata_sender(identity: HostIdentity, forwarder: ForwarderHandle, mut shutdown: Shutdown) {
    let payload = host_metadata(&identity);
    let mut ticker = tokio::time::interval(METADATA_INTERVAL);
    loop {
        tokio::select! {
            _ = ticker.tick() => forwarder.submit_json(endpoints::HOST_METADATA, &payload),
            _ = shutdown.wait() => return,
        }
    }
}
