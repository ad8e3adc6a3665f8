//! A payload ready to send: compressed body plus what the server needs to read it.

use bytes::Bytes;

use crate::config::CompressorKind;

/// One request body bound for one intake endpoint, already compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// A random id (32 hex digits); the server applies each id at most once.
    pub id: String,
    /// The intake path, e.g. `/api/v1/check_run`.
    pub endpoint: String,
    /// The body's media type, e.g. `application/json`.
    pub content_type: String,
    /// The `Content-Encoding` of `body`: `zstd`, `deflate` or `identity`.
    pub content_encoding: String,
    /// The compressed body.
    pub body: Bytes,
}

impl Payload {
    /// Compresses `body` with `kind` and gives it a fresh id.
    pub fn new(endpoint: &str, content_type: &str, body: &[u8], kind: CompressorKind) -> Payload {
        let (content_encoding, compressed) = match kind {
            CompressorKind::Zstd => (
                "zstd",
                zstd::bulk::compress(body, 1).expect("zstd compresses in memory"),
            ),
            CompressorKind::Zlib => {
                use std::io::Write;
                let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(body).expect("zlib compresses in memory");
                ("deflate", encoder.finish().expect("zlib compresses in memory"))
            }
        };
        Payload {
            id: new_payload_id(),
            endpoint: endpoint.to_string(),
            content_type: content_type.to_string(),
            content_encoding: content_encoding.to_string(),
            body: Bytes::from(compressed),
        }
    }

    /// A JSON payload, compressed with `kind`.
    pub fn json<T: serde::Serialize>(endpoint: &str, value: &T, kind: CompressorKind) -> Payload {
        let body = serde_json::to_vec(value).expect("payload types serialize to JSON");
        Payload::new(endpoint, "application/json", &body, kind)
    }

    /// The bytes this payload occupies in a queue.
    pub fn size(&self) -> u64 {
        (self.body.len() + self.endpoint.len() + self.content_type.len() + self.id.len()) as u64
    }
}

/// 128 random bits as 32 lower-case hex digits.
fn new_payload_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
