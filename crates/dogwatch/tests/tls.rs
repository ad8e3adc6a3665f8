//! TLS between agent and server, and the agent's local API token, with the real binary:
//! `dogwatch server --tls-cert --tls-key`, `dogwatch agent` sending to `https://127.0.0.1:PORT`
//! (trusting a CA made here with `tls_ca_cert`, or `skip_ssl_validation`), `dogwatch up` with
//! TLS, and `dogwatch status` reading `<run_path>/auth_token`. Loopback only.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{dogwatch, free_port, stderr, stdout};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

const KEY: &str = "tls-test-key-0123456789abcdef";

/// Runs `cmd` to its end, which must come within `limit` (else it is killed and the test fails).
fn exits_within(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still ran after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// A CA, a server certificate it signed for `localhost` and 127.0.0.1, and the server's key,
/// as PEM files in `dir`.
struct Certs {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn make_certs(dir: &Path) -> Certs {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "dogwatch test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "localhost");
    let server_cert = params.signed_by(&server_key, &issuer).unwrap();

    let certs = Certs {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    };
    std::fs::write(&certs.ca, ca_cert.pem()).unwrap();
    std::fs::write(&certs.cert, server_cert.pem()).unwrap();
    std::fs::write(&certs.key, server_key.serialize_pem()).unwrap();
    certs
}

/// A self-signed certificate for a name that is not 127.0.0.1, and its key.
fn make_self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

/// A child process stopped by SIGTERM (or killed) when dropped, so a failing test cleans up.
struct Running {
    child: Child,
    name: &'static str,
}

impl Running {
    fn spawn(name: &'static str, cmd: &mut Command) -> Running {
        let child = cmd.stdin(Stdio::null()).spawn().unwrap();
        Running { child, name }
    }

    /// Sends SIGTERM and waits (at most 15 s) for a clean exit.
    fn terminate(mut self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{} exited with {status}", self.name);
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not stop within 15 s of SIGTERM",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `dogwatch server` with TLS on a free port, accepting [`KEY`]; waits until it listens.
fn start_tls_server(data_dir: &Path, certs: &Certs) -> (Running, u16) {
    let port = free_port();
    let server = Running::spawn(
        "dogwatch server",
        dogwatch()
            .args(["server", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data_dir)
            .arg("--tls-cert")
            .arg(&certs.cert)
            .arg("--tls-key")
            .arg(&certs.key)
            .env("DD_API_KEY", KEY)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_listening(port);
    (server, port)
}

fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on 127.0.0.1:{port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An agent sending to `dd_url` with `env` added; returns it and its cmd_port.
fn start_agent(data_dir: &Path, dd_url: &str, env: &[(&str, &str)]) -> (Running, u16) {
    let cmd_port = free_port();
    let agent = Running::spawn(
        "dogwatch agent",
        dogwatch()
            .args(["agent", "--data-dir"])
            .arg(data_dir)
            .env("DD_API_KEY", KEY)
            .env("DD_DD_URL", dd_url)
            .env("DD_CMD_PORT", cmd_port.to_string())
            .env("DD_HOSTNAME", "tls-host")
            .env("DD_FORWARDER_BACKOFF_BASE", "0.2")
            .env("DD_FORWARDER_BACKOFF_MAX", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    (agent, cmd_port)
}

fn status(cmd_port: u16, data_dir: &Path, json: bool) -> Output {
    let mut cmd = dogwatch();
    cmd.arg("status").arg("--data-dir").arg(data_dir);
    if json {
        cmd.arg("--json");
    }
    cmd.env("DD_CMD_PORT", cmd_port.to_string()).output().unwrap()
}

/// Asks `dogwatch status --json` until `done` holds for its Forwarder section (at most 30 s).
fn wait_for_forwarder(cmd_port: u16, data_dir: &Path, what: &str, done: impl Fn(&Forwarder) -> bool) -> Forwarder {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let output = status(cmd_port, data_dir, true);
        let forwarder = output
            .status
            .success()
            .then(|| Forwarder::from_report(&stdout(&output)));
        if let Some(forwarder) = forwarder {
            if done(&forwarder) {
                return forwarder;
            }
            assert!(Instant::now() < deadline, "status never showed {what}: {forwarder:?}");
        } else {
            assert!(
                Instant::now() < deadline,
                "status never showed {what}: {}",
                stderr(&output)
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The Forwarder section of a status report: (block heading, line name, value).
#[derive(Debug)]
struct Forwarder(Vec<(String, String, String)>);

impl Forwarder {
    fn from_report(json: &str) -> Forwarder {
        let report: serde_json::Value = serde_json::from_str(json).unwrap();
        let section = report["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["title"] == "Forwarder")
            .expect("a Forwarder section");
        let mut lines = Vec::new();
        for block in section["blocks"].as_array().unwrap() {
            for line in block["lines"].as_array().unwrap() {
                lines.push((
                    block["heading"].as_str().unwrap().to_string(),
                    line["name"].as_str().unwrap().to_string(),
                    line["value"].as_str().unwrap().to_string(),
                ));
            }
        }
        Forwarder(lines)
    }

    fn value(&self, heading: &str, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(h, n, _)| h == heading && n == name)
            .map(|(.., v)| v.as_str())
    }

    fn count(&self, heading: &str, name: &str) -> u64 {
        self.value(heading, name)
            .map_or(0, |v| v.replace(',', "").parse().unwrap())
    }

    fn api_key_status(&self) -> &str {
        self.0
            .iter()
            .find(|(h, ..)| h == "API Keys status")
            .map_or("", |(.., v)| v.as_str())
    }

    fn delivered(&self) -> bool {
        self.count("Transaction Successes", "/intake/") > 0 && self.api_key_status() == "API Key valid"
    }
}

/// `GET path` over HTTPS trusting `ca`; returns the status code and body.
fn https_get(port: u16, path: &str, ca: &Path, api_key: &str) -> (u16, String) {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let client = reqwest::Client::builder()
                .tls_built_in_root_certs(false)
                .add_root_certificate(ca)
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let response = client
                .get(format!("https://127.0.0.1:{port}{path}"))
                .header("DD-API-KEY", api_key)
                .send()
                .await
                .unwrap();
            let code = response.status().as_u16();
            (code, response.text().await.unwrap())
        })
}

/// A plain HTTP/1.1 request with `headers`; returns the status code and the whole answer.
fn plain_http(port: u16, path: &str, headers: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // A TLS port answers a plain request with a 400 and closes at once, which can be before the
    // request is all written (a broken pipe) or read back whole (a reset): keep what arrived.
    let _ = write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n"
    );
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let code = response.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, response)
}

#[test]
fn an_agent_sends_over_https_trusting_a_private_ca_and_plain_http_to_the_tls_port_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let certs = make_certs(dir.path());
    let (server, port) = start_tls_server(&dir.path().join("server"), &certs);

    assert_eq!(
        https_get(port, "/api/v1/validate", &certs.ca, KEY),
        (200, r#"{"valid":true}"#.to_string())
    );
    assert_eq!(https_get(port, "/api/v1/validate", &certs.ca, "wrong").0, 403);

    // Plain HTTP to the TLS port is answered 400 and the server goes on.
    let (code, answer) = plain_http(port, "/api/v1/validate", &format!("DD-API-KEY: {KEY}\r\n"));
    assert_eq!(code, 400, "{answer}");
    assert!(answer.contains("HTTP request to an HTTPS server"), "{answer}");
    assert_eq!(https_get(port, "/api/v1/validate", &certs.ca, KEY).0, 200);

    let agent_dir = dir.path().join("agent");
    let ca = certs.ca.to_str().unwrap();
    let url = format!("https://127.0.0.1:{port}");
    let (agent, cmd_port) = start_agent(&agent_dir, &url, &[("DD_TLS_CA_CERT", ca)]);
    let forwarder = wait_for_forwarder(
        cmd_port,
        &agent_dir,
        "payloads delivered over https",
        Forwarder::delivered,
    );
    assert_eq!(forwarder.value("Transactions", "Server"), Some(url.as_str()));
    assert_eq!(forwarder.count("Transaction Errors", "tls"), 0, "{forwarder:?}");

    // The local API wants the token that only the agent's user can read.
    let token_file = agent_dir.join("agent/auth_token");
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", token_file.display());
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert_eq!(token.trim().len(), 64, "{token}");
    assert_eq!(plain_http(cmd_port, "/agent/status", "").0, 401);
    assert_eq!(
        plain_http(cmd_port, "/agent/status", "Authorization: Bearer wrong\r\n").0,
        401
    );
    assert_eq!(plain_http(cmd_port, "/no/such/path", "").0, 401);
    let (code, body) = plain_http(
        cmd_port,
        "/agent/status",
        &format!("Authorization: Bearer {}\r\n", token.trim()),
    );
    assert_eq!(code, 200, "{body}");
    let text = status(cmd_port, &agent_dir, false);
    assert!(text.status.success(), "{}", stderr(&text));
    assert!(stdout(&text).contains("API Key valid"), "{}", stdout(&text));

    // Another data directory has no token: status says where it looked and what to do.
    let elsewhere = dir.path().join("elsewhere");
    let refused = status(cmd_port, &elsewhere, false);
    assert!(!refused.status.success());
    let message = stderr(&refused);
    assert!(
        message.contains(&format!(
            "cannot read the agent's auth_token at {}",
            elsewhere.join("agent/auth_token").display()
        )) && message.contains("run as the agent's user"),
        "{message}"
    );
    // A token of another agent is refused by this one.
    std::fs::create_dir_all(elsewhere.join("agent")).unwrap();
    std::fs::write(elsewhere.join("agent/auth_token"), "0".repeat(64)).unwrap();
    let refused = status(cmd_port, &elsewhere, false);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("(401)"), "{}", stderr(&refused));

    agent.terminate();
    // A restarted agent keeps its token.
    let (agent, cmd_port) = start_agent(&agent_dir, &url, &[("DD_TLS_CA_CERT", ca)]);
    wait_for_forwarder(cmd_port, &agent_dir, "payloads delivered again", Forwarder::delivered);
    assert_eq!(std::fs::read_to_string(&token_file).unwrap(), token);
    agent.terminate();
    server.terminate();
}

#[test]
fn without_the_ca_the_agent_counts_tls_errors_and_skip_ssl_validation_sends_anyway() {
    let dir = tempfile::tempdir().unwrap();
    let certs = make_certs(dir.path());
    let (server, port) = start_tls_server(&dir.path().join("server"), &certs);
    let url = format!("https://127.0.0.1:{port}");

    let untrusting_dir = dir.path().join("untrusting");
    let (untrusting, cmd_port) = start_agent(&untrusting_dir, &url, &[]);
    let forwarder = wait_for_forwarder(cmd_port, &untrusting_dir, "TLS errors", |f| {
        f.count("Transaction Errors", "tls") > 0
    });
    assert_eq!(forwarder.count("Transactions", "Success"), 0, "{forwarder:?}");
    let key_status = forwarder.api_key_status();
    assert!(
        key_status.starts_with("Unable to reach the API Key validation endpoint") && key_status.contains("certificate"),
        "{key_status}"
    );

    let skipping_dir = dir.path().join("skipping");
    let (skipping, cmd_port) = start_agent(&skipping_dir, &url, &[("DD_SKIP_SSL_VALIDATION", "true")]);
    let forwarder = wait_for_forwarder(cmd_port, &skipping_dir, "payloads delivered", Forwarder::delivered);
    assert_eq!(forwarder.count("Transaction Errors", "tls"), 0, "{forwarder:?}");

    untrusting.terminate();
    skipping.terminate();
    server.terminate();
}

#[test]
fn up_with_tls_serves_https_and_its_own_agent_trusts_exactly_that_certificate() {
    let dir = tempfile::tempdir().unwrap();
    // Self-signed and for another name: the built-in agent pins it rather than checking it.
    let (cert, key) = make_self_signed(dir.path(), "dogwatch.example");
    let data_dir = dir.path().join("data");
    let (port, cmd_port) = (free_port(), free_port());
    let mut up = Running::spawn(
        "dogwatch up",
        dogwatch()
            .args(["up", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(&data_dir)
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .env("DD_API_KEY", KEY)
            .env("DD_CMD_PORT", cmd_port.to_string())
            .env("DD_HOSTNAME", "tls-up")
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let (tx, lines) = mpsc::channel();
    let out = up.child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let ui_line = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("dogwatch up printed its address");
        if line.trim_start().starts_with("UI and API:") {
            break line;
        }
    };
    assert!(ui_line.contains(&format!("https://127.0.0.1:{port}/")), "{ui_line}");

    let forwarder = wait_for_forwarder(
        cmd_port,
        &data_dir,
        "payloads delivered over https",
        Forwarder::delivered,
    );
    let server_url = format!("https://127.0.0.1:{port}");
    assert_eq!(forwarder.value("Transactions", "Server"), Some(server_url.as_str()));
    let (code, answer) = plain_http(port, "/api/v1/validate", "");
    assert_eq!(code, 400, "{answer}");
    up.terminate();
}

#[test]
fn unusable_tls_files_stop_the_server_naming_the_flag_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let certs = make_certs(dir.path());
    let (other_cert, _) = make_self_signed(dir.path(), "other.example");
    let missing = dir.path().join("missing.pem");
    let server = |cert: &Path, key: &Path| {
        let mut cmd = dogwatch();
        cmd.args([
            "server",
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--data-dir",
        ])
        .arg(dir.path().join("server"))
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .env("DD_API_KEY", KEY);
        exits_within(&mut cmd, Duration::from_secs(20))
    };
    let cases = [
        (
            server(&missing, &certs.key),
            format!("cannot read --tls-cert {}", missing.display()),
        ),
        (
            server(&certs.cert, &missing),
            format!("cannot read --tls-key {}", missing.display()),
        ),
        (
            server(&certs.key, &certs.key),
            format!("--tls-cert {}: holds no PEM certificate", certs.key.display()),
        ),
        (
            server(&certs.cert, &certs.cert),
            format!("--tls-key {}: holds no PEM private key", certs.cert.display()),
        ),
        (
            server(&other_cert, &certs.key),
            format!(
                "cannot use the key {} (--tls-key) with the certificate {} (--tls-cert)",
                certs.key.display(),
                other_cert.display()
            ),
        ),
    ];
    for (output, expected) in cases {
        assert!(!output.status.success(), "{expected}");
        assert!(
            stderr(&output).contains(&expected),
            "expected {expected:?} in {}",
            stderr(&output)
        );
    }

    let alone = dogwatch()
        .args(["server", "--tls-cert"])
        .arg(&certs.cert)
        .output()
        .unwrap();
    assert!(!alone.status.success());
    assert!(stderr(&alone).contains("--tls-key"), "{}", stderr(&alone));

    let mut agent = dogwatch();
    agent
        .args(["agent", "--data-dir"])
        .arg(dir.path().join("agent"))
        .env("DD_API_KEY", KEY)
        .env("DD_DD_URL", "https://127.0.0.1:1")
        .env("DD_TLS_CA_CERT", &missing)
        .env("DD_CMD_PORT", free_port().to_string());
    let agent = exits_within(&mut agent, Duration::from_secs(20));
    assert!(!agent.status.success());
    assert!(
        stderr(&agent).contains(&format!("cannot use tls_ca_cert {}", missing.display())),
        "{}",
        stderr(&agent)
    );
}
