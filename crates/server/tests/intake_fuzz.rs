//! Property test: no request body, however malformed or wrongly compressed, makes an
//! intake endpoint fail on the server's side or panic. Each answer is one a client can act on.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use dogwatch_server::{AppState, Server, ServerSettings};
use dogwatch_store::SqliteStore;
use proptest::prelude::*;
use tower::ServiceExt;

const KEY: &str = "k";

fn valid_body(path: &str) -> &'static [u8] {
    match path {
        "/api/v1/series" => {
            br#"{"series":[{"metric":"m","points":[[1,2.5]],"type":"rate","interval":10,"host":"h","tags":["a:b"]}]}"#
        }
        "/api/v1/check_run" => br#"[{"check":"c","host_name":"h","timestamp":1,"status":1,"message":"m","tags":null}]"#,
        _ => br#"{"internalHostname":"h","agentVersion":"7","os":"linux","host-tags":{"system":["a:b"]},"meta":{}}"#,
    }
}

/// A body: random bytes, or a valid payload with a few bytes overwritten or cut short.
fn body_strategy() -> impl Strategy<Value = (usize, Vec<u8>)> {
    let paths = 0..3usize;
    paths.prop_flat_map(|path| {
        let random = proptest::collection::vec(any::<u8>(), 0..256).boxed();
        let mutated = (
            proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            any::<usize>(),
        )
            .prop_map(move |(edits, cut)| {
                let mut body = valid_body(PATHS[path]).to_vec();
                for (at, byte) in edits {
                    let i = at % body.len();
                    body[i] = byte;
                }
                body.truncate(body.len() - cut % 3);
                body
            })
            .boxed();
        (Just(path), prop_oneof![random, mutated])
    })
}

const PATHS: [&str; 3] = ["/api/v1/series", "/api/v1/check_run", "/intake/"];
const ENCODINGS: [Option<&str>; 5] = [None, Some("zstd"), Some("deflate"), Some("gzip"), Some("br")];

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn intake_answers_every_body_with_a_client_error_or_acceptance((path, body) in body_strategy(), encoding in 0..5usize, compress in any::<bool>()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
        let state = AppState::new(store, ServerSettings::default(), &[KEY.into()]).unwrap();
        let encoding = ENCODINGS[encoding];
        let body = match (encoding, compress) {
            (Some("zstd"), true) => zstd::bulk::compress(&body, 1).unwrap(),
            (Some("deflate"), true) => {
                use std::io::Write;
                let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&body).unwrap();
                e.finish().unwrap()
            }
            _ => body,
        };
        let mut request = Request::post(PATHS[path]).header("DD-API-KEY", KEY).header("Content-Type", "application/json");
        if let Some(encoding) = encoding {
            request = request.header("Content-Encoding", encoding);
        }
        let response = runtime.block_on(Server::router(state).oneshot(request.body(Body::from(body)).unwrap())).unwrap();
        let status = response.status().as_u16();
        prop_assert!(matches!(status, 202 | 400 | 413 | 415), "{} answered {status}", PATHS[path]);
    }
}
