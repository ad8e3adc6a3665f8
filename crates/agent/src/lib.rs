//! The dogwatch agent.
//!
//! This crate owns everything that runs on a monitored host: the Datadog-compatible
//! configuration ([`config`]), the APM trace receiver ([`apm`]), the host's identity ([`hostname`]), checks ([`checks`]),
//! host metadata ([`metadata`]), live processes from `/proc` ([`process`]), the forwarder that ships payloads to a server with a disk
//! buffer for outages ([`forwarder`]), the local status API ([`status`]), and the wiring of
//! these into a running agent ([`runtime`]).
//!
//! It must not depend on the server or the store crates: an agent talks to a server only
//! over HTTP, with the shapes in `dogwatch-model`.

pub mod apm;
pub mod checks;
pub mod config;
pub mod dogstatsd;
pub mod forwarder;
pub mod heroku;
pub mod hostname;
pub mod metadata;
pub mod process;
pub mod runtime;
pub mod shutdown;
pub mod status;
