//! Distribution sketches (`POST /api/beta/sketches`), in the protobuf shape of Datadog's
//! `SketchPayload` (agent-payload's `Sketch` and `Dogsketch`, same field numbers).
//!
//! Bin keys `k` follow `libdd-ddsketch`'s default log mapping (γ = 1.015625, Datadog's 1/128
//! relative accuracy, indices offset so that 1e-9 maps to 1): a positive key is the bin of a
//! positive value, a negative key the bin of the value's magnitude for a negative value, and
//! key 0 holds zeros (|v| < 1e-9). `n` are the bins' counts. These are also the keys of the
//! stock Datadog Agent (the Go agent's `pkg/quantile`: γ = 1 + 2/128, log base γ rounded plus
//! the bias 1338 that gives 1e-9 key 1), so its sketches read as dogwatch's own; the server's
//! `metrics::distribution` tests check the two key by key.

/// The smallest magnitude kept in a bin of its own; smaller values count as zero.
pub const MIN_BINNED_VALUE: f64 = 1e-9;

/// A batch of distribution sketches.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SketchPayload {
    /// One entry per metric context.
    #[prost(message, repeated, tag = "1")]
    pub sketches: Vec<Sketch>,
}

/// The sketches of one metric context (name + host + tags) over time.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sketch {
    /// The metric name.
    #[prost(string, tag = "1")]
    pub metric: String,
    /// The host (empty for none).
    #[prost(string, tag = "2")]
    pub host: String,
    /// `key:value` tags.
    #[prost(string, repeated, tag = "4")]
    pub tags: Vec<String>,
    /// One sketch per 10 s bucket.
    #[prost(message, repeated, tag = "7")]
    pub dogsketches: Vec<Dogsketch>,
}

/// The values of one bucket: summary statistics and the bins.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Dogsketch {
    /// Unix seconds of the bucket's start.
    #[prost(int64, tag = "1")]
    pub ts: i64,
    /// How many values.
    #[prost(int64, tag = "2")]
    pub cnt: i64,
    /// The smallest value.
    #[prost(double, tag = "3")]
    pub min: f64,
    /// The largest value.
    #[prost(double, tag = "4")]
    pub max: f64,
    /// The mean.
    #[prost(double, tag = "5")]
    pub avg: f64,
    /// The sum.
    #[prost(double, tag = "6")]
    pub sum: f64,
    /// Bin keys, see the module documentation.
    #[prost(sint32, repeated, tag = "7")]
    pub k: Vec<i32>,
    /// The count of each key in `k`.
    #[prost(uint32, repeated, tag = "8")]
    pub n: Vec<u32>,
}
