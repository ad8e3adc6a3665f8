//! Datadog Live Processes search semantics on top of the shared search language.
//!
//! - A free-text term or phrase matches, ignoring case, anywhere in the command line, the
//!   executable path or the working directory; a `*` in a term matches any run of characters
//!   within one of them. Terms need at least 2 characters besides `*`.
//! - `key:value` matches the process's tags: `host`, `user`, `command`, `service`, `env`,
//!   `version`, `container_id` and the host tags (keys and values ignore case).
//! - `@field:>N`, `@field:[a TO b]` compare a numeric field (`@cpu:>50`,
//!   `@rss:>1000000000`); durations (`100ms`) belong to spans and are an error here.

use dogwatch_search::{Bound, CmpOp, Matcher, ParseError, Pattern, Query, Text, range_contains, wildcard_match};

use super::fields::Field;
use super::index::{FIELD_SEPARATOR, ProcessIndex};
use crate::processes::live::Snapshot;

/// The shortest free-text term the process search accepts.
pub const MIN_TERM_CHARS: usize = 2;

/// A parsed and checked process search.
#[derive(Debug, Clone)]
pub struct ProcessFilter {
    query: Query,
    /// The query text it came from.
    pub text: String,
}

impl ProcessFilter {
    /// Parses `text` in the search language and checks it against the process domain.
    pub fn parse(text: &str) -> Result<ProcessFilter, ParseError> {
        let query = dogwatch_search::parse(text)?;
        for term in query.terms() {
            match term {
                Query::Text(t) => {
                    let chars = t.value.chars().filter(|&c| c != '*').count();
                    if chars < MIN_TERM_CHARS {
                        let position = find_term(text, &t.value);
                        return Err(ParseError {
                            message: format!(
                                "search term {:?} at character {position} is too short: process search terms need at least {MIN_TERM_CHARS} characters",
                                t.value
                            ),
                            position,
                            len: t.value.chars().count().max(1),
                        });
                    }
                }
                Query::Compare { key, .. } | Query::Range { key, .. } => {
                    let name = key.strip_prefix('@').unwrap_or(key);
                    let has_duration = match term {
                        Query::Compare { value, .. } => value.is_duration(),
                        Query::Range { low, high, .. } => {
                            [low, high].iter().any(|b| b.number().is_some_and(|n| n.is_duration()))
                        }
                        _ => false,
                    };
                    if has_duration {
                        let position = find_term(text, key);
                        return Err(ParseError {
                            message: format!(
                                "`{key}` at character {position} is compared with a duration; process fields are plain numbers (CPU in percent, memory in bytes)"
                            ),
                            position,
                            len: key.chars().count(),
                        });
                    }
                    if !Field::from_name(name).is_some_and(Field::is_numeric) {
                        let position = find_term(text, key);
                        return Err(ParseError {
                            message: format!(
                                "`{key}` at character {position} is not a numeric process field; compare one of: {}",
                                Field::names(Field::is_numeric)
                            ),
                            position,
                            len: key.chars().count(),
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(ProcessFilter {
            query,
            text: text.to_owned(),
        })
    }

    /// A filter that matches every process.
    pub fn all() -> ProcessFilter {
        ProcessFilter {
            query: Query::All,
            text: String::new(),
        }
    }

    /// Adds `tag` filters (`key:value`, Datadog's `tags=` parameter) with AND.
    pub fn and_tags<'a>(mut self, tags: impl IntoIterator<Item = &'a str>) -> ProcessFilter {
        let mut parts = vec![self.query];
        for tag in tags {
            let (key, value) = tag.split_once(':').unwrap_or((tag, ""));
            let value = if value.contains('*') {
                Pattern::Wildcard(value.to_owned())
            } else {
                Pattern::Exact(value.to_owned())
            };
            parts.push(Query::Tag {
                key: key.to_owned(),
                value,
            });
        }
        self.query = if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Query::And(parts)
        };
        self
    }

    /// The hosts the query restricts itself to with top-level `host:NAME` filters, if any.
    pub fn named_hosts(&self) -> Option<Vec<String>> {
        let host_of = |q: &Query| match q {
            Query::Tag {
                key,
                value: Pattern::Exact(v),
            } if key.eq_ignore_ascii_case("host") => Some(v.clone()),
            _ => None,
        };
        match &self.query {
            Query::And(children) => {
                let hosts: Vec<String> = children.iter().filter_map(host_of).collect();
                (!hosts.is_empty()).then_some(hosts)
            }
            Query::Or(children) => children.iter().map(host_of).collect(),
            q => host_of(q).map(|h| vec![h]),
        }
    }

    /// The query prepared for one snapshot.
    pub fn prepare<'a>(&'a self, snapshot: &'a Snapshot) -> SnapshotMatcher<'a> {
        let mut texts = Vec::new();
        let mut tags = Vec::new();
        for term in self.query.terms() {
            match term {
                Query::Text(t) => texts.push((t as *const Text, TextNeedle::new(t))),
                Query::Tag { key, value } => {
                    let hits = snapshot
                        .index
                        .dictionary
                        .iter()
                        .map(|e| e.key.eq_ignore_ascii_case(key) && value.matches(&e.value))
                        .collect();
                    tags.push((value as *const Pattern, hits));
                }
                _ => {}
            }
        }
        SnapshotMatcher { snapshot, texts, tags }
    }

    /// Indices of the processes of `snapshot` that match.
    pub fn select(&self, snapshot: &Snapshot) -> Vec<u32> {
        if matches!(self.query, Query::All) {
            return (0..snapshot.processes.len() as u32).collect();
        }
        let matcher = self.prepare(snapshot);
        (0..snapshot.processes.len())
            .filter(|&i| self.query.matches(&matcher, &i))
            .map(|i| i as u32)
            .collect()
    }
}

/// Where `term` first appears in `text` as a whole word (or anywhere), in characters.
fn find_term(text: &str, term: &str) -> usize {
    let boundary = |c: Option<char>| c.is_none_or(|c| c.is_whitespace() || "()\"!-:".contains(c));
    let found = text
        .match_indices(term)
        .find(|(at, _)| boundary(text[..*at].chars().next_back()) && boundary(text[at + term.len()..].chars().next()));
    let byte = found.map(|(at, _)| at).or_else(|| text.find(term)).unwrap_or(0);
    text[..byte].chars().count()
}

/// A free-text term ready to search lower-cased haystacks.
enum TextNeedle {
    Contains(Box<memchr::memmem::Finder<'static>>),
    Wildcard(String),
}

impl TextNeedle {
    fn new(text: &Text) -> TextNeedle {
        let lower = text.value.to_lowercase();
        if text.is_wildcard() {
            TextNeedle::Wildcard(format!("*{lower}*"))
        } else {
            TextNeedle::Contains(Box::new(memchr::memmem::Finder::new(lower.as_bytes()).into_owned()))
        }
    }

    fn matches(&self, haystack: &str) -> bool {
        match self {
            TextNeedle::Contains(finder) => finder.find(haystack.as_bytes()).is_some(),
            TextNeedle::Wildcard(pattern) => haystack
                .split(FIELD_SEPARATOR)
                .any(|part| wildcard_match(pattern, part, false)),
        }
    }
}

/// A query's leaves resolved against one snapshot: text needles, and for each tag filter
/// which of the snapshot's tag ids it accepts.
pub struct SnapshotMatcher<'a> {
    snapshot: &'a Snapshot,
    texts: Vec<(*const Text, TextNeedle)>,
    tags: Vec<(*const Pattern, Vec<bool>)>,
}

impl SnapshotMatcher<'_> {
    fn index(&self) -> &ProcessIndex {
        &self.snapshot.index
    }

    fn number(&self, i: usize, key: &str) -> Option<f64> {
        let field = Field::from_name(key.strip_prefix('@').unwrap_or(key))?;
        field.number(&self.snapshot.processes[i])
    }
}

impl Matcher for SnapshotMatcher<'_> {
    type Item = usize;

    fn text(&self, &i: &usize, text: &Text) -> bool {
        let haystack = self.index().haystack(i);
        match self.texts.iter().find(|(leaf, _)| std::ptr::eq(*leaf, text)) {
            Some((_, needle)) => needle.matches(haystack),
            None => TextNeedle::new(text).matches(haystack),
        }
    }

    fn tag(&self, &i: &usize, _key: &str, value: &Pattern) -> bool {
        let Some((_, hits)) = self.tags.iter().find(|(leaf, _)| std::ptr::eq(*leaf, value)) else {
            return false;
        };
        self.index().tags(i).iter().any(|&id| hits[id as usize])
    }

    fn compare(&self, &i: &usize, key: &str, op: CmpOp, value: f64) -> bool {
        self.number(i, key).is_some_and(|n| op.holds(n, value))
    }

    fn range(&self, &i: &usize, key: &str, low: &Bound, high: &Bound) -> bool {
        self.number(i, key).is_some_and(|n| range_contains(low, high, n))
    }
}
