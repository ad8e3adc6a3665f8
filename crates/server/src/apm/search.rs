//! Span search: what each term of the search language means for a span (Datadog's trace
//! search), and which top-level terms the store can apply in SQL before the rest is matched.
//!
//! - Reserved attributes: `service:`, `env:`, `version:`, `host:`, `resource_name:` (or
//!   `resource:`), `operation_name:` (or `name:`), `type:`, `trace_id:`, `span_id:`,
//!   `parent_id:`, `status:error|ok`, `@duration` (ns; `@duration:>100ms`).
//! - Any other `key:value` or `@key:value` is a span tag: meta first, then metrics (so
//!   `@http.status_code:>=500` compares the number whichever way the tracer sent it).
//! - Free text matches the resource, the operation name and the error message, ignoring
//!   case; `*` in a term is a wildcard.

use dogwatch_search::{Bound, CmpOp, Matcher, Pattern, Query, Text, range_contains, wildcard_match};
use dogwatch_store::{SpanRow, SpanScan};

/// Matches spans.
pub struct SpanMatcher;

/// A field's value for comparisons and tags.
enum Value<'a> {
    Text(&'a str),
    Number(f64),
    Owned(String),
    Missing,
}

fn field<'a>(span: &'a SpanRow, key: &str) -> Value<'a> {
    let key = key.strip_prefix('@').unwrap_or(key);
    match key {
        "service" => Value::Text(&span.service),
        "env" => Value::Text(&span.env),
        "version" => Value::Text(&span.version),
        "host" => Value::Text(&span.host),
        "resource_name" | "resource" => Value::Text(&span.resource),
        "operation_name" | "name" => Value::Text(&span.name),
        "type" | "span.type" => Value::Text(&span.kind),
        "duration" => Value::Number(span.duration as f64),
        "trace_id" => Value::Owned(span.trace_id.to_string()),
        "span_id" => Value::Owned(span.span_id.to_string()),
        "parent_id" => Value::Owned(span.parent_id.to_string()),
        "status" => Value::Text(if span.error { "error" } else { "ok" }),
        _ => match span.meta.get(key) {
            Some(v) => Value::Text(v),
            None => match span.metrics.get(key) {
                Some(v) => Value::Number(*v),
                None => Value::Missing,
            },
        },
    }
}

fn number(value: &Value<'_>) -> Option<f64> {
    match value {
        Value::Number(n) => Some(*n),
        Value::Text(t) => t.trim().parse().ok(),
        Value::Owned(t) => t.parse().ok(),
        Value::Missing => None,
    }
}

/// Formats a metric the way a tag value reads: integers without a decimal point.
fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// A span's value of a facet (`service`, `resource_name`, `@http.status_code`, ...) as text,
/// as a group of an aggregation shows it; `None` when the span lacks it.
pub fn facet_text(span: &SpanRow, key: &str) -> Option<String> {
    match field(span, key) {
        Value::Text(t) => Some(t.to_string()),
        Value::Owned(t) => Some(t),
        Value::Number(n) => Some(number_text(n)),
        Value::Missing => None,
    }
}

/// A span's value of a measure (`@duration` in ns, or a numeric tag); `None` when the span
/// lacks it or it is not a number.
pub fn measure(span: &SpanRow, key: &str) -> Option<f64> {
    number(&field(span, key))
}

impl Matcher for SpanMatcher {
    type Item = SpanRow;

    fn text(&self, span: &SpanRow, text: &Text) -> bool {
        let needle = text.value.to_lowercase();
        if needle.is_empty() {
            return true;
        }
        let error_message = span
            .meta
            .get("error.message")
            .or_else(|| span.meta.get("error.msg"))
            .map(String::as_str)
            .unwrap_or("");
        [span.resource.as_str(), span.name.as_str(), error_message]
            .iter()
            .any(|hay| {
                if !text.phrase && needle.contains('*') {
                    wildcard_match(&format!("*{needle}*"), hay, true)
                } else {
                    hay.to_lowercase().contains(&needle)
                }
            })
    }

    fn tag(&self, span: &SpanRow, key: &str, value: &Pattern) -> bool {
        match field(span, key) {
            Value::Text(t) => value.matches(t),
            Value::Owned(t) => value.matches(&t),
            Value::Number(n) => value.matches(&number_text(n)),
            Value::Missing => false,
        }
    }

    fn compare(&self, span: &SpanRow, key: &str, op: CmpOp, value: f64) -> bool {
        number(&field(span, key)).is_some_and(|n| match op {
            CmpOp::Gt => n > value,
            CmpOp::Ge => n >= value,
            CmpOp::Lt => n < value,
            CmpOp::Le => n <= value,
        })
    }

    fn range(&self, span: &SpanRow, key: &str, low: &Bound, high: &Bound) -> bool {
        number(&field(span, key)).is_some_and(|n| range_contains(low, high, n))
    }
}

/// Narrows a scan with the query's top-level exact `service:`, `env:` and `status:error`
/// filters, which SQL applies with an index or a flag; the full query is still matched after.
/// Services and envs are stored normalized (lower case), so the values are lower-cased.
pub fn narrow_scan(query: &Query, scan: &mut SpanScan) {
    let terms: &[Query] = match query {
        Query::And(children) => children,
        single => std::slice::from_ref(single),
    };
    for term in terms {
        if let Query::Tag {
            key,
            value: Pattern::Exact(value),
        } = term
        {
            match key.as_str() {
                "service" => scan.service = Some(value.to_lowercase()),
                "env" => scan.env = Some(value.to_lowercase()),
                "status" if value.eq_ignore_ascii_case("error") => scan.errors_only = true,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dogwatch_search::parse;

    fn span() -> SpanRow {
        SpanRow {
            trace_id: 77,
            span_id: 5,
            service: "notes".into(),
            name: "flask.request".into(),
            resource: "GET /notes".into(),
            kind: "web".into(),
            host: "web-1".into(),
            env: "dev".into(),
            duration: 150_000_000,
            error: true,
            meta: [
                ("http.status_code".to_string(), "500".to_string()),
                ("error.message".to_string(), "division by zero".to_string()),
                ("component".to_string(), "flask".to_string()),
            ]
            .into(),
            metrics: [("process_id".to_string(), 42.0)].into(),
            ..Default::default()
        }
    }

    fn matches(query: &str) -> bool {
        parse(query).unwrap().matches(&SpanMatcher, &span())
    }

    #[test]
    fn reserved_attributes_tags_and_numbers() {
        for query in [
            "service:notes",
            "service:NOTES env:dev",
            "resource_name:\"GET /notes\"",
            "operation_name:flask.*",
            "host:web-*",
            "status:error",
            "@http.status_code:>=500",
            "@http.status_code:500",
            "@duration:>100ms",
            "@duration:[100ms TO 1s]",
            "component:flask",
            "@process_id:42",
            "trace_id:77",
            "division",
            "\"by zero\"",
            "get*notes",
            "service:notes -status:ok",
            "service:(notes OR calendar)",
            "service:(calendar OR note*)",
            "-service:calendar",
            "-service:(calendar OR billing) env:dev",
            "env:(dev OR prod) @http.status_code:(500 OR 502)",
        ] {
            assert!(matches(query), "{query} should match");
        }
        for query in [
            "service:calendar",
            "status:ok",
            "@http.status_code:<500",
            "@duration:>1s",
            "missing.tag:x",
            "postgres",
            "service:(calendar OR billing)",
            "-service:notes",
            "-service:(notes OR calendar)",
            "service:(notes -notes)",
        ] {
            assert!(!matches(query), "{query} should not match");
        }
    }

    #[test]
    fn top_level_exact_filters_narrow_the_scan() {
        let mut scan = SpanScan::default();
        narrow_scan(
            &parse("service:Notes env:dev status:error @duration:>1ms").unwrap(),
            &mut scan,
        );
        assert_eq!(
            (scan.service.as_deref(), scan.env.as_deref(), scan.errors_only),
            (Some("notes"), Some("dev"), true)
        );
        let mut scan = SpanScan::default();
        narrow_scan(&parse("service:notes OR service:calendar").unwrap(), &mut scan);
        assert_eq!(scan.service, None);
        narrow_scan(&parse("service:note*").unwrap(), &mut scan);
        assert_eq!(scan.service, None);
    }
}
