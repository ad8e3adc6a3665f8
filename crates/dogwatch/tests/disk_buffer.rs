//! The forwarder against a real server: payloads sent while the server is down wait on
//! disk and arrive exactly once, in order, after the server (or the agent) restarts.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dogwatch_agent::config::CompressorKind;
use dogwatch_agent::forwarder::{Forwarder, ForwarderHandle, ForwarderSettings};
use dogwatch_agent::shutdown::{self, ShutdownTrigger};
use dogwatch_model::{CheckRun, CheckStatus, endpoints};
use dogwatch_server::{Server, ServerSettings};
use dogwatch_store::{CheckRunQuery, SqliteStore, Store};
use tokio::task::JoinHandle;

const KEY: &str = "feedfacefeedfacefeedfacefeedface";

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

struct RunningServer {
    stop: tokio::sync::oneshot::Sender<()>,
    task: JoinHandle<Result<(), dogwatch_server::ServerError>>,
}

async fn start_server(addr: SocketAddr, db: &Path) -> RunningServer {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(db).unwrap());
    let server = Server::bind(
        ServerSettings {
            listen: addr,
            ..Default::default()
        },
        store,
        vec![KEY.into()],
    )
    .await
    .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    RunningServer { stop, task }
}

async fn stop_server(server: RunningServer) {
    let _ = server.stop.send(());
    server.task.await.unwrap().unwrap();
}

struct RunningForwarder {
    handle: ForwarderHandle,
    stop: ShutdownTrigger,
    task: JoinHandle<()>,
}

/// Settings for a test: short timeouts and backoff; a disk buffer when `disk` is given.
fn settings(addr: SocketAddr, api_key: &str, disk: Option<&Path>) -> ForwarderSettings {
    ForwarderSettings {
        server_url: format!("http://{addr}"),
        api_key: api_key.into(),
        compressor: CompressorKind::Zstd,
        timeout: Duration::from_secs(2),
        memory_max_bytes: 1 << 20,
        disk_dir: disk.map(Path::to_path_buf),
        disk_max_bytes: if disk.is_some() { 8 << 20 } else { 0 },
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        drain_timeout: Duration::from_secs(1),
        tls: Default::default(),
    }
}

fn start_forwarder(addr: SocketAddr, disk: &Path) -> RunningForwarder {
    start_forwarder_with(settings(addr, KEY, Some(disk)))
}

fn start_forwarder_with(settings: ForwarderSettings) -> RunningForwarder {
    let forwarder = Forwarder::new(settings).unwrap();
    let handle = forwarder.handle();
    let (stop, signal) = shutdown::channel();
    let task = tokio::spawn(forwarder.run(signal));
    RunningForwarder { handle, stop, task }
}

async fn stop_forwarder(forwarder: RunningForwarder) {
    forwarder.stop.trigger();
    forwarder.task.await.unwrap();
}

fn submit(handle: &ForwarderHandle, seq: std::ops::Range<u32>) {
    for n in seq {
        let run = CheckRun {
            check: "test.seq".into(),
            host_name: "h".into(),
            timestamp: None,
            status: CheckStatus::Ok,
            message: n.to_string(),
            tags: vec![],
        };
        handle.submit_json(endpoints::CHECK_RUN_V1, &vec![run]);
    }
}

fn received(db: &Path) -> Vec<u32> {
    let store = SqliteStore::open(db).unwrap();
    let query = CheckRunQuery {
        check: Some("test.seq".into()),
        ..Default::default()
    };
    store
        .check_runs(&query)
        .unwrap()
        .into_iter()
        .map(|r| r.run.message.parse().unwrap())
        .collect()
}

/// Polls `done` every 50 ms for at most 20 s.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_wait_on_disk_while_the_server_is_down_and_arrive_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (db, disk) = (dir.path().join("dogwatch.db"), dir.path().join("buffer"));
    let addr = free_addr();
    let server = start_server(addr, &db).await;
    let forwarder = start_forwarder(addr, &disk);

    submit(&forwarder.handle, 0..5);
    wait_until("the first payloads arrive", || received(&db).len() == 5).await;

    stop_server(server).await;
    submit(&forwarder.handle, 5..25);
    wait_until("payloads accumulate on disk", || {
        forwarder.handle.queue_state().on_disk == 20
    })
    .await;
    assert_eq!(files_in(&disk), 20);
    assert!(forwarder.handle.counts().retried > 0);

    let server = start_server(addr, &db).await;
    wait_until("the buffered payloads arrive", || forwarder.handle.is_idle()).await;
    assert_eq!(received(&db), (0..25).collect::<Vec<_>>());
    assert_eq!(files_in(&disk), 0);
    let counts = forwarder.handle.counts();
    assert_eq!((counts.success, counts.dropped()), (25, 0));

    stop_forwarder(forwarder).await;
    stop_server(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_kept_on_disk_survive_an_agent_restart_and_arrive_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (db, disk) = (dir.path().join("dogwatch.db"), dir.path().join("buffer"));
    let addr = free_addr();

    let first = start_forwarder(addr, &disk);
    submit(&first.handle, 0..10);
    wait_until("the first attempt fails", || first.handle.counts().retried > 0).await;
    stop_forwarder(first).await;
    assert_eq!(
        files_in(&disk),
        10,
        "every unsent payload is on disk after the agent stops"
    );

    let second = start_forwarder(addr, &disk);
    assert_eq!(second.handle.queue_state().on_disk, 10);
    submit(&second.handle, 10..15);
    let server = start_server(addr, &db).await;
    wait_until("every payload arrives", || {
        second.handle.is_idle() && received(&db).len() >= 15
    })
    .await;
    assert_eq!(received(&db), (0..15).collect::<Vec<_>>());

    stop_forwarder(second).await;
    stop_server(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_buffer_drops_the_oldest_payloads_counts_them_and_sends_the_rest_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (db, disk) = (dir.path().join("dogwatch.db"), dir.path().join("buffer"));
    let addr = free_addr();
    let one_file = {
        // About the size on disk of one payload like those submitted below (compressed
        // sizes differ by a byte or so, hence the half-payload margin in the cap).
        let probe_dir = dir.path().join("probe");
        let mut probe = dogwatch_agent::forwarder::DiskBuffer::open(&probe_dir, 1 << 20).unwrap();
        let run = vec![CheckRun {
            check: "test.seq".into(),
            host_name: "h".into(),
            timestamp: None,
            status: CheckStatus::Ok,
            message: "10".into(),
            tags: vec![],
        }];
        probe
            .push_back(&dogwatch_agent::forwarder::Payload::json(
                endpoints::CHECK_RUN_V1,
                &run,
                CompressorKind::Zstd,
            ))
            .unwrap();
        probe.bytes()
    };
    let settings = ForwarderSettings {
        disk_max_bytes: one_file * 5 + one_file / 2,
        ..settings(addr, KEY, Some(&disk))
    };
    let RunningForwarder { handle, stop, task } = start_forwarder_with(settings);

    submit(&handle, 10..11);
    wait_until("the server is found unreachable", || handle.counts().retried > 0).await;
    submit(&handle, 11..20);
    assert_eq!(handle.queue_state().on_disk, 5);
    assert_eq!(handle.counts().dropped_disk_full, 5);

    let server = start_server(addr, &db).await;
    wait_until("the kept payloads arrive", || {
        handle.is_idle() && received(&db).len() == 5
    })
    .await;
    assert_eq!(
        received(&db),
        (15..20).collect::<Vec<_>>(),
        "the newest five survive, in order"
    );
    stop.trigger();
    task.await.unwrap();
    stop_server(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_server_that_never_answers_and_keeps_the_payload() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("buffer");
    // A server that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((conn, _)) = silent.accept().await {
            open.push(conn);
        }
    });
    let settings = ForwarderSettings {
        timeout: Duration::from_secs(60),
        ..settings(addr, KEY, Some(&disk))
    };
    let RunningForwarder { handle, stop, task } = start_forwarder_with(settings);
    submit(&handle, 0..1);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    stop.trigger();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the forwarder stops")
        .unwrap();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "stopping took {took:?}, not about the 1 s drain period"
    );
    assert_eq!(files_in(&disk), 1, "the unsent payload is kept on disk");
    held.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_api_key_is_reported_by_validation_and_its_payloads_are_dropped_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dogwatch.db");
    let addr = free_addr();
    let server = start_server(addr, &db).await;
    let settings = ForwarderSettings {
        compressor: CompressorKind::Zlib,
        ..settings(addr, "not-the-key", None)
    };
    let RunningForwarder { handle, stop, task } = start_forwarder_with(settings);
    assert_eq!(
        handle.validate_api_key().await,
        dogwatch_agent::forwarder::ApiKeyStatus::Invalid
    );
    submit(&handle, 0..3);
    wait_until("the payloads are refused", || handle.counts().dropped_rejected == 3).await;
    assert_eq!(handle.counts().http_errors.get(&403), Some(&3));
    assert!(received(&db).is_empty());
    stop.trigger();
    task.await.unwrap();
    stop_server(server).await;
}
