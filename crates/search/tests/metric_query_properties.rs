//! Property tests for metric queries: printing and re-parsing is lossless, and `parse_metric_queries` is total
//! (never panics, errors stay in bounds and say where).

use dogwatch_search::{Aggregator, FillMode, Function, MetricQuery, RollupMethod, Scope, parse_metric_queries};
use proptest::prelude::*;

const KEYWORDS: [&str; 8] = ["AND", "OR", "NOT", "and", "or", "not", "IN", "in"];

fn aggregator() -> impl Strategy<Value = Aggregator> {
    prop_oneof![
        proptest::sample::select(vec![
            Aggregator::Avg,
            Aggregator::Sum,
            Aggregator::Min,
            Aggregator::Max,
            Aggregator::Count
        ]),
        (1u32..1000).prop_map(|tenths| Aggregator::Percentile(f64::from(tenths) / 1000.0)),
    ]
}

fn key() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_./-]{1,8}".prop_filter("keyword", |k| !KEYWORDS.contains(&k.as_str()))
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Za-z0-9_.:/@*!-]{1,8}", "[a-zé東\u{1F600}*]{1,4}"]
}

fn tag() -> impl Strategy<Value = Scope> {
    (key(), proptest::option::of(value()), any::<bool>()).prop_map(|(key, value, negated)| Scope::Tag {
        key,
        value,
        negated,
    })
}

/// Scopes within the syntax: `All` only as the whole scope, `And`/`Or` with at least two children.
fn scope() -> impl Strategy<Value = Scope> {
    let tree = tag().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|s| Scope::Not(Box::new(s))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Scope::And),
            prop::collection::vec(inner, 2..4).prop_map(Scope::Or),
        ]
    });
    prop_oneof![1 => Just(Scope::All), 4 => tree]
}

fn functions() -> impl Strategy<Value = Vec<Function>> {
    let method = proptest::option::of(proptest::sample::select(RollupMethod::ALL.to_vec()));
    let seconds = proptest::option::of(1u64..100_000);
    let rollup = proptest::option::of((method, seconds).prop_map(|(method, seconds)| Function::Rollup {
        method,
        seconds: if method.is_none() && seconds.is_none() {
            Some(60)
        } else {
            seconds
        },
    }));
    let count_or_rate = proptest::sample::select(vec![None, Some(Function::AsCount), Some(Function::AsRate)]);
    let fill =
        proptest::option::of(proptest::sample::select(vec![FillMode::Zero, FillMode::Null]).prop_map(Function::Fill));
    (rollup, count_or_rate, fill)
        .prop_map(|(a, b, c)| [a, b, c].into_iter().flatten().collect::<Vec<_>>())
        .prop_shuffle()
}

fn query() -> impl Strategy<Value = MetricQuery> {
    (
        aggregator(),
        "[A-Za-z][A-Za-z0-9_.]{0,12}",
        scope(),
        prop::collection::vec(key(), 0..4),
        functions(),
    )
        .prop_map(|(aggregator, metric, scope, keys, functions)| {
            let mut group_by: Vec<String> = Vec::new();
            for key in keys {
                if !group_by.contains(&key) {
                    group_by.push(key);
                }
            }
            MetricQuery {
                aggregator,
                aggregator_explicit: true,
                metric,
                scope,
                group_by,
                functions,
                span: (0, 0),
            }
        })
}

/// Strings built from metric-query fragments, to reach deep into the parser.
fn query_like() -> impl Strategy<Value = String> {
    let fragment = proptest::sample::select(vec![
        "avg", "p99.9", "p", ":", "m.x", "{", "}", "*", ",", " ", "by", "(", ")", "AND", "or", "NOT", "IN", "!", "env",
        "prod", "web-*", ".", "rollup", "as_count", "as_rate", "fill", "sum", "zero", "60", "0", "-", "é", "東",
        "\u{0}",
    ]);
    prop::collection::vec(fragment, 0..40).prop_map(|parts| parts.concat())
}

/// Checks the invariants every parse result must satisfy.
fn check(text: &str) -> Result<(), TestCaseError> {
    let chars = text.chars().count();
    match parse_metric_queries(text) {
        Ok(queries) => {
            prop_assert!(!queries.is_empty());
            for query in queries {
                prop_assert!(query.span.0 < query.span.1 && query.span.1 <= chars, "{:?}", query.span);
                let printed = query.to_string();
                let reparsed = parse_metric_queries(&printed);
                let expected = MetricQuery {
                    aggregator_explicit: true,
                    span: (0, printed.chars().count()),
                    ..query
                };
                prop_assert_eq!(reparsed, Ok(vec![expected]), "printed as {:?}", printed);
            }
        }
        Err(e) => {
            prop_assert!(e.position + e.len <= chars, "span past the end: {:?}", e);
            let at = format!(" at character {}", e.position);
            prop_assert!(
                e.message.ends_with(&at),
                "message does not end with the position: {:?}",
                e
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn display_then_parse_round_trips(q in query()) {
        let printed = q.to_string();
        let expected = MetricQuery { span: (0, printed.chars().count()), ..q };
        prop_assert_eq!(parse_metric_queries(&printed), Ok(vec![expected]), "printed as {:?}", printed);
    }

    #[test]
    fn queries_joined_by_commas_parse_in_order(queries in prop::collection::vec(query(), 1..4)) {
        let texts: Vec<String> = queries.iter().map(ToString::to_string).collect();
        let parsed = parse_metric_queries(&texts.join(" , ")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parsed.len(), queries.len());
        for ((parsed, expected), text) in parsed.iter().zip(&queries).zip(&texts) {
            prop_assert_eq!(&parsed.to_string(), text);
            prop_assert_eq!(&parsed.scope, &expected.scope);
        }
    }

    #[test]
    fn parse_is_total_on_arbitrary_strings(text in any::<String>()) {
        check(&text)?;
    }

    #[test]
    fn parse_is_total_on_query_like_strings(text in query_like()) {
        check(&text)?;
    }

    #[test]
    fn not_negates(scope in scope(), tags in prop::collection::vec("[a-c]{1,2}(:[a-c*]{0,2})?", 0..4)) {
        let negated = Scope::Not(Box::new(scope.clone()));
        prop_assert_eq!(negated.matches(&tags), !scope.matches(&tags));
    }
}
