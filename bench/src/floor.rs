//! The floor: opening and reading exactly the files a collection run reads, and nothing more.
//!
//! Paths are built the way `ProcReader` builds them (one reused `PathBuf`; the pid and file
//! name formatted into a small string and pushed), files are read into one reused buffer, and
//! nothing read is parsed. Which pids are kernel threads is worked out once, before timing, so
//! the floor skips the same files for them that the collector skips.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use dogwatch_agent::process::HostPaths;
use dogwatch_agent::process::procfs::{PF_KTHREAD, parse_cmdline, parse_stat};

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
    root: PathBuf,
    passwd: PathBuf,
    self_fd: PathBuf,
    path: PathBuf,
    buf: Vec<u8>,
    kernel_threads: HashSet<i32>,
}

impl Floor {
    /// A floor for `paths`, with the kernel threads running now looked up (the collector's
    /// rule: `PF_KTHREAD` in `stat`'s flags and an empty command line).
    pub fn new(paths: &HostPaths) -> io::Result<Floor> {
        let mut floor = Floor {
            root: paths.proc.clone(),
            passwd: paths.etc.join("passwd"),
            self_fd: paths.proc.join("self/fd"),
            path: PathBuf::with_capacity(paths.proc.as_os_str().len() + 32),
            buf: Vec::with_capacity(4096),
            kernel_threads: HashSet::new(),
        };
        for pid in floor.pids()? {
            let Some(stat) = floor.read(Some(pid), "stat").ok().and_then(parse_stat) else {
                continue;
            };
            let argv = floor.read(Some(pid), "cmdline").map(parse_cmdline).unwrap_or_default();
            if stat.flags & PF_KTHREAD != 0 && argv.is_empty() {
                floor.kernel_threads.insert(pid);
            }
        }
        Ok(floor)
    }

    /// The pids in `/proc`, listed as the collector lists them.
    pub fn pids(&self) -> io::Result<Vec<i32>> {
        pids(&self.root)
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
        let _ = self.read(None, "stat");
        let pids = self.pids()?;
        let _ = std::fs::metadata(&self.passwd).and_then(|m| m.modified());
        let mut left = reads;
        for pid in pids {
            let _ = self.read(Some(pid), "stat");
            if !self.kernel_threads.contains(&pid) {
                let _ = self.read(Some(pid), "schedstat");
                if left.io > 0 {
                    left.io -= 1;
                    let _ = self.read(Some(pid), "io");
                }
                if left.fd > 0 {
                    left.fd -= 1;
                    self.set_path(Some(pid), "fd");
                    let _ = std::fs::metadata(&self.path).map(|m| m.size());
                }
                if left.status > 0 {
                    left.status -= 1;
                    let _ = self.read(Some(pid), "status");
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
        let _ = self.read(None, "stat");
        let pids = self.pids()?;
        let _ = std::fs::metadata(&self.passwd).and_then(|m| m.modified());
        self.buf.clear();
        let _ = File::open(&self.passwd).and_then(|mut file| file.read_to_end(&mut self.buf));
        for pid in pids {
            let _ = self.read(Some(pid), "stat");
            let _ = self.read(Some(pid), "cmdline");
            if !self.kernel_threads.contains(&pid) {
                for link in ["exe", "cwd"] {
                    self.set_path(Some(pid), link);
                    let _ = std::fs::read_link(&self.path);
                }
                for file in ["status", "cgroup", "environ", "io", "schedstat"] {
                    let _ = self.read(Some(pid), file);
                }
            }
        }
        Ok(())
    }

    /// Points the reused path at `/proc/<pid>/<file>`, or `/proc/<file>` for `None`, exactly
    /// as `ProcReader` does.
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

    /// Reads `/proc/<pid>/<file>` into the reused buffer with plain `read` calls until end of
    /// file (open, read, read, close), as `ProcReader` does.
    fn read(&mut self, pid: Option<i32>, file: &str) -> io::Result<&[u8]> {
        self.set_path(pid, file);
        let mut handle = File::open(&self.path)?;
        if self.buf.len() < 4096 {
            self.buf.resize(4096, 0);
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
}

/// The pids in the `/proc` at `root`, listed as the collector lists them.
pub fn pids(root: &Path) -> io::Result<Vec<i32>> {
    let mut pids = Vec::with_capacity(512);
    for entry in std::fs::read_dir(root)? {
        if let Some(pid) = entry?.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) {
            pids.push(pid);
        }
    }
    Ok(pids)
}
