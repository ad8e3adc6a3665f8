//! A real server for the HTTP tests: a store in a temporary directory, bound to a free
//! loopback port, stopped when the handle drops.

// Each test file uses part of this.
#![allow(dead_code)]

use std::sync::Arc;

use dogwatch_server::{Server, ServerSettings};
use dogwatch_store::SqliteStore;

/// The API key the test server accepts.
pub const KEY: &str = "0123456789abcdef0123456789abcdef";

/// An application key of an admin, which the test server knows.
pub const APP_KEY: &str = "a0a1a2a3a4a5a6a7a8a9b0b1b2b3b4b5b6b7b8b9";

/// A client that sends [`KEY`] and [`APP_KEY`] with every request, as Datadog's clients do.
pub fn client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("DD-API-KEY", KEY.parse().unwrap());
    headers.insert("DD-APPLICATION-KEY", APP_KEY.parse().unwrap());
    reqwest::Client::builder().default_headers(headers).build().unwrap()
}

/// Adds an admin with [`APP_KEY`] to `store`.
pub fn add_admin(store: &SqliteStore) {
    use dogwatch_store::Store;
    let admin = store
        .create_user(
            &dogwatch_store::NewUser {
                name: "test-admin".into(),
                role: dogwatch_store::Role::Admin,
                password_hash: String::new(),
            },
            1,
        )
        .unwrap();
    store
        .add_app_key(&dogwatch_store::AppKey {
            id: "test-app-key".into(),
            name: "tests".into(),
            hash: dogwatch_store::auth::key_hash(APP_KEY),
            last4: dogwatch_store::auth::last4(APP_KEY),
            user_id: admin.id,
            created_at_ms: 1,
        })
        .unwrap();
}

/// A running server; dropping it stops the server.
pub struct Running {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its store, to look at what was written.
    pub store: Arc<SqliteStore>,
    /// What its handlers share.
    pub state: Arc<dogwatch_server::AppState>,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Running {
    /// Makes users and keys written to the store since the start count now.
    pub fn reload_auth(&self) {
        self.state.auth.reload().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts a server that accepts [`KEY`] and bodies up to `max_body_bytes`.
pub async fn start(max_body_bytes: usize) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("dogwatch.db")).unwrap());
    add_admin(&store);
    let settings = ServerSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_body_bytes,
        ..ServerSettings::default()
    };
    let server = Server::bind(settings, store.clone(), vec![KEY.into()]).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    let state = server.state();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    Running {
        base,
        store,
        state,
        _dir: dir,
        stop: Some(stop),
    }
}
