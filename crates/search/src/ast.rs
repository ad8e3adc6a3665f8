//! The abstract syntax tree of a search query and its canonical text form.
//!
//! [`Query`]'s `Display` prints canonical query text. For every query produced by [`crate::parse`],
//! `parse(&query.to_string()) == Ok(query)`. Hand-built trees round-trip as well as long as they stay within what
//! the syntax can express: `And`/`Or` have at least two children, tag keys are made of `[A-Za-z0-9_.\-/@]` and do
//! not start with a single `-`, and wildcard values contain a `*` but no whitespace, parenthesis or `"`. Anything outside that
//! is still printed as valid query text with the closest meaning (for example a bare [`Text`] that cannot be
//! written bare is printed as a quoted phrase).

use std::fmt::{self, Write as _};

use crate::wildcard::wildcard_match;

/// A parsed search query.
///
/// Leaves are [`Query::All`], [`Query::Text`], [`Query::Tag`], [`Query::Compare`] and [`Query::Range`]; the boolean
/// nodes are [`Query::Not`], [`Query::And`] and [`Query::Or`]. The parser flattens chains of the same operator
/// (`a b c` is one `And` with three children) but keeps explicit parentheses (`(a b) c` is an `And` whose first child
/// is an `And`), which is what makes the printed form round-trip exactly.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// Matches everything: the empty query, or `*`.
    All,
    /// A free-text term or quoted phrase.
    Text(Text),
    /// A tag or attribute filter `key:value`.
    Tag {
        /// The key as written, including a leading `@` for attributes.
        key: String,
        /// The value to match.
        value: Pattern,
    },
    /// A numeric comparison `key:>N`, `key:>=N`, `key:<N`, `key:<=N`.
    Compare {
        /// The key as written, including a leading `@` for attributes.
        key: String,
        /// The comparison operator.
        op: CmpOp,
        /// The number compared against.
        value: Number,
    },
    /// A numeric range `key:[low TO high]` (`{`/`}` make a bound exclusive, `*` leaves it open).
    Range {
        /// The key as written, including a leading `@` for attributes.
        key: String,
        /// The lower bound.
        low: Bound,
        /// The upper bound.
        high: Bound,
    },
    /// Negation: `NOT q`, `!q` or `-q`.
    Not(Box<Query>),
    /// Conjunction, explicit (`AND`) or implicit (adjacent terms). An empty `And` matches everything.
    And(Vec<Query>),
    /// Disjunction (`OR`). An empty `Or` matches nothing.
    Or(Vec<Query>),
}

/// A free-text term (`nginx`) or a quoted phrase (`"worker process"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text {
    /// The text, with quotes removed and escapes resolved.
    pub value: String,
    /// Whether the text was written as a quoted phrase.
    pub phrase: bool,
}

impl Text {
    /// Builds a bare (unquoted) term.
    pub fn term(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            phrase: false,
        }
    }

    /// Builds a quoted phrase.
    pub fn phrase(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            phrase: true,
        }
    }

    /// Whether this is a bare term containing `*` (phrases are always literal).
    pub fn is_wildcard(&self) -> bool {
        !self.phrase && self.value.contains('*')
    }

    /// The text as a [`Pattern`]: a wildcard for bare terms containing `*`, an exact value otherwise.
    pub fn pattern(&self) -> Pattern {
        if self.is_wildcard() {
            Pattern::Wildcard(self.value.clone())
        } else {
            Pattern::Exact(self.value.clone())
        }
    }
}

/// The value side of a tag filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// A literal value: a bare word without `*`, or any quoted value (including `""`).
    Exact(String),
    /// A bare value containing `*`; every `*` matches any run of characters (possibly empty).
    Wildcard(String),
}

impl Pattern {
    /// Whether `candidate` matches, ignoring case. `Exact` compares the whole string; `Wildcard` lets each `*`
    /// stand for any run of characters.
    pub fn matches(&self, candidate: &str) -> bool {
        match self {
            Pattern::Exact(value) => eq_ignore_case(value, candidate),
            Pattern::Wildcard(pattern) => wildcard_match(pattern, candidate, true),
        }
    }

    /// Whether this is a [`Pattern::Wildcard`].
    pub fn is_wildcard(&self) -> bool {
        matches!(self, Pattern::Wildcard(_))
    }

    /// The value as written (without quotes).
    pub fn as_str(&self) -> &str {
        match self {
            Pattern::Exact(value) | Pattern::Wildcard(value) => value,
        }
    }
}

/// Case-insensitive string equality using full Unicode lower-casing.
fn eq_ignore_case(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// A numeric comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl CmpOp {
    /// The operator as written in a query.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }

    /// Whether `lhs <op> rhs` holds (`NaN` never satisfies any operator).
    pub fn holds(self, lhs: f64, rhs: f64) -> bool {
        match self {
            CmpOp::Gt => lhs > rhs,
            CmpOp::Ge => lhs >= rhs,
            CmpOp::Lt => lhs < rhs,
            CmpOp::Le => lhs <= rhs,
        }
    }
}

impl fmt::Display for CmpOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A time unit that can follow a number (`100ms`); durations are normalised to nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DurationUnit {
    /// `ns`
    Nanoseconds,
    /// `us` or `µs`
    Microseconds,
    /// `ms`
    Milliseconds,
    /// `s`
    Seconds,
    /// `m`
    Minutes,
    /// `h`
    Hours,
    /// `d`
    Days,
}

impl DurationUnit {
    /// All units, smallest first.
    pub const ALL: [DurationUnit; 7] = [
        DurationUnit::Nanoseconds,
        DurationUnit::Microseconds,
        DurationUnit::Milliseconds,
        DurationUnit::Seconds,
        DurationUnit::Minutes,
        DurationUnit::Hours,
        DurationUnit::Days,
    ];

    /// How many nanoseconds one of this unit is.
    pub fn nanos(self) -> f64 {
        match self {
            DurationUnit::Nanoseconds => 1.0,
            DurationUnit::Microseconds => 1e3,
            DurationUnit::Milliseconds => 1e6,
            DurationUnit::Seconds => 1e9,
            DurationUnit::Minutes => 60e9,
            DurationUnit::Hours => 3_600e9,
            DurationUnit::Days => 86_400e9,
        }
    }

    /// The canonical suffix (`ns`, `us`, `ms`, `s`, `m`, `h`, `d`).
    pub fn suffix(self) -> &'static str {
        match self {
            DurationUnit::Nanoseconds => "ns",
            DurationUnit::Microseconds => "us",
            DurationUnit::Milliseconds => "ms",
            DurationUnit::Seconds => "s",
            DurationUnit::Minutes => "m",
            DurationUnit::Hours => "h",
            DurationUnit::Days => "d",
        }
    }

    /// Parses a unit suffix; accepts `µs` (micro sign or Greek mu) as well as `us`. Case-sensitive.
    pub fn from_suffix(suffix: &str) -> Option<Self> {
        Some(match suffix {
            "ns" => DurationUnit::Nanoseconds,
            "us" | "\u{b5}s" | "\u{3bc}s" => DurationUnit::Microseconds,
            "ms" => DurationUnit::Milliseconds,
            "s" => DurationUnit::Seconds,
            "m" => DurationUnit::Minutes,
            "h" => DurationUnit::Hours,
            "d" => DurationUnit::Days,
            _ => return None,
        })
    }
}

/// A number as written in a query: a finite value and an optional duration unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number {
    /// The number as written, before applying the unit (`1.5` for `1.5ms`). Always finite when parsed.
    pub value: f64,
    /// The duration unit, if one was written.
    pub unit: Option<DurationUnit>,
}

impl Number {
    /// A plain number without unit.
    pub fn plain(value: f64) -> Self {
        Self { value, unit: None }
    }

    /// A duration `value` × `unit`.
    pub fn duration(value: f64, unit: DurationUnit) -> Self {
        Self {
            value,
            unit: Some(unit),
        }
    }

    /// Whether a duration unit was written.
    pub fn is_duration(&self) -> bool {
        self.unit.is_some()
    }

    /// The normalised value: nanoseconds for durations, the number itself otherwise.
    pub fn as_f64(&self) -> f64 {
        match self.unit {
            Some(unit) => self.value * unit.nanos(),
            None => self.value,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `f64`'s `Display` never uses exponent notation and prints the shortest digits that read back exactly.
        write!(f, "{}", self.value)?;
        if let Some(unit) = self.unit {
            f.write_str(unit.suffix())?;
        }
        Ok(())
    }
}

/// One end of a numeric range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// `*`: no limit on this side.
    Unbounded,
    /// `[` / `]`: the bound itself is included.
    Inclusive(Number),
    /// `{` / `}`: the bound itself is excluded.
    Exclusive(Number),
}

impl Bound {
    /// The bound's number, if any.
    pub fn number(&self) -> Option<&Number> {
        match self {
            Bound::Unbounded => None,
            Bound::Inclusive(n) | Bound::Exclusive(n) => Some(n),
        }
    }
}

impl Query {
    /// The leaf terms of the query (everything except `Not`, `And` and `Or`), depth-first, left to right.
    ///
    /// Useful for domain-specific validation, such as rejecting terms that are too short.
    pub fn terms(&self) -> Terms<'_> {
        Terms { stack: vec![self] }
    }
}

/// Iterator over the leaf terms of a [`Query`], returned by [`Query::terms`].
#[derive(Debug, Clone)]
pub struct Terms<'a> {
    stack: Vec<&'a Query>,
}

impl<'a> Iterator for Terms<'a> {
    type Item = &'a Query;

    fn next(&mut self) -> Option<&'a Query> {
        while let Some(query) = self.stack.pop() {
            match query {
                Query::Not(inner) => self.stack.push(inner),
                Query::And(children) | Query::Or(children) => self.stack.extend(children.iter().rev()),
                leaf => return Some(leaf),
            }
        }
        None
    }
}

/// The keywords that cannot be written as bare text.
pub(crate) const KEYWORDS: [&str; 3] = ["AND", "OR", "NOT"];

/// Characters allowed in a tag key.
pub(crate) fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/' | '@')
}

/// Characters that end a bare word.
pub(crate) fn is_word_end(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"')
}

/// Whether `word` starts with `key:` for a non-empty key, i.e. would be read as a tag filter.
fn looks_like_tag(word: &str) -> bool {
    let key_len = word.find(|c: char| !is_key_char(c)).unwrap_or(word.len());
    key_len > 0 && word[key_len..].starts_with(':')
}

/// Whether `value` reads back as the same bare free-text term.
fn is_bare_text(value: &str) -> bool {
    !value.is_empty()
        && !value.contains(is_word_end)
        && !value.starts_with('!')
        && (!value.starts_with('-') || value.starts_with("--"))
        && value != "*"
        && !KEYWORDS.contains(&value)
        && !looks_like_tag(value)
}

/// Whether `value` reads back as the same bare tag value (ignoring whether it contains `*`).
fn is_bare_value(value: &str) -> bool {
    !value.is_empty() && !value.contains(is_word_end) && !value.starts_with(['<', '>', '[', '{'])
}

/// Writes `value` as a quoted phrase, escaping `"` and `\`.
fn write_quoted(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.phrase && is_bare_text(&self.value) {
            f.write_str(&self.value)
        } else {
            write_quoted(f, &self.value)
        }
    }
}

impl fmt::Display for Pattern {
    /// Prints the value as it appears after `key:`: bare when possible, quoted otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Exact(value) if is_bare_value(value) && !value.contains('*') => f.write_str(value),
            Pattern::Wildcard(value) if is_bare_value(value) => f.write_str(value),
            Pattern::Exact(value) | Pattern::Wildcard(value) => write_quoted(f, value),
        }
    }
}

impl fmt::Display for Bound {
    /// Prints the bound's number, or `*` when unbounded (brackets are printed by the range).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.number() {
            Some(n) => n.fmt(f),
            None => f.write_char('*'),
        }
    }
}

impl Query {
    /// Writes `self` as a child of a boolean node, parenthesised when `needs_parens` says so.
    fn fmt_child(&self, f: &mut fmt::Formatter<'_>, needs_parens: bool) -> fmt::Result {
        if needs_parens {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }

    /// The operator this node prints as at its top level (single-child `And`/`Or` print as their child).
    fn printed_shape(&self) -> Shape {
        match self {
            Query::And(children) | Query::Or(children) if children.len() == 1 => children[0].printed_shape(),
            Query::And(children) if children.len() >= 2 => Shape::And,
            Query::Or(children) if children.len() >= 2 => Shape::Or,
            _ => Shape::Atom,
        }
    }
}

/// How a node prints at its top level, for deciding where parentheses are needed.
#[derive(PartialEq)]
enum Shape {
    /// A term, a negation, `*` or `NOT *`: binds tighter than any binary operator.
    Atom,
    /// `a AND b ...`
    And,
    /// `a OR b ...`
    Or,
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Query::All => f.write_char('*'),
            Query::Text(text) => text.fmt(f),
            Query::Tag { key, value } => write!(f, "{key}:{value}"),
            Query::Compare { key, op, value } => write!(f, "{key}:{op}{value}"),
            Query::Range { key, low, high } => {
                let open = if matches!(low, Bound::Exclusive(_)) { '{' } else { '[' };
                let close = if matches!(high, Bound::Exclusive(_)) { '}' } else { ']' };
                write!(f, "{key}:{open}{low} TO {high}{close}")
            }
            Query::Not(inner) => {
                f.write_str("NOT ")?;
                inner.fmt_child(f, inner.printed_shape() != Shape::Atom)
            }
            Query::And(children) | Query::Or(children) if children.len() == 1 => children[0].fmt(f),
            Query::And(children) if children.is_empty() => f.write_char('*'),
            Query::Or(children) if children.is_empty() => f.write_str("NOT *"),
            Query::And(children) => {
                for (i, child) in children.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" AND ")?;
                    }
                    // Nested `And`s keep their parentheses so the tree shape survives a round trip.
                    child.fmt_child(f, child.printed_shape() != Shape::Atom)?;
                }
                Ok(())
            }
            Query::Or(children) => {
                for (i, child) in children.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" OR ")?;
                    }
                    // `And` binds tighter than `OR`, so only a nested `Or` needs parentheses.
                    child.fmt_child(f, child.printed_shape() == Shape::Or)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_matching_ignores_case() {
        assert!(Pattern::Exact("NGINX".into()).matches("nginx"));
        assert!(!Pattern::Exact("nginx".into()).matches("nginx2"));
        assert!(Pattern::Wildcard("web-*-prod".into()).matches("WEB-12-prod"));
        assert!(!Pattern::Wildcard("web-*-prod".into()).matches("web-12-dev"));
        assert!(Pattern::Wildcard("*".into()).matches(""));
        assert!(Pattern::Wildcard("x".into()).is_wildcard());
        assert!(!Pattern::Exact("*".into()).is_wildcard());
        assert!(Pattern::Exact("a*b".into()).matches("A*B"));
        assert!(!Pattern::Exact("a*b".into()).matches("axb"));
    }

    #[test]
    fn text_pattern() {
        assert_eq!(Text::term("post*").pattern(), Pattern::Wildcard("post*".into()));
        assert_eq!(Text::phrase("post*").pattern(), Pattern::Exact("post*".into()));
        assert_eq!(Text::term("post").pattern(), Pattern::Exact("post".into()));
    }

    #[test]
    fn numbers_normalise_durations_to_nanoseconds() {
        assert_eq!(
            Number::duration(100.0, DurationUnit::Milliseconds).as_f64(),
            100_000_000.0
        );
        assert_eq!(Number::duration(2.0, DurationUnit::Minutes).as_f64(), 120e9);
        assert_eq!(Number::duration(1.0, DurationUnit::Days).as_f64(), 86_400e9);
        assert_eq!(Number::plain(-3.5).as_f64(), -3.5);
        for unit in DurationUnit::ALL {
            assert_eq!(DurationUnit::from_suffix(unit.suffix()), Some(unit));
        }
        assert_eq!(DurationUnit::from_suffix("µs"), Some(DurationUnit::Microseconds));
        assert_eq!(DurationUnit::from_suffix("MS"), None);
    }

    #[test]
    fn display_quotes_what_cannot_be_bare() {
        let text = |v: &str| Query::Text(Text::term(v)).to_string();
        assert_eq!(text("nginx"), "nginx");
        assert_eq!(text("AND"), "\"AND\"");
        assert_eq!(text("-x"), "\"-x\"");
        assert_eq!(text("a b"), "\"a b\"");
        assert_eq!(text("a:b"), "\"a:b\"");
        assert_eq!(text("a,b:c"), "a,b:c");
        assert_eq!(text(""), "\"\"");
        assert_eq!(
            Query::Text(Text::phrase(r#"say "hi" \o/"#)).to_string(),
            r#""say \"hi\" \\o/""#
        );
        let tag = |v: Pattern| {
            Query::Tag {
                key: "k".into(),
                value: v,
            }
            .to_string()
        };
        assert_eq!(tag(Pattern::Exact("".into())), "k:\"\"");
        assert_eq!(tag(Pattern::Exact("a*".into())), "k:\"a*\"");
        assert_eq!(tag(Pattern::Exact(">5".into())), "k:\">5\"");
        assert_eq!(tag(Pattern::Exact("a:b".into())), "k:a:b");
        assert_eq!(tag(Pattern::Wildcard("web-*".into())), "k:web-*");
    }

    #[test]
    fn display_parenthesises_by_precedence() {
        let t = |v: &str| Query::Text(Text::term(v));
        let q = Query::Or(vec![Query::And(vec![t("a"), t("b")]), t("c")]);
        assert_eq!(q.to_string(), "a AND b OR c");
        let q = Query::And(vec![Query::Or(vec![t("a"), t("b")]), Query::Not(Box::new(t("c")))]);
        assert_eq!(q.to_string(), "(a OR b) AND NOT c");
        let q = Query::Not(Box::new(Query::And(vec![t("a"), t("b")])));
        assert_eq!(q.to_string(), "NOT (a AND b)");
        let q = Query::Or(vec![Query::Or(vec![t("a"), t("b")]), t("c")]);
        assert_eq!(q.to_string(), "(a OR b) OR c");
        let q = Query::Range {
            key: "@x".into(),
            low: Bound::Exclusive(Number::plain(10.0)),
            high: Bound::Unbounded,
        };
        assert_eq!(q.to_string(), "@x:{10 TO *]");
        let q = Query::Compare {
            key: "@duration".into(),
            op: CmpOp::Ge,
            value: Number::duration(1.5, DurationUnit::Microseconds),
        };
        assert_eq!(q.to_string(), "@duration:>=1.5us");
        assert_eq!(Query::And(vec![]).to_string(), "*");
        assert_eq!(Query::Or(vec![]).to_string(), "NOT *");
    }

    #[test]
    fn terms_are_leaves_in_order() {
        let t = |v: &str| Query::Text(Text::term(v));
        let q = Query::Or(vec![
            Query::And(vec![Query::Not(Box::new(t("a"))), t("b")]),
            Query::All,
            Query::Not(Box::new(Query::Or(vec![t("c"), t("d")]))),
        ]);
        let leaves: Vec<String> = q.terms().map(ToString::to_string).collect();
        assert_eq!(leaves, ["a", "b", "*", "c", "d"]);
    }
}
