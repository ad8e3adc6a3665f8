//! The "Python Check Host" section of `dogwatch status`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::host::PythonHost;
use super::protocol::MAX_MESSAGE_BYTES;
use crate::status::{StatusBlock, StatusProvider, StatusSection, format_time, human_bytes};

/// The host's process, its memory and what it dropped.
pub struct PythonHostStatus(pub Arc<PythonHost>);

impl StatusProvider for PythonHostStatus {
    fn section(&self) -> Pin<Box<dyn Future<Output = StatusSection> + Send + '_>> {
        let s = self.0.stats();
        Box::pin(async move {
            let mut process = StatusBlock::new("")
                .line("Interpreter", &s.interpreter)
                .line(
                    "Python",
                    if s.python_version.is_empty() {
                        "(not started)".to_string()
                    } else {
                        format!("{} ({})", s.python_version, s.executable)
                    },
                )
                .line("Pid", s.pid.map_or("(not running)".to_string(), |p| p.to_string()))
                .line("Started", format_time(s.started))
                .line("Starts", s.starts)
                .line("RSS", human_bytes(s.rss_kib * 1024))
                .line("Threads", s.threads)
                .line("CPU seconds", format!("{:.2}", s.cpu_seconds));
            if let Some(exit) = &s.last_exit {
                process = process.line("Last exit", exit);
            }
            if let Some(error) = &s.start_error {
                process = process.line("Start error", error);
            }
            let mut messages = StatusBlock::new("Messages")
                .line("Received", s.messages)
                .line(
                    format!("Dropped (longer than {})", human_bytes(MAX_MESSAGE_BYTES as u64)),
                    s.oversize,
                )
                .line("Dropped (not a message)", s.garbage)
                .line("Dropped (check queue full)", s.queue_full)
                .line("For an unknown check", s.unknown_check)
                .line("Output lines (stderr, print)", s.stderr_lines);
            if !s.unsupported.is_empty() {
                messages = messages.text("Not supported, dropped:");
                let mut kinds: Vec<_> = s.unsupported.iter().collect();
                kinds.sort();
                for (what, n) in kinds {
                    messages = messages.sub_line(what, n);
                }
            }
            StatusSection {
                title: "Python Check Host".into(),
                blocks: vec![process, messages],
            }
        })
    }
}
