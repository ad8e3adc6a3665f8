//! Logging as Datadog's agent does it: a log file rotated by size (`log_file`,
//! `log_file_max_size`, `log_file_max_rolls`), the console (`log_to_console`), syslog
//! (`log_to_syslog`, `syslog_uri`), text or JSON lines (`log_format_json`) and Datadog's time
//! format or RFC 3339 (`log_format_rfc3339`).
//!
//! tracing-subscriber formats; the writers here are the file that rotates at a size
//! (tracing-appender rotates only by time) and the syslog socket. Every line passes through
//! [`secrets::scrub_text`] first, so a secret value the agent knows never reaches a log.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result, bail};
use dogwatch_agent::config::secrets;
use dogwatch_agent::config::{AgentConfig, LogLevel};
use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Where and how a long-running command logs.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSettings {
    /// The level.
    pub level: LogLevel,
    /// The log file, or `None` for none.
    pub file: Option<PathBuf>,
    /// Bytes at which the file is rotated.
    pub max_size: u64,
    /// Rotated files kept (`<file>.1` newest); 0 keeps none.
    pub max_rolls: u64,
    /// Log to standard error too.
    pub console: bool,
    /// JSON lines instead of text.
    pub json: bool,
    /// RFC 3339 times instead of Datadog's `2006-01-02 15:04:05 UTC`.
    pub rfc3339: bool,
    /// Send to syslog at this address too.
    pub syslog: Option<SyslogTarget>,
}

impl LogSettings {
    /// The agent's settings from its configuration; the file defaults to
    /// `<run_path>/logs/agent.log`.
    pub fn from_agent_config(config: &AgentConfig, run_path: &Path) -> Result<LogSettings> {
        let file = if config.disable_file_logging {
            None
        } else if config.log_file.is_empty() {
            Some(default_log_file(run_path, "agent"))
        } else {
            Some(PathBuf::from(&config.log_file))
        };
        let syslog = if config.log_to_syslog {
            Some(SyslogTarget::parse(&config.syslog_uri).context("invalid value for `syslog_uri`")?)
        } else {
            None
        };
        Ok(LogSettings {
            level: config.log_level,
            file,
            max_size: parse_size(&config.log_file_max_size)
                .with_context(|| format!("invalid value for `log_file_max_size`: {:?}", config.log_file_max_size))?,
            max_rolls: config.log_file_max_rolls,
            console: config.log_to_console,
            json: config.log_format_json,
            rfc3339: config.log_format_rfc3339,
            syslog,
        })
    }
}

/// `<dir>/logs/<name>.log`: where the agent (`dir` = its run path) and the server (`dir` =
/// its data directory) log when `log_file` is not set.
pub fn default_log_file(dir: &Path, name: &str) -> PathBuf {
    dir.join("logs").join(format!("{name}.log"))
}

/// Parses a size as Datadog's `log_file_max_size`: `10Mb`, `512KB`, `1gb`, or bytes.
pub fn parse_size(text: &str) -> Result<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("{text:?} is not a size: write a number and a unit, e.g. 10Mb"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1024,
        "m" | "mb" => 1024 * 1024,
        "g" | "gb" => 1024 * 1024 * 1024,
        other => bail!("{text:?} has an unknown unit {other:?}: use b, kb, mb or gb"),
    };
    if number == 0 {
        bail!("a log file size of 0 would rotate at every line; give at least 1kb");
    }
    Ok(number.saturating_mul(factor))
}

/// Sets up the process's logging. The file's directory is created.
pub fn init(settings: &LogSettings) -> Result<()> {
    let filter = || {
        let directive = settings.level.filter_directive();
        if settings.level == LogLevel::Off {
            EnvFilter::new("off")
        } else {
            EnvFilter::new(format!(
                "{directive},hyper=warn,hyper_util=warn,reqwest=warn,tower_http=warn"
            ))
        }
    };
    let timer = Timer {
        rfc3339: settings.rfc3339,
    };
    let mut layers: Vec<Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>> = Vec::new();
    if settings.console {
        let ansi = !settings.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
        layers.push(
            format_layer(settings.json, timer, ansi, Scrubbed(io::stderr))
                .with_filter(filter())
                .boxed(),
        );
    }
    if let Some(path) = &settings.file {
        let file = RotatingFile::open(path, settings.max_size, settings.max_rolls)
            .with_context(|| format!("cannot open the log file {} (log_file)", path.display()))?;
        let shared = SharedFile(Arc::new(Mutex::new(file)));
        layers.push(
            format_layer(settings.json, timer, false, shared)
                .with_filter(filter())
                .boxed(),
        );
    }
    if let Some(target) = &settings.syslog {
        let writer =
            SyslogWriter::connect(target).with_context(|| format!("cannot reach syslog at {target} (syslog_uri)"))?;
        layers.push(format_layer(false, NoTime, false, writer).with_filter(filter()).boxed());
    }
    let _ = tracing_subscriber::registry().with(layers).try_init();
    Ok(())
}

fn format_layer<T, W>(
    json: bool,
    timer: T,
    ansi: bool,
    writer: W,
) -> Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>
where
    T: FormatTime + Send + Sync + 'static,
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .with_timer(timer)
        .with_ansi(ansi)
        .with_writer(writer);
    if json {
        layer.json().flatten_event(true).boxed()
    } else {
        layer.boxed()
    }
}

/// Datadog's log times: `2006-01-02 15:04:05 UTC`, or RFC 3339 `2006-01-02T15:04:05Z`.
#[derive(Debug, Clone, Copy)]
struct Timer {
    rfc3339: bool,
}

impl FormatTime for Timer {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let (days, rem) = (now.div_euclid(86_400), now.rem_euclid(86_400));
        let (y, m, d) = dogwatch_model::time::civil_from_days(days);
        let (hh, mm, ss) = (rem / 3600, rem / 60 % 60, rem % 60);
        if self.rfc3339 {
            write!(w, "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
        } else {
            write!(w, "{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} UTC")
        }
    }
}

/// No time: syslog stamps its own.
#[derive(Debug, Clone, Copy)]
struct NoTime;

impl FormatTime for NoTime {
    fn format_time(&self, _: &mut Writer<'_>) -> std::fmt::Result {
        Ok(())
    }
}

/// A writer whose every write is one formatted line (tracing-subscriber writes each event
/// whole), scrubbed of known secrets before it goes out.
fn scrub(buf: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if secrets::known_values().is_empty() {
        return std::borrow::Cow::Borrowed(buf);
    }
    std::borrow::Cow::Owned(secrets::scrub_text(&String::from_utf8_lossy(buf)).into_bytes())
}

/// Standard error, scrubbed.
struct Scrubbed<F>(F);

impl<'a, F: Fn() -> io::Stderr + 'static> MakeWriter<'a> for Scrubbed<F> {
    type Writer = ScrubbedStderr;
    fn make_writer(&'a self) -> Self::Writer {
        ScrubbedStderr((self.0)())
    }
}

struct ScrubbedStderr(io::Stderr);

impl Write for ScrubbedStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(&scrub(buf))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A log file that is renamed to `<path>.1` (and older ones to `.2`, … up to `max_rolls`)
/// when a line would take it past `max_size`, as Datadog's rolling file does.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: u64,
    max_rolls: u64,
}

impl RotatingFile {
    /// Opens (appends to) `path`, creating its directory.
    pub fn open(path: &Path, max_size: u64, max_rolls: u64) -> io::Result<RotatingFile> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_path_buf(),
            file,
            size,
            max_size,
            max_rolls,
        })
    }

    fn rotate(&mut self) -> io::Result<()> {
        let rolled = |n: u64| PathBuf::from(format!("{}.{n}", self.path.display()));
        if self.max_rolls == 0 {
            self.file = OpenOptions::new().write(true).truncate(true).open(&self.path)?;
        } else {
            let _ = std::fs::remove_file(rolled(self.max_rolls));
            for n in (1..self.max_rolls).rev() {
                let _ = std::fs::rename(rolled(n), rolled(n + 1));
            }
            std::fs::rename(&self.path, rolled(1))?;
            self.file = open_append(&self.path)?;
        }
        self.size = 0;
        Ok(())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // The agent's logs may name hosts and commands: owner and group only.
    OpenOptions::new().create(true).append(true).mode(0o640).open(path)
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let line = scrub(buf);
        if self.size > 0 && self.size + line.len() as u64 > self.max_size {
            self.rotate()?;
        }
        self.file.write_all(&line)?;
        self.size += line.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The log file shared by every event.
#[derive(Clone)]
struct SharedFile(Arc<Mutex<RotatingFile>>);

impl<'a> MakeWriter<'a> for SharedFile {
    type Writer = SharedFileGuard<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        SharedFileGuard(self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

struct SharedFileGuard<'a>(std::sync::MutexGuard<'a, RotatingFile>);

impl Write for SharedFileGuard<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Where syslog listens.
#[derive(Debug, Clone, PartialEq)]
pub enum SyslogTarget {
    /// A Unix datagram socket (`unix:///dev/log`, or a path).
    Unix(PathBuf),
    /// UDP (`udp://host:port`).
    Udp(String),
}

impl SyslogTarget {
    /// Parses `syslog_uri`; empty is `/dev/log`.
    pub fn parse(uri: &str) -> Result<SyslogTarget> {
        let uri = uri.trim();
        if uri.is_empty() {
            return Ok(SyslogTarget::Unix(PathBuf::from("/dev/log")));
        }
        if let Some(path) = uri.strip_prefix("unix://").or_else(|| uri.strip_prefix("unixgram://")) {
            return Ok(SyslogTarget::Unix(PathBuf::from(path)));
        }
        if let Some(addr) = uri.strip_prefix("udp://") {
            if !addr.contains(':') {
                bail!("{uri:?} needs a port, e.g. udp://127.0.0.1:514");
            }
            return Ok(SyslogTarget::Udp(addr.to_string()));
        }
        if uri.starts_with('/') {
            return Ok(SyslogTarget::Unix(PathBuf::from(uri)));
        }
        bail!("{uri:?} is not a syslog address: use unix:///dev/log, a socket path, or udp://host:port")
    }
}

impl std::fmt::Display for SyslogTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyslogTarget::Unix(path) => write!(f, "unix://{}", path.display()),
            SyslogTarget::Udp(addr) => write!(f, "udp://{addr}"),
        }
    }
}

/// Sends each line as one syslog datagram, `<PRI>dogwatch[pid]: LEVEL | message`, facility
/// user.
#[derive(Clone)]
struct SyslogWriter {
    socket: Arc<SyslogSocket>,
}

enum SyslogSocket {
    Unix(std::os::unix::net::UnixDatagram, PathBuf),
    Udp(std::net::UdpSocket),
}

impl SyslogWriter {
    fn connect(target: &SyslogTarget) -> io::Result<SyslogWriter> {
        let socket = match target {
            SyslogTarget::Unix(path) => {
                let socket = std::os::unix::net::UnixDatagram::unbound()?;
                SyslogSocket::Unix(socket, path.clone())
            }
            SyslogTarget::Udp(addr) => {
                let socket = std::net::UdpSocket::bind(("0.0.0.0", 0))?;
                socket.connect(addr)?;
                SyslogSocket::Udp(socket)
            }
        };
        Ok(SyslogWriter {
            socket: Arc::new(socket),
        })
    }
}

impl<'a> MakeWriter<'a> for SyslogWriter {
    type Writer = SyslogLine;
    fn make_writer(&'a self) -> Self::Writer {
        SyslogLine {
            socket: self.socket.clone(),
            pri: 8 + 6,
        }
    }
    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        let severity = match *meta.level() {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 6,
            Level::DEBUG | Level::TRACE => 7,
        };
        SyslogLine {
            socket: self.socket.clone(),
            pri: 8 + severity,
        }
    }
}

struct SyslogLine {
    socket: Arc<SyslogSocket>,
    pri: u8,
}

impl Write for SyslogLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let line = scrub(buf);
        let text = String::from_utf8_lossy(&line);
        let message = format!("<{}>dogwatch[{}]: {}", self.pri, std::process::id(), text.trim());
        // A syslog that is down must not stop the agent: the line is dropped.
        let _ = match &*self.socket {
            SyslogSocket::Unix(socket, path) => socket.send_to(message.as_bytes(), path),
            SyslogSocket::Udp(socket) => socket.send(message.as_bytes()),
        };
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_datadogs_and_bad_ones_name_the_problem() {
        assert_eq!(parse_size("10Mb").unwrap(), 10 * 1024 * 1024);
        assert_eq!(parse_size("512KB").unwrap(), 512 * 1024);
        assert_eq!(parse_size("2048").unwrap(), 2048);
        assert!(parse_size("ten").unwrap_err().to_string().contains("not a size"));
        assert!(parse_size("3tb").unwrap_err().to_string().contains("unknown unit"));
    }

    #[test]
    fn the_file_rotates_at_the_size_and_keeps_max_rolls() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/agent.log");
        let mut file = RotatingFile::open(&path, 100, 2).unwrap();
        for i in 0..10 {
            file.write_all(format!("line {i:02} {}\n", "x".repeat(30)).as_bytes())
                .unwrap();
        }
        for p in [
            path.clone(),
            dir.path().join("logs/agent.log.1"),
            dir.path().join("logs/agent.log.2"),
        ] {
            let len = std::fs::metadata(&p).unwrap().len();
            assert!(len > 0 && len <= 100, "{}: {len}", p.display());
        }
        assert!(!dir.path().join("logs/agent.log.3").exists());
        let newest = std::fs::read_to_string(&path).unwrap();
        assert!(newest.ends_with(&format!("line 09 {}\n", "x".repeat(30))), "{newest}");
    }

    #[test]
    fn syslog_uris_parse_and_others_are_refused() {
        assert_eq!(SyslogTarget::parse("").unwrap(), SyslogTarget::Unix("/dev/log".into()));
        assert_eq!(
            SyslogTarget::parse("udp://127.0.0.1:514").unwrap(),
            SyslogTarget::Udp("127.0.0.1:514".into())
        );
        assert!(SyslogTarget::parse("tcp://x:1").is_err());
        assert!(SyslogTarget::parse("udp://127.0.0.1").is_err());
    }
}
