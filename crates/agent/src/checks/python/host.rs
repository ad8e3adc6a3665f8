//! The Python check host process: started on first use, supervised, restarted when it dies.
//!
//! One host runs every Python check (one interpreter: datadog_checks.base is imported once,
//! ~30 MB, instead of once per check). Three threads watch each host process: the reader
//! (its protocol pipe: routes each message to its check instance's bounded channel, answers
//! persistent-cache reads, counts what it drops), the stderr reader (a check's print() and
//! the interpreter's own errors go to the agent's log), and the watchdog (no heartbeat for
//! [`HEARTBEAT_TIMEOUT`] means the interpreter is stuck, e.g. a C call holding the GIL: the
//! host is killed). When the process ends every instance is told, and the next run starts a
//! new one after a backoff (1 s, doubling to 60 s; back to 1 s once a host has lived 60 s).

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::{Value, json};

use super::PythonError;
use super::modules;
use super::protocol::{FromHost, Line, MAX_MESSAGE_BYTES, cache_file_name, read_line};

/// How long the host may stay silent (it sends a heartbeat every second) before it is killed.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many messages wait for one check instance before more are dropped (and counted): a
/// check that floods the pipe costs bounded memory, and the reader never blocks on it.
pub const CHECK_QUEUE: usize = 100_000;

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
const STDERR_LINES_LOGGED: u64 = 200;
const STDERR_LINES_KEPT: usize = 20;

/// What a check instance receives from the host.
#[derive(Debug)]
pub(crate) enum ToCheck {
    /// A message of the host's.
    Host(FromHost),
    /// The host process `generation` ended (how it ended).
    Exited(u64, String),
}

/// How the host is started and what it is told.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The interpreter (`python_interpreter`).
    pub interpreter: String,
    /// Where the host's modules are written (`<run_path>/python`).
    pub dir: PathBuf,
    /// Where persistent-cache entries are kept (`<run_path>/python_cache`).
    pub cache_dir: PathBuf,
    /// What `datadog_agent` answers from: hostname, host tags, version, config, start time.
    pub context: Value,
}

/// The host's counters, for `dogwatch status`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HostStats {
    /// The interpreter asked for.
    pub interpreter: String,
    /// The running host's pid.
    pub pid: Option<u32>,
    /// The Python version it reported.
    pub python_version: String,
    /// The interpreter's path as it reported it.
    pub executable: String,
    /// Processes started.
    pub starts: u64,
    /// When the running one started.
    pub started: Option<SystemTime>,
    /// How the last one ended.
    pub last_exit: Option<String>,
    /// Why the last start failed.
    pub start_error: Option<String>,
    /// Its RSS in KiB, from its last heartbeat.
    pub rss_kib: u64,
    /// Its threads, from its last heartbeat.
    pub threads: u64,
    /// Its CPU seconds, from its last heartbeat.
    pub cpu_seconds: f64,
    /// Messages read.
    pub messages: u64,
    /// Lines longer than [`MAX_MESSAGE_BYTES`], dropped.
    pub oversize: u64,
    /// Lines that were not a message, dropped.
    pub garbage: u64,
    /// Messages dropped because their check's queue was full.
    pub queue_full: u64,
    /// Messages for a check instance the agent does not know.
    pub unknown_check: u64,
    /// Calls dogwatch does not carry out, by kind (histogram buckets, event platform events, …).
    pub unsupported: HashMap<String, u64>,
    /// Lines the host wrote to stderr (a check's print() goes there too).
    pub stderr_lines: u64,
    /// The last stderr lines.
    pub last_stderr: VecDeque<String>,
}

struct Process {
    child: Child,
    stdin: Arc<Mutex<ChildStdin>>,
    generation: u64,
    started: Instant,
    last_heard: Arc<Mutex<Instant>>,
}

struct State {
    process: Option<Process>,
    generation: u64,
    next_start: Option<Instant>,
    backoff: Duration,
    modules_written: bool,
}

/// The supervisor of the Python check host, shared by every Python check instance.
pub struct PythonHost {
    config: HostConfig,
    state: Mutex<State>,
    routes: Mutex<HashMap<String, SyncSender<ToCheck>>>,
    stats: Mutex<HostStats>,
    heartbeat_timeout_ms: AtomicU64,
    /// Runs sent and not done yet, by check instance, with when they were sent.
    in_flight: Mutex<HashMap<String, Instant>>,
    /// Check instances whose run held the interpreter when the host was killed for it.
    quarantined: Mutex<HashSet<String>>,
}

impl PythonHost {
    /// A supervisor; nothing starts until a check needs the host.
    pub fn new(config: HostConfig) -> Arc<PythonHost> {
        let stats = HostStats {
            interpreter: config.interpreter.clone(),
            ..HostStats::default()
        };
        Arc::new(PythonHost {
            config,
            state: Mutex::new(State {
                process: None,
                generation: 0,
                next_start: None,
                backoff: FIRST_BACKOFF,
                modules_written: false,
            }),
            routes: Mutex::new(HashMap::new()),
            stats: Mutex::new(stats),
            heartbeat_timeout_ms: AtomicU64::new(HEARTBEAT_TIMEOUT.as_millis() as u64),
            in_flight: Mutex::new(HashMap::new()),
            quarantined: Mutex::new(HashSet::new()),
        })
    }

    /// How long the host may stay silent before it is killed (tests shorten
    /// [`HEARTBEAT_TIMEOUT`]).
    pub fn set_heartbeat_timeout(&self, timeout: Duration) {
        self.heartbeat_timeout_ms
            .store(timeout.as_millis() as u64, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn stats(&self) -> HostStats {
        self.stats.lock().expect("python host stats").clone()
    }

    /// The interpreter this host runs.
    pub fn interpreter(&self) -> &str {
        &self.config.interpreter
    }

    /// The running host's pid, if one runs.
    pub fn pid(&self) -> Option<u32> {
        self.state
            .lock()
            .expect("python host state")
            .process
            .as_ref()
            .map(|p| p.child.id())
    }

    /// The channel on which check instance `id` gets its messages.
    pub(crate) fn register(&self, id: &str) -> Receiver<ToCheck> {
        let (tx, rx) = sync_channel(CHECK_QUEUE);
        self.routes
            .lock()
            .expect("python host routes")
            .insert(id.to_string(), tx);
        rx
    }

    /// The running host's generation, starting one if none runs (unless the backoff after a
    /// crash has not passed yet).
    pub(crate) fn ensure_running(self: &Arc<Self>) -> Result<u64, PythonError> {
        let mut state = self.state.lock().expect("python host state");
        if let Some(process) = &state.process {
            return Ok(process.generation);
        }
        if let Some(at) = state.next_start {
            let now = Instant::now();
            if now < at {
                return Err(PythonError::Restarting {
                    in_secs: (at - now).as_secs_f64(),
                    last_exit: self.stats().last_exit.unwrap_or_default(),
                });
            }
        }
        // A failed spawn (no such interpreter) costs nothing to retry, so only exits back off.
        self.start(&mut state).inspect_err(|e| {
            self.stats.lock().expect("python host stats").start_error = Some(e.to_string());
        })
    }

    fn start(self: &Arc<Self>, state: &mut State) -> Result<u64, PythonError> {
        if !state.modules_written {
            modules::write(&self.config.dir).map_err(|source| PythonError::Modules {
                dir: self.config.dir.clone(),
                source,
            })?;
            state.modules_written = true;
        }
        let mut child = Command::new(&self.config.interpreter)
            .arg("-u")
            .arg("-B")
            .arg(self.config.dir.join(modules::HOST_SCRIPT))
            .arg(&self.config.dir)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| PythonError::Start {
                interpreter: self.config.interpreter.clone(),
                source,
            })?;
        state.generation += 1;
        let generation = state.generation;
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(PythonError::Pipe("the host's pipes were not set up".into()));
        };
        let stdin = Arc::new(Mutex::new(stdin));
        let last_heard = Arc::new(Mutex::new(Instant::now()));
        let pid = child.id();
        state.process = Some(Process {
            child,
            stdin: stdin.clone(),
            generation,
            started: Instant::now(),
            last_heard: last_heard.clone(),
        });
        {
            let mut stats = self.stats.lock().expect("python host stats");
            stats.starts += 1;
            stats.pid = Some(pid);
            stats.started = Some(SystemTime::now());
            stats.start_error = None;
        }
        tracing::info!(pid, interpreter = %self.config.interpreter, "The Python check host started.");
        let weak = Arc::downgrade(self);
        spawn_thread("python-host-reader", {
            let weak = weak.clone();
            move || read_messages(weak, generation, stdout, last_heard)
        });
        spawn_thread("python-host-stderr", {
            let weak = weak.clone();
            move || read_stderr(weak, stderr)
        });
        spawn_thread("python-host-watchdog", move || watchdog(weak, generation));
        let init = json!({"op": "init", "context": self.config.context});
        write_line(&stdin, &init)?;
        Ok(generation)
    }

    /// Sends `message` to host `generation`; an error when that host is gone.
    pub(crate) fn send(&self, generation: u64, message: &Value) -> Result<(), PythonError> {
        let stdin = {
            let state = self.state.lock().expect("python host state");
            match &state.process {
                Some(p) if p.generation == generation => p.stdin.clone(),
                _ => return Err(PythonError::Pipe("the Python check host has exited".into())),
            }
        };
        write_line(&stdin, message)
    }

    /// Notes that check instance `id` was sent a run.
    pub(crate) fn run_sent(&self, id: &str) {
        self.in_flight
            .lock()
            .expect("python host runs")
            .insert(id.to_string(), Instant::now());
    }

    /// Whether check instance `id` held the interpreter until the host was killed: it is not
    /// run again, so that it cannot stop every other Python check once more.
    pub(crate) fn is_quarantined(&self, id: &str) -> bool {
        self.quarantined.lock().expect("python host quarantine").contains(id)
    }

    /// Kills the running host (tests and `dogwatch agent check` call it; the supervisor
    /// starts another when a check next runs).
    pub fn kill(&self) {
        let mut state = self.state.lock().expect("python host state");
        if let Some(process) = state.process.as_mut() {
            let _ = process.child.kill();
        }
    }

    /// Called by the reader when host `generation`'s pipe closes: reaps it, schedules the
    /// restart and tells every instance.
    fn exited(&self, generation: u64) {
        let detail = {
            let mut state = self.state.lock().expect("python host state");
            let Some(process) = state.process.take_if(|p| p.generation == generation) else {
                return;
            };
            let mut child = process.child;
            let mut status = None;
            for _ in 0..20 {
                if let Ok(Some(s)) = child.try_wait() {
                    status = Some(s);
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if status.is_none() {
                let _ = child.kill();
                status = child.wait().ok();
            }
            let lived = process.started.elapsed();
            if lived > MAX_BACKOFF {
                state.backoff = FIRST_BACKOFF;
            }
            state.next_start = Some(Instant::now() + state.backoff);
            state.backoff = (state.backoff * 2).min(MAX_BACKOFF);
            let detail = match status {
                Some(s) => format!("{s} after {:.1}s", lived.as_secs_f64()),
                None => format!("exit status unknown after {:.1}s", lived.as_secs_f64()),
            };
            let mut stats = self.stats.lock().expect("python host stats");
            stats.pid = None;
            stats.last_exit = Some(detail.clone());
            detail
        };
        tracing::warn!(detail = %detail, "The Python check host exited; it is started again when a check next runs.");
        self.in_flight.lock().expect("python host runs").clear();
        for route in self.routes.lock().expect("python host routes").values() {
            let _ = route.try_send(ToCheck::Exited(generation, detail.clone()));
        }
    }

    fn handle(&self, generation: u64, message: FromHost) {
        match message {
            FromHost::Heartbeat { rss_kib, threads, cpu } => {
                let mut stats = self.stats.lock().expect("python host stats");
                stats.rss_kib = rss_kib;
                stats.threads = threads;
                stats.cpu_seconds = cpu;
            }
            FromHost::Ready {
                pid,
                python,
                executable,
            } => {
                tracing::debug!(pid, python = %python, "The Python check host is ready.");
                let mut stats = self.stats.lock().expect("python host stats");
                stats.python_version = python;
                stats.executable = executable;
            }
            FromHost::Log { l, m } => log_from_python(l, &m),
            FromHost::Unsupported { what, .. } => {
                *self
                    .stats
                    .lock()
                    .expect("python host stats")
                    .unsupported
                    .entry(what)
                    .or_default() += 1;
            }
            FromHost::CacheGet { q, k } => {
                let value =
                    std::fs::read_to_string(self.config.cache_dir.join(cache_file_name(&k))).unwrap_or_default();
                let _ = self.send(generation, &json!({"op": "reply", "q": q, "v": value}));
            }
            FromHost::CacheSet { k, v } => {
                let path = self.config.cache_dir.join(cache_file_name(&k));
                let written = std::fs::create_dir_all(&self.config.cache_dir).and_then(|()| {
                    let tmp = path.with_extension("tmp");
                    std::fs::write(&tmp, v.as_bytes())?;
                    std::fs::rename(&tmp, &path)
                });
                if let Err(e) = written {
                    tracing::warn!(path = %path.display(), error = %e, "A Python check's persistent cache entry cannot be written.");
                }
            }
            other => {
                let Some(id) = other.check_id() else { return };
                if matches!(other, FromHost::Done { .. }) {
                    self.in_flight.lock().expect("python host runs").remove(id);
                }
                let route = self.routes.lock().expect("python host routes").get(id).cloned();
                match route {
                    Some(route) => {
                        if let Err(TrySendError::Full(_)) = route.try_send(ToCheck::Host(other)) {
                            self.stats.lock().expect("python host stats").queue_full += 1;
                        }
                    }
                    None => self.stats.lock().expect("python host stats").unknown_check += 1,
                }
            }
        }
    }
}

impl Drop for PythonHost {
    fn drop(&mut self) {
        if let Ok(state) = self.state.get_mut()
            && let Some(mut process) = state.process.take()
        {
            let _ = process.child.kill();
            let _ = process.child.wait();
        }
    }
}

fn spawn_thread(name: &str, body: impl FnOnce() + Send + 'static) {
    if let Err(e) = std::thread::Builder::new().name(name.into()).spawn(body) {
        tracing::error!(thread = name, error = %e, "A thread of the Python check host cannot start.");
    }
}

fn write_line(stdin: &Mutex<ChildStdin>, message: &Value) -> Result<(), PythonError> {
    let mut line = serde_json::to_vec(message).map_err(|e| PythonError::Pipe(e.to_string()))?;
    line.push(b'\n');
    let mut stdin = stdin.lock().expect("python host stdin");
    stdin
        .write_all(&line)
        .and_then(|()| stdin.flush())
        .map_err(|e| PythonError::Pipe(format!("cannot write to the Python check host: {e}")))
}

fn read_messages(
    host: Weak<PythonHost>,
    generation: u64,
    stdout: std::process::ChildStdout,
    last_heard: Arc<Mutex<Instant>>,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut buf = Vec::with_capacity(4096);
    loop {
        let line = read_line(&mut reader, &mut buf, MAX_MESSAGE_BYTES);
        let Some(host) = host.upgrade() else { return };
        *last_heard.lock().expect("python host heartbeat") = Instant::now();
        match line {
            Ok(Line::Complete) => match serde_json::from_slice::<FromHost>(&buf) {
                Ok(message) => {
                    host.stats.lock().expect("python host stats").messages += 1;
                    host.handle(generation, message);
                }
                Err(_) => host.stats.lock().expect("python host stats").garbage += 1,
            },
            Ok(Line::Oversize) => {
                let mut stats = host.stats.lock().expect("python host stats");
                stats.oversize += 1;
                if stats.oversize.is_power_of_two() {
                    tracing::warn!(
                        dropped = stats.oversize,
                        limit = MAX_MESSAGE_BYTES,
                        "The Python check host sent a message longer than the limit; it was dropped."
                    );
                }
            }
            Ok(Line::End) | Err(_) => {
                host.exited(generation);
                return;
            }
        }
    }
}

fn read_stderr(host: Weak<PythonHost>, stderr: std::process::ChildStderr) {
    let mut reader = BufReader::new(stderr);
    let mut buf = Vec::new();
    let mut logged = 0u64;
    loop {
        let line = read_line(&mut reader, &mut buf, 16 * 1024);
        let text = match line {
            Ok(Line::Complete) => String::from_utf8_lossy(&buf).into_owned(),
            Ok(Line::Oversize) => "(a line longer than 16 KiB)".to_string(),
            Ok(Line::End) | Err(_) => return,
        };
        let Some(host) = host.upgrade() else { return };
        if logged < STDERR_LINES_LOGGED {
            tracing::info!(line = %text, "Python check host output.");
        } else {
            tracing::debug!(line = %text, "Python check host output.");
        }
        logged += 1;
        let mut stats = host.stats.lock().expect("python host stats");
        stats.stderr_lines += 1;
        stats.last_stderr.push_back(text);
        if stats.last_stderr.len() > STDERR_LINES_KEPT {
            stats.last_stderr.pop_front();
        }
    }
}

fn watchdog(host: Weak<PythonHost>, generation: u64) {
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let Some(host) = host.upgrade() else { return };
        let mut state = host.state.lock().expect("python host state");
        let Some(process) = state.process.as_mut().filter(|p| p.generation == generation) else {
            return;
        };
        let last_heard = *process.last_heard.lock().expect("python host heartbeat");
        let silent = last_heard.elapsed();
        if silent > Duration::from_millis(host.heartbeat_timeout_ms.load(Ordering::Relaxed)) {
            // The culprit: the first run sent after the host's last message (it was alive until
            // then); if none was, a run already going went into the call, so every run in flight.
            let in_flight = host.in_flight.lock().expect("python host runs").clone();
            let culprits: Vec<String> = match in_flight
                .iter()
                .filter(|(_, sent)| **sent >= last_heard)
                .min_by_key(|(_, sent)| **sent)
            {
                Some((id, _)) => vec![id.clone()],
                None => in_flight.into_keys().collect(),
            };
            tracing::error!(checks = ?culprits, "These Python checks held the interpreter; they are not run again until the agent restarts.");
            host.quarantined
                .lock()
                .expect("python host quarantine")
                .extend(culprits);
            tracing::warn!(
                pid = process.child.id(),
                silent_secs = silent.as_secs(),
                "The Python check host stopped sending heartbeats (a check holds the interpreter); it is killed and restarted."
            );
            let _ = process.child.kill();
            return;
        }
    }
}

/// A Python logging level as a tracing event.
fn log_from_python(level: i64, message: &str) {
    match level {
        l if l >= 40 => tracing::error!(text = %message, "Python check log."),
        l if l >= 30 => tracing::warn!(text = %message, "Python check log."),
        l if l >= 20 => tracing::info!(text = %message, "Python check log."),
        _ => tracing::debug!(text = %message, "Python check log."),
    }
}
