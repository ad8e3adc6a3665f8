//! The `dogwatch` binary as a user runs it: `up`, `status`, `config`, `agent`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{dogwatch, free_port, free_udp_port, stderr, stdout};

/// A plain HTTP/1.1 GET; returns the status line's code and the body.
fn http_get(port: u16, path: &str, api_key: &str) -> (u16, String) {
    http(port, "GET", path, api_key, "")
}

/// A running `dogwatch up` as the tests' HTTP helpers know it: its port, data directory, and
/// the API and application keys made for the tests' reads once it is up.
struct KnownServer {
    port: u16,
    data_dir: std::path::PathBuf,
    keys: Option<(String, String)>,
}

/// Every `dogwatch up` the tests started.
static SERVERS: std::sync::Mutex<Vec<KnownServer>> = std::sync::Mutex::new(Vec::new());

/// An API key and an admin's application key for the `dogwatch up` on `port`, made with the
/// CLI (`dogwatch api-key create`, `dogwatch app-key create`) on first use.
fn credentials(port: u16) -> Option<(String, String)> {
    let mut servers = SERVERS.lock().unwrap();
    let entry = servers.iter_mut().find(|s| s.port == port)?;
    if entry.keys.is_none() && entry.data_dir.join("dogwatch.db").exists() {
        let make = |args: &[&str]| {
            let out = dogwatch()
                .args(args)
                .arg("--data-dir")
                .arg(&entry.data_dir)
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
            stdout(&out).trim().to_string()
        };
        let keys = (
            make(&["api-key", "create", "--name", "tests"]),
            make(&["app-key", "create", "--name", "tests"]),
        );
        // The server learns of keys the CLI made within a second or so.
        let deadline = Instant::now() + Duration::from_secs(10);
        while request_with_keys(port, "GET", "/api/ui/me", &keys.0, &keys.1, "").0 != 200 {
            assert!(
                Instant::now() < deadline,
                "the server never accepted the CLI's new keys"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        entry.keys = Some(keys);
    }
    entry.keys.clone()
}

/// A plain HTTP/1.1 request; returns the status line's code and the body. It carries the
/// server's test credentials (an application key, and an API key when `api_key` is empty).
fn http(port: u16, method: &str, path: &str, api_key: &str, body: &str) -> (u16, String) {
    let (api_key, app_key) = match credentials(port) {
        Some((api, app)) if api_key.is_empty() => (api, app),
        Some((_, app)) => (api_key.to_string(), app),
        None => (api_key.to_string(), String::new()),
    };
    request_with_keys(port, method, path, &api_key, &app_key, body)
}

/// A plain HTTP/1.1 request with exactly these keys; returns the status line's code and the body.
fn request_with_keys(port: u16, method: &str, path: &str, api_key: &str, app_key: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nDD-API-KEY: {api_key}\r\nDD-APPLICATION-KEY: {app_key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let code = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

/// `dogwatch up` in the background, with its stdout lines on a channel.
struct Up {
    child: Child,
    lines: mpsc::Receiver<String>,
    port: u16,
    cmd_port: u16,
    apm_port: u16,
    data_dir: std::path::PathBuf,
}

impl Up {
    fn start(data_dir: &Path) -> Up {
        Up::start_with(data_dir, &[])
    }

    fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> Up {
        let (port, cmd_port, apm_port) = (free_port(), free_port(), free_port());
        let mut child = dogwatch()
            .args(["up", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data_dir)
            .env("DD_APM_RECEIVER_PORT", apm_port.to_string())
            .envs(env.iter().copied())
            .env("DD_CMD_PORT", cmd_port.to_string())
            .env("DD_HOSTNAME", "e2e-host")
            .env("DD_TAGS", "team:e2e,role:test")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        SERVERS.lock().unwrap().push(KnownServer {
            port,
            data_dir: data_dir.to_path_buf(),
            keys: None,
        });
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Up {
            child,
            lines,
            port,
            cmd_port,
            apm_port,
            data_dir: data_dir.to_path_buf(),
        }
    }

    /// Reads stdout until the line starting with `prefix` (at most 30 s).
    fn line_starting(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no line starting with {prefix:?}"));
            if line.trim_start().starts_with(prefix) {
                return line;
            }
        }
    }

    fn status(&self) -> Output {
        dogwatch()
            .arg("status")
            .env("DD_CMD_PORT", self.cmd_port.to_string())
            // `dogwatch status` reads the agent's auth_token from <data-dir>/agent.
            .env("DOGWATCH_DATA_DIR", &self.data_dir)
            .output()
            .unwrap()
    }

    /// Sends SIGTERM and waits (at most 15 s) for a clean exit; returns how long it took.
    fn terminate(mut self) -> Duration {
        let took = self.terminate_child();
        std::mem::forget(self);
        took
    }

    fn terminate_child(&mut self) -> Duration {
        let started = Instant::now();
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "dogwatch up exited with {status}");
                return started.elapsed();
            }
            if started.elapsed() > Duration::from_secs(15) {
                let _ = self.child.kill();
                panic!("dogwatch up did not stop within 15 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Up {
    /// A test that fails midway still stops its server.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn up_serves_validate_and_status_then_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(dir.path());
    let key_line = up.line_starting("API key:");
    assert!(key_line.contains("generated now"), "{key_line}");
    let key = key_line.split_whitespace().nth(2).unwrap().to_string();
    assert_eq!(key.len(), 32);
    up.line_starting("Agent status:");

    assert_eq!(
        http_get(up.port, "/api/v1/validate", &key),
        (200, r#"{"valid":true}"#.to_string())
    );
    assert_eq!(
        http_get(up.port, "/api/v1/validate", "wrong"),
        (403, r#"{"errors":["Forbidden"]}"#.to_string())
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    let report = loop {
        let output = up.status();
        let text = stdout(&output);
        if output.status.success() && text.contains("/intake/: ") {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "status never showed the delivered payloads: {text}{}",
            stderr(&output)
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    for expected in [
        "Agent (v",
        "hostname: e2e-host",
        "hostname provider: configuration",
        "team:e2e",
        "uptime (",
        "Instance ID: uptime:",
        "Forwarder",
        "API Key valid",
        "On-disk storage",
    ] {
        assert!(report.contains(expected), "missing {expected:?} in:\n{report}");
    }
    let (code, hosts) = http_get(up.port, "/api/ui/hosts", "");
    assert_eq!(code, 200);
    assert!(hosts.contains(r#""hostname":"e2e-host""#), "{hosts}");

    let took = up.terminate();
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");

    let again = Up::start(dir.path());
    let key_line = again.line_starting("API key:");
    assert!(
        key_line.contains(&format!("ending with {}", &key[28..])) && !key_line.contains(&key),
        "{key_line}"
    );
    again.terminate();
    let listed = dogwatch()
        .args(["api-key", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let listed = stdout(&listed);
    assert!(
        listed.contains(&format!("generated\t…{}", &key[28..])) && !listed.contains(&key),
        "the key is listed by its last four characters only: {listed}"
    );
}

/// Asks `dogwatch status` until its report contains every one of `needles` (at most 30 s).
fn wait_for_status(up: &Up, needles: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let output = up.status();
        let text = stdout(&output);
        if output.status.success() && needles.iter().all(|n| text.contains(n)) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "status never showed {needles:?}:\n{text}{}",
            stderr(&output)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn live_processes_reach_the_server_and_a_watcher_switches_the_agent_to_real_time() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    // A process the test knows: its argv carries a secret that must not leave the host.
    let mut child = Command::new("sh")
        .args(["-c", "while :; do sleep 1; done", "e2e-marker", "--password=topsecret"])
        .current_dir(cwd.path())
        .spawn()
        .unwrap();
    let pid = child.id();
    let up = Up::start_with(
        dir.path(),
        &[
            ("DD_PROCESS_CONFIG_INTERVALS_PROCESS", "3"),
            ("DD_PROCESS_CONFIG_INTERVALS_PROCESS_REALTIME", "1"),
        ],
    );
    up.line_starting("Agent status:");

    let report = wait_for_status(&up, &["Processes collected", "Payloads sent"]);
    assert!(report.contains("Real-time: off"), "{report}");
    assert!(report.contains("Interval: 3s"), "{report}");

    // The server holds the host's latest run, with the child in it, scrubbed.
    let deadline = Instant::now() + Duration::from_secs(30);
    let snapshot: serde_json::Value = loop {
        let (code, body) = http_get(up.port, "/api/ui/processes/snapshot?host=e2e-host", "");
        if code == 200 {
            let value: serde_json::Value = serde_json::from_str(&body).unwrap();
            if value["processes"].as_array().unwrap().iter().any(|p| p["pid"] == pid) {
                break value;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the child never reached the server: {code} {body}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let record = snapshot["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == pid)
        .unwrap();
    let cmdline = record["cmdline"].to_string();
    assert!(
        cmdline.contains("--password=********") && !cmdline.contains("topsecret"),
        "{cmdline}"
    );
    assert_eq!(record["ppid"], std::process::id());
    assert_eq!(
        record["cwd"].as_str().map(std::path::PathBuf::from),
        Some(cwd.path().canonicalize().unwrap())
    );
    assert!(record["tags"].to_string().contains("team:e2e"), "{record}");
    assert_eq!(snapshot["host"]["hostname"], "e2e-host");
    assert!(snapshot["host"]["cpu_count"].as_u64().unwrap() >= 1);
    assert_eq!(snapshot["realtime"], false);
    let (_, hosts) = http_get(up.port, "/api/ui/hosts", "");
    let hosts: serde_json::Value = serde_json::from_str(&hosts).unwrap();
    let summary = &hosts["hosts"][0]["processes"];
    assert_eq!(summary["hostname"], "e2e-host", "{hosts}");
    assert!(summary["processes"].as_u64().unwrap() >= 2, "{hosts}");
    assert_eq!(summary["stale"], false, "{hosts}");

    // Someone watches: the next answer switches the agent to the server's 2 s interval.
    let (code, body) = http(
        up.port,
        "POST",
        "/api/ui/processes/watch",
        "",
        r#"{"hosts":["e2e-host"]}"#,
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("watching_until_ms"), "{body}");
    let report = wait_for_status(&up, &["Real-time: on", "Interval: 2s"]);
    assert!(report.contains("someone is watching"), "{report}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, body) = http_get(up.port, "/api/ui/processes/snapshot?host=e2e-host", "");
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        if value["realtime"] == true && value["interval_s"] == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "runs never came in real time: {body}");
        std::thread::sleep(Duration::from_millis(250));
    }
    let (code, body) = http(up.port, "POST", "/api/ui/processes/watch", "", r#"{"hots":[]}"#);
    assert_eq!(code, 400, "{body}");
    let (code, body) = http_get(up.port, "/api/ui/processes/snapshot?host=nowhere", "");
    assert_eq!(code, 404, "{body}");

    let _ = child.kill();
    let _ = child.wait();
    up.terminate();
}

/// `dogwatch ps ARGS --server` against `up`.
fn ps(up: &Up, args: &[&str]) -> Output {
    let (api, app) = credentials(up.port).expect("the server is up");
    dogwatch()
        .arg("ps")
        .env("DD_API_KEY", api)
        .env("DD_APP_KEY", app)
        .args(args)
        .args(["--server", &format!("http://127.0.0.1:{}", up.port)])
        .output()
        .unwrap()
}

#[test]
fn ps_and_the_process_apis_answer_from_a_real_agent_s_processes() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("ps-e2e-marker-{}", std::process::id());
    let child = KillOnDrop(
        Command::new("sh")
            .args(["-c", "while :; do sleep 1; done", &marker, "--password=topsecret"])
            .spawn()
            .unwrap(),
    );
    let pid = child.0.id();
    let up = Up::start_with(dir.path(), &[("DD_PROCESS_CONFIG_INTERVALS_PROCESS", "4")]);
    let key_line = up.line_starting("API key:");
    let key = key_line.split_whitespace().nth(2).unwrap().to_string();
    up.line_starting("Agent status:");

    // The child shows up in `dogwatch ps QUERY --json`.
    let deadline = Instant::now() + Duration::from_secs(30);
    let listed: serde_json::Value = loop {
        let output = ps(&up, &[&marker, "--json"]);
        assert!(output.status.success(), "{}", stderr(&output));
        let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        if value["total"] == 1 {
            break value;
        }
        assert!(Instant::now() < deadline, "the child never showed up: {value}");
        std::thread::sleep(Duration::from_millis(250));
    };
    let row = &listed["processes"][0];
    assert_eq!(
        (row["pid"].as_u64(), row["host"].as_str()),
        (Some(u64::from(pid)), Some("e2e-host"))
    );
    let command = row["command"].as_str().unwrap();
    assert!(command.ends_with(&format!("{marker} --password=********")), "{row}");
    // Asking switched the agent to real time.
    wait_for_status(&up, &["Real-time: on", "Interval: 2s"]);

    // The table fits 160 columns when piped and shows the scrubbed command.
    let output = ps(&up, &["sh", &marker, "--sort", "rss", "--limit", "5"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let table = stdout(&output);
    assert!(table.contains("PID") && table.contains(&pid.to_string()), "{table}");
    assert!(
        table.contains("--password=********") && !table.contains("topsecret"),
        "{table}"
    );
    assert!(table.contains("1 of 1 processes matching, on 1 host(s)."), "{table}");
    assert!(table.lines().all(|l| l.chars().count() <= 160), "{table}");

    let output = ps(&up, &["--by", "user", "--limit", "3"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let groups = stdout(&output);
    assert!(
        groups.contains("USER") && groups.contains("PROCS") && groups.contains("groups matching"),
        "{groups}"
    );

    // Bad input: the query error points at the character, unknown sort keys list the allowed ones.
    let output = ps(&up, &["java", "(kafka"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("unclosed parenthesis") && message.contains("     ^"),
        "{message}"
    );
    let output = ps(&up, &["--sort", "bogus"]);
    assert!(stderr(&output).contains("allowed: host, pid"), "{}", stderr(&output));
    let output = dogwatch()
        .args(["ps", "--server", "http://127.0.0.1:9"])
        .env("DD_API_KEY", "k")
        .env("DD_APP_KEY", "a")
        .output()
        .unwrap();
    assert!(
        stderr(&output).contains("is `dogwatch up` or `dogwatch server` running?"),
        "{}",
        stderr(&output)
    );

    // Datadog's public API has it too, and its detail has history from the store.
    let (code, body) = http_get(up.port, &format!("/api/v2/processes?search={marker}"), &key);
    assert_eq!(code, 200, "{body}");
    let v2: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v2["data"][0]["attributes"]["pid"], pid, "{v2}");
    assert_eq!(v2["data"][0]["type"], "process");
    let (code, body) = http_get(
        up.port,
        &format!("/api/ui/processes/detail?host=e2e-host&pid={pid}"),
        "",
    );
    assert_eq!(code, 200, "{body}");
    let detail: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(detail["parent"]["pid"], std::process::id(), "{detail}");
    assert!(!detail["history"]["samples"].as_array().unwrap().is_empty(), "{detail}");

    drop(child);
    up.terminate();
}

/// A child process killed when the test ends, even when it fails.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn dd_process_agent_enabled_false_turns_process_collection_off() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start_with(dir.path(), &[("DD_PROCESS_AGENT_ENABLED", "false")]);
    up.line_starting("Agent status:");
    let report = wait_for_status(&up, &["Processes", "Process collection is off"]);
    assert!(!report.contains("Processes collected"), "{report}");
    let (code, _) = http_get(up.port, "/api/ui/processes/snapshot?host=e2e-host", "");
    assert_eq!(code, 404);
    up.terminate();
}

#[test]
fn agent_check_process_prints_this_machine_s_processes() {
    let output = dogwatch()
        .args(["agent", "check", "process", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let payloads: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let processes: Vec<&serde_json::Value> = payloads
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["processes"].as_array().unwrap())
        .collect();
    let me = std::process::id();
    assert!(
        processes.iter().any(|p| p["pid"] == me),
        "the test process itself is missing from {} processes",
        processes.len()
    );
    let table = dogwatch().args(["agent", "check", "process"]).output().unwrap();
    assert!(table.status.success(), "{}", stderr(&table));
    let text = stdout(&table);
    assert!(
        text.contains("PID") && text.contains("COMMAND") && text.contains("processes"),
        "{text}"
    );
}

/// Reads `child`'s stderr until a line contains `needle` (at most 20 s).
fn wait_for_stderr_line(child: &mut Child, needle: &str) -> String {
    let err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(_) => panic!("no stderr line containing {needle:?}"),
        }
    }
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn agent_and_server_apart_agree_on_dd_api_key_and_a_wrong_key_is_reported_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = dogwatch()
        .args(["server", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path().join("server"))
        .env("DD_API_KEY", "right-key")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server never started listening");
        std::thread::sleep(Duration::from_millis(50));
    }
    let agent = |key: &str| {
        dogwatch()
            .args(["agent", "--data-dir"])
            .arg(dir.path().join(format!("agent-{key}")))
            .env("DD_API_KEY", key)
            .env("DD_DD_URL", format!("http://127.0.0.1:{port}"))
            .env("DD_CMD_PORT", free_port().to_string())
            .env("DD_HOSTNAME", "apart")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut good = agent("right-key");
    wait_for_stderr_line(&mut good, "The server accepts the API key.");
    let mut bad = agent("wrong-key");
    let line = wait_for_stderr_line(&mut bad, "does not know this API key");
    assert!(line.contains("DD_API_KEY"), "{line}");
    stop(good);
    stop(bad);
    stop(server);
}

#[test]
fn status_without_a_running_agent_says_what_to_start() {
    let output = dogwatch()
        .arg("status")
        .env("DD_CMD_PORT", free_port().to_string())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("is `dogwatch agent` or `dogwatch up` running?"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn agent_exits_successfully_when_disable_datadog_agent_is_set() {
    let output = dogwatch()
        .arg("agent")
        .env("DISABLE_DATADOG_AGENT", "")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(
        stderr(&output).contains("DISABLE_DATADOG_AGENT is set"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn agent_without_an_api_key_refuses_to_start_and_names_dd_api_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = dogwatch()
        .args(["agent", "--data-dir"])
        .arg(dir.path())
        .env("DD_HOSTNAME", "h")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(stderr(&output).contains("DD_API_KEY"), "{}", stderr(&output));
}

#[test]
fn config_shows_each_value_with_its_source_and_the_resolved_host() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("datadog.yaml");
    std::fs::write(
        &file,
        "dogstatsd_port: 9125\napm_config:\n  receiver_port: 9126\ntags: [\"team:a\"]\n",
    )
    .unwrap();
    let output = dogwatch()
        .args(["config", "--json", "--config"])
        .arg(&file)
        // The file's dogstatsd_port must show, not the test's own port.
        .env_remove("DD_DOGSTATSD_PORT")
        .env("DD_APM_RECEIVER_PORT", "9999")
        .env("DD_DYNO_HOST", "true")
        .env("HEROKU_APP_NAME", "myapp")
        .env("DYNO", "web.1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let setting = |key: &str| {
        json["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == key)
            .unwrap()
            .clone()
    };
    assert_eq!(setting("dogstatsd_port")["value"], 9125);
    assert_eq!(setting("dogstatsd_port")["source"]["kind"], "file");
    assert_eq!(setting("apm_config.receiver_port")["value"], 9999);
    assert_eq!(
        setting("apm_config.receiver_port")["source"]["name"],
        "DD_APM_RECEIVER_PORT"
    );
    assert_eq!(setting("cmd_port")["source"]["kind"], "default");
    assert_eq!(json["hostname"], "myapp.web.1");
    assert_eq!(json["hostname_provider"], "heroku");
    assert_eq!(
        json["host_tags"],
        serde_json::json!(["team:a", "dyno:web.1", "dynotype:web", "appname:myapp"])
    );

    let table = dogwatch()
        .arg("config")
        .arg("--config")
        .arg(&file)
        .env("DD_HOSTNAME", "box-1")
        .output()
        .unwrap();
    let text = stdout(&table);
    assert!(
        text.contains("Hostname: box-1 (from configuration)") && text.contains("Host tags: team:a"),
        "{text}"
    );
}

#[test]
fn config_errors_name_the_key_and_where_the_value_came_from() {
    let output = dogwatch()
        .arg("config")
        .env("DD_APM_RECEIVER_PORT", "http")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = stderr(&output);
    assert!(
        err.contains("`apm_config.receiver_port` (from env DD_APM_RECEIVER_PORT)"),
        "{err}"
    );
}

#[test]
fn agent_check_uptime_prints_the_metric_and_unknown_checks_list_the_known_ones() {
    let output = dogwatch()
        .args(["agent", "check", "uptime", "--json"])
        .env("DD_HOSTNAME", "h1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let series = &json[0]["output"]["series"][0];
    assert_eq!(series["metric"], "system.uptime");
    assert_eq!(series["host"], "h1");
    assert!(series["points"][0][1].as_f64().unwrap() > 0.0);
    assert!(json[0]["instance_id"].as_str().unwrap().starts_with("uptime:"));
    assert_eq!(json[0]["source"], "default");

    let output = dogwatch().args(["agent", "check", "nope"]).output().unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains(
            "available checks: cpu, disk, file_handle, io, load, memory, network, uptime, postgres, redisdb, process"
        ),
        "{}",
        stderr(&output)
    );
}

/// Writes `text` to `<dir>/<rel>`, creating directories.
fn write_file(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn agent_check_runs_rate_checks_twice_lists_sources_and_names_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let confd = dir.path().join("conf.d");
    write_file(
        &confd,
        "network.d/conf.yaml",
        "init_config:\ninstances:\n  - excluded_interfaces: [lo]\n    tags: [net:a]\n",
    );
    write_file(&confd, "io.d/conf.yaml", "instances: {device_exclude_re: loop}\n");
    write_file(
        &confd,
        "nosuch_integration.d/conf.yaml",
        "instances: [{host: localhost, port: 6379}]\n",
    );
    let run = |args: &[&str]| {
        dogwatch()
            .args(args)
            .env("DD_CONFD_PATH", &confd)
            .env("DD_HOSTNAME", "h1")
            .output()
            .unwrap()
    };
    let output = run(&["agent", "check", "network", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let series = json[0]["output"]["series"].as_array().unwrap();
    let bytes: Vec<&serde_json::Value> = series
        .iter()
        .filter(|s| s["metric"] == "system.net.bytes_rcvd")
        .collect();
    assert!(!bytes.is_empty(), "the second run has rates: {series:?}");
    assert!(
        bytes
            .iter()
            .all(|s| s["tags"].as_array().unwrap().contains(&"net:a".into()))
    );
    assert!(bytes.iter().all(|s| s["tags"][0] != "device:lo"), "lo is excluded");
    assert!(json[0]["source"].as_str().unwrap().ends_with("network.d/conf.yaml"));

    let list = stdout(&run(&["agent", "check", "--list"]));
    assert!(
        list.contains("network.d/conf.yaml") && list.contains("default"),
        "{list}"
    );
    assert!(
        list.contains("config error: ") && list.contains("`instances` must be a list"),
        "{list}"
    );
    assert!(
        list.contains("loading error: no check called `nosuch_integration`"),
        "{list}"
    );

    let output = run(&["agent", "check", "io"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("io.d/conf.yaml: `instances` must be a list"),
        "{}",
        stderr(&output)
    );
}

/// The latest non-null value of the single series `query` answers, once it has one.
fn latest(port: u16, query: &str) -> f64 {
    let answer = wait_for_json(port, &query_path(query), |a| {
        a["series"].as_array().is_some_and(|s| {
            s.len() == 1
                && s[0]["pointlist"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|p| p[1].is_number()))
        })
    });
    let points = answer["series"][0]["pointlist"].as_array().unwrap().clone();
    points.iter().rev().find_map(|p| p[1].as_f64()).unwrap()
}

/// The mean of a query's points over the last `seconds`.
fn mean_since(port: u16, query: &str, seconds: u64) -> f64 {
    let (_, body) = http_get(port, &query_path(query), "");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let since = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - seconds) as f64
        * 1000.0;
    let values: Vec<f64> = answer["series"][0]["pointlist"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p[0].as_f64().unwrap_or(0.0) >= since)
        .filter_map(|p| p[1].as_f64())
        .collect();
    assert!(
        !values.is_empty(),
        "no points of {query} in the last {seconds} s: {answer}"
    );
    values.iter().sum::<f64>() / values.len() as f64
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()
}

#[test]
fn core_checks_report_this_machine_s_values_through_up_and_the_query_api() {
    let dir = tempfile::tempdir().unwrap();
    let confd = dir.path().join("conf.d");
    // One-second intervals keep the test short; the defaults are 15 s.
    for check in ["cpu", "load", "memory", "disk"] {
        write_file(
            &confd,
            &format!("{check}.d/conf.yaml"),
            "init_config:\n  min_collection_interval: 1\ninstances:\n  - {}\n",
        );
    }
    write_file(&confd, "broken.d/conf.yaml", "instances: [unclosed\n");
    write_file(&confd, "nosuch.d/conf.yaml", "instances: [{}]\n");
    let data = dir.path().join("data");
    let up = Up::start_with(&data, &[("DD_CONFD_PATH", confd.to_str().unwrap())]);
    up.line_starting("Agent status:");
    let port = up.port;

    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let mem_total_kib: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        latest(port, "avg:system.mem.total{host:e2e-host}"),
        mem_total_kib / 1024.0
    );

    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    let root_device = mounts
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f[1] == "/")
        .unwrap()[0]
        .to_string();
    let statfs = Command::new("stat").args(["-f", "-c", "%b %S", "/"]).output().unwrap();
    let nums: Vec<f64> = stdout(&statfs).split_whitespace().map(|v| v.parse().unwrap()).collect();
    assert_eq!(
        latest(
            port,
            &format!("avg:system.disk.total{{host:e2e-host,device:{root_device}}}")
        ),
        nums[0] * nums[1] / 1024.0,
        "system.disk.total of / is statvfs in KiB"
    );

    let load = latest(port, "avg:system.load.1{host:e2e-host}");
    let proc_load: f64 = std::fs::read_to_string("/proc/loadavg")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (load - proc_load).abs() < 0.75,
        "system.load.1 {load} vs /proc/loadavg {proc_load}"
    );

    let parts = ["user", "system", "iowait", "idle", "stolen"]
        .map(|p| latest(port, &format!("avg:system.cpu.{p}{{host:e2e-host}}")));
    let sum: f64 = parts.iter().sum();
    assert!(
        (sum - 100.0).abs() < 1.0,
        "user + system + iowait + idle + stolen = {sum} ({parts:?})"
    );

    // A busy child raises system.cpu.user by its share of the machine.
    let ncores = latest(port, "avg:system.cpu.num_cores{host:e2e-host}");
    let mut busy = KillOnDrop(Command::new("sh").args(["-c", "while :; do :; done"]).spawn().unwrap());
    let ticks_before = cpu_ticks(busy.0.id());
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(6));
    let ticks = cpu_ticks(busy.0.id()) - ticks_before;
    let child_share = ticks / 100.0 / started.elapsed().as_secs_f64() * 100.0 / ncores;
    let user = mean_since(port, "avg:system.cpu.user{host:e2e-host}.rollup(avg, 1)", 4);
    let _ = busy.0.kill();
    assert!(
        child_share > 0.4 * 100.0 / ncores,
        "the busy child got {child_share}% of the machine"
    );
    assert!(
        user >= 0.8 * child_share,
        "system.cpu.user {user}% while a child used {child_share}% of {ncores} cores"
    );

    // The agent said it started, its checks show on the host, and status lists them.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let events = wait_for_json(
        port,
        &format!("/api/v1/events?start={}&end={}", now - 600, now + 60),
        |e| e["events"].as_array().is_some_and(|e| !e.is_empty()),
    );
    assert!(
        events
            .to_string()
            .contains("Datadog-compatible agent started on e2e-host"),
        "{events}"
    );
    let hosts = wait_for_json(port, "/api/ui/hosts", |h| {
        h["hosts"][0]["checks"].as_array().is_some_and(|c| c.len() >= 8)
    });
    let checks = hosts["hosts"][0]["checks"].as_array().unwrap();
    assert!(
        checks.iter().any(|c| c["check"] == "cpu" && c["status"] == "OK"),
        "{checks:?}"
    );
    let status = wait_for_status(&up, &["Running Checks", "cpu (", "Instance ID: cpu:"]);
    for needle in [
        "Collector",
        "Configuration Source: file:",
        "Configuration Source: default",
        "Metric Samples: Last Run: ",
        "Average Execution Time : ",
        "Config Errors",
        "broken.d/conf.yaml is not valid YAML",
        "Loading Errors",
        "no check called `nosuch`",
    ] {
        assert!(status.contains(needle), "status lacks {needle:?}:\n{status}");
    }
    up.terminate();
}

/// A request with any body and content type to `port`; returns the code, the headers and the body.
fn http_raw(port: u16, method: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nDatadog-Meta-Lang: python\r\nDatadog-Meta-Lang-Version: 3.11.7\r\nDatadog-Meta-Lang-Interpreter: CPython\r\nDatadog-Meta-Tracer-Version: 9.9.9\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let code = response[9..12].parse().unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (code, head.to_lowercase(), body.to_string())
}

/// Polls a server GET until `done` accepts its JSON (at most 45 s).
fn wait_for_json(port: u16, path: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let (code, body) = http_get(port, path, "");
        if code == 200 {
            let json: serde_json::Value = serde_json::from_str(&body).unwrap();
            if done(&json) {
                return json;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{path} never became ready; last answer {code}: {body}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[derive(serde::Serialize)]
struct MsgpackSpan {
    service: &'static str,
    name: &'static str,
    resource: &'static str,
    trace_id: u64,
    span_id: u64,
    parent_id: u64,
    start: i64,
    duration: i64,
    error: i32,
    meta: std::collections::HashMap<&'static str, &'static str>,
    metrics: std::collections::HashMap<&'static str, f64>,
    r#type: &'static str,
}

#[test]
fn traces_in_every_encoding_reach_the_trace_api_services_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start_with(dir.path(), &[("DD_API_KEY", "apm-test-key"), ("DD_ENV", "test")]);
    up.line_starting("API key");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", up.apm_port)).is_err() {
        assert!(Instant::now() < deadline, "the trace receiver never listened");
        std::thread::sleep(Duration::from_millis(50));
    }

    // /info says what this agent supports.
    let (code, head, body) = http_raw(up.apm_port, "GET", "/info", "", b"");
    assert_eq!(code, 200);
    assert!(head.contains("datadog-agent-version:"), "{head}");
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        info["endpoints"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("/v0.4/traces"))
    );
    assert_eq!(info["config"]["receiver_port"], up.apm_port);

    // v0.4 msgpack: a notes request calling calendar, with a 128-bit trace id.
    let trace_id = u64::MAX - 7;
    let span = |service, name, resource, span_id, parent_id, offset, error, meta: &[(&'static str, &'static str)]| {
        MsgpackSpan {
            service,
            name,
            resource,
            trace_id,
            span_id,
            parent_id,
            start: now + offset,
            duration: 4_000_000 - offset,
            error,
            meta: meta.iter().copied().collect(),
            metrics: [("_sampling_priority_v1", 1.0)].into(),
            r#type: "web",
        }
    };
    let body = rmp_serde::to_vec_named(&vec![vec![
        span(
            "notes",
            "flask.request",
            "GET /notes",
            1,
            0,
            0,
            0,
            &[("_dd.p.tid", "6740aa3b00000000"), ("http.status_code", "200")],
        ),
        span("notes", "requests.request", "GET /calendar", 2, 1, 1_000_000, 0, &[]),
        span(
            "calendar",
            "flask.request",
            "GET /calendar",
            3,
            2,
            1_500_000,
            1,
            &[("error.message", "no calendar"), ("http.status_code", "500")],
        ),
    ]])
    .unwrap();
    let (code, head, answer) = http_raw(up.apm_port, "PUT", "/v0.4/traces", "application/msgpack", &body);
    assert_eq!(code, 200, "{answer}");
    assert!(head.contains("datadog-agent-version:"));
    let rates: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(rates["rate_by_service"]["service:,env:"], 1.0);
    assert_eq!(rates["rate_by_service"]["service:notes,env:test"], 1.0, "{answer}");

    // JSON on v0.3 and a malformed body.
    let json_trace = format!(
        r#"[[{{"service":"legacy","name":"job","resource":"nightly","trace_id":99,"span_id":1,"parent_id":0,"start":{now},"duration":1000}}]]"#
    );
    let (code, _, answer) = http_raw(
        up.apm_port,
        "POST",
        "/v0.3/traces",
        "application/json",
        json_trace.as_bytes(),
    );
    assert_eq!((code, answer.as_str()), (200, "OK"));
    let (code, _, answer) = http_raw(
        up.apm_port,
        "PUT",
        "/v0.4/traces",
        "application/msgpack",
        b"\x91\xdd\xff\xff\xff\xff",
    );
    assert_eq!(code, 400);
    assert!(answer.contains("at byte 1"), "{answer}");

    // The trace is assembled on the server, with parent links and the 128-bit id.
    let trace = wait_for_json(up.port, &format!("/api/ui/apm/traces/{trace_id}"), |t| {
        t["span_count"] == 3
    });
    assert_eq!(trace["trace_id_128"], format!("6740aa3b00000000{trace_id:016x}"));
    assert_eq!(trace["root_span_id"], "1");
    assert_eq!(trace["errors"], 1);
    let spans = trace["spans"].as_array().unwrap();
    let calendar = spans.iter().find(|s| s["service"] == "calendar").unwrap();
    assert_eq!(
        (calendar["parent_id"].as_str(), calendar["top_level"].as_bool()),
        (Some("2"), Some(true))
    );
    assert_eq!(calendar["meta"]["error.message"], "no calendar");
    assert_eq!(calendar["env"], "test");
    assert_eq!(calendar["host"], "e2e-host");
    wait_for_json(up.port, "/api/ui/apm/traces/99", |t| {
        t["spans"][0]["service"] == "legacy"
    });

    // Span search in the search language, both APIs.
    let found = wait_for_json(
        up.port,
        "/api/ui/apm/spans?query=service:calendar%20@http.status_code:%3E=500",
        |a| a["spans"].as_array().is_some_and(|s| s.len() == 1),
    );
    assert_eq!(found["spans"][0]["span_id"], "3");
    let events = wait_for_json(
        up.port,
        "/api/v2/spans/events?filter%5Bquery%5D=status:error&filter%5Bfrom%5D=now-1h",
        |a| a["data"].as_array().is_some_and(|d| d.len() == 1),
    );
    assert_eq!(events["data"][0]["attributes"]["resource_name"], "GET /calendar");

    // Stats: both services with hits, errors and latency percentiles.
    let services = wait_for_json(up.port, "/api/ui/apm/services?from=now-1h", |a| {
        a["services"].as_array().is_some_and(|s| s.len() >= 3)
    });
    let row = |name: &str| {
        services["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["service"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (row("notes")["hits"].as_u64(), row("notes")["errors"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        (row("calendar")["hits"].as_u64(), row("calendar")["errors"].as_u64()),
        (Some(1), Some(1))
    );
    let p99 = row("notes")["p99"].as_f64().unwrap();
    assert!((p99 - 4e6).abs() / 4e6 < 0.02, "notes p99 {p99}");

    // The APM section of `dogwatch status`.
    let status = stdout(&up.status());
    assert!(status.contains("APM Agent"), "{status}");
    assert!(
        status.contains(&format!("Receiver: 127.0.0.1:{}", up.apm_port)),
        "{status}"
    );
    assert!(
        status.contains("From python 3.11.7 (CPython), client 9.9.9"),
        "{status}"
    );
    assert!(
        status.contains("Priority sampling rate for 'service:notes,env:test': 100.0%"),
        "{status}"
    );
    up.terminate();
}

/// Sums the non-null values of every series of a `/api/v1/query` answer.
fn query_sum(answer: &serde_json::Value) -> f64 {
    answer["series"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["pointlist"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p[1].as_f64())
        .sum()
}

/// The `/api/v1/query` path for `query` over the last 10 minutes.
fn query_path(query: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let encoded: String = query
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b'-' | b':' | b',' | b'*' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("/api/v1/query?from={}&to={}&query={encoded}", now - 600, now + 60)
}

#[test]
fn dogstatsd_over_udp_and_a_unix_socket_reaches_the_query_api_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("dsd.socket");
    let udp_port = free_udp_port().to_string();
    let up = Up::start_with(
        dir.path(),
        &[
            ("DD_API_KEY", "dsd-test-key"),
            ("DD_DOGSTATSD_PORT", &udp_port),
            ("DD_DOGSTATSD_SOCKET", socket.to_str().unwrap()),
            ("DD_DOGSTATSD_FLUSH_INTERVAL_MS", "500"),
            ("DD_DOGSTATSD_TAGS", "team:e2e"),
        ],
    );
    up.line_starting("API key");
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let send = |datagram: &str| {
        udp.send_to(datagram.as_bytes(), ("127.0.0.1", udp_port.parse::<u16>().unwrap()))
            .unwrap();
    };
    let uds = std::os::unix::net::UnixDatagram::unbound().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "the DogStatsD socket never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Everything in one 10 s bucket: start 1 to 6 s into one.
    let into_bucket = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            % 10.0
    };
    while !(1.0..=6.0).contains(&into_bucket()) {
        std::thread::sleep(Duration::from_millis(100));
    }
    for _ in 0..50 {
        send("e2e.hits:1|c|#env:prod");
    }
    send("e2e.hits:1|c|@0.5|#env:staging");
    let histogram: Vec<String> = (1..=100).map(|v| format!("e2e.latency:{v}|ms")).collect();
    send(&histogram.join("\n"));
    send("e2e.good:1|c\nthis is not a metric\ne2e.good:2|c");
    send("_e{6,10}:Deploy|v2\\nis out|t:success|#env:prod\n_sc|e2e.db.up|2|#db:main|m:connection refused");
    for host in ["a", "b"] {
        let offset = if host == "a" { 0 } else { 1000 };
        let lines: Vec<String> = (1..=1000)
            .map(|v| format!("e2e.size:{}|d|#host:{host}", v + offset))
            .collect();
        for chunk in lines.chunks(100) {
            uds.send_to(chunk.join("\n").as_bytes(), &socket).unwrap();
        }
    }
    uds.send_to(b"e2e.temp:3|g\ne2e.temp:7|g", &socket).unwrap();

    // Counts come back as counts with as_count, and as per-second rates without.
    let hits = wait_for_json(up.port, &query_path("sum:e2e.hits{env:prod}.as_count()"), |a| {
        query_sum(a) >= 50.0
    });
    assert_eq!(query_sum(&hits), 50.0, "{hits}");
    assert_eq!(hits["series"][0]["tag_set"], serde_json::json!([]));
    let rate = wait_for_json(up.port, &query_path("sum:e2e.hits{env:prod}"), |a| query_sum(a) > 0.0);
    let first = rate["series"][0]["pointlist"][0][1].as_f64().unwrap();
    assert_eq!(first, 5.0, "{rate}");
    let by_env = wait_for_json(up.port, &query_path("sum:e2e.hits{*} by {env}.as_count()"), |a| {
        a["series"].as_array().is_some_and(|s| s.len() == 2)
    });
    assert_eq!(by_env["series"][1]["tag_set"], serde_json::json!(["env:staging"]));
    assert_eq!(query_sum(&by_env), 52.0, "a sample rate of 0.5 counts twice");
    let good = wait_for_json(up.port, &query_path("sum:e2e.good{*}.as_count()"), |a| {
        query_sum(a) >= 3.0
    });
    assert_eq!(query_sum(&good), 3.0, "the good lines around a bad one are kept");

    // Histogram aggregates and percentile, as Datadog's agent computes them.
    for (metric, want) in [
        ("max:e2e.latency.max{*}", 100.0),
        ("avg:e2e.latency.avg{*}", 50.5),
        ("avg:e2e.latency.median{*}", 50.0),
        ("avg:e2e.latency.95percentile{*}", 95.0),
        ("sum:e2e.latency.count{*}.as_count()", 100.0),
    ] {
        let answer = wait_for_json(up.port, &query_path(metric), |a| query_sum(a) > 0.0);
        assert_eq!(query_sum(&answer), want, "{metric}: {answer}");
    }

    // A distribution's percentiles merge across hosts; by {host} splits them.
    let p99 = wait_for_json(up.port, &query_path("p99:e2e.size{*}"), |a| query_sum(a) > 0.0);
    let got = query_sum(&p99);
    assert!((got - 1980.0).abs() / 1980.0 <= 0.01, "p99 {got}");
    let p50 = wait_for_json(up.port, &query_path("p50:e2e.size{*} by {host}"), |a| {
        a["series"].as_array().is_some_and(|s| s.len() == 2)
    });
    let median_b = p50["series"][1]["pointlist"][0][1].as_f64().unwrap();
    assert_eq!(p50["series"][1]["tag_set"], serde_json::json!(["host:b"]));
    assert!((median_b - 1500.0).abs() / 1500.0 <= 0.01, "host b p50 {median_b}");
    let count = wait_for_json(up.port, &query_path("count:e2e.size{*}"), |a| query_sum(a) > 0.0);
    assert_eq!(query_sum(&count), 2000.0);
    let temp = wait_for_json(up.port, &query_path("avg:e2e.temp{team:e2e}"), |a| query_sum(a) > 0.0);
    assert_eq!(query_sum(&temp), 7.0, "a gauge keeps the last value of its bucket");

    // Percentiles of a gauge and a bad query are 400s that point at the problem.
    let (code, body) = http_get(up.port, &query_path("p99:e2e.temp{*}"), "");
    assert_eq!(code, 400, "{body}");
    let (code, body) = http_get(up.port, &query_path("avg:e2e.temp{env:prod"), "");
    assert_eq!(code, 400, "{body}");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["query_error"]["position"], 12, "the unclosed `{{`: {error}");

    // Listings, events and service checks.
    let metrics = wait_for_json(up.port, "/api/ui/metrics?q=e2e.", |a| {
        a["metrics"].as_array().is_some_and(|m| m.len() >= 9)
    });
    let kind = |name: &str| {
        metrics["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()["type"]
            .clone()
    };
    assert_eq!(
        (kind("e2e.size"), kind("e2e.hits"), kind("e2e.temp")),
        ("distribution".into(), "rate".into(), "gauge".into())
    );
    let (code, body) = http_get(up.port, "/api/v2/metrics/e2e.size/all-tags", "");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"host:a\"") && body.contains("\"team:e2e\""), "{body}");
    let events = wait_for_json(up.port, "/api/v1/events?start=now-1h&end=now%2B1m&q=deploy", |a| {
        a["events"].as_array().is_some_and(|e| !e.is_empty())
    });
    assert_eq!(events["events"][0]["text"], "v2\nis out");
    assert_eq!(events["events"][0]["alert_type"], "success");
    let checks = wait_for_json(up.port, "/api/ui/service_checks?q=e2e.db", |a| {
        a["checks"].as_array().is_some_and(|c| !c.is_empty())
    });
    assert_eq!(checks["checks"][0]["status_name"], "CRITICAL");
    assert_eq!(checks["checks"][0]["message"], "connection refused");

    // Datadog's public write APIs from a script.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (code, body) = http(
        up.port,
        "POST",
        "/api/v1/series",
        "dsd-test-key",
        &format!(r#"{{"series":[{{"metric":"e2e.script","points":[[{now},42]],"tags":["env:prod"]}}]}}"#),
    );
    assert_eq!(code, 202, "{body}");
    let script = wait_for_json(up.port, &query_path("max:e2e.script{env:prod}"), |a| query_sum(a) > 0.0);
    assert_eq!(query_sum(&script), 42.0);
    let (code, body) = http(
        up.port,
        "POST",
        "/api/v1/events",
        "dsd-test-key",
        r#"{"title":"From a script","text":"hi"}"#,
    );
    assert_eq!(code, 202, "{body}");
    assert!(body.contains("\"id\":"), "{body}");

    // The DogStatsD section of `dogwatch status`.
    let status = stdout(&up.status());
    for line in [
        "Metric Parse Errors: 1",
        "Event Packets: 1",
        "Service Check Packets: 1",
        "Uds Packets: 21",
        &format!("Listening on: udp://127.0.0.1:{udp_port}, unix://{}", socket.display()),
    ] {
        assert!(status.contains(line), "{line:?} not in {status}");
    }
    up.terminate();
}
