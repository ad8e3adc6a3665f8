//! Real Redis and PostgreSQL servers for tests: Debian's `redis-server` and a PostgreSQL
//! cluster made with `initdb`, each on a free loopback port in its own temporary directory,
//! stopped by pid when dropped (also when the test panics). `scripts/install-services.sh`
//! installs the packages.
//!
//! PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user (the
//! Debian package makes it; `nobody` otherwise) and its processes run as that user.

#![allow(dead_code)]

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback TCP port.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn wait_for_port(port: u16, child: &mut Child, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited with {status}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} did not listen on port {port} within 20 s");
}

/// Sends `signal` to `pid` and waits up to `patience` for `child` to exit; then SIGKILL.
fn stop(child: &mut Child, signal: &str, patience: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A running `redis-server` with a password.
pub struct RedisServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its `requirepass`.
    pub password: String,
    /// TLS on the port instead of plain TCP: (certificate, key, CA) PEM files.
    tls: Option<(PathBuf, PathBuf, PathBuf)>,
    /// The master's port, for a replica.
    replica_of: Option<u16>,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a replica of `master` (same password).
    pub fn start_replica_of(master: &RedisServer) -> RedisServer {
        let mut server = RedisServer {
            port: free_port(),
            password: master.password.clone(),
            tls: None,
            replica_of: Some(master.port),
            dir: tempfile::tempdir().expect("a temp dir"),
            child: None,
        };
        server.restart();
        server
    }

    /// Starts redis-server on a free port with `password`, no persistence.
    pub fn start(password: &str) -> RedisServer {
        RedisServer::start_with(password, None)
    }

    /// Starts redis-server speaking only TLS on its port, with this certificate, key and CA
    /// (clients need not present certificates).
    pub fn start_tls(password: &str, cert: &Path, key: &Path, ca: &Path) -> RedisServer {
        RedisServer::start_with(
            password,
            Some((cert.to_path_buf(), key.to_path_buf(), ca.to_path_buf())),
        )
    }

    fn start_with(password: &str, tls: Option<(PathBuf, PathBuf, PathBuf)>) -> RedisServer {
        let mut server = RedisServer {
            port: free_port(),
            password: password.to_string(),
            tls,
            replica_of: None,
            dir: tempfile::tempdir().expect("a temp dir"),
            child: None,
        };
        server.restart();
        server
    }

    /// Starts it again (on the same port) after [`RedisServer::stop`].
    pub fn restart(&mut self) {
        let log = self.dir.path().join("redis.log");
        let mut command = Command::new("redis-server");
        match &self.tls {
            None => command.args(["--port", &self.port.to_string()]),
            Some((cert, key, ca)) => command
                .args([
                    "--port",
                    "0",
                    "--tls-port",
                    &self.port.to_string(),
                    "--tls-auth-clients",
                    "no",
                ])
                .arg("--tls-cert-file")
                .arg(cert)
                .arg("--tls-key-file")
                .arg(key)
                .arg("--tls-ca-cert-file")
                .arg(ca),
        };
        if let Some(master) = self.replica_of {
            command
                .args(["--replicaof", "127.0.0.1", &master.to_string()])
                .args(["--masterauth", &self.password]);
        }
        let mut child = command
            .args(["--bind", "127.0.0.1"])
            .args(["--requirepass", &self.password])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            // A replica's first sync starts at once, not after Redis's 5 s wait for more replicas.
            .args(["--repl-diskless-sync-delay", "0"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .arg("--unixsocket")
            .arg(self.socket_path())
            .args(["--unixsocketperm", "700"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (scripts/install-services.sh installs it)");
        wait_for_port(self.port, &mut child, "redis-server", &log);
        self.child = Some(child);
    }

    /// The server's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Its Unix socket (it listens on one too).
    pub fn socket_path(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// Stops it (SIGTERM, then SIGKILL).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child, "-TERM", Duration::from_secs(5));
        }
    }

    /// Runs `redis-cli` with these arguments and returns its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let mut command = Command::new("redis-cli");
        if let Some((_, _, ca)) = &self.tls {
            command.arg("--tls").arg("--cacert").arg(ca);
        }
        let out = command
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "--no-auth-warning",
                "-a",
                &self.password,
            ])
            .args(args)
            .output()
            .expect("redis-cli runs");
        assert!(
            out.status.success(),
            "redis-cli {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin`.
pub fn postgres_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("/usr/lib/postgresql (scripts/install-services.sh installs postgresql)")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL server in /usr/lib/postgresql").1
}

/// The user a cluster runs as: ourselves, or when we are root the `postgres` user (`nobody`
/// without one), as (uid, gid).
fn cluster_owner() -> Option<(u32, u32)> {
    let me = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    let entry = |name: &str| {
        passwd.lines().find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.first() == Some(&name) && f.len() > 3).then(|| (f[2].parse().ok(), f[3].parse().ok()))
        })
    };
    match entry("postgres").or_else(|| entry("nobody")) {
        Some((Some(uid), Some(gid))) => Some((uid, gid)),
        _ => panic!("running as root, and there is neither a postgres nor a nobody user to run PostgreSQL as"),
    }
}

/// A running PostgreSQL cluster with a password-protected superuser.
pub struct PostgresServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The superuser.
    pub user: String,
    /// Its password.
    pub password: String,
    bin: PathBuf,
    owner: Option<(u32, u32)>,
    /// `ssl=on` with these certificate and key files (in the cluster's directory).
    tls: Option<(PathBuf, PathBuf)>,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PostgresServer {
    /// Restarts the server with TLS on (`ssl=on`) with this certificate and key; clients may
    /// still connect without TLS.
    pub fn enable_tls(&mut self, cert: &Path, key: &Path) {
        let (cert_copy, key_copy) = (self.dir.path().join("server.crt"), self.dir.path().join("server.key"));
        std::fs::copy(cert, &cert_copy).unwrap();
        std::fs::copy(key, &key_copy).unwrap();
        std::fs::set_permissions(&key_copy, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::chown(&cert_copy, Some(uid), Some(gid)).unwrap();
            std::os::unix::fs::chown(&key_copy, Some(uid), Some(gid)).unwrap();
        }
        self.tls = Some((cert_copy, key_copy));
        self.stop();
        self.restart();
    }

    /// Makes a cluster (initdb, scram-sha-256 for TCP) and starts it on a free port.
    pub fn start(user: &str, password: &str) -> PostgresServer {
        let dir = tempfile::tempdir().expect("a temp dir");
        let owner = cluster_owner();
        let bin = postgres_bin();
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, format!("{password}\n")).unwrap();
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
            std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).unwrap();
        }
        let server = PostgresServer {
            port: free_port(),
            user: user.to_string(),
            password: password.to_string(),
            bin,
            owner,
            tls: None,
            dir,
            child: None,
        };
        let out = server
            .command("initdb")
            .arg("-D")
            .arg(server.data())
            .args([
                "-U",
                user,
                "-A",
                "scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut server = server;
        server.restart();
        server
    }

    /// Makes a streaming standby of `primary` (pg_basebackup -R) and starts it on a free port.
    pub fn standby_of(primary: &PostgresServer) -> PostgresServer {
        let dir = tempfile::tempdir().expect("a temp dir");
        if let Some((uid, gid)) = primary.owner {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let mut standby = PostgresServer {
            port: free_port(),
            user: primary.user.clone(),
            password: primary.password.clone(),
            bin: primary.bin.clone(),
            owner: primary.owner,
            tls: None,
            dir,
            child: None,
        };
        let out = standby
            .command("pg_basebackup")
            .args(["-h", "127.0.0.1", "-p", &primary.port.to_string(), "-U", &primary.user])
            .arg("-D")
            .arg(standby.data())
            .args(["-R", "-X", "stream", "--no-sync", "--checkpoint=fast"])
            .env("PGPASSWORD", &primary.password)
            .output()
            .expect("pg_basebackup runs");
        assert!(
            out.status.success(),
            "pg_basebackup: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        standby.restart();
        standby
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A command for one of the server's programs, as the cluster's owner.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.owner {
            command.uid(uid).gid(gid);
        }
        command.current_dir(self.dir.path()).env_remove("PGDATA");
        command
    }

    /// Starts it again (on the same port) after [`PostgresServer::stop`].
    pub fn restart(&mut self) {
        let log = self.dir.path().join("postgres.log");
        let log_file = std::fs::File::create(&log).unwrap();
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::chown(&log, Some(uid), Some(gid)).unwrap();
        }
        let mut command = self.command("postgres");
        if let Some((cert, key)) = &self.tls {
            command
                .args(["-c", "ssl=on"])
                .arg("-c")
                .arg(format!("ssl_cert_file={}", cert.display()))
                .arg("-c")
                .arg(format!("ssl_key_file={}", key.display()));
        }
        let mut child = command
            .arg("-D")
            .arg(self.data())
            .arg("-k")
            .arg(self.dir.path())
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ])
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("postgres runs");
        wait_for_port(self.port, &mut child, "postgres", &log);
        self.child = Some(child);
        // The port opens before the server accepts sessions: wait for a query to work.
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.try_psql("postgres", &["-c", "SELECT 1"]).is_err() {
            assert!(
                Instant::now() < deadline,
                "postgres did not accept sessions within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The postmaster's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops it (SIGINT: fast shutdown), waiting for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child, "-INT", Duration::from_secs(10));
        }
    }

    fn try_psql(&self, db: &str, args: &[&str]) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .arg(format!(
                "host=127.0.0.1 port={} user={} dbname={db}",
                self.port, self.user
            ))
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"])
            .args(args)
            .env("PGPASSWORD", &self.password)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Runs SQL in `db` with psql and returns its unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        self.try_psql(db, &["-c", sql])
            .unwrap_or_else(|e| panic!("psql {sql:?}: {e}"))
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
    }
}
