//! Real Redis and PostgreSQL servers for the integration tests: Debian's `redis-server` and
//! `postgresql` (scripts/install-services.sh installs them), each started on a free loopback
//! port in a temporary directory and stopped by pid when dropped.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// A `redis-server` on loopback with a password, persisting nothing.
pub struct Redis {
    /// Its port.
    pub port: u16,
    /// Its password.
    pub password: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Redis {
    /// Starts one and waits until it answers.
    pub fn start(password: &str) -> Redis {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--requirepass", password, "--dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (scripts/install-services.sh installs it)");
        wait_for_port(port);
        Redis {
            port,
            password: password.to_string(),
            child,
            _dir: dir,
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PostgreSQL cluster on loopback, superuser `postgres` with a password (scram over TCP).
pub struct Postgres {
    /// Its port.
    pub port: u16,
    /// The superuser's password.
    pub password: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl Postgres {
    /// Makes a cluster with `initdb` and starts it; as root, both run as `nobody`, since
    /// PostgreSQL refuses to run as root.
    pub fn start(password: &str) -> Postgres {
        let bin = postgres_bin_dir();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, password).unwrap();
        let as_root = running_as_root();
        if as_root {
            for path in [dir.path(), pwfile.as_path()] {
                std::os::unix::fs::chown(path, Some(NOBODY), Some(NOGROUP)).unwrap();
            }
        }
        let status = run_as(as_root, &bin.join("initdb"))
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-D",
            ])
            .arg(&data)
            .arg(format!("--pwfile={}", pwfile.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "initdb failed");
        let port = free_port();
        let child = run_as(as_root, &bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args(["-c", "fsync=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port);
        let pg = Postgres {
            port,
            password: password.to_string(),
            child,
            dir,
        };
        // The port opens before the server takes connections.
        let deadline = Instant::now() + Duration::from_secs(20);
        while pg.psql("postgres", "SELECT 1").is_err() {
            assert!(Instant::now() < deadline, "postgres did not accept connections");
            std::thread::sleep(Duration::from_millis(100));
        }
        pg
    }

    /// Runs SQL with psql over the Unix socket; the output, or the error text.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(postgres_bin_dir().join("psql"))
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-h"])
            .arg(self.dir.path())
            .args(["-p", &self.port.to_string(), "-d", db, "-c", sql])
            .output()
            .unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const NOBODY: u32 = 65534;
const NOGROUP: u32 = 65534;

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn run_as(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "nobody", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// Debian's newest PostgreSQL `bin` directory.
fn postgres_bin_dir() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (scripts/install-services.sh)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    dirs.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop().expect("a PostgreSQL with initdb under /usr/lib/postgresql")
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on 127.0.0.1:{port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
