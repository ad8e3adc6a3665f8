//! The `dogwatch` binary: the command line, and the wiring of agent and server.
//!
//! This crate owns argument parsing, logging set-up, signal handling and the start-up and
//! shutdown order of `up`, `agent` and `server`. The work itself lives in the library
//! crates; nothing here should grow beyond wiring.

mod commands;
mod logging;
mod support;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

// mimalloc: trace intake allocates a string per span tag; glibc malloc spent a quarter of the
// pipeline benchmark in malloc/free (crates/agent/benches/trace_pipeline.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Transparent huge pages off for the whole process, before mimalloc starts.
//
// mimalloc reserves a 1 GiB arena and madvises it MADV_HUGEPAGE, so on a kernel with THP
// `always` or `madvise` every 2 MiB of it that is touched at all becomes a whole resident huge
// page. Measured with bench/agent_memory.py (`dogwatch agent` with processes, APM, DogStatsD and
// the core checks on, against a `dogwatch server`; 2 cores, kernel 6.18, THP `madvise`), VmRSS =
// RssAnon + RssFile (RssFile is the binary's clean text, the same either way; it depends on the
// page cache: 10.8 MiB here, 12 MiB run from a `cp` of the same file):
//
// |                              | idle 60 s             | 100k DogStatsD datagrams/s, peak |
// |------------------------------|-----------------------|----------------------------------|
// | as before                    | 34.0 = 23.4 + 10.6    | 59.4 = 48.7 + 10.7               |
// |   of which in huge pages     | 14 MiB                | 40 MiB                           |
// | prctl first thing in main    | 18.4 = 7.7 + 10.7     | 25.4 = 14.7 + 10.7               |
// | this (prctl before main)     | 15.4 = 4.7 + 10.8     | 20.6 = 9.8 + 10.8                |
// | env MIMALLOC_ALLOW_THP=0     | 15.6 = 4.8 + 10.8     | 19.4 = 8.5 + 10.9 (20 s)         |
//
// and the server idles at 14.1 MiB instead of 27.4 (16.6 instead of 32.8 under the agent's
// load), no datagram lost either way, the same CPU; bench/apm_e2e.py stored 39.7k spans/s with
// it and 39.5k without (medians of 5).
//
// PR_SET_THP_DISABLE sets a per-process flag that the kernel checks at each fault, whatever was
// madvised, so it also holds under THP `always`; children would inherit it (dogwatch starts
// none). It has to come before main:
// mimalloc initializes in an ELF constructor, and by main it had already faulted two huge pages
// (4 MiB) of its arena — hence the table's middle row. Setting mimalloc's own `allow_thp` option
// (mi_option_set) in main changed nothing at all: the arena was reserved and madvised by then.
// So this runs from `.init_array` at priority 100, before mimalloc's constructor (priority 101
// when built with clang, none with gcc); only std's argv hook (priority 99, no allocation) runs
// earlier.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array.00100")]
static DISABLE_TRANSPARENT_HUGE_PAGES: extern "C" fn() = disable_transparent_huge_pages;

#[cfg(target_os = "linux")]
extern "C" fn disable_transparent_huge_pages() {
    // Fails only on kernels before 3.15; then huge pages just stay as they were.
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

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
    /// List or create the API keys of the server whose data is in --data-dir.
    ApiKey(commands::api_key::ApiKeyArgs),
    /// Manage the users of the server whose data is in --data-dir: add, list, set-role,
    /// reset-password, disable, enable.
    User(commands::users::UserArgs),
    /// Create or list application keys (each belongs to a user and acts with its role).
    AppKey(commands::users::AppKeyArgs),
    /// List the live processes of every host from a running server, like the Live
    /// Processes page: `dogwatch ps 'java -kafka' --sort rss`, `dogwatch ps --by command`.
    ///
    /// QUERY is the search language: free text matches the command line, executable and
    /// working directory; `key:value` matches tags (host, user, command, service, env,
    /// version, container_id, host tags); `@cpu:>50` compares a field; AND, OR, NOT, `-`,
    /// parentheses and "quoted phrases" combine them. Asking switches the agents of the
    /// hosts it reads to real-time collection for 30 minutes, as the page does.
    Ps(PsArgs),
    /// Datadog's agent subcommands at the top level, as `datadog-agent` has them.
    #[command(flatten)]
    Tool(commands::agent_tools::AgentTool),
    /// Print a shell completion script: `dogwatch completion bash > /etc/bash_completion.d/dogwatch`.
    Completion(commands::completion::CompletionArgs),
    /// Write the man pages (dogwatch.1 and one per subcommand) into a directory, or print
    /// dogwatch.1.
    Man(commands::completion::ManArgs),
}

/// Arguments of `dogwatch ps`.
#[derive(Debug, Args)]
struct PsArgs {
    /// The search query (several words are joined with spaces); all processes when absent.
    #[arg(value_name = "QUERY")]
    query: Vec<String>,
    /// The field to sort by: cpu, rss, threads, pid, user, command, start, read_bytes, ...
    /// With --by: count, or a metric summed (cpu, rss, threads) or AGG:METRIC (avg:cpu).
    #[arg(long, default_value = "cpu")]
    sort: String,
    /// Sort smallest first (default: largest first).
    #[arg(long)]
    asc: bool,
    /// Group by these tag keys (comma-separated, e.g. `command` or `host,user`) and print
    /// process counts and CPU, memory and thread totals per group.
    #[arg(long, value_name = "TAGKEYS")]
    by: Option<String>,
    /// Rows (or groups) to print.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Print the server's JSON answer instead of a table.
    #[arg(long)]
    json: bool,
    /// The server to ask.
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:8585",
        env = "DOGWATCH_SERVER"
    )]
    server: String,
    /// The API key to send [default: `api_key` from the configuration].
    #[arg(long, env = "DD_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// The application key to send [default: `app_key` from the configuration].
    #[arg(long, env = "DD_APP_KEY", hide_env_values = true)]
    app_key: Option<String>,
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

/// TLS on the server's port.
#[derive(Debug, Args)]
struct TlsArgs {
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key. Agents
    /// then send to `https://…` (`dd_url`), trusting it through the system's CAs or
    /// `tls_ca_cert`.
    #[arg(long, value_name = "PEM", requires = "tls_key", env = "DOGWATCH_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert", env = "DOGWATCH_TLS_KEY")]
    tls_key: Option<PathBuf>,
}

/// How long the server keeps each kind of data.
#[derive(Debug, Args)]
struct RetentionArgs {
    /// How long process history (the samples behind a process's charts) is kept, e.g.
    /// `36h`, `7d`, `90m`.
    #[arg(long, value_name = "DURATION", default_value = "36h", value_parser = parse_duration, env = "DOGWATCH_PROCESS_RETENTION")]
    process_retention: std::time::Duration,
    /// How long spans and APM stats are kept, e.g. `3d`, `12h`.
    #[arg(long, value_name = "DURATION", default_value = "3d", value_parser = parse_duration, env = "DOGWATCH_TRACE_RETENTION")]
    trace_retention: std::time::Duration,
    /// How long metric points, distribution sketches, events and service check runs are kept,
    /// e.g. `15d`.
    #[arg(long, value_name = "DURATION", default_value = "15d", value_parser = parse_duration, env = "DOGWATCH_METRIC_RETENTION")]
    metric_retention: std::time::Duration,
}

/// Parses `90s`, `15m`, `36h` or `7d`.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: write a whole number and a unit, e.g. 36h"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?} has no known unit: use s, m, h or d, e.g. 36h")),
    };
    if number == 0 {
        return Err("a retention of 0 would keep nothing; give at least 1m".into());
    }
    Ok(std::time::Duration::from_secs(number.saturating_mul(seconds)))
}

#[derive(Debug, Args)]
struct UpArgs {
    #[command(flatten)]
    listen: ListenArgs,
    #[command(flatten)]
    tls: TlsArgs,
    #[command(flatten)]
    retention: RetentionArgs,
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
    /// Run one check once and print what it collected, without sending anything. Every
    /// configured instance runs (conf.d, or the core check's default); a check with rates
    /// runs twice, a second apart, as Datadog's `--check-rate`. `dogwatch agent check process`
    /// collects live processes twice, a second apart, and prints what the agent would send.
    Check(CheckArgs),
    /// Datadog's agent subcommands: hostname, version, health, configcheck, diagnose, flare,
    /// dogstatsd-stats, secret.
    #[command(flatten)]
    Tool(commands::agent_tools::AgentTool),
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The check to run (`cpu`, `disk`, `uptime`, `process`, …); `dogwatch agent check --list`
    /// lists them.
    #[arg(required_unless_present = "list")]
    name: Option<String>,
    /// List every check, configured and core, with where its configuration came from.
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
    tls: TlsArgs,
    #[command(flatten)]
    retention: RetentionArgs,
    #[command(flatten)]
    data_dir: DataDirArgs,
}

#[derive(Debug, Args)]
struct StatusArgs {
    #[command(flatten)]
    config: ConfigFileArgs,
    // The agent's data directory: its local API's auth_token is in <data-dir>/agent (or run_path).
    #[command(flatten)]
    data_dir: DataDirArgs,
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
            Some(AgentAction::Tool(tool)) => commands::agent_tools::run(tool.with_parent(&args.config, &args.data_dir)),
        },
        Command::Tool(tool) => commands::agent_tools::run(tool),
        Command::Completion(args) => commands::completion::completion(args),
        Command::Man(args) => commands::completion::man(args),
        Command::Server(args) => commands::server::run(args),
        Command::Status(args) => commands::status::run(args),
        Command::Config(args) => commands::config::run(args),
        Command::ApiKey(args) => commands::api_key::run(args),
        Command::User(args) => commands::users::run_user(args),
        Command::AppKey(args) => commands::users::run_app_key(args),
        Command::Ps(args) => commands::ps::run(args),
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
