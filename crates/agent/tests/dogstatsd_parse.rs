//! Property tests of the DogStatsD parser and aggregator: no input makes them panic, and
//! well-formed lines come back with what was written.

use dogwatch_agent::dogstatsd::aggregate::{Aggregator, AggregatorSettings, HistogramAggregate};
use dogwatch_agent::dogstatsd::parse::{self, Message, MetricType};
use proptest::prelude::*;

fn aggregator() -> Aggregator {
    Aggregator::new(AggregatorSettings {
        hostname: "prop".into(),
        extra_tags: Vec::new(),
        expiry_seconds: 300,
        context_limit: 50,
        histogram_aggregates: ["max", "min", "median", "avg", "sum", "count"]
            .into_iter()
            .filter_map(HistogramAggregate::from_name)
            .collect(),
        histogram_percentiles: vec![0.95],
    })
}

fn metric_type() -> impl Strategy<Value = (&'static str, MetricType)> {
    prop_oneof![
        Just(("c", MetricType::Count)),
        Just(("g", MetricType::Gauge)),
        Just(("h", MetricType::Histogram)),
        Just(("ms", MetricType::Histogram)),
        Just(("d", MetricType::Distribution)),
        Just(("s", MetricType::Set)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary bytes: lines parse or are refused; the aggregator counts every line once.
    #[test]
    fn arbitrary_datagrams_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        for line in parse::lines(&data) {
            let _ = parse::parse_line(line);
        }
        let mut a = aggregator();
        a.add_datagram(&data, 1_700_000_000);
        let c = a.counts().clone();
        let lines = parse::lines(&data).count() as u64;
        prop_assert_eq!(
            c.metric_packets + c.metric_parse_errors + c.event_packets + c.event_parse_errors
                + c.service_check_packets + c.service_check_parse_errors,
            lines
        );
        let _ = a.flush(1_700_000_010, true);
    }

    /// Valid lines mutated at one byte still never panic.
    #[test]
    fn mutated_lines_never_panic(
        seed in "[a-z.]{1,12}:[0-9.:-]{1,10}\\|(c|g|h|ms|d|s)(\\|@0\\.[0-9])?(\\|#[a-z:,]{0,20})?(\\|T[0-9]{1,10})?",
        at in any::<usize>(),
        byte in any::<u8>(),
    ) {
        let mut line = seed.into_bytes();
        let i = at % line.len();
        line[i] = byte;
        let mut a = aggregator();
        a.add_datagram(&line, 1_700_000_000);
        let _ = a.flush(1_700_000_010, true);
    }

    /// A well-formed metric line parses into exactly what was written.
    #[test]
    fn well_formed_lines_round_trip(
        name in "[a-z][a-z0-9_.]{0,30}",
        values in proptest::collection::vec(-1e6f64..1e6, 1..4),
        (type_text, kind) in metric_type(),
        rate in proptest::option::of(0.01f64..1.0),
        tags in proptest::collection::vec("[a-z][a-z0-9_]{0,8}:[a-z0-9_./-]{1,10}", 0..5),
        ts in proptest::option::of(1_000_000_000i64..2_000_000_000),
    ) {
        let value_text: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        let mut line = format!("{name}:{}|{type_text}", value_text.join(":"));
        if let Some(r) = rate {
            line.push_str(&format!("|@{r}"));
        }
        if !tags.is_empty() {
            line.push_str(&format!("|#{}", tags.join(",")));
        }
        if let Some(t) = ts {
            line.push_str(&format!("|T{t}"));
        }
        let Message::Metric(m) = parse::parse_line(line.as_bytes()).unwrap() else {
            panic!("not a metric: {line}");
        };
        prop_assert_eq!(m.name, name.as_str());
        prop_assert_eq!(m.kind, kind);
        prop_assert_eq!(m.sample_rate, rate.unwrap_or(1.0));
        prop_assert_eq!(parse::tags(m.tags).collect::<Vec<_>>(), tags.iter().map(String::as_str).collect::<Vec<_>>());
        prop_assert_eq!(m.timestamp, ts);
        if kind != MetricType::Set {
            let parsed: Vec<f64> = m.numbers().map(Result::unwrap).collect();
            prop_assert_eq!(parsed, values);
        }
    }
}
