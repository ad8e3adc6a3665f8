//! The host's side of the pipe: bounded line reading and the messages the Python check host
//! sends, one JSON object per line (see `crates/agent/python/_dogwatch.py`).

use std::io::{self, BufRead};

use serde::Deserialize;
use serde_json::{Map, Value};

/// The longest line the agent reads from the host; longer ones are skipped and counted.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// One line read from the host.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A complete line, in the buffer (without its newline).
    Complete,
    /// A line longer than the limit, skipped to its newline.
    Oversize,
    /// The pipe closed.
    End,
}

/// Reads one line into `buf` (cleared first), keeping at most `max` bytes: a longer line is
/// read through to its end and reported as [`Line::Oversize`], so memory stays bounded
/// whatever the host writes.
pub(crate) fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<Line> {
    buf.clear();
    let mut oversize = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if oversize {
                Line::Oversize
            } else if buf.is_empty() {
                Line::End
            } else {
                Line::Complete
            });
        }
        let (chunk, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (i, true),
            None => (available.len(), false),
        };
        if !oversize && buf.len() + chunk <= max {
            buf.extend_from_slice(&available[..chunk]);
        } else {
            oversize = true;
            buf.clear();
        }
        reader.consume(if done { chunk + 1 } else { chunk });
        if done {
            return Ok(if oversize { Line::Oversize } else { Line::Complete });
        }
    }
}

/// A message from the host.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "t")]
pub(crate) enum FromHost {
    /// `aggregator.submit_metric`.
    #[serde(rename = "m")]
    Metric {
        c: String,
        k: u8,
        n: String,
        v: f64,
        #[serde(default)]
        g: Vec<String>,
        #[serde(default)]
        h: String,
        #[serde(default)]
        f: bool,
        #[serde(default)]
        ts: Option<f64>,
    },
    /// `aggregator.submit_service_check`.
    #[serde(rename = "sc")]
    ServiceCheck {
        c: String,
        n: String,
        s: u8,
        #[serde(default)]
        g: Vec<String>,
        #[serde(default)]
        h: String,
        #[serde(default)]
        m: String,
    },
    /// `aggregator.submit_event`.
    #[serde(rename = "ev")]
    Event { c: String, e: Map<String, Value> },
    /// `datadog_agent.set_check_metadata`.
    #[serde(rename = "md")]
    Metadata { c: String, n: String, v: String },
    /// The end of a run: `run()`'s result (empty, or Datadog's JSON list of errors) and the
    /// check's warnings; or why the host did not run it.
    #[serde(rename = "done")]
    Done {
        c: String,
        r: u64,
        #[serde(default)]
        result: String,
        #[serde(default)]
        warnings: Vec<String>,
        #[serde(default)]
        error: Option<String>,
    },
    /// The check's module was imported and its object made.
    #[serde(rename = "loaded")]
    Loaded { c: String, version: String, module: String },
    /// The check could not be imported or made.
    #[serde(rename = "load_error")]
    LoadError {
        c: String,
        error: String,
        #[serde(default)]
        traceback: String,
        #[serde(default)]
        not_found: bool,
    },
    /// `datadog_agent.log` (a Python logging level).
    #[serde(rename = "log")]
    Log { l: i64, m: String },
    /// A call dogwatch does not carry out (histogram buckets, event platform events, logs).
    #[serde(rename = "unsupported")]
    Unsupported { what: String },
    /// `datadog_agent.read_persistent_cache`, waiting for a reply.
    #[serde(rename = "cache_get")]
    CacheGet { q: u64, k: String },
    /// `datadog_agent.write_persistent_cache`.
    #[serde(rename = "cache_set")]
    CacheSet { k: String, v: String },
    /// Every second: the host is alive, with its RSS, thread count and CPU seconds.
    #[serde(rename = "hb")]
    Heartbeat { rss_kib: u64, threads: u64, cpu: f64 },
    /// The host started.
    #[serde(rename = "ready")]
    Ready {
        pid: u32,
        python: String,
        executable: String,
    },
}

impl FromHost {
    /// The check instance a message belongs to, if any.
    pub(crate) fn check_id(&self) -> Option<&str> {
        match self {
            FromHost::Metric { c, .. }
            | FromHost::ServiceCheck { c, .. }
            | FromHost::Event { c, .. }
            | FromHost::Metadata { c, .. }
            | FromHost::Done { c, .. }
            | FromHost::Loaded { c, .. }
            | FromHost::LoadError { c, .. } => Some(c),
            _ => None,
        }
    }
}

/// A Python persistent-cache key as a file name: bytes outside `[A-Za-z0-9._-]` become `%XX`,
/// so every key has its own file and none can leave the cache directory.
pub(crate) fn cache_file_name(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && !out.is_empty()) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<(Line, Vec<u8>)> {
        let mut reader = io::BufReader::with_capacity(4, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            let line = read_line(&mut reader, &mut buf, max).unwrap();
            if line == Line::End {
                return out;
            }
            out.push((line, buf.clone()));
        }
    }

    #[test]
    fn lines_past_the_limit_are_skipped_whole_and_the_next_line_is_read() {
        let got = lines(b"short\nthis one is far too long\nok\nlast-no-newline", 8);
        assert_eq!(
            got,
            [
                (Line::Complete, b"short".to_vec()),
                (Line::Oversize, vec![]),
                (Line::Complete, b"ok".to_vec()),
                (Line::Oversize, vec![]),
            ]
        );
        assert_eq!(lines(b"abc", 8), [(Line::Complete, b"abc".to_vec())]);
    }

    #[test]
    fn messages_parse_and_garbage_does_not() {
        let m: FromHost =
            serde_json::from_str(r#"{"t":"m","c":"x:1","k":1,"n":"a.b","v":2.5,"g":["t:1"],"h":""}"#).unwrap();
        assert_eq!(m.check_id(), Some("x:1"));
        assert!(serde_json::from_str::<FromHost>(r#"{"t":"m","c":"x:1","k":1,"n":"a","v":"NaN"}"#).is_err());
        assert!(serde_json::from_str::<FromHost>("hello world").is_err());
        assert!(serde_json::from_str::<FromHost>(r#"{"t":"nope"}"#).is_err());
    }

    #[test]
    fn cache_keys_become_file_names_that_stay_in_the_directory() {
        assert_eq!(cache_file_name("foo:abc_k"), "foo%3Aabc_k");
        assert_eq!(cache_file_name("../x"), "%2E.%2Fx");
        assert_eq!(cache_file_name("a.b"), "a.b");
    }
}
