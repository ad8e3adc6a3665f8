//! The DogStatsD wire protocol: one datagram's lines parsed, without copying, into metric
//! samples, events and service checks (DATADOG-COMPAT.md §4).
//!
//! - Metric: `name:value[:value...]|type[|@rate][|#tags][|T<unix s>][|c:<container>]`; optional
//!   fields in any order, unknown ones ignored. Sets keep the raw value (no `:` split).
//! - Event: `_e{<title bytes>,<text bytes>}:<title>|<text>[|d:][|h:][|k:][|p:][|s:][|t:][|#tags]`.
//! - Service check: `_sc|<name>|<0-3>[|d:][|h:][|#tags][|m:<message>]`.
//!
//! The parser never panics and never allocates: every field borrows from the line. A line that
//! does not parse yields a [`ParseError`] naming its kind and the problem; the caller counts it
//! and goes on with the next line.

use memchr::memchr;

/// The kind of a metric line's value, from its type field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// `c`: a count, sent as a per-second rate.
    Count,
    /// `g`: a gauge, last value wins.
    Gauge,
    /// `h` or `ms`: a histogram, sent as aggregates and percentiles.
    Histogram,
    /// `d`: a distribution, kept as a sketch.
    Distribution,
    /// `s`: a set, sent as the number of unique values.
    Set,
}

/// One metric line.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricLine<'a> {
    /// The metric name.
    pub name: &'a str,
    /// The raw value field: `:`-separated numbers, or a set's member as sent.
    pub values: &'a str,
    /// The type.
    pub kind: MetricType,
    /// The sample rate, in (0, 1]; 1 when absent.
    pub sample_rate: f64,
    /// The raw tag field (without `#`): `,`-separated, may be empty.
    pub tags: &'a str,
    /// `T<unix seconds>`: the client's timestamp.
    pub timestamp: Option<i64>,
    /// `c:<container id>`, kept but not resolved.
    pub container: Option<&'a str>,
}

impl<'a> MetricLine<'a> {
    /// The numeric values (not for sets), each checked to be a finite number.
    pub fn numbers(&self) -> impl Iterator<Item = Result<f64, ParseError>> + 'a {
        self.values.split(':').map(|v| {
            parse_number(v).ok_or(ParseError::metric(if v.is_empty() {
                "empty value"
            } else {
                "value is not a finite number"
            }))
        })
    }
}

/// One event line.
#[derive(Debug, Clone, PartialEq)]
pub struct EventLine<'a> {
    /// The title.
    pub title: &'a str,
    /// The text, with `\n` escapes still in place (see [`unescape_newlines`]).
    pub text: &'a str,
    /// `d:` Unix seconds.
    pub timestamp: Option<i64>,
    /// `h:` host.
    pub host: Option<&'a str>,
    /// `k:` aggregation key.
    pub aggregation_key: Option<&'a str>,
    /// `p:` priority (`normal` or `low`).
    pub priority: Option<&'a str>,
    /// `s:` source type name.
    pub source_type: Option<&'a str>,
    /// `t:` alert type (`error`, `warning`, `info` or `success`).
    pub alert_type: Option<&'a str>,
    /// The raw tag field.
    pub tags: &'a str,
}

/// One service check line.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceCheckLine<'a> {
    /// The check's name.
    pub name: &'a str,
    /// 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub status: u8,
    /// `d:` Unix seconds.
    pub timestamp: Option<i64>,
    /// `h:` host.
    pub host: Option<&'a str>,
    /// The raw tag field.
    pub tags: &'a str,
    /// `m:` message, with `\n` escapes still in place.
    pub message: &'a str,
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq)]
pub enum Message<'a> {
    /// A metric sample (or several, with protocol 1.1 multiple values).
    Metric(MetricLine<'a>),
    /// An event.
    Event(EventLine<'a>),
    /// A service check.
    ServiceCheck(ServiceCheckLine<'a>),
}

/// Which kind of line failed to parse; status counts errors per kind, as Datadog does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// A metric line.
    Metric,
    /// An `_e{…}` line.
    Event,
    /// An `_sc|…` line.
    ServiceCheck,
}

/// Why a line was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?} line: {reason}")]
pub struct ParseError {
    /// The kind of line.
    pub kind: LineKind,
    /// What is wrong.
    pub reason: &'static str,
}

impl ParseError {
    fn metric(reason: &'static str) -> ParseError {
        ParseError {
            kind: LineKind::Metric,
            reason,
        }
    }
    fn event(reason: &'static str) -> ParseError {
        ParseError {
            kind: LineKind::Event,
            reason,
        }
    }
    fn check(reason: &'static str) -> ParseError {
        ParseError {
            kind: LineKind::ServiceCheck,
            reason,
        }
    }
}

/// Splits a datagram into its non-empty lines (`\n`-separated; a trailing `\r` is dropped).
pub fn lines(datagram: &[u8]) -> impl Iterator<Item = &[u8]> {
    datagram
        .split(|b| *b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.is_empty())
}

/// Parses one line.
pub fn parse_line(line: &[u8]) -> Result<Message<'_>, ParseError> {
    if line.starts_with(b"_e{") {
        let line = std::str::from_utf8(line).map_err(|_| ParseError::event("not UTF-8"))?;
        parse_event(line).map(Message::Event)
    } else if line.starts_with(b"_sc|") {
        let line = std::str::from_utf8(line).map_err(|_| ParseError::check("not UTF-8"))?;
        parse_service_check(line).map(Message::ServiceCheck)
    } else {
        let line = std::str::from_utf8(line).map_err(|_| ParseError::metric("not UTF-8"))?;
        parse_metric(line).map(Message::Metric)
    }
}

fn parse_metric(line: &str) -> Result<MetricLine<'_>, ParseError> {
    let bytes = line.as_bytes();
    let colon = memchr(b':', bytes).ok_or(ParseError::metric("no `:` after the metric name"))?;
    let name = &line[..colon];
    if name.is_empty() {
        return Err(ParseError::metric("empty metric name"));
    }
    let rest = &line[colon + 1..];
    let pipe = memchr(b'|', rest.as_bytes()).ok_or(ParseError::metric("no `|type` after the value"))?;
    let values = &rest[..pipe];
    if values.is_empty() {
        return Err(ParseError::metric("empty value"));
    }
    let mut fields = rest[pipe + 1..].split('|');
    let kind = match fields.next().unwrap_or_default() {
        "c" => MetricType::Count,
        "g" => MetricType::Gauge,
        "h" | "ms" => MetricType::Histogram,
        "d" => MetricType::Distribution,
        "s" => MetricType::Set,
        "" => return Err(ParseError::metric("empty metric type")),
        _ => return Err(ParseError::metric("unknown metric type (expected c, g, h, d, s or ms)")),
    };
    let mut metric = MetricLine {
        name,
        values,
        kind,
        sample_rate: 1.0,
        tags: "",
        timestamp: None,
        container: None,
    };
    for field in fields {
        if let Some(rate) = field.strip_prefix('@') {
            match parse_number(rate) {
                Some(r) if r > 0.0 => metric.sample_rate = r.min(1.0),
                _ => return Err(ParseError::metric("sample rate is not a number in (0, 1]")),
            }
        } else if let Some(tags) = field.strip_prefix('#') {
            metric.tags = tags;
        } else if let Some(ts) = field.strip_prefix('T') {
            metric.timestamp = Some(
                ts.parse()
                    .map_err(|_| ParseError::metric("timestamp is not a whole number"))?,
            );
        } else if let Some(container) = field.strip_prefix("c:") {
            metric.container = Some(container);
        }
    }
    if kind != MetricType::Set {
        // Checked here so that a bad value is a parse error, not a lost sample later.
        for value in metric.numbers() {
            value?;
        }
    }
    Ok(metric)
}

fn parse_event(line: &str) -> Result<EventLine<'_>, ParseError> {
    let header_end = line.find("}:").ok_or(ParseError::event("no `}:` after the lengths"))?;
    let (title_len, text_len) = line[3..header_end]
        .split_once(',')
        .ok_or(ParseError::event("lengths are not `{title,text}`"))?;
    let title_len: usize = title_len
        .parse()
        .map_err(|_| ParseError::event("title length is not a number"))?;
    let text_len: usize = text_len
        .parse()
        .map_err(|_| ParseError::event("text length is not a number"))?;
    let body = &line[header_end + 2..];
    let title_end = title_len;
    let text_start = title_end
        .checked_add(1)
        .ok_or(ParseError::event("title length too large"))?;
    let text_end = text_start
        .checked_add(text_len)
        .ok_or(ParseError::event("text length too large"))?;
    if text_end > body.len() || body.as_bytes().get(title_end) != Some(&b'|') {
        return Err(ParseError::event("title and text lengths do not match the message"));
    }
    let (Some(title), Some(text)) = (body.get(..title_end), body.get(text_start..text_end)) else {
        return Err(ParseError::event("a length splits a UTF-8 character"));
    };
    if title.is_empty() {
        return Err(ParseError::event("empty title"));
    }
    let mut event = EventLine {
        title,
        text,
        timestamp: None,
        host: None,
        aggregation_key: None,
        priority: None,
        source_type: None,
        alert_type: None,
        tags: "",
    };
    let rest = &body[text_end..];
    if !rest.is_empty() && !rest.starts_with('|') {
        return Err(ParseError::event("title and text lengths do not match the message"));
    }
    for field in rest.split('|').skip(1) {
        if let Some(v) = field.strip_prefix("d:") {
            event.timestamp = Some(v.parse().map_err(|_| ParseError::event("`d:` is not a whole number"))?);
        } else if let Some(v) = field.strip_prefix("h:") {
            event.host = Some(v);
        } else if let Some(v) = field.strip_prefix("k:") {
            event.aggregation_key = Some(v);
        } else if let Some(v) = field.strip_prefix("p:") {
            if v != "normal" && v != "low" {
                return Err(ParseError::event("`p:` is not `normal` or `low`"));
            }
            event.priority = Some(v);
        } else if let Some(v) = field.strip_prefix("s:") {
            event.source_type = Some(v);
        } else if let Some(v) = field.strip_prefix("t:") {
            if !matches!(v, "error" | "warning" | "info" | "success") {
                return Err(ParseError::event("`t:` is not error, warning, info or success"));
            }
            event.alert_type = Some(v);
        } else if let Some(v) = field.strip_prefix('#') {
            event.tags = v;
        }
    }
    Ok(event)
}

fn parse_service_check(line: &str) -> Result<ServiceCheckLine<'_>, ParseError> {
    let rest = &line[4..];
    let (name, rest) = rest
        .split_once('|')
        .ok_or(ParseError::check("no `|status` after the name"))?;
    if name.is_empty() {
        return Err(ParseError::check("empty check name"));
    }
    let (status, rest) = rest.split_once('|').unwrap_or((rest, ""));
    let status = match status {
        "0" => 0,
        "1" => 1,
        "2" => 2,
        "3" => 3,
        _ => return Err(ParseError::check("status is not 0, 1, 2 or 3")),
    };
    let mut check = ServiceCheckLine {
        name,
        status,
        timestamp: None,
        host: None,
        tags: "",
        message: "",
    };
    let mut rest = rest;
    while !rest.is_empty() {
        // `m:` is the last field: its message may itself hold `|`.
        if let Some(message) = rest.strip_prefix("m:") {
            check.message = message;
            break;
        }
        let (field, next) = rest.split_once('|').unwrap_or((rest, ""));
        rest = next;
        if let Some(v) = field.strip_prefix("d:") {
            check.timestamp = Some(v.parse().map_err(|_| ParseError::check("`d:` is not a whole number"))?);
        } else if let Some(v) = field.strip_prefix("h:") {
            check.host = Some(v);
        } else if let Some(v) = field.strip_prefix('#') {
            check.tags = v;
        }
    }
    Ok(check)
}

/// A finite number: a fast path for plain integers, else Rust's float parser (which accepts
/// `1e3`, `.5`, `-2.25`).
pub fn parse_number(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let (negative, digits) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    if !digits.is_empty() && digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit) {
        let n = digits.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')) as f64;
        return Some(if negative { -n } else { n });
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Replaces DogStatsD's `\n` escapes (a backslash and an `n`) with newlines.
pub fn unescape_newlines(text: &str) -> String {
    text.replace("\\n", "\n")
}

/// The tags of a raw tag field: non-empty, `,`-separated.
pub fn tags(field: &str) -> impl Iterator<Item = &str> {
    field.split(',').filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(line: &str) -> MetricLine<'_> {
        match parse_line(line.as_bytes()).unwrap() {
            Message::Metric(m) => m,
            other => panic!("not a metric: {other:?}"),
        }
    }

    #[test]
    fn reads_every_metric_type_and_optional_field_in_any_order() {
        let m = metric("page.views:1|c");
        assert_eq!(
            (m.name, m.values, m.kind, m.sample_rate),
            ("page.views", "1", MetricType::Count, 1.0)
        );
        assert_eq!(metric("a:1|g").kind, MetricType::Gauge);
        assert_eq!(metric("a:1|h").kind, MetricType::Histogram);
        assert_eq!(metric("a:1|ms").kind, MetricType::Histogram);
        assert_eq!(metric("a:1|d").kind, MetricType::Distribution);
        let m = metric("a:12.5|ms|T1700000000|#env:prod,host:web-1|@0.5|c:abc123|x:unknown");
        assert_eq!(m.sample_rate, 0.5);
        assert_eq!(m.tags, "env:prod,host:web-1");
        assert_eq!(m.timestamp, Some(1_700_000_000));
        assert_eq!(m.container, Some("abc123"));
        let values: Vec<f64> = metric("a:1:2.5:-3:1e3|h").numbers().map(Result::unwrap).collect();
        assert_eq!(values, [1.0, 2.5, -3.0, 1000.0]);
        // A set keeps its member as sent, colons included.
        let m = metric("users:alice:x|s");
        assert_eq!((m.kind, m.values), (MetricType::Set, "alice:x"));
    }

    #[test]
    fn refuses_malformed_metric_lines_with_a_reason() {
        for (line, reason) in [
            ("nocolon|c", "no `:` after the metric name"),
            (":1|c", "empty metric name"),
            ("a:1", "no `|type` after the value"),
            ("a:|c", "empty value"),
            ("a:1|", "empty metric type"),
            ("a:1|x", "unknown metric type (expected c, g, h, d, s or ms)"),
            ("a:abc|g", "value is not a finite number"),
            ("a:1::2|g", "empty value"),
            ("a:nan|g", "value is not a finite number"),
            ("a:1|c|@0", "sample rate is not a number in (0, 1]"),
            ("a:1|c|@x", "sample rate is not a number in (0, 1]"),
            ("a:1|g|Tnow", "timestamp is not a whole number"),
        ] {
            let err = parse_line(line.as_bytes()).unwrap_err();
            assert_eq!((err.kind, err.reason), (LineKind::Metric, reason), "{line}");
        }
        assert_eq!(parse_line(b"a:\xff|c").unwrap_err().reason, "not UTF-8");
    }

    #[test]
    fn reads_events_with_every_field() {
        let Message::Event(e) =
            parse_line(b"_e{6,10}:Deploy|v2\\nis out|d:1700000000|h:web-1|k:dep|p:low|s:ci|t:success|#env:prod")
                .unwrap()
        else {
            panic!()
        };
        assert_eq!((e.title, e.text), ("Deploy", "v2\\nis out"));
        assert_eq!(unescape_newlines(e.text), "v2\nis out");
        assert_eq!(e.timestamp, Some(1_700_000_000));
        assert_eq!(
            (e.host, e.aggregation_key, e.priority),
            (Some("web-1"), Some("dep"), Some("low"))
        );
        assert_eq!(
            (e.source_type, e.alert_type, e.tags),
            (Some("ci"), Some("success"), "env:prod")
        );
        let Message::Event(e) = parse_line("_e{3,0}:hé|".as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!((e.title, e.text), ("hé", ""));
        for line in [
            "_e{5,4}:title|tex",
            "_e{5,4}:titl|text",
            "_e{x,4}:title|text",
            "_e{5,4}title|text",
            "_e{0,1}:|x",
        ] {
            assert_eq!(parse_line(line.as_bytes()).unwrap_err().kind, LineKind::Event, "{line}");
        }
        assert_eq!(
            parse_line(b"_e{1,1}:a|b|t:fatal").unwrap_err().reason,
            "`t:` is not error, warning, info or success"
        );
    }

    #[test]
    fn reads_service_checks_with_a_message_holding_pipes() {
        let Message::ServiceCheck(c) =
            parse_line(b"_sc|app.up|2|d:1700000000|h:web-1|#db:main,env:prod|m:timeout | retrying").unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (c.name, c.status, c.timestamp, c.host),
            ("app.up", 2, Some(1_700_000_000), Some("web-1"))
        );
        assert_eq!((c.tags, c.message), ("db:main,env:prod", "timeout | retrying"));
        let Message::ServiceCheck(c) = parse_line(b"_sc|app.up|0").unwrap() else {
            panic!()
        };
        assert_eq!((c.status, c.message), (0, ""));
        for line in ["_sc|app.up|4", "_sc||0", "_sc|app.up", "_sc|app.up|0|d:x"] {
            assert_eq!(
                parse_line(line.as_bytes()).unwrap_err().kind,
                LineKind::ServiceCheck,
                "{line}"
            );
        }
    }

    #[test]
    fn splits_datagrams_into_lines() {
        let got: Vec<&[u8]> = lines(b"a:1|c\n\nb:2|g\r\nc:3|h\n").collect();
        assert_eq!(got, [&b"a:1|c"[..], b"b:2|g", b"c:3|h"]);
        assert_eq!(tags(",a,,b:1,").collect::<Vec<_>>(), ["a", "b:1"]);
    }
}
