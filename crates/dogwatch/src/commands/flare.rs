//! `dogwatch agent flare`: one `.tar.gz` with what support needs, as Datadog's flare.
//!
//! It holds the status, health, diagnose, configcheck, secret and version outputs, the
//! effective configuration, `datadog.yaml` and the conf.d files, the agent's logs, the
//! `DD_*` variables and runtime information. Every file passes through the scrubber
//! ([`secrets::scrub_config_text`]): known secret values (API and application keys, resolved
//! `ENC[]` values, conf.d passwords), values of password/token/key options and credentials in
//! URLs become `********`. Only files of the agent's own paths are read: the config file,
//! files under conf.d (links that lead out of it are skipped) and the agent's log file with its
//! rotated copies.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context as _, Result};
use clap::Args;
use dogwatch_agent::config::secrets;
use dogwatch_agent::status::server::STATUS_PATH;
use dogwatch_agent::status::{StatusReport, render_text};

use super::agent_tools::{self, Context, ToolArgs};

/// Arguments of `dogwatch agent flare`.
#[derive(Debug, Args)]
pub struct FlareArgs {
    /// Where to write the archive [default: <run_path>/flares/dogwatch-flare-<host>-<time>.tar.gz].
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub tool: ToolArgs,
}

/// Writes the flare and prints its path.
pub fn run(args: FlareArgs) -> Result<()> {
    let ctx = Context::load(&args.tool)?;
    let files = collect(&ctx);
    let host = dogwatch_agent::hostname::resolve(&ctx.loaded.config, &ctx.env)
        .map(|i| i.hostname)
        .unwrap_or_else(|_| "unknown-host".into());
    let path = match args.output {
        Some(path) => path,
        None => ctx
            .run_path
            .join("flares")
            .join(format!("dogwatch-flare-{}-{}.tar.gz", safe_name(&host), timestamp())),
    };
    write_archive(&path, &safe_name(&host), &files)
        .with_context(|| format!("cannot write the flare to {}", path.display()))?;
    println!("Your flare was written to {}", path.display());
    println!(
        "It holds {} files, with secrets scrubbed; read it before you send it.",
        files.len()
    );
    Ok(())
}

/// One file of the flare: its name in the archive and its (scrubbed) text.
pub struct FlareFile {
    /// The path inside the archive.
    pub name: String,
    /// The contents, scrubbed.
    pub text: String,
}

/// Everything the flare holds, scrubbed.
pub fn collect(ctx: &Context) -> Vec<FlareFile> {
    let (config_file, confd, log) = agent_tools::agent_paths(ctx);
    let confd_files = confd.as_deref().map(list_confd).unwrap_or_default();
    // Values of password-like options in conf.d are secrets wherever they show up.
    for (_, path) in &confd_files {
        if let Ok(text) = std::fs::read_to_string(path) {
            remember_sensitive_values(&text);
        }
    }
    let mut files = Vec::new();
    let mut add = |name: &str, text: String| {
        files.push(FlareFile {
            name: name.to_string(),
            text: secrets::scrub_config_text(&text),
        });
    };
    add("version.log", agent_tools::version(false));
    add(
        "status.log",
        match ctx.local_api_get(STATUS_PATH) {
            Ok(body) => match serde_json::from_str::<StatusReport>(&body) {
                Ok(report) => render_text(&report),
                Err(e) => format!("The agent's status report is not in the expected shape: {e}\n"),
            },
            Err(e) => format!("The agent's status could not be read: {e:#}\n"),
        },
    );
    add(
        "health.log",
        match ctx.health() {
            Ok(report) => report.render(),
            Err(e) => format!("The agent's health could not be read: {e:#}\n"),
        },
    );
    add("diagnose.log", agent_tools::render_diagnose(&ctx.diagnose(), false));
    add(
        "config-check.log",
        ctx.configcheck(false)
            .unwrap_or_else(|e| format!("configcheck failed: {e:#}\n")),
    );
    add("secrets.log", ctx.secret_info(false));
    add("runtime_config_dump.yaml", effective_config(ctx));
    add("envvars.log", environment(ctx));
    add("runtime.log", runtime_info(ctx));
    if let Some(path) = &config_file
        && let Ok(text) = std::fs::read_to_string(path)
    {
        add("etc/datadog.yaml", text);
    }
    for (rel, path) in &confd_files {
        if let Ok(text) = std::fs::read_to_string(path) {
            add(&format!("etc/confd/{rel}"), text);
        }
    }
    for (name, path) in log_files(&log) {
        if let Ok(bytes) = std::fs::read(&path) {
            add(&format!("logs/{name}"), String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    files
}

/// The YAML files under conf.d, by path relative to it; entries that lead outside it (links)
/// are left out.
fn list_confd(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if !agent_tools::is_within(&path, dir) {
                continue;
            }
            if path.is_dir() {
                // Two levels, as Datadog's conf.d has: `<check>.d/<file>`.
                if current == dir {
                    stack.push(path);
                }
                continue;
            }
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let yaml = [".yaml", ".yml", ".yaml.default", ".yml.default"]
                .iter()
                .any(|ext| name.ends_with(ext));
            if yaml && let Ok(rel) = path.strip_prefix(dir) {
                out.push((rel.display().to_string(), path.clone()));
            }
        }
    }
    out.sort();
    out
}

/// The log file and its rotated copies (`agent.log.1`, …) that exist.
fn log_files(log: &Path) -> Vec<(String, PathBuf)> {
    let name = log
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("agent.log")
        .to_string();
    let mut out = Vec::new();
    if log.is_file() {
        out.push((name.clone(), log.to_path_buf()));
    }
    for n in 1..=100 {
        let rolled = PathBuf::from(format!("{}.{n}", log.display()));
        if !rolled.is_file() {
            break;
        }
        out.push((format!("{name}.{n}"), rolled));
    }
    out
}

/// Remembers the values of password-like `key: value` lines as secrets.
fn remember_sensitive_values(text: &str) {
    for line in text.lines() {
        let line = line.trim_start().trim_start_matches("- ");
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim().trim_matches(['"', '\'']);
        let value = value.trim().trim_matches(['"', '\'']);
        if secrets::is_sensitive_key(key) && !value.is_empty() && secrets::handle_of(value).is_none() {
            secrets::remember(value);
        }
    }
}

/// Every setting with its value (masked as `dogwatch config` masks) and source.
fn effective_config(ctx: &Context) -> String {
    let mut out = String::new();
    for (key, value, source) in ctx.loaded.entries() {
        let value = if secrets::is_sensitive_key(&key) && value.as_str().is_some_and(|s| !s.is_empty()) {
            serde_json::Value::String(secrets::MASK.into())
        } else {
            value
        };
        out.push_str(&format!("{key}: {value}  # {source}\n"));
    }
    out
}

/// The `DD_*` and `DOGWATCH_*` variables, sensitive ones masked.
fn environment(ctx: &Context) -> String {
    let mut vars: Vec<(String, String)> = ctx
        .env
        .iter()
        .filter(|(k, _)| k.starts_with("DD_") || k.starts_with("DOGWATCH_") || *k == "HOST_PROC" || *k == "HOST_SYS")
        .map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            let v = if secrets::is_sensitive_key(lower.trim_start_matches("dd_")) || secrets::is_sensitive_key(&lower) {
                secrets::MASK.to_string()
            } else {
                v.to_string()
            };
            (k.to_string(), v)
        })
        .collect();
    vars.sort();
    vars.into_iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

/// The version, OS, and this process's view of the machine.
fn runtime_info(ctx: &Context) -> String {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    format!(
        "dogwatch: {}\nos: {} {}\narch: {}\nkernel: {}\ncpus: {}\nflare written at: {}\nconfig file: {}\ndata dir: {}\nrun path: {}\n",
        dogwatch_model::VERSION,
        std::env::consts::OS,
        read("/etc/os-release")
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .unwrap_or("")
            .trim_matches('"'),
        std::env::consts::ARCH,
        read("/proc/sys/kernel/osrelease"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        timestamp(),
        ctx.loaded
            .file
            .as_ref()
            .map_or("none".into(), |p| p.display().to_string()),
        ctx.data_dir.display(),
        ctx.run_path.display(),
    )
}

/// `2026-12-01-23-47-40` (UTC).
fn timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = dogwatch_model::time::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}-{:02}-{:02}-{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn safe_name(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes `files` under `<root>/` as a gzip-compressed tar (ustar) file, mode 0600.
pub fn write_archive(path: &Path, root: &str, files: &[FlareFile]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mtime = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for f in files {
        let name = format!("{root}/{}", f.name);
        gz.write_all(&ustar_header(&name, f.text.len() as u64, mtime))?;
        gz.write_all(f.text.as_bytes())?;
        let pad = (512 - f.text.len() % 512) % 512;
        gz.write_all(&vec![0; pad])?;
    }
    gz.write_all(&[0; 1024])?;
    gz.finish()?.sync_all()
}

/// A ustar header for a regular file (names past 100 bytes go to the prefix field).
fn ustar_header(name: &str, size: u64, mtime: u64) -> [u8; 512] {
    let mut h = [0u8; 512];
    let (prefix, name) = if name.len() > 100 {
        let split = name[..name.len().min(155)].rfind('/').unwrap_or(0);
        (&name[..split], &name[split + 1..])
    } else {
        ("", name)
    };
    let put = |h: &mut [u8; 512], at: usize, len: usize, bytes: &[u8]| {
        let n = bytes.len().min(len);
        h[at..at + n].copy_from_slice(&bytes[..n]);
    };
    put(&mut h, 0, 100, name.as_bytes());
    put(&mut h, 100, 8, b"0000600\0");
    put(&mut h, 108, 8, b"0000000\0");
    put(&mut h, 116, 8, b"0000000\0");
    put(&mut h, 124, 12, format!("{size:011o}\0").as_bytes());
    put(&mut h, 136, 12, format!("{mtime:011o}\0").as_bytes());
    put(&mut h, 148, 8, b"        ");
    h[156] = b'0';
    put(&mut h, 257, 6, b"ustar\0");
    put(&mut h, 263, 2, b"00");
    put(&mut h, 345, 155, prefix.as_bytes());
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    put(&mut h, 148, 8, format!("{sum:06o}\0 ").as_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_is_a_tar_that_tar_lists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.tar.gz");
        let files = vec![
            FlareFile {
                name: "status.log".into(),
                text: "ok\n".into(),
            },
            FlareFile {
                name: format!("etc/confd/{}/conf.yaml", "d".repeat(120)),
                text: "x".repeat(600),
            },
        ];
        write_archive(&path, "host", &files).unwrap();
        let out = std::process::Command::new("tar")
            .arg("-tzf")
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let listed = String::from_utf8_lossy(&out.stdout);
        assert!(listed.contains("host/status.log"), "{listed}");
        assert!(listed.contains(&format!("{}/conf.yaml", "d".repeat(120))), "{listed}");
    }
}
