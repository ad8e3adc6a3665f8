//! The process collector on this machine's real `/proc`: a child started by the test is
//! reported with its parent, user, working directory, scrubbed arguments and CPU use.

use std::process::{Child, Command};
use std::time::Duration;

use dogwatch_agent::process::{Blacklist, CollectorSettings, HostPaths, ProcessCollector, Scrubber};

/// Kills the child when the test ends, however it ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn own_user_name() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next())
        .unwrap()
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid).then(|| f[0].to_string())
        })
        .unwrap_or(uid)
}

#[test]
fn a_busy_child_is_reported_with_its_parent_user_cwd_scrubbed_argv_and_cpu() {
    let cwd = tempfile::tempdir().unwrap();
    let child = Command::new("sh")
        .args([
            "-c",
            "while :; do :; done",
            "busyloop",
            "--password=hunter2",
            "--port=8080",
        ])
        .current_dir(cwd.path())
        .spawn()
        .expect("sh runs");
    let child = Reaped(child);
    let pid = child.0.id() as i32;

    let (scrubber, _) = Scrubber::new(true, false, &[]);
    let (blacklist, _) = Blacklist::new(&[]);
    let mut collector = ProcessCollector::new(CollectorSettings {
        paths: HostPaths::from_env(&dogwatch_agent::config::Environment::from_pairs(
            Vec::<(String, String)>::new(),
        )),
        host_tags: vec!["suite:real".into()],
        scrubber,
        blacklist,
    });
    collector.collect().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let run = collector.collect().unwrap();
    let p = run
        .processes
        .iter()
        .find(|p| p.pid == pid)
        .unwrap_or_else(|| panic!("the child {pid} is not among {} processes", run.processes.len()));

    assert_eq!(p.ppid, std::process::id() as i32);
    assert_eq!(p.user, own_user_name());
    assert_eq!(std::path::Path::new(&p.cwd), cwd.path().canonicalize().unwrap());
    assert!(
        p.exe.ends_with("sh") || p.exe.ends_with("dash") || p.exe.ends_with("bash"),
        "{}",
        p.exe
    );
    let joined = p.cmdline.join(" ");
    assert!(joined.contains("--password=********"), "{joined}");
    assert!(!joined.contains("hunter2"), "{joined}");
    assert!(joined.contains("--port=8080"), "{joined}");
    // Ticks are counted at 100 Hz, so a reading over a run of about a second can land one tick
    // (about 0.7 %) past one full core.
    assert!(
        p.cpu_total_pct > 60.0 && p.cpu_total_pct <= 102.0,
        "a busy loop uses about one core: {}",
        p.cpu_total_pct
    );
    assert!(p.cpu_user_pct > p.cpu_system_pct);
    assert_eq!(p.state, "R");
    assert!(p.rss > 0 && p.vms >= p.rss);
    assert!(p.open_fds >= 3, "stdin, stdout, stderr at least: {}", p.open_fds);
    assert!(p.create_time_ms > 0);
    assert!(p.tags.contains(&"suite:real".to_string()));
    assert!(p.tags.iter().any(|t| t.starts_with("command:")));
}
