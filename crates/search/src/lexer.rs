//! Splits query text into tokens.
//!
//! Leaf terms are lexed whole: a free-text word, a quoted phrase, `*`, and every `key:value` form (including
//! comparisons and ranges, whose inner whitespace belongs to the term) come out as one [`TokenKind::Term`]. The
//! parser only sees parentheses, the `AND`/`OR`/`NOT` keywords, the `!`/`-` prefixes and terms. All positions are
//! character offsets.

use crate::ast::{Bound, CmpOp, DurationUnit, Number, Pattern, Query, Text, is_key_char, is_word_end};
use crate::error::ParseError;

/// What a token is.
#[derive(Debug)]
pub(crate) enum TokenKind {
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// The `AND` keyword.
    And,
    /// The `OR` keyword.
    Or,
    /// The `NOT` keyword.
    Not,
    /// A `!` or `-` negation prefix at the start of a term.
    Negate,
    /// A complete leaf term.
    Term(Query),
    /// `key:(`, opening a group of values of one key (`service:(a OR b)`), which the parser
    /// reads up to its `)`; `open` is the offset of the `(`.
    Group {
        /// The key every value of the group is a filter of.
        key: String,
        /// Character offset of the `(`.
        open: usize,
    },
}

/// A token and the characters it spans (`start..end`).
#[derive(Debug)]
pub(crate) struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// Character offset of the first character.
    pub start: usize,
    /// Character offset just past the last character.
    pub end: usize,
}

/// How many characters of offending input an error message quotes.
const SNIPPET_CHARS: usize = 30;

/// An on-demand tokenizer over the query's characters.
pub(crate) struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    /// Prepares to tokenize `input`.
    pub fn new(input: &str) -> Self {
        Self {
            chars: input.chars().collect(),
            pos: 0,
        }
    }

    /// Number of characters in the input.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// The input characters `start..end`, shortened for use in a message.
    pub fn snippet(&self, start: usize, end: usize) -> String {
        let end = end.min(self.chars.len());
        let start = start.min(end);
        if end - start > SNIPPET_CHARS {
            let mut s: String = self.chars[start..start + SNIPPET_CHARS].iter().collect();
            s.push('…');
            s
        } else {
            self.chars[start..end].iter().collect()
        }
    }

    /// Describes what is at `pos` for a "found ..." message: the run of characters up to `stop` (at least one),
    /// `whitespace`, or `end of query`. Returns the description and the number of characters it covers.
    fn found_at(&self, pos: usize, stop: impl Fn(char) -> bool) -> (String, usize) {
        match self.chars.get(pos) {
            None => ("end of query".to_owned(), 0),
            Some(c) if c.is_whitespace() => ("whitespace".to_owned(), 1),
            Some(&c) => {
                let end = if stop(c) {
                    pos + 1
                } else {
                    self.scan_from(pos + 1, |c| !stop(c))
                };
                (format!("`{}`", self.snippet(pos, end)), end - pos)
            }
        }
    }

    /// The first offset at or after `from` whose character does not satisfy `keep` (or the input length).
    fn scan_from(&self, from: usize, keep: impl Fn(char) -> bool) -> usize {
        let mut end = from;
        while end < self.chars.len() && keep(self.chars[end]) {
            end += 1;
        }
        end
    }

    fn skip_whitespace(&mut self) {
        self.pos = self.scan_from(self.pos, char::is_whitespace);
    }

    /// The next token, or `None` at the end of the input.
    pub fn next_token(&mut self) -> Result<Option<Token>, ParseError> {
        self.skip_whitespace();
        let start = self.pos;
        let Some(&c) = self.chars.get(start) else {
            return Ok(None);
        };
        let kind = match c {
            '(' => {
                self.pos += 1;
                TokenKind::LParen
            }
            ')' => {
                self.pos += 1;
                TokenKind::RParen
            }
            // `--flag` is a command-line flag to search for, not a double negation.
            '-' if self.chars.get(start + 1) == Some(&'-') => self.word()?,
            '!' | '-' => {
                self.pos += 1;
                TokenKind::Negate
            }
            '"' => TokenKind::Term(Query::Text(Text::phrase(self.quoted()?))),
            _ => self.word()?,
        };
        Ok(Some(Token {
            kind,
            start,
            end: self.pos,
        }))
    }

    /// Reads a quoted string starting at the opening `"`; `\"` and `\\` are escapes, any other backslash is kept.
    fn quoted(&mut self) -> Result<String, ParseError> {
        let open = self.pos;
        let mut value = String::new();
        let mut i = open + 1;
        loop {
            match self.chars.get(i) {
                None => return Err(ParseError::new(format!("unclosed quote at character {open}"), open, 1)),
                Some('"') => {
                    self.pos = i + 1;
                    return Ok(value);
                }
                Some('\\') if matches!(self.chars.get(i + 1), Some('"' | '\\')) => {
                    value.push(self.chars[i + 1]);
                    i += 2;
                }
                Some(&c) => {
                    value.push(c);
                    i += 1;
                }
            }
        }
    }

    /// Reads a bare word: a keyword, `*`, a free-text term, or a `key:value` term.
    fn word(&mut self) -> Result<TokenKind, ParseError> {
        let start = self.pos;
        let key_end = self.scan_from(start, is_key_char);
        if key_end > start && self.chars.get(key_end) == Some(&':') {
            let key: String = self.chars[start..key_end].iter().collect();
            self.pos = key_end + 1;
            return self.value(key);
        }
        let end = self.scan_from(start, |c| !is_word_end(c));
        let word: String = self.chars[start..end].iter().collect();
        self.pos = end;
        Ok(match word.as_str() {
            "AND" => TokenKind::And,
            "OR" => TokenKind::Or,
            "NOT" => TokenKind::Not,
            "*" => TokenKind::Term(Query::All),
            _ => TokenKind::Term(Query::Text(Text {
                value: word,
                phrase: false,
            })),
        })
    }

    /// Reads what follows `key:`.
    fn value(&mut self, key: String) -> Result<TokenKind, ParseError> {
        let at = self.pos;
        match self.chars.get(at) {
            Some('(') => {
                self.pos = at + 1;
                return Ok(TokenKind::Group { key, open: at });
            }
            None | Some(')') => return Err(self.missing_value(&key, at)),
            Some(c) if c.is_whitespace() => return Err(self.missing_value(&key, at)),
            Some('"') => {
                let value = Pattern::Exact(self.quoted()?);
                return Ok(TokenKind::Term(Query::Tag { key, value }));
            }
            Some(&c @ ('>' | '<')) => {
                let or_equal = self.chars.get(at + 1) == Some(&'=');
                let op = match (c, or_equal) {
                    ('>', false) => CmpOp::Gt,
                    ('>', true) => CmpOp::Ge,
                    ('<', false) => CmpOp::Lt,
                    _ => CmpOp::Le,
                };
                self.pos = at + 1 + usize::from(or_equal);
                let expected = format!("expected a number after `{key}:{op}` at character {}", self.pos);
                let value = self.number(&expected, is_word_end)?;
                return Ok(TokenKind::Term(Query::Compare { key, op, value }));
            }
            Some('[' | '{') => return self.range(key),
            Some(_) => {}
        }
        let end = self.scan_from(at, |c| !is_word_end(c));
        let value: String = self.chars[at..end].iter().collect();
        self.pos = end;
        let value = if value.contains('*') {
            Pattern::Wildcard(value)
        } else {
            Pattern::Exact(value)
        };
        Ok(TokenKind::Term(Query::Tag { key, value }))
    }

    fn missing_value(&self, key: &str, at: usize) -> ParseError {
        let (found, len) = self.found_at(at, is_word_end);
        ParseError::new(
            format!("expected a value after `{key}:` at character {at}, found {found}"),
            at,
            len,
        )
    }

    /// Reads a number (with optional duration unit) ending where `stop` says; `expected` starts the error message
    /// ("expected ... at character N").
    fn number(&mut self, expected: &str, stop: impl Fn(char) -> bool + Copy) -> Result<Number, ParseError> {
        let at = self.pos;
        let end = self.scan_from(at, |c| !stop(c));
        let word: String = self.chars[at..end].iter().collect();
        match parse_number(&word) {
            Ok(number) => {
                self.pos = end;
                Ok(number)
            }
            Err(problem) => {
                let (found, len) = self.found_at(at, stop);
                let message = match problem {
                    NumberProblem::NotANumber => format!("{expected}, found {found}"),
                    NumberProblem::UnknownUnit => {
                        format!("{expected}, found {found} (duration units are ns, us, µs, ms, s, m, h, d)")
                    }
                    NumberProblem::OutOfRange => format!("number {found} at character {at} is out of range"),
                };
                Err(ParseError::new(message, at, len))
            }
        }
    }

    /// Reads `[low TO high]` (either bracket may be `{`/`}` for an exclusive bound) starting at the opening bracket.
    fn range(&mut self, key: String) -> Result<TokenKind, ParseError> {
        let open = self.pos;
        let low_exclusive = self.chars[open] == '{';
        let stop = |c: char| c.is_whitespace() || matches!(c, ']' | '}');
        self.pos += 1;
        self.skip_whitespace();
        let low = self.bound("lower", open, stop)?;
        self.skip_whitespace();
        let to = self.pos;
        let to_end = self.scan_from(to, |c| !stop(c));
        if self.chars[to..to_end] != ['T', 'O'] {
            let (found, len) = self.found_at(to, stop);
            return Err(ParseError::new(
                format!("expected `TO` in the range opened at character {open}, at character {to}, found {found}"),
                to,
                len,
            ));
        }
        self.pos = to_end;
        self.skip_whitespace();
        let high = self.bound("upper", open, stop)?;
        self.skip_whitespace();
        let close = self.pos;
        let high_exclusive = match self.chars.get(close) {
            Some(']') => false,
            Some('}') => true,
            _ => {
                let (found, len) = self.found_at(close, stop);
                return Err(ParseError::new(
                    format!(
                        "expected `]` or `}}` at character {close} to close the range opened at character {open}, \
                         found {found}"
                    ),
                    close,
                    len,
                ));
            }
        };
        self.pos = close + 1;
        let bound = |number: Option<Number>, exclusive: bool| match number {
            None => Bound::Unbounded,
            Some(n) if exclusive => Bound::Exclusive(n),
            Some(n) => Bound::Inclusive(n),
        };
        Ok(TokenKind::Term(Query::Range {
            key,
            low: bound(low, low_exclusive),
            high: bound(high, high_exclusive),
        }))
    }

    /// Reads the `side` ("lower"/"upper") bound of the range opened at `open`: `*` (open) or a number.
    fn bound(
        &mut self,
        side: &str,
        open: usize,
        stop: impl Fn(char) -> bool + Copy,
    ) -> Result<Option<Number>, ParseError> {
        if self.chars.get(self.pos) == Some(&'*') && self.chars.get(self.pos + 1).is_none_or(|&c| stop(c)) {
            self.pos += 1;
            return Ok(None);
        }
        let expected = format!(
            "expected a number or `*` at character {} as the {side} bound of the range opened at character {open}",
            self.pos
        );
        self.number(&expected, stop).map(Some)
    }
}

/// Why a word is not a number.
#[derive(Debug, PartialEq)]
pub(crate) enum NumberProblem {
    /// Not of the form `-?digits[.digits]`.
    NotANumber,
    /// A number followed by something other than a duration unit.
    UnknownUnit,
    /// Too large to be represented as a finite `f64`.
    OutOfRange,
}

/// Parses `-?[0-9]*\.?[0-9]*` (at least one digit) optionally followed by a duration unit.
pub(crate) fn parse_number(word: &str) -> Result<Number, NumberProblem> {
    let unsigned = word.strip_prefix('-').unwrap_or(word);
    let sign_len = word.len() - unsigned.len();
    let int_digits = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    let mut numeric_len = int_digits;
    let mut digits = int_digits;
    if unsigned[int_digits..].starts_with('.') {
        let frac_digits = unsigned[int_digits + 1..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        numeric_len += 1 + frac_digits;
        digits += frac_digits;
    }
    if digits == 0 {
        return Err(NumberProblem::NotANumber);
    }
    let (numeric, suffix) = word.split_at(sign_len + numeric_len);
    let unit = match suffix {
        "" => None,
        _ => Some(DurationUnit::from_suffix(suffix).ok_or(NumberProblem::UnknownUnit)?),
    };
    let value: f64 = numeric.parse().map_err(|_| NumberProblem::NotANumber)?;
    if !value.is_finite() {
        return Err(NumberProblem::OutOfRange);
    }
    Ok(Number { value, unit })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<String> {
        let mut lexer = Lexer::new(input);
        let mut out = Vec::new();
        while let Some(token) = lexer.next_token().unwrap() {
            out.push(format!("{:?}@{}..{}", token.kind, token.start, token.end));
        }
        out
    }

    #[test]
    fn splits_terms_and_operators() {
        let tokens = kinds("(a -b) OR !c");
        assert_eq!(tokens.len(), 8, "{tokens:?}");
        assert!(tokens[0].starts_with("LParen@0..1"));
        assert!(tokens[2].starts_with("Negate@3..4"));
        assert!(tokens[4].starts_with("RParen@5..6"));
        assert!(tokens[5].starts_with("Or@7..9"));
        assert!(tokens[6].starts_with("Negate@10..11"));
    }

    #[test]
    fn range_is_one_token() {
        let tokens = kinds("@x:[ 1 TO * } y");
        assert_eq!(tokens.len(), 2, "{tokens:?}");
        assert!(tokens[0].ends_with("@0..13"), "{tokens:?}");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("42"), Ok(Number::plain(42.0)));
        assert_eq!(parse_number("-1.5"), Ok(Number::plain(-1.5)));
        assert_eq!(parse_number(".5"), Ok(Number::plain(0.5)));
        assert_eq!(
            parse_number("100ms"),
            Ok(Number::duration(100.0, DurationUnit::Milliseconds))
        );
        assert_eq!(
            parse_number("3µs"),
            Ok(Number::duration(3.0, DurationUnit::Microseconds))
        );
        assert_eq!(parse_number("2d"), Ok(Number::duration(2.0, DurationUnit::Days)));
        assert_eq!(parse_number("10kb"), Err(NumberProblem::UnknownUnit));
        assert_eq!(parse_number("abc"), Err(NumberProblem::NotANumber));
        assert_eq!(parse_number("-"), Err(NumberProblem::NotANumber));
        assert_eq!(parse_number("."), Err(NumberProblem::NotANumber));
        assert_eq!(parse_number("1.2.3"), Err(NumberProblem::UnknownUnit));
        assert_eq!(parse_number("1e5"), Err(NumberProblem::UnknownUnit));
        assert_eq!(parse_number(&"9".repeat(400)), Err(NumberProblem::OutOfRange));
    }
}
