//! Datadog's core system checks, reading the host's `/proc` and `/sys` (through `HOST_PROC`
//! and `HOST_SYS`): `cpu`, `load`, `memory`, `disk`, `io`, `network`, `file_handle` and
//! `uptime`, with Datadog's metric names, types, units and tags (see
//! ../shared/reference/checks.md §1 for the formulas each one follows).
//!
//! A file that cannot be read is the run's error; a line that does not parse is skipped with
//! a warning the Collector status counts, never a panic.

pub(crate) mod cpu;
pub(crate) mod disk;
pub(crate) mod file_handle;
pub(crate) mod io;
pub(crate) mod load;
pub(crate) mod memory;
pub(crate) mod network;
pub(crate) mod uptime;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;

use super::CheckError;

/// Reads a whole `/proc` or `/sys` file as text (invalid UTF-8 is replaced, never trusted).
pub(crate) fn read_text(path: &Path) -> Result<String, CheckError> {
    std::fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|source| CheckError::Read {
            path: path.to_path_buf(),
            source,
        })
}

/// A parse error naming the file.
pub(crate) fn parse_error(path: &Path, detail: impl Into<String>) -> CheckError {
    CheckError::Parse {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// `Key: value [kB]` lines (`/proc/meminfo`) or `key value` lines (`/proc/vmstat`), as numbers.
/// Lines that do not parse are left out and counted in the second value.
pub(crate) fn key_values(text: &str) -> (HashMap<&str, u64>, usize) {
    let mut out = HashMap::new();
    let mut bad = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.split_whitespace();
        let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
            bad += 1;
            continue;
        };
        match value.parse::<u64>() {
            Ok(v) => {
                out.insert(key.trim_end_matches(':'), v);
            }
            Err(_) => bad += 1,
        }
    }
    (out, bad)
}

/// The number of logical CPUs: the `cpuN` lines of `<proc>/stat`, at least 1.
pub(crate) fn logical_cpus(proc_root: &Path) -> usize {
    std::fs::read_to_string(proc_root.join("stat"))
        .map(|text| {
            text.lines()
                .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
                .count()
        })
        .unwrap_or(0)
        .max(1)
}

/// A pattern list from a check option, each anchored at the start as Python's `re.match`.
pub(crate) fn anchored_regexes(
    key: &str,
    patterns: &[String],
    case_insensitive: bool,
) -> Result<Option<regex::Regex>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let joined = patterns
        .iter()
        .map(|p| format!("(?:{p})"))
        .collect::<Vec<_>>()
        .join("|");
    regex::RegexBuilder::new(&format!("^(?:{joined})"))
        .case_insensitive(case_insensitive)
        .build()
        .map(Some)
        .map_err(|e| format!("`{key}` holds an invalid regular expression: {e}"))
}
