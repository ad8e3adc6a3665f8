//! What both the API and the CLI (`dogwatch user`, `dogwatch app-key`, `dogwatch api-key`) do
//! to users and keys: the server's first API key and first admin, new users, new keys.
//! Blocking calls on the store.

use dogwatch_store::auth::{ApiKey, AppKey, NewUser, Role, User};
use dogwatch_store::{Store, StoreError};

use super::secrets::{generate_app_key, generate_key, hash_password, key_hash, last4, random_hex};
use crate::now_ms;

/// The name of the admin the first start creates.
pub const FIRST_ADMIN: &str = "admin";

/// Where the key the server announces came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `DD_API_KEY` was set: it is accepted while set, and never stored.
    Environment,
    /// Generated now, on the first start with this data directory, and stored hashed.
    GeneratedNow,
    /// Keys were stored before; only their last four characters are known.
    Stored,
}

/// The API key the server announces at start.
#[derive(Debug, Clone)]
pub struct ServerKey {
    /// The key itself, when known: from `DD_API_KEY`, or generated now.
    pub key: Option<String>,
    /// Its last four characters.
    pub last4: String,
    /// Where it came from.
    pub origin: KeyOrigin,
}

/// A key id in Datadog's UUID shape.
pub fn new_id() -> String {
    let h = random_hex(16);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// Stores a new API key named `name`; returns the key (shown once) and its record.
pub fn create_api_key(store: &dyn Store, name: &str) -> Result<(String, ApiKey), StoreError> {
    let key = generate_key();
    let record = ApiKey {
        id: new_id(),
        name: name.to_string(),
        hash: key_hash(&key),
        last4: last4(&key),
        created_at_ms: now_ms(),
    };
    store.add_api_key(&record)?;
    Ok((key, record))
}

/// The key agents should use: `env_key` (`DD_API_KEY`) when given, else the stored keys, else
/// a newly generated one, which is stored.
pub fn ensure_api_key(store: &dyn Store, env_key: Option<&str>) -> Result<ServerKey, StoreError> {
    if let Some(key) = env_key.map(str::trim).filter(|k| !k.is_empty()) {
        return Ok(ServerKey {
            key: Some(key.to_string()),
            last4: last4(key),
            origin: KeyOrigin::Environment,
        });
    }
    if let Some(existing) = store.api_keys()?.into_iter().next() {
        return Ok(ServerKey {
            key: None,
            last4: existing.last4,
            origin: KeyOrigin::Stored,
        });
    }
    let (key, record) = create_api_key(store, "generated")?;
    Ok(ServerKey {
        key: Some(key),
        last4: record.last4,
        origin: KeyOrigin::GeneratedNow,
    })
}

/// Creates the first admin (named [`FIRST_ADMIN`], no password yet) when there is no user;
/// returns the first admin when it still has no password, so a sign-in link can be printed.
pub fn ensure_first_admin(store: &dyn Store) -> Result<Option<User>, StoreError> {
    let users = store.users()?;
    if users.is_empty() {
        let admin = store.create_user(
            &NewUser {
                name: FIRST_ADMIN.into(),
                role: Role::Admin,
                password_hash: String::new(),
            },
            now_ms(),
        )?;
        return Ok(Some(admin));
    }
    if users.iter().any(|u| !u.password_hash.is_empty()) {
        return Ok(None);
    }
    Ok(users.into_iter().find(|u| u.role == Role::Admin && !u.disabled))
}

/// Creates a user with `password` (hashed with argon2id; empty: none, sign-in only by link).
pub fn create_user(store: &dyn Store, name: &str, role: Role, password: &str) -> Result<User, StoreError> {
    let password_hash = if password.is_empty() {
        String::new()
    } else {
        hash_password(password)
    };
    store.create_user(
        &NewUser {
            name: name.to_string(),
            role,
            password_hash,
        },
        now_ms(),
    )
}

/// Stores a new application key for `user_id`; returns the key (shown once) and its record.
pub fn create_app_key(store: &dyn Store, user_id: i64, name: &str) -> Result<(String, AppKey), StoreError> {
    let key = generate_app_key();
    let record = AppKey {
        id: new_id(),
        name: name.to_string(),
        hash: key_hash(&key),
        last4: last4(&key),
        user_id,
        created_at_ms: now_ms(),
    };
    store.add_app_key(&record)?;
    Ok((key, record))
}

/// The first enabled admin (the user `dogwatch app-key create` acts for by default).
pub fn first_admin(store: &dyn Store) -> Result<Option<User>, StoreError> {
    Ok(store
        .users()?
        .into_iter()
        .find(|u| u.role == Role::Admin && !u.disabled))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dogwatch_store::SqliteStore;

    #[test]
    fn a_key_is_generated_once_and_dd_api_key_is_announced_while_set() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        let first = ensure_api_key(&store, None).unwrap();
        assert_eq!(first.origin, KeyOrigin::GeneratedNow);
        let key = first.key.clone().unwrap();
        assert_eq!(key.len(), 32);
        let again = ensure_api_key(&store, None).unwrap();
        assert_eq!(
            (again.key, again.origin, again.last4.as_str()),
            (None, KeyOrigin::Stored, &key[28..])
        );
        let env = ensure_api_key(&store, Some(" fromenv ")).unwrap();
        assert_eq!(
            (env.key.as_deref(), env.origin),
            (Some("fromenv"), KeyOrigin::Environment)
        );
        assert_eq!(store.api_keys().unwrap().len(), 1, "DD_API_KEY is not stored");
        assert_ne!(store.api_keys().unwrap()[0].hash, key, "only the hash is stored");
    }

    #[test]
    fn the_first_admin_is_created_once_and_announced_until_it_has_a_password() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        let admin = ensure_first_admin(&store).unwrap().unwrap();
        assert_eq!((admin.name.as_str(), admin.role), (FIRST_ADMIN, Role::Admin));
        assert_eq!(ensure_first_admin(&store).unwrap().unwrap().id, admin.id);
        create_user(&store, "ann", Role::ReadOnly, "pw").unwrap();
        assert!(ensure_first_admin(&store).unwrap().is_none());
        assert_eq!(store.users().unwrap().len(), 2);
    }
}
