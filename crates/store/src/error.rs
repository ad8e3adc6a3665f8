//! Errors from the store.

use std::path::PathBuf;

use thiserror::Error;

/// A store operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database file could not be opened or prepared.
    #[error("cannot open the store at {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A read or write failed.
    #[error("store operation failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
}
