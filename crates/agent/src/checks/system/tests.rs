//! The core checks over fixture `/proc` trees: exact values over two runs, counters that wrap,
//! devices that appear between runs, mounts that are read-only or vanished, and files that are
//! malformed or missing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dogwatch_model::{CheckStatus, MetricKind};
use serde_json::{Value, json};

use super::disk::{FsStats, FsUsage};
use crate::checks::sender::{Sender, SenderSettings};
use crate::checks::{Check, CheckOutput, CheckSetup, core_check};
use crate::process::HostPaths;

/// A fixture tree `<tmp>/proc/...`, rewritten between runs.
struct Fixture {
    _dir: tempfile::TempDir,
    paths: HostPaths,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let paths = HostPaths::under(dir.path());
        Fixture { _dir: dir, paths }
    }

    fn write(&self, rel: &str, text: &str) -> &Fixture {
        let path = self.paths.proc.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    fn check(&self, name: &str, instance: Value) -> Box<dyn Check> {
        let init = json!({});
        let setup = CheckSetup {
            init_config: &init,
            instance: &instance,
            index: 0,
            paths: &self.paths,
        };
        (core_check(name).unwrap().build)(&setup).unwrap()
    }
}

fn sender() -> Sender {
    Sender::new(SenderSettings::new("fixture-host".into(), vec![], 15))
}

/// Runs `check` and commits at `now`.
fn run(check: &mut dyn Check, sender: &mut Sender, now: f64) -> (CheckOutput, Vec<String>) {
    check.run(sender).unwrap();
    sender.commit(now)
}

/// metric → value for series carrying `tag` (or any, when `tag` is empty).
fn values(out: &CheckOutput, tag: &str) -> HashMap<String, f64> {
    out.series
        .iter()
        .filter(|s| tag.is_empty() || s.tags.iter().any(|t| t == tag))
        .map(|s| (s.metric.clone(), s.points[0].1))
        .collect()
}

fn close(actual: Option<&f64>, expected: f64) -> bool {
    actual.is_some_and(|a| (a - expected).abs() < 1e-9)
}

#[track_caller]
fn assert_value(values: &HashMap<String, f64>, metric: &str, expected: f64) {
    let v = values.get(metric);
    assert!(close(v, expected), "{metric} = {v:?}, expected {expected}");
}

#[test]
fn cpu_reports_percent_of_all_cores_between_two_runs() {
    let f = Fixture::new();
    f.write(
        "stat",
        "cpu  100 0 50 800 10 0 0 0 0 0\ncpu0 50 0 25 400 5 0 0 0 0 0\ncpu1 50 0 25 400 5 0 0 0 0 0\nctxt 1000\n",
    );
    let mut cpu = f.check("cpu", json!({}));
    let mut s = sender();
    let (first, _) = run(cpu.as_mut(), &mut s, 100.0);
    let v = values(&first, "");
    assert!(!v.contains_key("system.cpu.user"), "nothing on the first run");
    assert_value(&v, "system.cpu.num_cores", 2.0);
    f.write(
        "stat",
        "cpu  200 20 100 1500 30 5 5 10 0 0\ncpu0 100 10 50 750 15 2 3 5 0 0\ncpu1 100 10 50 750 15 3 2 5 0 0\nctxt 1600\n",
    );
    let (second, _) = run(cpu.as_mut(), &mut s, 115.0);
    let v = values(&second, "");
    // Δ: user 100, nice 20, system 50, idle 700, iowait 20, irq 5, softirq 5, steal 10: total 910.
    let pct = |x: f64| x / 910.0 * 100.0;
    assert_value(&v, "system.cpu.user", pct(120.0));
    assert_value(&v, "system.cpu.system", pct(60.0));
    assert_value(&v, "system.cpu.interrupt", pct(10.0));
    assert_value(&v, "system.cpu.iowait", pct(20.0));
    assert_value(&v, "system.cpu.idle", pct(700.0));
    assert_value(&v, "system.cpu.stolen", pct(10.0));
    assert_value(&v, "system.cpu.guest", 0.0);
    assert_value(&v, "system.cpu.context_switches", 600.0);
    let parts: f64 = ["user", "system", "iowait", "idle", "stolen"]
        .iter()
        .map(|p| v[&format!("system.cpu.{p}")])
        .sum();
    assert!((parts - 100.0).abs() < 1e-9, "{parts}");
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    assert_value(
        &values(&second, "core:cpu-total"),
        "system.cpu.user.total",
        200.0 / ticks,
    );
    assert!(
        values(&second, "core:cpu0").is_empty(),
        "per-CPU totals are off by default"
    );
}

#[test]
fn cpu_reports_per_cpu_totals_when_asked() {
    let f = Fixture::new();
    f.write(
        "stat",
        "cpu  100 0 50 800 10 0 0 0 0 0\ncpu0 50 0 25 400 5 0 0 0 0 0\ncpu1 50 0 25 400 5 0 0 0 0 0\n",
    );
    let mut cpu = f.check("cpu", json!({"report_total_percpu": true}));
    let (out, _) = run(cpu.as_mut(), &mut sender(), 100.0);
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    assert_value(&values(&out, "core:cpu1"), "system.cpu.idle.total", 400.0 / ticks);
}

#[test]
fn load_reports_raw_and_per_core_averages() {
    let f = Fixture::new();
    f.write(
        "stat",
        "cpu  1 1 1 1\ncpu0 1 1 1 1\ncpu1 1 1 1 1\ncpu2 1 1 1 1\ncpu3 1 1 1 1\n",
    )
    .write("loadavg", "2.00 1.00 0.40 1/80 12685\n");
    let mut load = f.check("load", json!({}));
    let (out, _) = run(load.as_mut(), &mut sender(), 100.0);
    let v = values(&out, "");
    assert_value(&v, "system.load.1", 2.0);
    assert_value(&v, "system.load.15", 0.4);
    assert_value(&v, "system.load.norm.1", 0.5);
    assert_value(&v, "system.load.norm.5", 0.25);
}

#[test]
fn memory_reports_mib_with_datadogs_used_and_swap_rates() {
    let f = Fixture::new();
    f.write(
        "meminfo",
        "MemTotal:       2097152 kB\nMemFree:         524288 kB\nMemAvailable:   1048576 kB\nBuffers:          10240 kB\nCached:          204800 kB\nSwapCached:           0 kB\nShmem:             1024 kB\nSlab:              2048 kB\nSReclaimable:      1024 kB\nPageTables:         512 kB\nCommitLimit:    1048576 kB\nCommitted_AS:    262144 kB\nSwapTotal:      1048576 kB\nSwapFree:        786432 kB\nthis line is garbage\n",
    )
    .write("vmstat", "pswpin 100\npswpout 0\n");
    let mut memory = f.check("memory", json!({}));
    let mut s = sender();
    let (first, warnings) = run(memory.as_mut(), &mut s, 100.0);
    assert_eq!(warnings.len(), 1, "the malformed line is counted: {warnings:?}");
    let v = values(&first, "");
    assert_value(&v, "system.mem.total", 2048.0);
    assert_value(&v, "system.mem.free", 512.0);
    assert_value(&v, "system.mem.used", 1536.0);
    assert_value(&v, "system.mem.usable", 1024.0);
    assert_value(&v, "system.mem.pct_usable", 0.5);
    assert_value(&v, "system.mem.cached", 200.0);
    assert_value(&v, "system.mem.buffered", 10.0);
    assert_value(&v, "system.swap.total", 1024.0);
    assert_value(&v, "system.swap.used", 256.0);
    assert_value(&v, "system.swap.pct_free", 0.75);
    assert!(!v.contains_key("system.swap.swap_in"), "a rate has no first point");
    f.write("vmstat", "pswpin 356\npswpout 0\n");
    let (second, _) = run(memory.as_mut(), &mut s, 110.0);
    // 256 pages of 4 KiB in 10 s = 0.1 MiB/s.
    assert_value(&values(&second, ""), "system.swap.swap_in", 0.1);
}

#[test]
fn memory_without_meminfo_is_an_error_naming_the_file() {
    let f = Fixture::new();
    let mut memory = f.check("memory", json!({}));
    let err = memory.run(&mut sender()).unwrap_err().to_string();
    assert!(err.contains("meminfo"), "{err}");
}

#[test]
fn file_handle_reports_use_of_the_maximum() {
    let f = Fixture::new();
    f.write("sys/fs/file-nr", "1000\t200\t8000\n");
    let mut fh = f.check("file_handle", json!({}));
    let (out, _) = run(fh.as_mut(), &mut sender(), 100.0);
    let v = values(&out, "");
    assert_value(&v, "system.fs.file_handles.allocated", 1000.0);
    assert_value(&v, "system.fs.file_handles.used", 800.0);
    assert_value(&v, "system.fs.file_handles.max", 8000.0);
    assert_value(&v, "system.fs.file_handles.in_use", 0.1);
}

const DISKSTATS_1: &str = " 254 0 vda 1000 10 20000 500 2000 20 40000 1000 0 3000 4000\n";

#[test]
fn io_reports_rates_and_iostat_gauges_with_wraps_and_new_devices() {
    let f = Fixture::new();
    f.write("diskstats", DISKSTATS_1)
        .write("vmstat", "pgpgin 100\npgpgout 200\n");
    let init = json!({});
    let instance = json!({});
    let setup = CheckSetup {
        init_config: &init,
        instance: &instance,
        index: 0,
        paths: &f.paths,
    };
    let mut io = super::io::new(&setup).unwrap();
    let mut s = sender();
    io.run_at(&mut s, 100_000.0).unwrap();
    let (first, _) = s.commit(100.0);
    assert!(
        first.series.is_empty(),
        "the first run only stores counters: {:?}",
        first.series
    );

    // 10 s later: vda's reads wrapped at 32 bits; sdb appeared.
    f.write(
        "diskstats",
        " 254 0 vda 1100 15 22048 700 2100 30 44096 1300 0 4000 4512\n   8 16 sdb 5 0 10 1 0 0 0 0 0 1 1\n",
    )
    .write("vmstat", "pgpgin 110\npgpgout 200\n");
    io.run_at(&mut s, 110_000.0).unwrap();
    let (second, _) = s.commit(110.0);
    let vda = values(&second, "device:vda");
    assert_value(&vda, "system.io.r_s", 10.0);
    assert_value(&vda, "system.io.w_s", 10.0);
    assert_value(&vda, "system.io.rrqm_s", 0.5);
    // 2048 sectors of 512 bytes in 10 s = 102.4 KiB/s.
    assert_value(&vda, "system.io.rkb_s", 102.4);
    assert_value(&vda, "system.io.wkb_s", 204.8);
    // (1 MiB + 2 MiB) / 512 / 200 IOs = 30.72 sectors.
    assert_value(&vda, "system.io.avg_rq_sz", 30.72);
    assert_value(&vda, "system.io.r_await", 2.0);
    assert_value(&vda, "system.io.w_await", 3.0);
    assert_value(&vda, "system.io.await", 2.5);
    assert_value(&vda, "system.io.avg_q_sz", 0.05);
    // 1000 ms busy in 10 000 ms = 10 %.
    assert_value(&vda, "system.io.util", 10.0);
    assert_value(&vda, "system.io.svctm", 5.0);
    assert_value(&values(&second, ""), "system.io.block_in", 4096.0);
    let sdb = values(&second, "device:sdb");
    assert!(
        sdb.is_empty(),
        "a device new since the last run has nothing yet: {sdb:?}"
    );

    // A 32-bit counter that wraps still gives its true increase.
    f.write(
        "diskstats",
        &format!(
            " 254 0 vda 1200 15 22048 700 2100 30 44096 1300 0 4000 {}\n   8 16 sdb 5 0 10 1 0 0 0 0 0 1 1\n",
            1024 - 1
        ),
    );
    io.run_at(&mut s, 120_000.0).unwrap();
    let (third, _) = s.commit(120.0);
    let vda = values(&third, "device:vda");
    // weighted went 4512 → wrapped → 1023: (2^32 − 4512 + 1023 + 1) / 1024 / 10 s.
    let expected = (((1u64 << 32) - 4512 + 1024) as f64 / 1024.0 / 10.0 * 100.0).round() / 100.0;
    assert_value(&vda, "system.io.avg_q_sz", expected);
    assert_value(&values(&third, "device:sdb"), "system.io.rkb_s", 0.0);
}

#[test]
fn network_reports_per_interface_rates_and_drops_a_wrapped_counter() {
    let f = Fixture::new();
    let dev = |eth0_rx: u64, extra: &str| {
        format!(
            "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n  eth0: {eth0_rx} 100 1 2 0 0 0 0 5000 50 3 4 0 0 0 0\n{extra}"
        )
    };
    f.write("net/dev", &dev(10_000, ""))
        .write(
            "net/snmp",
            "Tcp: ActiveOpens CurrEstab RetransSegs\nTcp: 10 4 100\nUdp: InDatagrams NoPorts\nUdp: 50 1\n",
        )
        .write("net/netstat", "TcpExt: ListenOverflows TCPBacklogDrop\nTcpExt: 0 0\n")
        .write("sys/net/netfilter/nf_conntrack_count", "12\n")
        .write("sys/net/netfilter/nf_conntrack_max", "65536\n");
    let mut net = f.check("network", json!({"collect_count_metrics": true}));
    let mut s = sender();
    let (first, _) = run(net.as_mut(), &mut s, 100.0);
    let v = values(&first, "");
    assert_value(&v, "system.net.tcp.current_established", 4.0);
    assert_value(&v, "system.net.conntrack.max", 65536.0);
    assert!(!v.contains_key("system.net.bytes_rcvd"));

    f.write("net/dev", &dev(20_000, "  eth1: 10 1 0 0 0 0 0 0 10 1 0 0 0 0 0 0\n"))
        .write(
            "net/snmp",
            "Tcp: ActiveOpens CurrEstab RetransSegs\nTcp: 30 5 110\nUdp: InDatagrams NoPorts\nUdp: 60 1\n",
        );
    let (second, _) = run(net.as_mut(), &mut s, 110.0);
    let eth0 = values(&second, "device:eth0");
    assert_value(&eth0, "system.net.bytes_rcvd", 1000.0);
    assert_value(&eth0, "system.net.bytes_sent", 0.0);
    assert!(
        values(&second, "device:lo").is_empty(),
        "an interface with no bytes is skipped"
    );
    assert!(
        values(&second, "device:eth1").is_empty(),
        "a new interface has no rate yet"
    );
    let v = values(&second, "");
    assert_value(&v, "system.net.tcp.active_opens", 2.0);
    assert_value(&v, "system.net.tcp.retrans_segs", 1.0);
    assert_value(&v, "system.net.udp.in_datagrams", 1.0);
    assert_value(&v, "system.net.tcp.active_opens.count", 20.0);
    let kinds: Vec<MetricKind> = second
        .series
        .iter()
        .filter(|s| s.metric == "system.net.tcp.active_opens.count")
        .map(|s| s.kind)
        .collect();
    assert_eq!(kinds, [MetricKind::Count]);

    // eth0's receive counter wrapped: no point for it this run, and it resumes after.
    f.write("net/dev", &dev(500, ""));
    let (third, _) = run(net.as_mut(), &mut s, 120.0);
    assert!(!values(&third, "device:eth0").contains_key("system.net.bytes_rcvd"));
    f.write("net/dev", &dev(1500, ""));
    let (fourth, _) = run(net.as_mut(), &mut s, 130.0);
    assert_value(&values(&fourth, "device:eth0"), "system.net.bytes_rcvd", 100.0);
}

#[test]
fn network_excludes_interfaces_by_name_and_pattern() {
    let f = Fixture::new();
    f.write(
        "net/dev",
        "h1\nh2\n  eth0: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n  docker0: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n  veth12: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n  bad line\n",
    );
    let mut net = f.check(
        "network",
        json!({"excluded_interfaces": ["docker0"], "excluded_interface_re": "veth.*"}),
    );
    let mut s = sender();
    let (_, warnings) = run(net.as_mut(), &mut s, 100.0);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("net/dev") && w.contains("1 malformed")),
        "{warnings:?}"
    );
    f.write(
        "net/dev",
        "h1\nh2\n  eth0: 2 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n  docker0: 2 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n  veth12: 2 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n",
    );
    let (out, _) = run(net.as_mut(), &mut s, 101.0);
    let devices: std::collections::BTreeSet<&str> = out
        .series
        .iter()
        .flat_map(|s| s.tags.iter())
        .map(String::as_str)
        .collect();
    assert!(devices.contains("device:eth0"));
    assert!(
        !devices.contains("device:docker0") && !devices.contains("device:veth12"),
        "{devices:?}"
    );
}

/// File system sizes by mount point; a missing one is a vanished mount.
struct Table(HashMap<PathBuf, FsUsage>);

impl FsStats for Table {
    fn usage(&self, mount_point: &Path) -> std::io::Result<FsUsage> {
        self.0
            .get(mount_point)
            .copied()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
}

fn usage(blocks: u64, free: u64, avail: u64, files: u64, ffree: u64, read_only: bool) -> FsUsage {
    FsUsage {
        fragment_size: 4096,
        blocks,
        blocks_free: free,
        blocks_available: avail,
        files,
        files_free: ffree,
        read_only,
    }
}

fn disk_check(f: &Fixture, instance: Value, init: Value) -> super::disk::Disk {
    let table = Table(HashMap::from([
        (PathBuf::from("/"), usage(1000, 400, 300, 100, 25, false)),
        (PathBuf::from("/dev/shm"), usage(256, 256, 256, 10, 9, false)),
        (PathBuf::from("/proc"), usage(0, 0, 0, 0, 0, false)),
        (PathBuf::from("/media/cd"), usage(100, 0, 0, 0, 0, true)),
        (PathBuf::from("/mnt/ro disk"), usage(100, 50, 50, 0, 0, true)),
        (PathBuf::from("/proc/sys/fs/binfmt_misc"), usage(1, 1, 1, 1, 1, false)),
    ]));
    let setup = CheckSetup {
        init_config: &init,
        instance: &instance,
        index: 0,
        paths: &f.paths,
    };
    super::disk::with_fs(&setup, Box::new(table)).unwrap()
}

const MOUNTS: &str = "/dev/vda / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\ntmpfs /dev/shm tmpfs rw 0 0\n/dev/sr0 /media/cd iso9660 ro 0 0\n/dev/sdb1 /mnt/ro\\040disk ext4 ro 0 0\nbinfmt_misc /proc/sys/fs/binfmt_misc binfmt_misc rw 0 0\n/dev/sdc1 /mnt/gone ext4 rw 0 0\nnone /run/none tmpfs rw 0 0\n";

#[test]
fn disk_reports_usage_per_partition_with_datadogs_default_exclusions() {
    let f = Fixture::new();
    f.write("self/mounts", MOUNTS).write("diskstats", DISKSTATS_1);
    let mut disk = disk_check(&f, json!({}), json!({}));
    let mut s = sender();
    let (out, warnings) = run(&mut disk, &mut s, 100.0);
    let root = values(&out, "device:/dev/vda");
    assert_value(&root, "system.disk.total", 4000.0);
    assert_value(&root, "system.disk.free", 1200.0);
    assert_value(&root, "system.disk.used", 2400.0);
    assert_value(&root, "system.disk.in_use", 0.667);
    assert_value(&root, "system.disk.utilized", 66.7);
    assert_value(&root, "system.fs.inodes.total", 100.0);
    assert_value(&root, "system.fs.inodes.in_use", 0.75);
    let devices: std::collections::BTreeSet<&str> = out
        .series
        .iter()
        .filter(|s| s.metric == "system.disk.total")
        .flat_map(|s| s.tags.iter())
        .filter(|t| t.starts_with("device:"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        devices.into_iter().collect::<Vec<_>>(),
        ["device:/dev/sdb1", "device:/dev/vda", "device:tmpfs"],
        "proc (size 0), iso9660, binfmt_misc, device none and the vanished mount are left out"
    );
    assert!(
        root.contains_key("system.disk.total") && values(&out, "device_name:vda").contains_key("system.disk.total")
    );
    assert!(
        warnings.iter().any(|w| w.contains("/mnt/gone")),
        "the vanished mount is a counted warning: {warnings:?}"
    );
    // read_time/write_time come from diskstats as monotonic counts: nothing on the first run.
    assert!(!values(&out, "device:vda").contains_key("system.disk.read_time"));
    f.write(
        "diskstats",
        " 254 0 vda 1100 15 22048 700 2100 30 44096 1300 0 4000 4512\n",
    );
    let (out, _) = run(&mut disk, &mut s, 110.0);
    let vda = values(&out, "device:vda");
    assert_value(&vda, "system.disk.read_time", 200.0);
    assert_value(&vda, "system.disk.write_time", 300.0);
    assert_value(&vda, "system.disk.read_time_pct", 2.0);
}

#[test]
fn disk_options_mount_tags_filters_and_the_read_write_service_check() {
    let f = Fixture::new();
    f.write("self/mounts", MOUNTS).write("diskstats", "");
    let mut disk = disk_check(
        &f,
        json!({"use_mount": true, "tag_by_filesystem": true, "service_check_rw": true, "file_system_exclude": ["tmpfs"]}),
        json!({}),
    );
    let (out, _) = run(&mut disk, &mut sender(), 100.0);
    let ro = values(&out, "device:/mnt/ro disk");
    assert_value(&ro, "system.disk.total", 400.0);
    assert!(values(&out, "filesystem:ext4").contains_key("system.disk.total"));
    assert!(values(&out, "device:/dev/shm").is_empty(), "tmpfs excluded by option");
    let rw: Vec<(String, CheckStatus)> = out
        .service_checks
        .iter()
        .map(|c| (c.tags[0].clone(), c.status))
        .collect();
    assert!(
        rw.contains(&("device:/mnt/ro disk".into(), CheckStatus::Critical)),
        "{rw:?}"
    );
    assert!(rw.contains(&("device:/".into(), CheckStatus::Ok)), "{rw:?}");

    // A global exclusion list replaces Datadog's defaults, so iso9660 comes back.
    let mut disk = disk_check(&f, json!({}), json!({"file_system_global_exclude": ["tmpfs"]}));
    let (out, _) = run(&mut disk, &mut sender(), 100.0);
    assert!(values(&out, "device:/dev/sr0").contains_key("system.disk.total"));
}

#[test]
fn a_malformed_stat_is_an_error_and_a_missing_file_names_itself() {
    let f = Fixture::new();
    f.write("stat", "intr 1 2 3\n");
    let err = f.check("cpu", json!({})).run(&mut sender()).unwrap_err().to_string();
    assert!(err.contains("stat") && err.contains("no `cpu` line"), "{err}");
    let err = f.check("load", json!({})).run(&mut sender()).unwrap_err().to_string();
    assert!(err.contains("loadavg"), "{err}");
    f.write("loadavg", "garbage\n");
    let err = f.check("load", json!({})).run(&mut sender()).unwrap_err().to_string();
    assert!(err.contains("expected three load averages"), "{err}");
}
