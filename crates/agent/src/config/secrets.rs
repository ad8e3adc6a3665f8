//! Secrets in configuration, as Datadog's agent resolves them (comp/core/secrets).
//!
//! A string value `ENC[handle]` anywhere in `datadog.yaml` or a conf.d file is a secret: the
//! agent runs `secret_backend_command` (with `secret_backend_arguments`), writes
//! `{"version":"1.0","secrets":["handle",…]}` to its standard input, and reads
//! `{"handle":{"value":"…","error":null},…}` from its standard output. The command must be
//! owned by the agent's user and give no rights to anyone else (group read and execute are
//! allowed with `secret_backend_command_allow_group_exec_perm`), as Datadog checks; it gets
//! `secret_backend_timeout` seconds and at most `secret_backend_output_max_size` bytes of
//! output. Any failure names the handle and the command, and stops the agent from starting.
//!
//! Resolved values are kept in a process-wide list ([`known_values`]) so that everything the
//! agent shows or writes (status, `dogwatch config`, flares, logs) can scrub them with
//! [`scrub_text`].

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

/// The protocol version written to the command.
pub const PAYLOAD_VERSION: &str = "1.0";
/// `secret_backend_timeout`'s default, in seconds (Datadog's).
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 30;
/// `secret_backend_output_max_size`'s default, in bytes (Datadog's 1 MiB).
pub const DEFAULT_OUTPUT_MAX_SIZE: u64 = 1024 * 1024;
/// What a secret is replaced with wherever the agent shows configuration.
pub const MASK: &str = "********";

/// How to run the secret backend: the `secret_backend_*` keys.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretBackend {
    /// `secret_backend_command`: the executable.
    pub command: PathBuf,
    /// `secret_backend_arguments`.
    pub arguments: Vec<String>,
    /// `secret_backend_timeout`.
    pub timeout: Duration,
    /// `secret_backend_output_max_size`, in bytes.
    pub output_max_size: u64,
    /// `secret_backend_command_allow_group_exec_perm`: group may read and execute it.
    pub allow_group_exec: bool,
}

impl SecretBackend {
    /// The backend the configuration names, or `None` when `secret_backend_command` is empty.
    pub fn from_config(config: &super::AgentConfig) -> Option<SecretBackend> {
        (!config.secret_backend_command.is_empty()).then(|| SecretBackend {
            command: PathBuf::from(&config.secret_backend_command),
            arguments: config.secret_backend_arguments.clone(),
            timeout: Duration::from_secs(config.secret_backend_timeout.max(1)),
            output_max_size: config.secret_backend_output_max_size,
            allow_group_exec: config.secret_backend_command_allow_group_exec_perm,
        })
    }
}

/// One place a handle is used: the file and the key in it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SecretUse {
    /// The handle between `ENC[` and `]`.
    pub handle: String,
    /// The file it is in.
    pub file: PathBuf,
    /// The key in that file, e.g. `instances[0].password`.
    pub key: String,
}

/// Why the secret backend's command could not give a handle's value.
#[derive(Debug, Error, PartialEq)]
pub enum SecretFailure {
    /// `secret_backend_command` is not set.
    #[error("secret_backend_command is not set, so ENC[] values cannot be resolved")]
    NoCommand,
    /// The command's file could not be examined.
    #[error("cannot stat the command: {0}")]
    Stat(String),
    /// The command belongs to another user.
    #[error("the command is owned by uid {owner}, not by the agent's user (uid {agent}); chown it to the agent's user")]
    Owner {
        /// The file's owner.
        owner: u32,
        /// The agent's effective uid.
        agent: u32,
    },
    /// The command gives rights to group or others.
    #[error("the command's mode is {mode:04o}: {what}; chmod 700 it (Datadog's rule)")]
    Rights {
        /// The permission bits.
        mode: u32,
        /// Who has rights.
        what: &'static str,
    },
    /// The command is not executable.
    #[error("the command is not executable by the agent's user")]
    NotExecutable,
    /// The command could not be started.
    #[error("cannot start the command: {0}")]
    Spawn(String),
    /// The command ran past `secret_backend_timeout`.
    #[error("the command did not answer within {0} s (secret_backend_timeout) and was stopped")]
    Timeout(u64),
    /// The command exited unsuccessfully.
    #[error("the command exited with {status}{stderr}")]
    Exit {
        /// The exit status.
        status: String,
        /// `: <first line of stderr>` when it wrote one.
        stderr: String,
    },
    /// The command wrote more than `secret_backend_output_max_size`.
    #[error("the command's output exceeded {0} bytes (secret_backend_output_max_size)")]
    Oversized(u64),
    /// The output is not protocol 1.0's JSON object.
    #[error("the command's output is not a JSON object of {{\"handle\": {{\"value\": ..., \"error\": ...}}}}: {0}")]
    Garbage(String),
    /// The output has no entry for the handle.
    #[error("the command's output has no entry for this handle")]
    Missing,
    /// The command answered an error for the handle.
    #[error("the command answered an error for it: {0}")]
    Refused(String),
    /// The command answered an empty value.
    #[error("the command answered an empty value for it")]
    Empty,
}

/// A secret that could not be resolved: which handle, with which command, and why (boxed:
/// it travels inside every configuration error).
#[derive(Debug, Error, PartialEq)]
#[error("{0}")]
pub struct SecretError(pub Box<SecretErrorDetails>);

/// What [`SecretError`] says.
#[derive(Debug, Error, PartialEq)]
#[error("cannot resolve secret ENC[{handle}]{more} (used at `{key}` in {file}) with secret_backend_command {command}: {failure}", command = command.display(), file = file.display())]
pub struct SecretErrorDetails {
    /// The handle.
    pub handle: String,
    /// ` (and N more)` when several handles were asked at once.
    pub more: String,
    /// The key it is used at.
    pub key: String,
    /// The file it is used in.
    pub file: PathBuf,
    /// The command (empty when none is set).
    pub command: PathBuf,
    /// What went wrong.
    pub failure: SecretFailure,
}

/// The handle of an `ENC[handle]` value (spaces and tabs around it are ignored, as
/// Datadog's), or `None` for any other string.
pub fn handle_of(value: &str) -> Option<&str> {
    let value = value.trim_matches([' ', '\t']);
    value.strip_prefix("ENC[")?.strip_suffix(']')
}

/// Every `ENC[]` value in `tree` (the parsed YAML of `file`), with its key.
pub fn find_uses(tree: &Value, file: &Path) -> Vec<SecretUse> {
    let mut out = Vec::new();
    walk(tree, String::new(), &mut |key, value| {
        if let Some(handle) = value.as_str().and_then(handle_of) {
            out.push(SecretUse {
                handle: handle.to_string(),
                file: file.to_path_buf(),
                key: key.to_string(),
            });
        }
    });
    out
}

fn walk(tree: &Value, key: String, visit: &mut dyn FnMut(&str, &Value)) {
    match tree {
        Value::Object(map) => {
            for (name, value) in map {
                let child = if key.is_empty() {
                    name.clone()
                } else {
                    format!("{key}.{name}")
                };
                walk(value, child, visit);
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                walk(value, format!("{key}[{i}]"), visit);
            }
        }
        leaf => visit(&key, leaf),
    }
}

/// Replaces every `ENC[]` value in `tree` by its resolved value.
pub fn substitute(tree: &mut Value, values: &BTreeMap<String, String>) {
    match tree {
        Value::Object(map) => map.values_mut().for_each(|v| substitute(v, values)),
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, values)),
        Value::String(s) => {
            if let Some(value) = handle_of(s).and_then(|h| values.get(h)) {
                *s = value.clone();
            }
        }
        _ => {}
    }
}

/// Resolves the `ENC[]` values of `tree` (from `file`) in place, running the backend once for
/// all of them; returns where each handle was used. A tree without secrets never runs it.
pub fn resolve_tree(
    tree: &mut Value,
    file: &Path,
    backend: Option<&SecretBackend>,
) -> Result<Vec<SecretUse>, SecretError> {
    let uses = find_uses(tree, file);
    if uses.is_empty() {
        return Ok(uses);
    }
    let values = resolve(&uses, backend)?;
    substitute(tree, &values);
    Ok(uses)
}

/// Runs the backend for the handles of `uses` (each asked once) and returns their values.
pub fn resolve(uses: &[SecretUse], backend: Option<&SecretBackend>) -> Result<BTreeMap<String, String>, SecretError> {
    let mut handles: Vec<&str> = uses.iter().map(|u| u.handle.as_str()).collect();
    handles.sort_unstable();
    handles.dedup();
    let Some(first) = uses.first() else {
        return Ok(BTreeMap::new());
    };
    let error = |use_: &SecretUse, more: usize, failure: SecretFailure| {
        SecretError(Box::new(SecretErrorDetails {
            handle: use_.handle.clone(),
            more: if more > 0 {
                format!(" (and {more} more)")
            } else {
                String::new()
            },
            key: use_.key.clone(),
            file: use_.file.clone(),
            command: backend.map(|b| b.command.clone()).unwrap_or_default(),
            failure,
        }))
    };
    let Some(backend) = backend else {
        return Err(error(first, handles.len() - 1, SecretFailure::NoCommand));
    };
    let output = run_backend(backend, &handles).map_err(|f| error(first, handles.len() - 1, f))?;
    let answers: BTreeMap<String, Answer> = serde_json::from_slice(&output)
        .map_err(|e| error(first, handles.len() - 1, SecretFailure::Garbage(e.to_string())))?;
    let mut values = BTreeMap::new();
    for handle in handles {
        let use_ = uses
            .iter()
            .find(|u| u.handle == handle)
            .expect("handles come from uses");
        let answer = answers
            .get(handle)
            .ok_or_else(|| error(use_, 0, SecretFailure::Missing))?;
        if let Some(message) = answer.error.as_deref().filter(|m| !m.is_empty()) {
            return Err(error(use_, 0, SecretFailure::Refused(message.to_string())));
        }
        let value = answer.value.clone().unwrap_or_default();
        if value.is_empty() {
            return Err(error(use_, 0, SecretFailure::Empty));
        }
        remember(&value);
        values.insert(handle.to_string(), value);
    }
    Ok(values)
}

/// One handle's entry in the command's output.
#[derive(Debug, Deserialize)]
struct Answer {
    value: Option<String>,
    error: Option<String>,
}

/// Checks the command's owner and rights as Datadog does before running it.
pub fn check_rights(backend: &SecretBackend) -> Result<(), SecretFailure> {
    let meta = std::fs::metadata(&backend.command).map_err(|e| SecretFailure::Stat(e.to_string()))?;
    let agent = rustix::process::geteuid().as_raw();
    if meta.uid() != agent {
        return Err(SecretFailure::Owner {
            owner: meta.uid(),
            agent,
        });
    }
    let mode = meta.mode() & 0o7777;
    if backend.allow_group_exec {
        if mode & 0o027 != 0 {
            return Err(SecretFailure::Rights {
                mode,
                what: "others have rights on it or group can write it",
            });
        }
    } else if mode & 0o077 != 0 {
        return Err(SecretFailure::Rights {
            mode,
            what: "group or others have rights on it",
        });
    }
    if mode & 0o100 == 0 {
        return Err(SecretFailure::NotExecutable);
    }
    Ok(())
}

/// Runs the command with the handles on stdin; returns its stdout.
fn run_backend(backend: &SecretBackend, handles: &[&str]) -> Result<Vec<u8>, SecretFailure> {
    check_rights(backend)?;
    let payload = serde_json::json!({"version": PAYLOAD_VERSION, "secrets": handles}).to_string();
    let mut child = {
        use std::os::unix::process::CommandExt;
        Command::new(&backend.command)
            .args(&backend.arguments)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout stops whatever it started too.
            .process_group(0)
            .spawn()
            .map_err(|e| SecretFailure::Spawn(e.to_string()))?
    };
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let max = backend.output_max_size;
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    // The writes and reads run beside the wait, so a command that does not read its input or
    // writes more than a pipe holds cannot stall the agent past the timeout.
    std::thread::spawn(move || {
        let _ = stdin.write_all(payload.as_bytes());
    });
    let over = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let over_flag = over.clone();
    let out_reader = std::thread::spawn(move || {
        let read = read_capped(stdout, max);
        over_flag.store(read.1, std::sync::atomic::Ordering::Release);
        read
    });
    let err_reader = std::thread::spawn(move || read_capped(stderr, 4096));
    let deadline = Instant::now() + backend.timeout;
    let stop = |child: &mut std::process::Child| {
        if let Ok(pid) = i32::try_from(pid)
            && let Some(pid) = rustix::process::Pid::from_raw(pid)
        {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = child.kill();
        let _ = child.wait();
    };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if over.load(std::sync::atomic::Ordering::Acquire) => {
                stop(&mut child);
                return Err(SecretFailure::Oversized(max));
            }
            Ok(None) if Instant::now() >= deadline => {
                stop(&mut child);
                return Err(SecretFailure::Timeout(backend.timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(SecretFailure::Spawn(e.to_string())),
        }
    };
    // The command has exited; whatever it started may still hold the pipes open, so the
    // readers get what is left of the timeout.
    let left = deadline.saturating_duration_since(Instant::now());
    let out = join_within(out_reader, left).ok_or(SecretFailure::Timeout(backend.timeout.as_secs()))?;
    let err = join_within(err_reader, Duration::from_millis(100))
        .map(|(bytes, _)| bytes)
        .unwrap_or_default();
    if !status.success() {
        let line = String::from_utf8_lossy(&err);
        let line = line.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        let stderr = if line.is_empty() {
            String::new()
        } else {
            format!(": {}", scrub_text(&line.chars().take(200).collect::<String>()))
        };
        return Err(SecretFailure::Exit {
            status: status.to_string(),
            stderr,
        });
    }
    let (bytes, oversized) = out;
    if oversized {
        return Err(SecretFailure::Oversized(max));
    }
    Ok(bytes)
}

/// Reads up to `max` bytes; the flag says whether there was more.
fn read_capped(mut from: impl Read, max: u64) -> (Vec<u8>, bool) {
    let mut bytes = Vec::new();
    let mut limited = (&mut from).take(max + 1);
    let _ = limited.read_to_end(&mut bytes);
    let over = bytes.len() as u64 > max;
    bytes.truncate(max as usize);
    (bytes, over)
}

fn join_within<T>(handle: std::thread::JoinHandle<T>, within: Duration) -> Option<T> {
    let deadline = Instant::now() + within;
    while !handle.is_finished() {
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    handle.join().ok()
}

/// Secret values this process knows: resolved `ENC[]` values, and the API and application
/// keys ([`remember`]).
static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Adds a value to those [`scrub_text`] hides. Values shorter than 4 characters are not
/// kept (they would hide ordinary text).
pub fn remember(value: &str) {
    if value.chars().count() < 4 {
        return;
    }
    let mut known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
    if !known.iter().any(|k| k == value) {
        known.push(value.to_string());
        // Longest first, so a value containing another is hidden whole.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

/// The secret values [`remember`] was given.
pub fn known_values() -> Vec<String> {
    KNOWN.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// `text` with every known secret value replaced by [`MASK`].
pub fn scrub_text(text: &str) -> String {
    let known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
    let mut out = text.to_string();
    for value in known.iter() {
        if out.contains(value.as_str()) {
            out = out.replace(value.as_str(), MASK);
        }
    }
    out
}

/// `text` (a config file, a log, a command's output) with known secret values, the values of
/// password/token/key options (`password: x`, `"api_key": "x"`, `--password=x`) and
/// credentials in URLs (`redis://:x@host`) replaced by [`MASK`], as Datadog's flare scrubber
/// does.
pub fn scrub_config_text(text: &str) -> String {
    static OPTION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(?P<key>[A-Za-z0-9_.\-]+)(?P<sep>"?\s*[:=]\s*)(?P<value>"[^"\n]*"|'[^'\n]*'|[^\s,}\]]+)"#)
            .expect("a valid pattern")
    });
    static FLAG: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(?P<key>--[A-Za-z0-9_\-]+)(?P<sep>\s+)(?P<value>"[^"\n]*"|'[^'\n]*'|[^\s-][^\s]*)"#)
            .expect("a valid pattern")
    });
    static URL_CREDENTIALS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)[^@\s]+@").expect("a valid pattern")
    });
    let mask_value = |c: &regex::Captures<'_>| {
        let (key, sep, value) = (&c["key"], &c["sep"], &c["value"]);
        if !is_sensitive_key(key.trim_start_matches('-')) || value.contains(MASK) {
            return c[0].to_string();
        }
        if value.starts_with(['"', '\'']) && value.len() >= 2 {
            let quote = &value[..1];
            format!("{key}{sep}{quote}{MASK}{quote}")
        } else {
            format!("{key}{sep}{MASK}")
        }
    };
    let known = scrub_text(text);
    let urls = URL_CREDENTIALS.replace_all(&known, format!("${{scheme}}{MASK}@").as_str());
    let options = OPTION.replace_all(&urls, mask_value);
    FLAG.replace_all(&options, mask_value).into_owned()
}

/// Keys whose values are secrets whatever they hold, as Datadog's scrubber treats them.
pub fn is_sensitive_key(key: &str) -> bool {
    let key = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
    let key = key.split('[').next().unwrap_or(&key);
    const WORDS: [&str; 10] = [
        "password", "passwd", "pwd", "pass", "api_key", "app_key", "apikey", "token", "secret", "auth",
    ];
    WORDS
        .iter()
        .any(|w| key == *w || key.ends_with(&format!("_{w}")) || key.starts_with(&format!("{w}_")))
}

/// `tree` with sensitive keys' values and known secret values replaced by [`MASK`], for
/// showing a configuration (configcheck, flares).
pub fn mask_tree(tree: &Value) -> Value {
    fn go(tree: &Value) -> Value {
        match tree {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let masked = if is_sensitive_key(k) && !v.is_object() && !v.is_array() && !v.is_null() {
                            Value::String(MASK.into())
                        } else {
                            go(v)
                        };
                        (k.clone(), masked)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(go).collect()),
            Value::String(s) => Value::String(scrub_text(s)),
            other => other.clone(),
        }
    }
    go(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enc_values_are_found_with_their_keys_and_other_strings_are_not() {
        let tree: Value = serde_json::json!({
            "api_key": "ENC[dd_key]",
            "instances": [{"password": " ENC[db/pass] ", "host": "ENC is not a secret"}],
            "tags": ["ENC[tag]", "plain"],
        });
        let uses = find_uses(&tree, Path::new("/etc/dd/conf.yaml"));
        let keys: Vec<(&str, &str)> = uses.iter().map(|u| (u.handle.as_str(), u.key.as_str())).collect();
        assert_eq!(
            keys,
            [
                ("dd_key", "api_key"),
                ("db/pass", "instances[0].password"),
                ("tag", "tags[0]")
            ]
        );
        assert_eq!(handle_of("ENC[]"), Some(""));
        assert_eq!(handle_of("ENC[x"), None);
    }

    #[test]
    fn sensitive_keys_and_known_values_are_masked() {
        remember("hunter2-known-value");
        let tree = serde_json::json!({"password": "p", "db_password": 3, "host": "x hunter2-known-value y", "port": 5});
        let masked = mask_tree(&tree);
        assert_eq!(masked["password"], MASK);
        assert_eq!(masked["db_password"], MASK);
        assert_eq!(masked["host"], format!("x {MASK} y"));
        assert_eq!(masked["port"], 5);
    }

    #[test]
    fn config_text_loses_passwords_keys_and_url_credentials() {
        let text = "api_key: abcdef0123\ninstances:\n  - host: db\n    password: \"s3cr3t pass\"\n    url: redis://:hunter2@localhost:6379\n{\"token\": \"t0k3n\"}\nrun --password=x1y2 --db_pass q9\nport: 5432\n";
        let out = scrub_config_text(text);
        for secret in ["abcdef0123", "s3cr3t pass", "hunter2", "t0k3n", "x1y2", "q9"] {
            assert!(!out.contains(secret), "{secret} left in:\n{out}");
        }
        assert!(
            out.contains("host: db") && out.contains("port: 5432") && out.contains("@localhost:6379"),
            "{out}"
        );
    }

    #[test]
    fn without_a_command_the_error_names_the_handle_key_and_file() {
        let uses = find_uses(&serde_json::json!({"api_key": "ENC[k]"}), Path::new("/x/datadog.yaml"));
        let err = resolve(&uses, None).unwrap_err().to_string();
        assert!(
            err.contains("ENC[k]") && err.contains("`api_key`") && err.contains("/x/datadog.yaml"),
            "{err}"
        );
        assert!(err.contains("secret_backend_command is not set"), "{err}");
    }
}
