//! The `disk` check (Datadog's integrations-core `disk`, on by default), from the mount table
//! (`<HOST_PROC>/self/mounts`), `statvfs(3)` and `/proc/diskstats`.
//!
//! Per partition, gauges: `system.disk.{total,used,free}` in KiB (psutil's: total = blocks ×
//! frsize, free = blocks available to users, used = blocks − free blocks), `system.disk.in_use`
//! (used / (used + free), a fraction) and `system.disk.utilized` (the same in %); inodes, when
//! the file system has any: `system.fs.inodes.{total,used,free,in_use,utilized}`. Tags
//! `device:<device>` (the mount point with `use_mount: true`), `device_name:<basename>`, and
//! with `tag_by_filesystem: true` `filesystem:<type>` and the bare type.
//!
//! Datadog's default exclusions: file systems `iso9660` and `tracefs` (unless
//! `file_system_global_exclude` replaces them), mount points `binfmt_misc`, devices `none` or
//! empty (unless `all_partitions: true`), and file systems of size 0 (proc, sysfs, cgroup…).
//! tmpfs is reported. A mount that vanished or cannot be statted is skipped with a warning.
//!
//! Per block device, from /proc/diskstats: `system.disk.read_time`/`write_time` (monotonic
//! counts of ms) and `system.disk.read_time_pct`/`write_time_pct` (rates of ms × 100 / 1000, a
//! legacy metric that is not a percentage).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::io::parse_diskstats;
use super::{anchored_regexes, read_text};
use crate::checks::sender::Sender;
use crate::checks::{Check, CheckError, CheckSetup};
use dogwatch_model::CheckStatus;

pub(crate) const NAME: &str = "disk";

/// File systems Datadog excludes by default.
const DEFAULT_FS_EXCLUDE: &[&str] = &["iso9660$", "tracefs$"];
/// Mount points Datadog excludes by default.
const DEFAULT_MOUNT_EXCLUDE: &[&str] = &["(/host)?/proc/sys/fs/binfmt_misc$"];

/// A file system's sizes, as statvfs(3) gives them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FsUsage {
    /// Fragment size (f_frsize), the unit of the block counts.
    pub fragment_size: u64,
    /// f_blocks.
    pub blocks: u64,
    /// f_bfree: free blocks.
    pub blocks_free: u64,
    /// f_bavail: free blocks available to unprivileged users.
    pub blocks_available: u64,
    /// f_files: inodes.
    pub files: u64,
    /// f_ffree: free inodes.
    pub files_free: u64,
    /// Mounted read-only.
    pub read_only: bool,
}

/// Where the check gets file system sizes: `statvfs(3)`, or a table in tests.
pub trait FsStats: Send {
    /// The sizes of the file system mounted at `mount_point`.
    fn usage(&self, mount_point: &Path) -> std::io::Result<FsUsage>;
}

/// `statvfs(3)` on the real file system.
pub struct Statvfs;

impl FsStats for Statvfs {
    fn usage(&self, mount_point: &Path) -> std::io::Result<FsUsage> {
        let s = rustix::fs::statvfs(mount_point).map_err(std::io::Error::from)?;
        Ok(FsUsage {
            fragment_size: if s.f_frsize > 0 { s.f_frsize } else { s.f_bsize },
            blocks: s.f_blocks,
            blocks_free: s.f_bfree,
            blocks_available: s.f_bavail,
            files: s.f_files,
            files_free: s.f_ffree,
            read_only: s.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY),
        })
    }
}

/// The check's options (a subset of integrations-core disk's conf.yaml, with its legacy names).
#[derive(Debug, Default, Deserialize)]
struct Options {
    #[serde(default)]
    use_mount: bool,
    #[serde(default)]
    all_partitions: bool,
    #[serde(default)]
    tag_by_filesystem: bool,
    #[serde(default)]
    service_check_rw: bool,
    /// MiB; smaller file systems are left out.
    #[serde(default)]
    min_disk_size: f64,
    #[serde(default)]
    file_system_include: Vec<String>,
    #[serde(default)]
    file_system_exclude: Vec<String>,
    #[serde(default)]
    excluded_filesystems: Vec<String>,
    #[serde(default)]
    device_include: Vec<String>,
    #[serde(default)]
    device_exclude: Vec<String>,
    #[serde(default)]
    excluded_disks: Vec<String>,
    excluded_disk_re: Option<String>,
    #[serde(default)]
    mount_point_include: Vec<String>,
    #[serde(default)]
    mount_point_exclude: Vec<String>,
    excluded_mountpoint_re: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct GlobalOptions {
    file_system_global_exclude: Option<Vec<String>>,
    device_global_exclude: Option<Vec<String>>,
    mount_point_global_exclude: Option<Vec<String>>,
}

struct Filters {
    fs_include: Option<regex::Regex>,
    fs_exclude: Option<regex::Regex>,
    device_include: Option<regex::Regex>,
    device_exclude: Option<regex::Regex>,
    mount_include: Option<regex::Regex>,
    mount_exclude: Option<regex::Regex>,
}

pub(crate) struct Disk {
    mounts: PathBuf,
    diskstats: PathBuf,
    fs: Box<dyn FsStats>,
    options: Options,
    filters: Filters,
}

pub(crate) fn build(setup: &CheckSetup) -> Result<Box<dyn Check>, String> {
    Ok(Box::new(with_fs(setup, Box::new(Statvfs))?))
}

/// The check over `fs` (tests give a table).
pub(crate) fn with_fs(setup: &CheckSetup, fs: Box<dyn FsStats>) -> Result<Disk, String> {
    let options: Options = setup.instance_options()?;
    let global: GlobalOptions = setup.init_options()?;
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut fs_exclude = global
        .file_system_global_exclude
        .unwrap_or_else(|| owned(DEFAULT_FS_EXCLUDE));
    fs_exclude.extend(options.file_system_exclude.iter().cloned());
    fs_exclude.extend(
        options
            .excluded_filesystems
            .iter()
            .map(|f| format!("{}$", regex::escape(f))),
    );
    let mut device_exclude = global.device_global_exclude.unwrap_or_default();
    device_exclude.extend(options.device_exclude.iter().cloned());
    device_exclude.extend(options.excluded_disks.iter().map(|d| format!("{}$", regex::escape(d))));
    device_exclude.extend(options.excluded_disk_re.iter().cloned());
    let mut mount_exclude = global
        .mount_point_global_exclude
        .unwrap_or_else(|| owned(DEFAULT_MOUNT_EXCLUDE));
    mount_exclude.extend(options.mount_point_exclude.iter().cloned());
    mount_exclude.extend(options.excluded_mountpoint_re.iter().cloned());
    let filters = Filters {
        fs_include: anchored_regexes("file_system_include", &options.file_system_include, true)?,
        fs_exclude: anchored_regexes("file_system_exclude", &fs_exclude, true)?,
        device_include: anchored_regexes("device_include", &options.device_include, false)?,
        device_exclude: anchored_regexes("device_exclude", &device_exclude, false)?,
        mount_include: anchored_regexes("mount_point_include", &options.mount_point_include, false)?,
        mount_exclude: anchored_regexes("mount_point_exclude", &mount_exclude, false)?,
    };
    Ok(Disk {
        mounts: setup.paths.proc.join("self/mounts"),
        diskstats: setup.paths.proc.join("diskstats"),
        fs,
        options,
        filters,
    })
}

/// One line of the mount table.
#[derive(Debug, Clone, PartialEq)]
struct Mount {
    device: String,
    mount_point: String,
    fs_type: String,
}

/// Undoes the mount table's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b)) {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_mounts(text: &str) -> (Vec<Mount>, usize) {
    let mut out = Vec::new();
    let mut bad = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 {
            bad += 1;
            continue;
        }
        out.push(Mount {
            device: unescape(f[0]),
            mount_point: unescape(f[1]),
            fs_type: f[2].to_string(),
        });
    }
    (out, bad)
}

fn matches(re: &Option<regex::Regex>, value: &str) -> bool {
    re.as_ref().is_some_and(|re| re.is_match(value))
}

impl Disk {
    fn excluded(&self, m: &Mount) -> bool {
        let f = &self.filters;
        if !self.options.all_partitions && (m.device.is_empty() || m.device == "none") {
            return true;
        }
        matches(&f.fs_exclude, &m.fs_type)
            || matches(&f.device_exclude, &m.device)
            || matches(&f.mount_exclude, &m.mount_point)
            || (f.fs_include.is_some() && !matches(&f.fs_include, &m.fs_type))
            || (f.device_include.is_some() && !matches(&f.device_include, &m.device))
            || (f.mount_include.is_some() && !matches(&f.mount_include, &m.mount_point))
    }
}

impl Check for Disk {
    fn run(&mut self, sender: &mut Sender) -> Result<(), CheckError> {
        let text = read_text(&self.mounts)?;
        let (mounts, bad) = parse_mounts(&text);
        if bad > 0 {
            sender.warning(format!("{}: skipped {bad} malformed lines", self.mounts.display()));
        }
        for m in mounts {
            if self.excluded(&m) {
                continue;
            }
            let usage = match self.fs.usage(Path::new(&m.mount_point)) {
                Ok(u) => u,
                Err(e) => {
                    sender.warning(format!("Unable to get disk metrics for {}: {e}", m.mount_point));
                    continue;
                }
            };
            if usage.blocks == 0 {
                continue;
            }
            let unit = usage.fragment_size as f64;
            let total = usage.blocks as f64 * unit;
            let free = usage.blocks_available as f64 * unit;
            let used = usage.blocks.saturating_sub(usage.blocks_free) as f64 * unit;
            if total / (1024.0 * 1024.0) < self.options.min_disk_size {
                continue;
            }
            let device = if self.options.use_mount {
                &m.mount_point
            } else {
                &m.device
            };
            let device_name = m.device.rsplit('/').next().unwrap_or(&m.device);
            let mut tags = vec![format!("device:{device}"), format!("device_name:{device_name}")];
            if self.options.tag_by_filesystem {
                tags.push(format!("filesystem:{}", m.fs_type));
                tags.push(m.fs_type.clone());
            }
            sender.gauge("system.disk.total", total / 1024.0, &tags);
            sender.gauge("system.disk.used", used / 1024.0, &tags);
            sender.gauge("system.disk.free", free / 1024.0, &tags);
            if used + free > 0.0 {
                // psutil rounds the percent to one decimal.
                let pct = (used / (used + free) * 1000.0).round() / 10.0;
                sender.gauge("system.disk.in_use", pct / 100.0, &tags);
                sender.gauge("system.disk.utilized", pct, &tags);
            }
            if usage.files > 0 {
                let inodes = usage.files as f64;
                let inodes_used = usage.files.saturating_sub(usage.files_free) as f64;
                sender.gauge("system.fs.inodes.total", inodes, &tags);
                sender.gauge("system.fs.inodes.used", inodes_used, &tags);
                sender.gauge("system.fs.inodes.free", usage.files_free as f64, &tags);
                sender.gauge("system.fs.inodes.in_use", inodes_used / inodes, &tags);
                sender.gauge("system.fs.inodes.utilized", inodes_used / inodes * 100.0, &tags);
            }
            if self.options.service_check_rw {
                let (status, message) = if usage.read_only {
                    (CheckStatus::Critical, "mounted read-only")
                } else {
                    (CheckStatus::Ok, "")
                };
                sender.service_check("disk.read_write", status, &tags, message);
            }
        }
        match read_text(&self.diskstats) {
            Ok(text) => {
                let (devices, _) = parse_diskstats(&text);
                for (device, s) in devices {
                    if matches(&self.filters.device_exclude, &device) {
                        continue;
                    }
                    let tags = [format!("device:{device}"), format!("device_name:{device}")];
                    sender.monotonic_count("system.disk.read_time", s.read_ms as f64, &tags);
                    sender.monotonic_count("system.disk.write_time", s.write_ms as f64, &tags);
                    sender.rate("system.disk.read_time_pct", s.read_ms as f64 * 100.0 / 1000.0, &tags);
                    sender.rate("system.disk.write_time_pct", s.write_ms as f64 * 100.0 / 1000.0, &tags);
                }
            }
            Err(e) => sender.warning(e.to_string()),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_fields_unescape_octal_sequences() {
        assert_eq!(unescape(r"/mnt/my\040disk"), "/mnt/my disk");
        assert_eq!(unescape(r"a\\b"), r"a\\b");
        assert_eq!(unescape(r"tail\04"), r"tail\04");
        let (m, bad) = parse_mounts("/dev/vda / ext4 rw 0 0\nbroken\n");
        assert_eq!((m.len(), bad), (1, 1));
    }
}
