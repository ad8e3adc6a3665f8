//! Query string parameters, decoded once, read by name.

use std::collections::HashMap;

use super::error::ApiError;

/// A request's query string as name → value (the last of repeated names wins).
pub struct Params(HashMap<String, String>);

impl Params {
    /// Decodes a raw query string.
    pub fn parse(raw: Option<String>) -> Result<Params, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("the query string cannot be decoded: {e}")))?;
        Ok(Params(pairs.into_iter().collect()))
    }

    /// The value of `name`, if given.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// `name` as a number (`default` when absent), at most `max`.
    pub fn number<T>(&self, name: &str, default: T, max: Option<T>) -> Result<T, ApiError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(text) = self.text(name).filter(|t| !t.is_empty()) else {
            return Ok(default);
        };
        let value: T = text
            .parse()
            .map_err(|_| ApiError::bad_request(format!("`{name}` must be a whole number, got {text:?}")))?;
        if let Some(max) = max
            && value > max
        {
            return Err(ApiError::bad_request(format!(
                "`{name}` is {value}; the most allowed is {max}"
            )));
        }
        Ok(value)
    }

    /// A comma-separated parameter's non-empty, trimmed items.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.text(name).map(|t| {
            t.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
    }
}
