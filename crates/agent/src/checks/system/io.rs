//! The `io` check (Datadog's .../disk/io/iostats_nix.go), from `/proc/diskstats` (every line,
//! partitions and loop devices included) and `/proc/vmstat`.
//!
//! Rates of the raw counters: `system.io.{r_s,w_s,rrqm_s,wrqm_s}`, and untagged
//! `system.io.block_{in,out}` (pgpgin/pgpgout in bytes, 4 KiB pages as gopsutil counts them).
//! Gauges from the change since the last run (none on the first run, none for a device new
//! since then), rounded to 2 decimals, with counters that wrap at 32 or 64 bits handled:
//! `rkb_s`, `wkb_s`, `avg_rq_sz` (sectors), `await`, `r_await`, `w_await` (ms), `avg_q_sz`,
//! `svctm`, `util` (%). Tags `device:` and `device_name:`. `device_exclude_re` (or the legacy
//! `device_blacklist_re`) in init_config or the instance leaves devices out.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::{key_values, read_text};
use crate::checks::sender::Sender;
use crate::checks::{Check, CheckError, CheckSetup};

pub(crate) const NAME: &str = "io";

const SECTOR: u64 = 512;
const KIB: f64 = 1024.0;

/// One line of /proc/diskstats (Documentation/admin-guide/iostats.rst), counters as read.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct DiskStats {
    pub reads: u64,
    pub reads_merged: u64,
    pub read_bytes: u64,
    pub read_ms: u64,
    pub writes: u64,
    pub writes_merged: u64,
    pub write_bytes: u64,
    pub write_ms: u64,
    pub io_ms: u64,
    pub weighted_ms: u64,
}

/// Parses /proc/diskstats into (device, stats), in file order; malformed lines are counted.
pub(crate) fn parse_diskstats(text: &str) -> (Vec<(String, DiskStats)>, usize) {
    let mut out = Vec::new();
    let mut bad = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 14 {
            bad += 1;
            continue;
        }
        let n: Option<Vec<u64>> = f[3..14].iter().map(|v| v.parse().ok()).collect();
        let Some(n) = n else {
            bad += 1;
            continue;
        };
        out.push((
            f[2].to_string(),
            DiskStats {
                reads: n[0],
                reads_merged: n[1],
                read_bytes: n[2].wrapping_mul(SECTOR),
                read_ms: n[3],
                writes: n[4],
                writes_merged: n[5],
                write_bytes: n[6].wrapping_mul(SECTOR),
                write_ms: n[7],
                io_ms: n[9],
                weighted_ms: n[10],
            },
        ));
    }
    (out, bad)
}

/// The increase from `last` to `current`, allowing for one wrap at 32 bits (when `last`
/// fitted in 32) or 64 bits, as Datadog's incrementWithOverflow does.
pub(crate) fn increment(current: u64, last: u64) -> f64 {
    if current >= last {
        return (current - last) as f64;
    }
    let max = if last <= u64::from(u32::MAX) {
        u64::from(u32::MAX)
    } else {
        u64::MAX
    };
    (current.wrapping_add(max - last).wrapping_add(1)) as f64
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[derive(Debug, Default, Deserialize)]
struct Options {
    device_exclude_re: Option<String>,
    device_blacklist_re: Option<String>,
}

pub(crate) struct Io {
    diskstats: PathBuf,
    vmstat: PathBuf,
    exclude: Option<regex::Regex>,
    last: Option<(f64, HashMap<String, DiskStats>)>,
}

pub(crate) fn build(setup: &CheckSetup) -> Result<Box<dyn Check>, String> {
    Ok(Box::new(new(setup)?))
}

/// The check, as its concrete type (fixture tests choose the time of each run).
pub(crate) fn new(setup: &CheckSetup) -> Result<Io, String> {
    let init: Options = setup.init_options()?;
    let inst: Options = setup.instance_options()?;
    let pattern = inst
        .device_exclude_re
        .or(inst.device_blacklist_re)
        .or(init.device_exclude_re)
        .or(init.device_blacklist_re);
    let exclude = pattern
        .map(|p| {
            regex::Regex::new(&p).map_err(|e| format!("`device_exclude_re` is not a valid regular expression: {e}"))
        })
        .transpose()?;
    Ok(Io {
        diskstats: setup.paths.proc.join("diskstats"),
        vmstat: setup.paths.proc.join("vmstat"),
        exclude,
        last: None,
    })
}

impl Io {
    /// One run at wall time `now_ms` (split out so fixture tests choose the time).
    pub(crate) fn run_at(&mut self, sender: &mut Sender, now_ms: f64) -> Result<(), CheckError> {
        let text = read_text(&self.diskstats)?;
        let (devices, bad) = parse_diskstats(&text);
        if bad > 0 {
            sender.warning(format!("{}: skipped {bad} malformed lines", self.diskstats.display()));
        }
        let mut current = HashMap::with_capacity(devices.len());
        for (device, s) in devices {
            if self.exclude.as_ref().is_some_and(|re| re.is_match(&device)) {
                continue;
            }
            let tags = [format!("device:{device}"), format!("device_name:{device}")];
            sender.rate("system.io.r_s", s.reads as f64, &tags);
            sender.rate("system.io.w_s", s.writes as f64, &tags);
            sender.rate("system.io.rrqm_s", s.reads_merged as f64, &tags);
            sender.rate("system.io.wrqm_s", s.writes_merged as f64, &tags);
            if let Some((last_ms, last)) = &self.last
                && let Some(l) = last.get(&device)
                && now_ms > *last_ms
            {
                let delta_ms = now_ms - last_ms;
                let secs = delta_ms / 1000.0;
                let reads = increment(s.reads, l.reads);
                let writes = increment(s.writes, l.writes);
                let ios = reads + writes;
                let rbytes = increment(s.read_bytes, l.read_bytes);
                let wbytes = increment(s.write_bytes, l.write_bytes);
                let rms = increment(s.read_ms, l.read_ms);
                let wms = increment(s.write_ms, l.write_ms);
                let per = |v: f64, n: f64| if n != 0.0 { v / n } else { 0.0 };
                // sysstat's interval unit: 1/100 s.
                let itv = delta_ms / 10.0;
                let tput = ios * 100.0 / itv;
                let util = increment(s.io_ms, l.io_ms) / itv * 100.0;
                let svctm = if tput != 0.0 { util / tput } else { 0.0 };
                for (metric, value) in [
                    ("system.io.rkb_s", rbytes / KIB / secs),
                    ("system.io.wkb_s", wbytes / KIB / secs),
                    (
                        "system.io.avg_rq_sz",
                        per(((rbytes + wbytes) / SECTOR as f64).trunc(), ios),
                    ),
                    ("system.io.await", per(rms + wms, ios)),
                    ("system.io.r_await", per(rms, reads)),
                    ("system.io.w_await", per(wms, writes)),
                    (
                        "system.io.avg_q_sz",
                        increment(s.weighted_ms, l.weighted_ms) / KIB / secs,
                    ),
                    ("system.io.svctm", svctm),
                    ("system.io.util", util / 10.0),
                ] {
                    sender.gauge(metric, round2(value), &tags);
                }
            }
            current.insert(device, s);
        }
        match read_text(&self.vmstat) {
            Ok(vm) => {
                let (v, _) = key_values(&vm);
                for (metric, key) in [("system.io.block_in", "pgpgin"), ("system.io.block_out", "pgpgout")] {
                    if let Some(pages) = v.get(key) {
                        sender.rate(metric, *pages as f64 * 4096.0, &[]);
                    }
                }
            }
            Err(e) => sender.warning(e.to_string()),
        }
        self.last = Some((now_ms, current));
        Ok(())
    }
}

impl Check for Io {
    fn run(&mut self, sender: &mut Sender) -> Result<(), CheckError> {
        self.run_at(sender, crate::checks::unix_now() * 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increments_allow_for_32_and_64_bit_wraps() {
        assert_eq!(increment(10, 4), 6.0);
        assert_eq!(increment(5, u64::from(u32::MAX) - 4), 10.0);
        assert_eq!(increment(5, u64::MAX - 4), 10.0);
    }

    #[test]
    fn diskstats_lines_parse_and_short_ones_are_counted() {
        let (d, bad) = parse_diskstats(
            " 254 0 vda 9014 3790 1998098 11126 5645 33802 10883456 137568 0 11296 154606\n 1 2 short 1 2\n",
        );
        assert_eq!(bad, 1);
        assert_eq!(d[0].0, "vda");
        assert_eq!(d[0].1.read_bytes, 1998098 * 512);
        assert_eq!((d[0].1.io_ms, d[0].1.weighted_ms), (11296, 154606));
    }
}
