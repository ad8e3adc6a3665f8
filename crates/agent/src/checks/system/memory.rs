//! The `memory` check (Datadog's .../memory/memory_nix.go over gopsutil), from `/proc/meminfo`
//! and `/proc/vmstat`. Sizes are MiB. `system.mem.used` is total − free (cache and buffers
//! count as used, as Datadog's does); `pct_usable` and `swap.pct_free` are fractions 0–1;
//! `swap.swap_in`/`swap_out` are MiB/s rates of the pages swapped (4 KiB each, as gopsutil
//! counts them).

use std::path::PathBuf;

use super::{key_values, parse_error, read_text};
use crate::checks::sender::Sender;
use crate::checks::{Check, CheckError, CheckSetup};

pub(crate) const NAME: &str = "memory";

const MIB: f64 = 1024.0 * 1024.0;
/// gopsutil counts `pswpin`/`pswpout` pages as 4 KiB.
const PAGE: f64 = 4096.0;

pub(crate) struct Memory {
    meminfo: PathBuf,
    vmstat: PathBuf,
}

pub(crate) fn build(setup: &CheckSetup) -> Result<Box<dyn Check>, String> {
    Ok(Box::new(Memory {
        meminfo: setup.paths.proc.join("meminfo"),
        vmstat: setup.paths.proc.join("vmstat"),
    }))
}

impl Check for Memory {
    fn run(&mut self, sender: &mut Sender) -> Result<(), CheckError> {
        let text = read_text(&self.meminfo)?;
        let (m, bad) = key_values(&text);
        if bad > 0 {
            sender.warning(format!("{}: skipped {bad} malformed lines", self.meminfo.display()));
        }
        // /proc/meminfo is in kB (KiB).
        let kib = |key: &str| m.get(key).map(|v| *v as f64 * 1024.0);
        let total = kib("MemTotal").ok_or_else(|| parse_error(&self.meminfo, "no MemTotal line"))?;
        let free = kib("MemFree").unwrap_or(0.0);
        let buffers = kib("Buffers").unwrap_or(0.0);
        let cached = kib("Cached").unwrap_or(0.0);
        let available = kib("MemAvailable").unwrap_or(free + buffers + cached);
        sender.gauge("system.mem.total", total / MIB, &[]);
        sender.gauge("system.mem.free", free / MIB, &[]);
        sender.gauge("system.mem.used", (total - free) / MIB, &[]);
        sender.gauge("system.mem.usable", available / MIB, &[]);
        if total > 0.0 {
            sender.gauge("system.mem.pct_usable", available / total, &[]);
        }
        for (metric, key) in [
            ("system.mem.cached", "Cached"),
            ("system.mem.buffered", "Buffers"),
            ("system.mem.shared", "Shmem"),
            ("system.mem.slab", "Slab"),
            ("system.mem.slab_reclaimable", "SReclaimable"),
            ("system.mem.page_tables", "PageTables"),
            ("system.mem.commit_limit", "CommitLimit"),
            ("system.mem.committed_as", "Committed_AS"),
            ("system.swap.cached", "SwapCached"),
        ] {
            sender.gauge(metric, kib(key).unwrap_or(0.0) / MIB, &[]);
        }
        let swap_total = kib("SwapTotal").unwrap_or(0.0);
        let swap_free = kib("SwapFree").unwrap_or(0.0);
        let swap_used = swap_total - swap_free;
        let used_pct = if swap_total > 0.0 {
            swap_used / swap_total * 100.0
        } else {
            0.0
        };
        sender.gauge("system.swap.total", swap_total / MIB, &[]);
        sender.gauge("system.swap.free", swap_free / MIB, &[]);
        sender.gauge("system.swap.used", swap_used / MIB, &[]);
        sender.gauge("system.swap.pct_free", (100.0 - used_pct) / 100.0, &[]);
        match read_text(&self.vmstat) {
            Ok(vm) => {
                let (v, _) = key_values(&vm);
                for (metric, key) in [("system.swap.swap_in", "pswpin"), ("system.swap.swap_out", "pswpout")] {
                    if let Some(pages) = v.get(key) {
                        sender.rate(metric, *pages as f64 * PAGE / MIB, &[]);
                    }
                }
            }
            Err(e) => sender.warning(e.to_string()),
        }
        Ok(())
    }
}
