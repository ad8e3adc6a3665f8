//! Operating dogwatch as Datadog's agent is operated: `ENC[]` secrets resolved by a real
//! `secret_backend_command`, the agent subcommands (`hostname`, `version`, `health`,
//! `configcheck`, `diagnose`, `flare`, `dogstatsd-stats`, `secret`), log files rotated by
//! size with JSON lines and syslog, and the shell completions and man page.

mod common;

use std::io::Read;
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{dogwatch, free_port, free_udp_port, stderr, stdout};

const KEY: &str = "0123456789abcdef0123456789abcdef";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A secret backend in Python: answers each handle asked with `value-of-<handle>`, or with
/// the value in its table. `mode` is its file mode.
fn backend(dir: &Path, name: &str, body: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    write(
        &path,
        &format!("#!/usr/bin/env python3\nimport json, sys, time\n{body}\n"),
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

const RESOLVING: &str = r#"
request = json.load(sys.stdin)
assert request["version"] == "1.0", request
table = {"dd_api": "0123456789abcdef0123456789abcdef", "uptime_tag": "-".join(["team:from-the-vault-7731"] + sys.argv[1:])}
print(json.dumps({h: {"value": table.get(h, "value-of-" + h), "error": None} for h in request["secrets"]}))
"#;

/// `dogwatch <args>` with `config` as its datadog.yaml.
fn run_with(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    dogwatch()
        .args(args)
        .env("DOGWATCH_CONFIG", config)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn secret_backend_resolves_handles_and_each_failure_is_one_line_naming_handle_and_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = backend(d, "good.py", RESOLVING, 0o700);
    let config = d.join("datadog.yaml");
    let confd = d.join("conf.d");
    write(
        &confd.join("uptime.d/conf.yaml"),
        "init_config:\ninstances:\n  - tags: [\"ENC[uptime_tag]\"]\n",
    );
    let yaml = |command: &Path, extra: &str| {
        format!(
            "api_key: ENC[dd_api]\nhostname: secrets-host\nconfd_path: {}\nsecret_backend_command: {}\nsecret_backend_timeout: 2\n{extra}",
            confd.display(),
            command.display()
        )
    };

    // Resolved: `dogwatch config` shows the key masked, the check gets the conf.d value.
    write(&config, &yaml(&good, "secret_backend_arguments: [vault, prod]\n"));
    let out = run_with(&config, &["config"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        !text.contains(KEY) && text.contains("*bcdef"),
        "the key is masked to its tail:\n{text}"
    );
    let out = run_with(&config, &["agent", "check", "uptime", "--json"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("team:from-the-vault-7731-vault-prod"),
        "{}",
        stdout(&out)
    );
    let out = run_with(&config, &["agent", "configcheck"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("=== uptime check ===") && text.contains("Configuration provider: file"),
        "{text}"
    );
    assert!(
        text.contains("Instance ID: uptime:") && text.contains("~\nInit Config:\n"),
        "{text}"
    );
    assert!(!text.contains("from-the-vault") && text.contains("********"), "{text}");
    let out = run_with(&config, &["agent", "secret"], &[]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("Executable permissions: OK"), "{text}");
    assert!(
        text.contains("- 'dd_api':") && text.contains("entry 'api_key'"),
        "{text}"
    );
    assert!(
        text.contains("- 'uptime_tag':") && text.contains("entry 'instances[0].tags[0]'"),
        "{text}"
    );
    assert!(!text.contains(KEY) && !text.contains("from-the-vault"), "{text}");

    // Each failure: one line naming the handle and the command, and the documented reason.
    let cases: [(&str, &str, u32, &str, &str); 6] = [
        (
            "slow.py",
            "time.sleep(30)",
            0o700,
            "",
            "did not answer within 2 s (secret_backend_timeout)",
        ),
        (
            "fails.py",
            "sys.stderr.write('vault sealed\\n'); sys.exit(3)",
            0o700,
            "",
            "exited with exit status: 3: vault sealed",
        ),
        (
            "big.py",
            "print('x' * 5000)",
            0o700,
            "secret_backend_output_max_size: 100\n",
            "output exceeded 100 bytes (secret_backend_output_max_size)",
        ),
        (
            "open.py",
            RESOLVING,
            0o770,
            "",
            "group or others have rights on it; chmod 700 it",
        ),
        (
            "garbage.py",
            "print('certainly not json')",
            0o700,
            "",
            "output is not a JSON object",
        ),
        (
            "refuses.py",
            "print(json.dumps({'dd_api': {'value': None, 'error': 'no such secret'}}))",
            0o700,
            "",
            "answered an error for it: no such secret",
        ),
    ];
    for (name, body, mode, extra, reason) in cases {
        let command = backend(d, name, body, mode);
        write(&config, &yaml(&command, extra));
        let started = Instant::now();
        let out = run_with(&config, &["agent", "--data-dir", d.to_str().unwrap()], &[]);
        assert!(!out.status.success(), "{name}: the agent started");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{name}: took {:?}",
            started.elapsed()
        );
        let err = stderr(&out);
        let line = err
            .lines()
            .find(|l| l.starts_with("Error:"))
            .unwrap_or_else(|| panic!("{name}: {err}"));
        assert_eq!(
            err.lines().filter(|l| l.starts_with("Error:")).count(),
            1,
            "{name}: {err}"
        );
        assert!(
            line.contains("ENC[dd_api]") && line.contains(&command.display().to_string()),
            "{name}: {line}"
        );
        assert!(line.contains(reason), "{name}: expected {reason:?} in {line}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }

    // A conf.d secret that fails stops the start too, naming the conf.d file and key.
    let tag_fails = backend(
        d,
        "tag_fails.py",
        "r = json.load(sys.stdin)\nprint(json.dumps({h: ({'value': None, 'error': 'denied'} if h == 'uptime_tag' else {'value': 'v' * 8, 'error': None}) for h in r['secrets']}))",
        0o700,
    );
    write(&config, &yaml(&tag_fails, ""));
    let out = run_with(&config, &["agent", "check", "uptime"], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("ENC[uptime_tag]") && err.contains("instances[0].tags[0]") && err.contains("uptime.d/conf.yaml"),
        "{err}"
    );
}

/// A running `dogwatch up` (server and agent), stopped and waited for on drop.
struct Up {
    child: Child,
    port: u16,
    cmd_port: u16,
    statsd_port: u16,
    data_dir: PathBuf,
}

impl Up {
    fn start(data_dir: &Path, config: &Path, env: &[(&str, &str)]) -> Up {
        let (port, cmd_port, statsd_port) = (free_port(), free_port(), free_udp_port());
        let child = dogwatch()
            .args(["up", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data_dir)
            .arg("--config")
            .arg(config)
            .env("DD_CMD_PORT", cmd_port.to_string())
            .env("DD_DOGSTATSD_PORT", statsd_port.to_string())
            .env("DD_API_KEY", KEY)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let up = Up {
            child,
            port,
            cmd_port,
            statsd_port,
            data_dir: data_dir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while up.tool(&["agent", "health"], config).status.code() != Some(0) {
            assert!(Instant::now() < deadline, "dogwatch up never became healthy");
            std::thread::sleep(Duration::from_millis(200));
        }
        up
    }

    fn tool(&self, args: &[&str], config: &Path) -> Output {
        dogwatch()
            .args(args)
            .arg("--config")
            .arg(config)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env("DD_CMD_PORT", self.cmd_port.to_string())
            .env("DD_DOGSTATSD_PORT", self.statsd_port.to_string())
            .env("DD_DD_URL", format!("http://127.0.0.1:{}", self.port))
            .env("DD_API_KEY", KEY)
            .output()
            .unwrap()
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The files of a tar stream, by name (ustar headers, as the flare writes them).
fn tar_entries(tar: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let header = &tar[at..at + 512];
        let field = |from: usize, len: usize| {
            String::from_utf8_lossy(&header[from..from + len])
                .trim_end_matches('\0')
                .to_string()
        };
        let size = usize::from_str_radix(field(124, 12).trim(), 8).unwrap();
        let prefix = field(345, 155);
        let name = if prefix.is_empty() {
            field(0, 100)
        } else {
            format!("{prefix}/{}", field(0, 100))
        };
        out.push((name, tar[at + 512..at + 512 + size].to_vec()));
        at += 512 + size.div_ceil(512) * 512;
    }
    out
}

#[test]
fn flare_holds_every_expected_file_and_no_byte_of_a_planted_secret() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let command = backend(d, "vault.py", RESOLVING, 0o700);
    let outside = d.join("outside");
    write(
        &outside.join("private.yaml"),
        "instances:\n  - marker: outside-file-must-not-ship-5521\n",
    );
    let confd = d.join("conf.d");
    write(
        &confd.join("uptime.d/conf.yaml"),
        "init_config:\ninstances:\n  - tags: [\"ENC[uptime_tag]\"]\n    password: planted-confd-pass-9910\n",
    );
    std::fs::create_dir_all(confd.join("evil.d")).unwrap();
    std::os::unix::fs::symlink(outside.join("private.yaml"), confd.join("evil.d/conf.yaml")).unwrap();
    let config = d.join("datadog.yaml");
    write(
        &config,
        &format!(
            "api_key: {KEY}\napp_key: planted-app-key-3307\nhostname: flare-host\nconfd_path: {}\nsecret_backend_command: {}\ndogstatsd_metrics_stats_enable: true\nlog_level: debug\n",
            confd.display(),
            command.display()
        ),
    );
    let up = Up::start(d, &config, &[]);

    // health, hostname, version and dogstatsd-stats against the running agent.
    let out = up.tool(&["agent", "health"], &config);
    let text = stdout(&out);
    assert!(text.starts_with("Agent health: PASS\n=== "), "{text}");
    for component in ["collector", "forwarder", "dogstatsd-main", "local-api"] {
        assert!(text.contains(component), "{component} in {text}");
    }
    let out = up.tool(&["hostname"], &config);
    assert_eq!(stdout(&out), "flare-host\n");
    assert!(
        stderr(&out).contains("Hostname provider: configuration"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&up.tool(&["version"], &config)).starts_with("Agent "));
    let statsd = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..5 {
        statsd
            .send_to(b"page.views:1|c|#env:dev", ("127.0.0.1", up.statsd_port))
            .unwrap();
    }
    statsd
        .send_to(b"queue.depth:3|g", ("127.0.0.1", up.statsd_port))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = up.tool(&["agent", "dogstatsd-stats", "--json"], &config);
        let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let contexts = stats["contexts"].as_array().cloned().unwrap_or_default();
        if contexts
            .first()
            .is_some_and(|c| c["name"] == "page.views" && c["count"] == 5 && c["tags"][0] == "env:dev")
            && contexts.len() == 2
        {
            let text = stdout(&up.tool(&["dogstatsd-stats"], &config));
            assert!(
                text.contains("Metric") && text.contains("page.views") && text.contains("queue.depth"),
                "{text}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "dogstatsd-stats never counted the samples: {stats}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let archive = d.join("out/flare.tar.gz");
    let out = up.tool(&["flare", "--output", archive.to_str().unwrap()], &config);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&archive.display().to_string()),
        "{}",
        stdout(&out)
    );
    let raw = std::fs::read(&archive).unwrap();
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut tar).unwrap();
    let entries = tar_entries(&tar);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "status.log",
        "health.log",
        "diagnose.log",
        "config-check.log",
        "secrets.log",
        "runtime_config_dump.yaml",
        "envvars.log",
        "runtime.log",
        "version.log",
        "etc/datadog.yaml",
        "etc/confd/uptime.d/conf.yaml",
        "logs/agent.log",
    ] {
        assert!(
            names.contains(&format!("flare-host/{expected}").as_str()),
            "{expected} missing from {names:?}"
        );
    }
    let file = |name: &str| {
        let (_, bytes) = entries
            .iter()
            .find(|(n, _)| n == &format!("flare-host/{name}"))
            .unwrap();
        String::from_utf8_lossy(bytes).into_owned()
    };
    assert!(file("status.log").contains("Agent (v"), "{}", file("status.log"));
    assert!(file("health.log").contains("Agent health: PASS"));
    assert!(file("config-check.log").contains("=== uptime check ==="));
    assert!(
        file("diagnose.log").contains("PASS connectivity"),
        "{}",
        file("diagnose.log")
    );
    assert!(file("etc/confd/uptime.d/conf.yaml").contains("password: ********"));
    assert!(!file("logs/agent.log").is_empty());
    assert!(
        !names.iter().any(|n| n.contains("evil.d")),
        "a link out of conf.d was followed: {names:?}"
    );
    for secret in [
        KEY,
        "planted-app-key-3307",
        "planted-confd-pass-9910",
        "team:from-the-vault-7731",
        "from-the-vault-7731",
        "outside-file-must-not-ship-5521",
    ] {
        for (what, bytes) in [("the archive", &raw), ("the tar stream", &tar)] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} is in {what}"
            );
        }
    }
}

#[test]
fn diagnose_names_a_stopped_server_a_wrong_key_and_a_taken_port() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = d.join("datadog.yaml");
    write(&config, "hostname: diag-host\n");
    let diagnose = |env: &[(&str, &str)]| {
        let out = dogwatch()
            .args(["agent", "diagnose", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(d)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        (out.status.success(), stdout(&out))
    };

    // Nothing listens at dd_url.
    let stopped = format!("http://127.0.0.1:{}", free_port());
    let cmd_port = free_port().to_string();
    let (ok, text) = diagnose(&[("DD_DD_URL", &stopped), ("DD_API_KEY", KEY), ("DD_CMD_PORT", &cmd_port)]);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("FAIL connectivity: cannot reach the server at {stopped}")),
        "{text}"
    );
    assert!(text.contains("hint: start it"), "{text}");
    assert!(text.contains("PASS proc:"), "{text}");
    assert!(text.contains("PASS port-cmd_port:"), "{text}");

    // A server that does not know the key; a port another process holds.
    let port = free_port();
    let mut server = dogwatch()
        .args(["server", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(d.join("server"))
        .env("DD_API_KEY", KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port().to_string();
    let url = format!("http://127.0.0.1:{port}");
    let (ok, text) = diagnose(&[
        ("DD_DD_URL", &url),
        ("DD_API_KEY", "not-a-key-the-server-knows"),
        ("DD_CMD_PORT", &taken_port),
    ]);
    assert!(!ok, "{text}");
    assert!(text.contains("PASS connectivity"), "{text}");
    assert!(
        text.contains("FAIL api-key: the server at") && text.contains("refuses the API key (403"),
        "{text}"
    );
    assert!(text.contains("PASS clock-skew"), "{text}");
    assert!(
        text.contains(&format!(
            "FAIL port-cmd_port: tcp 127.0.0.1:{taken_port} (cmd_port) is taken by another process"
        )),
        "{text}"
    );
    assert!(!text.contains("not-a-key-the-server-knows"), "{text}");
    let (ok, text) = diagnose(&[("DD_DD_URL", &url), ("DD_API_KEY", KEY), ("DD_CMD_PORT", &cmd_port)]);
    assert!(ok, "{text}");
    assert!(text.contains("PASS api-key") && text.contains("Fail:0"), "{text}");
    drop(taken);
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn logs_rotate_at_the_configured_size_as_json_lines_and_reach_syslog() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("logs/agent.log");
    let syslog = UdpSocket::bind("127.0.0.1:0").unwrap();
    syslog.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let config = d.join("datadog.yaml");
    write(
        &config,
        &format!(
            "api_key: {KEY}\nhostname: log-host\ndd_url: http://127.0.0.1:{}\nlog_level: debug\nlog_file: {}\nlog_file_max_size: 2kb\nlog_file_max_rolls: 2\nlog_format_json: true\nlog_to_console: false\nlog_to_syslog: true\nsyslog_uri: udp://{}\nforwarder_backoff_base: 0.1\nforwarder_backoff_max: 0.2\n",
            free_port(),
            log.display(),
            syslog.local_addr().unwrap()
        ),
    );
    let mut agent = dogwatch()
        .args(["agent", "--data-dir"])
        .arg(d)
        .arg("--config")
        .arg(&config)
        .env("DD_CMD_PORT", free_port().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut datagram = [0u8; 65_536];
    let (n, _) = syslog.recv_from(&mut datagram).expect("a syslog datagram");
    let line = String::from_utf8_lossy(&datagram[..n]).into_owned();
    assert!(
        line.starts_with('<') && line.contains(&format!(">dogwatch[{}]: ", agent.id())),
        "{line}"
    );
    let rolled = PathBuf::from(format!("{}.1", log.display()));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !PathBuf::from(format!("{}.2", log.display())).exists() {
        assert!(Instant::now() < deadline, "the log never rotated twice");
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("kill").args(["-TERM", &agent.id().to_string()]).status();
    let _ = agent.wait();
    let mut console = String::new();
    agent.stderr.take().unwrap().read_to_string(&mut console).unwrap();
    assert!(
        console.trim().is_empty(),
        "log_to_console: false still wrote: {console}"
    );
    assert!(
        !PathBuf::from(format!("{}.3", log.display())).exists(),
        "more than log_file_max_rolls kept"
    );
    for path in [log.clone(), rolled] {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.len() <= 2048, "{} is {} bytes", path.display(), text.len());
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert!(
                v["level"].is_string() && v["timestamp"].is_string() && v["message"].is_string(),
                "{line}"
            );
        }
    }
}

#[test]
fn completions_and_the_man_page_come_from_the_command_line() {
    for shell in ["bash", "zsh", "fish"] {
        let out = dogwatch().args(["completion", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains("configcheck") && text.contains("dogstatsd-stats"),
            "{shell}: {text}"
        );
    }
    let out = dogwatch().arg("man").output().unwrap();
    let text = stdout(&out);
    assert!(
        text.starts_with(".ie \\n(.g .ds Aq") || text.contains(".TH dogwatch 1"),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dogwatch().args(["man", "--out-dir"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("dogwatch.1").is_file() && dir.path().join("dogwatch-flare.1").is_file());
}
