//! What access control keeps: users with a role, API keys (which send data) and application
//! keys (which belong to a user and read or change things). Keys are kept only as their
//! SHA-256 ([`key_hash`]) and last four characters, so a copy of the store reveals none.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Datadog's managed roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything.
    ReadOnly,
    /// Reads everything and changes saved views (later monitors and dashboards).
    Standard,
    /// Also manages users and keys.
    Admin,
}

impl Role {
    /// The name stored and shown: `admin`, `standard` or `read_only`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Standard => "standard",
            Role::ReadOnly => "read_only",
        }
    }

    /// Datadog's name for the role, e.g. `Datadog Admin Role`.
    pub fn datadog_name(self) -> &'static str {
        match self {
            Role::Admin => "Datadog Admin Role",
            Role::Standard => "Datadog Standard Role",
            Role::ReadOnly => "Datadog Read Only Role",
        }
    }

    /// Reads `admin`, `standard`, `read_only` (or `read-only`, `readonly`), any case.
    pub fn parse(text: &str) -> Option<Role> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "admin" => Some(Role::Admin),
            "standard" => Some(Role::Standard),
            "read_only" | "readonly" => Some(Role::ReadOnly),
            _ => None,
        }
    }
}

/// A user who signs in to the web UI and owns application keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Its id.
    pub id: i64,
    /// Its unique name (compared ignoring ASCII case).
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Its password as an argon2id PHC string; empty when it has none (cannot sign in).
    #[serde(skip)]
    pub password_hash: String,
    /// A disabled user can neither sign in nor use its keys.
    pub disabled: bool,
    /// When it was created, in Unix milliseconds.
    pub created_at_ms: i64,
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Its password hash (argon2id PHC string), or empty.
    pub password_hash: String,
}

/// A change to a user; `None` keeps what is there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    /// A new role.
    pub role: Option<Role>,
    /// A new password hash.
    pub password_hash: Option<String>,
    /// Disable or enable.
    pub disabled: Option<bool>,
}

/// An API key: it sends data (intake) and, with an application key, calls the public API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    /// Its id (Datadog's API shows keys by id).
    pub id: String,
    /// Its name, e.g. `generated` or `production agents`.
    pub name: String,
    /// SHA-256 of the key, hex.
    #[serde(skip)]
    pub hash: String,
    /// The key's last four characters, to tell keys apart.
    pub last4: String,
    /// When it was created, in Unix milliseconds.
    pub created_at_ms: i64,
}

/// An application key: it belongs to a user and acts with that user's role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppKey {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// SHA-256 of the key, hex.
    #[serde(skip)]
    pub hash: String,
    /// The key's last four characters.
    pub last4: String,
    /// The user it belongs to.
    pub user_id: i64,
    /// When it was created, in Unix milliseconds.
    pub created_at_ms: i64,
}

/// SHA-256 of a key or token, as lower-case hex: what the store keeps instead of the key.
pub fn key_hash(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The last four characters of a key (all of it when shorter).
pub fn last4(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}
