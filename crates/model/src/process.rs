//! Live processes: what an agent reports about each process on its host, and what the server
//! answers.
//!
//! The agent sends one collection run as one or more [`ProcessPayload`]s (Datadog chunks at
//! 100 processes per message) to [`crate::endpoints::PROCESS_COLLECTOR`]. All chunks of a
//! run share a `run_id`; the server replaces a host's live state once it holds every chunk
//! of a newer run. The server's [`CollectorAnswer`] tells the agent whether someone is
//! watching, which switches it to real-time collection.

use serde::{Deserialize, Serialize};

/// The most chunks one run may be split into (a million processes at 100 per chunk); a
/// server holds a run's chunks until all have arrived, so this bounds what it sets aside.
pub const MAX_CHUNKS: u32 = 10_000;

/// The value reported for a privileged field that could not be read (fd count, IO).
pub const UNREADABLE: i64 = -1;

/// One process, as of one collection run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessRecord {
    /// Process id (in the host's pid namespace).
    pub pid: i32,
    /// Parent process id.
    pub ppid: i32,
    /// Process group id.
    pub pgroup: i32,
    /// The owner's user name from the host's `/etc/passwd`, or the uid when it has none.
    pub user: String,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// The kernel's command name (`/proc/<pid>/status` Name, at most 15 bytes).
    pub name: String,
    /// The command line, split into arguments, with sensitive values scrubbed.
    pub cmdline: Vec<String>,
    /// The executable's path, empty when it cannot be read.
    pub exe: String,
    /// The working directory, empty when it cannot be read.
    pub cwd: String,
    /// The kernel's state letter: `R` running, `S` sleeping, `D` disk sleep, `Z` zombie,
    /// `T` stopped, `t` tracing stop, `X` dead, `I` idle.
    pub state: String,
    /// When the process started, in milliseconds since the Unix epoch.
    pub create_time_ms: i64,
    /// CPU spent in user mode since the previous run, in percent of one core.
    pub cpu_user_pct: f32,
    /// CPU spent in the kernel since the previous run, in percent of one core.
    pub cpu_system_pct: f32,
    /// User plus system; 100 means one core fully busy.
    pub cpu_total_pct: f32,
    /// Resident memory in bytes.
    pub rss: u64,
    /// Virtual memory in bytes.
    pub vms: u64,
    /// Swapped-out memory in bytes.
    pub swap: u64,
    /// Number of threads.
    pub threads: i32,
    /// Open file descriptors, or -1 when they cannot be counted (needs privilege).
    pub open_fds: i32,
    /// Read system calls per second since the previous run, or -1 when unreadable.
    pub io_read_ops_rate: f32,
    /// Write system calls per second since the previous run, or -1 when unreadable.
    pub io_write_ops_rate: f32,
    /// Bytes read from storage per second since the previous run, or -1 when unreadable.
    pub io_read_bytes_rate: f32,
    /// Bytes written to storage per second since the previous run, or -1 when unreadable.
    pub io_write_bytes_rate: f32,
    /// Voluntary context switches since the process started.
    pub ctx_switches_voluntary: i64,
    /// Involuntary context switches since the process started.
    pub ctx_switches_involuntary: i64,
    /// Scheduling niceness, -20 to 19.
    pub nice: i32,
    /// The container the process runs in, from its cgroup, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// `key:value` tags: the host tags, `user`, `command`, and `env`/`service`/`version`
    /// from the process's `DD_ENV`/`DD_SERVICE`/`DD_VERSION`.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// The host a process payload comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    /// The agent's resolved hostname.
    pub hostname: String,
    /// Logical CPUs.
    pub cpu_count: u32,
    /// The CPU model name, empty when unknown.
    pub cpu_model: String,
    /// Physical memory in bytes.
    pub memory_total: u64,
    /// The kernel release, e.g. `6.1.0-18-amd64`.
    pub kernel: String,
    /// The operating system's name, e.g. `Debian GNU/Linux 12 (bookworm)`.
    pub os: String,
    /// When the host booted, in seconds since the Unix epoch.
    pub boot_time: i64,
    /// The agent's version.
    pub agent_version: String,
    /// The host tags (`tags` / `DD_TAGS`).
    #[serde(default)]
    pub tags: Vec<String>,
}

/// One chunk of one collection run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessPayload {
    /// The host.
    pub host: HostInfo,
    /// Identifies the run; increases with every run of one agent.
    pub run_id: u64,
    /// How many chunks the run was split into.
    pub chunk_count: u32,
    /// This chunk's index, from 0.
    pub chunk_index: u32,
    /// When the run finished, in milliseconds since the Unix epoch.
    pub collected_at_ms: i64,
    /// Seconds until the agent's next run.
    pub interval_s: u32,
    /// Whether the agent is in real-time mode.
    pub realtime: bool,
    /// How many processes the whole run reported.
    pub total_processes: u32,
    /// The processes in this chunk.
    pub processes: Vec<ProcessRecord>,
}

/// What the server answers to a process payload: whether anyone is watching this host's
/// live processes (Datadog's `CollectorStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CollectorStatus {
    /// How many viewers are watching; above 0 switches the agent to real-time collection.
    pub active_clients: u32,
    /// The real-time interval the server asks for, in seconds (0: the agent's own).
    pub interval: u32,
}

/// The body of the server's answer to [`crate::endpoints::PROCESS_COLLECTOR`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectorAnswer {
    /// Whether anyone is watching.
    pub collector: CollectorStatus,
}

impl ProcessPayload {
    /// Checks what serde cannot: chunk numbering, and no process listed twice.
    pub fn validate(&self) -> Result<(), String> {
        if self.host.hostname.is_empty() {
            return Err("host.hostname is empty".into());
        }
        if self.chunk_count > MAX_CHUNKS {
            return Err(format!(
                "chunk_count {} is over the limit of {MAX_CHUNKS}",
                self.chunk_count
            ));
        }
        if self.chunk_count == 0 || self.chunk_index >= self.chunk_count {
            return Err(format!(
                "chunk_index {} is outside chunk_count {}",
                self.chunk_index, self.chunk_count
            ));
        }
        let mut pids: Vec<i32> = self.processes.iter().map(|p| p.pid).collect();
        pids.sort_unstable();
        if let Some(pair) = pids.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("pid {} is listed twice", pair[0]));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(chunk_index: u32, chunk_count: u32, pids: &[i32]) -> ProcessPayload {
        let record = |pid: i32| -> ProcessRecord {
            serde_json::from_value(serde_json::json!({
                "pid": pid, "ppid": 1, "pgroup": pid, "user": "u", "uid": 0, "gid": 0, "name": "x",
                "cmdline": [], "exe": "", "cwd": "", "state": "S", "create_time_ms": 0,
                "cpu_user_pct": 0.0, "cpu_system_pct": 0.0, "cpu_total_pct": 0.0, "rss": 0, "vms": 0,
                "swap": 0, "threads": 1, "open_fds": -1, "io_read_ops_rate": -1.0, "io_write_ops_rate": -1.0,
                "io_read_bytes_rate": -1.0, "io_write_bytes_rate": -1.0, "ctx_switches_voluntary": 0,
                "ctx_switches_involuntary": 0, "nice": 0
            }))
            .unwrap()
        };
        ProcessPayload {
            host: serde_json::from_value(serde_json::json!({
                "hostname": "h", "cpu_count": 1, "cpu_model": "", "memory_total": 0, "kernel": "",
                "os": "", "boot_time": 0, "agent_version": "0"
            }))
            .unwrap(),
            run_id: 1,
            chunk_count,
            chunk_index,
            collected_at_ms: 0,
            interval_s: 10,
            realtime: false,
            total_processes: pids.len() as u32,
            processes: pids.iter().copied().map(record).collect(),
        }
    }

    #[test]
    fn chunk_numbering_and_duplicate_pids_are_checked() {
        assert_eq!(payload(0, 1, &[1, 2]).validate(), Ok(()));
        assert!(payload(1, 1, &[1]).validate().unwrap_err().contains("chunk_index 1"));
        assert!(payload(0, 0, &[1]).validate().is_err());
        assert!(
            payload(0, MAX_CHUNKS + 1, &[1])
                .validate()
                .unwrap_err()
                .contains("over the limit")
        );
        assert!(payload(0, 1, &[3, 1, 3]).validate().unwrap_err().contains("pid 3"));
        let mut nameless = payload(0, 1, &[]);
        nameless.host.hostname.clear();
        assert!(nameless.validate().is_err());
    }
}
