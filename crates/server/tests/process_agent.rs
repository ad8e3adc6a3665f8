//! The stock Datadog process agent's intake over real HTTP: agent-payload messages
//! (`CollectorProc`, `CollectorRealTime`, `CollectorContainer`, `CollectorContainerRealTime`)
//! encoded with prost from the agent.proto definitions in `dogwatch_model::process_agent`,
//! behind the agent-payload header, posted to `/api/v1/collector` and `/api/v1/container`,
//! read back through `/api/ui/processes` and `/api/v2/processes`, and answered with a
//! `ResCollector` message that a stock agent reads.

use dogwatch_model::process_agent::{
    CollectorContainer, CollectorContainerRealTime, CollectorProc, CollectorRealTime, Command, Container,
    ContainerStat, CpuInfo, CpuStat, IoStat, MemoryStat, MessageEncoding, MessageHeader, MessageType, OsInfo, Process,
    ProcessStat, ProcessUser, ResCollector, SystemInfo,
};
use prost::Message;
use serde_json::Value;

mod common;
use common::{KEY, Running};

const LIMIT: usize = 64 * 1024;
const HOST: &str = "stock-1";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// An agent-payload message: the version 3 header, then the body as `encoding` says.
fn message<M: Message>(encoding: MessageEncoding, kind: MessageType, body: &M) -> Vec<u8> {
    let mut out = MessageHeader::v3(encoding, kind, now_ms()).encode_v3().to_vec();
    let protobuf = body.encode_to_vec();
    match encoding {
        MessageEncoding::Zstd1xPb => out.extend(zstd::encode_all(protobuf.as_slice(), 3).unwrap()),
        _ => out.extend(protobuf),
    }
    out
}

fn process(pid: i32, args: &[&str], user: &str, cpu: f32, rss: u64, container_id: &str) -> Process {
    Process {
        pid,
        command: Some(Command {
            args: args.iter().map(|a| a.to_string()).collect(),
            cwd: "/srv".into(),
            ppid: 1,
            pgroup: pid,
            exe: args[0].into(),
        }),
        user: Some(ProcessUser {
            name: user.into(),
            uid: 1000,
            gid: 1000,
        }),
        memory: Some(MemoryStat {
            rss,
            vms: rss * 4,
            swap: 0,
        }),
        cpu: Some(CpuStat {
            total_pct: cpu,
            user_pct: cpu / 2.0,
            system_pct: cpu / 2.0,
            num_threads: 3,
            nice: 0,
        }),
        create_time: 1_700_000_000_000 + i64::from(pid),
        open_fd_count: 7,
        state: 3,
        io_stat: Some(IoStat {
            read_rate: 1.0,
            write_rate: 2.0,
            read_bytes_rate: 100.0,
            write_bytes_rate: 200.0,
        }),
        container_id: container_id.into(),
        voluntary_ctx_switches: 5,
        involuntary_ctx_switches: 1,
    }
}

fn proc_chunk(group_id: i32, group_size: i32, processes: Vec<Process>) -> CollectorProc {
    CollectorProc {
        host_name: HOST.into(),
        processes,
        info: Some(SystemInfo {
            os: Some(OsInfo {
                name: "linux".into(),
                platform: "debian".into(),
                version: "12.5".into(),
                kernel_version: "6.1.0-18-amd64".into(),
            }),
            cpus: vec![CpuInfo {
                model: "Xeon".into(),
                cores: 4,
            }],
            total_memory: 8 << 30,
        }),
        group_id,
        group_size,
        containers: vec![Container {
            r#type: "docker".into(),
            id: "c0ffee".into(),
            name: "web".into(),
            image: "nginx:1.25".into(),
            tags: vec!["short_image:nginx".into()],
        }],
    }
}

async fn post(server: &Running, path: &str, body: Vec<u8>) -> (u16, Vec<u8>, String) {
    let response = common::client()
        .post(format!("{}{path}", server.base))
        .header("DD-API-KEY", KEY)
        .header("Content-Type", "application/x-protobuf")
        .header("X-Dd-Processagentversion", "7.52.0")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, response.bytes().await.unwrap().to_vec(), content_type)
}

/// Decodes the server's answer as the process agent does: header, then `ResCollector`.
fn answer(bytes: &[u8]) -> (i32, i32) {
    let (header, len) = MessageHeader::read(bytes).unwrap();
    assert_eq!((header.version, header.kind), (3, MessageType::ResCollector));
    assert_eq!(header.encoding, MessageEncoding::Protobuf);
    let res = ResCollector::decode(&bytes[len..]).unwrap();
    assert_eq!(res.header.unwrap().r#type, 23);
    let status = res.status.unwrap();
    (status.active_clients, status.interval)
}

async fn get(server: &Running, path: &str) -> Value {
    let response = common::client()
        .get(format!("{}{path}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

fn pids(body: &Value) -> Vec<i64> {
    body["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pid"].as_i64().unwrap())
        .collect()
}

const LIST: &str = "/api/ui/processes?query=host%3Astock-1&sort=pid&order=asc&columns=pid,user,command,cpu,rss,state,threads,fds,container_id,tags";

/// Sends run `group` in two chunks (plain protobuf, then zstd) and checks it reads back.
async fn fed() -> Running {
    let server = common::start(LIMIT).await;
    let first = proc_chunk(
        5,
        2,
        vec![process(
            10,
            &["/usr/sbin/nginx", "-g", "daemon off;"],
            "www",
            12.5,
            4 << 20,
            "c0ffee",
        )],
    );
    let (status, body, content_type) = post(
        &server,
        "/api/v1/collector",
        message(MessageEncoding::Protobuf, MessageType::CollectorProc, &first),
    )
    .await;
    assert_eq!((status, content_type.as_str()), (200, "application/x-protobuf"));
    assert_eq!(answer(&body), (0, 2), "nobody is watching yet");
    assert_eq!(
        pids(&get(&server, LIST).await),
        Vec::<i64>::new(),
        "half a run is not shown"
    );
    let second = proc_chunk(
        5,
        2,
        vec![process(
            20,
            &["/usr/bin/python3", "worker.py"],
            "app",
            50.0,
            16 << 20,
            "",
        )],
    );
    let (status, _, _) = post(
        &server,
        "/api/v1/collector",
        message(MessageEncoding::Zstd1xPb, MessageType::CollectorProc, &second),
    )
    .await;
    assert_eq!(status, 200);
    server
}

#[tokio::test]
async fn a_collector_proc_run_in_two_chunks_is_stored_and_read_back() {
    let server = fed().await;
    let body = get(&server, LIST).await;
    assert_eq!(pids(&body), [10, 20]);
    let nginx = &body["processes"][0];
    assert_eq!(nginx["command"], "/usr/sbin/nginx -g daemon off;");
    assert_eq!(
        (nginx["user"].as_str(), nginx["state"].as_str()),
        (Some("www"), Some("S"))
    );
    assert_eq!(
        (nginx["rss"].as_u64(), nginx["threads"].as_i64(), nginx["fds"].as_i64()),
        (Some(4 << 20), Some(3), Some(7))
    );
    assert_eq!(nginx["container_id"], "c0ffee");
    let tags: Vec<&str> = nginx["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for tag in [
        "container_id:c0ffee",
        "container_name:web",
        "image_name:nginx:1.25",
        "short_image:nginx",
        "user:www",
        "command:nginx",
    ] {
        assert!(tags.contains(&tag), "{tag} in {tags:?}");
    }
    let hosts = get(&server, "/api/ui/processes?query=%40cpu%3A%3E40&columns=pid").await;
    assert_eq!(pids(&hosts), [20]);

    let response = common::client()
        .get(format!("{}/api/v2/processes?search=python3", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let v2: Value = response.json().await.unwrap();
    let data = v2["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{v2}");
    assert_eq!(data[0]["attributes"]["host"], HOST);
    assert_eq!(data[0]["attributes"]["cmdline"], "/usr/bin/python3 worker.py");
}

#[tokio::test]
async fn real_time_stats_update_the_run_and_a_ui_query_asks_for_interval_2() {
    let server = fed().await;
    // fed() was answered (0, 2), then looked at the host's processes in the UI.
    let rt = CollectorRealTime {
        host_name: HOST.into(),
        stats: vec![ProcessStat {
            pid: 10,
            create_time: 1_700_000_000_010,
            memory: Some(MemoryStat {
                rss: 9 << 20,
                vms: 1,
                swap: 0,
            }),
            cpu: Some(CpuStat {
                total_pct: 77.0,
                user_pct: 70.0,
                system_pct: 7.0,
                num_threads: 0,
                nice: 0,
            }),
            nice: 0,
            threads: 9,
            open_fd_count: 11,
            container_id: "c0ffee".into(),
            process_state: 2,
            io_stat: None,
            voluntary_ctx_switches: 6,
            involuntary_ctx_switches: 2,
        }],
        group_id: 6,
        group_size: 1,
        num_cpus: 4,
        total_memory: 8 << 30,
        container_stats: vec![],
    };
    let (status, body, _) = post(
        &server,
        "/api/v1/collector",
        message(MessageEncoding::Zstd1xPb, MessageType::CollectorRealTime, &rt),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer(&body), (1, 2), "watched: real time every 2 s");
    let list = get(&server, LIST).await;
    let nginx = &list["processes"][0];
    assert_eq!(
        (
            nginx["rss"].as_u64(),
            nginx["threads"].as_i64(),
            nginx["state"].as_str()
        ),
        (Some(9 << 20), Some(9), Some("R"))
    );
    assert!((nginx["cpu"].as_f64().unwrap() - 77.0).abs() < 1e-6, "{nginx}");
    assert_eq!(
        list["processes"][1]["rss"].as_u64(),
        Some(16 << 20),
        "a process without stats keeps its own"
    );
}

#[tokio::test]
async fn container_messages_on_api_v1_container_tag_processes_and_are_answered() {
    let server = fed().await;
    let containers = CollectorContainer {
        host_name: HOST.into(),
        info: None,
        containers: vec![Container {
            r#type: "docker".into(),
            id: "c0ffee".into(),
            name: "web".into(),
            image: "nginx:1.25".into(),
            tags: vec!["service:frontend".into()],
        }],
        group_id: 7,
        group_size: 1,
    };
    let (status, body, _) = post(
        &server,
        "/api/v1/container",
        message(MessageEncoding::Protobuf, MessageType::CollectorContainer, &containers),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer(&body), (1, 2), "fed() looked at the host");
    let tagged = get(&server, "/api/ui/processes?query=service%3Afrontend&columns=pid").await;
    assert_eq!(pids(&tagged), [10], "the container's tags reach its processes");

    let rt = CollectorContainerRealTime {
        host_name: HOST.into(),
        stats: vec![ContainerStat {
            id: "c0ffee".into(),
            user_pct: 1.0,
            system_pct: 1.0,
            total_pct: 2.0,
            mem_rss: 1 << 20,
        }],
        num_cpus: 4,
        total_memory: 8 << 30,
        group_id: 8,
        group_size: 1,
    };
    let (status, body, _) = post(
        &server,
        "/api/v1/container",
        message(MessageEncoding::Zstd1xPb, MessageType::CollectorContainerRealTime, &rt),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer(&body), (1, 2));
    assert_eq!(pids(&get(&server, LIST).await), [10, 20], "the run stands");
}

#[tokio::test]
async fn bodies_that_do_not_decode_are_400_naming_type_and_offset_and_big_ones_413() {
    let server = fed().await;
    let errors = |body: &[u8]| -> String {
        let v: Value = serde_json::from_slice(body).unwrap();
        v["errors"][0].as_str().unwrap().to_string()
    };
    let good = message(
        MessageEncoding::Protobuf,
        MessageType::CollectorProc,
        &proc_chunk(9, 1, vec![process(30, &["/bin/x"], "u", 1.0, 1, "")]),
    );
    let cut = good[..good.len() - 3].to_vec();
    let (status, body, _) = post(&server, "/api/v1/collector", cut.clone()).await;
    assert_eq!(status, 400);
    let text = errors(&body);
    assert!(text.contains("invalid CollectorProc protobuf at byte"), "{text}");
    let offset: usize = text
        .split("at byte ")
        .nth(1)
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (16..=cut.len()).contains(&offset),
        "offset {offset} inside the body of {}",
        cut.len()
    );

    let mut bad_type = good.clone();
    bad_type[2] = 22;
    let (status, body, _) = post(&server, "/api/v1/collector", bad_type).await;
    assert_eq!(status, 400);
    assert!(errors(&body).contains("byte 2: message type 22"), "{}", errors(&body));
    let (status, body, _) = post(&server, "/api/v1/collector", vec![3, 0, 12]).await;
    assert_eq!(status, 400);
    assert!(errors(&body).contains("header"), "{}", errors(&body));
    let mut not_zstd = good.clone();
    not_zstd[1] = 4;
    let (status, body, _) = post(&server, "/api/v1/collector", not_zstd).await;
    assert_eq!(status, 400);
    assert!(errors(&body).contains("CollectorProc"), "{}", errors(&body));

    let big: Vec<Process> = (100..400)
        .map(|pid| process(pid, &["/usr/bin/app", &"x".repeat(300)], "u", 1.0, 1, ""))
        .collect();
    let plain = message(
        MessageEncoding::Protobuf,
        MessageType::CollectorProc,
        &proc_chunk(10, 1, big.clone()),
    );
    assert!(plain.len() > LIMIT);
    assert_eq!(post(&server, "/api/v1/collector", plain).await.0, 413);
    let packed = message(
        MessageEncoding::Zstd1xPb,
        MessageType::CollectorProc,
        &proc_chunk(10, 1, big),
    );
    assert!(packed.len() < LIMIT, "compresses well");
    assert_eq!(
        post(&server, "/api/v1/collector", packed).await.0,
        413,
        "over the limit once decompressed"
    );

    assert_eq!(pids(&get(&server, LIST).await), [10, 20], "the last good run stands");
}
