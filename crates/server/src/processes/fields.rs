//! The process fields the API can show, sort by, filter on (`@cpu:>50`) and aggregate.

use dogwatch_model::ProcessRecord;
use serde_json::Value;

/// One field of a live process, named as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The hostname (text).
    Host,
    /// Process id.
    Pid,
    /// Parent process id.
    Ppid,
    /// The owner (text).
    User,
    /// The kernel's command name (text).
    Name,
    /// The scrubbed command line, joined by spaces (text).
    Command,
    /// The executable's path (text).
    Exe,
    /// The working directory (text).
    Cwd,
    /// The state letter (text).
    State,
    /// Start time, ms since the epoch.
    Start,
    /// Total CPU, percent of one core.
    Cpu,
    /// User CPU, percent of one core.
    CpuUser,
    /// System CPU, percent of one core.
    CpuSystem,
    /// Resident memory, bytes.
    Rss,
    /// Virtual memory, bytes.
    Vms,
    /// Swapped memory, bytes.
    Swap,
    /// Threads.
    Threads,
    /// Open file descriptors (-1 when unreadable).
    Fds,
    /// Bytes read per second (-1 when unreadable).
    ReadBytes,
    /// Bytes written per second (-1 when unreadable).
    WriteBytes,
    /// Read calls per second (-1 when unreadable).
    ReadOps,
    /// Write calls per second (-1 when unreadable).
    WriteOps,
    /// Voluntary context switches since start.
    CtxVoluntary,
    /// Involuntary context switches since start.
    CtxInvoluntary,
    /// Niceness.
    Nice,
    /// The container id (text, empty when none).
    ContainerId,
    /// The tags (a list; a column only).
    Tags,
}

/// A field's value for sorting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SortValue<'a> {
    /// A number; -1 readings of unreadable fields sort below every real value.
    Number(f64),
    /// Text.
    Text(&'a str),
}

impl Field {
    /// Every field, in the order the API documents them.
    pub const ALL: [Field; 27] = [
        Field::Host,
        Field::Pid,
        Field::Ppid,
        Field::User,
        Field::Name,
        Field::Command,
        Field::Exe,
        Field::Cwd,
        Field::State,
        Field::Start,
        Field::Cpu,
        Field::CpuUser,
        Field::CpuSystem,
        Field::Rss,
        Field::Vms,
        Field::Swap,
        Field::Threads,
        Field::Fds,
        Field::ReadBytes,
        Field::WriteBytes,
        Field::ReadOps,
        Field::WriteOps,
        Field::CtxVoluntary,
        Field::CtxInvoluntary,
        Field::Nice,
        Field::ContainerId,
        Field::Tags,
    ];

    /// The columns shown when none are asked for (Datadog's Live Processes defaults).
    pub const DEFAULT_COLUMNS: [Field; 9] = [
        Field::Host,
        Field::Pid,
        Field::User,
        Field::Command,
        Field::Cpu,
        Field::Rss,
        Field::Threads,
        Field::Start,
        Field::State,
    ];

    /// The field's API name.
    pub fn name(self) -> &'static str {
        match self {
            Field::Host => "host",
            Field::Pid => "pid",
            Field::Ppid => "ppid",
            Field::User => "user",
            Field::Name => "name",
            Field::Command => "command",
            Field::Exe => "exe",
            Field::Cwd => "cwd",
            Field::State => "state",
            Field::Start => "start",
            Field::Cpu => "cpu",
            Field::CpuUser => "cpu_user",
            Field::CpuSystem => "cpu_system",
            Field::Rss => "rss",
            Field::Vms => "vms",
            Field::Swap => "swap",
            Field::Threads => "threads",
            Field::Fds => "fds",
            Field::ReadBytes => "read_bytes",
            Field::WriteBytes => "write_bytes",
            Field::ReadOps => "read_ops",
            Field::WriteOps => "write_ops",
            Field::CtxVoluntary => "ctx_voluntary",
            Field::CtxInvoluntary => "ctx_involuntary",
            Field::Nice => "nice",
            Field::ContainerId => "container_id",
            Field::Tags => "tags",
        }
    }

    /// The field called `name`.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether the field is a number (can be compared, aggregated and plotted).
    pub fn is_numeric(self) -> bool {
        !matches!(
            self,
            Field::Host
                | Field::User
                | Field::Name
                | Field::Command
                | Field::Exe
                | Field::Cwd
                | Field::State
                | Field::ContainerId
                | Field::Tags
        )
    }

    /// Whether the field can be sorted on.
    pub fn is_sortable(self) -> bool {
        self != Field::Tags
    }

    /// Whether the field can be aggregated (group-by, scatter): a resource metric.
    pub fn is_metric(self) -> bool {
        matches!(
            self,
            Field::Cpu
                | Field::CpuUser
                | Field::CpuSystem
                | Field::Rss
                | Field::Vms
                | Field::Swap
                | Field::Threads
                | Field::Fds
                | Field::ReadBytes
                | Field::WriteBytes
                | Field::ReadOps
                | Field::WriteOps
        )
    }

    /// The names of the fields that satisfy `keep`, for error messages.
    pub fn names(keep: impl Fn(Field) -> bool) -> String {
        Field::ALL
            .into_iter()
            .filter(|f| keep(*f))
            .map(Field::name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The field's numeric value; `None` for text fields. Unreadable readings are -1.
    pub fn number(self, p: &ProcessRecord) -> Option<f64> {
        Some(match self {
            Field::Pid => f64::from(p.pid),
            Field::Ppid => f64::from(p.ppid),
            Field::Start => p.create_time_ms as f64,
            Field::Cpu => f64::from(p.cpu_total_pct),
            Field::CpuUser => f64::from(p.cpu_user_pct),
            Field::CpuSystem => f64::from(p.cpu_system_pct),
            Field::Rss => p.rss as f64,
            Field::Vms => p.vms as f64,
            Field::Swap => p.swap as f64,
            Field::Threads => f64::from(p.threads),
            Field::Fds => f64::from(p.open_fds),
            Field::ReadBytes => f64::from(p.io_read_bytes_rate),
            Field::WriteBytes => f64::from(p.io_write_bytes_rate),
            Field::ReadOps => f64::from(p.io_read_ops_rate),
            Field::WriteOps => f64::from(p.io_write_ops_rate),
            Field::CtxVoluntary => p.ctx_switches_voluntary as f64,
            Field::CtxInvoluntary => p.ctx_switches_involuntary as f64,
            Field::Nice => f64::from(p.nice),
            _ => return None,
        })
    }

    /// Whether a reading can be unreadable (-1), and so must be left out of aggregates.
    pub fn may_be_unreadable(self) -> bool {
        matches!(
            self,
            Field::Fds | Field::ReadBytes | Field::WriteBytes | Field::ReadOps | Field::WriteOps
        )
    }

    /// The value to sort by. `command` is the joined command line in `command_line`.
    pub fn sort_value<'a>(self, host: &'a str, p: &'a ProcessRecord, command_line: &'a str) -> SortValue<'a> {
        if let Some(n) = self.number(p) {
            return SortValue::Number(n);
        }
        SortValue::Text(match self {
            Field::Host => host,
            Field::User => &p.user,
            Field::Name => &p.name,
            Field::Command => command_line,
            Field::Exe => &p.exe,
            Field::Cwd => &p.cwd,
            Field::State => &p.state,
            Field::ContainerId => p.container_id.as_deref().unwrap_or(""),
            _ => "",
        })
    }

    /// The value as JSON, for a column.
    pub fn json(self, host: &str, p: &ProcessRecord) -> Value {
        match self {
            Field::Host => Value::from(host),
            Field::Pid => Value::from(p.pid),
            Field::Ppid => Value::from(p.ppid),
            Field::User => Value::from(p.user.as_str()),
            Field::Name => Value::from(p.name.as_str()),
            Field::Command => Value::from(command_line(p)),
            Field::Exe => Value::from(p.exe.as_str()),
            Field::Cwd => Value::from(p.cwd.as_str()),
            Field::State => Value::from(p.state.as_str()),
            Field::Start => Value::from(p.create_time_ms),
            Field::Rss => Value::from(p.rss),
            Field::Vms => Value::from(p.vms),
            Field::Swap => Value::from(p.swap),
            Field::Threads => Value::from(p.threads),
            Field::Fds => Value::from(p.open_fds),
            Field::CtxVoluntary => Value::from(p.ctx_switches_voluntary),
            Field::CtxInvoluntary => Value::from(p.ctx_switches_involuntary),
            Field::Nice => Value::from(p.nice),
            Field::ContainerId => p.container_id.as_deref().map_or(Value::Null, Value::from),
            Field::Tags => Value::from(p.tags.clone()),
            Field::Cpu
            | Field::CpuUser
            | Field::CpuSystem
            | Field::ReadBytes
            | Field::WriteBytes
            | Field::ReadOps
            | Field::WriteOps => Value::from(round2(self.number(p).expect("numeric field"))),
        }
    }
}

/// `x` rounded to two decimals (f32 readings printed as f64 otherwise show noise digits).
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The command line as one string; the kernel's name in brackets when there is none, as
/// `ps` shows it.
pub fn command_line(p: &ProcessRecord) -> String {
    if p.cmdline.is_empty() {
        format!("[{}]", p.name)
    } else {
        p.cmdline.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_kinds_are_consistent() {
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
            if f.is_metric() {
                assert!(f.is_numeric(), "{f:?}");
            }
        }
        assert!(!Field::Command.is_numeric());
        assert!(Field::Start.is_numeric() && !Field::Start.is_metric());
        assert_eq!(Field::from_name("bogus"), None);
    }
}
