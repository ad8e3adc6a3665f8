//! The floor: opening and reading exactly the files a collection run reads, and nothing more.
//!
//! Files are read with the collector's own `ProcReader` (one reused path and buffer; open,
//! read, read, close per file), so the floor differs from a collection run only in what it
//! leaves out: nothing read is parsed and no record is built. Which pids are kernel threads is worked out once, before timing, so
//! the floor skips the same files for them that the collector skips.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use dogwatch_agent::process::HostPaths;
use dogwatch_agent::process::procfs::{PF_KTHREAD, ProcReader, parse_cmdline, parse_stat};

/// How many of the files read only for scheduled processes a steady-state run read.
#[derive(Debug, Clone, Copy, Default)]
pub struct SteadyReads {
    /// `status` files.
    pub status: usize,
    /// `io` files.
    pub io: usize,
    /// fd counts.
    pub fd: usize,
}

/// Reads the collector's files under one `/proc`, with a reused path and buffer.
pub struct Floor {
    reader: ProcReader,
    passwd: PathBuf,
    self_fd: PathBuf,
    buf: Vec<u8>,
    kernel_threads: HashSet<i32>,
}

impl Floor {
    /// A floor for `paths`, with the kernel threads running now looked up (the collector's
    /// rule: `PF_KTHREAD` in `stat`'s flags and an empty command line).
    pub fn new(paths: &HostPaths) -> io::Result<Floor> {
        let mut floor = Floor {
            reader: ProcReader::new(&paths.proc),
            passwd: paths.etc.join("passwd"),
            self_fd: paths.proc.join("self/fd"),
            buf: Vec::with_capacity(4096),
            kernel_threads: HashSet::new(),
        };
        for pid in floor.pids()? {
            let Some(stat) = floor.reader.read(Some(pid), "stat").ok().and_then(parse_stat) else {
                continue;
            };
            let argv = floor
                .reader
                .read(Some(pid), "cmdline")
                .map(parse_cmdline)
                .unwrap_or_default();
            if stat.flags & PF_KTHREAD != 0 && argv.is_empty() {
                floor.kernel_threads.insert(pid);
            }
        }
        Ok(floor)
    }

    /// The pids in `/proc`, listed as the collector lists them.
    pub fn pids(&self) -> io::Result<Vec<i32>> {
        self.reader.pids()
    }

    /// Kernel threads found by [`Floor::new`].
    pub fn kernel_threads(&self) -> usize {
        self.kernel_threads.len()
    }

    /// A steady-state run's files: `/proc/stat`, the `/proc` listing, the passwd file's mtime,
    /// and per pid `stat`; for all but kernel threads also `schedstat`, and `io`, the fd count
    /// (the size of `fd`) and `status` for as many processes as the collector's own run just
    /// read each of them for (it skips them for processes that were not scheduled).
    pub fn steady(&mut self, reads: SteadyReads) -> io::Result<()> {
        let _ = self.reader.read(None, "stat");
        let pids = self.pids()?;
        let _ = std::fs::metadata(&self.passwd).and_then(|m| m.modified());
        let mut left = reads;
        for pid in pids {
            let _ = self.reader.read(Some(pid), "stat");
            if !self.kernel_threads.contains(&pid) {
                let _ = self.reader.read(Some(pid), "schedstat");
                if left.io > 0 {
                    left.io -= 1;
                    let _ = self.reader.read(Some(pid), "io");
                }
                if left.fd > 0 {
                    left.fd -= 1;
                    let _ = self.reader.count_fds(pid);
                }
                if left.status > 0 {
                    left.status -= 1;
                    let _ = self.reader.read(Some(pid), "status");
                }
            }
        }
        Ok(())
    }

    /// A first run's files: the `stat` of `/proc/self/fd` a new collector makes, `/proc/stat`,
    /// the `/proc` listing, the passwd file (mtime, then the whole file), and per pid `stat`
    /// and `cmdline`, plus the `exe` and `cwd` links, `status`, `cgroup`, `environ`, `io` and
    /// `schedstat` for all but kernel threads.
    pub fn first_run(&mut self) -> io::Result<()> {
        let _ = std::fs::metadata(&self.self_fd).map(|m| m.size());
        let _ = self.reader.read(None, "stat");
        let pids = self.pids()?;
        let _ = std::fs::metadata(&self.passwd).and_then(|m| m.modified());
        self.buf.clear();
        let _ = File::open(&self.passwd).and_then(|mut file| file.read_to_end(&mut self.buf));
        for pid in pids {
            let _ = self.reader.read(Some(pid), "stat");
            let _ = self.reader.read(Some(pid), "cmdline");
            if !self.kernel_threads.contains(&pid) {
                for link in ["exe", "cwd"] {
                    let _ = self.reader.read_link(pid, link);
                }
                for file in ["status", "cgroup", "environ", "io", "schedstat"] {
                    let _ = self.reader.read(Some(pid), file);
                }
            }
        }
        Ok(())
    }
}

/// The pids in the `/proc` at `root`, listed as the collector lists them.
pub fn pids(root: &Path) -> io::Result<Vec<i32>> {
    ProcReader::new(root).pids()
}
