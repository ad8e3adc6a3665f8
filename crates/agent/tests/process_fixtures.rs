//! The process collector over fixture `/proc` trees: odd names, vanishing processes,
//! unreadable files, zombies, kernel threads, cgroups, and the deltas between runs.

use std::fs;
use std::path::Path;

use dogwatch_agent::process::{Blacklist, CollectorSettings, HostPaths, ProcessCollector, Scrubber};
use dogwatch_model::ProcessRecord;

const CONTAINER: &str = "3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860";
const BTIME: i64 = 1_700_000_000;

/// One fixture process.
struct Proc<'a> {
    pid: i32,
    comm: &'a str,
    state: char,
    ppid: i32,
    flags: u64,
    utime: u64,
    stime: u64,
    starttime: u64,
    cmdline: &'a [&'a str],
    uid: u32,
    status_extra: &'a str,
}

impl Default for Proc<'_> {
    fn default() -> Self {
        Proc {
            pid: 100,
            comm: "app",
            state: 'S',
            ppid: 1,
            flags: 0x0040_0100,
            utime: 0,
            stime: 0,
            starttime: 5000,
            cmdline: &["/usr/bin/app"],
            uid: 1000,
            status_extra: "VmSize:\t  2048 kB\nVmRSS:\t  1024 kB\nVmSwap:\t 4 kB\nThreads:\t3\nvoluntary_ctxt_switches:\t11\nnonvoluntary_ctxt_switches:\t2\n",
        }
    }
}

fn write_host(root: &Path, total_ticks: u64) {
    let proc = root.join("proc");
    fs::create_dir_all(&proc).unwrap();
    // cpu: user nice system idle iowait irq softirq steal (sum = total_ticks); two CPUs.
    fs::write(
        proc.join("stat"),
        format!("cpu  {total_ticks} 0 0 0 0 0 0 0 0 0\ncpu0 0 0 0 0\ncpu1 0 0 0 0\nbtime {BTIME}\n"),
    )
    .unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
    )
    .unwrap();
}

fn write_proc(root: &Path, p: &Proc) {
    let dir = root.join("proc").join(p.pid.to_string());
    fs::create_dir_all(dir.join("fd")).unwrap();
    fs::write(
        dir.join("stat"),
        format!(
            "{} ({}) {} {} {} {} 0 -1 {} 0 0 0 0 {} {} 0 0 20 0 3 0 {} 2097152 256 18446744073709551615\n",
            p.pid, p.comm, p.state, p.ppid, p.pid, p.pid, p.flags, p.utime, p.stime, p.starttime
        ),
    )
    .unwrap();
    fs::write(
        dir.join("status"),
        format!(
            "Name:\t{}\nUid:\t{u}\t{u}\t{u}\t{u}\nGid:\t{u}\t{u}\t{u}\t{u}\n{}",
            p.comm,
            p.status_extra,
            u = p.uid
        ),
    )
    .unwrap();
    let mut cmdline = p.cmdline.join("\0");
    if !cmdline.is_empty() {
        cmdline.push('\0');
    }
    fs::write(dir.join("cmdline"), cmdline).unwrap();
}

fn collector(root: &Path) -> ProcessCollector {
    let (scrubber, _) = Scrubber::new(true, false, &[]);
    let (blacklist, _) = Blacklist::new(&["^/usr/sbin/hidden".to_string()]);
    ProcessCollector::new(CollectorSettings {
        paths: HostPaths::under(root),
        host_tags: vec!["team:core".into()],
        scrubber,
        blacklist,
    })
}

fn by_pid(records: &[ProcessRecord], pid: i32) -> &ProcessRecord {
    records
        .iter()
        .find(|p| p.pid == pid)
        .unwrap_or_else(|| panic!("pid {pid} not reported"))
}

#[test]
fn a_full_process_is_read_from_every_file() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write_host(r, 1000);
    let app = Proc {
        pid: 100,
        cmdline: &["/usr/bin/app", "--password=hunter2", "serve"],
        ..Proc::default()
    };
    write_proc(r, &app);
    let dir = r.join("proc/100");
    std::os::unix::fs::symlink("/usr/bin/app", dir.join("exe")).unwrap();
    std::os::unix::fs::symlink("/srv/app", dir.join("cwd")).unwrap();
    fs::write(
        dir.join("io"),
        "rchar: 1\nwchar: 1\nsyscr: 100\nsyscw: 50\nread_bytes: 4096\nwrite_bytes: 8192\n",
    )
    .unwrap();
    for fd in 0..4 {
        fs::write(dir.join("fd").join(fd.to_string()), "").unwrap();
    }
    fs::write(
        dir.join("cgroup"),
        format!("0::/system.slice/docker-{CONTAINER}.scope\n"),
    )
    .unwrap();
    fs::write(
        dir.join("environ"),
        "PATH=/bin\0DD_SERVICE=billing\0DD_ENV=prod\0DD_VERSION=1.2\0",
    )
    .unwrap();

    let mut c = collector(r);
    let first = c.collect().unwrap();
    assert!(
        first.first_run && first.processes.is_empty(),
        "the first run only primes"
    );

    // One second of host time later (2 CPUs, 100 ticks/s each = 200 ticks), the process
    // used 150 user + 50 system ticks.
    write_host(r, 1200);
    write_proc(
        r,
        &Proc {
            utime: 150,
            stime: 50,
            ..app
        },
    );
    fs::write(
        dir.join("io"),
        "syscr: 300\nsyscw: 50\nread_bytes: 4096\nwrite_bytes: 16384\n",
    )
    .unwrap();
    let second = c.collect().unwrap();
    let p = by_pid(&second.processes, 100);
    assert_eq!((p.ppid, p.pgroup), (1, 100));
    assert_eq!((p.user.as_str(), p.uid, p.gid), ("alice", 1000, 1000));
    assert_eq!(p.name, "app");
    assert_eq!(p.cmdline, vec!["/usr/bin/app", "--password=********", "serve"]);
    assert_eq!((p.exe.as_str(), p.cwd.as_str()), ("/usr/bin/app", "/srv/app"));
    assert_eq!(p.state, "S");
    let clk_tck = 100; // USER_HZ on Linux.
    assert_eq!(p.create_time_ms, (5000 / clk_tck + BTIME) * 1000);
    // 150 of 200 host ticks on 2 CPUs: 75 % of the machine, 150 % of one core.
    assert_eq!(p.cpu_user_pct, 150.0);
    assert_eq!(p.cpu_system_pct, 50.0);
    assert_eq!(p.cpu_total_pct, 200.0);
    assert_eq!((p.rss, p.vms, p.swap), (1024 * 1024, 2048 * 1024, 4096));
    assert_eq!(p.threads, 3);
    assert_eq!(p.open_fds, 4);
    assert!(p.io_read_ops_rate > 0.0, "syscr moved: {}", p.io_read_ops_rate);
    assert_eq!(p.io_write_ops_rate, 0.0);
    assert!(p.io_write_bytes_rate > 0.0);
    assert_eq!((p.ctx_switches_voluntary, p.ctx_switches_involuntary), (11, 2));
    assert_eq!(p.container_id.as_deref(), Some(CONTAINER));
    assert_eq!(
        p.tags,
        vec![
            "command:app",
            "env:prod",
            "service:billing",
            "team:core",
            "user:alice",
            "version:1.2"
        ]
    );
}

#[test]
fn odd_names_zombies_kernel_threads_and_unreadable_files() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write_host(r, 1000);
    let odd = Proc {
        pid: 200,
        comm: "my (weird) prog) x",
        cmdline: &["./my prog", "--x"],
        ..Proc::default()
    };
    let zombie = Proc {
        pid: 201,
        comm: "defunct",
        state: 'Z',
        cmdline: &[],
        status_extra: "Threads:\t1\n",
        ..Proc::default()
    };
    let kthread = Proc {
        pid: 2,
        comm: "kthreadd",
        flags: 0x0020_8040,
        ppid: 0,
        cmdline: &[],
        uid: 0,
        ..Proc::default()
    };
    let hidden = Proc {
        pid: 202,
        cmdline: &["/usr/sbin/hidden", "--flag"],
        ..Proc::default()
    };
    for p in [&odd, &zombie, &kthread, &hidden] {
        write_proc(r, p);
    }
    // A pid directory that vanished between the listing and the read.
    fs::create_dir_all(r.join("proc/999")).unwrap();
    // Privileged files (io, fd, exe, cwd, environ) are missing: unreadable.
    fs::remove_dir(r.join("proc/200/fd")).unwrap();

    let mut c = collector(r);
    c.collect().unwrap();
    let run = c.collect().unwrap();
    let pids: Vec<i32> = {
        let mut p: Vec<i32> = run.processes.iter().map(|p| p.pid).collect();
        p.sort();
        p
    };
    assert_eq!(
        pids,
        vec![200, 201],
        "kernel thread, blacklisted and vanished pids are not reported"
    );
    assert_eq!(run.blacklisted, 1);
    assert_eq!(run.tracked, 3, "the kernel thread is not tracked");

    let p = by_pid(&run.processes, 200);
    assert_eq!(p.name, "my (weird) prog) x");
    assert_eq!(p.cmdline, vec!["./my prog", "--x"]);
    assert_eq!(p.open_fds, -1, "an unreadable fd directory is -1, not 0");
    assert_eq!(
        (
            p.io_read_ops_rate,
            p.io_write_ops_rate,
            p.io_read_bytes_rate,
            p.io_write_bytes_rate
        ),
        (-1.0, -1.0, -1.0, -1.0)
    );
    assert_eq!((p.exe.as_str(), p.cwd.as_str()), ("", ""));
    // No readable exe: the command tag comes from argv[0]'s first word.
    assert!(p.tags.contains(&"command:my".to_string()), "{:?}", p.tags);

    let z = by_pid(&run.processes, 201);
    assert_eq!(z.state, "Z");
    assert!(z.cmdline.is_empty());
    assert_eq!(z.rss, 256 * rustix_page_size(), "memory comes from stat's rss pages");
    assert_eq!(z.threads, 3, "threads come from stat");
}

#[test]
fn new_and_reused_pids_wait_one_run_and_exited_ones_are_forgotten() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write_host(r, 1000);
    write_proc(
        r,
        &Proc {
            pid: 10,
            ..Proc::default()
        },
    );
    write_proc(
        r,
        &Proc {
            pid: 11,
            ..Proc::default()
        },
    );
    let mut c = collector(r);
    c.collect().unwrap();

    // pid 11 exits and its pid is reused by a new process (a later start time); pid 12 is new.
    write_proc(
        r,
        &Proc {
            pid: 11,
            starttime: 9000,
            cmdline: &["/usr/bin/other"],
            ..Proc::default()
        },
    );
    write_proc(
        r,
        &Proc {
            pid: 12,
            ..Proc::default()
        },
    );
    let run = c.collect().unwrap();
    assert_eq!(run.processes.iter().map(|p| p.pid).collect::<Vec<_>>(), vec![10]);

    fs::remove_dir_all(r.join("proc/10")).unwrap();
    let run = c.collect().unwrap();
    let mut pids: Vec<_> = run.processes.iter().map(|p| (p.pid, p.cmdline[0].clone())).collect();
    pids.sort();
    assert_eq!(
        pids,
        vec![(11, "/usr/bin/other".to_string()), (12, "/usr/bin/app".to_string())]
    );
}

#[test]
fn status_is_read_again_only_when_the_process_was_scheduled() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write_host(r, 1000);
    let app = Proc {
        pid: 40,
        ..Proc::default()
    };
    write_proc(r, &app);
    let dir = r.join("proc/40");
    fs::write(dir.join("schedstat"), "1000 0 7\n").unwrap();
    let mut c = collector(r);
    c.collect().unwrap();
    let ctx = |c: &mut ProcessCollector| {
        let run = c.collect().unwrap();
        by_pid(&run.processes, 40).ctx_switches_voluntary
    };
    assert_eq!(ctx(&mut c), 11);
    // The kernel would not change the counters without scheduling the process; the fixture
    // does, to show that status is not read while schedstat's count stays the same...
    let moved = Proc {
        status_extra: "voluntary_ctxt_switches:\t99\n",
        ..app
    };
    write_proc(r, &moved);
    assert_eq!(ctx(&mut c), 11);
    // ...and is read once it moves.
    fs::write(dir.join("schedstat"), "2000 0 9\n").unwrap();
    assert_eq!(ctx(&mut c), 99);
}

#[test]
fn io_and_fds_of_an_idle_single_threaded_process_are_not_read_again() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write_host(r, 1000);
    // One thread (stat field 20 is 3 in the fixture; use a status-independent stat line).
    let dir = r.join("proc/50");
    write_proc(
        r,
        &Proc {
            pid: 50,
            ..Proc::default()
        },
    );
    let one_thread = |dir: &Path| {
        let stat = fs::read_to_string(dir.join("stat"))
            .unwrap()
            .replace(" 20 0 3 0 ", " 20 0 1 0 ");
        fs::write(dir.join("stat"), stat).unwrap();
    };
    one_thread(&dir);
    fs::write(dir.join("schedstat"), "1000 0 7\n").unwrap();
    fs::write(dir.join("io"), "syscr: 10\nsyscw: 10\nread_bytes: 0\nwrite_bytes: 0\n").unwrap();
    let mut c = collector(r);
    c.collect().unwrap();
    let run = c.collect().unwrap();
    assert_eq!(
        (run.io_reads, run.fd_reads),
        (0, 1),
        "io was read on first sight; fds are counted once"
    );
    // Not scheduled: io and fds stay as they were, even if the files say otherwise.
    fs::write(dir.join("io"), "syscr: 500\nsyscw: 10\nread_bytes: 0\nwrite_bytes: 0\n").unwrap();
    fs::write(dir.join("fd/9"), "").unwrap();
    let run = c.collect().unwrap();
    assert_eq!((run.io_reads, run.fd_reads), (0, 0));
    assert_eq!(by_pid(&run.processes, 50).io_read_ops_rate, 0.0);
    // Scheduled: both are read.
    fs::write(dir.join("schedstat"), "1500 0 8\n").unwrap();
    let run = c.collect().unwrap();
    assert_eq!((run.io_reads, run.fd_reads), (1, 1));
    let p = by_pid(&run.processes, 50);
    assert!(p.io_read_ops_rate > 0.0);
    assert_eq!(p.open_fds, 1);
    // With several threads, io and fds are read whether or not the main thread ran.
    write_proc(
        r,
        &Proc {
            pid: 50,
            ..Proc::default()
        },
    );
    let run = c.collect().unwrap();
    assert_eq!((run.io_reads, run.fd_reads), (1, 1));
}

#[test]
fn cgroup_v1_files_give_the_container_of_the_memory_controller() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write_host(r, 1000);
    write_proc(
        r,
        &Proc {
            pid: 30,
            ..Proc::default()
        },
    );
    fs::write(
        r.join("proc/30/cgroup"),
        format!("12:cpuset:/\n11:memory:/docker/{CONTAINER}\n1:name=systemd:/docker/{CONTAINER}\n"),
    )
    .unwrap();
    write_proc(
        r,
        &Proc {
            pid: 31,
            ..Proc::default()
        },
    );
    fs::write(
        r.join("proc/31/cgroup"),
        "11:memory:/user.slice\n0::/user.slice/session-2.scope\n",
    )
    .unwrap();
    let mut c = collector(r);
    c.collect().unwrap();
    let run = c.collect().unwrap();
    assert_eq!(by_pid(&run.processes, 30).container_id.as_deref(), Some(CONTAINER));
    assert_eq!(by_pid(&run.processes, 31).container_id, None);
}

#[test]
fn a_missing_proc_is_an_error_that_names_host_proc() {
    let root = tempfile::tempdir().unwrap();
    let mut c = collector(root.path());
    let error = c.collect().unwrap_err().to_string();
    assert!(error.contains("/proc"), "{error}");
}

fn rustix_page_size() -> u64 {
    // The page size the kernel uses for stat's rss field.
    let text = fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("KernelPageSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(4096, |kb| kb * 1024)
}
