//! The views users save in the web UI (a page's query, columns and layout under a name):
//! their routes ([`api`]).

pub mod api;
