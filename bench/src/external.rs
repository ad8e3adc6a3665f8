//! The programs dogwatch is compared with: `ps`, and Python's psutil.

use std::error::Error;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::{Who, cpu_us};

/// `ps` listing every process with the fields dogwatch reports.
pub fn ps_all() -> Command {
    let mut ps = Command::new("ps");
    ps.args(["-eo", "pid,ppid,user,pcpu,rss,vsz,nlwp,stat,lstart,args"]);
    ps
}

/// `ps` listing one process: its fixed start-up cost.
pub fn ps_startup() -> Command {
    let mut ps = Command::new("ps");
    ps.args(["-o", "pid=", "-p", "1"]);
    ps
}

/// Runs `command` to completion with its output discarded; returns the CPU µs (user + system)
/// it used, from this process's `RUSAGE_CHILDREN`, which grows when a child is reaped.
pub fn child_cpu_us(command: &mut Command) -> Result<f64, Box<dyn Error>> {
    let before = cpu_us(Who::Children);
    let status = command.stdout(Stdio::null()).status()?;
    let used = cpu_us(Who::Children) - before;
    if !status.success() {
        return Err(format!("{command:?} failed: {status}").into());
    }
    Ok(used)
}

/// What `psutil_bench.py` measured.
pub struct PsutilRun {
    /// CPU µs per iteration.
    pub cpu_us: Vec<f64>,
    /// Processes psutil saw in its last iteration.
    pub processes: usize,
}

/// Runs `psutil_bench.py` with the venv's Python for `iterations` iterations. `Err` holds why
/// it could not run (no venv, the script failed), for a note.
pub fn psutil(bench_dir: &Path, iterations: usize) -> Result<PsutilRun, String> {
    let python = bench_dir.join(".venv/bin/python");
    if !python.exists() {
        return Err(format!(
            "psutil skipped: no {} (bench/run.sh creates it)",
            python.display()
        ));
    }
    let output = Command::new(&python)
        .arg(bench_dir.join("psutil_bench.py"))
        .arg(iterations.to_string())
        .output()
        .map_err(|err| format!("psutil skipped: cannot run {}: {err}", python.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("");
        return Err(format!(
            "psutil skipped: psutil_bench.py failed ({}): {last}",
            output.status
        ));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|err| format!("psutil skipped: bad output: {err}"))?;
    let cpu_us: Vec<f64> = json["cpu_us"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_f64)
        .collect();
    let processes = json["processes"].as_u64().unwrap_or(0) as usize;
    if cpu_us.is_empty() || processes == 0 {
        return Err("psutil skipped: psutil_bench.py reported no samples".to_string());
    }
    Ok(PsutilRun { cpu_us, processes })
}
