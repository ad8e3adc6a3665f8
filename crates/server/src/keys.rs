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

/// Makes sure the store holds the key to use: `env_key` (`DD_API_KEY`) when given,
/// else the first stored key, else a newly generated one.
pub fn ensure_api_key(store: &dyn Store, env_key: Option<&str>) -> Result<ServerKey, StoreError> {
    let now = now_ms();
    if let Some(key) = env_key.map(str::trim).filter(|k| !k.is_empty()) {
        store.add_api_key(&ApiKey {
            key: key.to_string(),
            name: "DD_API_KEY".into(),
            created_at_ms: now,
        })?;
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
        created_at_ms: now,
    })?;
    Ok(ServerKey {
        key,
        origin: KeyOrigin::GeneratedNow,
    })
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
    fn a_key_is_generated_once_then_reused_and_dd_api_key_is_added() {
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
        let env = ensure_api_key(&store, Some("fromenv")).unwrap();
        assert_eq!((env.key.as_str(), env.origin), ("fromenv", KeyOrigin::Environment));
        assert_eq!(store.api_keys().unwrap().len(), 2);
    }
}
