//! One Python check instance as the runner sees it: a [`Check`] whose run asks the host to
//! run the check object and applies what it submits to the instance's [`Sender`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use dogwatch_model::{AlertType, CheckStatus, Event, EventPriority};
use serde_json::{Map, Value, json};

use super::PythonError;
use super::host::{PythonHost, ToCheck};
use super::protocol::FromHost;
use crate::checks::sender::SampleKind;
use crate::checks::{Check, CheckError, Sender};

/// What a load told about the check.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The module's `__version__`, or `unversioned`.
    pub version: String,
    /// `datadog_checks.<name>` or the checks.d file it came from.
    pub module: String,
}

/// A Python check instance, run in the shared host.
pub struct PythonCheck {
    host: Arc<PythonHost>,
    id: String,
    name: String,
    file: Option<PathBuf>,
    init_config: Value,
    instance: Value,
    timeout: Duration,
    inbox: Receiver<ToCheck>,
    loaded_in: Option<u64>,
    runs: u64,
    historates: HashMap<String, (f64, f64)>,
}

impl PythonCheck {
    /// An instance of check `name` (from `file`, or the `datadog_checks.<name>` package when
    /// `None` or preferred) with ID `id`; a run that takes longer than `timeout` is an error.
    pub(crate) fn new(
        host: Arc<PythonHost>,
        id: &str,
        name: &str,
        file: Option<PathBuf>,
        init_config: Value,
        instance: Value,
        timeout: Duration,
    ) -> PythonCheck {
        let inbox = host.register(id);
        PythonCheck {
            host,
            id: id.to_string(),
            name: name.to_string(),
            file,
            init_config,
            instance,
            timeout,
            inbox,
            loaded_in: None,
            runs: 0,
            historates: HashMap::new(),
        }
    }

    /// Makes sure the running host has this check's object, importing and making it if not.
    pub(crate) fn load(&mut self, deadline: Instant) -> Result<Option<Loaded>, PythonError> {
        let generation = self.host.ensure_running()?;
        if self.loaded_in == Some(generation) {
            return Ok(None);
        }
        self.host.send(
            generation,
            &json!({
                "op": "load",
                "c": self.id,
                "name": self.name,
                "file": self.file,
                "init_config": self.init_config,
                "instance": self.instance,
            }),
        )?;
        loop {
            match self.next(deadline) {
                Ok(ToCheck::Host(FromHost::Loaded { version, module, .. })) => {
                    self.loaded_in = Some(generation);
                    return Ok(Some(Loaded { version, module }));
                }
                Ok(ToCheck::Host(FromHost::LoadError {
                    error,
                    traceback,
                    not_found,
                    ..
                })) => {
                    return Err(PythonError::Load {
                        error,
                        traceback,
                        not_found,
                    });
                }
                Ok(ToCheck::Exited(g, detail)) if g == generation => return Err(PythonError::Exited(detail)),
                // What an earlier host or run left in the queue.
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(PythonError::Timeout(format!(
                        "loading the check took longer than {:.1}s",
                        self.timeout.as_secs_f64()
                    )));
                }
                Err(RecvTimeoutError::Disconnected) => return Err(PythonError::Pipe("the host is gone".into())),
            }
        }
    }

    fn next(&self, deadline: Instant) -> Result<ToCheck, RecvTimeoutError> {
        self.inbox
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    }

    fn run_in_host(&mut self, sender: &mut Sender) -> Result<(), PythonError> {
        if self.host.is_quarantined(&self.id) {
            return Err(PythonError::Quarantined);
        }
        let deadline = Instant::now() + self.timeout;
        self.load(deadline)?;
        let generation = self.loaded_in.unwrap_or_default();
        self.runs += 1;
        let run = self.runs;
        self.host.run_sent(&self.id);
        self.host
            .send(generation, &json!({"op": "run", "c": self.id, "r": run}))?;
        loop {
            match self.next(deadline) {
                Ok(ToCheck::Host(FromHost::Done {
                    r,
                    result,
                    warnings,
                    error,
                    ..
                })) if r == run => {
                    for warning in warnings {
                        sender.warning(warning);
                    }
                    if let Some(error) = error {
                        return Err(PythonError::Run(error));
                    }
                    return match run_errors(&result) {
                        None => Ok(()),
                        Some(message) => Err(PythonError::Run(message)),
                    };
                }
                Ok(ToCheck::Host(message)) => self.apply(message, sender),
                Ok(ToCheck::Exited(g, detail)) if g == generation => {
                    self.loaded_in = None;
                    return Err(PythonError::Exited(detail));
                }
                Ok(ToCheck::Exited(..)) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(PythonError::Timeout(format!(
                        "the run took longer than {:.1}s and is left running in the Python check host; the check's next runs are skipped until it returns",
                        self.timeout.as_secs_f64()
                    )));
                }
                Err(RecvTimeoutError::Disconnected) => return Err(PythonError::Pipe("the host is gone".into())),
            }
        }
    }

    fn apply(&mut self, message: FromHost, sender: &mut Sender) {
        match message {
            FromHost::Metric {
                k, n, v, g, h, f, ts, ..
            } => {
                let host = (!h.is_empty()).then_some(h.as_str());
                match k {
                    0 => sender.submit(SampleKind::Gauge, &n, v, &g, host),
                    1 => sender.submit(SampleKind::Rate, &n, v, &g, host),
                    // COUNT, and COUNTER (increment/decrement): the run's sum, sent as a count.
                    2 | 4 => sender.submit(SampleKind::Count, &n, v, &g, host),
                    3 if f && host.is_none() => sender.monotonic_count_flush_first(&n, v, &g),
                    3 => sender.submit(SampleKind::MonotonicCount, &n, v, &g, host),
                    5 => sender.submit(SampleKind::Histogram, &n, v, &g, host),
                    6 => {
                        // HISTORATE: a histogram of the per-second rates between samples.
                        let now = ts.unwrap_or_else(crate::checks::unix_now);
                        let mut key_tags = g.clone();
                        key_tags.sort();
                        let key = format!("{n}\u{0}{h}\u{0}{}", key_tags.join(","));
                        if let Some((value, at)) = self.historates.insert(key, (v, now))
                            && now > at
                        {
                            sender.submit(SampleKind::Histogram, &n, (v - value) / (now - at), &g, host);
                        }
                    }
                    _ => sender.warning(format!("metric {n} has an unknown type {k}; it was dropped")),
                }
            }
            FromHost::ServiceCheck { n, s, g, h, m, .. } => {
                let status = match s {
                    0 => CheckStatus::Ok,
                    1 => CheckStatus::Warning,
                    2 => CheckStatus::Critical,
                    _ => CheckStatus::Unknown,
                };
                sender.service_check_on(&n, status, &g, &m, Some(&h));
            }
            FromHost::Event { e, .. } => sender.event(event_from_python(&e)),
            FromHost::Metadata { n, v, .. } => sender.set_metadata(&n, &v),
            _ => {}
        }
    }
}

impl Check for PythonCheck {
    fn run(&mut self, sender: &mut Sender) -> Result<(), CheckError> {
        self.run_in_host(sender).map_err(|e| CheckError::Other(e.to_string()))
    }
}

/// `run()`'s result: empty for success, else Datadog's JSON list of `{message, traceback}`,
/// shown as the message then the traceback.
fn run_errors(result: &str) -> Option<String> {
    if result.trim().is_empty() {
        return None;
    }
    let Ok(Value::Array(errors)) = serde_json::from_str::<Value>(result) else {
        return Some(result.to_string());
    };
    let text: Vec<String> = errors
        .iter()
        .map(|e| {
            let message = e["message"].as_str().unwrap_or_default();
            match e["traceback"].as_str().filter(|t| !t.is_empty()) {
                Some(traceback) => format!("{message}\n{}", traceback.trim_end()),
                None => message.to_string(),
            }
        })
        .collect();
    Some(text.join("\n"))
}

/// An `AgentCheck.event()` dict as an event.
fn event_from_python(e: &Map<String, Value>) -> Event {
    let text = |key: &str| e.get(key).and_then(Value::as_str).map(str::to_string);
    let alert_type = text("alert_type")
        .and_then(|a| serde_json::from_value::<AlertType>(Value::String(a)).ok())
        .unwrap_or_default();
    let priority = text("priority")
        .and_then(|p| serde_json::from_value::<EventPriority>(Value::String(p)).ok())
        .unwrap_or_default();
    let tags = e
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let mut event = Event {
        title: text("msg_title").unwrap_or_default(),
        text: text("msg_text").unwrap_or_default(),
        date_happened: e.get("timestamp").and_then(Value::as_f64).map(|t| t as i64),
        priority,
        host: text("host").filter(|h| !h.is_empty()),
        tags,
        alert_type,
        aggregation_key: text("aggregation_key").filter(|k| !k.is_empty()),
        source_type_name: text("source_type_name").or_else(|| text("event_type")),
    };
    event.truncate_to_limits();
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_results_become_the_message_and_traceback() {
        assert_eq!(run_errors(""), None);
        let result = r#"[{"message": "boom", "traceback": "Traceback (most recent call last):\n  File \"x.py\"\nValueError: boom\n"}]"#;
        assert_eq!(
            run_errors(result).unwrap(),
            "boom\nTraceback (most recent call last):\n  File \"x.py\"\nValueError: boom"
        );
        assert_eq!(run_errors("not json").unwrap(), "not json");
    }

    #[test]
    fn python_events_keep_their_fields() {
        let e: Map<String, Value> = serde_json::from_str(
            r#"{"timestamp": 1700000000.5, "event_type": "deploy", "msg_title": "T", "msg_text": "body", "alert_type": "error", "priority": "low", "tags": ["a:1"], "aggregation_key": "k"}"#,
        )
        .unwrap();
        let event = event_from_python(&e);
        assert_eq!(event.title, "T");
        assert_eq!(event.date_happened, Some(1_700_000_000));
        assert_eq!(event.alert_type, AlertType::Error);
        assert_eq!(event.priority, EventPriority::Low);
        assert_eq!(event.source_type_name.as_deref(), Some("deploy"));
        assert_eq!(event.tags, ["a:1"]);
    }
}
