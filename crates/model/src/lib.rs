//! Types shared by the dogwatch agent and server.
//!
//! This crate owns the wire shapes that cross from an agent to a server — Datadog's intake
//! payloads (`/api/v1/series`, `/api/v1/check_run`, `/intake/` host metadata) — and the
//! names of the intake endpoints and headers. It holds data and its validation only: it must
//! not depend on tokio, HTTP, storage, or anything that reads the host.

pub mod endpoints;
pub mod metadata;
pub mod series;
pub mod service_check;

pub use metadata::HostMetadata;
pub use series::{MetricKind, Series, SeriesPayload};
pub use service_check::{CheckRun, CheckStatus};

/// The version of dogwatch, reported by agents in every payload and by the server's `/info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Reads `null` as an empty list; Datadog's serializers send `"tags": null` for no tags.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    use serde::Deserialize;
    Ok(Option::<Vec<String>>::deserialize(deserializer)?.unwrap_or_default())
}
