//! Types shared by the dogwatch agent and server.
//!
//! This crate owns the wire shapes that cross from an agent to a server — Datadog's intake
//! payloads (`/api/v1/series`, `/api/v1/check_run`, `/intake/` host metadata, `/api/v1/events`, `/api/beta/sketches`), live process
//! payloads (`/api/v1/collector`), APM traces and stats in Datadog's own protobuf/msgpack
//! formats ([`apm`]) — and the
//! names of the intake endpoints and headers. It holds data and its validation only: it must
//! not depend on tokio, HTTP, storage, or anything that reads the host.

pub mod apm;
pub mod endpoints;
pub mod event;
pub mod json;
pub mod metadata;
pub mod process;
pub mod process_agent;
pub mod protobuf;
pub mod series;
pub mod series_v2;
pub mod service_check;
pub mod sketch;
pub mod time;

pub use event::{AlertType, Event, EventPriority};
pub use metadata::{AgentCheck, HostMetadata};
pub use process::{CollectorAnswer, CollectorStatus, HostInfo, ProcessPayload, ProcessRecord};
pub use series::{MetricKind, Series, SeriesPayload};
pub use service_check::{CheckRun, CheckStatus};
pub use sketch::{Dogsketch, Sketch, SketchPayload};

/// The version of dogwatch, reported by agents in every payload and by the server's `/info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The last five characters of an API key: all that logs, `dogwatch status` and
/// `dogwatch config` show of it, as Datadog does.
pub fn api_key_tail(key: &str) -> &str {
    let start = key.char_indices().rev().nth(4).map_or(0, |(i, _)| i);
    &key[start..]
}

/// Formats a byte count in binary units, e.g. `12.3 MiB`; below 1 KiB, `512 B`. Used
/// wherever a person reads sizes: `dogwatch status`, `agent check process`, the server's pages.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Reads `null` as an empty list; Datadog's serializers send `"tags": null` for no tags.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    use serde::Deserialize;
    Ok(Option::<Vec<String>>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn api_key_tail_is_the_last_five_characters() {
        assert_eq!(super::api_key_tail("0123456789abcdef"), "bcdef");
        assert_eq!(super::api_key_tail("abc"), "abc");
        assert_eq!(super::api_key_tail("ééééééé"), "ééééé");
    }
}
