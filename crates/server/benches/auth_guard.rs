//! What access control adds to every request: the guard's lookup of who a request is, by an
//! API key plus an application key and by a session cookie, with 1,000 users and 2,000 keys in
//! the index. Compare with a live process query's p95 (`--bench process_query`, milliseconds):
//! the guard is one SHA-256 and one hash-map lookup per credential, no argon2.
//!
//! Run: `cargo bench -p dogwatch-server --bench auth_guard` (add `-- --iterations N`).

use std::sync::Arc;
use std::time::Instant;

use axum::http::{HeaderMap, HeaderValue, Uri};
use dogwatch_server::auth::admin;
use dogwatch_server::http::guard;
use dogwatch_server::{AppState, ServerSettings};
use dogwatch_store::{Role, SqliteStore, Store};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn measure(name: &str, iterations: usize, mut f: impl FnMut()) {
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{name:<40} p50 {:>6.2} µs   p95 {:>6.2} µs   max {:>7.2} µs",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        times[times.len() - 1]
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let iterations: usize = args
        .iter()
        .position(|a| a == "--iterations")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
    let (api_key, _) = admin::create_api_key(store.as_ref(), "bench").unwrap();
    let mut app_key = String::new();
    for i in 0..1000 {
        let user = admin::create_user(store.as_ref(), &format!("user{i}"), Role::ReadOnly, "").unwrap();
        for _ in 0..2 {
            app_key = admin::create_app_key(store.as_ref(), user.id, "k").unwrap().0;
        }
    }
    let state = AppState::new(store, ServerSettings::default(), &[]).unwrap();
    let uri: Uri = "/api/ui/processes?limit=50".parse().unwrap();
    let mut keys = HeaderMap::new();
    keys.insert("DD-API-KEY", HeaderValue::from_str(&api_key).unwrap());
    keys.insert("DD-APPLICATION-KEY", HeaderValue::from_str(&app_key).unwrap());
    let user_id = state.store.users().unwrap()[0].id;
    let (token, _) = state.auth.sessions.start(user_id, Instant::now());
    let mut cookie = HeaderMap::new();
    cookie.insert(
        "Cookie",
        HeaderValue::from_str(&format!("dogwatch_session={token}")).unwrap(),
    );
    println!("guard lookups, one thread, {iterations} iterations:");
    measure("API key + application key", iterations, || {
        assert!(guard::principal(&state, &keys, &uri).is_ok());
    });
    measure("session cookie", iterations, || {
        assert!(guard::principal(&state, &cookie, &uri).is_ok());
    });
    measure("unknown keys (refused)", iterations, || {
        let mut bad = HeaderMap::new();
        bad.insert(
            "DD-API-KEY",
            HeaderValue::from_static("0123456789abcdef0123456789abcdef"),
        );
        bad.insert("DD-APPLICATION-KEY", HeaderValue::from_static("x"));
        assert!(guard::principal(&state, &bad, &uri).is_err());
    });
}
