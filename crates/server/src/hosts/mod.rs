//! Hosts: the intake of agents' host metadata ([`intake`]), the host list the UI shows
//! ([`api`]), and Datadog's public host and host tag API ([`public`]), whose user-set tags
//! join the agent's in both.

pub mod api;
pub mod intake;
pub mod public;
