//! Access control, as Datadog's: API keys send data; application keys (which belong to a user
//! and carry the user's role) read and change things through the public API; users sign in
//! to the web UI with a password and get a session. Roles are Datadog's managed ones: Read
//! Only reads everything, Standard also changes saved views (later monitors and dashboards),
//! Admin also manages users and keys.
//!
//! [`AuthState`] answers every request from memory: an index of key hashes and users, loaded
//! from the store at start and refreshed every few seconds and after every change, and the
//! live sessions. Checking a key or a session is one SHA-256 and one hash-map lookup; argon2
//! runs only at sign-in.

pub mod admin;
pub mod api;
pub mod limiter;
pub mod secrets;
pub mod sessions;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use dogwatch_store::{Role, Store, StoreError, User};

pub use admin::{KeyOrigin, ServerKey};
use secrets::key_hash;

/// How often the index is reloaded from the store, so that keys and users changed by the CLI
/// (`dogwatch user`, `dogwatch app-key`) take effect on a running server.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// The least time between two reloads caused by unknown keys, so that a flood of bad keys
/// costs at most one store read a second.
pub const MISS_RELOAD_AFTER: Duration = Duration::from_secs(1);

/// Who a request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user's id.
    pub user_id: i64,
    /// The user's name.
    pub user_name: String,
    /// The user's role.
    pub role: Role,
    /// How the request proved it: a session (with its CSRF token) or an application key.
    pub via: Via,
}

/// How a request authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A web session, whose state-changing calls must carry this CSRF token.
    Session {
        /// The session's CSRF token.
        csrf: String,
    },
    /// `DD-API-KEY` plus `DD-APPLICATION-KEY`.
    AppKey,
}

#[derive(Debug, Clone)]
struct UserEntry {
    name: String,
    role: Role,
    disabled: bool,
}

#[derive(Debug, Default)]
struct Index {
    /// API key hash → key id.
    api: HashMap<String, String>,
    /// Application key hash → user id.
    app: HashMap<String, i64>,
    users: HashMap<i64, UserEntry>,
}

/// Keys, users and sessions, for the HTTP layer to ask once per request.
pub struct AuthState {
    store: Arc<dyn Store>,
    index: RwLock<Index>,
    /// When the index was last loaded.
    loaded_at: std::sync::Mutex<Instant>,
    /// Held for a whole reload, so that reloads never interleave: without it, the periodic
    /// reload could read the store before a key route's insert and replace the index after that
    /// route's own reload, and the new key would be refused until the next one.
    reloading: std::sync::Mutex<()>,
    /// Hashes of keys valid while this process runs and never stored: `DD_API_KEY`, and the
    /// key `dogwatch up` gives its own agent.
    extra_api: RwLock<HashSet<String>>,
    /// Live web sessions.
    pub sessions: sessions::Sessions,
    /// Sign-in attempts.
    pub limiter: limiter::LoginLimiter,
    /// One-time sign-in tokens (hash → user id, expiry).
    sign_in_links: RwLock<HashMap<String, (i64, Instant)>>,
}

impl AuthState {
    /// Loads the index from `store`; sessions end after `session_idle`.
    pub fn load(store: Arc<dyn Store>, session_idle: Duration) -> Result<AuthState, StoreError> {
        let state = AuthState {
            store,
            index: RwLock::new(Index::default()),
            loaded_at: std::sync::Mutex::new(Instant::now()),
            reloading: std::sync::Mutex::new(()),
            extra_api: RwLock::new(HashSet::new()),
            sessions: sessions::Sessions::new(session_idle),
            limiter: limiter::LoginLimiter::default(),
            sign_in_links: RwLock::new(HashMap::new()),
        };
        state.reload()?;
        Ok(state)
    }

    /// The store the index comes from.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Rebuilds the index from the store (a blocking call).
    pub fn reload(&self) -> Result<(), StoreError> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut index = Index::default();
        for key in self.store.api_keys()? {
            index.api.insert(key.hash, key.id);
        }
        for key in self.store.app_keys()? {
            index.app.insert(key.hash, key.user_id);
        }
        for user in self.store.users()? {
            index.users.insert(
                user.id,
                UserEntry {
                    name: user.name,
                    role: user.role,
                    disabled: user.disabled,
                },
            );
        }
        *self.index.write().expect("auth index lock") = index;
        *self.loaded_at.lock().expect("auth reload lock") = Instant::now();
        Ok(())
    }

    /// Whether the index is older than [`MISS_RELOAD_AFTER`]: a key the index does not know may
    /// have just been made by the CLI, so the guard reloads before refusing it.
    pub fn stale_for_a_miss(&self) -> bool {
        self.loaded_at.lock().expect("auth reload lock").elapsed() >= MISS_RELOAD_AFTER
    }

    /// Accepts `key` as an API key while this process runs, without storing it.
    pub fn accept_api_key(&self, key: &str) {
        if !key.trim().is_empty() {
            self.extra_api
                .write()
                .expect("auth keys lock")
                .insert(key_hash(key.trim()));
        }
    }

    /// Whether `key` may send data.
    pub fn is_valid_api_key(&self, key: &str) -> bool {
        if key.is_empty() || key.len() > 256 {
            return false;
        }
        let hash = key_hash(key);
        self.index.read().expect("auth index lock").api.contains_key(&hash)
            || self.extra_api.read().expect("auth keys lock").contains(&hash)
    }

    /// The principal of an application key, when it is known and its user enabled.
    pub fn app_key_principal(&self, app_key: &str) -> Option<Principal> {
        if app_key.is_empty() || app_key.len() > 256 {
            return None;
        }
        let index = self.index.read().expect("auth index lock");
        let user_id = *index.app.get(&key_hash(app_key))?;
        self.principal_in(&index, user_id, Via::AppKey)
    }

    /// The principal of a session token, renewing the session, when it is live and its user
    /// enabled.
    pub fn session_principal(&self, token: &str, now: Instant) -> Option<Principal> {
        let session = self.sessions.touch(token, now)?;
        let index = self.index.read().expect("auth index lock");
        self.principal_in(&index, session.user_id, Via::Session { csrf: session.csrf })
    }

    /// The principal of `user_id` through `via`, if enabled.
    pub fn principal_of(&self, user_id: i64, via: Via) -> Option<Principal> {
        let index = self.index.read().expect("auth index lock");
        self.principal_in(&index, user_id, via)
    }

    fn principal_in(&self, index: &Index, user_id: i64, via: Via) -> Option<Principal> {
        let user = index.users.get(&user_id).filter(|u| !u.disabled)?;
        Some(Principal {
            user_id,
            user_name: user.name.clone(),
            role: user.role,
            via,
        })
    }

    /// A one-time sign-in token for `user_id`, valid for a day.
    pub fn sign_in_link(&self, user_id: i64) -> String {
        let token = secrets::random_hex(24);
        self.sign_in_links.write().expect("sign-in links lock").insert(
            key_hash(&token),
            (user_id, Instant::now() + Duration::from_secs(24 * 3600)),
        );
        token
    }

    /// Uses up a one-time sign-in token; its user, when it was valid.
    pub fn redeem_sign_in_link(&self, token: &str, now: Instant) -> Option<i64> {
        let (user_id, expires) = self
            .sign_in_links
            .write()
            .expect("sign-in links lock")
            .remove(&key_hash(token))?;
        (now < expires).then_some(user_id)
    }

    /// The stored user called `name` (ignoring ASCII case), for sign-in (a blocking call).
    pub fn find_user(&self, name: &str) -> Result<Option<User>, StoreError> {
        Ok(self
            .store
            .users()?
            .into_iter()
            .find(|u| u.name.eq_ignore_ascii_case(name)))
    }
}

/// Reloads `auth`'s index every [`RELOAD_INTERVAL`] until the task is dropped.
pub async fn reload_forever(auth: Arc<AuthState>) {
    let mut ticker = tokio::time::interval(RELOAD_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let auth = auth.clone();
        match tokio::task::spawn_blocking(move || auth.reload()).await {
            Ok(Err(e)) => tracing::warn!(error = %e, "Cannot reload users and keys from the store."),
            Err(e) => tracing::warn!(error = %e, "Reloading users and keys failed."),
            Ok(Ok(())) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dogwatch_store::SqliteStore;

    #[test]
    fn a_key_created_while_the_periodic_reload_runs_is_valid_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
        let auth = Arc::new(AuthState::load(store.clone(), Duration::from_secs(60)).unwrap());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reloader = {
            let (auth, stop) = (auth.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    auth.reload().unwrap();
                }
            })
        };
        for _ in 0..200 {
            // What the key route does: store the key, then reload.
            let (key, _) = admin::create_api_key(store.as_ref(), "agents").unwrap();
            auth.reload().unwrap();
            assert!(auth.is_valid_api_key(&key), "a key the route just made is refused");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        reloader.join().unwrap();
    }
}
