//! The `cpu` check (Datadog's pkg/collector/corechecks/system/cpu/cpu), from `/proc/stat`.
//!
//! `system.cpu.{user,system,interrupt,iowait,idle,stolen,guest}` are percent (0–100) of the
//! capacity of all cores between two runs: Δfield / Δtotal × 100, where total = user + nice +
//! system + idle + iowait + irq + softirq + steal (guest is already in user), user = user +
//! nice, system = system + irq + softirq, interrupt = irq + softirq. Nothing on the first run.
//! Also `system.cpu.num_cores`, `system.cpu.context_switches` (monotonic count of `ctxt`) and
//! the cumulative `system.cpu.<field>.total` seconds tagged `core:cpu-total` (or per CPU with
//! `report_total_percpu: true`).

use std::path::PathBuf;

use serde::Deserialize;

use super::{parse_error, read_text};
use crate::checks::sender::Sender;
use crate::checks::{Check, CheckError, CheckSetup};

pub(crate) const NAME: &str = "cpu";

#[derive(Debug, Default, Deserialize)]
struct Options {
    /// Report `system.cpu.*.total` per CPU (`core:cpuN`) as well as for all. Defaults to false.
    #[serde(default)]
    report_total_percpu: bool,
}

/// The ten fields of a `cpu` line of /proc/stat, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Times([f64; 10]);

const FIELD_NAMES: [&str; 10] = [
    "user",
    "nice",
    "system",
    "idle",
    "iowait",
    "irq",
    "softirq",
    "steal",
    "guest",
    "guestnice",
];

impl Times {
    fn parse(fields: &[&str]) -> Option<Times> {
        // Kernels before 2.6.33 have fewer columns; the missing ones are 0.
        if fields.len() < 4 {
            return None;
        }
        let mut t = [0.0; 10];
        for (slot, field) in t.iter_mut().zip(fields) {
            *slot = field.parse::<u64>().ok()? as f64;
        }
        Some(Times(t))
    }

    fn total(&self) -> f64 {
        self.0[..8].iter().sum()
    }
}

pub(crate) struct Cpu {
    stat: PathBuf,
    ticks_per_second: f64,
    report_total_percpu: bool,
    previous: Option<Times>,
}

pub(crate) fn build(setup: &CheckSetup) -> Result<Box<dyn Check>, String> {
    let options: Options = setup.instance_options()?;
    Ok(Box::new(Cpu {
        stat: setup.paths.proc.join("stat"),
        ticks_per_second: rustix::param::clock_ticks_per_second().max(1) as f64,
        report_total_percpu: options.report_total_percpu,
        previous: None,
    }))
}

impl Check for Cpu {
    fn run(&mut self, sender: &mut Sender) -> Result<(), CheckError> {
        let text = read_text(&self.stat)?;
        let mut all: Option<Times> = None;
        let mut per_cpu: Vec<(String, Times)> = Vec::new();
        let mut context_switches = None;
        for line in text.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let Some(&label) = fields.first() else { continue };
            if label == "cpu" {
                all = Times::parse(&fields[1..]);
            } else if let Some(n) = label.strip_prefix("cpu") {
                match Times::parse(&fields[1..]) {
                    Some(t) if n.bytes().all(|b| b.is_ascii_digit()) => per_cpu.push((label.to_string(), t)),
                    _ => sender.warning(format!("{}: skipped a malformed line {line:?}", self.stat.display())),
                }
            } else if label == "ctxt" {
                context_switches = fields.get(1).and_then(|v| v.parse::<u64>().ok());
            }
        }
        let now = all.ok_or_else(|| parse_error(&self.stat, "no `cpu` line with numeric fields"))?;
        sender.gauge("system.cpu.num_cores", per_cpu.len().max(1) as f64, &[]);
        if let Some(ctxt) = context_switches {
            sender.monotonic_count("system.cpu.context_switches", ctxt as f64, &[]);
        }
        if let Some(prev) = self.previous {
            let dt = now.total() - prev.total();
            if dt > 0.0 {
                let d = |i: usize| (now.0[i] - prev.0[i]).max(0.0);
                let pct = |v: f64| v / dt * 100.0;
                sender.gauge("system.cpu.user", pct(d(0) + d(1)), &[]);
                sender.gauge("system.cpu.system", pct(d(2) + d(5) + d(6)), &[]);
                sender.gauge("system.cpu.interrupt", pct(d(5) + d(6)), &[]);
                sender.gauge("system.cpu.iowait", pct(d(4)), &[]);
                sender.gauge("system.cpu.idle", pct(d(3)), &[]);
                sender.gauge("system.cpu.stolen", pct(d(7)), &[]);
                sender.gauge("system.cpu.guest", pct(d(8)), &[]);
            }
        }
        self.previous = Some(now);
        let tps = self.ticks_per_second;
        let mut totals = |core: &str, t: &Times| {
            let tags = [format!("core:{core}")];
            for (name, ticks) in FIELD_NAMES.iter().zip(t.0) {
                sender.gauge(&format!("system.cpu.{name}.total"), ticks / tps, &tags);
            }
        };
        totals("cpu-total", &now);
        if self.report_total_percpu {
            for (label, t) in &per_cpu {
                totals(label, t);
            }
        }
        Ok(())
    }
}
