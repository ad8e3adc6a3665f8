//! What the agent's benchmarks share: the CPU time of the measuring thread.

/// Nanoseconds this thread has run on a CPU (`/proc/thread-self/schedstat`), so a figure is
/// per core even when other processes compete for the machine.
pub fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}
