//! Evaluating a [`Query`] against items of some domain.
//!
//! This crate decides the boolean structure; a domain (live processes, spans, ...) implements [`Matcher`] to
//! decide what each leaf term means for one of its items.

use crate::ast::{Bound, CmpOp, Pattern, Query, Text};

/// What a domain (live processes, spans, ...) decides about one leaf term for one item.
///
/// [`Query::matches`] calls these for the leaves and combines the answers; [`Query::All`] needs no matcher call.
/// Helpers such as [`Pattern::matches`], [`CmpOp::holds`] and [`range_contains`] cover the common cases.
pub trait Matcher {
    /// The type of thing being searched (for example a process snapshot or a span).
    type Item: ?Sized;

    /// Whether `item` matches a free-text term or phrase.
    fn text(&self, item: &Self::Item, text: &Text) -> bool;

    /// Whether `item` matches the tag or attribute filter `key:value`.
    fn tag(&self, item: &Self::Item, key: &str, value: &Pattern) -> bool;

    /// Whether `item`'s `key` satisfies `<key> <op> <value>`; `value` is normalised (durations in nanoseconds,
    /// see [`crate::Number::as_f64`]).
    fn compare(&self, item: &Self::Item, key: &str, op: CmpOp, value: f64) -> bool;

    /// Whether `item`'s `key` lies between `low` and `high` (see [`range_contains`]).
    fn range(&self, item: &Self::Item, key: &str, low: &Bound, high: &Bound) -> bool;
}

impl Query {
    /// Whether `item` matches the query, asking `matcher` about each leaf term.
    ///
    /// `And` stops at the first child that does not match and `Or` at the first that does, so later terms are
    /// not evaluated. An empty `And` matches everything and an empty `Or` nothing.
    pub fn matches<M: Matcher + ?Sized>(&self, matcher: &M, item: &M::Item) -> bool {
        match self {
            Query::All => true,
            Query::Text(text) => matcher.text(item, text),
            Query::Tag { key, value } => matcher.tag(item, key, value),
            Query::Compare { key, op, value } => matcher.compare(item, key, *op, value.as_f64()),
            Query::Range { key, low, high } => matcher.range(item, key, low, high),
            Query::Not(inner) => !inner.matches(matcher, item),
            Query::And(children) => children.iter().all(|child| child.matches(matcher, item)),
            Query::Or(children) => children.iter().any(|child| child.matches(matcher, item)),
        }
    }
}

/// Whether `value` lies between `low` and `high`, honouring inclusive, exclusive and open bounds. Bound numbers are
/// normalised first (durations in nanoseconds). `NaN` is never in range.
pub fn range_contains(low: &Bound, high: &Bound, value: f64) -> bool {
    let above_low = match low {
        Bound::Unbounded => !value.is_nan(),
        Bound::Inclusive(n) => value >= n.as_f64(),
        Bound::Exclusive(n) => value > n.as_f64(),
    };
    let below_high = match high {
        Bound::Unbounded => !value.is_nan(),
        Bound::Inclusive(n) => value <= n.as_f64(),
        Bound::Exclusive(n) => value < n.as_f64(),
    };
    above_low && below_high
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use super::*;
    use crate::{Number, parse};

    /// A process-like fixture: a command line, tags, and numeric attributes.
    struct Item {
        command: &'static str,
        tags: Vec<(&'static str, &'static str)>,
        numbers: HashMap<&'static str, f64>,
    }

    /// Matches free text as a case-insensitive substring (or wildcard over the whole command), tags by pattern,
    /// and numbers by key. Records which keys were consulted so short-circuiting can be observed.
    #[derive(Default)]
    struct Fixture {
        consulted: RefCell<Vec<String>>,
    }

    impl Matcher for Fixture {
        type Item = Item;

        fn text(&self, item: &Item, text: &Text) -> bool {
            self.consulted.borrow_mut().push(text.value.clone());
            if text.is_wildcard() {
                return text.pattern().matches(item.command);
            }
            item.command.to_lowercase().contains(&text.value.to_lowercase())
        }

        fn tag(&self, item: &Item, key: &str, value: &Pattern) -> bool {
            self.consulted.borrow_mut().push(key.to_owned());
            item.tags.iter().any(|(k, v)| *k == key && value.matches(v))
        }

        fn compare(&self, item: &Item, key: &str, op: CmpOp, value: f64) -> bool {
            self.consulted.borrow_mut().push(key.to_owned());
            item.numbers.get(key).is_some_and(|&n| op.holds(n, value))
        }

        fn range(&self, item: &Item, key: &str, low: &Bound, high: &Bound) -> bool {
            self.consulted.borrow_mut().push(key.to_owned());
            item.numbers.get(key).is_some_and(|&n| range_contains(low, high, n))
        }
    }

    fn items() -> Vec<Item> {
        vec![
            Item {
                command: "nginx: worker process",
                tags: vec![("service", "web"), ("host", "web-1-prod")],
                numbers: HashMap::from([("@cpu", 12.5), ("@duration", 150e6)]),
            },
            Item {
                command: "/usr/lib/postgresql/9.6/bin/postgres -D /var/lib/postgresql",
                tags: vec![("service", "db"), ("host", "db-1-prod")],
                numbers: HashMap::from([("@cpu", 70.0), ("@duration", 5e6)]),
            },
            Item {
                command: "java -jar kafka.jar",
                tags: vec![("service", "kafka"), ("host", "kafka-2-dev")],
                numbers: HashMap::from([("@cpu", 99.0)]),
            },
            Item {
                command: "python3 manage.py runserver",
                tags: vec![("service", "")],
                numbers: HashMap::new(),
            },
        ]
    }

    /// Indexes of the fixture items that match `query`.
    fn select(query: &str) -> Vec<usize> {
        let query = parse(query).unwrap_or_else(|e| panic!("{query:?}: {e}"));
        let fixture = Fixture::default();
        items()
            .iter()
            .enumerate()
            .filter(|(_, item)| query.matches(&fixture, item))
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn evaluates_text_tags_and_numbers() {
        assert_eq!(select(""), [0, 1, 2, 3]);
        assert_eq!(select("*"), [0, 1, 2, 3]);
        assert_eq!(select("NOT *"), [] as [usize; 0]);
        assert_eq!(select("nginx"), [0]);
        assert_eq!(select("\"worker process\""), [0]);
        assert_eq!(select("postgres /9."), [1]);
        assert_eq!(select("-kafka"), [0, 1, 3]);
        assert_eq!(select("!kafka !nginx"), [1, 3]);
        assert_eq!(select("service:web OR service:db"), [0, 1]);
        assert_eq!(select("host:*-prod"), [0, 1]);
        assert_eq!(select("host:WEB-*"), [0]);
        assert_eq!(select("service:\"\""), [3]);
        assert_eq!(select("java*"), [2]);
        assert_eq!(select("@cpu:>50"), [1, 2]);
        assert_eq!(select("@cpu:>=70"), [1, 2]);
        assert_eq!(select("@cpu:<70"), [0]);
        assert_eq!(select("@cpu:<=70"), [0, 1]);
        assert_eq!(select("@cpu:[12.5 TO 70]"), [0, 1]);
        assert_eq!(select("@cpu:{12.5 TO 70}"), [] as [usize; 0]);
        assert_eq!(select("@cpu:[70 TO *]"), [1, 2]);
        assert_eq!(select("@duration:>100ms"), [0]);
        assert_eq!(select("@duration:[1ms TO 0.1s]"), [1]);
        assert_eq!(select("(NOT (nginx OR kafka) java) OR python"), [3]);
        assert_eq!(select("(NOT (postgres OR kafka) python) OR java"), [2, 3]);
        assert_eq!(select("service:web nginx OR service:kafka"), [0, 2]);
    }

    #[test]
    fn and_and_or_short_circuit() {
        let fixture = Fixture::default();
        let item = &items()[2];
        assert!(!parse("service:web @cpu:>1 java").unwrap().matches(&fixture, item));
        assert_eq!(*fixture.consulted.borrow(), ["service"]);

        let fixture = Fixture::default();
        assert!(parse("java OR service:web OR @cpu:>1").unwrap().matches(&fixture, item));
        assert_eq!(*fixture.consulted.borrow(), ["java"]);
    }

    #[test]
    fn empty_boolean_nodes() {
        let fixture = Fixture::default();
        let item = &items()[0];
        assert!(Query::And(vec![]).matches(&fixture, item));
        assert!(!Query::Or(vec![]).matches(&fixture, item));
    }

    #[test]
    fn range_bounds() {
        let n = |v: f64| Number::plain(v);
        let (inc, exc, open) = (Bound::Inclusive, Bound::Exclusive, Bound::Unbounded);
        assert!(range_contains(&inc(n(1.0)), &inc(n(2.0)), 1.0));
        assert!(range_contains(&inc(n(1.0)), &inc(n(2.0)), 2.0));
        assert!(!range_contains(&exc(n(1.0)), &inc(n(2.0)), 1.0));
        assert!(!range_contains(&inc(n(1.0)), &exc(n(2.0)), 2.0));
        assert!(range_contains(&open, &open, -1e300));
        assert!(!range_contains(&open, &open, f64::NAN));
        assert!(range_contains(
            &open,
            &inc(Number::duration(1.0, crate::DurationUnit::Seconds)),
            1e9
        ));
    }

    #[test]
    fn cmp_op_holds() {
        assert!(CmpOp::Gt.holds(2.0, 1.0));
        assert!(!CmpOp::Gt.holds(1.0, 1.0));
        assert!(CmpOp::Ge.holds(1.0, 1.0));
        assert!(CmpOp::Lt.holds(0.0, 1.0));
        assert!(CmpOp::Le.holds(1.0, 1.0));
        assert!(!CmpOp::Le.holds(f64::NAN, 1.0));
    }
}
