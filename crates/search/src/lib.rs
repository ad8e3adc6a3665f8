//! The search query language shared by live processes, span search and monitors: parser, AST, evaluation trait;
//! and Datadog's metric query language (see [Metric queries](#metric-queries)).
//!
//! This crate owns the Datadog-compatible search syntax used by Live Processes and Trace Search: turning query
//! text into a [`Query`] tree ([`parse`]), printing a tree back as canonical query text (`Display`), and
//! evaluating a tree against items of any domain through the [`Matcher`] trait. What a term *means* for a process
//! or a span (which fields free text searches, how tags are looked up, minimum term lengths, ...) is decided by
//! the domain's `Matcher` and validation code, not here.
//!
//! It must stay a pure, synchronous library: it must not depend on tokio or any async runtime, HTTP, storage, or
//! `/proc`, nor on other dogwatch crates, so that the agent, the server and the CLI can all use it.
//!
//! # Syntax
//!
//! | Form | Meaning |
//! | --- | --- |
//! | `nginx`, `/9.`, `a-b`, `post*` | free-text term ([`Query::Text`]); a bare term may contain `*` |
//! | `"worker process"` | phrase; `\"` and `\\` are escapes, other backslashes are kept literally |
//! | `a b`, `a AND b` | both (implicit or explicit AND) |
//! | `a OR b` | either |
//! | `NOT a`, `!a`, `-a` | negation; `!`/`-` only at the start of a term and directly before it; a word starting with `--` (`--verbose`) is a term, not a negation |
//! | `( ... )` | grouping |
//! | `*` | everything ([`Query::All`]); so is the empty query |
//! | `key:value`, `key:"a b"`, `key:""`, `host:web-*-prod` | tag filter ([`Query::Tag`]); `@key` is an attribute |
//! | `service:(a OR b)`, `host:(web-* -web-9)` | values of one key, read as the tag filters they stand for (`service:a OR service:b`); inside, `OR`, `AND`, negation and parentheses as outside |
//! | `@duration:>100ms`, `key:>=5`, `key:<5`, `key:<=-1.5` | numeric comparison ([`Query::Compare`]) |
//! | `key:[10 TO 20]`, `key:{10 TO 20}`, `key:[100 TO *]` | numeric range ([`Query::Range`]); `{`/`}` exclusive |
//!
//! Keys are `[A-Za-z0-9_.\-/@]+` and cannot start with a single `-` (that would be a negation). A bare value containing `*`
//! is a wildcard; quoted values are always literal. Keywords `AND`, `OR`, `NOT` (and `TO` inside ranges) are
//! upper-case only; `and` is a text term. Precedence is `NOT` > `AND` > `OR`. Numbers are decimal (`42`, `-1.5`,
//! `.5`) with an optional duration unit `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`, `d`; [`Number::as_f64`] converts
//! durations to nanoseconds. Parentheses and negations nest at most [`MAX_NESTING_DEPTH`] levels.
//!
//! ```
//! use dogwatch_search::{CmpOp, DurationUnit, Number, Query, Text, parse};
//!
//! let query = parse("nginx -kafka OR @duration:>100ms").unwrap();
//! assert_eq!(
//!     query,
//!     Query::Or(vec![
//!         Query::And(vec![
//!             Query::Text(Text::term("nginx")),
//!             Query::Not(Box::new(Query::Text(Text::term("kafka")))),
//!         ]),
//!         Query::Compare {
//!             key: "@duration".into(),
//!             op: CmpOp::Gt,
//!             value: Number::duration(100.0, DurationUnit::Milliseconds),
//!         },
//!     ])
//! );
//! assert_eq!(query.to_string(), "nginx AND NOT kafka OR @duration:>100ms");
//! assert_eq!(parse(&query.to_string()).unwrap(), query);
//!
//! let err = parse("service: nginx").unwrap_err();
//! assert_eq!(err.to_string(), "expected a value after `service:` at character 8, found whitespace");
//! assert_eq!((err.position, err.len), (8, 1));
//! ```
//!
//! # Metric queries
//!
//! [`parse_metric_queries`] reads Datadog's metric query language (`GET /api/v1/query`): one or more
//! `[aggregator:]metric{scope}[ by {key,...}][.function(...)...]` separated by top-level `,`, into
//! [`MetricQuery`] values whose `Display` is the canonical text. Errors are the same [`ParseError`] (as
//! [`MetricQueryError`]), positioned in characters, with messages ending `at character N`.
//!
//! | Part | Forms |
//! | --- | --- |
//! | aggregator ([`Aggregator`]) | `avg` (the default when there is no `agg:` prefix), `sum`, `min`, `max`, `count`, `p50` … `p99`, `p99.9` (any `pNN`/`pNN.N` strictly between 0 and 100) |
//! | metric | `[A-Za-z0-9_.]+`, starting with a letter |
//! | scope ([`Scope`]) | `{*}`; `{env:prod,!host:web-1}` (`,` is AND); `AND`/`OR`/`NOT` (or lower-case) with `( )`; values with `*` wildcards and `:`, `/`, `@`, `-`, `.`; a bare `host` (tag present with any value); `host IN (a, b)`, `host NOT IN (a, b)` |
//! | group by | ` by {host,env}` after the scope, before or after functions (`{*}.as_count() by {host}`); duplicates dropped |
//! | functions ([`Function`]) | `.rollup(avg\|sum\|min\|max\|count[, seconds])`, `.rollup(seconds)`, `.as_count()`, `.as_rate()`, `.fill(zero\|null[, limit])`; each at most once, not both `as_count` and `as_rate` |
//!
//! Whitespace may separate tokens but not split names. Keys are `[A-Za-z0-9_.\-/]+`; the bare words `AND`, `OR`,
//! `NOT` (either case) are keywords, not keys. Query text is at most [`MAX_METRIC_QUERY_CHARS`] characters and scope
//! parentheses and `NOT`s nest at most [`MAX_NESTING_DEPTH`] levels. Tag matching ([`Scope::matches`]) is
//! case-sensitive.
//!
//! ```
//! use dogwatch_search::{Aggregator, Function, RollupMethod, Scope, parse_metric_queries};
//!
//! let queries = parse_metric_queries("p99:app.latency{env:prod, !host:web-*} by {host}.rollup(max, 60), app.x{*}")
//!     .unwrap();
//! assert_eq!(queries[0].aggregator, Aggregator::Percentile(0.99));
//! assert_eq!(queries[0].scope_text(), "env:prod,!host:web-*");
//! assert_eq!(queries[0].functions, [Function::Rollup { method: Some(RollupMethod::Max), seconds: Some(60) }]);
//! assert!(queries[0].scope.matches(&["env:prod", "host:db-1"]));
//! assert_eq!(queries[1].to_string(), "avg:app.x{*}");
//! assert_eq!(queries[1].scope, Scope::All);
//!
//! let err = parse_metric_queries("avg:system.cpu by {host}").unwrap_err();
//! assert_eq!(err.to_string(), "expected `{` after the metric name at character 14");
//! assert_eq!((err.position, err.len), (14, 1));
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod ast;
mod error;
mod eval;
mod lexer;
pub mod metric_query;
mod parser;
mod wildcard;

pub use ast::{Bound, CmpOp, DurationUnit, Number, Pattern, Query, Terms, Text};
pub use error::ParseError;
pub use eval::{Matcher, range_contains};
pub use metric_query::{
    Aggregator, FillMode, Function, MAX_METRIC_QUERY_CHARS, MetricQuery, MetricQueryError, RollupMethod, Scope,
    parse_metric_queries,
};
pub use parser::{MAX_NESTING_DEPTH, parse};
pub use wildcard::wildcard_match;
