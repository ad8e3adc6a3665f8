//! Unit tests for the metric query parser: every accepted form, every error with its message and position.

use super::*;

fn tag(key: &str, value: &str) -> Scope {
    Scope::Tag {
        key: key.into(),
        value: Some(value.into()),
        negated: false,
    }
}

fn not_tag(key: &str, value: &str) -> Scope {
    Scope::Tag {
        key: key.into(),
        value: Some(value.into()),
        negated: true,
    }
}

fn bare(key: &str) -> Scope {
    Scope::Tag {
        key: key.into(),
        value: None,
        negated: false,
    }
}

fn not(scope: Scope) -> Scope {
    Scope::Not(Box::new(scope))
}

/// Parses `text`, checking that every query prints as text that parses back to the same query.
fn ok(text: &str) -> Vec<MetricQuery> {
    let queries = parse_metric_queries(text).unwrap_or_else(|e| panic!("{text:?} failed: {e}"));
    for query in &queries {
        let printed = query.to_string();
        let mut expected = query.clone();
        expected.aggregator_explicit = true;
        expected.span = (0, printed.chars().count());
        assert_eq!(
            parse_metric_queries(&printed),
            Ok(vec![expected]),
            "{text:?} printed as {printed:?}"
        );
    }
    queries
}

fn one(text: &str) -> MetricQuery {
    let mut queries = ok(text);
    assert_eq!(queries.len(), 1, "{text:?}");
    queries.remove(0)
}

fn err(text: &str) -> ParseError {
    match parse_metric_queries(text) {
        Ok(q) => panic!("{text:?} parsed as {q:?}"),
        Err(e) => {
            assert!(e.position + e.len <= text.chars().count(), "{text:?}: {e:?}");
            assert!(e.message.ends_with(&format!(" at character {}", e.position)), "{e:?}");
            e
        }
    }
}

#[test]
fn documented_examples() {
    let q = one("avg:system.cpu.user{host:a,!env:dev} by {host}");
    assert_eq!(
        q,
        MetricQuery {
            aggregator: Aggregator::Avg,
            aggregator_explicit: true,
            metric: "system.cpu.user".into(),
            scope: Scope::And(vec![tag("host", "a"), not_tag("env", "dev")]),
            group_by: vec!["host".into()],
            functions: vec![],
            span: (0, 46),
        }
    );
    assert_eq!(q.to_string(), "avg:system.cpu.user{host:a,!env:dev} by {host}");
    assert_eq!(q.scope_text(), "host:a,!env:dev");

    let q = one("sum:app.requests{*}.as_count()");
    assert_eq!(
        (q.aggregator, q.scope.clone(), q.functions.clone()),
        (Aggregator::Sum, Scope::All, vec![Function::AsCount])
    );
    assert_eq!(q.scope_text(), "*");
    assert_eq!(q.to_string(), "sum:app.requests{*}.as_count()");

    let q = one("p99:app.latency{env:prod} by {host}.rollup(max, 60)");
    assert_eq!(q.aggregator, Aggregator::Percentile(0.99));
    assert_eq!(q.aggregator.name(), "p99");
    assert_eq!(
        q.functions,
        [Function::Rollup {
            method: Some(RollupMethod::Max),
            seconds: Some(60)
        }]
    );
    assert_eq!(q.to_string(), "p99:app.latency{env:prod} by {host}.rollup(max, 60)");

    let q = one("sum:app.requests{env:prod} by {host}.as_count()");
    assert_eq!(q.to_string(), "sum:app.requests{env:prod} by {host}.as_count()");
}

#[test]
fn default_aggregator_is_avg() {
    let q = one("app.x{*}");
    assert_eq!((q.aggregator, q.aggregator_explicit), (Aggregator::Avg, false));
    assert_eq!(q.metric, "app.x");
    assert_eq!(q.to_string(), "avg:app.x{*}");
    assert!(one("avg:app.x{*}").aggregator_explicit);
}

#[test]
fn aggregators() {
    for (name, aggregator) in [
        ("avg", Aggregator::Avg),
        ("sum", Aggregator::Sum),
        ("min", Aggregator::Min),
        ("max", Aggregator::Max),
        ("count", Aggregator::Count),
        ("p50", Aggregator::Percentile(0.5)),
        ("p75", Aggregator::Percentile(0.75)),
        ("p90", Aggregator::Percentile(0.9)),
        ("p95", Aggregator::Percentile(0.95)),
        ("p99", Aggregator::Percentile(0.99)),
        ("p99.9", Aggregator::Percentile(0.999)),
        ("p5", Aggregator::Percentile(0.05)),
        ("p0.1", Aggregator::Percentile(0.001)),
        ("p12.5", Aggregator::Percentile(0.125)),
    ] {
        let q = one(&format!("{name}:m{{*}}"));
        assert_eq!(q.aggregator, aggregator, "{name}");
        assert_eq!(q.aggregator.name(), name);
        assert_eq!(q.to_string(), format!("{name}:m{{*}}"));
    }
    assert_eq!(one("p50.0:m{*}").aggregator.name(), "p50");
}

#[test]
fn several_queries() {
    let queries = ok("max:a{host:web-*} , min:b{*}");
    assert_eq!(queries.len(), 2);
    assert_eq!(
        (queries[0].aggregator, queries[0].metric.as_str()),
        (Aggregator::Max, "a")
    );
    assert_eq!(queries[0].scope, tag("host", "web-*"));
    assert_eq!(queries[0].span, (0, 17));
    assert_eq!(
        (queries[1].aggregator, queries[1].metric.as_str()),
        (Aggregator::Min, "b")
    );
    assert_eq!(queries[1].span, (20, 28));

    let queries = ok("sum:a{x:1,y:2} by {h,e}.rollup(sum, 60),b{z IN (1, 2)}");
    assert_eq!(queries.len(), 2);
    assert_eq!(queries[1].scope, Scope::Or(vec![tag("z", "1"), tag("z", "2")]));
    assert_eq!(queries[1].span, (40, 54));
}

#[test]
fn boolean_scopes() {
    let q = one("sum:m{env:prod AND (host:a OR host:b)}");
    assert_eq!(
        q.scope,
        Scope::And(vec![
            tag("env", "prod"),
            Scope::Or(vec![tag("host", "a"), tag("host", "b")])
        ])
    );
    assert_eq!(q.scope_text(), "env:prod AND (host:a OR host:b)");

    let q = one("sum:m{NOT env:dev}");
    assert_eq!(q.scope, not(tag("env", "dev")));
    assert_eq!(q.to_string(), "sum:m{NOT env:dev}");

    let q = one("m{env:prod and not host:a or x:y}");
    assert_eq!(
        q.scope,
        Scope::Or(vec![
            Scope::And(vec![tag("env", "prod"), not(tag("host", "a"))]),
            tag("x", "y")
        ])
    );
    assert_eq!(q.scope_text(), "(env:prod AND NOT host:a) OR x:y");

    let q = one("m{a:1,b:2 OR c:3}");
    assert_eq!(
        q.scope,
        Scope::Or(vec![Scope::And(vec![tag("a", "1"), tag("b", "2")]), tag("c", "3")])
    );
    assert_eq!(q.scope_text(), "(a:1,b:2) OR c:3");

    assert_eq!(one("m{a:1, b:2 AND c:3}").scope_text(), "a:1,b:2,c:3");
    assert_eq!(one("m{NOT(a:1 OR b:2)}").scope_text(), "NOT (a:1 OR b:2)");
    assert_eq!(one("m{NOT NOT !a:1}").scope, not(not(not_tag("a", "1"))));
    assert_eq!(one("m{((a:1))}").scope, tag("a", "1"));
    assert_eq!(one("m{(a:1,b:2),c:3}").scope_text(), "(a:1,b:2) AND c:3");
    assert_eq!(
        one("m{not:x, AND:y}").scope,
        Scope::And(vec![tag("not", "x"), tag("AND", "y")])
    );
}

#[test]
fn tags_values_and_bare_keys() {
    assert_eq!(one("m{url:http://x/y?z=1}").scope, tag("url", "http://x/y?z=1"));
    assert_eq!(one("m{user:@a.b-c}").scope, tag("user", "@a.b-c"));
    assert_eq!(one("m{kube/ns_x.y-z:é!*}").scope, tag("kube/ns_x.y-z", "é!*"));
    assert_eq!(one("m{prod}").scope, bare("prod"));
    assert_eq!(
        one("m{host,!env}").scope,
        Scope::And(vec![
            bare("host"),
            Scope::Tag {
                key: "env".into(),
                value: None,
                negated: true
            }
        ])
    );
    assert_eq!(one("m{ * }").scope, Scope::All);
}

#[test]
fn in_lists() {
    assert_eq!(
        one("m{host IN (a, b)}").scope,
        Scope::Or(vec![tag("host", "a"), tag("host", "b")])
    );
    assert_eq!(one("m{host in(a)}").scope, tag("host", "a"));
    assert_eq!(
        one("m{host NOT IN (a,web-*)}").scope,
        Scope::And(vec![not_tag("host", "a"), not_tag("host", "web-*")])
    );
    assert_eq!(one("m{host not in (a)}").scope, not_tag("host", "a"));
    assert_eq!(
        one("m{env:prod, host NOT IN (a,b)}").scope_text(),
        "env:prod AND (!host:a,!host:b)"
    );
}

#[test]
fn group_by() {
    let q = one("avg : metric { env:prod } by { host }");
    assert_eq!(
        (q.metric.as_str(), q.group_by.as_slice()),
        ("metric", ["host".to_owned()].as_slice())
    );
    assert_eq!(q.to_string(), "avg:metric{env:prod} by {host}");
    assert_eq!(one("m{*}by{host}").group_by, ["host"]);
    assert_eq!(
        one("m{*} by {host, env ,host,kube/ns-x.y_z}").group_by,
        ["host", "env", "kube/ns-x.y_z"]
    );
}

#[test]
fn functions() {
    let rollup = |method, seconds| Function::Rollup { method, seconds };
    for (text, function, printed) in [
        ("rollup(sum)", rollup(Some(RollupMethod::Sum), None), "rollup(sum)"),
        (
            "rollup( count , 30 )",
            rollup(Some(RollupMethod::Count), Some(30)),
            "rollup(count, 30)",
        ),
        ("rollup(60)", rollup(None, Some(60)), "rollup(60)"),
        (
            "rollup(avg,060)",
            rollup(Some(RollupMethod::Avg), Some(60)),
            "rollup(avg, 60)",
        ),
        ("rollup(min)", rollup(Some(RollupMethod::Min), None), "rollup(min)"),
        ("as_count()", Function::AsCount, "as_count()"),
        ("as_rate( )", Function::AsRate, "as_rate()"),
        ("fill(zero)", Function::Fill(FillMode::Zero), "fill(zero)"),
        ("fill(null, 300)", Function::Fill(FillMode::Null), "fill(null)"),
    ] {
        let q = one(&format!("sum:m{{*}}.{text}"));
        assert_eq!(q.functions, [function], "{text}");
        assert_eq!(q.to_string(), format!("sum:m{{*}}.{printed}"));
    }
    let q = one("sum:m{*}.as_count() by {host} . rollup ( max ).fill(zero)");
    assert_eq!(
        q.functions,
        [
            Function::AsCount,
            rollup(Some(RollupMethod::Max), None),
            Function::Fill(FillMode::Zero)
        ]
    );
    assert_eq!(q.to_string(), "sum:m{*} by {host}.as_count().rollup(max).fill(zero)");
    assert_eq!(q.functions[1].name(), "rollup");
}

#[test]
fn error_messages_and_positions() {
    let cases: &[(&str, &str, usize, usize)] = &[
        ("", "expected a metric query at character 0", 0, 0),
        ("  ", "expected a metric query at character 2", 2, 0),
        ("avg:m{*},", "expected a metric query after `,` at character 9", 9, 0),
        (
            "avg:m{*} , ",
            "expected a metric query after `,` at character 11",
            11,
            0,
        ),
        ("avg:{*}", "expected a metric name at character 4", 4, 1),
        (":m{*}", "expected an aggregator or a metric name at character 0", 0, 1),
        ("日本:m{*}", "expected a metric name at character 0", 0, 1),
        (
            "avg:1m{*}",
            "metric name `1m` must start with a letter at character 4",
            4,
            2,
        ),
        (
            "avg:_m{*}",
            "metric name `_m` must start with a letter at character 4",
            4,
            2,
        ),
        ("avg:m", "expected `{` after the metric name at character 5", 5, 0),
        (
            "avg:system.cpu by {host}",
            "expected `{` after the metric name at character 14",
            14,
            1,
        ),
        ("avg:m  x{*}", "expected `{` after the metric name at character 5", 5, 1),
        (
            "avg:my-metric{*}",
            "expected `{` after the metric name at character 6",
            6,
            1,
        ),
        ("avg:m{", "expected `*` or a tag filter after `{` at character 6", 6, 0),
        (
            "avg:m{}",
            "empty scope `{}` (write `{*}` for every series) at character 5",
            5,
            2,
        ),
        (
            "avg:m{ }",
            "empty scope `{}` (write `{*}` for every series) at character 5",
            5,
            3,
        ),
        ("avg:m{env:}", "expected a value after `env:` at character 10", 10, 1),
        (
            "avg:m{env: prod}",
            "expected a value after `env:` at character 10",
            10,
            1,
        ),
        ("avg:m{env:prod", "unclosed `{` opened at character 5", 5, 1),
        (
            "avg:m{(env:prod}",
            "expected `,`, `AND`, `OR` or `)` at character 15",
            15,
            1,
        ),
        ("avg:m{(env:prod", "unclosed `(` opened at character 6", 6, 1),
        ("avg:m{env:prod)}", "unexpected `)` at character 14", 14, 1),
        (
            "avg:m{*, env:prod}",
            "expected `}` after `*` (a `*` scope cannot be combined with filters) at character 7",
            7,
            1,
        ),
        (
            "avg:m{env:prod host:a}",
            "expected `,`, `AND`, `OR` or `}` at character 15",
            15,
            1,
        ),
        (
            "avg:m{env:prod OR}",
            "expected a tag filter such as `env:prod` at character 17",
            17,
            1,
        ),
        (
            "avg:m{a:1,}",
            "expected a tag filter such as `env:prod` at character 10",
            10,
            1,
        ),
        (
            "avg:m{NOT *}",
            "expected a tag filter such as `env:prod` at character 10",
            10,
            1,
        ),
        (
            "avg:m{é}",
            "expected a tag filter such as `env:prod` at character 6",
            6,
            1,
        ),
        (
            "avg:m{! env:prod}",
            "expected a tag right after `!` at character 7",
            7,
            1,
        ),
        (
            "avg:m{host NOT env}",
            "expected `,`, `AND`, `OR` or `}` at character 11",
            11,
            1,
        ),
        ("avg:m{host IN a}", "expected `(` after `IN` at character 14", 14, 1),
        (
            "avg:m{host IN ()}",
            "expected a value in the `IN` list at character 15",
            15,
            1,
        ),
        (
            "avg:m{host IN (a b)}",
            "expected `,` or `)` in the `IN` list at character 17",
            17,
            1,
        ),
        ("avg:m{host IN (a", "unclosed `(` opened at character 14", 14, 1),
        ("avg:m{*} by host", "expected `{` after `by` at character 12", 12, 1),
        ("avg:m{*} by", "expected `{` after `by` at character 11", 11, 0),
        (
            "avg:m{*} by {}",
            "expected a tag key to group by at character 13",
            13,
            1,
        ),
        ("avg:m{*} by {host", "unclosed `{` opened at character 12", 12, 1),
        (
            "avg:m{*} by {host env}",
            "expected `,` or `}` in the group-by at character 18",
            18,
            1,
        ),
        (
            "avg:m{*} host",
            "expected ` by {…}`, `.function()`, `,` or the end of the query after the scope at character 9",
            9,
            1,
        ),
        (
            "avg:m{a:b}}",
            "expected ` by {…}`, `.function()`, `,` or the end of the query after the scope at character 10",
            10,
            1,
        ),
        (
            "avg:m{*} by {host} by {env}",
            "expected `.function()`, `,` or the end of the query after the group-by at character 19",
            19,
            1,
        ),
        (
            "foo:m{*}",
            "unknown aggregator `foo` (expected avg, sum, min, max, count or a percentile such as p50, p75, p90, \
             p95, p99 or p99.9) at character 0",
            0,
            3,
        ),
        (
            "AVG:m{*}",
            "unknown aggregator `AVG` (expected avg, sum, min, max, count or a percentile such as p50, p75, p90, \
             p95, p99 or p99.9) at character 0",
            0,
            3,
        ),
        (
            "p100:m{*}",
            "invalid percentile `p100` (expected `p` and a number above 0 and below 100 with at most one decimal, \
             such as p99 or p99.9) at character 0",
            0,
            4,
        ),
        (
            "avg:m{*}.rollup(median)",
            "`median` is not a rollup method (expected avg, sum, min, max or count) at character 16",
            16,
            6,
        ),
        (
            "avg:m{*}.rollup(60, sum)",
            "`60` is not a rollup method (expected avg, sum, min, max or count) at character 16",
            16,
            2,
        ),
        (
            "avg:m{*}.bogus()",
            "unknown function `bogus` (expected rollup, as_count, as_rate or fill) at character 9",
            9,
            5,
        ),
        (
            "avg:m{*}.rollup()",
            "`rollup` needs a method (avg, sum, min, max or count) and/or an interval in seconds at character 16",
            16,
            1,
        ),
        (
            "avg:m{*}.rollup(0)",
            "`0` is not a rollup interval: expected a positive whole number of seconds at character 16",
            16,
            1,
        ),
        (
            "avg:m{*}.rollup(sum, -5)",
            "`-5` is not a rollup interval: expected a positive whole number of seconds at character 21",
            21,
            2,
        ),
        (
            "avg:m{*}.rollup(99999999999999999999)",
            "`99999999999999999999` is not a rollup interval: expected a positive whole number of seconds at \
             character 16",
            16,
            20,
        ),
        (
            "avg:m{*}.rollup(sum, 60, 1)",
            "`rollup` takes at most 2 arguments at character 25",
            25,
            1,
        ),
        ("avg:m{*}.rollup(sum,)", "expected an argument at character 20", 20, 1),
        ("avg:m{*}.rollup(sum", "unclosed `(` opened at character 15", 15, 1),
        (
            "avg:m{*}.rollup(sum 60)",
            "expected `,` or `)` after an argument at character 20",
            20,
            1,
        ),
        (
            "avg:m{*}.as_count(1)",
            "`as_count` takes no arguments at character 18",
            18,
            1,
        ),
        (
            "avg:m{*}.as_count",
            "expected `(` after `as_count` at character 17",
            17,
            0,
        ),
        ("avg:m{*}.", "expected a function name after `.` at character 9", 9, 0),
        (
            "avg:m{*}.fill()",
            "`fill` needs a mode (zero or null) at character 14",
            14,
            1,
        ),
        (
            "avg:m{*}.fill(linear)",
            "`linear` is not a fill mode (expected zero or null) at character 14",
            14,
            6,
        ),
        (
            "avg:m{*}.fill(zero, x)",
            "`x` is not a fill limit: expected a positive whole number of seconds at character 20",
            20,
            1,
        ),
        (
            "avg:m{*}.rollup(sum).rollup(60)",
            "`.rollup()` can only be applied once at character 21",
            21,
            6,
        ),
        (
            "avg:m{*}.as_count().as_rate()",
            "`.as_count()` and `.as_rate()` cannot both be applied at character 20",
            20,
            7,
        ),
    ];
    for &(text, message, position, len) in cases {
        let e = err(text);
        assert_eq!(
            (e.message.as_str(), e.position, e.len),
            (message, position, len),
            "{text:?}"
        );
        assert_eq!(e.to_string(), e.message);
    }
    for bad in ["p0", "p00", "p99.99", "p99.", "p.5", "p1e2"] {
        let e = err(&format!("{bad}:m{{*}}"));
        assert!(
            e.message.contains("percentile") || e.message.contains("aggregator"),
            "{bad}: {e}"
        );
        assert_eq!(e.position, 0);
    }
}

#[test]
fn positions_count_characters() {
    let e = err("avg:m{k:é} ü");
    assert_eq!((e.position, e.len), (11, 1));
    let e = err("avg:m{ü:é}");
    assert_eq!((e.position, e.len), (6, 1), "keys are ASCII");
    let e = err("avg:m{k:é}, avg:日本{*}");
    assert_eq!((e.position, e.len), (16, 1));
    let q = &ok("avg:m{k:é}, avg:n{*}")[1];
    assert_eq!(q.span, (12, 20));
    let e = err(&format!("avg:m{{a:{}}}.bogus()", "é".repeat(50)));
    assert_eq!(e.position, 60);
}

#[test]
fn long_snippets_are_shortened() {
    let e = err(&format!("{}:m{{*}}", "x".repeat(100)));
    assert!(
        e.message
            .starts_with(&format!("unknown aggregator `{}…` (", "x".repeat(30))),
        "{e}"
    );
    assert_eq!((e.position, e.len), (0, 100));
}

#[test]
fn limits() {
    let deep = format!(
        "m{{{}a:1{}}}",
        "(".repeat(MAX_NESTING_DEPTH),
        ")".repeat(MAX_NESTING_DEPTH)
    );
    assert_eq!(one(&deep).scope, tag("a", "1"));
    let too_deep = format!(
        "m{{{}a:1{}}}",
        "(".repeat(MAX_NESTING_DEPTH + 1),
        ")".repeat(MAX_NESTING_DEPTH + 1)
    );
    let e = err(&too_deep);
    assert_eq!((e.position, e.len), (2 + MAX_NESTING_DEPTH, 1));
    assert!(e.message.starts_with("scope nests more than 100 levels deep"), "{e}");
    err(&format!("m{{{}a:1}}", "NOT ".repeat(5_000)));
    err(&format!("m{{{}", "(".repeat(7_000)));

    let longest = format!("avg:m{{a:{}}}", "x".repeat(MAX_METRIC_QUERY_CHARS - 9));
    assert_eq!(longest.chars().count(), MAX_METRIC_QUERY_CHARS);
    one(&longest);
    let too_long = format!("m{{a:{}}}", "é".repeat(MAX_METRIC_QUERY_CHARS));
    let e = err(&too_long);
    assert_eq!(e.message, "the query is longer than 8000 characters at character 8000");
    assert_eq!((e.position, e.len), (8000, 5));
}

#[test]
fn scope_matching() {
    let tags = ["host:web-1", "env:prod", "url:http://x/y", "canary"];
    let matches = |scope: &str| one(&format!("m{{{scope}}}")).scope.matches(&tags);
    for scope in [
        "*",
        "host:web-1",
        "host:web-*",
        "host:*",
        "host:*1",
        "host",
        "canary",
        "url:http://*",
        "!env:dev",
        "!region",
        "!canary:x",
        "host:web-1,env:prod",
        "env:dev OR env:prod",
        "NOT env:dev",
        "host IN (web-2, web-1)",
        "host NOT IN (web-2, web-3)",
        "env:prod AND (host:a OR host:web-*)",
    ] {
        assert!(matches(scope), "{scope}");
    }
    for scope in [
        "host:web",
        "host:WEB-1",
        "Host:web-1",
        "host:web-2*",
        "env:prod*x",
        "region",
        "canary:*",
        "!env:prod",
        "!host",
        "host:web-1,env:dev",
        "NOT env:prod",
        "host IN (web-2, web-3)",
        "host NOT IN (web-1)",
    ] {
        assert!(!matches(scope), "{scope}");
    }
    let owned = vec!["a:b".to_owned()];
    assert!(tag("a", "b").matches(&owned));
    assert!(!tag("a", "b").matches::<&str>(&[]));
    assert!(not_tag("a", "b").matches::<&str>(&[]));
}
