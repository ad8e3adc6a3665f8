//! Host metadata (`POST /intake/`): who an agent is and how it is configured.

use serde::{Deserialize, Serialize};

/// Host metadata as a Datadog agent posts it to `/intake/`, reduced to the fields dogwatch
/// reads. Unknown fields sent by a stock Datadog agent are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostMetadata {
    /// The agent's canonical hostname.
    #[serde(rename = "internalHostname")]
    pub internal_hostname: String,
    /// The agent's version.
    #[serde(rename = "agentVersion", default)]
    pub agent_version: String,
    /// The operating system, e.g. `linux`.
    #[serde(default)]
    pub os: String,
    /// Host tags by origin; dogwatch agents put configured tags under `system`.
    #[serde(rename = "host-tags", default)]
    pub host_tags: HostTags,
    /// Details about the host and how its name was found.
    #[serde(default)]
    pub meta: HostMeta,
}

/// Host tags grouped by where they came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostTags {
    /// Tags from the agent's configuration (`tags`, `DD_TAGS`, Heroku dyno tags).
    #[serde(default)]
    pub system: Vec<String>,
}

/// The `meta` block of host metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostMeta {
    /// The hostname the OS reports.
    #[serde(rename = "socket-hostname", default)]
    pub socket_hostname: String,
    /// The hostname chosen by the agent.
    #[serde(default)]
    pub hostname: String,
    /// What decided the hostname: `configuration`, `hostname_file`, `heroku` or `os`.
    #[serde(rename = "hostname-provider", default, skip_serializing_if = "String::is_empty")]
    pub hostname_provider: String,
}
