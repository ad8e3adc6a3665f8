//! Decoding protobuf bodies with an error that says where they went wrong.

use prost::Message;
use prost::bytes::Buf;

/// A protobuf body that does not decode: where the decoder stopped, and prost's error (which
/// names the message and field path).
#[derive(Debug, thiserror::Error)]
#[error("invalid {message} protobuf at byte {offset}: {error}")]
pub struct ProtobufError {
    /// The message type that was expected, e.g. `MetricPayload`.
    pub message: &'static str,
    /// The byte offset in the body where decoding failed.
    pub offset: usize,
    /// prost's error.
    pub error: prost::DecodeError,
}

/// A byte slice that counts what the decoder read, to tell where a decode failed.
struct CountingBuf<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Buf for CountingBuf<'_> {
    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn chunk(&self) -> &[u8] {
        &self.data[self.pos..]
    }

    fn advance(&mut self, cnt: usize) {
        self.pos = (self.pos + cnt).min(self.data.len());
    }
}

/// Decodes `body` as `M` (named `message` in the error). Unknown fields are skipped, as
/// protobuf does; on a failure the error names the message, prost's field path and the byte
/// offset where the decoder stopped.
pub fn decode<M: Message + Default>(body: &[u8], message: &'static str) -> Result<M, ProtobufError> {
    M::decode(body).map_err(|first| {
        // Decode again, counting, only to tell where it failed.
        let mut counting = CountingBuf { data: body, pos: 0 };
        let error = M::decode(&mut counting).err().unwrap_or(first);
        ProtobufError {
            message,
            offset: counting.pos,
            error,
        }
    })
}
