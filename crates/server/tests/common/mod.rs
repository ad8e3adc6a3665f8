//! A real server for the HTTP tests: a store in a temporary directory, bound to a free
//! loopback port, stopped when the handle drops.

// Each test file uses part of this.
#![allow(dead_code)]

use std::sync::Arc;

use dogwatch_server::{Server, ServerSettings};
use dogwatch_store::SqliteStore;

/// The API key the test server accepts.
pub const KEY: &str = "0123456789abcdef0123456789abcdef";

/// A running server; dropping it stops the server.
pub struct Running {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its store, to look at what was written.
    pub store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
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
    let settings = ServerSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_body_bytes,
        ..ServerSettings::default()
    };
    let server = Server::bind(settings, store.clone(), vec![KEY.into()]).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    Running {
        base,
        store,
        _dir: dir,
        stop: Some(stop),
    }
}
