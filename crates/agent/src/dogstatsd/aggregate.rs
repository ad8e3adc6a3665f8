//! DogStatsD aggregation as Datadog's agent does it (DATADOG-COMPAT.md §4): samples go into
//! 10 s buckets per context (metric name + host + sorted, de-duplicated tags + type); a flush
//! turns every closed bucket into series and sketches.
//!
//! - count: sum of value ÷ sample rate, sent as a rate (÷ 10) with interval 10; a counter keeps
//!   reporting 0 for `dogstatsd_expiry_seconds` after its last sample.
//! - gauge: the last value; the sample rate is ignored.
//! - set: the number of unique members, as a gauge.
//! - histogram (`h`, `ms`): `histogram_aggregates` (`.count` as a rate) and
//!   `histogram_percentiles` (`.95percentile`), by Datadog's weighted-rank rule.
//! - distribution: a DDSketch (`libdd-ddsketch`), sent whole so percentiles merge across hosts.
//! - a gauge or count with a `T` timestamp is not aggregated: it is sent as it came.
//!
//! A context is keyed by a 64-bit hash, as Datadog's `ckey` is (collisions are not checked).
//! At most `aggregate_context_limit` contexts are held: a sample for a new context beyond it is
//! dropped and counted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use dogwatch_model::{AlertType, CheckRun, CheckStatus, Dogsketch, Event, EventPriority, MetricKind, Series, Sketch};
use libdd_ddsketch::DDSketch;

use super::parse::{self, EventLine, LineKind, Message, MetricLine, MetricType, ServiceCheckLine};

/// The width of a bucket, in seconds.
pub const BUCKET_SECONDS: i64 = 10;
/// Events or service checks held between two flushes beyond this are dropped and counted.
const MAX_PENDING: usize = 10_000;

/// A histogram aggregate from `histogram_aggregates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistogramAggregate {
    /// `.max`
    Max,
    /// `.min`
    Min,
    /// `.median`
    Median,
    /// `.avg`
    Avg,
    /// `.sum`
    Sum,
    /// `.count`, a rate.
    Count,
}

impl HistogramAggregate {
    /// The aggregate named `name` in `histogram_aggregates`.
    pub fn from_name(name: &str) -> Option<HistogramAggregate> {
        Some(match name {
            "max" => HistogramAggregate::Max,
            "min" => HistogramAggregate::Min,
            "median" => HistogramAggregate::Median,
            "avg" => HistogramAggregate::Avg,
            "sum" => HistogramAggregate::Sum,
            "count" => HistogramAggregate::Count,
            _ => return None,
        })
    }

    fn suffix(self) -> &'static str {
        match self {
            HistogramAggregate::Max => ".max",
            HistogramAggregate::Min => ".min",
            HistogramAggregate::Median => ".median",
            HistogramAggregate::Avg => ".avg",
            HistogramAggregate::Sum => ".sum",
            HistogramAggregate::Count => ".count",
        }
    }
}

/// How the aggregator works, from the agent's configuration.
#[derive(Debug, Clone)]
pub struct AggregatorSettings {
    /// The host of samples without a `host:` tag.
    pub hostname: String,
    /// Tags added to every sample, event and service check (`dogstatsd_tags`).
    pub extra_tags: Vec<String>,
    /// Seconds a counter reports 0 after its last sample (`dogstatsd_expiry_seconds`).
    pub expiry_seconds: i64,
    /// The most contexts held at once (`aggregate_context_limit`).
    pub context_limit: usize,
    /// `histogram_aggregates`.
    pub histogram_aggregates: Vec<HistogramAggregate>,
    /// `histogram_percentiles`, each in (0, 1), sorted.
    pub histogram_percentiles: Vec<f64>,
}

/// Counts of what the aggregator saw, for `dogwatch status`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AggregatorCounts {
    /// Metric lines parsed (Datadog's "Metric Packets").
    pub metric_packets: u64,
    /// Metric lines refused.
    pub metric_parse_errors: u64,
    /// Event lines parsed.
    pub event_packets: u64,
    /// Event lines refused.
    pub event_parse_errors: u64,
    /// Service check lines parsed.
    pub service_check_packets: u64,
    /// Service check lines refused.
    pub service_check_parse_errors: u64,
    /// The last parse error, as text.
    pub last_parse_error: Option<String>,
    /// Samples dropped because `aggregate_context_limit` was reached.
    pub context_limit_drops: u64,
    /// Events and service checks dropped because too many waited for a flush.
    pub pending_drops: u64,
    /// Series sent.
    pub series_flushed: u64,
    /// Sketch points sent.
    pub sketches_flushed: u64,
    /// Events sent.
    pub events_flushed: u64,
    /// Service checks sent.
    pub service_checks_flushed: u64,
}

/// What one flush produced.
#[derive(Debug, Default)]
pub struct Flushed {
    /// Series for `/api/v1/series`.
    pub series: Vec<Series>,
    /// Sketches for `/api/beta/sketches`.
    pub sketches: Vec<Sketch>,
    /// Events for `/api/v1/events`.
    pub events: Vec<Event>,
    /// Service check runs for `/api/v1/check_run`.
    pub service_checks: Vec<CheckRun>,
}

struct Context {
    name: Box<str>,
    host: Box<str>,
    tags: Box<[Box<str>]>,
    kind: MetricType,
    /// For counters: the start of the last bucket flushed with a sample.
    last_counted: i64,
}

impl Context {
    /// The context's host, else `default` (the agent's hostname).
    fn host_or(&self, default: &str) -> String {
        host_or(&self.host, default)
    }
}

/// `host`, else `default` when it is empty.
fn host_or(host: &str, default: &str) -> String {
    if host.is_empty() { default } else { host }.to_string()
}

enum Accumulator {
    Count(f64),
    Gauge(f64),
    Set(HashSet<Box<str>>),
    Histogram(Vec<(f64, f64)>),
    Distribution(Box<Distribution>),
}

/// A distribution's values in one bucket: libdatadog's DDSketch holds positive values, a second
/// one the magnitudes of negative values.
#[derive(Default)]
struct Distribution {
    positive: DDSketch,
    negative: DDSketch,
    zeros: f64,
    count: f64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Distribution {
    fn add(&mut self, value: f64, weight: f64) {
        if self.count == 0.0 {
            (self.min, self.max) = (value, value);
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.count += weight;
        self.sum += value * weight;
        let magnitude = value.abs();
        let added = if magnitude < dogwatch_model::sketch::MIN_BINNED_VALUE {
            Err(())
        } else if value > 0.0 {
            self.positive.add_with_count(magnitude, weight).map_err(drop)
        } else {
            self.negative.add_with_count(magnitude, weight).map_err(drop)
        };
        if added.is_err() {
            self.zeros += weight;
        }
    }

    fn into_dogsketch(self, ts: i64) -> Dogsketch {
        let mut k = Vec::new();
        let mut n = Vec::new();
        let mut push = |key: i32, count: f64| {
            let count = count.round();
            if count >= 1.0 {
                k.push(key);
                n.push(count.min(u32::MAX as f64) as u32);
            }
        };
        let zeros = self.zeros;
        for (sketch, sign) in [(self.negative, -1), (self.positive, 1)] {
            let Some(store) = sketch.into_pb().positive_values else {
                continue;
            };
            for (i, count) in store.contiguous_bin_counts.iter().enumerate() {
                let index = store.contiguous_bin_index_offset.saturating_add(i as i32);
                push(sign * index.max(1), *count);
            }
        }
        push(0, zeros);
        Dogsketch {
            ts,
            cnt: self.count.round() as i64,
            min: self.min,
            max: self.max,
            avg: if self.count > 0.0 { self.sum / self.count } else { 0.0 },
            sum: self.sum,
            k,
            n,
        }
    }
}

/// Context keys are already hashes: the maps use them as they are.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<KeyHasher>>;

/// The DogStatsD aggregator: parse, aggregate, flush.
pub struct Aggregator {
    settings: AggregatorSettings,
    contexts: KeyMap<Context>,
    buckets: BTreeMap<i64, KeyMap<Accumulator>>,
    /// Where the next flush starts: buckets before it were flushed.
    flushed_until: Option<i64>,
    pending: Flushed,
    counts: AggregatorCounts,
    /// Byte ranges of the current line's tags, reused from line to line.
    scratch: Vec<(usize, usize)>,
    hasher: foldhash::fast::FixedState,
    /// Samples per context since start, when `dogstatsd_metrics_stats_enable` is on.
    stats: Option<KeyMap<ContextStats>>,
}

/// One metric context's samples, for `dogwatch agent dogstatsd-stats` (Datadog's
/// `dogstatsd_metrics_stats_enable`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ContextStats {
    /// The metric name.
    pub name: String,
    /// Its tags, sorted (`host:` included when the sample named one).
    pub tags: Vec<String>,
    /// Samples received.
    pub count: u64,
    /// When the last arrived (Unix seconds).
    pub last_seen: i64,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new(settings: AggregatorSettings) -> Aggregator {
        Aggregator {
            settings,
            contexts: KeyMap::default(),
            buckets: BTreeMap::new(),
            flushed_until: None,
            pending: Flushed::default(),
            counts: AggregatorCounts::default(),
            scratch: Vec::new(),
            hasher: foldhash::fast::FixedState::with_seed(0x646f_6777_6174_6368),
            stats: None,
        }
    }

    /// Starts counting samples per context ([`Aggregator::metric_stats`]).
    pub fn enable_metric_stats(&mut self) {
        self.stats.get_or_insert_with(KeyMap::default);
    }

    /// Samples per context, most first; `None` unless [`Aggregator::enable_metric_stats`].
    pub fn metric_stats(&self) -> Option<Vec<ContextStats>> {
        let mut all: Vec<ContextStats> = self.stats.as_ref()?.values().cloned().collect();
        all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        Some(all)
    }

    fn count_sample(&mut self, key: u64, metric: &MetricLine<'_>, host: &str, now: i64) {
        let limit = self.settings.context_limit;
        let Some(stats) = &mut self.stats else { return };
        if let Some(entry) = stats.get_mut(&key) {
            entry.count += 1;
            entry.last_seen = now;
            return;
        }
        if stats.len() >= limit {
            return;
        }
        let text = metric.tags;
        let mut tags: Vec<String> = self.scratch.iter().map(|&(s, e)| text[s..e].to_string()).collect();
        if !host.is_empty() {
            tags.push(format!("host:{host}"));
            tags.sort();
        }
        stats.insert(
            key,
            ContextStats {
                name: metric.name.to_string(),
                tags,
                count: 1,
                last_seen: now,
            },
        );
    }

    /// What has been counted so far.
    pub fn counts(&self) -> &AggregatorCounts {
        &self.counts
    }

    /// How many contexts are held.
    pub fn context_count(&self) -> usize {
        self.contexts.len()
    }

    /// Parses and aggregates every line of one datagram received at `now` (Unix seconds).
    pub fn add_datagram(&mut self, datagram: &[u8], now: i64) {
        for line in parse::lines(datagram) {
            match parse::parse_line(line) {
                Ok(Message::Metric(metric)) => {
                    self.counts.metric_packets += 1;
                    self.add_metric(&metric, now);
                }
                Ok(Message::Event(event)) => {
                    self.counts.event_packets += 1;
                    self.add_event(&event, now);
                }
                Ok(Message::ServiceCheck(check)) => {
                    self.counts.service_check_packets += 1;
                    self.add_service_check(&check, now);
                }
                Err(error) => {
                    match error.kind {
                        LineKind::Metric => self.counts.metric_parse_errors += 1,
                        LineKind::Event => self.counts.event_parse_errors += 1,
                        LineKind::ServiceCheck => self.counts.service_check_parse_errors += 1,
                    }
                    if self
                        .counts
                        .last_parse_error
                        .as_deref()
                        .is_none_or(|last| !last.ends_with(error.reason))
                    {
                        self.counts.last_parse_error = Some(error.to_string());
                    }
                }
            }
        }
    }

    fn add_metric(&mut self, metric: &MetricLine<'_>, now: i64) {
        // Tags as byte ranges of the line, sorted and de-duplicated; `host:` sets the host.
        let base = metric.tags.as_ptr() as usize;
        let mut host = "";
        self.scratch.clear();
        for tag in parse::tags(metric.tags) {
            if let Some(h) = tag.strip_prefix("host:") {
                host = h;
            } else {
                let start = tag.as_ptr() as usize - base;
                self.scratch.push((start, start + tag.len()));
            }
        }
        let text = metric.tags;
        self.scratch
            .sort_unstable_by(|a, b| text[a.0..a.1].cmp(&text[b.0..b.1]));
        self.scratch.dedup_by(|a, b| text[a.0..a.1] == text[b.0..b.1]);

        if let Some(ts) = metric.timestamp
            && matches!(metric.kind, MetricType::Gauge | MetricType::Count)
        {
            self.add_timestamped(metric, host, ts);
            return;
        }

        let mut hasher = self.hasher.build_hasher();
        hasher.write(metric.name.as_bytes());
        hasher.write_u8(0xff);
        hasher.write(host.as_bytes());
        for &(start, end) in &self.scratch {
            hasher.write_u8(0xfe);
            hasher.write(&text.as_bytes()[start..end]);
        }
        hasher.write_u8(metric.kind as u8);
        let key = hasher.finish();
        if self.stats.is_some() {
            self.count_sample(key, metric, host, now);
        }

        let bucket_start = now - now.rem_euclid(BUCKET_SECONDS);
        let bucket = self.buckets.entry(bucket_start).or_default();
        let accumulator = match bucket.get_mut(&key) {
            Some(a) => a,
            None => {
                if !self.contexts.contains_key(&key) {
                    if self.contexts.len() >= self.settings.context_limit {
                        self.counts.context_limit_drops += 1;
                        return;
                    }
                    let mut tags: Vec<Box<str>> = self.scratch.iter().map(|&(s, e)| text[s..e].into()).collect();
                    for extra in &self.settings.extra_tags {
                        if !tags.iter().any(|t| **t == **extra) {
                            tags.push(extra.as_str().into());
                        }
                    }
                    self.contexts.insert(
                        key,
                        Context {
                            name: metric.name.into(),
                            host: host.into(),
                            tags: tags.into(),
                            kind: metric.kind,
                            last_counted: i64::MIN,
                        },
                    );
                }
                bucket.entry(key).or_insert_with(|| match metric.kind {
                    MetricType::Count => Accumulator::Count(0.0),
                    MetricType::Gauge => Accumulator::Gauge(0.0),
                    MetricType::Set => Accumulator::Set(HashSet::new()),
                    MetricType::Histogram => Accumulator::Histogram(Vec::new()),
                    MetricType::Distribution => Accumulator::Distribution(Box::default()),
                })
            }
        };
        let weight = 1.0 / metric.sample_rate;
        match accumulator {
            Accumulator::Set(members) => {
                if !members.contains(metric.values) {
                    members.insert(metric.values.into());
                }
            }
            accumulator => {
                // Values were checked when the line was parsed.
                for value in metric.numbers().flatten() {
                    match accumulator {
                        Accumulator::Count(sum) => *sum += value * weight,
                        Accumulator::Gauge(last) => *last = value,
                        Accumulator::Histogram(samples) => samples.push((value, weight)),
                        Accumulator::Distribution(d) => d.add(value, weight),
                        Accumulator::Set(_) => {}
                    }
                }
            }
        }
    }

    /// A gauge or count with its own timestamp: sent as it came, one point per value.
    fn add_timestamped(&mut self, metric: &MetricLine<'_>, host: &str, ts: i64) {
        let count = metric.kind == MetricType::Count;
        let points = metric
            .numbers()
            .flatten()
            .map(|v| (ts as f64, if count { v / metric.sample_rate } else { v }))
            .collect();
        let tags = self
            .scratch
            .iter()
            .map(|&(s, e)| metric.tags[s..e].to_string())
            .collect();
        let series = Series {
            metric: metric.name.to_string(),
            points,
            kind: if count { MetricKind::Count } else { MetricKind::Gauge },
            interval: None,
            host: Some(host_or(host, &self.settings.hostname)),
            tags: self.with_extra_tags(tags),
        };
        if self.pending.series.len() < MAX_PENDING {
            self.pending.series.push(series);
        } else {
            self.counts.pending_drops += 1;
        }
    }

    fn add_event(&mut self, line: &EventLine<'_>, now: i64) {
        if self.pending.events.len() >= MAX_PENDING {
            self.counts.pending_drops += 1;
            return;
        }
        let (host, tags) = self.host_and_tags(line.host, line.tags);
        self.pending.events.push(Event {
            title: line.title.to_string(),
            text: parse::unescape_newlines(line.text),
            date_happened: Some(line.timestamp.unwrap_or(now)),
            priority: if line.priority == Some("low") {
                EventPriority::Low
            } else {
                EventPriority::Normal
            },
            host: Some(host),
            tags,
            alert_type: line.alert_type.and_then(AlertType::from_name).unwrap_or_default(),
            aggregation_key: line.aggregation_key.map(str::to_string),
            source_type_name: line.source_type.map(str::to_string),
        });
    }

    fn add_service_check(&mut self, line: &ServiceCheckLine<'_>, now: i64) {
        if self.pending.service_checks.len() >= MAX_PENDING {
            self.counts.pending_drops += 1;
            return;
        }
        let (host, tags) = self.host_and_tags(line.host, line.tags);
        let status = match line.status {
            0 => CheckStatus::Ok,
            1 => CheckStatus::Warning,
            2 => CheckStatus::Critical,
            _ => CheckStatus::Unknown,
        };
        self.pending.service_checks.push(CheckRun {
            check: line.name.to_string(),
            host_name: host,
            timestamp: Some(line.timestamp.unwrap_or(now)),
            status,
            message: parse::unescape_newlines(line.message),
            tags,
        });
    }

    /// The host of an event or service check (`h:`, else a `host:` tag, else the agent's) and
    /// its other tags with `dogstatsd_tags` added.
    fn host_and_tags(&self, explicit_host: Option<&str>, field: &str) -> (String, Vec<String>) {
        let mut host = explicit_host.unwrap_or("");
        let mut tags = Vec::new();
        for tag in parse::tags(field) {
            match tag.strip_prefix("host:") {
                Some(h) if host.is_empty() => host = h,
                Some(_) => {}
                None if !tags.iter().any(|t| t == tag) => tags.push(tag.to_string()),
                None => {}
            }
        }
        (host_or(host, &self.settings.hostname), self.with_extra_tags(tags))
    }

    fn with_extra_tags(&self, mut tags: Vec<String>) -> Vec<String> {
        for extra in &self.settings.extra_tags {
            if !tags.contains(extra) {
                tags.push(extra.clone());
            }
        }
        tags
    }

    /// Takes every bucket closed at `now` (all of them when `force`, at shutdown), with the zero
    /// points of recent counters, and the waiting events, service checks and timestamped
    /// samples.
    pub fn flush(&mut self, now: i64, force: bool) -> Flushed {
        let mut out = std::mem::take(&mut self.pending);
        let closed_before = now - now.rem_euclid(BUCKET_SECONDS);
        let mut start = match (self.flushed_until, self.buckets.keys().next()) {
            (Some(until), _) => until,
            (None, Some(first)) => *first,
            (None, None) => closed_before,
        };
        // Zero-fill never reaches back further than the expiry.
        start = start.max(closed_before - self.settings.expiry_seconds - BUCKET_SECONDS);
        let last_bucket = self.buckets.keys().next_back().copied();
        let end = match last_bucket {
            Some(last) if force => (last + BUCKET_SECONDS).max(closed_before),
            _ => closed_before,
        };
        let mut bucket_start = start;
        while bucket_start < end {
            let bucket = self.buckets.remove(&bucket_start).unwrap_or_default();
            self.flush_bucket(bucket_start, bucket, &mut out);
            bucket_start += BUCKET_SECONDS;
        }
        // Buckets older than where this flush started (a clock step back) are flushed as they are.
        let stale: Vec<i64> = self.buckets.range(..end.min(start)).map(|(ts, _)| *ts).collect();
        for ts in stale {
            if let Some(bucket) = self.buckets.remove(&ts) {
                self.flush_bucket(ts, bucket, &mut out);
            }
        }
        if end > start || self.flushed_until.is_none() {
            self.flushed_until = Some(end.max(start));
        }
        self.forget_contexts(end);
        self.counts.series_flushed += out.series.len() as u64;
        self.counts.sketches_flushed += out.sketches.len() as u64;
        self.counts.events_flushed += out.events.len() as u64;
        self.counts.service_checks_flushed += out.service_checks.len() as u64;
        out
    }

    fn flush_bucket(&mut self, ts: i64, bucket: KeyMap<Accumulator>, out: &mut Flushed) {
        let interval = BUCKET_SECONDS;
        for (key, accumulator) in bucket {
            let Some(context) = self.contexts.get(&key) else {
                continue;
            };
            let host = context.host_or(&self.settings.hostname);
            let mut series = |suffix: &str, kind: MetricKind, value: f64| {
                out.series.push(series_of(context, &host, suffix, kind, ts, value));
            };
            match accumulator {
                Accumulator::Count(sum) => series("", MetricKind::Rate, sum / interval as f64),
                Accumulator::Gauge(last) => series("", MetricKind::Gauge, last),
                Accumulator::Set(members) => series("", MetricKind::Gauge, members.len() as f64),
                Accumulator::Histogram(mut samples) => histogram_series(
                    &mut samples,
                    &self.settings.histogram_aggregates,
                    &self.settings.histogram_percentiles,
                    interval as f64,
                    |suffix, kind, value| series(suffix, kind, value),
                ),
                Accumulator::Distribution(d) => out.sketches.push(Sketch {
                    metric: context.name.to_string(),
                    host: host.clone(),
                    tags: context.tags.iter().map(|t| t.to_string()).collect(),
                    dogsketches: vec![d.into_dogsketch(ts)],
                }),
            }
            if let Some(context) = self.contexts.get_mut(&key)
                && context.kind == MetricType::Count
            {
                context.last_counted = ts;
            }
        }
        // Counters seen within the expiry but not in this bucket report 0.
        for context in self.contexts.values() {
            if context.kind == MetricType::Count
                && context.last_counted != i64::MIN
                && context.last_counted < ts
                && ts - context.last_counted <= self.settings.expiry_seconds
            {
                let host = context.host_or(&self.settings.hostname);
                out.series
                    .push(series_of(context, &host, "", MetricKind::Rate, ts, 0.0));
            }
        }
    }

    /// Drops contexts no open bucket holds, except counters still within their expiry.
    fn forget_contexts(&mut self, flushed_until: i64) {
        let buckets = &self.buckets;
        let expiry = self.settings.expiry_seconds;
        self.contexts.retain(|key, context| {
            buckets.values().any(|b| b.contains_key(key))
                || (context.kind == MetricType::Count
                    && context.last_counted != i64::MIN
                    && flushed_until - BUCKET_SECONDS - context.last_counted < expiry)
        });
    }
}

fn series_of(context: &Context, host: &str, suffix: &str, kind: MetricKind, ts: i64, value: f64) -> Series {
    Series {
        metric: format!("{}{suffix}", context.name),
        points: vec![(ts as f64, value)],
        kind,
        interval: (kind != MetricKind::Gauge).then_some(BUCKET_SECONDS as u64),
        host: Some(host.to_string()),
        tags: context.tags.iter().map(|t| t.to_string()).collect(),
    }
}

/// A histogram bucket's aggregates and percentiles, by Datadog's rules: samples sorted by value,
/// each weighted by 1/sample rate; the median is the first value whose running weight passes
/// (count − 1) / 2, a percentile p the first whose running weight passes p·count − 1.
/// `samples` are `(value, weight)`; `.count` is a rate over `interval_secs`. The checks' sender
/// shares it, as Datadog's check sampler shares its histogram with DogStatsD.
pub(crate) fn histogram_series(
    samples: &mut [(f64, f64)],
    aggregates: &[HistogramAggregate],
    percentiles: &[f64],
    interval_secs: f64,
    mut emit: impl FnMut(&str, MetricKind, f64),
) {
    if samples.is_empty() {
        return;
    }
    samples.sort_by(|a, b| a.0.total_cmp(&b.0));
    let count: f64 = samples.iter().map(|s| s.1).sum();
    let sum: f64 = samples.iter().map(|s| s.0 * s.1).sum();
    let at_rank = |target: f64| {
        let mut weight = 0.0;
        for (value, w) in samples.iter() {
            weight += w;
            if weight > target {
                return *value;
            }
        }
        samples[samples.len() - 1].0
    };
    for aggregate in aggregates {
        let (kind, value) = match aggregate {
            HistogramAggregate::Max => (MetricKind::Gauge, samples[samples.len() - 1].0),
            HistogramAggregate::Min => (MetricKind::Gauge, samples[0].0),
            HistogramAggregate::Median => (MetricKind::Gauge, at_rank(((count - 1.0) / 2.0).trunc())),
            HistogramAggregate::Avg => (MetricKind::Gauge, sum / count),
            HistogramAggregate::Sum => (MetricKind::Gauge, sum),
            HistogramAggregate::Count => (MetricKind::Rate, count / interval_secs),
        };
        emit(aggregate.suffix(), kind, value);
    }
    for p in percentiles {
        let name = format!(".{}percentile", (p * 100.0 + 1e-9).floor() as u32);
        emit(&name, MetricKind::Gauge, at_rank((p * count - 1.0).trunc()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aggregator() -> Aggregator {
        Aggregator::new(AggregatorSettings {
            hostname: "agent-host".into(),
            extra_tags: vec!["team:core".into()],
            expiry_seconds: 300,
            context_limit: 1000,
            histogram_aggregates: ["max", "median", "avg", "count"]
                .into_iter()
                .filter_map(HistogramAggregate::from_name)
                .collect(),
            histogram_percentiles: vec![0.95],
        })
    }

    fn value(flushed: &Flushed, metric: &str) -> Vec<f64> {
        flushed
            .series
            .iter()
            .filter(|s| s.metric == metric)
            .map(|s| s.points[0].1)
            .collect()
    }

    const T0: i64 = 1_700_000_000;

    #[test]
    fn counts_are_rates_over_ten_seconds_with_sample_rates_applied() {
        let mut a = aggregator();
        for _ in 0..50 {
            a.add_datagram(b"hits:1|c|#env:prod", T0 + 1);
        }
        a.add_datagram(b"hits:1|c|@0.5|#env:prod", T0 + 2);
        // Not yet closed: nothing flushed.
        assert!(a.flush(T0 + 5, false).series.is_empty());
        let out = a.flush(T0 + 10, false);
        assert_eq!(value(&out, "hits"), [5.2]);
        let s = &out.series[0];
        assert_eq!(
            (s.kind, s.interval, s.host.as_deref()),
            (MetricKind::Rate, Some(10), Some("agent-host"))
        );
        assert_eq!(s.tags, ["env:prod", "team:core"]);
        assert_eq!(s.points[0].0, T0 as f64);
    }

    #[test]
    fn counters_report_zero_until_the_expiry_then_are_forgotten() {
        let mut a = aggregator();
        a.add_datagram(b"hits:3|c", T0);
        assert_eq!(value(&a.flush(T0 + 10, false), "hits"), [0.3]);
        // 100 s later: one zero per 10 s bucket in between.
        assert_eq!(value(&a.flush(T0 + 110, false), "hits"), [0.0; 10]);
        assert_eq!(value(&a.flush(T0 + 400, false), "hits").len(), 20);
        assert!(value(&a.flush(T0 + 500, false), "hits").is_empty());
        assert_eq!(a.context_count(), 0);
    }

    #[test]
    fn gauges_keep_the_last_value_and_sets_count_unique_members() {
        let mut a = aggregator();
        a.add_datagram(b"temp:1|g\ntemp:7|g|@0.1\nusers:a|s\nusers:b|s\nusers:a|s", T0 + 3);
        let out = a.flush(T0 + 10, false);
        assert_eq!(value(&out, "temp"), [7.0]);
        assert_eq!(value(&out, "users"), [2.0]);
        assert_eq!(a.counts().metric_packets, 5);
    }

    #[test]
    fn histograms_send_datadogs_aggregates_and_percentiles() {
        let mut a = aggregator();
        let lines: Vec<String> = (1..=100).map(|v| format!("lat:{v}|ms")).collect();
        a.add_datagram(lines.join("\n").as_bytes(), T0);
        let out = a.flush(T0 + 10, false);
        assert_eq!(value(&out, "lat.max"), [100.0]);
        assert_eq!(value(&out, "lat.median"), [50.0]);
        assert_eq!(value(&out, "lat.avg"), [50.5]);
        assert_eq!(value(&out, "lat.count"), [10.0]);
        assert_eq!(value(&out, "lat.95percentile"), [95.0]);
        // Multiple values in one line (protocol 1.1).
        a.add_datagram(b"lat:1:2:3|h", T0 + 20);
        assert_eq!(value(&a.flush(T0 + 30, false), "lat.max"), [3.0]);
    }

    #[test]
    fn distributions_become_sketches_with_bins_and_summary() {
        let mut a = aggregator();
        for v in [-2.0, 0.0, 1.0, 10.0, 100.0] {
            a.add_datagram(format!("size:{v}|d|#host:web-1").as_bytes(), T0);
        }
        let out = a.flush(T0 + 10, false);
        assert!(out.series.is_empty());
        let sketch = &out.sketches[0];
        assert_eq!((sketch.metric.as_str(), sketch.host.as_str()), ("size", "web-1"));
        let d = &sketch.dogsketches[0];
        assert_eq!((d.ts, d.cnt, d.min, d.max, d.sum), (T0, 5, -2.0, 100.0, 109.0));
        assert_eq!(d.n.iter().sum::<u32>(), 5);
        assert_eq!(d.k.iter().filter(|k| **k < 0).count(), 1);
        assert!(d.k.contains(&0));
    }

    #[test]
    fn host_tag_sets_the_host_and_tag_order_does_not_split_contexts() {
        let mut a = aggregator();
        a.add_datagram(b"hits:1|c|#b:2,a:1,host:web-9\nhits:1|c|#a:1,b:2,a:1,host:web-9", T0);
        let out = a.flush(T0 + 10, false);
        assert_eq!(out.series.len(), 1);
        assert_eq!(out.series[0].host.as_deref(), Some("web-9"));
        assert_eq!(out.series[0].tags, ["a:1", "b:2", "team:core"]);
        assert_eq!(out.series[0].points[0].1, 0.2);
    }

    #[test]
    fn timestamped_gauges_and_counts_pass_through_unaggregated() {
        let mut a = aggregator();
        a.add_datagram(b"g:5|g|T1600000000\nc:4|c|@0.5|T1600000005", T0);
        let out = a.flush(T0, false);
        assert_eq!(out.series.len(), 2);
        assert_eq!(out.series[0].points, [(1_600_000_000.0, 5.0)]);
        assert_eq!(
            (out.series[1].kind, out.series[1].points[0].1),
            (MetricKind::Count, 8.0)
        );
    }

    #[test]
    fn malformed_lines_are_counted_and_the_rest_of_the_datagram_kept() {
        let mut a = aggregator();
        a.add_datagram(b"good:1|c\nbad line\ngood:2|c\n_e{9,1}:x|y\n_sc|x|9", T0);
        let c = a.counts();
        assert_eq!((c.metric_packets, c.metric_parse_errors), (2, 1));
        assert_eq!((c.event_parse_errors, c.service_check_parse_errors), (1, 1));
        assert_eq!(value(&a.flush(T0 + 10, false), "good"), [0.3]);
    }

    #[test]
    fn the_context_limit_drops_new_contexts_and_counts_them() {
        let mut a = aggregator();
        for i in 0..1500 {
            a.add_datagram(format!("m:1|c|#id:{i}").as_bytes(), T0);
        }
        a.add_datagram(b"m:1|c|#id:0", T0);
        assert_eq!(a.context_count(), 1000);
        assert_eq!(a.counts().context_limit_drops, 500);
    }

    #[test]
    fn events_and_service_checks_are_sent_at_the_next_flush() {
        let mut a = aggregator();
        a.add_datagram(
            b"_e{6,7}:Deploy|v2\\nout|t:error|#env:prod,host:web-2\n_sc|db.up|2|#db:main|m:down",
            T0,
        );
        let out = a.flush(T0, false);
        let e = &out.events[0];
        assert_eq!(
            (e.title.as_str(), e.text.as_str(), e.alert_type),
            ("Deploy", "v2\nout", AlertType::Error)
        );
        assert_eq!((e.host.as_deref(), e.date_happened), (Some("web-2"), Some(T0)));
        assert_eq!(e.tags, ["env:prod", "team:core"]);
        let c = &out.service_checks[0];
        assert_eq!(
            (c.check.as_str(), c.status, c.message.as_str()),
            ("db.up", CheckStatus::Critical, "down")
        );
        assert_eq!(c.host_name, "agent-host");
    }

    #[test]
    fn a_forced_flush_sends_open_buckets() {
        let mut a = aggregator();
        a.add_datagram(b"temp:3|g", T0 + 4);
        assert_eq!(value(&a.flush(T0 + 5, true), "temp"), [3.0]);
    }
}
