//! Events (`POST /api/v1/events`), as DogStatsD's `_e{…}` messages and Datadog's event API
//! carry them.

use serde::{Deserialize, Serialize};

/// How prominent an event is, as Datadog names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EventPriority {
    /// Shown by default.
    #[default]
    Normal,
    /// Shown only when asked for.
    Low,
}

impl EventPriority {
    /// The lower-case name used on the wire and in storage.
    pub fn name(self) -> &'static str {
        match self {
            EventPriority::Normal => "normal",
            EventPriority::Low => "low",
        }
    }
}

/// The kind of an event, as Datadog names it: it colours the event in the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AlertType {
    /// Something failed.
    Error,
    /// Something needs attention.
    Warning,
    /// For information (the default).
    #[default]
    Info,
    /// Something went well.
    Success,
    /// A user changed something (Datadog's API accepts it).
    UserUpdate,
    /// A suggestion (Datadog's API accepts it).
    Recommendation,
    /// A graph snapshot (Datadog's API accepts it).
    Snapshot,
}

impl AlertType {
    /// The snake-case name used on the wire and in storage.
    pub fn name(self) -> &'static str {
        match self {
            AlertType::Error => "error",
            AlertType::Warning => "warning",
            AlertType::Info => "info",
            AlertType::Success => "success",
            AlertType::UserUpdate => "user_update",
            AlertType::Recommendation => "recommendation",
            AlertType::Snapshot => "snapshot",
        }
    }

    /// The alert type named `name`, if it is one.
    pub fn from_name(name: &str) -> Option<AlertType> {
        [
            AlertType::Error,
            AlertType::Warning,
            AlertType::Info,
            AlertType::Success,
            AlertType::UserUpdate,
            AlertType::Recommendation,
            AlertType::Snapshot,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }
}

/// The longest title Datadog keeps; longer ones are cut.
pub const MAX_TITLE_CHARS: usize = 100;
/// The longest text Datadog keeps; longer ones are cut.
pub const MAX_TEXT_CHARS: usize = 4000;

/// One event, in the JSON shape of Datadog's `POST /api/v1/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The title (required).
    pub title: String,
    /// The body; may span lines.
    #[serde(default)]
    pub text: String,
    /// Unix seconds when it happened; the server uses its receive time when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_happened: Option<i64>,
    /// `normal` (default) or `low`.
    #[serde(default)]
    pub priority: EventPriority,
    /// The host it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `key:value` tags; `null` reads as none.
    #[serde(default, deserialize_with = "crate::null_as_empty")]
    pub tags: Vec<String>,
    /// `error`, `warning`, `info` (default) or `success`.
    #[serde(default)]
    pub alert_type: AlertType,
    /// Groups related events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation_key: Option<String>,
    /// What sent it (`source_type_name`, DogStatsD's `s:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type_name: Option<String>,
}

impl Event {
    /// Cuts the title and text to Datadog's limits (on character boundaries).
    pub fn truncate_to_limits(&mut self) {
        truncate_chars(&mut self.title, MAX_TITLE_CHARS);
        truncate_chars(&mut self.text, MAX_TEXT_CHARS);
    }
}

fn truncate_chars(text: &mut String, max: usize) {
    if let Some((cut, _)) = text.char_indices().nth(max) {
        text.truncate(cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_datadogs_event_body_and_cuts_long_titles() {
        let mut e: Event =
            serde_json::from_str(r#"{"title":"Deploy","text":"v2","alert_type":"error","priority":"low","tags":null}"#)
                .unwrap();
        assert_eq!((e.alert_type, e.priority), (AlertType::Error, EventPriority::Low));
        assert!(e.tags.is_empty());
        e.title = "é".repeat(150);
        e.truncate_to_limits();
        assert_eq!(e.title.chars().count(), MAX_TITLE_CHARS);
        assert_eq!(AlertType::from_name("success"), Some(AlertType::Success));
    }
}
