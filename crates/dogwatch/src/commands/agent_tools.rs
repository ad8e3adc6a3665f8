//! Datadog's agent subcommands, under the names and in the shapes a Datadog user knows:
//! `hostname`, `version`, `health`, `configcheck`, `diagnose`, `dogstatsd-stats` and `secret`
//! (`flare` is [`super::flare`]). Each is `dogwatch agent <name>` and, as on Datadog's
//! `datadog-agent`, `dogwatch <name>`.
//!
//! Each renders to a string first, so the flare holds exactly what the command prints.

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use dogwatch_agent::config::secrets::{self, SecretBackend, SecretUse};
use dogwatch_agent::config::{Environment, LoadedConfig};
use dogwatch_agent::hostname;
use dogwatch_agent::runtime;
use dogwatch_agent::status::auth;
use dogwatch_agent::status::health::{HEALTH_PATH, HealthReport};
use dogwatch_agent::status::server::{DOGSTATSD_STATS_PATH, DogStatsdStats};

use crate::support;
use crate::{ConfigFileArgs, DataDirArgs};

/// Datadog's agent subcommands.
#[derive(Debug, Subcommand)]
pub enum AgentTool {
    /// Print the hostname the agent reports (and, on stderr, the provider that gave it).
    Hostname(ToolArgs),
    /// Print the agent's version.
    Version(ToolArgs),
    /// Ask the running agent which of its components are healthy; exits 1 when one is not.
    Health(ToolArgs),
    /// Print every check instance with its resolved configuration (secrets masked) and where
    /// it came from.
    Configcheck(ToolArgs),
    /// Check what the agent needs: the server, the API key, the clock, its ports, /proc.
    /// Exits 1 when a check fails.
    Diagnose(ToolArgs),
    /// Write a flare: a .tar.gz of the status, configuration (secrets scrubbed), logs,
    /// configcheck, health and diagnose outputs and runtime information, for support.
    Flare(super::flare::FlareArgs),
    /// Print the DogStatsD metric contexts with the most samples (needs
    /// `dogstatsd_metrics_stats_enable: true`).
    DogstatsdStats(ToolArgs),
    /// List the `ENC[]` secret handles of the configuration and where each is used (never
    /// their values), and check `secret_backend_command`'s permissions.
    Secret(ToolArgs),
}

/// What every subcommand takes.
#[derive(Debug, Args, Clone, Default)]
pub struct ToolArgs {
    /// The datadog.yaml to read [default: the agent's, /etc/dogwatch/datadog.yaml].
    #[arg(long, short = 'c', value_name = "PATH", env = "DOGWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// The agent's data directory (its local API token is in <data-dir>/agent).
    #[arg(long, value_name = "DIR", env = "DOGWATCH_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl ToolArgs {
    /// These arguments, taking what was not given from `dogwatch agent`'s own.
    pub fn or_parent(mut self, config: &ConfigFileArgs, data_dir: &DataDirArgs) -> ToolArgs {
        self.config = self.config.or_else(|| config.config.clone());
        self.data_dir = self.data_dir.or_else(|| data_dir.data_dir.clone());
        self
    }

    fn config_args(&self) -> ConfigFileArgs {
        ConfigFileArgs {
            config: self.config.clone(),
        }
    }

    fn data_dir_args(&self) -> DataDirArgs {
        DataDirArgs {
            data_dir: self.data_dir.clone(),
        }
    }
}

impl AgentTool {
    /// Takes `dogwatch agent`'s --config and --data-dir for what the subcommand was not given.
    pub fn with_parent(self, config: &ConfigFileArgs, data_dir: &DataDirArgs) -> AgentTool {
        match self {
            AgentTool::Hostname(a) => AgentTool::Hostname(a.or_parent(config, data_dir)),
            AgentTool::Version(a) => AgentTool::Version(a.or_parent(config, data_dir)),
            AgentTool::Health(a) => AgentTool::Health(a.or_parent(config, data_dir)),
            AgentTool::Configcheck(a) => AgentTool::Configcheck(a.or_parent(config, data_dir)),
            AgentTool::Diagnose(a) => AgentTool::Diagnose(a.or_parent(config, data_dir)),
            AgentTool::Flare(mut a) => {
                a.tool = a.tool.or_parent(config, data_dir);
                AgentTool::Flare(a)
            }
            AgentTool::DogstatsdStats(a) => AgentTool::DogstatsdStats(a.or_parent(config, data_dir)),
            AgentTool::Secret(a) => AgentTool::Secret(a.or_parent(config, data_dir)),
        }
    }
}

/// Runs the subcommand.
pub fn run(tool: AgentTool) -> Result<()> {
    match tool {
        AgentTool::Hostname(args) => hostname_command(&args),
        AgentTool::Version(args) => {
            print!("{}", version(args.json));
            Ok(())
        }
        AgentTool::Health(args) => {
            let ctx = Context::load(&args)?;
            let report = ctx.health()?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.render());
            }
            if !report.unhealthy.is_empty() {
                bail!("found {} unhealthy components", report.unhealthy.len());
            }
            Ok(())
        }
        AgentTool::Configcheck(args) => {
            let ctx = Context::load(&args)?;
            print!("{}", ctx.configcheck(args.json)?);
            Ok(())
        }
        AgentTool::Diagnose(args) => {
            let ctx = Context::load(&args)?;
            let results = ctx.diagnose();
            print!("{}", render_diagnose(&results, args.json));
            let failed = results.iter().filter(|r| !r.passed).count();
            if failed > 0 {
                bail!("{failed} of {} diagnoses failed", results.len());
            }
            Ok(())
        }
        AgentTool::Flare(args) => super::flare::run(args),
        AgentTool::DogstatsdStats(args) => {
            let ctx = Context::load(&args)?;
            print!("{}", ctx.dogstatsd_stats(args.json)?);
            Ok(())
        }
        AgentTool::Secret(args) => {
            let ctx = Context::load(&args)?;
            print!("{}", ctx.secret_info(args.json));
            Ok(())
        }
    }
}

fn hostname_command(args: &ToolArgs) -> Result<()> {
    let env = support::agent_environment()?;
    let loaded = support::load_config(&args.config_args(), &env)?;
    let identity = hostname::resolve(&loaded.config, &env)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({"hostname": identity.hostname, "provider": identity.provider})
        );
    } else {
        println!("{}", identity.hostname);
        eprintln!("Hostname provider: {}", identity.provider);
    }
    Ok(())
}

/// `Agent <version> - …`, Datadog's `agent version` line.
pub fn version(json: bool) -> String {
    let version = dogwatch_model::VERSION;
    let target = format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS);
    if json {
        format!(
            "{}\n",
            serde_json::json!({"version": version, "flavor": "dogwatch", "target": target})
        )
    } else {
        format!("Agent {version} - Flavor: dogwatch - Target: {target}\n")
    }
}

/// The configuration and paths the subcommands share.
pub struct Context {
    /// The environment the configuration was read with.
    pub env: Environment,
    /// The configuration.
    pub loaded: LoadedConfig,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The agent's run path.
    pub run_path: PathBuf,
}

impl Context {
    /// Loads the configuration as the agent does (secrets in datadog.yaml resolved).
    pub fn load(args: &ToolArgs) -> Result<Context> {
        let env = support::agent_environment()?;
        let loaded = support::load_config(&args.config_args(), &env)?;
        let data_dir = support::data_dir_path(&args.data_dir_args())?;
        let run_path = runtime::run_path(&loaded.config, &data_dir);
        Ok(Context {
            env,
            loaded,
            data_dir,
            run_path,
        })
    }

    fn local_api_url(&self, path: &str) -> String {
        let config = &self.loaded.config;
        let host = if config.cmd_host == "localhost" {
            "127.0.0.1"
        } else {
            config.cmd_host.as_str()
        };
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        format!("http://{host}:{}{path}", config.cmd_port)
    }

    /// GETs `path` from the running agent's local API and returns the body.
    pub fn local_api_get(&self, path: &str) -> Result<String> {
        let url = self.local_api_url(path);
        let token_path = auth::token_path(&self.run_path);
        let token = auth::read_token(&token_path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the agent's auth_token at {}: {e}; is the agent running, with this --data-dir (or run_path)?",
                token_path.display()
            )
        })?;
        support::runtime()?.block_on(async {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(15)).build()?;
            let response = client.get(&url).bearer_auth(token).send().await.with_context(|| {
                format!(
                    "cannot reach the agent's local API at {url} (cmd_port {}): is `dogwatch agent` or `dogwatch up` running?",
                    self.loaded.config.cmd_port
                )
            })?;
            if !response.status().is_success() {
                bail!("the agent's local API at {url} answered {}", response.status());
            }
            Ok(response.text().await?)
        })
    }

    /// The running agent's health report.
    pub fn health(&self) -> Result<HealthReport> {
        let body = self.local_api_get(HEALTH_PATH)?;
        serde_json::from_str(&body).context("the agent's health report is not in the expected shape")
    }

    /// `configcheck`: every instance with its configuration, secrets masked.
    pub fn configcheck(&self, json: bool) -> Result<String> {
        let mut confd = runtime::confd_contents(&self.loaded, &self.env);
        confd.resolve_secrets(SecretBackend::from_config(&self.loaded.config).as_ref())?;
        let identity = hostname::resolve(&self.loaded.config, &self.env)?;
        let python = runtime::python_loader(&self.loaded, &self.env, &identity, &self.run_path);
        let host_metrics = !self.env.is_true("DD_DISABLE_HOST_METRICS");
        let paths = dogwatch_agent::process::HostPaths::from_env(&self.env);
        let plan = dogwatch_agent::checks::plan_with_python(&confd, &paths, host_metrics, Some(&python));
        // The plan's instances in the order of their configurations, each with its YAML.
        let mut entries = Vec::new();
        for instance in &plan.instances {
            let (index, config) = source_config(&confd, &instance.name, &instance.source);
            let (init_config, instance_config) = match config {
                Some(c) => (
                    c.init_config.clone(),
                    c.instances.get(index).cloned().unwrap_or_default(),
                ),
                None => (serde_json::json!({}), serde_json::json!({})),
            };
            entries.push(serde_json::json!({
                "check": instance.name,
                "provider": if instance.source == "default" { "default" } else { "file" },
                "source": instance.source,
                "instance_id": instance.id,
                "instance": secrets::mask_tree(&instance_config),
                "init_config": secrets::mask_tree(&init_config),
            }));
        }
        if json {
            return Ok(format!(
                "{}\n",
                serde_json::to_string_pretty(&serde_json::json!({
                    "configs": entries,
                    "config_errors": plan.config_errors,
                    "loading_errors": plan.loading_errors,
                }))?
            ));
        }
        let mut out = String::new();
        for e in &entries {
            let name = e["check"].as_str().unwrap_or_default();
            out.push_str(&format!("=== {name} check ===\n"));
            out.push_str(&format!(
                "Configuration provider: {}\n",
                e["provider"].as_str().unwrap_or_default()
            ));
            out.push_str(&format!(
                "Configuration source: {}\n",
                e["source"].as_str().unwrap_or_default()
            ));
            out.push_str(&format!(
                "Instance ID: {}\n",
                e["instance_id"].as_str().unwrap_or_default()
            ));
            out.push_str(&yaml_block(&e["instance"]));
            out.push_str("~\nInit Config:\n");
            out.push_str(&yaml_block(&e["init_config"]));
            out.push_str("===\n\n");
        }
        if !plan.config_errors.is_empty() || !plan.loading_errors.is_empty() {
            out.push_str("=== Configuration errors ===\n");
            for (name, error) in plan.config_errors.iter().chain(&plan.loading_errors) {
                out.push_str(&format!("\n{name}: {}\n", secrets::scrub_text(error)));
            }
            out.push_str("===\n");
        }
        Ok(out)
    }

    /// `diagnose`: one result per check.
    pub fn diagnose(&self) -> Vec<Diagnosis> {
        let mut results = Vec::new();
        let config = &self.loaded.config;
        let server = config.server_url().to_string();
        let agent_running = self.health().is_ok();
        match self.validate_key() {
            Ok((status, date)) => {
                results.push(Diagnosis::pass(
                    "connectivity",
                    format!("the server at {server} answers"),
                ));
                results.push(match status {
                    200 => Diagnosis::pass("api-key", "the server accepts the API key (/api/v1/validate)".into()),
                    401 | 403 => Diagnosis::fail(
                        "api-key",
                        format!("the server at {server} refuses the API key ({status} from /api/v1/validate)"),
                        "set api_key / DD_API_KEY to one of the server's keys (`dogwatch api-key list` on the server)",
                    ),
                    other => Diagnosis::fail(
                        "api-key",
                        format!("/api/v1/validate answered {other}"),
                        "is dd_url a dogwatch server?",
                    ),
                });
                results.push(clock_skew(date));
            }
            Err(e) => {
                results.push(Diagnosis::fail(
                    "connectivity",
                    format!("cannot reach the server at {server}: {e}"),
                    "start it (`dogwatch server` or `dogwatch up`), or set dd_url / DD_DD_URL to where it runs",
                ));
                results.push(Diagnosis::fail(
                    "api-key",
                    "not checked: the server cannot be reached".into(),
                    "fix connectivity first",
                ));
                results.push(Diagnosis::fail(
                    "clock-skew",
                    "not checked: the server cannot be reached".into(),
                    "fix connectivity first",
                ));
            }
        }
        let host = if config.cmd_host == "localhost" {
            "127.0.0.1"
        } else {
            config.cmd_host.as_str()
        };
        let mut ports = vec![("cmd_port", "tcp", host.to_string(), config.cmd_port)];
        if config.apm_config.enabled {
            let ip = if config.apm_config.apm_non_local_traffic {
                "0.0.0.0"
            } else {
                "127.0.0.1"
            };
            ports.push((
                "apm_config.receiver_port",
                "tcp",
                ip.into(),
                config.apm_config.receiver_port,
            ));
        }
        let ip = if config.dogstatsd_non_local_traffic {
            "0.0.0.0"
        } else {
            "127.0.0.1"
        };
        ports.push(("dogstatsd_port", "udp", ip.into(), config.dogstatsd_port));
        for (key, proto, ip, port) in ports {
            if port == 0 {
                continue;
            }
            let free = match proto {
                "tcp" => TcpListener::bind((ip.as_str(), port)).map(drop),
                _ => UdpSocket::bind((ip.as_str(), port)).map(drop),
            };
            let name = format!("port-{key}");
            results.push(match free {
                Ok(()) if agent_running && key == "cmd_port" => Diagnosis::fail(
                    &name,
                    format!("{proto} {ip}:{port} is free, but an agent answered: is it on another cmd_port?"),
                    "check cmd_port",
                ),
                Ok(()) => Diagnosis::pass(&name, format!("{proto} {ip}:{port} is free for the agent")),
                Err(_) if agent_running => {
                    Diagnosis::pass(&name, format!("{proto} {ip}:{port} is in use by the running agent"))
                }
                Err(e) => Diagnosis::fail(
                    &name,
                    format!("{proto} {ip}:{port} ({key}) is taken by another process: {e}"),
                    &format!("stop what listens there (`ss -lnp | grep {port}`) or set {key} to a free port"),
                ),
            });
        }
        let proc_root = dogwatch_agent::process::HostPaths::from_env(&self.env).proc;
        let probe = proc_root.join("self/stat");
        let stat = proc_root.join("stat");
        results.push(match (std::fs::read(&stat), std::fs::read_dir(&proc_root)) {
            (Ok(_), Ok(_)) => Diagnosis::pass("proc", format!("{} is readable", proc_root.display())),
            (Err(e), _) | (_, Err(e)) => Diagnosis::fail(
                "proc",
                format!(
                    "cannot read {}: {e}",
                    if probe.exists() {
                        stat.display()
                    } else {
                        proc_root.display()
                    }
                ),
                "run the agent where /proc is mounted, or set HOST_PROC to the host's /proc",
            ),
        });
        results
    }

    /// GET /api/v1/validate with the API key: the status code and the server's Date.
    fn validate_key(&self) -> Result<(u16, Option<SystemTime>)> {
        let config = &self.loaded.config;
        let url = format!("{}{}", config.server_url(), dogwatch_model::endpoints::VALIDATE);
        support::runtime()?.block_on(async {
            let mut builder = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .danger_accept_invalid_certs(config.skip_ssl_validation);
            if !config.tls_ca_cert.is_empty() {
                let pem = std::fs::read(&config.tls_ca_cert)
                    .with_context(|| format!("cannot read tls_ca_cert {}", config.tls_ca_cert))?;
                for cert in reqwest::Certificate::from_pem_bundle(&pem)? {
                    builder = builder.add_root_certificate(cert);
                }
            }
            let response = builder
                .build()?
                .get(&url)
                .header("DD-API-KEY", &config.api_key)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!("{}", error_chain(&e)))?;
            let date = response
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|d| d.to_str().ok())
                .and_then(parse_http_date);
            Ok((response.status().as_u16(), date))
        })
    }

    /// `dogstatsd-stats`: the contexts with the most samples.
    pub fn dogstatsd_stats(&self, json: bool) -> Result<String> {
        let body = self.local_api_get(DOGSTATSD_STATS_PATH)?;
        let stats: DogStatsdStats =
            serde_json::from_str(&body).context("the agent's DogStatsD stats are not in the expected shape")?;
        if json {
            return Ok(format!("{}\n", serde_json::to_string_pretty(&stats)?));
        }
        if !stats.enabled {
            return Ok("Dogstatsd metrics stats is not enabled: set dogstatsd_metrics_stats_enable: true (DD_DOGSTATSD_METRICS_STATS_ENABLE) and restart the agent.\n".into());
        }
        let mut table = support::terminal_table();
        table.set_header(["Metric", "Tags", "Count", "Last Seen"]);
        for c in stats.contexts.iter().take(50) {
            let last = dogwatch_agent::status::format_time(Some(
                SystemTime::UNIX_EPOCH + Duration::from_secs(c.last_seen.max(0) as u64),
            ));
            table.add_row([c.name.clone(), c.tags.join(" "), c.count.to_string(), last]);
        }
        Ok(format!("{table}\n"))
    }

    /// Every `ENC[]` use in datadog.yaml and conf.d, without running the backend.
    pub fn secret_uses(&self) -> Vec<SecretUse> {
        let mut uses = self.loaded.secrets.clone();
        uses.extend(runtime::confd_contents(&self.loaded, &self.env).secret_uses());
        uses
    }

    /// `secret`: the command's permissions and where each handle is used.
    pub fn secret_info(&self, json: bool) -> String {
        let uses = self.secret_uses();
        let backend = SecretBackend::from_config(&self.loaded.config);
        let rights = backend.as_ref().map(secrets::check_rights);
        if json {
            return format!(
                "{}\n",
                serde_json::json!({
                    "secret_backend_command": backend.as_ref().map(|b| b.command.display().to_string()),
                    "permissions_ok": rights.as_ref().map(Result::is_ok),
                    "permissions_error": rights.as_ref().and_then(|r| r.as_ref().err().map(ToString::to_string)),
                    "handles": uses,
                })
            );
        }
        let mut out = String::new();
        match (&backend, &rights) {
            (None, _) => out.push_str("No secret_backend_command set: secrets feature is not enabled\n"),
            (Some(b), Some(rights)) => {
                out.push_str("=== Checking executable permissions ===\n");
                out.push_str(&format!("Executable path: {}\n", b.command.display()));
                match rights {
                    Ok(()) => out.push_str("Executable permissions: OK, the executable has the correct permissions\n"),
                    Err(e) => out.push_str(&format!("Executable permissions: error: {e}\n")),
                }
                if let Ok(meta) = std::fs::metadata(&b.command) {
                    use std::os::unix::fs::MetadataExt;
                    out.push_str(&format!(
                        "Permissions Detail:\n\tFile mode: {:o}\n\tOwner: uid {}\n\tGroup: gid {}\n",
                        meta.mode(),
                        meta.uid(),
                        meta.gid()
                    ));
                }
                out.push('\n');
            }
            (Some(_), None) => {}
        }
        let mut handles: Vec<&str> = uses.iter().map(|u| u.handle.as_str()).collect();
        handles.sort_unstable();
        handles.dedup();
        out.push_str("=== Secrets stats ===\n");
        out.push_str(&format!("Number of secrets: {}\n", handles.len()));
        out.push_str("Secrets handles:\n");
        for handle in handles {
            out.push_str(&format!("\n- '{handle}':\n"));
            for u in uses.iter().filter(|u| u.handle == handle) {
                out.push_str(&format!(
                    "  - used in '{}' configuration in entry '{}'\n",
                    u.file.display(),
                    u.key
                ));
            }
        }
        out
    }
}

/// The configuration an instance came from, and its index there, by its source string.
fn source_config<'a>(
    confd: &'a dogwatch_agent::checks::confd::ConfdContents,
    name: &str,
    source: &str,
) -> (usize, Option<&'a dogwatch_agent::checks::confd::CheckConfig>) {
    for config in confd.for_check(name) {
        for index in 0..config.instances.len() {
            if config.source(index) == source {
                return (index, Some(config));
            }
        }
    }
    (0, None)
}

/// A value as YAML lines (the shapes conf.d holds), `{}` for an empty map.
fn yaml_block(value: &serde_json::Value) -> String {
    fn go(value: &serde_json::Value, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match value {
            serde_json::Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    match v {
                        serde_json::Value::Object(m) if !m.is_empty() => {
                            out.push_str(&format!("{pad}{k}:\n"));
                            go(v, indent + 2, out);
                        }
                        serde_json::Value::Array(a) if !a.is_empty() => {
                            out.push_str(&format!("{pad}{k}:\n"));
                            go(v, indent, out);
                        }
                        leaf => out.push_str(&format!("{pad}{k}: {}\n", scalar(leaf))),
                    }
                }
            }
            serde_json::Value::Array(items) if !items.is_empty() => {
                for item in items {
                    match item {
                        serde_json::Value::Object(m) if !m.is_empty() => {
                            let mut inner = String::new();
                            go(item, indent + 2, &mut inner);
                            let inner = inner.replacen(&" ".repeat(indent + 2), &format!("{pad}- "), 1);
                            out.push_str(&inner);
                        }
                        leaf => out.push_str(&format!("{pad}- {}\n", scalar(leaf))),
                    }
                }
            }
            leaf => out.push_str(&format!("{pad}{}\n", scalar(leaf))),
        }
    }
    fn scalar(value: &serde_json::Value) -> String {
        match value {
            serde_json::Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
            serde_json::Value::Object(_) => "{}".into(),
            serde_json::Value::Array(_) => "[]".into(),
            serde_json::Value::Null => "null".into(),
            other => other.to_string(),
        }
    }
    let mut out = String::new();
    go(value, 0, &mut out);
    out
}

/// One diagnose result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Diagnosis {
    /// The check's name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was found.
    pub message: String,
    /// What to do when it failed.
    pub hint: String,
}

impl Diagnosis {
    fn pass(name: &str, message: String) -> Diagnosis {
        Diagnosis {
            name: name.into(),
            passed: true,
            message,
            hint: String::new(),
        }
    }

    fn fail(name: &str, message: String, hint: &str) -> Diagnosis {
        Diagnosis {
            name: name.into(),
            passed: false,
            message,
            hint: hint.into(),
        }
    }
}

/// One `PASS`/`FAIL` line per diagnosis, the hint after a failure.
pub fn render_diagnose(results: &[Diagnosis], json: bool) -> String {
    if json {
        return format!("{}\n", serde_json::to_string_pretty(results).unwrap_or_default());
    }
    let mut out = String::from("=== Running agent diagnose ===\n");
    for r in results {
        let verdict = if r.passed { "PASS" } else { "FAIL" };
        out.push_str(&format!("{verdict} {}: {}\n", r.name, secrets::scrub_text(&r.message)));
        if !r.passed {
            out.push_str(&format!("     hint: {}\n", r.hint));
        }
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    out.push_str(&format!(
        "-------------------------\n  Total:{}, Success:{}, Fail:{}\n",
        results.len(),
        results.len() - failed,
        failed
    ));
    out
}

/// The clock-skew diagnosis from the server's `Date` (Datadog warns past 60 s).
fn clock_skew(date: Option<SystemTime>) -> Diagnosis {
    let Some(server) = date else {
        return Diagnosis::fail(
            "clock-skew",
            "the server's answer has no Date header".into(),
            "is dd_url a dogwatch server?",
        );
    };
    let now = SystemTime::now();
    let skew = match now.duration_since(server) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    };
    // Date has whole seconds.
    if skew.abs() <= 60.0 {
        Diagnosis::pass(
            "clock-skew",
            format!("this host's clock is within {:.0} s of the server's", skew.abs().ceil()),
        )
    } else {
        Diagnosis::fail(
            "clock-skew",
            format!("this host's clock is {skew:.0} s off the server's"),
            "synchronise the clocks (NTP): points far from the server's time are misplaced",
        )
    }
}

/// Parses an HTTP date (`Tue, 01 Dec 2026 23:47:40 GMT`).
fn parse_http_date(text: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, _] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as u32 + 1;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    let days = dogwatch_model::time::days_from_civil(year.parse().ok()?, month, day.parse().ok()?);
    let secs = days * 86_400 + h * 3600 + m * 60 + s;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// An error and its sources on one line (reqwest's own message leaves out the cause).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The paths a flare may read: the config file, conf.d and the agent's logs.
pub fn agent_paths(ctx: &Context) -> (Option<PathBuf>, Option<PathBuf>, PathBuf) {
    let confd = dogwatch_agent::checks::confd_dir(&ctx.loaded.config.confd_path, ctx.loaded.file.as_deref());
    let log = match ctx.loaded.config.log_file.as_str() {
        "" => crate::logging::default_log_file(&ctx.run_path, "agent"),
        path => PathBuf::from(path),
    };
    (ctx.loaded.file.clone(), confd, log)
}

/// Whether `path` is `root` or inside it, symbolic links resolved.
pub fn is_within(path: &Path, root: &Path) -> bool {
    match (path.canonicalize(), root.canonicalize()) {
        (Ok(p), Ok(r)) => p.starts_with(r),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse() {
        let t = parse_http_date("Thu, 01 Jan 1970 00:01:40 GMT").unwrap();
        assert_eq!(t, SystemTime::UNIX_EPOCH + Duration::from_secs(100));
        assert!(parse_http_date("yesterday").is_none());
    }

    #[test]
    fn instances_print_as_yaml() {
        let v = serde_json::json!({"host": "db", "tags": ["a:1", "b:2"], "opts": {"x": 1}});
        assert_eq!(
            yaml_block(&v),
            "host: \"db\"\nopts:\n  x: 1\ntags:\n- \"a:1\"\n- \"b:2\"\n"
        );
        assert_eq!(yaml_block(&serde_json::json!({})), "{}\n");
    }
}
