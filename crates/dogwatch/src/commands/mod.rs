//! One module per subcommand.

pub mod agent;
pub mod api_key;
pub mod check;
pub mod config;
pub mod process_check;
pub mod ps;
pub mod server;
pub mod status;
pub mod up;
pub mod users;
