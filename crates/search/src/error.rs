//! The error returned when a query does not parse.

/// A query that could not be parsed, with the place where parsing stopped.
///
/// `position` and `len` are counted in characters (Unicode scalar values), not bytes, so a UI can underline the
/// offending part of the query directly. `position` is never greater than the number of characters in the query;
/// `len` is zero when the problem is the end of the query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// Human-readable description saying what was expected and what was found, including the character offset.
    pub message: String,
    /// Character offset into the query where the problem starts.
    pub position: usize,
    /// Number of characters the problem spans (0 at the end of the query).
    pub len: usize,
}

impl ParseError {
    /// Builds an error from its parts.
    pub fn new(message: impl Into<String>, position: usize, len: usize) -> Self {
        Self {
            message: message.into(),
            position,
            len,
        }
    }
}
