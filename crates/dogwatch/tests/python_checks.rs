//! Python custom checks end to end: a real `dogwatch up` runs the checks of
//! tests/python_checks/checks.d in its Python check host (the venv of scripts/install-tracers.sh,
//! with datadog-checks-base 38.7.0), and what they submit is read back through the server's
//! query, events and service check APIs and `dogwatch status`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{dogwatch, free_port, stderr, stdout};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn venv_python() -> String {
    let python = repo().join("target/tracer-env/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/install-tracers.sh (it installs datadog-checks-base for these tests)",
        python.display()
    );
    python.display().to_string()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// `dogwatch up` with conf.d files for `checks` (1 s interval) and checks.d from the fixtures.
struct Up {
    child: Child,
    port: u16,
    cmd_port: u16,
    data: PathBuf,
    keys: (String, String),
    _dir: tempfile::TempDir,
}

impl Up {
    fn start(python: &str, checks: &[&str]) -> Up {
        let dir = tempfile::tempdir().unwrap();
        let confd = dir.path().join("conf.d");
        for name in checks {
            let d = confd.join(format!("{name}.d"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                d.join("conf.yaml"),
                "init_config:\n  min_collection_interval: 1\ninstances:\n  - tags: ['team:py']\n",
            )
            .unwrap();
        }
        let data = dir.path().join("data");
        let (port, cmd_port) = (free_port(), free_port());
        let mut child = dogwatch()
            .args(["up", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(&data)
            .env("DD_CMD_PORT", cmd_port.to_string())
            .env("DD_HOSTNAME", "py-e2e")
            .env("DD_CONFD_PATH", &confd)
            .env("DD_ADDITIONAL_CHECKSD", repo().join("tests/python_checks/checks.d"))
            .env("DD_PYTHON_INTERPRETER", python)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let line = lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("dogwatch up never printed its agent status line");
            if line.trim_start().starts_with("Agent status:") {
                break;
            }
        }
        let make = |args: &[&str]| {
            let out = dogwatch().args(args).arg("--data-dir").arg(&data).output().unwrap();
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
            stdout(&out).trim().to_string()
        };
        let keys = (
            make(&["api-key", "create", "--name", "tests"]),
            make(&["app-key", "create", "--name", "tests"]),
        );
        let up = Up {
            child,
            port,
            cmd_port,
            data,
            keys,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while up.get("/api/ui/me").0 != 200 {
            assert!(Instant::now() < deadline, "the server never accepted the CLI's keys");
            std::thread::sleep(Duration::from_millis(100));
        }
        up
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nDD-API-KEY: {}\r\nDD-APPLICATION-KEY: {}\r\nConnection: close\r\n\r\n",
            self.keys.0, self.keys.1
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

    fn wait_json(&self, path: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let (code, body) = self.get(path);
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

    /// The points of `query` (Datadog's query language) at or after `since` (Unix seconds),
    /// once there is at least one.
    fn points_since(&self, query: &str, since: u64) -> Vec<f64> {
        let encoded: String = query
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b'-' | b':' | b',' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let path = format!("/api/v1/query?from={}&to={}&query={encoded}", now() - 600, now() + 60);
        let pick = |answer: &serde_json::Value| -> Vec<f64> {
            answer["series"][0]["pointlist"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p[0].as_f64().unwrap_or(0.0) >= since as f64 * 1000.0)
                .filter_map(|p| p[1].as_f64())
                .collect()
        };
        pick(&self.wait_json(&path, |a| !pick(a).is_empty()))
    }

    fn latest(&self, query: &str) -> f64 {
        *self.points_since(query, 0).last().unwrap()
    }

    fn status(&self) -> String {
        let output = dogwatch()
            .arg("status")
            .env("DD_CMD_PORT", self.cmd_port.to_string())
            .env("DOGWATCH_DATA_DIR", &self.data)
            .output()
            .unwrap();
        stdout(&output)
    }

    fn wait_status(&self, needles: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.status();
            if needles.iter().all(|n| text.contains(n)) {
                return text;
            }
            assert!(Instant::now() < deadline, "status never showed {needles:?}:\n{text}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The Python check host's pid, from the status's Python Check Host section.
    fn host_pid(&self) -> Option<u32> {
        let text = self.status();
        let section = text.split("Python Check Host").nth(1)?;
        section
            .lines()
            .find_map(|l| l.trim().strip_prefix("Pid: "))
            .and_then(|p| p.trim().parse().ok())
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn custom_checks_reach_the_apis_a_raising_one_shows_its_traceback_a_hung_one_times_out_and_the_host_restarts() {
    let started = now();
    let up = Up::start(&venv_python(), &["dd_base", "legacy", "raises", "hangs", "floods"]);

    // datadog_checks.base's AgentCheck, with the agent's tags and host.
    assert_eq!(up.latest("avg:pycheck.base.gauge{host:py-e2e,kind:base,team:py}"), 42.5);
    let rate = up.latest("avg:pycheck.base.rate{host:py-e2e}");
    assert!(
        (70.0..130.0).contains(&rate),
        "a rate of time*100 over two runs: {rate}"
    );
    assert_eq!(up.latest("sum:pycheck.base.mcount{host:py-e2e}.as_count()"), 5.0);
    assert_eq!(up.latest("avg:pycheck.base.hist.max{host:py-e2e}"), 100.0);
    assert_eq!(up.latest("avg:pycheck.base.hist.median{host:py-e2e}"), 50.0);
    assert_eq!(up.latest("avg:pycheck.base.elsewhere{host:other-host}"), 1.0);
    assert!(
        up.latest("max:pycheck.base.runs{host:py-e2e}.rollup(max, 1)") >= 2.0,
        "state is kept between runs"
    );
    // `from checks import AgentCheck`.
    let rate = up.latest("avg:pycheck.legacy.rate{host:py-e2e,kind:legacy}");
    assert!((35.0..65.0).contains(&rate), "a rate of time*50: {rate}");
    assert_eq!(up.latest("sum:pycheck.legacy.mcount{host:py-e2e}.as_count()"), 3.0);
    assert_eq!(up.latest("avg:pycheck.legacy.hist.max{host:py-e2e}"), 4.0);

    let events = up.wait_json(
        &format!("/api/v1/events?start={}&end={}", started - 60, now() + 60),
        |e| {
            let text = e.to_string();
            text.contains("pycheck base started") && text.contains("pycheck legacy started")
        },
    );
    assert!(events.to_string().contains("kind:base"), "{events}");
    let checks = up.wait_json("/api/ui/service_checks?q=pycheck", |c| {
        let text = c.to_string();
        text.contains("pycheck.base.can_connect") && text.contains("pycheck.legacy.up")
    });
    assert!(checks.to_string().contains("all good"), "{checks}");

    let status = up.wait_status(&[
        "dd_base (1.2.3)",
        "legacy (0.9.0)",
        "version.major: 7",
        "version.raw: 7.0.15",
        "      Error: pycheck raises on purpose\n      Traceback (most recent call last):\n",
        "ValueError: pycheck raises on purpose",
        "previous run has not returned",
        "Python Check Host",
        "floods (unversioned)",
    ]);
    assert!(status.contains("Instance ID: dd_base:"), "{status}");
    // The check that sent a 2 MiB message and printed garbage: dropped, counted, still OK.
    let dropped = status
        .lines()
        .find_map(|l| l.trim().strip_prefix("Dropped (longer than 1.0 MiB): "))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(dropped >= 1, "{status}");
    assert!(
        status.contains("Dropped (not a message): 0"),
        "print() never reaches the pipe: {status}"
    );
    assert_eq!(up.latest("avg:pycheck.floods.survived{host:py-e2e}"), 1.0);
    assert!(
        status.contains("Warning: second run of legacy") || status.contains("legacy:"),
        "{status}"
    );

    // Killing the host: it comes back and the checks run again, with new check objects.
    let pid = up.host_pid().expect("the host's pid in status");
    let before = up.latest("max:pycheck.base.runs{host:py-e2e}.rollup(max, 1)");
    assert!(
        std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let killed = now() + 1;
    let status = up.wait_status(&["Starts: 2"]);
    assert!(status.contains("Last exit: signal: 9"), "{status}");
    let after = up.points_since("max:pycheck.base.runs{host:py-e2e}.rollup(max, 1)", killed);
    assert!(
        after[0] < before,
        "runs count afresh in a new host: {after:?} after {before}"
    );
    assert!(up.host_pid().is_some_and(|p| p != pid));
    let cached = up.points_since("max:pycheck.base.cached_runs{host:py-e2e}.rollup(max, 1)", killed);
    assert!(
        cached[0] > before,
        "the persistent cache outlives the host: {cached:?} after {before} runs"
    );
}

#[test]
fn without_an_interpreter_status_names_the_python_checks_and_the_rest_runs() {
    let up = Up::start("/nonexistent/bin/python3", &["dd_base", "legacy", "uptime"]);
    let status = up.wait_status(&["Loading Errors", "uptime (", "Total Runs: 1"]);
    let errors = status.split("Loading Errors").nth(1).unwrap();
    for name in ["dd_base", "legacy"] {
        assert!(errors.contains(&format!("    {name}\n")), "{errors}");
    }
    assert!(errors.contains("`/nonexistent/bin/python3`"), "{errors}");
    assert!(!errors.contains("uptime"), "{errors}");
    assert!(up.latest("avg:system.uptime{host:py-e2e}") > 0.0);
}
