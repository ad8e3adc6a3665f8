//! The search query language shared by live processes, span search and monitors: parser, AST, evaluation trait.
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

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod ast;
mod error;
mod eval;
mod lexer;
mod parser;
mod wildcard;

pub use ast::{Bound, CmpOp, DurationUnit, Number, Pattern, Query, Terms, Text};
pub use error::ParseError;
pub use eval::{Matcher, range_contains};
pub use parser::{MAX_NESTING_DEPTH, parse};
pub use wildcard::wildcard_match;
