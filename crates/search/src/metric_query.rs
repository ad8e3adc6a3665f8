//! Datadog's metric query language, as `GET /api/v1/query` takes it.
//!
//! ```text
//! queries  = query { "," query }
//! query    = [ aggregator ":" ] metric "{" scope "}" { function } [ "by" "{" key { "," key } "}" { function } ]
//! scope    = "*" | or
//! or       = and { ("OR" | "or") and }
//! and      = unary { ("," | "AND" | "and") unary }
//! unary    = ("NOT" | "not") unary | "(" or ")" | "!" tag | tag | key ["NOT"] "IN" "(" value { "," value } ")"
//! tag      = key [ ":" value ]
//! function = "." name "(" [ arg { "," arg } ] ")"
//! ```
//!
//! Whitespace may separate any two tokens but not split a name. All positions are character offsets from 0, and
//! every error message ends with `at character N`. [`MetricQuery`]'s `Display` prints canonical text that parses
//! back to the same query (with `aggregator_explicit` set and `span` covering the printed text). Hand-built values
//! round-trip as long as they stay within the syntax: `And`/`Or` have at least two children, [`Scope::All`] is
//! only the whole scope, keys are `[A-Za-z0-9_.\-/]+` (and not a bare `and`/`or`/`not`), values are non-empty
//! without whitespace or `,(){}`, and a rollup has a method or an interval. Printing always writes the aggregator,
//! so a query that relied on the default `avg` prints 4 characters longer than it was written (which matters only
//! within 4 characters of [`MAX_METRIC_QUERY_CHARS`]).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use crate::error::ParseError;
use crate::parser::MAX_NESTING_DEPTH;
use crate::wildcard::wildcard_match;

/// The error [`parse_metric_queries`] returns: the search language's [`ParseError`], so callers report both the
/// same way (`position` and `len` in characters, message ending `at character N`).
pub type MetricQueryError = ParseError;

/// The longest query text [`parse_metric_queries`] accepts, in characters.
pub const MAX_METRIC_QUERY_CHARS: usize = 8_000;

/// How many characters of offending input an error message quotes.
const SNIPPET_CHARS: usize = 30;

/// One metric query: `avg:system.cpu.user{env:prod} by {host}.rollup(max, 60)`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    /// How series in the same group are combined at each timestamp.
    pub aggregator: Aggregator,
    /// Whether the aggregator was written (`avg:m{*}`) rather than defaulted (`m{*}`).
    pub aggregator_explicit: bool,
    /// The metric name, `[A-Za-z0-9_.]+` starting with a letter.
    pub metric: String,
    /// Which series to read.
    pub scope: Scope,
    /// Tag keys splitting the result into one series per combination of values, without duplicates.
    pub group_by: Vec<String>,
    /// Functions applied, in the order written.
    pub functions: Vec<Function>,
    /// Characters `start..end` of this query in the text it was parsed from.
    pub span: (usize, usize),
}

impl MetricQuery {
    /// The scope as text without braces (`*` for everything), as the API echoes it in a series' `scope`.
    pub fn scope_text(&self) -> String {
        self.scope.to_string()
    }
}

impl fmt::Display for MetricQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}{{{}}}", self.aggregator, self.metric, self.scope)?;
        if !self.group_by.is_empty() {
            write!(f, " by {{{}}}", self.group_by.join(","))?;
        }
        self.functions.iter().try_for_each(|function| write!(f, ".{function}"))
    }
}

/// How a query combines the series of one group (`avg:`, `sum:`, `p99:`, ...).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregator {
    /// `avg`, the default.
    Avg,
    /// `sum`
    Sum,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `count`
    Count,
    /// `pNN` or `pNN.N` on distributions, as a fraction: `p99.9` is `Percentile(0.999)`.
    Percentile(f64),
}

impl Aggregator {
    /// The aggregator as written: `avg`, `p99`, `p99.9` (percentiles are rounded to one decimal).
    pub fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Aggregator::Avg => "avg",
            Aggregator::Sum => "sum",
            Aggregator::Min => "min",
            Aggregator::Max => "max",
            Aggregator::Count => "count",
            Aggregator::Percentile(fraction) => {
                let tenths = (fraction * 1000.0).round() as u64;
                return Cow::Owned(match tenths % 10 {
                    0 => format!("p{}", tenths / 10),
                    decimal => format!("p{}.{decimal}", tenths / 10),
                });
            }
        })
    }

    /// Reads a percentile name: `p`, one or two digits, optionally `.` and one digit, strictly between 0 and 100.
    fn percentile(name: &str) -> Option<Aggregator> {
        let digits = name.strip_prefix('p')?;
        let (whole, decimal) = digits.split_once('.').unwrap_or((digits, "0"));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !(1..=2).contains(&whole.len()) || decimal.len() != 1 || !all_digits(whole) || !all_digits(decimal) {
            return None;
        }
        let tenths: u32 = format!("{whole}{decimal}").parse().ok()?;
        (1..1000)
            .contains(&tenths)
            .then(|| Aggregator::Percentile(f64::from(tenths) / 1000.0))
    }
}

impl fmt::Display for Aggregator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Which series a query reads: the part between `{` and `}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `*`: every series of the metric.
    All,
    /// A tag filter: `key:value` (the value may contain `*` wildcards), a bare `key` (the tag is present with any
    /// value, or is the bare tag `key`), either negated by a leading `!`.
    Tag {
        /// The tag key.
        key: String,
        /// The value pattern; `None` for a bare key.
        value: Option<String>,
        /// Written with `!`: true when no tag matches.
        negated: bool,
    },
    /// Items joined by `,` or `AND`.
    And(Vec<Scope>),
    /// Items joined by `OR`.
    Or(Vec<Scope>),
    /// `NOT item`.
    Not(Box<Scope>),
}

impl Scope {
    /// Whether a series with these tags (each `key:value` or a bare `key`) is in scope. Keys and values compare
    /// case-sensitively; `*` in a filter's value matches any run of characters.
    pub fn matches<S: AsRef<str>>(&self, tags: &[S]) -> bool {
        match self {
            Scope::All => true,
            Scope::Tag { key, value, negated } => {
                let matches_tag = |tag: &S| {
                    let (tag_key, tag_value) = match tag.as_ref().split_once(':') {
                        Some((k, v)) => (k, Some(v)),
                        None => (tag.as_ref(), None),
                    };
                    tag_key == key
                        && match (value, tag_value) {
                            (None, _) => true,
                            (Some(pattern), Some(v)) if pattern.contains('*') => wildcard_match(pattern, v, false),
                            (Some(pattern), Some(v)) => pattern == v,
                            (Some(_), None) => false,
                        }
                };
                tags.iter().any(matches_tag) != *negated
            }
            Scope::And(children) => children.iter().all(|c| c.matches(tags)),
            Scope::Or(children) => children.iter().any(|c| c.matches(tags)),
            Scope::Not(inner) => !inner.matches(tags),
        }
    }
}

impl fmt::Display for Scope {
    /// Canonical scope text without braces: a plain AND of tags is joined by `,`, anything else by ` AND ` and
    /// ` OR `, with parentheses around every nested `AND`/`OR`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let child = |f: &mut fmt::Formatter<'_>, scope: &Scope| match scope {
            Scope::And(_) | Scope::Or(_) => write!(f, "({scope})"),
            _ => write!(f, "{scope}"),
        };
        let join = |f: &mut fmt::Formatter<'_>, children: &[Scope], separator: &str| {
            children.iter().enumerate().try_for_each(|(i, scope)| {
                if i > 0 {
                    f.write_str(separator)?;
                }
                child(f, scope)
            })
        };
        match self {
            Scope::All => f.write_str("*"),
            Scope::Tag { key, value, negated } => {
                let bang = if *negated { "!" } else { "" };
                match value {
                    Some(value) => write!(f, "{bang}{key}:{value}"),
                    None => write!(f, "{bang}{key}"),
                }
            }
            Scope::And(children) if children.iter().all(|c| matches!(c, Scope::Tag { .. })) => join(f, children, ","),
            Scope::And(children) => join(f, children, " AND "),
            Scope::Or(children) => join(f, children, " OR "),
            Scope::Not(inner) => {
                f.write_str("NOT ")?;
                child(f, inner)
            }
        }
    }
}

/// A function applied to a query with `.name(args)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Function {
    /// `.rollup(method)`, `.rollup(method, seconds)` or `.rollup(seconds)`: how and how coarsely points are rolled
    /// up in time (`None` leaves the default).
    Rollup {
        /// The time aggregation.
        method: Option<RollupMethod>,
        /// The bucket width in seconds (positive).
        seconds: Option<u64>,
    },
    /// `.as_count()`: per-second rates become counts per point.
    AsCount,
    /// `.as_rate()`: counts become per-second rates.
    AsRate,
    /// `.fill(zero)` or `.fill(null)` (an optional limit in seconds is accepted and ignored).
    Fill(FillMode),
}

impl Function {
    /// The function's name as written (`rollup`, `as_count`, `as_rate`, `fill`).
    pub fn name(&self) -> &'static str {
        match self {
            Function::Rollup { .. } => "rollup",
            Function::AsCount => "as_count",
            Function::AsRate => "as_rate",
            Function::Fill(_) => "fill",
        }
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Function::Rollup { method, seconds } => match (method, seconds) {
                (Some(method), Some(seconds)) => write!(f, "rollup({}, {seconds})", method.name()),
                (Some(method), None) => write!(f, "rollup({})", method.name()),
                (None, Some(seconds)) => write!(f, "rollup({seconds})"),
                (None, None) => f.write_str("rollup()"),
            },
            Function::AsCount | Function::AsRate => write!(f, "{}()", self.name()),
            Function::Fill(mode) => write!(f, "fill({})", mode.name()),
        }
    }
}

/// The time aggregation of `.rollup()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RollupMethod {
    /// `avg`
    Avg,
    /// `sum`
    Sum,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `count`
    Count,
}

impl RollupMethod {
    /// All methods, in the order error messages list them.
    pub const ALL: [RollupMethod; 5] = [Self::Avg, Self::Sum, Self::Min, Self::Max, Self::Count];

    /// The method as written.
    pub fn name(self) -> &'static str {
        match self {
            RollupMethod::Avg => "avg",
            RollupMethod::Sum => "sum",
            RollupMethod::Min => "min",
            RollupMethod::Max => "max",
            RollupMethod::Count => "count",
        }
    }
}

/// What `.fill()` puts in buckets without data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FillMode {
    /// `zero`: a 0.
    Zero,
    /// `null`: an explicit null point.
    Null,
}

impl FillMode {
    /// The mode as written.
    pub fn name(self) -> &'static str {
        match self {
            FillMode::Zero => "zero",
            FillMode::Null => "null",
        }
    }
}

/// Parses one or more metric queries separated by top-level `,` (see the module documentation for the grammar).
///
/// # Errors
///
/// Returns a [`MetricQueryError`] locating the first problem: empty text, text longer than
/// [`MAX_METRIC_QUERY_CHARS`], an unknown aggregator, function, rollup method or fill mode, a malformed metric name,
/// scope, group-by or argument list, a function applied twice (or both `.as_count()` and `.as_rate()`), or scope
/// parentheses and `NOT`s nested deeper than [`MAX_NESTING_DEPTH`].
pub fn parse_metric_queries(text: &str) -> Result<Vec<MetricQuery>, MetricQueryError> {
    let count = text.chars().count();
    if count > MAX_METRIC_QUERY_CHARS {
        let message = format!(
            "the query is longer than {MAX_METRIC_QUERY_CHARS} characters at character {MAX_METRIC_QUERY_CHARS}"
        );
        return Err(ParseError::new(
            message,
            MAX_METRIC_QUERY_CHARS,
            count - MAX_METRIC_QUERY_CHARS,
        ));
    }
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
        depth: 0,
    };
    let mut queries = Vec::new();
    loop {
        parser.skip_ws();
        if parser.peek().is_none() {
            let what = if queries.is_empty() {
                "a metric query"
            } else {
                "a metric query after `,`"
            };
            return Err(parser.expected(what));
        }
        queries.push(parser.query()?);
        parser.skip_ws();
        match parser.peek() {
            None => return Ok(queries),
            Some(',') => parser.pos += 1,
            Some(_) => return Err(parser.expected("`,` or the end of the query")),
        }
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.')
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')
}

fn is_value_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, ',' | '(' | ')' | '{' | '}')
}

/// A single child as itself, several joined by `join`.
fn collapse(mut children: Vec<Scope>, join: fn(Vec<Scope>) -> Scope) -> Scope {
    if children.len() == 1 {
        children.swap_remove(0)
    } else {
        join(children)
    }
}

/// Quotes `text` for a message, shortened to [`SNIPPET_CHARS`] characters.
fn quote(text: &str) -> String {
    match text.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("`{}…`", &text[..cut]),
        None => format!("`{text}`"),
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// Current nesting of scope parentheses and `NOT`s.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Consumes and returns the run of characters satisfying `pred` at the current position.
    fn take(&mut self, pred: impl Fn(char) -> bool) -> String {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// An error at `pos` spanning `len` characters; the message gets ` at character {pos}` appended.
    fn error(&self, message: impl fmt::Display, pos: usize, len: usize) -> ParseError {
        ParseError::new(format!("{message} at character {pos}"), pos, len)
    }

    /// "expected {what}" at the current position, spanning the character found there (none at the end).
    fn expected(&self, what: &str) -> ParseError {
        let len = usize::from(self.pos < self.chars.len());
        self.error(format_args!("expected {what}"), self.pos, len)
    }

    /// Consumes one of `words` (after optional whitespace) if it is next as a whole word not followed by `:`.
    fn keyword(&mut self, words: &[&str]) -> bool {
        let saved = self.pos;
        self.skip_ws();
        let word = self.take(is_key_char);
        if words.contains(&word.as_str()) && self.peek() != Some(':') {
            return true;
        }
        self.pos = saved;
        false
    }

    fn query(&mut self) -> Result<MetricQuery, ParseError> {
        let start = self.pos;
        let (aggregator, aggregator_explicit) = self.aggregator()?;
        self.skip_ws();
        let metric_start = self.pos;
        let metric = self.take(is_name_char);
        if metric.is_empty() {
            return Err(self.expected("a metric name"));
        }
        if !metric.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let message = format!("metric name {} must start with a letter", quote(&metric));
            return Err(self.error(message, metric_start, self.pos - metric_start));
        }
        // Reported right after the name (not at the next non-blank character), as the API documentation shows.
        let metric_end = self.pos;
        self.skip_ws();
        if self.peek() != Some('{') {
            self.pos = metric_end;
            return Err(self.expected("`{` after the metric name"));
        }
        let scope = self.scope()?;
        let mut query = MetricQuery {
            aggregator,
            aggregator_explicit,
            metric,
            scope,
            group_by: Vec::new(),
            functions: Vec::new(),
            span: (start, self.pos),
        };
        loop {
            self.skip_ws();
            match self.peek() {
                None | Some(',') => return Ok(query),
                Some('.') => self.function(&mut query.functions)?,
                Some('b') if query.group_by.is_empty() && self.keyword(&["by"]) => {
                    self.skip_ws();
                    if self.peek() != Some('{') {
                        return Err(self.expected("`{` after `by`"));
                    }
                    query.group_by = self.group_by()?;
                }
                Some(_) if query.group_by.is_empty() => {
                    return Err(self.expected("` by {…}`, `.function()`, `,` or the end of the query after the scope"));
                }
                Some(_) => return Err(self.expected("`.function()`, `,` or the end of the query after the group-by")),
            }
            query.span.1 = self.pos;
        }
    }

    /// Reads `aggregator:` if the query starts with one; otherwise consumes nothing and returns the default.
    fn aggregator(&mut self) -> Result<(Aggregator, bool), ParseError> {
        let start = self.pos;
        let name = self.take(is_name_char);
        let name_end = self.pos;
        self.skip_ws();
        if self.peek() != Some(':') {
            self.pos = start;
            return Ok((Aggregator::Avg, false));
        }
        if name.is_empty() {
            return Err(self.expected("an aggregator or a metric name"));
        }
        let aggregator = match name.as_str() {
            "avg" => Aggregator::Avg,
            "sum" => Aggregator::Sum,
            "min" => Aggregator::Min,
            "max" => Aggregator::Max,
            "count" => Aggregator::Count,
            _ => match Aggregator::percentile(&name) {
                Some(percentile) => percentile,
                None if name.starts_with('p') && name[1..].starts_with(|c: char| c.is_ascii_digit()) => {
                    let message = format!(
                        "invalid percentile {} (expected `p` and a number above 0 and below 100 with at most one \
                         decimal, such as p99 or p99.9)",
                        quote(&name)
                    );
                    return Err(self.error(message, start, name_end - start));
                }
                None => {
                    let message = format!(
                        "unknown aggregator {} (expected avg, sum, min, max, count or a percentile such as p50, p75, \
                         p90, p95, p99 or p99.9)",
                        quote(&name)
                    );
                    return Err(self.error(message, start, name_end - start));
                }
            },
        };
        self.pos += 1;
        Ok((aggregator, true))
    }

    /// Parses `{...}` starting at the `{`.
    fn scope(&mut self) -> Result<Scope, ParseError> {
        let open = self.pos;
        self.pos += 1;
        self.skip_ws();
        let scope = match self.peek() {
            Some('}') => {
                let message = "empty scope `{}` (write `{*}` for every series)";
                return Err(self.error(message, open, self.pos + 1 - open));
            }
            Some('*') => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() != Some('}') {
                    return Err(self.expected("`}` after `*` (a `*` scope cannot be combined with filters)"));
                }
                Scope::All
            }
            None => return Err(self.expected("`*` or a tag filter after `{`")),
            Some(_) => {
                let scope = self.or()?;
                self.skip_ws();
                self.close(open, '}', "`,`, `AND`, `OR` or `}`")?;
                return Ok(scope);
            }
        };
        self.pos += 1;
        Ok(scope)
    }

    /// Consumes `close`; otherwise fails with an unclosed-`open` error at the end, or "expected {what}".
    fn close(&mut self, open: usize, close: char, what: &str) -> Result<(), ParseError> {
        match self.peek() {
            Some(c) if c == close => {
                self.pos += 1;
                Ok(())
            }
            None => Err(self.error(format_args!("unclosed `{}` opened", self.chars[open]), open, 1)),
            Some(')') => Err(self.error("unexpected `)`", self.pos, 1)),
            Some(_) => Err(self.expected(what)),
        }
    }

    fn or(&mut self) -> Result<Scope, ParseError> {
        let mut children = vec![self.and()?];
        while self.keyword(&["OR", "or"]) {
            children.push(self.and()?);
        }
        Ok(collapse(children, Scope::Or))
    }

    fn and(&mut self) -> Result<Scope, ParseError> {
        let mut children = vec![self.unary()?];
        loop {
            self.skip_ws();
            if self.peek() == Some(',') {
                self.pos += 1;
            } else if !self.keyword(&["AND", "and"]) {
                break;
            }
            children.push(self.unary()?);
        }
        Ok(collapse(children, Scope::And))
    }

    fn unary(&mut self) -> Result<Scope, ParseError> {
        self.skip_ws();
        let start = self.pos;
        if self.keyword(&["NOT", "not"]) {
            self.enter(start, 3)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Scope::Not(Box::new(inner)));
        }
        match self.peek() {
            Some('(') => {
                self.enter(start, 1)?;
                self.pos += 1;
                let inner = self.or()?;
                self.skip_ws();
                self.close(start, ')', "`,`, `AND`, `OR` or `)`")?;
                self.depth -= 1;
                Ok(inner)
            }
            Some('!') => {
                self.pos += 1;
                self.tag(true)
            }
            _ => self.tag(false),
        }
    }

    /// Records one more level of nesting for the token at `pos`, failing beyond [`MAX_NESTING_DEPTH`].
    fn enter(&mut self, pos: usize, len: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_NESTING_DEPTH {
            return Err(self.error(
                format_args!("scope nests more than {MAX_NESTING_DEPTH} levels deep"),
                pos,
                len,
            ));
        }
        Ok(())
    }

    /// Parses `key`, `key:value`, or (unless `negated`) `key IN (...)` / `key NOT IN (...)`.
    fn tag(&mut self, negated: bool) -> Result<Scope, ParseError> {
        let key = self.take(is_key_char);
        if key.is_empty() {
            return Err(self.expected(if negated {
                "a tag right after `!`"
            } else {
                "a tag filter such as `env:prod`"
            }));
        }
        if self.peek() == Some(':') {
            self.pos += 1;
            let value = self.take(is_value_char);
            if value.is_empty() {
                return Err(self.expected(&format!("a value after {}", quote(&format!("{key}:")))));
            }
            return Ok(Scope::Tag {
                key,
                value: Some(value),
                negated,
            });
        }
        let after_key = self.pos;
        if !negated {
            let not_in = self.keyword(&["NOT", "not"]);
            if self.keyword(&["IN", "in"]) {
                return self.in_list(key, not_in);
            }
            self.pos = after_key;
        }
        Ok(Scope::Tag {
            key,
            value: None,
            negated,
        })
    }

    /// Parses `(a, b, ...)` after `key IN` as `key:a OR key:b`, or after `key NOT IN` as `!key:a,!key:b`.
    fn in_list(&mut self, key: String, negated: bool) -> Result<Scope, ParseError> {
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(self.expected("`(` after `IN`"));
        }
        let (values, close) = self.list(
            ')',
            is_value_char,
            "a value in the `IN` list",
            "`,` or `)` in the `IN` list",
        )?;
        if values.is_empty() {
            return Err(self.error("expected a value in the `IN` list", close, 1));
        }
        let mut tags: Vec<Scope> = (values.into_iter())
            .map(|(_, value)| Scope::Tag {
                key: key.clone(),
                value: Some(value),
                negated,
            })
            .collect();
        Ok(match (tags.len(), negated) {
            (1, _) => tags.swap_remove(0),
            (_, true) => Scope::And(tags),
            (_, false) => Scope::Or(tags),
        })
    }

    /// Parses `{key, ...}` after `by`, starting at the `{`; duplicates are dropped.
    fn group_by(&mut self) -> Result<Vec<String>, ParseError> {
        let (keys, close) = self.list('}', is_key_char, "a tag key to group by", "`,` or `}` in the group-by")?;
        if keys.is_empty() {
            return Err(self.error("expected a tag key to group by", close, 1));
        }
        let mut seen = HashSet::new();
        Ok(keys
            .into_iter()
            .map(|(_, key)| key)
            .filter(|key| seen.insert(key.clone()))
            .collect())
    }

    /// Parses a bracketed, `,`-separated list starting at its opening character: the items (runs of `item`
    /// characters) with their positions, and the position of `close`. The list may be empty (`()`).
    fn list(
        &mut self,
        close: char,
        item: fn(char) -> bool,
        item_what: &str,
        separator_what: &str,
    ) -> Result<(Vec<(usize, String)>, usize), ParseError> {
        let open = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok((items, self.pos - 1));
        }
        loop {
            self.skip_ws();
            let start = self.pos;
            let text = self.take(item);
            if text.is_empty() {
                return Err(self.expected(item_what));
            }
            items.push((start, text));
            self.skip_ws();
            if self.peek() == Some(',') {
                self.pos += 1;
            } else {
                self.close(open, close, separator_what)?;
                return Ok((items, self.pos - 1));
            }
        }
    }

    /// Parses `.name(args)` starting at the `.` and appends it to `functions`.
    fn function(&mut self, functions: &mut Vec<Function>) -> Result<(), ParseError> {
        self.pos += 1;
        self.skip_ws();
        let name_start = self.pos;
        let name = self.take(|c| c.is_ascii_alphanumeric() || c == '_');
        if name.is_empty() {
            return Err(self.expected("a function name after `.`"));
        }
        let name_len = self.pos - name_start;
        if !matches!(name.as_str(), "rollup" | "as_count" | "as_rate" | "fill") {
            let message = format!(
                "unknown function {} (expected rollup, as_count, as_rate or fill)",
                quote(&name)
            );
            return Err(self.error(message, name_start, name_len));
        }
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(self.expected(&format!("`(` after `{name}`")));
        }
        let (args, close) = self.list(')', is_value_char, "an argument", "`,` or `)` after an argument")?;
        let arg_error = |(pos, text): &(usize, String), what: &str| {
            self.error(format_args!("{} {what}", quote(text)), *pos, text.chars().count())
        };
        let seconds = |arg: &(usize, String), what: &str| match arg.1.parse::<u64>() {
            Ok(n) if n > 0 && arg.1.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
            _ => Err(arg_error(
                arg,
                &format!("is not {what}: expected a positive whole number of seconds"),
            )),
        };
        let max_args = match name.as_str() {
            "rollup" | "fill" => 2,
            _ => 0,
        };
        if let Some(extra) = args.get(max_args) {
            let message = match max_args {
                0 => format!("`{name}` takes no arguments"),
                n => format!("`{name}` takes at most {n} arguments"),
            };
            return Err(self.error(message, extra.0, extra.1.chars().count()));
        }
        let function = match (name.as_str(), args.as_slice()) {
            ("as_count", _) => Function::AsCount,
            ("as_rate", _) => Function::AsRate,
            ("rollup", []) => {
                let message = "`rollup` needs a method (avg, sum, min, max or count) and/or an interval in seconds";
                return Err(self.error(message, close, 1));
            }
            ("rollup", [arg]) if arg.1.starts_with(|c: char| c.is_ascii_digit()) => Function::Rollup {
                method: None,
                seconds: Some(seconds(arg, "a rollup interval")?),
            },
            ("rollup", [method, rest @ ..]) => Function::Rollup {
                method: Some(
                    RollupMethod::ALL
                        .into_iter()
                        .find(|m| m.name() == method.1)
                        .ok_or_else(|| {
                            arg_error(method, "is not a rollup method (expected avg, sum, min, max or count)")
                        })?,
                ),
                seconds: rest.first().map(|arg| seconds(arg, "a rollup interval")).transpose()?,
            },
            (_, []) => return Err(self.error("`fill` needs a mode (zero or null)", close, 1)),
            (_, [mode, rest @ ..]) => {
                let mode = match mode.1.as_str() {
                    "zero" => FillMode::Zero,
                    "null" => FillMode::Null,
                    _ => return Err(arg_error(mode, "is not a fill mode (expected zero or null)")),
                };
                if let Some(limit) = rest.first() {
                    seconds(limit, "a fill limit")?;
                }
                Function::Fill(mode)
            }
        };
        let same = |f: &Function| std::mem::discriminant(f) == std::mem::discriminant(&function);
        if functions.iter().any(same) {
            return Err(self.error(
                format_args!("`.{name}()` can only be applied once"),
                name_start,
                name_len,
            ));
        }
        let conflicting = |f: &Function| {
            matches!(
                (f, &function),
                (Function::AsCount, Function::AsRate) | (Function::AsRate, Function::AsCount)
            )
        };
        if functions.iter().any(conflicting) {
            let message = "`.as_count()` and `.as_rate()` cannot both be applied";
            return Err(self.error(message, name_start, name_len));
        }
        functions.push(function);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
