//! Process history in the SQLite store: lives, samples, downsampling and pruning.

use std::time::Instant;

use dogwatch_model::ProcessRecord;
use dogwatch_store::{
    ProcessHistoryBatch, ProcessKey, ProcessSampleQuery, SeenProcess, SeenProcessQuery, SqliteStore, Store,
};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("dogwatch.db")).unwrap();
    (dir, store)
}

/// A process with every metric derived from `cpu`, so tests can tell samples apart.
fn process(pid: i32, create_time_ms: i64, cpu: f32) -> ProcessRecord {
    ProcessRecord {
        pid,
        ppid: 1,
        pgroup: pid,
        user: "www-data".into(),
        uid: 33,
        gid: 33,
        name: "nginx".into(),
        cmdline: vec!["nginx".into(), "-g".into(), "daemon off;".into()],
        exe: "/usr/sbin/nginx".into(),
        cwd: "/".into(),
        state: "S".into(),
        create_time_ms,
        cpu_user_pct: cpu / 2.0,
        cpu_system_pct: cpu / 2.0,
        cpu_total_pct: cpu,
        rss: 1_000 * cpu as u64,
        vms: 2_000 * cpu as u64,
        swap: 0,
        threads: 4,
        open_fds: 10,
        io_read_ops_rate: cpu,
        io_write_ops_rate: cpu,
        io_read_bytes_rate: cpu,
        io_write_bytes_rate: cpu,
        ctx_switches_voluntary: 0,
        ctx_switches_involuntary: 0,
        nice: 0,
        container_id: None,
        tags: vec!["service:web".into()],
    }
}

fn batch(host: &str, ts_ms: i64, processes: Vec<ProcessRecord>) -> ProcessHistoryBatch {
    ProcessHistoryBatch {
        host: host.into(),
        ts_ms,
        processes,
    }
}

fn key(host: &str, pid: i32, create_time_ms: i64) -> ProcessKey {
    ProcessKey {
        host: host.into(),
        pid,
        create_time_ms,
    }
}

fn samples_query(key: ProcessKey, from_ms: i64, to_ms: i64) -> ProcessSampleQuery {
    ProcessSampleQuery {
        key,
        from_ms,
        to_ms,
        max_points: None,
    }
}

fn seen_query(from_ms: i64, to_ms: i64) -> SeenProcessQuery {
    SeenProcessQuery {
        from_ms,
        to_ms,
        host: None,
        pid: None,
        limit: None,
    }
}

fn keys(lives: &[SeenProcess]) -> Vec<(&str, i32, i64)> {
    lives
        .iter()
        .map(|l| (l.key.host.as_str(), l.key.pid, l.key.create_time_ms))
        .collect()
}

/// Three runs on two hosts: pid 10 on both, pid 20 on h1 until it exits after the second run,
/// pid 30 on h1 which exits and whose pid is reused by a new process in the third run.
fn three_runs(store: &SqliteStore) {
    for (i, ts) in [1_000, 2_000, 3_000].into_iter().enumerate() {
        let cpu = (i + 1) as f32;
        let mut h1 = vec![process(10, 100, cpu)];
        if ts <= 2_000 {
            h1.push(process(20, 200, cpu));
        }
        h1.push(if ts == 1_000 {
            process(30, 300, cpu)
        } else {
            process(30, 2_500, cpu)
        });
        store.write_process_history(&batch("h1", ts, h1)).unwrap();
        store
            .write_process_history(&batch("h2", ts, vec![process(10, 150, cpu * 10.0)]))
            .unwrap();
    }
}

#[test]
fn samples_are_read_back_by_time_within_a_window() {
    let (_dir, store) = store();
    three_runs(&store);
    let all = store
        .process_samples(&samples_query(key("h1", 10, 100), 0, i64::MAX))
        .unwrap();
    let summary: Vec<_> = all.iter().map(|s| (s.ts_ms, s.cpu_total_pct, s.rss)).collect();
    assert_eq!(summary, [(1_000, 1.0, 1_000), (2_000, 2.0, 2_000), (3_000, 3.0, 3_000)]);
    assert_eq!(
        (
            all[0].cpu_user_pct,
            all[0].vms,
            all[0].threads,
            all[0].open_fds,
            all[0].io_write_ops_rate
        ),
        (0.5, 2_000, 4, 10, 1.0)
    );

    let window = store
        .process_samples(&samples_query(key("h1", 10, 100), 1_500, 3_000))
        .unwrap();
    assert_eq!(window.iter().map(|s| s.ts_ms).collect::<Vec<_>>(), [2_000, 3_000]);
    let other_host = store
        .process_samples(&samples_query(key("h2", 10, 150), 2_000, 2_000))
        .unwrap();
    assert_eq!(other_host.iter().map(|s| s.cpu_total_pct).collect::<Vec<_>>(), [20.0]);
    assert!(
        store
            .process_samples(&samples_query(key("h2", 10, 100), 0, i64::MAX))
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .process_samples(&samples_query(key("h3", 10, 100), 0, i64::MAX))
            .unwrap()
            .is_empty()
    );

    let hosts = store.hosts().unwrap();
    let seen: Vec<_> = hosts
        .iter()
        .map(|h| (h.hostname.as_str(), h.first_seen_ms, h.last_seen_ms))
        .collect();
    assert_eq!(
        seen,
        [("h1", 1_000, 3_000), ("h2", 1_000, 3_000)],
        "runs mark their host as seen"
    );
}

#[test]
fn a_process_that_disappears_keeps_its_first_and_last_seen() {
    let (_dir, store) = store();
    three_runs(&store);
    let mut query = seen_query(0, i64::MAX);
    query.pid = Some(20);
    let lives = store.seen_processes(&query).unwrap();
    assert_eq!(keys(&lives), [("h1", 20, 200)]);
    assert_eq!((lives[0].first_seen_ms, lives[0].last_seen_ms), (1_000, 2_000));
    assert_eq!(
        lives[0].record,
        process(20, 200, 2.0),
        "the record is the last one written"
    );
}

#[test]
fn a_reused_pid_with_a_new_create_time_is_a_separate_life() {
    let (_dir, store) = store();
    three_runs(&store);
    let mut query = seen_query(0, i64::MAX);
    query.pid = Some(30);
    let lives = store.seen_processes(&query).unwrap();
    assert_eq!(keys(&lives), [("h1", 30, 300), ("h1", 30, 2_500)]);
    let seen: Vec<_> = lives.iter().map(|l| (l.first_seen_ms, l.last_seen_ms)).collect();
    assert_eq!(seen, [(1_000, 1_000), (2_000, 3_000)]);
    let old = store
        .process_samples(&samples_query(key("h1", 30, 300), 0, i64::MAX))
        .unwrap();
    let new = store
        .process_samples(&samples_query(key("h1", 30, 2_500), 0, i64::MAX))
        .unwrap();
    assert_eq!(old.iter().map(|s| s.ts_ms).collect::<Vec<_>>(), [1_000]);
    assert_eq!(new.iter().map(|s| s.ts_ms).collect::<Vec<_>>(), [2_000, 3_000]);
}

#[test]
fn seen_processes_are_ordered_filtered_and_limited() {
    let (_dir, store) = store();
    three_runs(&store);
    let all = store.seen_processes(&seen_query(0, i64::MAX)).unwrap();
    assert_eq!(
        keys(&all),
        [
            ("h1", 10, 100),
            ("h1", 20, 200),
            ("h1", 30, 300),
            ("h1", 30, 2_500),
            ("h2", 10, 150)
        ]
    );
    let mut query = seen_query(0, i64::MAX);
    query.host = Some("h2".into());
    assert_eq!(keys(&store.seen_processes(&query).unwrap()), [("h2", 10, 150)]);
    let mut query = seen_query(0, i64::MAX);
    query.limit = Some(2);
    assert_eq!(
        keys(&store.seen_processes(&query).unwrap()),
        [("h1", 10, 100), ("h1", 20, 200)]
    );
}

#[test]
fn seen_processes_are_the_lives_overlapping_the_window() {
    let (_dir, store) = store();
    // Life 1 is seen 1000-2000, life 2 1000-5000, life 3 only at 4000.
    store
        .write_process_history(&batch("h", 1_000, vec![process(1, 0, 1.0), process(2, 0, 1.0)]))
        .unwrap();
    store
        .write_process_history(&batch("h", 2_000, vec![process(1, 0, 1.0), process(2, 0, 1.0)]))
        .unwrap();
    store
        .write_process_history(&batch("h", 4_000, vec![process(2, 0, 1.0), process(3, 0, 1.0)]))
        .unwrap();
    store
        .write_process_history(&batch("h", 5_000, vec![process(2, 0, 1.0)]))
        .unwrap();
    let pids = |from_ms, to_ms| -> Vec<i32> {
        let lives = store.seen_processes(&seen_query(from_ms, to_ms)).unwrap();
        lives.iter().map(|l| l.key.pid).collect()
    };
    assert_eq!(
        pids(3_000, 4_500),
        [2, 3],
        "a life entirely before the window is left out"
    );
    assert_eq!(pids(2_500, 3_500), [2], "a life spanning the window is in it");
    assert_eq!(pids(2_000, 2_000), [1, 2], "both ends are inclusive");
    assert_eq!(pids(4_000, 4_000), [2, 3]);
    assert_eq!(pids(0, 999), Vec::<i32>::new(), "lives after the window are left out");
    assert_eq!(pids(5_001, 9_000), Vec::<i32>::new());
}

#[test]
fn max_points_averages_samples_and_keeps_unreadable_values() {
    let (_dir, store) = store();
    // Four runs 10 s apart, averaged into two points of two runs each. IO is readable in
    // only one run of the first pair and in neither of the second.
    let runs = [
        (0, 2.0, 10.0, 8),
        (10_000, 4.0, -1.0, -1),
        (20_000, 6.0, -1.0, -1),
        (30_000, 9.0, -1.0, -1),
    ];
    for (ts, cpu, io, fds) in runs {
        let mut p = process(7, 0, cpu);
        p.io_read_bytes_rate = io;
        p.io_write_ops_rate = io;
        p.open_fds = fds;
        store.write_process_history(&batch("h", ts, vec![p])).unwrap();
    }
    let mut query = samples_query(key("h", 7, 0), 0, 30_000);
    query.max_points = Some(2);
    let points = store.process_samples(&query).unwrap();
    let summary: Vec<_> = points
        .iter()
        .map(|s| {
            (
                s.ts_ms,
                s.cpu_total_pct,
                s.cpu_user_pct,
                s.rss,
                s.open_fds,
                s.io_read_bytes_rate,
                s.io_write_ops_rate,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (0, 3.0, 1.5, 3_000, 8, 10.0, 10.0),
            (15_001, 7.5, 3.75, 7_500, -1, -1.0, -1.0)
        ],
        "the 30,001 ms span is cut into buckets of 15,001 ms"
    );

    query.max_points = Some(4);
    assert_eq!(
        store.process_samples(&query).unwrap().len(),
        4,
        "no more samples than max_points: all"
    );
    query.max_points = Some(1);
    let one = store.process_samples(&query).unwrap();
    assert_eq!((one.len(), one[0].ts_ms, one[0].cpu_total_pct), (1, 0, 5.25));
}

#[test]
fn writing_the_same_life_and_time_twice_does_not_duplicate() {
    let (_dir, store) = store();
    store
        .write_process_history(&batch("h", 1_000, vec![process(5, 0, 1.0)]))
        .unwrap();
    store
        .write_process_history(&batch("h", 1_000, vec![process(5, 0, 2.0)]))
        .unwrap();
    let samples = store
        .process_samples(&samples_query(key("h", 5, 0), 0, i64::MAX))
        .unwrap();
    assert_eq!(
        samples.iter().map(|s| (s.ts_ms, s.cpu_total_pct)).collect::<Vec<_>>(),
        [(1_000, 2.0)],
        "the second write replaces the first"
    );
    let lives = store.seen_processes(&seen_query(0, i64::MAX)).unwrap();
    assert_eq!(lives.len(), 1);
    assert_eq!(lives[0].record.cpu_total_pct, 2.0);
}

#[test]
fn a_late_older_run_does_not_move_a_life_back() {
    let (_dir, store) = store();
    store
        .write_process_history(&batch("h", 2_000, vec![process(5, 0, 2.0)]))
        .unwrap();
    store
        .write_process_history(&batch("h", 1_000, vec![process(5, 0, 1.0)]))
        .unwrap();
    let lives = store.seen_processes(&seen_query(0, i64::MAX)).unwrap();
    assert_eq!((lives[0].first_seen_ms, lives[0].last_seen_ms), (1_000, 2_000));
    assert_eq!(lives[0].record.cpu_total_pct, 2.0, "the record stays the newest run's");
    let samples = store
        .process_samples(&samples_query(key("h", 5, 0), 0, i64::MAX))
        .unwrap();
    assert_eq!(samples.iter().map(|s| s.ts_ms).collect::<Vec<_>>(), [1_000, 2_000]);
}

#[test]
fn non_finite_values_are_stored_as_unreadable() {
    let (_dir, store) = store();
    let mut p = process(5, 0, 1.0);
    p.cpu_total_pct = f32::NAN;
    p.io_read_ops_rate = f32::INFINITY;
    store.write_process_history(&batch("h", 1_000, vec![p])).unwrap();
    let samples = store
        .process_samples(&samples_query(key("h", 5, 0), 0, i64::MAX))
        .unwrap();
    assert_eq!((samples[0].cpu_total_pct, samples[0].io_read_ops_rate), (-1.0, -1.0));
    let lives = store.seen_processes(&seen_query(0, i64::MAX)).unwrap();
    assert_eq!(
        (lives[0].record.cpu_total_pct, lives[0].record.io_read_ops_rate),
        (-1.0, -1.0)
    );
}

#[test]
fn prune_deletes_old_samples_and_lives_and_counts_them() {
    let (_dir, store) = store();
    three_runs(&store);
    // Before 2000: the 1000 samples of h1 pids 10, 20, 30(300) and h2 pid 10, and life
    // h1 30(300), last seen at 1000.
    assert_eq!(store.prune_process_history(2_000).unwrap(), 4 + 1);
    let all = store.seen_processes(&seen_query(0, i64::MAX)).unwrap();
    assert_eq!(
        keys(&all),
        [("h1", 10, 100), ("h1", 20, 200), ("h1", 30, 2_500), ("h2", 10, 150)]
    );
    let left = store
        .process_samples(&samples_query(key("h1", 10, 100), 0, i64::MAX))
        .unwrap();
    assert_eq!(left.iter().map(|s| s.ts_ms).collect::<Vec<_>>(), [2_000, 3_000]);
    assert_eq!(
        store.prune_process_history(2_000).unwrap(),
        0,
        "nothing is left to prune"
    );

    // Before 3000: four samples at 2000, and the life of h1 pid 20, last seen at 2000.
    assert_eq!(store.prune_process_history(3_000).unwrap(), 4 + 1);
    assert_eq!(store.seen_processes(&seen_query(0, i64::MAX)).unwrap().len(), 3);
    assert_eq!(store.prune_process_history(i64::MAX).unwrap(), 3 + 3);
    assert!(store.seen_processes(&seen_query(0, i64::MAX)).unwrap().is_empty());
}

#[test]
fn prune_deletes_more_rows_than_one_statement_does() {
    let (_dir, store) = store();
    // 24 runs of 500 processes: 12,000 samples, more than one prune statement deletes.
    for run in 0..24 {
        let processes = (0..500).map(|pid| process(pid, 0, 1.0)).collect();
        store
            .write_process_history(&batch("h", run * 10_000, processes))
            .unwrap();
    }
    assert_eq!(store.prune_process_history(230_000).unwrap(), 23 * 500);
    let samples = store
        .process_samples(&samples_query(key("h", 499, 0), 0, i64::MAX))
        .unwrap();
    assert_eq!(samples.iter().map(|s| s.ts_ms).collect::<Vec<_>>(), [230_000]);
    assert_eq!(store.seen_processes(&seen_query(0, i64::MAX)).unwrap().len(), 500);
}

#[test]
fn history_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dogwatch.db");
    three_runs(&SqliteStore::open(&path).unwrap());
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(reopened.seen_processes(&seen_query(0, i64::MAX)).unwrap().len(), 5);
    let samples = reopened
        .process_samples(&samples_query(key("h2", 10, 150), 0, i64::MAX))
        .unwrap();
    assert_eq!(samples.len(), 3);
}

/// Prints how many bytes the database file takes per sample row and how long one run takes
/// to write, for 200 runs of 500 processes with a realistic mix of idle and busy processes.
/// Run with `cargo test -p dogwatch-store --release --test process_history -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn measure_size_and_write_time() {
    const RUNS: i64 = 200;
    const PROCESSES: i32 = 500;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dogwatch.db");
    let store = SqliteStore::open(&path).unwrap();
    // xorshift64*, so that the data is the same every time without a dependency.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut random = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let base: Vec<ProcessRecord> = (0..PROCESSES)
        .map(|i| {
            let mut p = process(
                1 + i * 37 + (random() % 37) as i32,
                1_700_000_000_000 - (random() % 10_000_000) as i64,
                0.0,
            );
            p.cmdline = vec![
                format!("/usr/bin/worker-{i}"),
                "--config".into(),
                "/etc/worker/config.yaml".into(),
                format!("--id={}", random() % 100_000),
            ];
            p.tags = vec![
                "env:prod".into(),
                "service:worker".into(),
                format!("command:worker-{i}"),
            ];
            p.rss = 5_000_000 + random() % 500_000_000;
            p.vms = p.rss * 3 + random() % 1_000_000_000;
            p.threads = 1 + (random() % 64) as i32;
            p
        })
        .collect();
    let mut write_time = std::time::Duration::ZERO;
    for run in 0..RUNS {
        let processes = base
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut p = p.clone();
                // A fifth busy, the rest idle; the agent cannot read IO and fds of a third.
                let busy = i % 5 == 0;
                let unreadable = i % 3 == 0;
                if busy {
                    p.cpu_user_pct = (random() % 10_000) as f32 / 100.0;
                    p.cpu_system_pct = (random() % 2_000) as f32 / 100.0;
                    p.cpu_total_pct = p.cpu_user_pct + p.cpu_system_pct;
                    p.rss += random() % 1_000_000;
                }
                let rate = |r: u64| if busy { (r % 1_000_000) as f32 / 7.0 } else { 0.0 };
                (
                    p.io_read_bytes_rate,
                    p.io_write_bytes_rate,
                    p.io_read_ops_rate,
                    p.io_write_ops_rate,
                ) = if unreadable {
                    (-1.0, -1.0, -1.0, -1.0)
                } else {
                    (
                        rate(random()),
                        rate(random()),
                        rate(random()) / 100.0,
                        rate(random()) / 100.0,
                    )
                };
                p.open_fds = if unreadable { -1 } else { 3 + (random() % 200) as i32 };
                p
            })
            .collect();
        let batch = batch("host-1.example.com", 1_700_000_000_000 + run * 10_000, processes);
        let start = Instant::now();
        store.write_process_history(&batch).unwrap();
        write_time += start.elapsed();
    }
    store.flush().unwrap();
    let samples = (RUNS * i64::from(PROCESSES)) as f64;
    let file_bytes = std::fs::metadata(&path).unwrap().len() as f64;
    println!(
        "{RUNS} runs x {PROCESSES} processes: {:.1} bytes per sample row ({:.1} MB file), {:.2} ms per run",
        file_bytes / samples,
        file_bytes / 1e6,
        write_time.as_secs_f64() * 1e3 / RUNS as f64
    );
}
