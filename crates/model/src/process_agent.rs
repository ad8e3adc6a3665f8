//! The stock Datadog process agent's messages, as DataDog/agent-payload defines them
//! (`process/message.go` for the header, `proto/process/agent.proto` for the bodies).
//!
//! A message is a fixed little-endian header, then the body: version (1 byte), encoding
//! (1 byte), type (1 byte), subscription id (1 byte), and from version 2 the org id
//! (`int32`), from version 3 a timestamp (`int64`, ms). The body is protobuf, plain or
//! zstd-compressed as the encoding says. Only the fields dogwatch keeps are declared here;
//! prost skips the others, as protobuf does.

use crate::process::{HostInfo, ProcessPayload, ProcessRecord};
use crate::protobuf::ProtobufError;

/// The header version dogwatch writes (the agent's `MessageV3`).
pub const MESSAGE_V3: u8 = 3;

/// How a message body is encoded (agent-payload's `MessageEncoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageEncoding {
    /// 0: plain protobuf.
    Protobuf,
    /// 1: protobuf's JSON mapping (not sent by agents; refused).
    Json,
    /// 2: protobuf compressed with zstd 0.x (legacy).
    ZstdPb,
    /// 4: protobuf compressed with zstd 1.x (what Agent 7 sends).
    Zstd1xPb,
}

impl MessageEncoding {
    /// The encoding of header byte `b`, if it is one.
    pub fn from_byte(b: u8) -> Option<MessageEncoding> {
        match b {
            0 => Some(MessageEncoding::Protobuf),
            1 => Some(MessageEncoding::Json),
            2 => Some(MessageEncoding::ZstdPb),
            4 => Some(MessageEncoding::Zstd1xPb),
            _ => None,
        }
    }

    /// The header byte.
    pub fn byte(self) -> u8 {
        match self {
            MessageEncoding::Protobuf => 0,
            MessageEncoding::Json => 1,
            MessageEncoding::ZstdPb => 2,
            MessageEncoding::Zstd1xPb => 4,
        }
    }
}

/// The message types dogwatch takes or answers (agent-payload's `MessageType` numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// 12: a process collection run (`CollectorProc`).
    CollectorProc,
    /// 23: the backend's answer (`ResCollector`).
    ResCollector,
    /// 27: real-time process stats (`CollectorRealTime`).
    CollectorRealTime,
    /// 39: containers (`CollectorContainer`).
    CollectorContainer,
    /// 40: real-time container stats (`CollectorContainerRealTime`).
    CollectorContainerRealTime,
}

impl MessageType {
    /// The type of header byte `b`, if dogwatch takes it.
    pub fn from_byte(b: u8) -> Option<MessageType> {
        match b {
            12 => Some(MessageType::CollectorProc),
            23 => Some(MessageType::ResCollector),
            27 => Some(MessageType::CollectorRealTime),
            39 => Some(MessageType::CollectorContainer),
            40 => Some(MessageType::CollectorContainerRealTime),
            _ => None,
        }
    }

    /// The header byte.
    pub fn byte(self) -> u8 {
        match self {
            MessageType::CollectorProc => 12,
            MessageType::ResCollector => 23,
            MessageType::CollectorRealTime => 27,
            MessageType::CollectorContainer => 39,
            MessageType::CollectorContainerRealTime => 40,
        }
    }

    /// The protobuf message name of the body.
    pub fn name(self) -> &'static str {
        match self {
            MessageType::CollectorProc => "CollectorProc",
            MessageType::ResCollector => "ResCollector",
            MessageType::CollectorRealTime => "CollectorRealTime",
            MessageType::CollectorContainer => "CollectorContainer",
            MessageType::CollectorContainerRealTime => "CollectorContainerRealTime",
        }
    }
}

/// A message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageHeader {
    /// 1, 2 or 3.
    pub version: u8,
    /// How the body is encoded.
    pub encoding: MessageEncoding,
    /// What the body is.
    pub kind: MessageType,
    /// The org id (version 2 and later; agents send 0).
    pub org_id: i32,
    /// When the agent built the message, in ms since the epoch (version 3; else 0).
    pub timestamp_ms: i64,
}

/// Why a message header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The body is shorter than its header.
    #[error("the message is {len} bytes, shorter than its version {version} header of {need}")]
    Short {
        /// The header's version.
        version: u8,
        /// The body's length.
        len: usize,
        /// The header's length.
        need: usize,
    },
    /// Byte 0 is not a known version.
    #[error("byte 0: message version {0} is not 1, 2 or 3")]
    Version(u8),
    /// Byte 1 is not a known encoding.
    #[error("byte 1: message encoding {0} is not 0 (protobuf), 1 (JSON), 2 (zstd) or 4 (zstd 1.x)")]
    Encoding(u8),
    /// Byte 2 is not a message type this path takes.
    #[error(
        "byte 2: message type {0} is not 12 (CollectorProc), 27 (CollectorRealTime), 39 (CollectorContainer) or 40 (CollectorContainerRealTime)"
    )]
    Type(u8),
}

impl MessageHeader {
    /// A version 3 header.
    pub fn v3(encoding: MessageEncoding, kind: MessageType, timestamp_ms: i64) -> MessageHeader {
        MessageHeader {
            version: MESSAGE_V3,
            encoding,
            kind,
            org_id: 0,
            timestamp_ms,
        }
    }

    /// Reads the header at the start of `data`; returns it and the header's length.
    pub fn read(data: &[u8]) -> Result<(MessageHeader, usize), HeaderError> {
        let version = *data.first().ok_or(HeaderError::Short {
            version: 0,
            len: 0,
            need: 1,
        })?;
        let need = match version {
            1 => 4,
            2 => 8,
            3 => 16,
            v => return Err(HeaderError::Version(v)),
        };
        if data.len() < need {
            return Err(HeaderError::Short {
                version,
                len: data.len(),
                need,
            });
        }
        let encoding = MessageEncoding::from_byte(data[1]).ok_or(HeaderError::Encoding(data[1]))?;
        let kind = MessageType::from_byte(data[2]).ok_or(HeaderError::Type(data[2]))?;
        let org_id = if version >= 2 {
            i32::from_le_bytes(data[4..8].try_into().expect("4 bytes"))
        } else {
            0
        };
        let timestamp_ms = if version >= 3 {
            i64::from_le_bytes(data[8..16].try_into().expect("8 bytes"))
        } else {
            0
        };
        Ok((
            MessageHeader {
                version,
                encoding,
                kind,
                org_id,
                timestamp_ms,
            },
            need,
        ))
    }

    /// The header as version 3 bytes (the only version agent-payload writes).
    pub fn encode_v3(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[0] = MESSAGE_V3;
        out[1] = self.encoding.byte();
        out[2] = self.kind.byte();
        out[4..8].copy_from_slice(&self.org_id.to_le_bytes());
        out[8..16].copy_from_slice(&self.timestamp_ms.to_le_bytes());
        out
    }
}

/// A process collection run's chunk (`CollectorProc`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct CollectorProc {
    /// The agent's hostname.
    #[prost(string, tag = "2")]
    pub host_name: String,
    /// The processes of this chunk.
    #[prost(message, repeated, tag = "3")]
    pub processes: Vec<Process>,
    /// The host.
    #[prost(message, optional, tag = "5")]
    pub info: Option<SystemInfo>,
    /// The run (increases with every run of one agent).
    #[prost(int32, tag = "6")]
    pub group_id: i32,
    /// How many chunks the run has.
    #[prost(int32, tag = "7")]
    pub group_size: i32,
    /// The containers the processes run in.
    #[prost(message, repeated, tag = "10")]
    pub containers: Vec<Container>,
}

/// Real-time process stats (`CollectorRealTime`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct CollectorRealTime {
    /// The agent's hostname.
    #[prost(string, tag = "2")]
    pub host_name: String,
    /// One per process.
    #[prost(message, repeated, tag = "3")]
    pub stats: Vec<ProcessStat>,
    /// The run.
    #[prost(int32, tag = "6")]
    pub group_id: i32,
    /// How many chunks the run has.
    #[prost(int32, tag = "7")]
    pub group_size: i32,
    /// Logical CPUs.
    #[prost(int32, tag = "8")]
    pub num_cpus: i32,
    /// Physical memory in bytes.
    #[prost(int64, tag = "9")]
    pub total_memory: i64,
    /// One per container.
    #[prost(message, repeated, tag = "10")]
    pub container_stats: Vec<ContainerStat>,
}

/// Containers (`CollectorContainer`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct CollectorContainer {
    /// The agent's hostname.
    #[prost(string, tag = "1")]
    pub host_name: String,
    /// The host.
    #[prost(message, optional, tag = "2")]
    pub info: Option<SystemInfo>,
    /// The containers.
    #[prost(message, repeated, tag = "3")]
    pub containers: Vec<Container>,
    /// The run.
    #[prost(int32, tag = "4")]
    pub group_id: i32,
    /// How many chunks the run has.
    #[prost(int32, tag = "5")]
    pub group_size: i32,
}

/// Real-time container stats (`CollectorContainerRealTime`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct CollectorContainerRealTime {
    /// The agent's hostname.
    #[prost(string, tag = "1")]
    pub host_name: String,
    /// One per container.
    #[prost(message, repeated, tag = "2")]
    pub stats: Vec<ContainerStat>,
    /// Logical CPUs.
    #[prost(int32, tag = "3")]
    pub num_cpus: i32,
    /// Physical memory in bytes.
    #[prost(int64, tag = "4")]
    pub total_memory: i64,
    /// The run.
    #[prost(int32, tag = "6")]
    pub group_id: i32,
    /// How many chunks the run has.
    #[prost(int32, tag = "7")]
    pub group_size: i32,
}

/// The backend's answer to a collector message (`ResCollector`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResCollector {
    /// Kept at field 1 for older agents.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResCollectorHeader>,
    /// A message for the agent's log, empty when all is well.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Whether anyone is watching, and the real-time interval.
    #[prost(message, optional, tag = "3")]
    pub status: Option<CollectorStatusPb>,
}

/// `ResCollector.Header`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResCollectorHeader {
    /// The message type.
    #[prost(int32, tag = "4")]
    pub r#type: i32,
}

/// `CollectorStatus`: above 0 active clients switch the agent to real time every `interval` s.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CollectorStatusPb {
    /// How many viewers are watching.
    #[prost(int32, tag = "1")]
    pub active_clients: i32,
    /// The real-time interval in seconds.
    #[prost(int32, tag = "2")]
    pub interval: i32,
}

/// One process (`Process`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Process {
    /// Process id.
    #[prost(int32, tag = "2")]
    pub pid: i32,
    /// Its command.
    #[prost(message, optional, tag = "4")]
    pub command: Option<Command>,
    /// Its owner.
    #[prost(message, optional, tag = "5")]
    pub user: Option<ProcessUser>,
    /// Memory.
    #[prost(message, optional, tag = "7")]
    pub memory: Option<MemoryStat>,
    /// CPU.
    #[prost(message, optional, tag = "8")]
    pub cpu: Option<CpuStat>,
    /// Start time, ms since the epoch.
    #[prost(int64, tag = "9")]
    pub create_time: i64,
    /// Open file descriptors (-1 unreadable).
    #[prost(int32, tag = "11")]
    pub open_fd_count: i32,
    /// `ProcessState`.
    #[prost(int32, tag = "12")]
    pub state: i32,
    /// IO rates.
    #[prost(message, optional, tag = "13")]
    pub io_stat: Option<IoStat>,
    /// The container it runs in, empty for none.
    #[prost(string, tag = "14")]
    pub container_id: String,
    /// Voluntary context switches.
    #[prost(uint64, tag = "16")]
    pub voluntary_ctx_switches: u64,
    /// Involuntary context switches.
    #[prost(uint64, tag = "17")]
    pub involuntary_ctx_switches: u64,
}

/// A process's command (`Command`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Command {
    /// The command line.
    #[prost(string, repeated, tag = "1")]
    pub args: Vec<String>,
    /// The working directory.
    #[prost(string, tag = "3")]
    pub cwd: String,
    /// Parent pid.
    #[prost(int32, tag = "6")]
    pub ppid: i32,
    /// Process group.
    #[prost(int32, tag = "7")]
    pub pgroup: i32,
    /// The executable.
    #[prost(string, tag = "8")]
    pub exe: String,
}

/// A process's owner (`ProcessUser`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProcessUser {
    /// User name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// uid.
    #[prost(int32, tag = "2")]
    pub uid: i32,
    /// gid.
    #[prost(int32, tag = "3")]
    pub gid: i32,
}

/// `MemoryStat`, in bytes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MemoryStat {
    /// Resident.
    #[prost(uint64, tag = "1")]
    pub rss: u64,
    /// Virtual.
    #[prost(uint64, tag = "2")]
    pub vms: u64,
    /// Swapped out.
    #[prost(uint64, tag = "3")]
    pub swap: u64,
}

/// `CPUStat`, percent of one core.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CpuStat {
    /// User plus system.
    #[prost(float, tag = "2")]
    pub total_pct: f32,
    /// User.
    #[prost(float, tag = "3")]
    pub user_pct: f32,
    /// System.
    #[prost(float, tag = "4")]
    pub system_pct: f32,
    /// Threads.
    #[prost(int32, tag = "5")]
    pub num_threads: i32,
    /// Niceness.
    #[prost(int32, tag = "7")]
    pub nice: i32,
}

/// `IOStat`, per second.
#[derive(Clone, PartialEq, prost::Message)]
pub struct IoStat {
    /// Read calls.
    #[prost(float, tag = "1")]
    pub read_rate: f32,
    /// Write calls.
    #[prost(float, tag = "2")]
    pub write_rate: f32,
    /// Bytes read.
    #[prost(float, tag = "3")]
    pub read_bytes_rate: f32,
    /// Bytes written.
    #[prost(float, tag = "4")]
    pub write_bytes_rate: f32,
}

/// `SystemInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SystemInfo {
    /// The OS.
    #[prost(message, optional, tag = "2")]
    pub os: Option<OsInfo>,
    /// One per CPU.
    #[prost(message, repeated, tag = "3")]
    pub cpus: Vec<CpuInfo>,
    /// Physical memory in bytes.
    #[prost(int64, tag = "5")]
    pub total_memory: i64,
}

/// `OSInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OsInfo {
    /// `linux`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// e.g. `debian`.
    #[prost(string, tag = "2")]
    pub platform: String,
    /// e.g. `12.5`.
    #[prost(string, tag = "4")]
    pub version: String,
    /// The kernel release.
    #[prost(string, tag = "5")]
    pub kernel_version: String,
}

/// `CPUInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CpuInfo {
    /// The model name.
    #[prost(string, tag = "4")]
    pub model: String,
    /// Cores.
    #[prost(int32, tag = "7")]
    pub cores: i32,
}

/// `Container`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Container {
    /// e.g. `docker`.
    #[prost(string, tag = "1")]
    pub r#type: String,
    /// The container id.
    #[prost(string, tag = "2")]
    pub id: String,
    /// Its name.
    #[prost(string, tag = "3")]
    pub name: String,
    /// Its image.
    #[prost(string, tag = "4")]
    pub image: String,
    /// `key:value` tags.
    #[prost(string, repeated, tag = "26")]
    pub tags: Vec<String>,
}

/// `ProcessStat`: what changes for a running process.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProcessStat {
    /// Process id.
    #[prost(int32, tag = "1")]
    pub pid: i32,
    /// Start time, ms since the epoch.
    #[prost(int64, tag = "2")]
    pub create_time: i64,
    /// Memory.
    #[prost(message, optional, tag = "3")]
    pub memory: Option<MemoryStat>,
    /// CPU.
    #[prost(message, optional, tag = "4")]
    pub cpu: Option<CpuStat>,
    /// Niceness.
    #[prost(int32, tag = "5")]
    pub nice: i32,
    /// Threads.
    #[prost(int32, tag = "7")]
    pub threads: i32,
    /// Open file descriptors.
    #[prost(int32, tag = "8")]
    pub open_fd_count: i32,
    /// The container, empty for none.
    #[prost(string, tag = "10")]
    pub container_id: String,
    /// `ProcessState`.
    #[prost(int32, tag = "12")]
    pub process_state: i32,
    /// IO rates.
    #[prost(message, optional, tag = "19")]
    pub io_stat: Option<IoStat>,
    /// Voluntary context switches.
    #[prost(uint64, tag = "24")]
    pub voluntary_ctx_switches: u64,
    /// Involuntary context switches.
    #[prost(uint64, tag = "25")]
    pub involuntary_ctx_switches: u64,
}

/// `ContainerStat`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContainerStat {
    /// The container id.
    #[prost(string, tag = "1")]
    pub id: String,
    /// User CPU.
    #[prost(float, tag = "2")]
    pub user_pct: f32,
    /// System CPU.
    #[prost(float, tag = "3")]
    pub system_pct: f32,
    /// Total CPU.
    #[prost(float, tag = "4")]
    pub total_pct: f32,
    /// Resident memory.
    #[prost(uint64, tag = "6")]
    pub mem_rss: u64,
}

/// A decoded message body.
#[derive(Debug, Clone, PartialEq)]
pub enum CollectorMessage {
    /// 12.
    Proc(CollectorProc),
    /// 27.
    RealTime(CollectorRealTime),
    /// 39.
    Container(CollectorContainer),
    /// 40.
    ContainerRealTime(CollectorContainerRealTime),
}

impl CollectorMessage {
    /// Decodes an (uncompressed) protobuf body of type `kind`.
    pub fn decode(kind: MessageType, body: &[u8]) -> Result<CollectorMessage, ProtobufError> {
        use crate::protobuf::decode;
        Ok(match kind {
            MessageType::CollectorProc => CollectorMessage::Proc(decode(body, kind.name())?),
            MessageType::CollectorRealTime => CollectorMessage::RealTime(decode(body, kind.name())?),
            MessageType::CollectorContainer => CollectorMessage::Container(decode(body, kind.name())?),
            MessageType::CollectorContainerRealTime | MessageType::ResCollector => {
                CollectorMessage::ContainerRealTime(decode(body, kind.name())?)
            }
        })
    }

    /// The hostname the message is from.
    pub fn host_name(&self) -> &str {
        match self {
            CollectorMessage::Proc(m) => &m.host_name,
            CollectorMessage::RealTime(m) => &m.host_name,
            CollectorMessage::Container(m) => &m.host_name,
            CollectorMessage::ContainerRealTime(m) => &m.host_name,
        }
    }
}

/// The state letter of a `ProcessState` number.
pub fn state_letter(state: i32) -> &'static str {
    match state {
        1 => "D",
        2 => "R",
        3 => "S",
        4 => "T",
        5 => "W",
        6 => "X",
        7 => "Z",
        _ => "U",
    }
}

/// The tags a process in `container` gets: the container's own, and `container_id`.
pub fn container_tags(container: &Container) -> Vec<String> {
    let mut tags = vec![format!("container_id:{}", container.id)];
    if !container.name.is_empty() {
        tags.push(format!("container_name:{}", container.name));
    }
    if !container.image.is_empty() {
        tags.push(format!("image_name:{}", container.image));
    }
    tags.extend(container.tags.iter().cloned());
    tags.sort();
    tags.dedup();
    tags
}

impl CollectorProc {
    /// The chunk as a [`ProcessPayload`]: run id `groupId`, `groupSize` chunks, chunk index 0
    /// (the server numbers unnumbered chunks in arrival order), collected at `collected_at_ms`.
    pub fn to_payload(&self, agent_version: &str, collected_at_ms: i64) -> ProcessPayload {
        let info = self.info.clone().unwrap_or_default();
        let os = info.os.clone().unwrap_or_default();
        let cores: i32 = info.cpus.iter().map(|c| c.cores.max(0)).sum();
        let host = HostInfo {
            hostname: self.host_name.clone(),
            cpu_count: if cores > 0 {
                cores as u32
            } else {
                info.cpus.len() as u32
            },
            cpu_model: info.cpus.first().map(|c| c.model.clone()).unwrap_or_default(),
            memory_total: info.total_memory.max(0) as u64,
            kernel: os.kernel_version.clone(),
            os: format!("{} {}", os.platform, os.version).trim().to_string(),
            boot_time: 0,
            agent_version: agent_version.to_string(),
            tags: Vec::new(),
        };
        let processes = self
            .processes
            .iter()
            .map(|p| {
                let container = self
                    .containers
                    .iter()
                    .find(|c| !c.id.is_empty() && c.id == p.container_id);
                process_record(p, container)
            })
            .collect::<Vec<_>>();
        ProcessPayload {
            host,
            run_id: self.group_id.max(0) as u64,
            chunk_count: self.group_size.max(1) as u32,
            chunk_index: 0,
            collected_at_ms,
            interval_s: 10,
            realtime: false,
            total_processes: processes.len() as u32,
            processes,
        }
    }
}

fn process_record(p: &Process, container: Option<&Container>) -> ProcessRecord {
    let command = p.command.clone().unwrap_or_default();
    let user = p.user.clone().unwrap_or_default();
    let memory = p.memory.clone().unwrap_or_default();
    let cpu = p.cpu.clone().unwrap_or_default();
    let io = p.io_stat.clone();
    let first = command.args.first().map(String::as_str).unwrap_or(command.exe.as_str());
    let mut name: String = first.rsplit('/').next().unwrap_or_default().to_string();
    while name.len() > 15 {
        name.pop();
    }
    let user_name = if user.name.is_empty() {
        user.uid.to_string()
    } else {
        user.name.clone()
    };
    let mut tags = vec![format!("user:{user_name}"), format!("command:{name}")];
    if let Some(c) = container {
        tags.extend(container_tags(c));
    }
    let rate = |f: fn(&IoStat) -> f32| io.as_ref().map_or(-1.0, f);
    ProcessRecord {
        pid: p.pid,
        ppid: command.ppid,
        pgroup: command.pgroup,
        user: user_name,
        uid: user.uid.max(0) as u32,
        gid: user.gid.max(0) as u32,
        name,
        cmdline: command.args,
        exe: command.exe,
        cwd: command.cwd,
        state: state_letter(p.state).to_string(),
        create_time_ms: p.create_time,
        cpu_user_pct: cpu.user_pct,
        cpu_system_pct: cpu.system_pct,
        cpu_total_pct: cpu.total_pct,
        rss: memory.rss,
        vms: memory.vms,
        swap: memory.swap,
        threads: cpu.num_threads,
        open_fds: p.open_fd_count,
        io_read_ops_rate: rate(|i| i.read_rate),
        io_write_ops_rate: rate(|i| i.write_rate),
        io_read_bytes_rate: rate(|i| i.read_bytes_rate),
        io_write_bytes_rate: rate(|i| i.write_bytes_rate),
        ctx_switches_voluntary: p.voluntary_ctx_switches as i64,
        ctx_switches_involuntary: p.involuntary_ctx_switches as i64,
        nice: cpu.nice,
        container_id: (!p.container_id.is_empty()).then(|| p.container_id.clone()),
        tags,
    }
}

impl ProcessStat {
    /// Applies these stats to `record` (the same process: same pid and start time).
    pub fn apply_to(&self, record: &mut ProcessRecord) {
        if let Some(m) = &self.memory {
            record.rss = m.rss;
            record.vms = m.vms;
            record.swap = m.swap;
        }
        if let Some(c) = &self.cpu {
            record.cpu_total_pct = c.total_pct;
            record.cpu_user_pct = c.user_pct;
            record.cpu_system_pct = c.system_pct;
        }
        if let Some(io) = &self.io_stat {
            record.io_read_ops_rate = io.read_rate;
            record.io_write_ops_rate = io.write_rate;
            record.io_read_bytes_rate = io.read_bytes_rate;
            record.io_write_bytes_rate = io.write_bytes_rate;
        }
        record.nice = self.nice;
        record.threads = self.threads;
        record.open_fds = self.open_fd_count;
        record.state = state_letter(self.process_state).to_string();
        record.ctx_switches_voluntary = self.voluntary_ctx_switches as i64;
        record.ctx_switches_involuntary = self.involuntary_ctx_switches as i64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_every_version_read_and_v3_round_trips() {
        let header = MessageHeader::v3(
            MessageEncoding::Zstd1xPb,
            MessageType::CollectorRealTime,
            1_700_000_000_123,
        );
        let bytes = header.encode_v3();
        assert_eq!(MessageHeader::read(&bytes), Ok((header, 16)));
        assert_eq!(MessageHeader::read(&[1, 0, 12, 0, 9]).unwrap().1, 4);
        assert_eq!(MessageHeader::read(&[2, 0, 39, 0, 7, 0, 0, 0]).unwrap().0.org_id, 7);
        assert_eq!(MessageHeader::read(&[9, 0, 12, 0]), Err(HeaderError::Version(9)));
        assert_eq!(MessageHeader::read(&[1, 3, 12, 0]), Err(HeaderError::Encoding(3)));
        assert_eq!(MessageHeader::read(&[1, 0, 22, 0]), Err(HeaderError::Type(22)));
        assert!(matches!(
            MessageHeader::read(&[3, 0, 12]),
            Err(HeaderError::Short { need: 16, .. })
        ));
        assert!(MessageHeader::read(&[]).is_err());
    }
}
