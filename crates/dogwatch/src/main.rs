//! The `dogwatch` binary: the command line, and the wiring of agent and server.
//!
//! This crate owns argument parsing, logging set-up, signal handling and the start-up and
//! shutdown order of `up`, `agent` and `server`. The work itself lives in the library
//! crates; nothing here should grow beyond wiring.

mod commands;
mod support;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Self-hosted observability for Datadog users: live processes, APM traces and DogStatsD
/// metrics, collected by an agent configured exactly like Datadog's and kept on your own
/// server.
#[derive(Debug, Parser)]
#[command(name = "dogwatch", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a server and an agent together in one process: the quickest start.
    ///
    /// Data is kept in --data-dir. The server's API key is DD_API_KEY when set, otherwise
    /// one is generated on the first start and printed once. Stop with Ctrl-C.
    Up(UpArgs),
    /// Run the agent on this host, or run one of its checks (`dogwatch agent check uptime`).
    ///
    /// The agent reads datadog.yaml (--config) and DD_* variables like Datadog's agent, and
    /// sends to the server at `dd_url` with `api_key`.
    Agent(AgentArgs),
    /// Run the server: intake from agents, storage, query API and web pages.
    Server(ServerArgs),
    /// Show the running agent's status report (asks it on localhost:cmd_port).
    Status(StatusArgs),
    /// Print the agent's effective configuration, where each value came from, and the
    /// resolved hostname and host tags.
    Config(ConfigArgs),
    /// Print the API keys of the server whose data is in --data-dir.
    ApiKey(DataDirArgs),
}

/// Where to find the agent's configuration file.
#[derive(Debug, Args)]
struct ConfigFileArgs {
    /// The datadog.yaml to read (a Datadog Agent's works as it is). Without it,
    /// /etc/dogwatch/datadog.yaml is read if present. DD_* variables override it.
    #[arg(long, short = 'c', value_name = "PATH", env = "DOGWATCH_CONFIG")]
    config: Option<PathBuf>,
}

/// Where dogwatch keeps its data.
#[derive(Debug, Args)]
struct DataDirArgs {
    /// The data directory [default: the per-user data directory, e.g. ~/.local/share/dogwatch].
    #[arg(long, value_name = "DIR", env = "DOGWATCH_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ListenArgs {
    /// The address the server listens on (API, intake and web pages).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8585", env = "DOGWATCH_LISTEN")]
    listen: std::net::SocketAddr,
}

#[derive(Debug, Args)]
struct UpArgs {
    #[command(flatten)]
    listen: ListenArgs,
    #[command(flatten)]
    data_dir: DataDirArgs,
    #[command(flatten)]
    config: ConfigFileArgs,
}

#[derive(Debug, Args)]
struct AgentArgs {
    #[command(subcommand)]
    action: Option<AgentAction>,
    #[command(flatten)]
    data_dir: DataDirArgs,
    #[command(flatten)]
    config: ConfigFileArgs,
}

#[derive(Debug, Subcommand)]
enum AgentAction {
    /// Run the agent (the same as `dogwatch agent`).
    Run,
    /// Run one check once and print what it collected, without sending anything.
    /// `dogwatch agent check process` collects live processes twice, a second apart, and
    /// prints what the agent would send.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The check to run (`uptime`, `process`); `dogwatch agent check --list` lists them.
    #[arg(required_unless_present = "list")]
    name: Option<String>,
    /// List the available checks.
    #[arg(long)]
    list: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ServerArgs {
    #[command(flatten)]
    listen: ListenArgs,
    #[command(flatten)]
    data_dir: DataDirArgs,
}

#[derive(Debug, Args)]
struct StatusArgs {
    #[command(flatten)]
    config: ConfigFileArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ConfigArgs {
    #[command(flatten)]
    config: ConfigFileArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => commands::up::run(args),
        Command::Agent(args) => match args.action {
            None | Some(AgentAction::Run) => commands::agent::run(args.config, args.data_dir),
            Some(AgentAction::Check(check)) => commands::check::run(args.config, check),
        },
        Command::Server(args) => commands::server::run(args),
        Command::Status(args) => commands::status::run(args),
        Command::Config(args) => commands::config::run(args),
        Command::ApiKey(args) => commands::api_key::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {}", error_message(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, leaving out a cause whose text the message
/// already includes (most of dogwatch's errors name their cause themselves).
fn error_message(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
    }
    message
}
