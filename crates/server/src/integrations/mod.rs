//! Integrations detected from live processes: the table of process signatures and each
//! integration's key metrics and Live Processes query ([`signatures`]), how they are matched
//! against every host's processes and set beside the checks its agent runs ([`detect`]), and the
//! routes the Integrations page and the process side panel read ([`api`]).

pub mod api;
pub mod detect;
pub mod signatures;
