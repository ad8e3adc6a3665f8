//! Hosts: the intake of agents' host metadata ([`intake`]) and the host list the UI shows
//! ([`api`]).

pub mod api;
pub mod intake;
