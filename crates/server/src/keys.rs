//! The server's API keys: `DD_API_KEY` when set, otherwise one generated on first start.

use dogwatch_store::{ApiKey, Store, StoreError};

/// Where the key the server announces came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `DD_API_KEY` was set.
    Environment,
    /// Generated now, on the first start with this data directory.
    GeneratedNow,
    /// Generated on an earlier start and read from the store.
    Stored,
}

/// The key agents should use, and where it came from.
#[derive(Debug, Clone)]
pub struct ServerKey {
    /// The key.
    pub key: String,
    /// Its origin.
    pub origin: KeyOrigin,
}

/// The key agents should use: `env_key` (`DD_API_KEY`) when given, else the first stored
/// key, else a newly generated one, which is stored. `DD_API_KEY` itself is never stored:
/// it is valid only while it is set.
pub fn ensure_api_key(store: &dyn Store, env_key: Option<&str>) -> Result<ServerKey, StoreError> {
    if let Some(key) = env_key.map(str::trim).filter(|k| !k.is_empty()) {
        return Ok(ServerKey {
            key: key.to_string(),
            origin: KeyOrigin::Environment,
        });
    }
    if let Some(existing) = store.api_keys()?.into_iter().next() {
        return Ok(ServerKey {
            key: existing.key,
            origin: KeyOrigin::Stored,
        });
    }
    let key = generate_key();
    store.add_api_key(&ApiKey {
        key: key.clone(),
        name: "generated".into(),
        created_at_ms: now_ms(),
    })?;
    Ok(ServerKey {
        key,
        origin: KeyOrigin::GeneratedNow,
    })
}

/// The keys the server accepts: only `DD_API_KEY` while it is set (so rotating it revokes
/// the old one), else every key in the store.
pub fn accepted_keys(store: &dyn Store, server_key: &ServerKey) -> Result<Vec<String>, StoreError> {
    match server_key.origin {
        KeyOrigin::Environment => Ok(vec![server_key.key.clone()]),
        KeyOrigin::GeneratedNow | KeyOrigin::Stored => Ok(store.api_keys()?.into_iter().map(|k| k.key).collect()),
    }
}

/// 32 lower-case hex digits from the OS random source, the shape of a Datadog API key.
pub fn generate_key() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dogwatch_store::SqliteStore;

    #[test]
    fn a_key_is_generated_once_then_reused_and_dd_api_key_replaces_it_while_set() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        let first = ensure_api_key(&store, None).unwrap();
        assert_eq!(first.origin, KeyOrigin::GeneratedNow);
        assert_eq!(first.key.len(), 32);
        let again = ensure_api_key(&store, None).unwrap();
        assert_eq!(
            (again.key.as_str(), again.origin),
            (first.key.as_str(), KeyOrigin::Stored)
        );
        assert_eq!(accepted_keys(&store, &again).unwrap(), vec![first.key.clone()]);

        let env = ensure_api_key(&store, Some(" fromenv ")).unwrap();
        assert_eq!((env.key.as_str(), env.origin), ("fromenv", KeyOrigin::Environment));
        assert_eq!(
            accepted_keys(&store, &env).unwrap(),
            ["fromenv"],
            "the generated key is not accepted while DD_API_KEY is set"
        );
        assert_eq!(store.api_keys().unwrap().len(), 1, "DD_API_KEY is not stored");
    }
}
