//! Property tests: printing and re-parsing is lossless, and `parse` is total (never panics, errors stay in bounds).

use dogwatch_search::{
    Bound, CmpOp, DurationUnit, Matcher, Number, Pattern, Query, Text, parse, range_contains, wildcard_match,
};
use proptest::prelude::*;

const KEYWORDS: [&str; 3] = ["AND", "OR", "NOT"];

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | '@')
}

/// Whether a bare word would be read as `key:value`.
fn looks_like_tag(word: &str) -> bool {
    let key_len = word.find(|c: char| !is_key_char(c)).unwrap_or(word.len());
    key_len > 0 && word[key_len..].starts_with(':')
}

fn key() -> impl Strategy<Value = String> {
    "@?[A-Za-z0-9_./][A-Za-z0-9_./@-]{0,10}"
}

/// Bare free-text terms: no whitespace, parentheses or quotes, not starting with `!` or a single `-`, not a keyword,
/// not `*`, not tag-shaped.
fn bare_text() -> impl Strategy<Value = Text> {
    "(--)?[A-Za-z0-9/._éü東@][A-Za-z0-9/._éü東@*!:,<>\\[{-]{0,8}"
        .prop_filter("keyword, `*` or tag-shaped", |s| {
            !KEYWORDS.contains(&s.as_str()) && s != "*" && !looks_like_tag(s)
        })
        .prop_map(Text::term)
}

fn phrase() -> impl Strategy<Value = Text> {
    any::<String>().prop_map(Text::phrase)
}

fn pattern() -> impl Strategy<Value = Pattern> {
    prop_oneof![
        any::<String>().prop_map(Pattern::Exact),
        "[a-z0-9]{0,3}".prop_map(Pattern::Exact),
        "[a-z0-9:./_-]{0,4}\\*[a-z0-9*:./_-]{0,6}".prop_map(Pattern::Wildcard),
    ]
}

fn finite_f64() -> impl Strategy<Value = f64> {
    use proptest::num::f64 as f;
    prop_oneof![
        (-1000i64..1000).prop_map(|i| i as f64),
        -1e6..1e6f64,
        f::POSITIVE | f::NEGATIVE | f::NORMAL | f::SUBNORMAL | f::ZERO,
    ]
}

fn number() -> impl Strategy<Value = Number> {
    let unit = prop_oneof![
        Just(None),
        proptest::sample::select(DurationUnit::ALL.to_vec()).prop_map(Some)
    ];
    (finite_f64(), unit).prop_map(|(value, unit)| Number { value, unit })
}

fn bound() -> impl Strategy<Value = Bound> {
    prop_oneof![
        Just(Bound::Unbounded),
        number().prop_map(Bound::Inclusive),
        number().prop_map(Bound::Exclusive)
    ]
}

fn cmp_op() -> impl Strategy<Value = CmpOp> {
    proptest::sample::select(vec![CmpOp::Gt, CmpOp::Ge, CmpOp::Lt, CmpOp::Le])
}

fn leaf() -> impl Strategy<Value = Query> {
    prop_oneof![
        Just(Query::All),
        bare_text().prop_map(Query::Text),
        phrase().prop_map(Query::Text),
        (key(), pattern()).prop_map(|(key, value)| Query::Tag { key, value }),
        (key(), cmp_op(), number()).prop_map(|(key, op, value)| Query::Compare { key, op, value }),
        (key(), bound(), bound()).prop_map(|(key, low, high)| Query::Range { key, low, high }),
    ]
}

/// Random trees within what the syntax expresses (`And`/`Or` have at least two children), depth at most 5.
fn query() -> impl Strategy<Value = Query> {
    leaf().prop_recursive(5, 64, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|q| Query::Not(Box::new(q))),
            prop::collection::vec(inner.clone(), 2..5).prop_map(Query::And),
            prop::collection::vec(inner, 2..5).prop_map(Query::Or),
        ]
    })
}

/// Strings built from query-language fragments, to reach deep into the parser.
fn query_like() -> impl Strategy<Value = String> {
    let fragment = proptest::sample::select(vec![
        "AND", "OR", "NOT", "TO", "(", ")", "\"", "\\", " ", "\t", "-", "!", ":", "[", "]", "{", "}", "*", ">", ">=",
        "<", "<=", "=", "@x", "key", "a", "é", "10", "-1.5", "ms", "µs", "kb", ".", "\u{0}", "\u{202e}", "key:(",
        "@x:(",
    ]);
    prop::collection::vec(fragment, 0..40).prop_map(|parts| parts.concat())
}

/// Checks the invariants every parse result must satisfy.
fn check_parse(input: &str) -> Result<(), TestCaseError> {
    match parse(input) {
        Ok(query) => {
            let printed = query.to_string();
            prop_assert_eq!(parse(&printed), Ok(query), "printed as {:?}", printed);
        }
        Err(e) => {
            let chars = input.chars().count();
            prop_assert!(
                e.position <= chars,
                "position {} > {} chars: {:?}",
                e.position,
                chars,
                e
            );
            prop_assert!(e.position + e.len <= chars, "span past the end: {:?}", e);
            let at = format!("at character {}", e.position);
            prop_assert!(e.message.contains(&at), "message does not locate the error: {:?}", e);
            prop_assert_eq!(e.to_string(), e.message);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn display_then_parse_round_trips(q in query()) {
        let printed = q.to_string();
        prop_assert_eq!(parse(&printed), Ok(q), "printed as {:?}", printed);
    }

    #[test]
    fn parse_is_total_on_arbitrary_strings(input in any::<String>()) {
        check_parse(&input)?;
    }

    #[test]
    fn parse_is_total_on_query_like_strings(input in query_like()) {
        check_parse(&input)?;
    }

    #[test]
    fn wildcard_without_star_is_equality(a in "[a-cA-C]{0,6}", b in "[a-cA-C]{0,6}") {
        prop_assert_eq!(wildcard_match(&a, &b, false), a == b);
        prop_assert_eq!(wildcard_match(&a, &b, true), a.eq_ignore_ascii_case(&b));
    }

    #[test]
    fn wildcard_star_matches_any_infix(prefix in "[a-c]{0,4}", middle in "[a-c*]{0,6}", suffix in "[a-c]{0,4}") {
        let text = format!("{prefix}{middle}{suffix}");
        let pattern = format!("{prefix}*{suffix}");
        prop_assert!(wildcard_match(&pattern, &text, false));
    }

    #[test]
    fn not_negates(q in query(), words in prop::collection::vec("[a-z]{1,3}", 0..4)) {
        let item = words.join(" ");
        let negated = Query::Not(Box::new(q.clone()));
        prop_assert_eq!(negated.matches(&Words, item.as_str()), !q.matches(&Words, item.as_str()));
    }
}

/// A matcher over plain strings (an unsized item type): text matches words, tags match `key=value` words, and
/// numeric terms match any word that parses as a number.
struct Words;

impl Matcher for Words {
    type Item = str;

    fn text(&self, item: &str, text: &Text) -> bool {
        let pattern = text.pattern();
        item.split(' ').any(|word| pattern.matches(word))
    }

    fn tag(&self, item: &str, key: &str, value: &Pattern) -> bool {
        item.split(' ')
            .filter_map(|word| word.split_once('='))
            .any(|(k, v)| k == key && value.matches(v))
    }

    fn compare(&self, item: &str, _key: &str, op: CmpOp, value: f64) -> bool {
        item.split(' ')
            .filter_map(|word| word.parse::<f64>().ok())
            .any(|n| op.holds(n, value))
    }

    fn range(&self, item: &str, _key: &str, low: &Bound, high: &Bound) -> bool {
        item.split(' ')
            .filter_map(|word| word.parse::<f64>().ok())
            .any(|n| range_contains(low, high, n))
    }
}

#[test]
fn unsized_items_evaluate() {
    let query = parse("(nginx OR apache) -debug service:web* @latency:[1 TO 5}").unwrap();
    assert!(query.matches(&Words, "nginx service=web-1 3"));
    assert!(!query.matches(&Words, "nginx service=web-1 5"));
    assert!(!query.matches(&Words, "nginx debug service=web-1 3"));
    assert!(!query.matches(&Words, "lighttpd service=web-1 3"));
    assert!(query.matches(&Words, "APACHE service=WEB 1"));
}

#[test]
fn terms_lists_leaves_for_domain_validation() {
    let query = parse("a (bb OR NOT c) service:x @d:>1s").unwrap();
    let short: Vec<String> = query
        .terms()
        .filter_map(|term| match term {
            Query::Text(text) if text.value.chars().count() < 2 => Some(text.value.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(short, ["a", "c"]);
    assert_eq!(query.terms().count(), 5);
}

#[test]
fn hand_built_queries_outside_the_syntax_still_print_parseable_text() {
    let odd = [
        Query::And(vec![]),
        Query::Or(vec![]),
        Query::And(vec![Query::Or(vec![
            Query::Text(Text::term("a")),
            Query::Text(Text::term("b")),
        ])]),
        Query::Text(Text::term("OR")),
        Query::Text(Text::term("-x")),
        Query::Text(Text::term("")),
        Query::Tag {
            key: "k".into(),
            value: Pattern::Wildcard("a b*".into()),
        },
    ];
    for query in odd {
        let printed = query.to_string();
        assert!(parse(&printed).is_ok(), "{query:?} printed as unparseable {printed:?}");
    }
    let single = Query::And(vec![
        Query::And(vec![Query::Or(vec![
            Query::Text(Text::term("a")),
            Query::Text(Text::term("b")),
        ])]),
        Query::Text(Text::term("c")),
    ]);
    assert_eq!(single.to_string(), "(a OR b) AND c");
}
