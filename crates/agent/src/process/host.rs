//! What a process payload says about its host: CPUs, memory, kernel, OS, boot time.

use dogwatch_model::HostInfo;

use super::procfs::{HostPaths, parse_host_stat};

/// Reads the host's description. Parts that cannot be read are left empty or 0; the
/// collector reports that as an error in status rather than failing.
pub fn host_info(paths: &HostPaths, hostname: &str, host_tags: &[String]) -> HostInfo {
    let read = |path: std::path::PathBuf| std::fs::read_to_string(path).unwrap_or_default();
    let stat = parse_host_stat(read(paths.proc.join("stat")).as_bytes());
    let cpuinfo = read(paths.proc.join("cpuinfo"));
    let meminfo = read(paths.proc.join("meminfo"));
    HostInfo {
        hostname: hostname.to_string(),
        cpu_count: if stat.cpu_count > 0 {
            stat.cpu_count
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
        },
        cpu_model: line_value(&cpuinfo, "model name").unwrap_or_default().to_string(),
        memory_total: line_value(&meminfo, "MemTotal")
            .and_then(|v| v.trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024),
        kernel: read(paths.proc.join("sys/kernel/osrelease")).trim().to_string(),
        os: os_name(&read(paths.etc.join("os-release"))),
        boot_time: stat.boot_time,
        agent_version: dogwatch_model::VERSION.to_string(),
        tags: host_tags.to_vec(),
    }
}

/// The value of the first `key: value` (or `key<TAB>: value`) line.
fn line_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// `PRETTY_NAME` from os-release, else `NAME`, else `Linux`.
fn os_name(os_release: &str) -> String {
    let field = |key: &str| {
        os_release.lines().find_map(|line| {
            let value = line.strip_prefix(key)?.strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_string())
        })
    };
    field("PRETTY_NAME")
        .or_else(|| field("NAME"))
        .unwrap_or_else(|| "Linux".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_info_reads_a_fixture_tree() {
        let root = tempfile::tempdir().unwrap();
        let paths = HostPaths::under(root.path());
        std::fs::create_dir_all(paths.proc.join("sys/kernel")).unwrap();
        std::fs::create_dir_all(&paths.etc).unwrap();
        std::fs::write(
            paths.proc.join("stat"),
            "cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 1\ncpu1 1\ncpu2 1\ncpu3 1\nbtime 1700000000\n",
        )
        .unwrap();
        std::fs::write(
            paths.proc.join("cpuinfo"),
            "processor\t: 0\nmodel name\t: Test CPU @ 3.00GHz\n",
        )
        .unwrap();
        std::fs::write(paths.proc.join("meminfo"), "MemTotal:       16384 kB\nMemFree: 1 kB\n").unwrap();
        std::fs::write(paths.proc.join("sys/kernel/osrelease"), "6.1.0-test\n").unwrap();
        std::fs::write(
            paths.etc.join("os-release"),
            "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        )
        .unwrap();
        let info = host_info(&paths, "web-1", &["team:a".to_string()]);
        assert_eq!(info.cpu_count, 4);
        assert_eq!(info.cpu_model, "Test CPU @ 3.00GHz");
        assert_eq!(info.memory_total, 16384 * 1024);
        assert_eq!(info.kernel, "6.1.0-test");
        assert_eq!(info.os, "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(info.boot_time, 1_700_000_000);
        assert_eq!(info.tags, vec!["team:a"]);
    }
}
