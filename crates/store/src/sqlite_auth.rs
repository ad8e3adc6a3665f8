//! Users, API keys and application keys in SQLite.
//!
//! Tables: `users` (name unique ignoring case), `api_keys_hashed` and `app_keys` (keys as
//! SHA-256 hex plus their last four characters). Older stores kept API keys in plain text in
//! `api_keys`; opening such a store moves them into `api_keys_hashed` and drops the old table.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::StoreError;
use crate::auth::{ApiKey, AppKey, NewUser, Role, User, UserChange, key_hash, last4};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL DEFAULT '',
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys_hashed (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    last4 TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS app_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    last4 TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    created_at_ms INTEGER NOT NULL
);
";

/// Moves plain-text keys of an older store into `api_keys_hashed`.
pub fn migrate_plain_api_keys(conn: &Connection) -> rusqlite::Result<()> {
    let old: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'api_keys'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if old.is_none() {
        return Ok(());
    }
    let keys: Vec<(String, String, i64)> = conn
        .prepare("SELECT key, name, created_at_ms FROM api_keys")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    conn.execute_batch("BEGIN")?;
    for (key, name, created) in keys {
        let hash = key_hash(&key);
        conn.execute(
            "INSERT INTO api_keys_hashed (id, name, hash, last4, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT DO NOTHING",
            params![&hash[..32], name, hash, last4(&key), created],
        )?;
    }
    conn.execute_batch("DROP TABLE api_keys; COMMIT")?;
    Ok(())
}

fn role_of(text: &str) -> Role {
    Role::parse(text).unwrap_or(Role::ReadOnly)
}

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        role: role_of(&r.get::<_, String>(2)?),
        password_hash: r.get(3)?,
        disabled: r.get::<_, i64>(4)? != 0,
        created_at_ms: r.get(5)?,
    })
}

const USER_COLUMNS: &str = "id, name, role, password_hash, disabled, created_at_ms";

pub fn users(conn: &Connection) -> Result<Vec<User>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))?;
    Ok(stmt.query_map([], user_from_row)?.collect::<Result<_, _>>()?)
}

fn user(conn: &Connection, id: i64) -> Result<Option<User>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))?;
    Ok(stmt.query_row([id], user_from_row).optional()?)
}

pub fn create_user(conn: &Connection, new: &NewUser, now_ms: i64) -> Result<User, StoreError> {
    let id = conn
        .prepare_cached("INSERT INTO users (name, role, password_hash, created_at_ms) VALUES (?1, ?2, ?3, ?4)")?
        .insert(params![new.name, new.role.as_str(), new.password_hash, now_ms])
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => {
                StoreError::UserExists { name: new.name.clone() }
            }
            e => StoreError::Sqlite(e),
        })?;
    Ok(user(conn, id)?.expect("the user just inserted exists"))
}

pub fn update_user(conn: &Connection, id: i64, change: &UserChange) -> Result<Option<User>, StoreError> {
    if let Some(role) = change.role {
        conn.execute("UPDATE users SET role = ?2 WHERE id = ?1", params![id, role.as_str()])?;
    }
    if let Some(hash) = &change.password_hash {
        conn.execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", params![id, hash])?;
    }
    if let Some(disabled) = change.disabled {
        conn.execute(
            "UPDATE users SET disabled = ?2 WHERE id = ?1",
            params![id, disabled as i64],
        )?;
    }
    user(conn, id)
}

pub fn api_keys(conn: &Connection) -> Result<Vec<ApiKey>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, hash, last4, created_at_ms FROM api_keys_hashed ORDER BY created_at_ms, id",
    )?;
    let keys = stmt
        .query_map([], |r| {
            Ok(ApiKey {
                id: r.get(0)?,
                name: r.get(1)?,
                hash: r.get(2)?,
                last4: r.get(3)?,
                created_at_ms: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(keys)
}

pub fn add_api_key(conn: &Connection, key: &ApiKey) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO api_keys_hashed (id, name, hash, last4, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT DO NOTHING",
        params![key.id, key.name, key.hash, key.last4, key.created_at_ms],
    )?;
    Ok(())
}

pub fn rename_key(conn: &Connection, table: &str, id: &str, name: &str) -> Result<bool, StoreError> {
    Ok(conn.execute(
        &format!("UPDATE {table} SET name = ?2 WHERE id = ?1"),
        params![id, name],
    )? > 0)
}

pub fn delete_key(conn: &Connection, table: &str, id: &str) -> Result<bool, StoreError> {
    Ok(conn.execute(&format!("DELETE FROM {table} WHERE id = ?1"), params![id])? > 0)
}

pub fn app_keys(conn: &Connection) -> Result<Vec<AppKey>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, hash, last4, user_id, created_at_ms FROM app_keys ORDER BY created_at_ms, id",
    )?;
    let keys = stmt
        .query_map([], |r| {
            Ok(AppKey {
                id: r.get(0)?,
                name: r.get(1)?,
                hash: r.get(2)?,
                last4: r.get(3)?,
                user_id: r.get(4)?,
                created_at_ms: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(keys)
}

pub fn add_app_key(conn: &Connection, key: &AppKey) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO app_keys (id, name, hash, last4, user_id, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![key.id, key.name, key.hash, key.last4, key.user_id, key.created_at_ms],
    )?;
    Ok(())
}
