//! Fuzzes DogStatsD on arbitrary datagrams: every line must parse or be refused with a
//! reason, never panic, and the aggregator must take any datagram and flush what it holds.
//!
//! Run with `cargo fuzz run dogstatsd_datagram` from `crates/agent` (nightly, or
//! `RUSTC_BOOTSTRAP=1` on a stable toolchain).

#![no_main]

use dogwatch_agent::dogstatsd::aggregate::{Aggregator, AggregatorSettings, HistogramAggregate};
use dogwatch_agent::dogstatsd::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for line in parse::lines(data) {
        let _ = parse::parse_line(line);
    }
    let mut aggregator = Aggregator::new(AggregatorSettings {
        hostname: "fuzz".into(),
        extra_tags: vec!["team:fuzz".into()],
        expiry_seconds: 300,
        context_limit: 100,
        histogram_aggregates: ["max", "min", "median", "avg", "sum", "count"]
            .into_iter()
            .filter_map(HistogramAggregate::from_name)
            .collect(),
        histogram_percentiles: vec![0.5, 0.95, 0.99],
    });
    aggregator.add_datagram(data, 1_700_000_003);
    let flushed = aggregator.flush(1_700_000_010, false);
    for series in &flushed.series {
        assert!(series.points.iter().all(|(_, v)| !v.is_nan()), "{series:?}");
    }
    let _ = aggregator.flush(1_700_000_020, true);
});
