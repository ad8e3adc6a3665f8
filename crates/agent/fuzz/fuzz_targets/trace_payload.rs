//! Fuzzes the trace receiver's decoders on arbitrary bodies: every version and content type
//! must answer with spans or an error, never panic or abort on allocation, and a body the
//! msgpack check accepts must be exactly one msgpack value.
//!
//! Run with `cargo fuzz run trace_payload` from `crates/agent` (nightly, or
//! `RUSTC_BOOTSTRAP=1` on a stable toolchain).

#![no_main]

use dogwatch_agent::apm::decode::{TraceVersion, decode_traces};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for version in [TraceVersion::V03, TraceVersion::V04, TraceVersion::V05] {
        for content_type in ["application/msgpack", "application/json", ""] {
            if let Ok(traces) = decode_traces(version, content_type, data) {
                let spans: usize = traces.iter().map(Vec::len).sum();
                assert!(spans <= data.len(), "{spans} spans from {} bytes", data.len());
            }
        }
    }
    let _ = dogwatch_agent::apm::msgpack_check::check(data);
});
