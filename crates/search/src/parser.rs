//! Recursive-descent parser from tokens to [`Query`].
//!
//! Grammar (highest precedence last):
//!
//! ```text
//! query   = [ or ]                          (empty or blank input is Query::All)
//! or      = and { "OR" and }
//! and     = unary { [ "AND" ] unary }       (adjacent terms are an implicit AND)
//! unary   = ( "NOT" | "!" | "-" ) unary | "(" or ")" | key ":(" group ")" | term
//! group   = gand { "OR" gand }               (the values of one key, Datadog's `service:(a OR b)`)
//! gand    = gunary { [ "AND" ] gunary }
//! gunary  = ( "NOT" | "!" | "-" ) gunary | "(" group ")" | value
//! ```
//!
//! `!` and `-` must be immediately followed by the term they negate. A group is read into
//! the tag filters it stands for: `service:(a OR b*)` is `service:a OR service:b*`, so
//! matchers and printing need nothing of their own for it.

use crate::ast::{Pattern, Query};
use crate::error::ParseError;
use crate::lexer::{Lexer, Token, TokenKind};

/// How deeply parentheses and negations may nest before [`parse`] gives up with an error.
///
/// Bounding the depth keeps parsing, printing and evaluation (which recurse over the tree) safe from stack
/// exhaustion on hostile input.
pub const MAX_NESTING_DEPTH: usize = 100;

/// Parses a search query.
///
/// An empty or whitespace-only query is [`Query::All`]. See the crate documentation for the syntax.
///
/// # Errors
///
/// Returns a [`ParseError`] locating the first problem (an unbalanced parenthesis or quote, an operator without
/// operand, a tag without value, a malformed number or range, or nesting deeper than [`MAX_NESTING_DEPTH`]).
pub fn parse(input: &str) -> Result<Query, ParseError> {
    let mut parser = Parser {
        lexer: Lexer::new(input),
        peeked: None,
        depth: 0,
    };
    match parser.peek()? {
        None => return Ok(Query::All),
        Some(token) if starts_term(&token.kind) => {}
        Some(_) => {
            let token = parser.next_token()?;
            return Err(parser.unexpected(token.as_ref()));
        }
    }
    let query = parser.or()?;
    match parser.next_token()? {
        None => Ok(query),
        token => Err(parser.unexpected(token.as_ref())),
    }
}

/// Whether a token can begin a `unary`.
fn starts_term(kind: &TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::LParen | TokenKind::Not | TokenKind::Negate | TokenKind::Term(_) | TokenKind::Group { .. }
    )
}

struct Parser {
    lexer: Lexer,
    /// One token of lookahead: `Some(None)` means the end of input was peeked.
    peeked: Option<Option<Token>>,
    /// Current nesting of parentheses and negations.
    depth: usize,
}

impl Parser {
    fn peek(&mut self) -> Result<Option<&Token>, ParseError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token()?);
        }
        Ok(self.peeked.as_ref().and_then(Option::as_ref))
    }

    fn next_token(&mut self) -> Result<Option<Token>, ParseError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lexer.next_token(),
        }
    }

    /// Whether the next token is `kind` (compared by variant).
    fn next_is(&mut self, kind: &TokenKind) -> Result<bool, ParseError> {
        Ok(self
            .peek()?
            .is_some_and(|t| std::mem::discriminant(&t.kind) == std::mem::discriminant(kind)))
    }

    fn or(&mut self) -> Result<Query, ParseError> {
        let mut children = vec![self.and()?];
        while self.next_is(&TokenKind::Or)? {
            let op = self.next_token()?;
            self.expect_term_after(op.as_ref(), false)?;
            children.push(self.and()?);
        }
        Ok(if children.len() == 1 {
            children.swap_remove(0)
        } else {
            Query::Or(children)
        })
    }

    fn and(&mut self) -> Result<Query, ParseError> {
        let mut children = vec![self.unary()?];
        loop {
            if self.next_is(&TokenKind::And)? {
                let op = self.next_token()?;
                self.expect_term_after(op.as_ref(), false)?;
            } else if !self.peek()?.is_some_and(|t| starts_term(&t.kind)) {
                break;
            }
            children.push(self.unary()?);
        }
        Ok(if children.len() == 1 {
            children.swap_remove(0)
        } else {
            Query::And(children)
        })
    }

    fn unary(&mut self) -> Result<Query, ParseError> {
        let Some(token) = self.next_token()? else {
            return Err(self.unexpected(None));
        };
        match token.kind {
            TokenKind::Term(query) => Ok(query),
            TokenKind::Not | TokenKind::Negate => {
                self.enter(&token)?;
                self.expect_term_after(Some(&token), matches!(token.kind, TokenKind::Negate))?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Query::Not(Box::new(inner)))
            }
            TokenKind::LParen => {
                self.enter(&token)?;
                self.expect_term_after(Some(&token), false)?;
                let inner = self.or()?;
                self.close(token.start)?;
                self.depth -= 1;
                Ok(inner)
            }
            TokenKind::Group { ref key, open } => {
                self.enter(&token)?;
                self.expect_term_after(Some(&token), false)?;
                let inner = self.group_or(key)?;
                self.close(open)?;
                self.depth -= 1;
                Ok(inner)
            }
            TokenKind::And | TokenKind::Or | TokenKind::RParen => Err(self.unexpected(Some(&token))),
        }
    }

    /// Reads the `)` closing the parenthesis opened at `open`.
    fn close(&mut self, open: usize) -> Result<(), ParseError> {
        match self.next_token()? {
            Some(Token {
                kind: TokenKind::RParen,
                ..
            }) => Ok(()),
            None => Err(ParseError::new(
                format!("unclosed parenthesis opened at character {open}"),
                open,
                1,
            )),
            other => Err(self.unexpected(other.as_ref())),
        }
    }

    /// `group`: values of `key` joined by `OR`.
    fn group_or(&mut self, key: &str) -> Result<Query, ParseError> {
        let mut children = vec![self.group_and(key)?];
        while self.next_is(&TokenKind::Or)? {
            let op = self.next_token()?;
            self.expect_term_after(op.as_ref(), false)?;
            children.push(self.group_and(key)?);
        }
        Ok(if children.len() == 1 {
            children.swap_remove(0)
        } else {
            Query::Or(children)
        })
    }

    /// `gand`: values of `key` joined by `AND` or by juxtaposition.
    fn group_and(&mut self, key: &str) -> Result<Query, ParseError> {
        let mut children = vec![self.group_unary(key)?];
        loop {
            if self.next_is(&TokenKind::And)? {
                let op = self.next_token()?;
                self.expect_term_after(op.as_ref(), false)?;
            } else if !self.peek()?.is_some_and(|t| starts_term(&t.kind)) {
                break;
            }
            children.push(self.group_unary(key)?);
        }
        Ok(if children.len() == 1 {
            children.swap_remove(0)
        } else {
            Query::And(children)
        })
    }

    /// `gunary`: a negated value, a parenthesized group, or one value of `key`.
    fn group_unary(&mut self, key: &str) -> Result<Query, ParseError> {
        let Some(token) = self.next_token()? else {
            return Err(self.unexpected(None));
        };
        match token.kind {
            TokenKind::Term(Query::Text(text)) => {
                let value = if !text.phrase && text.value.contains('*') {
                    Pattern::Wildcard(text.value)
                } else {
                    Pattern::Exact(text.value)
                };
                Ok(Query::Tag {
                    key: key.to_string(),
                    value,
                })
            }
            TokenKind::Term(Query::All) => Ok(Query::Tag {
                key: key.to_string(),
                value: Pattern::Wildcard("*".into()),
            }),
            TokenKind::Term(_) | TokenKind::Group { .. } => Err(ParseError::new(
                format!(
                    "expected a value of `{key}:` at character {}, found `{}` (a group holds values, not filters)",
                    token.start,
                    self.lexer.snippet(token.start, token.end)
                ),
                token.start,
                token.end - token.start,
            )),
            TokenKind::Not | TokenKind::Negate => {
                self.enter(&token)?;
                self.expect_term_after(Some(&token), matches!(token.kind, TokenKind::Negate))?;
                let inner = self.group_unary(key)?;
                self.depth -= 1;
                Ok(Query::Not(Box::new(inner)))
            }
            TokenKind::LParen => {
                self.enter(&token)?;
                self.expect_term_after(Some(&token), false)?;
                let inner = self.group_or(key)?;
                self.close(token.start)?;
                self.depth -= 1;
                Ok(inner)
            }
            TokenKind::And | TokenKind::Or | TokenKind::RParen => Err(self.unexpected(Some(&token))),
        }
    }

    /// Records one more level of nesting for `token`, failing beyond [`MAX_NESTING_DEPTH`].
    fn enter(&mut self, token: &Token) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_NESTING_DEPTH {
            return Err(ParseError::new(
                format!(
                    "query nests more than {MAX_NESTING_DEPTH} levels deep at character {}",
                    token.start
                ),
                token.start,
                token.end - token.start,
            ));
        }
        Ok(())
    }

    /// Checks that a term follows the operator `op` (immediately, without whitespace, when `adjacent`).
    fn expect_term_after(&mut self, op: Option<&Token>, adjacent: bool) -> Result<(), ParseError> {
        let (op_text, op_end) = match op {
            Some(op) => (self.lexer.snippet(op.start, op.end), op.end),
            None => (String::new(), self.lexer.len()),
        };
        let len = self.lexer.len();
        let next = self.peek()?.map(|t| (t.start, t.end, starts_term(&t.kind)));
        let (found, position, found_len) = match next {
            Some((start, _, _)) if adjacent && start != op_end => ("whitespace".to_owned(), op_end, start - op_end),
            Some((_, _, true)) => return Ok(()),
            Some((start, end, false)) => (format!("`{}`", self.lexer.snippet(start, end)), start, end - start),
            None if adjacent && op_end != len => ("whitespace".to_owned(), op_end, len - op_end),
            None => ("end of query".to_owned(), len, 0),
        };
        let right = if adjacent { "right " } else { "" };
        Err(ParseError::new(
            format!("expected a term {right}after `{op_text}` at character {position}, found {found}"),
            position,
            found_len,
        ))
    }

    /// The error for a token that cannot appear where it is (or for the end of the query).
    fn unexpected(&self, token: Option<&Token>) -> ParseError {
        match token {
            None => {
                let len = self.lexer.len();
                ParseError::new(
                    format!("expected a term at character {len}, found end of query"),
                    len,
                    0,
                )
            }
            Some(t) if matches!(t.kind, TokenKind::RParen) => {
                ParseError::new(format!("unexpected `)` at character {}", t.start), t.start, 1)
            }
            Some(t) => ParseError::new(
                format!(
                    "expected a term at character {}, found `{}`",
                    t.start,
                    self.lexer.snippet(t.start, t.end)
                ),
                t.start,
                t.end - t.start,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{Bound, CmpOp, DurationUnit, Number, Pattern, Text};

    fn t(value: &str) -> Query {
        Query::Text(Text::term(value))
    }

    fn phrase(value: &str) -> Query {
        Query::Text(Text::phrase(value))
    }

    fn not(q: Query) -> Query {
        Query::Not(Box::new(q))
    }

    fn tag(key: &str, value: &str) -> Query {
        let value = if value.contains('*') {
            Pattern::Wildcard(value.into())
        } else {
            Pattern::Exact(value.into())
        };
        Query::Tag { key: key.into(), value }
    }

    fn ok(input: &str) -> Query {
        let query = parse(input).unwrap_or_else(|e| panic!("{input:?} failed: {e}"));
        let printed = query.to_string();
        assert_eq!(
            parse(&printed).as_ref(),
            Ok(&query),
            "round trip of {input:?} via {printed:?}"
        );
        query
    }

    fn err(input: &str) -> ParseError {
        match parse(input) {
            Ok(q) => panic!("{input:?} parsed as {q:?}"),
            Err(e) => {
                assert!(e.position + e.len <= input.chars().count(), "{input:?}: {e:?}");
                e
            }
        }
    }

    #[test]
    fn empty_query_matches_everything() {
        assert_eq!(ok(""), Query::All);
        assert_eq!(ok("   \t\n"), Query::All);
        assert_eq!(ok("*"), Query::All);
        assert_eq!(ok("NOT *"), not(Query::All));
    }

    #[test]
    fn free_text_and_phrases() {
        assert_eq!(ok("nginx"), t("nginx"));
        assert_eq!(ok("postgres /9."), Query::And(vec![t("postgres"), t("/9.")]));
        assert_eq!(ok("\"worker process\""), phrase("worker process"));
        assert_eq!(ok(r#""say \"hi\" C:\\dir \d""#), phrase(r#"say "hi" C:\dir \d"#));
        assert_eq!(ok("\"\""), phrase(""));
        assert_eq!(ok("a-b"), t("a-b"));
        assert_eq!(ok("a!b"), t("a!b"));
        assert_eq!(ok("post*"), t("post*"));
        assert_eq!(ok("naïve 東京"), Query::And(vec![t("naïve"), t("東京")]));
        assert_eq!(ok("a,b:c"), t("a,b:c"));
        assert_eq!(ok("\"a\"b"), Query::And(vec![phrase("a"), t("b")]));
    }

    #[test]
    fn lower_case_keywords_are_text() {
        assert_eq!(ok("a or b"), Query::And(vec![t("a"), t("or"), t("b")]));
        assert_eq!(ok("a and not b"), Query::And(vec![t("a"), t("and"), t("not"), t("b")]));
        assert_eq!(
            ok("ANDROID ORACLE NOTE"),
            Query::And(vec![t("ANDROID"), t("ORACLE"), t("NOTE")])
        );
        assert_eq!(ok("\"AND\""), phrase("AND"));
    }

    #[test]
    fn boolean_operators() {
        assert_eq!(ok("a AND b"), Query::And(vec![t("a"), t("b")]));
        assert_eq!(ok("a b c"), Query::And(vec![t("a"), t("b"), t("c")]));
        assert_eq!(ok("a AND b c"), Query::And(vec![t("a"), t("b"), t("c")]));
        assert_eq!(ok("a OR b OR c"), Query::Or(vec![t("a"), t("b"), t("c")]));
        assert_eq!(ok("NOT a"), not(t("a")));
        assert_eq!(ok("NOT NOT a"), not(not(t("a"))));
        assert_eq!(ok("!kafka"), not(t("kafka")));
        assert_eq!(ok("-kafka"), not(t("kafka")));
        assert_eq!(ok("--verbose"), t("--verbose"), "a command-line flag is a term");
        assert_eq!(ok("!--verbose"), not(t("--verbose")));
        assert_eq!(ok("-!verbose"), not(not(t("verbose"))));
        assert_eq!(ok("--"), t("--"));
        assert_eq!(ok("-\"a b\""), not(phrase("a b")));
        assert_eq!(ok("-(a OR b)"), not(Query::Or(vec![t("a"), t("b")])));
        assert_eq!(ok("!service:web"), not(tag("service", "web")));
        assert_eq!(ok("-*"), not(Query::All));
        assert_eq!(ok("NOT(a)"), not(t("a")));
    }

    #[test]
    fn precedence() {
        assert_eq!(
            ok("a b OR c"),
            Query::Or(vec![Query::And(vec![t("a"), t("b")]), t("c")])
        );
        assert_eq!(
            ok("a OR b c"),
            Query::Or(vec![t("a"), Query::And(vec![t("b"), t("c")])])
        );
        assert_eq!(ok("a AND b OR c AND d"), ok("(a b) OR (c d)"));
        assert_eq!(ok("NOT a b"), Query::And(vec![not(t("a")), t("b")]));
        assert_eq!(ok("-a OR b"), Query::Or(vec![not(t("a")), t("b")]));
        assert_eq!(
            ok("a (b OR c)"),
            Query::And(vec![t("a"), Query::Or(vec![t("b"), t("c")])])
        );
        assert_eq!(
            ok("(NOT (elasticsearch OR kafka) java) OR python"),
            Query::Or(vec![
                Query::And(vec![not(Query::Or(vec![t("elasticsearch"), t("kafka")])), t("java")]),
                t("python"),
            ])
        );
    }

    #[test]
    fn parentheses_keep_nesting() {
        assert_eq!(ok("((a))"), t("a"));
        assert_eq!(
            ok("(a b) c"),
            Query::And(vec![Query::And(vec![t("a"), t("b")]), t("c")])
        );
        assert_eq!(
            ok("(a OR b) OR c"),
            Query::Or(vec![Query::Or(vec![t("a"), t("b")]), t("c")])
        );
        assert_eq!(ok("(a)b"), Query::And(vec![t("a"), t("b")]));
    }

    #[test]
    fn tags() {
        assert_eq!(ok("command:nginx"), tag("command", "nginx"));
        assert_eq!(ok("command:post*"), tag("command", "post*"));
        assert_eq!(ok("host:web-*-prod"), tag("host", "web-*-prod"));
        assert_eq!(ok("service:\"my service\""), tag("service", "my service"));
        assert_eq!(ok("service:\"\""), tag("service", ""));
        assert_eq!(
            ok("host:\"web-*\""),
            Query::Tag {
                key: "host".into(),
                value: Pattern::Exact("web-*".into())
            }
        );
        assert_eq!(ok("@http.status_code:500"), tag("@http.status_code", "500"));
        assert_eq!(ok("kube_namespace/x-y.z:a"), tag("kube_namespace/x-y.z", "a"));
        assert_eq!(ok("image:nginx:1.25"), tag("image", "nginx:1.25"));
        assert_eq!(ok("@url:http://x/y"), tag("@url", "http://x/y"));
        assert_eq!(ok("delta:-5"), tag("delta", "-5"));
        assert_eq!(ok("key:*"), tag("key", "*"));
        assert_eq!(ok("a:b c:d"), Query::And(vec![tag("a", "b"), tag("c", "d")]));
    }

    #[test]
    fn grouped_values_of_one_key() {
        let or = |items: Vec<Query>| Query::Or(items);
        assert_eq!(
            ok("service:(notes OR calendar)"),
            or(vec![tag("service", "notes"), tag("service", "calendar")])
        );
        assert_eq!(
            ok("env:dev service:( notes OR \"my app\" OR web-* )"),
            Query::And(vec![
                tag("env", "dev"),
                or(vec![
                    tag("service", "notes"),
                    tag("service", "my app"),
                    tag("service", "web-*")
                ]),
            ])
        );
        assert_eq!(ok("service:(notes)"), tag("service", "notes"));
        assert_eq!(
            ok("service:(a b AND c)"),
            Query::And(vec![tag("service", "a"), tag("service", "b"), tag("service", "c")])
        );
        assert_eq!(
            ok("host:(a OR (b -c)) OR x"),
            or(vec![
                or(vec![
                    tag("host", "a"),
                    Query::And(vec![tag("host", "b"), not(tag("host", "c"))])
                ]),
                t("x"),
            ])
        );
        assert_eq!(
            ok("-service:(a OR b)"),
            not(or(vec![tag("service", "a"), tag("service", "b")]))
        );
        assert_eq!(ok("service:(NOT a)"), not(tag("service", "a")));
        assert_eq!(ok("service:(*)"), tag("service", "*"));
        // What prints back parses to the same tree.
        for input in [
            "service:(notes OR calendar) -env:(dev OR qa)",
            "a:(b (c OR d))",
            "-service:x",
        ] {
            let query = ok(input);
            assert_eq!(ok(&query.to_string()), query, "{input} printed as {query}");
        }
        assert_eq!(
            ok("service:(notes OR calendar)").to_string(),
            "service:notes OR service:calendar"
        );
    }

    #[test]
    fn negated_tags() {
        assert_eq!(ok("-service:x"), not(tag("service", "x")));
        assert_eq!(ok("!service:x"), not(tag("service", "x")));
        assert_eq!(
            ok("service:notes -service:x"),
            Query::And(vec![tag("service", "notes"), not(tag("service", "x"))])
        );
    }

    #[test]
    fn comparisons() {
        let cmp = |key: &str, op, value| Query::Compare {
            key: key.into(),
            op,
            value,
        };
        let q = ok("@duration:>100ms");
        assert_eq!(
            q,
            cmp(
                "@duration",
                CmpOp::Gt,
                Number::duration(100.0, DurationUnit::Milliseconds)
            )
        );
        let Query::Compare { value, .. } = &q else {
            unreachable!()
        };
        assert_eq!(value.as_f64(), 100_000_000.0);
        assert_eq!(
            ok("@http.status_code:>=500"),
            cmp("@http.status_code", CmpOp::Ge, Number::plain(500.0))
        );
        assert_eq!(ok("cpu:<0.5"), cmp("cpu", CmpOp::Lt, Number::plain(0.5)));
        assert_eq!(ok("@x:<=-3"), cmp("@x", CmpOp::Le, Number::plain(-3.0)));
        assert_eq!(
            ok("@d:>2µs"),
            cmp("@d", CmpOp::Gt, Number::duration(2.0, DurationUnit::Microseconds))
        );
        assert_eq!(
            ok("@d:>1.5h"),
            cmp("@d", CmpOp::Gt, Number::duration(1.5, DurationUnit::Hours))
        );
        for (suffix, nanos) in [
            ("ns", 1.0),
            ("us", 1e3),
            ("ms", 1e6),
            ("s", 1e9),
            ("m", 6e10),
            ("h", 3.6e12),
        ] {
            let Query::Compare { value, .. } = ok(&format!("@d:>1{suffix}")) else {
                unreachable!()
            };
            assert_eq!(value.as_f64(), nanos, "{suffix}");
        }
        let Query::Compare { value, .. } = ok("@d:<1d") else {
            unreachable!()
        };
        assert_eq!(value.as_f64(), 86_400e9);
    }

    #[test]
    fn ranges() {
        let range = |low, high| Query::Range {
            key: "@http.status_code".into(),
            low,
            high,
        };
        let n = |v| Number::plain(v);
        assert_eq!(
            ok("@http.status_code:[500 TO 599]"),
            range(Bound::Inclusive(n(500.0)), Bound::Inclusive(n(599.0)))
        );
        assert_eq!(
            ok("@http.status_code:{500 TO 599}"),
            range(Bound::Exclusive(n(500.0)), Bound::Exclusive(n(599.0)))
        );
        assert_eq!(
            ok("@http.status_code:[10 TO 20}"),
            range(Bound::Inclusive(n(10.0)), Bound::Exclusive(n(20.0)))
        );
        assert_eq!(
            ok("@http.status_code:[100 TO *]"),
            range(Bound::Inclusive(n(100.0)), Bound::Unbounded)
        );
        assert_eq!(
            ok("@http.status_code:[* TO -1.5]"),
            range(Bound::Unbounded, Bound::Inclusive(n(-1.5)))
        );
        assert_eq!(
            ok("@http.status_code:[ 1 TO 2 ]"),
            range(Bound::Inclusive(n(1.0)), Bound::Inclusive(n(2.0)))
        );
        assert_eq!(
            ok("@duration:[1ms TO 1s] x"),
            Query::And(vec![
                Query::Range {
                    key: "@duration".into(),
                    low: Bound::Inclusive(Number::duration(1.0, DurationUnit::Milliseconds)),
                    high: Bound::Inclusive(Number::duration(1.0, DurationUnit::Seconds)),
                },
                t("x"),
            ])
        );
    }

    #[test]
    fn error_messages_and_positions() {
        let cases: &[(&str, &str, usize, usize)] = &[
            (
                "service:",
                "expected a value after `service:` at character 8, found end of query",
                8,
                0,
            ),
            (
                "service: nginx",
                "expected a value after `service:` at character 8, found whitespace",
                8,
                1,
            ),
            ("service:(a OR b", "unclosed parenthesis opened at character 8", 8, 1),
            (
                "service:()",
                "expected a term after `service:(` at character 9, found `)`",
                9,
                1,
            ),
            (
                "service:(a OR)",
                "expected a term after `OR` at character 13, found `)`",
                13,
                1,
            ),
            (
                "x service:(a OR env:b)",
                "expected a value of `service:` at character 16, found `env:b` (a group holds values, not filters)",
                16,
                5,
            ),
            (
                "service:(a OR -)",
                "expected a term right after `-` at character 15, found `)`",
                15,
                1,
            ),
            ("(a b", "unclosed parenthesis opened at character 0", 0, 1),
            ("a (b (c)", "unclosed parenthesis opened at character 2", 2, 1),
            ("a b )", "unexpected `)` at character 4", 4, 1),
            ("(a b))", "unexpected `)` at character 5", 5, 1),
            (")", "unexpected `)` at character 0", 0, 1),
            ("ab \"cd", "unclosed quote at character 3", 3, 1),
            ("x:\"cd\\\"", "unclosed quote at character 2", 2, 1),
            (
                "a OR",
                "expected a term after `OR` at character 4, found end of query",
                4,
                0,
            ),
            (
                "a AND OR b",
                "expected a term after `AND` at character 6, found `OR`",
                6,
                2,
            ),
            ("OR a", "expected a term at character 0, found `OR`", 0, 2),
            (
                "a NOT",
                "expected a term after `NOT` at character 5, found end of query",
                5,
                0,
            ),
            ("()", "expected a term after `(` at character 1, found `)`", 1, 1),
            (
                "a - b",
                "expected a term right after `-` at character 3, found whitespace",
                3,
                1,
            ),
            (
                "!",
                "expected a term right after `!` at character 1, found end of query",
                1,
                0,
            ),
            ("-)", "expected a term right after `-` at character 1, found `)`", 1, 1),
            (
                "@duration:>abc",
                "expected a number after `@duration:>` at character 11, found `abc`",
                11,
                3,
            ),
            (
                "@d:>=",
                "expected a number after `@d:>=` at character 5, found end of query",
                5,
                0,
            ),
            (
                "@size:>10kb",
                "expected a number after `@size:>` at character 7, found `10kb` \
                 (duration units are ns, us, µs, ms, s, m, h, d)",
                7,
                4,
            ),
            (
                "@x:[10 20]",
                "expected `TO` in the range opened at character 3, at character 7, found `20`",
                7,
                2,
            ),
            (
                "@x:[10 TO 20",
                "expected `]` or `}` at character 12 to close the range opened at character 3, found end of query",
                12,
                0,
            ),
            (
                "@x:[a TO 2]",
                "expected a number or `*` at character 4 as the lower bound of the range opened at character 3, \
                 found `a`",
                4,
                1,
            ),
            (
                "@x:[1 TO ]",
                "expected a number or `*` at character 9 as the upper bound of the range opened at character 3, \
                 found `]`",
                9,
                1,
            ),
        ];
        for &(input, message, position, len) in cases {
            let e = err(input);
            assert_eq!(
                (e.message.as_str(), e.position, e.len),
                (message, position, len),
                "{input:?}"
            );
            assert_eq!(e.to_string(), e.message);
        }
    }

    #[test]
    fn unicode_positions_are_in_characters() {
        let e = err("ünïcødé (x");
        assert_eq!(e.position, 8);
        let e = err("日本語 key:");
        assert_eq!((e.position, e.len), (8, 0));
        assert_eq!(ok("é:"), t("é:"));
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}a{}", "(".repeat(MAX_NESTING_DEPTH), ")".repeat(MAX_NESTING_DEPTH));
        assert_eq!(ok(&deep), t("a"));
        let too_deep = format!(
            "{}a{}",
            "(".repeat(MAX_NESTING_DEPTH + 1),
            ")".repeat(MAX_NESTING_DEPTH + 1)
        );
        let e = err(&too_deep);
        assert_eq!(e.position, MAX_NESTING_DEPTH);
        assert!(e.message.starts_with("query nests more than 100 levels deep"), "{e}");
        err(&"(".repeat(100_000));
        err(&format!("{}a", "!".repeat(100_000)));
        err(&format!("{}a", "-!".repeat(50_000)));
        err(&format!("{}a", "NOT ".repeat(100_000)));
    }

    #[test]
    fn long_query_parses() {
        let query: Vec<String> = (0..200)
            .map(|i| match i % 4 {
                0 => format!("term{i}"),
                1 => format!("tag{i}:value{i}*"),
                2 => format!("OR @attr{i}:>={i}ms"),
                _ => format!("-\"phrase {i}\""),
            })
            .collect();
        let query = query.join(" ");
        let parsed = ok(&query);
        assert_eq!(parsed.terms().count(), 200);
    }
}
