//! One module per subcommand.

pub mod agent;
pub mod agent_tools;
pub mod api_key;
pub mod check;
pub mod completion;
pub mod config;
pub mod flare;
pub mod process_check;
pub mod ps;
pub mod server;
pub mod status;
pub mod up;
pub mod users;
