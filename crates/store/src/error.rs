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
    /// A saved view would take a name that another view of the same page already has
    /// (names are compared ignoring ASCII case).
    #[error("a saved view named {name:?} already exists on page {page:?}")]
    NameTaken {
        /// The page.
        page: String,
        /// The name asked for.
        name: String,
    },
    /// A user would take a name another user has (names are compared ignoring ASCII case).
    #[error("a user named {name:?} already exists")]
    UserExists {
        /// The name asked for.
        name: String,
    },
    /// A read or write failed.
    #[error("store operation failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
}
