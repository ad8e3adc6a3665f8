//! Reading the host's `/proc`: where it is, and parsers for the files the process
//! collector reads.
//!
//! The parsers work on bytes so fixture trees and real files go through the same code. The
//! reader keeps one buffer and one path string and reuses them for every file, so a
//! steady-state run allocates nothing per file it reads.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::config::Environment;

/// Where the host's `/proc`, `/sys` and `/etc` are. In a container they are usually the
/// host's, mounted under `/host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPaths {
    /// `HOST_PROC`; default `/proc`, or `/host/proc` when that exists and `HOST_PROC` is unset.
    pub proc: PathBuf,
    /// `HOST_SYS`; default `/sys`, or `/host/sys` when that exists and `HOST_SYS` is unset.
    pub sys: PathBuf,
    /// `HOST_ETC` (for `passwd` and `os-release`); default `/etc`, or `/host/etc` when that
    /// exists and `HOST_ETC` is unset.
    pub etc: PathBuf,
}

impl HostPaths {
    /// The paths as Datadog's agent finds them: the `HOST_*` variable, else the `/host/...`
    /// mount when present, else the local directory.
    pub fn from_env(env: &Environment) -> HostPaths {
        let pick = |var: &str, local: &str| match env.get(var) {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => {
                let mounted = Path::new("/host").join(local.trim_start_matches('/'));
                if mounted.is_dir() {
                    mounted
                } else {
                    PathBuf::from(local)
                }
            }
        };
        HostPaths {
            proc: pick("HOST_PROC", "/proc"),
            sys: pick("HOST_SYS", "/sys"),
            etc: pick("HOST_ETC", "/etc"),
        }
    }

    /// Paths all under one root, as fixture trees lay them out: `<root>/proc`, `<root>/sys`,
    /// `<root>/etc`.
    pub fn under(root: &Path) -> HostPaths {
        HostPaths {
            proc: root.join("proc"),
            sys: root.join("sys"),
            etc: root.join("etc"),
        }
    }
}

/// The kernel-thread flag in `/proc/<pid>/stat` (`PF_KTHREAD`).
pub const PF_KTHREAD: u64 = 0x0020_0000;

/// The fields of `/proc/<pid>/stat` the collector uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatFields {
    /// The command name between the parentheses (may hold spaces and `)`).
    pub comm: String,
    /// The state letter.
    pub state: u8,
    /// Parent pid.
    pub ppid: i32,
    /// Process group.
    pub pgrp: i32,
    /// Kernel flags (`PF_*`).
    pub flags: u64,
    /// User-mode CPU time in clock ticks.
    pub utime: u64,
    /// Kernel-mode CPU time in clock ticks.
    pub stime: u64,
    /// Niceness.
    pub nice: i32,
    /// Threads.
    pub num_threads: i32,
    /// Start time in clock ticks after boot.
    pub starttime: u64,
    /// Virtual memory size in bytes.
    pub vsize: u64,
    /// Resident set in pages.
    pub rss_pages: u64,
}

/// Parses `/proc/<pid>/stat`. The command name may contain spaces and `)`, so the fields
/// are counted after the LAST `)`. `None` if the text is not a stat line.
pub fn parse_stat(text: &[u8]) -> Option<StatFields> {
    let open = text.iter().position(|&b| b == b'(')?;
    let close = text.iter().rposition(|&b| b == b')')?;
    if close < open {
        return None;
    }
    let comm = String::from_utf8_lossy(&text[open + 1..close]).into_owned();
    let rest = text.get(close + 1..)?;
    let mut fields = rest.split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty());
    // Fields 3.. of proc(5), numbered from 0 here.
    let mut stat = StatFields {
        comm,
        ..StatFields::default()
    };
    for (i, field) in (&mut fields).enumerate() {
        match i {
            0 => stat.state = *field.first()?,
            1 => stat.ppid = parse_int(field)? as i32,
            2 => stat.pgrp = parse_int(field)? as i32,
            6 => stat.flags = parse_uint(field)?,
            11 => stat.utime = parse_uint(field)?,
            12 => stat.stime = parse_uint(field)?,
            16 => stat.nice = parse_int(field)? as i32,
            17 => stat.num_threads = parse_int(field)? as i32,
            19 => stat.starttime = parse_uint(field)?,
            20 => stat.vsize = parse_uint(field)?,
            21 => {
                stat.rss_pages = parse_int(field)?.max(0) as u64;
                return Some(stat);
            }
            _ => {}
        }
    }
    None
}

/// The fields of `/proc/<pid>/status` the collector uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusFields {
    /// Real uid.
    pub uid: u32,
    /// Real gid.
    pub gid: u32,
    /// Resident memory in bytes (`VmRSS`; 0 for kernel threads and zombies).
    pub rss: u64,
    /// Virtual memory in bytes (`VmSize`).
    pub vms: u64,
    /// Swapped-out memory in bytes (`VmSwap`).
    pub swap: u64,
    /// Threads.
    pub threads: i32,
    /// `voluntary_ctxt_switches`.
    pub voluntary_ctxt_switches: i64,
    /// `nonvoluntary_ctxt_switches`.
    pub nonvoluntary_ctxt_switches: i64,
}

/// Parses `/proc/<pid>/status`, taking only the lines it needs; missing lines stay 0.
pub fn parse_status(text: &[u8]) -> StatusFields {
    let mut status = StatusFields::default();
    for (key, value) in key_value_lines(text) {
        let first = || first_number(value);
        match key {
            b"Uid" => status.uid = first() as u32,
            b"Gid" => status.gid = first() as u32,
            b"VmRSS" => status.rss = first() * 1024,
            b"VmSize" => status.vms = first() * 1024,
            b"VmSwap" => status.swap = first() * 1024,
            b"Threads" => status.threads = first() as i32,
            b"voluntary_ctxt_switches" => status.voluntary_ctxt_switches = first() as i64,
            b"nonvoluntary_ctxt_switches" => status.nonvoluntary_ctxt_switches = first() as i64,
            _ => {}
        }
    }
    status
}

/// Cumulative IO counters from `/proc/<pid>/io`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IoCounters {
    /// Read system calls.
    pub syscr: u64,
    /// Write system calls.
    pub syscw: u64,
    /// Bytes read from storage.
    pub read_bytes: u64,
    /// Bytes written to storage.
    pub write_bytes: u64,
}

/// Parses `/proc/<pid>/io`.
pub fn parse_io(text: &[u8]) -> IoCounters {
    let mut io = IoCounters::default();
    for (key, value) in key_value_lines(text) {
        let value = first_number(value);
        match key {
            b"syscr" => io.syscr = value,
            b"syscw" => io.syscw = value,
            b"read_bytes" => io.read_bytes = value,
            b"write_bytes" => io.write_bytes = value,
            _ => {}
        }
    }
    io
}

/// Splits `/proc/<pid>/cmdline` on NUL, dropping empty parts as Datadog does.
pub fn parse_cmdline(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|&b| b == 0)
        .filter(|part| !part.is_empty())
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect()
}

/// `DD_ENV`, `DD_SERVICE` and `DD_VERSION` from `/proc/<pid>/environ`, as `env:`,
/// `service:` and `version:` tags (unified service tagging).
pub fn parse_service_tags(environ: &[u8]) -> Vec<String> {
    let mut tags = Vec::new();
    for entry in environ.split(|&b| b == 0) {
        for (var, tag) in [
            (&b"DD_ENV="[..], "env"),
            (&b"DD_SERVICE="[..], "service"),
            (&b"DD_VERSION="[..], "version"),
        ] {
            if let Some(value) = entry.strip_prefix(var).filter(|v| !v.is_empty()) {
                tags.push(format!("{tag}:{}", String::from_utf8_lossy(value)));
            }
        }
    }
    tags.sort();
    tags
}

/// Host-wide numbers from `/proc/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostStat {
    /// The `cpu` line's total: user + nice + system + idle + iowait + irq + softirq + steal,
    /// in ticks, summed over every CPU.
    pub total_ticks: u64,
    /// Logical CPUs (`cpuN` lines).
    pub cpu_count: u32,
    /// Boot time in seconds since the Unix epoch (`btime`).
    pub boot_time: i64,
}

/// Parses `/proc/stat`.
pub fn parse_host_stat(text: &[u8]) -> HostStat {
    let mut host = HostStat::default();
    for line in text.split(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"cpu ") {
            host.total_ticks = rest
                .split(|b| *b == b' ')
                .filter(|f| !f.is_empty())
                .take(8)
                .filter_map(parse_uint)
                .sum();
        } else if line.starts_with(b"cpu") && line.get(3).is_some_and(u8::is_ascii_digit) {
            host.cpu_count += 1;
        } else if let Some(rest) = line.strip_prefix(b"btime ") {
            host.boot_time = parse_int(rest.trim_ascii()).unwrap_or(0);
        }
    }
    host
}

/// The `key: value` lines of a `/proc` file such as `status` or `io`, split at the first `:`;
/// lines without one are skipped.
fn key_value_lines(text: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    text.split(|&b| b == b'\n').filter_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        Some((&line[..colon], &line[colon + 1..]))
    })
}

/// The first unsigned decimal number in `text` (skipping spaces and tabs), or 0.
fn first_number(text: &[u8]) -> u64 {
    let digits = text.trim_ascii_start();
    let end = digits.iter().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
    parse_uint(&digits[..end]).unwrap_or(0)
}

fn parse_uint(field: &[u8]) -> Option<u64> {
    if field.is_empty() || field.len() > 20 {
        return None;
    }
    field.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit()
            .then(|| acc.checked_mul(10)?.checked_add(u64::from(b - b'0')))
            .flatten()
    })
}

fn parse_int(field: &[u8]) -> Option<i64> {
    match field.strip_prefix(b"-") {
        Some(digits) => parse_uint(digits).and_then(|v| i64::try_from(v).ok()).map(|v| -v),
        None => parse_uint(field).and_then(|v| i64::try_from(v).ok()),
    }
}

/// The first read size; `/proc/<pid>/status`, the largest file read every run, is ~1.5 KiB.
const READ_CHUNK: usize = 4096;

/// The number of times `pid` has been scheduled onto a CPU, the third field of
/// `/proc/<pid>/schedstat`. Context switches and CPU time cannot move while it stays the same.
pub fn parse_schedstat_slices(text: &[u8]) -> Option<u64> {
    let field = text.split(u8::is_ascii_whitespace).filter(|f| !f.is_empty()).nth(2)?;
    parse_uint(field)
}

/// Reads files under one `/proc` with a reused buffer and path.
#[derive(Debug)]
pub struct ProcReader {
    root: PathBuf,
    path: PathBuf,
    buf: Vec<u8>,
    fd_count_in_size: bool,
}

impl ProcReader {
    /// A reader for the `/proc` at `root`.
    pub fn new(root: &Path) -> ProcReader {
        use std::os::unix::fs::MetadataExt;
        // Linux 6.2+ procfs gives a process's fd count as the size of its `fd` directory;
        // a fixture tree (or an older kernel) does not, and is listed instead.
        let fd_count_in_size = std::fs::metadata(root.join("self/fd")).is_ok_and(|m| m.size() > 0);
        ProcReader {
            root: root.to_path_buf(),
            path: PathBuf::with_capacity(root.as_os_str().len() + 32),
            buf: vec![0; READ_CHUNK],
            fd_count_in_size,
        }
    }

    /// The `/proc` this reader reads.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The pids in `/proc`, in no particular order.
    pub fn pids(&self) -> io::Result<Vec<i32>> {
        let mut pids = Vec::with_capacity(512);
        for entry in std::fs::read_dir(&self.root)? {
            let entry = entry?;
            if let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) {
                pids.push(pid);
            }
        }
        Ok(pids)
    }

    fn set_path(&mut self, pid: Option<i32>, file: &str) {
        use std::fmt::Write;
        self.path.clear();
        self.path.push(&self.root);
        if let Some(pid) = pid {
            let mut name = String::with_capacity(24);
            let _ = write!(name, "{pid}/{file}");
            self.path.push(name);
        } else {
            self.path.push(file);
        }
    }

    /// Reads `/proc/<pid>/<file>` (or `/proc/<file>` for `None`) into the shared buffer.
    ///
    /// Reads until end of file with plain `read` calls into the kept buffer: unlike
    /// `read_to_end` this asks for no file size first (procfs sizes are 0 anyway), so a
    /// file costs open, read, read, close.
    pub fn read(&mut self, pid: Option<i32>, file: &str) -> io::Result<&[u8]> {
        self.set_path(pid, file);
        let mut handle = File::open(&self.path)?;
        if self.buf.len() < READ_CHUNK {
            self.buf.resize(READ_CHUNK, 0);
        }
        let mut len = 0;
        loop {
            if len == self.buf.len() {
                self.buf.resize(len * 2, 0);
            }
            match handle.read(&mut self.buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(&self.buf[..len])
    }

    /// The target of the symbolic link `/proc/<pid>/<file>` (`exe`, `cwd`).
    pub fn read_link(&mut self, pid: i32, file: &str) -> io::Result<String> {
        self.set_path(Some(pid), file);
        let target = std::fs::read_link(&self.path)?;
        Ok(target.to_string_lossy().into_owned())
    }

    /// Open file descriptors of `pid`. Linux 6.2 and later give the count as the size of
    /// `/proc/<pid>/fd`; older kernels give 0 there, and the directory is listed instead.
    pub fn count_fds(&mut self, pid: i32) -> io::Result<i32> {
        use std::os::unix::fs::MetadataExt;
        self.set_path(Some(pid), "fd");
        if self.fd_count_in_size {
            let size = std::fs::metadata(&self.path)?.size();
            if size > 0 {
                return Ok(size.min(i32::MAX as u64) as i32);
            }
        }
        let mut count = 0i32;
        for entry in std::fs::read_dir(&self.path)? {
            entry?;
            count = count.saturating_add(1);
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_last_parenthesis() {
        let line = b"4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 -5 3 0 123456 1048576 256 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        let stat = parse_stat(line).unwrap();
        assert_eq!(stat.comm, "my (odd) prog");
        assert_eq!(stat.state, b'S');
        assert_eq!((stat.ppid, stat.pgrp), (1, 4242));
        assert_eq!((stat.utime, stat.stime), (250, 75));
        assert_eq!((stat.nice, stat.num_threads), (-5, 3));
        assert_eq!(stat.starttime, 123456);
        assert_eq!((stat.vsize, stat.rss_pages), (1048576, 256));
    }

    #[test]
    fn truncated_or_garbled_stat_is_rejected() {
        assert_eq!(parse_stat(b""), None);
        assert_eq!(parse_stat(b"12 (x) S 1 2"), None);
        assert_eq!(
            parse_stat(b"12 )x( S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22"),
            None
        );
        assert_eq!(
            parse_stat(b"12 (x) S one 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21"),
            None
        );
    }

    #[test]
    fn status_takes_the_first_uid_and_converts_kilobytes() {
        let text = b"Name:\tbash\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\t100\t100\t100\nVmSize:\t  8000 kB\nVmRSS:\t  4000 kB\nVmSwap:\t 12 kB\nThreads:\t2\nvoluntary_ctxt_switches:\t150\nnonvoluntary_ctxt_switches:\t7\n";
        let status = parse_status(text);
        assert_eq!((status.uid, status.gid), (1000, 100));
        assert_eq!((status.vms, status.rss, status.swap), (8_192_000, 4_096_000, 12_288));
        assert_eq!(status.threads, 2);
        assert_eq!(
            (status.voluntary_ctxt_switches, status.nonvoluntary_ctxt_switches),
            (150, 7)
        );
    }

    #[test]
    fn schedstat_gives_the_timeslice_count() {
        assert_eq!(parse_schedstat_slices(b"136615 89308 2\n"), Some(2));
        assert_eq!(parse_schedstat_slices(b"1 2\n"), None);
    }

    #[test]
    fn the_reader_grows_its_buffer_for_large_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("7")).unwrap();
        let big = vec![b'x'; READ_CHUNK * 3 + 17];
        std::fs::write(dir.path().join("7/environ"), &big).unwrap();
        let mut reader = ProcReader::new(dir.path());
        assert_eq!(reader.read(Some(7), "environ").unwrap(), &big[..]);
        assert!(reader.read(Some(8), "environ").is_err());
    }

    #[test]
    fn cmdline_drops_empty_parts() {
        assert_eq!(
            parse_cmdline(b"python3\0-m\0\0http.server\0"),
            vec!["python3", "-m", "http.server"]
        );
        assert!(parse_cmdline(b"").is_empty());
    }

    #[test]
    fn service_tags_come_from_the_unified_service_variables() {
        let environ = b"PATH=/bin\0DD_SERVICE=billing\0DD_ENV=prod\0DD_VERSION=\0DD_SERVICE_X=no\0";
        assert_eq!(parse_service_tags(environ), vec!["env:prod", "service:billing"]);
    }

    #[test]
    fn host_stat_sums_eight_cpu_fields_and_counts_cpus() {
        let text = b"cpu  10 1 5 100 2 0 1 0 7 0\ncpu0 5 0 2 50 1 0 0 0 0 0\ncpu1 5 1 3 50 1 0 1 0 0 0\nintr 1\nbtime 1700000000\n";
        let host = parse_host_stat(text);
        assert_eq!(host.total_ticks, 119);
        assert_eq!(host.cpu_count, 2);
        assert_eq!(host.boot_time, 1_700_000_000);
    }
}
