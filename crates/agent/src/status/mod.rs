//! `dogwatch status`: a Datadog-style report assembled from one section per component.
//!
//! Each component implements [`StatusProvider`] and is registered with the local API
//! ([`server`]); adding a component's section touches no other section. The report crosses
//! the local API as JSON ([`StatusReport`]) and is rendered as text by [`render_text`].

pub mod auth;
pub mod health;
pub mod server;

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Sections in display order.
    pub sections: Vec<StatusSection>,
}

/// One component's part of the report, e.g. "Forwarder".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusSection {
    /// The section title, shown between `=` rules.
    pub title: String,
    /// Blocks under the title.
    pub blocks: Vec<StatusBlock>,
}

/// A titled group of lines within a section, e.g. "Transactions".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusBlock {
    /// The block heading; empty for lines directly under the section title.
    pub heading: String,
    /// The lines.
    pub lines: Vec<StatusLine>,
}

/// One line: `name: value`, indented by `depth` levels below its block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusLine {
    /// Extra indentation levels (0 = the block's own level).
    pub depth: u8,
    /// The label; shown alone when `value` is empty.
    pub name: String,
    /// The value.
    pub value: String,
}

impl StatusBlock {
    /// An empty block with this heading.
    pub fn new(heading: impl Into<String>) -> StatusBlock {
        StatusBlock {
            heading: heading.into(),
            lines: Vec::new(),
        }
    }

    /// Adds `name: value`.
    pub fn line(mut self, name: impl Into<String>, value: impl ToString) -> StatusBlock {
        self.lines.push(StatusLine {
            depth: 0,
            name: name.into(),
            value: value.to_string(),
        });
        self
    }

    /// Adds `name: value` indented one level deeper.
    pub fn sub_line(mut self, name: impl Into<String>, value: impl ToString) -> StatusBlock {
        self.lines.push(StatusLine {
            depth: 1,
            name: name.into(),
            value: value.to_string(),
        });
        self
    }

    /// Adds `name: value` indented `depth` levels below the block.
    pub fn deep_line(mut self, depth: u8, name: impl Into<String>, value: impl ToString) -> StatusBlock {
        self.lines.push(StatusLine {
            depth,
            name: name.into(),
            value: value.to_string(),
        });
        self
    }

    /// Adds a line of text with no value (an empty text is a blank line).
    pub fn text(mut self, text: impl Into<String>) -> StatusBlock {
        self.lines.push(StatusLine {
            depth: 0,
            name: text.into(),
            value: String::new(),
        });
        self
    }
}

/// A component that contributes a section to `dogwatch status`.
pub trait StatusProvider: Send + Sync + 'static {
    /// The component's section now.
    fn section(&self) -> Pin<Box<dyn Future<Output = StatusSection> + Send + '_>>;
}

/// Renders the report as text, in the layout of `datadog-agent status`.
pub fn render_text(report: &StatusReport) -> String {
    let mut out = String::new();
    for section in &report.sections {
        let rule = "=".repeat(section.title.chars().count());
        out.push_str(&format!("{rule}\n{}\n{rule}\n\n", section.title));
        for block in &section.blocks {
            let base = if block.heading.is_empty() { 2 } else { 4 };
            if !block.heading.is_empty() {
                let underline = "=".repeat(block.heading.chars().count());
                out.push_str(&format!("  {}\n  {underline}\n", block.heading));
            }
            for line in &block.lines {
                let indent = " ".repeat(base + 2 * line.depth as usize);
                if line.name.is_empty() && line.value.is_empty() {
                    out.push('\n');
                } else if line.value.is_empty() {
                    out.push_str(&format!("{indent}{}\n", line.name));
                } else {
                    out.push_str(&format!("{indent}{}: {}\n", line.name, line.value));
                }
            }
            out.push('\n');
        }
    }
    out
}

/// Formats a byte count as `12.3 MiB` (shared with the server's pages).
pub use dogwatch_model::human_bytes;

/// `4282` as `4,282`, as Datadog's status prints counts.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats a duration in seconds as `1d 2h 3m 4s`, leaving out leading zero units.
pub fn human_duration(seconds: u64) -> String {
    let (d, h, m, s) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
    let parts = [(d, "d"), (h, "h"), (m, "m"), (s, "s")];
    let first = parts.iter().position(|(v, _)| *v > 0).unwrap_or(3);
    parts[first..]
        .iter()
        .map(|(v, u)| format!("{v}{u}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `2026-11-21 05:16:51 UTC (1763702211000)`, Datadog's status time format.
pub fn format_time(time: Option<SystemTime>) -> String {
    let Some(time) = time else { return "Never".into() };
    let ms = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = dogwatch_model::time::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC ({ms})",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_sections_blocks_and_nested_lines_like_the_datadog_agent() {
        let report = StatusReport {
            sections: vec![StatusSection {
                title: "Forwarder".into(),
                blocks: vec![
                    StatusBlock::new("Transactions")
                        .line("Success", 3)
                        .text("Successes By Endpoint:")
                        .sub_line("intake", 1),
                ],
            }],
        };
        let expected = "=========\nForwarder\n=========\n\n  Transactions\n  ============\n    Success: 3\n    Successes By Endpoint:\n      intake: 1\n\n";
        assert_eq!(render_text(&report), expected);
    }

    #[test]
    fn humanizes_bytes_and_durations() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(100 * 1024 * 1024), "100.0 MiB");
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(3725), "1h 2m 5s");
        assert_eq!(human_duration(90_061), "1d 1h 1m 1s");
    }

    #[test]
    fn formats_times_like_datadog_status() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_763_702_211_250);
        assert_eq!(format_time(Some(t)), "2025-11-21 05:16:51 UTC (1763702211250)");
        assert_eq!(format_time(None), "Never");
    }
}
