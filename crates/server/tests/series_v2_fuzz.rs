//! Property test: no `/api/v2/series` body — random bytes, or a prost-encoded `MetricPayload`
//! with bytes overwritten or cut short, plain or compressed — makes the server fail on its side
//! or panic; a protobuf that does not decode names a byte offset inside the body.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use dogwatch_model::series_v2::{MetricPayload, MetricPoint, MetricSeries, MetricType, Resource};
use dogwatch_server::{AppState, Server, ServerSettings};
use dogwatch_store::SqliteStore;
use proptest::prelude::*;
use prost::Message;
use tower::ServiceExt;

const KEY: &str = "k";

fn valid_body() -> Vec<u8> {
    MetricPayload {
        series: vec![
            MetricSeries {
                resources: vec![Resource {
                    r#type: "host".into(),
                    name: "h".into(),
                }],
                metric: "system.load.1".into(),
                tags: vec!["env:prod".into(), "role:db".into()],
                points: vec![
                    MetricPoint {
                        value: 0.5,
                        timestamp: 1_700_000_000,
                    },
                    MetricPoint {
                        value: 0.75,
                        timestamp: 1_700_000_010,
                    },
                ],
                r#type: MetricType::Gauge as i32,
                unit: "fraction".into(),
                source_type_name: "System".into(),
                interval: 10,
                metadata: None,
            },
            MetricSeries {
                metric: "app.hits".into(),
                points: vec![MetricPoint {
                    value: 3.0,
                    timestamp: 1_700_000_000,
                }],
                r#type: MetricType::Count as i32,
                interval: 10,
                ..Default::default()
            },
        ],
    }
    .encode_to_vec()
}

/// Random bytes, or the valid payload with a few bytes overwritten and the end cut off.
fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    let random = proptest::collection::vec(any::<u8>(), 0..256).boxed();
    let mutated = (
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        any::<usize>(),
    )
        .prop_map(|(edits, cut)| {
            let mut body = valid_body();
            for (at, byte) in edits {
                let i = at % body.len();
                body[i] = byte;
            }
            body.truncate(body.len() - cut % 8);
            body
        })
        .boxed();
    prop_oneof![random, mutated]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn v2_series_answers_every_body_with_a_client_error_or_acceptance(body in body_strategy(), zstd in any::<bool>()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
        let state = AppState::new(store, ServerSettings::default(), &[KEY.into()]).unwrap();
        let len = body.len();
        let mut request = Request::post("/api/v2/series")
            .header("DD-API-KEY", KEY)
            .header("Content-Type", "application/x-protobuf");
        let sent = if zstd {
            request = request.header("Content-Encoding", "zstd");
            zstd::bulk::compress(&body, 1).unwrap()
        } else {
            body
        };
        let response = runtime
            .block_on(Server::router(state).oneshot(request.body(Body::from(sent)).unwrap()))
            .unwrap();
        let status = response.status().as_u16();
        let bytes = runtime.block_on(axum::body::to_bytes(response.into_body(), 1 << 20)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        prop_assert!(matches!(status, 202 | 400), "answered {status}: {text}");
        const PREFIX: &str = "invalid MetricPayload protobuf at byte ";
        if let Some(at) = text.find(PREFIX) {
            let offset: usize = text[at + PREFIX.len()..]
                .split(':')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(usize::MAX);
            prop_assert!(offset <= len, "offset {offset} past the {len}-byte body: {text}");
        } else if status == 400 {
            prop_assert!(text.contains("series["), "a 400 names the series or the offset: {text}");
        }
    }
}
