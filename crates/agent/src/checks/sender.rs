//! The sender: where a check's values become series, with the semantics of Datadog's check
//! sampler (pkg/aggregator/check_sampler.go and pkg/metrics).
//!
//! A check calls [`Sender::gauge`], [`Sender::rate`], … while it runs; the runner then calls
//! [`Sender::commit`] once, which turns the run's samples into series:
//!
//! - gauge: the last value of the run;
//! - count: the sum of the run's values, sent as a count;
//! - rate: the per-second change since the previous run, sent as a gauge; nothing on the first
//!   run, nor when the counter went backwards (a reset or a wrap);
//! - monotonic_count: the sum of the positive changes since the previous sample, sent as a
//!   count; the first sample is dropped unless `flush_first_value`;
//! - histogram: `histogram_aggregates` and `histogram_percentiles` of the run's values.
//!
//! The sender adds the instance's tags (host tags, `tags`, `service:`) to everything and fills in
//! the agent's hostname, unless the instance sets `empty_default_hostname`. Rate and
//! monotonic_count remember their previous sample per context (name, host, tags); a context
//! missing from a run is forgotten, so a device that goes away takes no memory.

use std::collections::{BTreeMap, HashMap};

use dogwatch_model::{CheckRun, CheckStatus, Event, MetricKind, Series};

use super::CheckOutput;
use crate::dogstatsd::aggregate::{HistogramAggregate, histogram_series};

/// How a submitted value is aggregated, as in Datadog's `aggregator` module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleKind {
    /// The last value.
    Gauge,
    /// The sum, sent as a count.
    Count,
    /// The per-second change of a counter, sent as a gauge.
    Rate,
    /// The sum of a counter's positive changes, sent as a count.
    MonotonicCount,
    /// Aggregates and percentiles of the run's values.
    Histogram,
}

/// What the sender adds to everything a check instance submits.
#[derive(Debug, Clone)]
pub struct SenderSettings {
    /// The agent's hostname, used when a sample names none.
    pub hostname: String,
    /// Tags added to every sample: host tags, the instance's `tags`, `service:<service>`.
    pub tags: Vec<String>,
    /// The instance's `empty_default_hostname`: samples that name no host are sent without one.
    pub empty_default_hostname: bool,
    /// The instance's collection interval in seconds, the interval of its counts.
    pub interval_secs: u64,
    /// `histogram_aggregates`.
    pub histogram_aggregates: Vec<HistogramAggregate>,
    /// `histogram_percentiles`, each in (0, 1).
    pub histogram_percentiles: Vec<f64>,
}

impl SenderSettings {
    /// Settings with Datadog's histogram defaults (avg, median, max, count, 95th percentile).
    pub fn new(hostname: String, tags: Vec<String>, interval_secs: u64) -> SenderSettings {
        SenderSettings {
            hostname,
            tags,
            empty_default_hostname: false,
            interval_secs: interval_secs.max(1),
            histogram_aggregates: vec![
                HistogramAggregate::Max,
                HistogramAggregate::Median,
                HistogramAggregate::Avg,
                HistogramAggregate::Count,
            ],
            histogram_percentiles: vec![0.95],
        }
    }
}

/// One submitted value, waiting for the run's commit.
#[derive(Debug, Clone)]
struct Sample {
    kind: SampleKind,
    name: String,
    value: f64,
    tags: Vec<String>,
    host: Option<String>,
    flush_first_value: bool,
}

/// The previous sample of a rate or monotonic_count context.
#[derive(Debug, Clone, Copy)]
struct Previous {
    value: f64,
    time: f64,
}

/// Collects one check instance's submissions and turns them into series at each commit.
#[derive(Debug)]
pub struct Sender {
    settings: SenderSettings,
    samples: Vec<Sample>,
    service_checks: Vec<CheckRun>,
    events: Vec<Event>,
    previous: HashMap<String, Previous>,
    metadata: BTreeMap<String, String>,
    warnings: Vec<String>,
    failed_service_checks: Vec<CheckRun>,
}

impl Sender {
    /// A sender with no state.
    pub fn new(settings: SenderSettings) -> Sender {
        Sender {
            settings,
            samples: Vec::new(),
            service_checks: Vec::new(),
            events: Vec::new(),
            previous: HashMap::new(),
            metadata: BTreeMap::new(),
            warnings: Vec::new(),
            failed_service_checks: Vec::new(),
        }
    }

    /// The settings this sender applies.
    pub fn settings(&self) -> &SenderSettings {
        &self.settings
    }

    /// Submits `value` for `name` with `tags`, aggregated as `kind`, on `host` (`None` or empty:
    /// the agent's hostname). NaN and infinite values are dropped, as Datadog's sender drops them.
    pub fn submit(&mut self, kind: SampleKind, name: &str, value: f64, tags: &[String], host: Option<&str>) {
        self.push(kind, name, value, tags, host, false);
    }

    /// A gauge: the last value of the run.
    pub fn gauge(&mut self, name: &str, value: f64, tags: &[String]) {
        self.push(SampleKind::Gauge, name, value, tags, None, false);
    }

    /// A count: the sum of the run's values.
    pub fn count(&mut self, name: &str, value: f64, tags: &[String]) {
        self.push(SampleKind::Count, name, value, tags, None, false);
    }

    /// A rate: the per-second change of a counter since the previous run.
    pub fn rate(&mut self, name: &str, value: f64, tags: &[String]) {
        self.push(SampleKind::Rate, name, value, tags, None, false);
    }

    /// A monotonic count: the sum of a counter's positive changes since the previous sample.
    pub fn monotonic_count(&mut self, name: &str, value: f64, tags: &[String]) {
        self.push(SampleKind::MonotonicCount, name, value, tags, None, false);
    }

    /// A monotonic count whose first sample counts in full (`flush_first_value=True`).
    pub fn monotonic_count_flush_first(&mut self, name: &str, value: f64, tags: &[String]) {
        self.push(SampleKind::MonotonicCount, name, value, tags, None, true);
    }

    /// A histogram sample.
    pub fn histogram(&mut self, name: &str, value: f64, tags: &[String]) {
        self.push(SampleKind::Histogram, name, value, tags, None, false);
    }

    /// A service check run with `status` and `message`.
    pub fn service_check(&mut self, name: &str, status: CheckStatus, tags: &[String], message: &str) {
        self.service_check_on(name, status, tags, message, None);
    }

    /// A service check run on `host` (`None` or empty: the agent's hostname).
    pub fn service_check_on(
        &mut self,
        name: &str,
        status: CheckStatus,
        tags: &[String],
        message: &str,
        host: Option<&str>,
    ) {
        let host = match host.filter(|h| !h.is_empty()) {
            Some(h) => h.to_string(),
            None if self.settings.empty_default_hostname => String::new(),
            None => self.settings.hostname.clone(),
        };
        self.service_checks.push(CheckRun {
            check: name.to_string(),
            host_name: host,
            timestamp: None,
            status,
            message: message.to_string(),
            tags: self.tags_with(tags),
        });
    }

    /// An event; the instance's tags are added and the host filled in when it names none.
    pub fn event(&mut self, mut event: Event) {
        event.tags = self.tags_with(&event.tags);
        if event.host.as_deref().is_none_or(str::is_empty) && !self.settings.empty_default_hostname {
            event.host = Some(self.settings.hostname.clone());
        }
        self.events.push(event);
    }

    /// Metadata shown in the Collector status (`version.raw: 7.0.15`), kept until replaced.
    pub fn set_metadata(&mut self, name: &str, value: &str) {
        self.metadata.insert(name.to_string(), value.to_string());
    }

    /// Datadog's `set_metadata('version', raw)` after its version transformer: `version.major`,
    /// `.minor`, `.patch`, `.raw` and `.scheme: semver`.
    pub fn set_version_metadata(&mut self, raw: &str, (major, minor, patch): (u64, u64, u64)) {
        self.set_metadata("version.major", &major.to_string());
        self.set_metadata("version.minor", &minor.to_string());
        self.set_metadata("version.patch", &patch.to_string());
        self.set_metadata("version.raw", raw);
        self.set_metadata("version.scheme", "semver");
    }

    /// A warning for this run, shown in the Collector status.
    pub fn warning(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }

    /// The metadata set so far.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// Whether the last run submitted rates or monotonic counts, whose values need a second
    /// run (`dogwatch agent check` then runs it again a second later).
    pub fn needs_second_run(&self) -> bool {
        !self.previous.is_empty()
    }

    /// Drops what the run submitted without sending it (the run failed), except its service
    /// checks: those are kept for [`Sender::take_failed_service_checks`], as Datadog's agent still
    /// sends the `can_connect: CRITICAL` a failing check submitted before it raised.
    pub fn discard(&mut self) -> Vec<String> {
        self.samples.clear();
        self.events.clear();
        let ts = super::unix_now().floor() as i64;
        let mut kept = std::mem::take(&mut self.service_checks);
        for sc in &mut kept {
            sc.timestamp = Some(ts);
        }
        self.failed_service_checks = kept;
        std::mem::take(&mut self.warnings)
    }

    /// The service checks of the last failed run, to be sent all the same.
    pub fn take_failed_service_checks(&mut self) -> Vec<CheckRun> {
        std::mem::take(&mut self.failed_service_checks)
    }

    /// Turns the run's samples into series stamped `now` (Unix seconds), and returns them with
    /// the run's service checks, events and warnings.
    pub fn commit(&mut self, now: f64) -> (CheckOutput, Vec<String>) {
        let ts = now.floor();
        let samples = std::mem::take(&mut self.samples);
        // Group by context, keeping the order in which contexts first appeared.
        let mut order: Vec<String> = Vec::new();
        let mut groups: HashMap<String, Vec<Sample>> = HashMap::new();
        for sample in samples {
            let key = context_key(&sample);
            groups
                .entry(key.clone())
                .or_insert_with(|| {
                    order.push(key);
                    Vec::new()
                })
                .push(sample);
        }
        let mut previous = HashMap::new();
        let mut series = Vec::new();
        for key in order {
            let group = groups.remove(&key).unwrap_or_default();
            let Some(first) = group.first() else { continue };
            let (kind, name, host, tags) = (first.kind, first.name.clone(), first.host.clone(), first.tags.clone());
            let host = self.host_of(host.as_deref());
            let tags = self.tags_with(&tags);
            let interval = self.settings.interval_secs;
            let mut emit = |suffix: &str, metric_kind: MetricKind, value: f64| {
                series.push(Series {
                    metric: format!("{name}{suffix}"),
                    points: vec![(ts, value)],
                    kind: metric_kind,
                    interval: (metric_kind != MetricKind::Gauge).then_some(interval),
                    host: host.clone(),
                    tags: tags.clone(),
                });
            };
            let last = group[group.len() - 1].value;
            match kind {
                SampleKind::Gauge => emit("", MetricKind::Gauge, last),
                SampleKind::Count => emit("", MetricKind::Count, group.iter().map(|s| s.value).sum()),
                SampleKind::Rate => {
                    if let Some(prev) = self.previous.get(&key)
                        && now > prev.time
                        && last >= prev.value
                    {
                        emit("", MetricKind::Gauge, (last - prev.value) / (now - prev.time));
                    }
                    previous.insert(key, Previous { value: last, time: now });
                }
                SampleKind::MonotonicCount => {
                    let mut prev = self.previous.get(&key).map(|p| p.value);
                    let mut total = 0.0;
                    let mut counted = false;
                    for sample in &group {
                        match prev {
                            Some(p) => {
                                total += (sample.value - p).max(0.0);
                                counted = true;
                            }
                            None if sample.flush_first_value => {
                                total += sample.value;
                                counted = true;
                            }
                            None => {}
                        }
                        prev = Some(sample.value);
                    }
                    if counted {
                        emit("", MetricKind::Count, total);
                    }
                    previous.insert(key, Previous { value: last, time: now });
                }
                SampleKind::Histogram => {
                    let mut values: Vec<(f64, f64)> = group.iter().map(|s| (s.value, 1.0)).collect();
                    histogram_series(
                        &mut values,
                        &self.settings.histogram_aggregates,
                        &self.settings.histogram_percentiles,
                        interval as f64,
                        &mut emit,
                    );
                }
            }
        }
        self.previous = previous;
        let mut service_checks = std::mem::take(&mut self.service_checks);
        for sc in &mut service_checks {
            sc.timestamp = Some(ts as i64);
        }
        let mut events = std::mem::take(&mut self.events);
        for event in &mut events {
            event.date_happened.get_or_insert(ts as i64);
        }
        let output = CheckOutput {
            series,
            service_checks,
            events,
        };
        (output, std::mem::take(&mut self.warnings))
    }

    fn push(
        &mut self,
        kind: SampleKind,
        name: &str,
        value: f64,
        tags: &[String],
        host: Option<&str>,
        flush_first: bool,
    ) {
        if !value.is_finite() {
            return;
        }
        self.samples.push(Sample {
            kind,
            name: name.to_string(),
            value,
            tags: tags.to_vec(),
            host: host.filter(|h| !h.is_empty()).map(str::to_string),
            flush_first_value: flush_first,
        });
    }

    fn host_of(&self, host: Option<&str>) -> Option<String> {
        match host {
            Some(h) => Some(h.to_string()),
            None if self.settings.empty_default_hostname => None,
            None => Some(self.settings.hostname.clone()),
        }
    }

    fn tags_with(&self, tags: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(tags.len() + self.settings.tags.len());
        for tag in tags.iter().chain(&self.settings.tags) {
            if !tag.is_empty() && !out.contains(tag) {
                out.push(tag.clone());
            }
        }
        out
    }
}

/// A context's key: kind, name, host and sorted tags.
fn context_key(sample: &Sample) -> String {
    let mut tags: Vec<&str> = sample.tags.iter().map(String::as_str).collect();
    tags.sort_unstable();
    format!(
        "{:?}\u{0}{}\u{0}{}\u{0}{}",
        sample.kind,
        sample.name,
        sample.host.as_deref().unwrap_or(""),
        tags.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> Sender {
        Sender::new(SenderSettings::new("h".into(), vec!["env:test".into()], 15))
    }

    fn values(out: &CheckOutput, metric: &str) -> Vec<(MetricKind, f64)> {
        out.series
            .iter()
            .filter(|s| s.metric == metric)
            .map(|s| (s.kind, s.points[0].1))
            .collect()
    }

    #[test]
    fn a_gauge_sends_the_last_value_with_host_and_instance_tags() {
        let mut s = sender();
        s.gauge("g", 1.0, &["a:1".into()]);
        s.gauge("g", 2.0, &["a:1".into()]);
        let (out, _) = s.commit(100.0);
        assert_eq!(values(&out, "g"), [(MetricKind::Gauge, 2.0)]);
        assert_eq!(out.series[0].host.as_deref(), Some("h"));
        assert_eq!(out.series[0].tags, ["a:1", "env:test"]);
    }

    #[test]
    fn a_rate_has_no_point_on_the_first_run_then_the_per_second_change() {
        let mut s = sender();
        s.rate("r", 100.0, &[]);
        assert!(values(&s.commit(100.0).0, "r").is_empty());
        s.rate("r", 250.0, &[]);
        assert_eq!(values(&s.commit(115.0).0, "r"), [(MetricKind::Gauge, 10.0)]);
    }

    #[test]
    fn a_rate_whose_counter_went_backwards_sends_nothing_and_starts_over() {
        let mut s = sender();
        s.rate("r", 100.0, &[]);
        s.commit(100.0);
        s.rate("r", 5.0, &[]);
        assert!(values(&s.commit(110.0).0, "r").is_empty());
        s.rate("r", 25.0, &[]);
        assert_eq!(values(&s.commit(120.0).0, "r"), [(MetricKind::Gauge, 2.0)]);
    }

    #[test]
    fn a_monotonic_count_drops_the_first_sample_and_ignores_resets() {
        let mut s = sender();
        s.monotonic_count("m", 10.0, &[]);
        assert!(values(&s.commit(100.0).0, "m").is_empty());
        s.monotonic_count("m", 15.0, &[]);
        assert_eq!(values(&s.commit(115.0).0, "m"), [(MetricKind::Count, 5.0)]);
        s.monotonic_count("m", 3.0, &[]);
        assert_eq!(values(&s.commit(130.0).0, "m"), [(MetricKind::Count, 0.0)]);
        s.monotonic_count("m", 4.0, &[]);
        assert_eq!(values(&s.commit(145.0).0, "m"), [(MetricKind::Count, 1.0)]);
    }

    #[test]
    fn flush_first_value_counts_the_first_sample() {
        let mut s = sender();
        s.monotonic_count_flush_first("m", 10.0, &[]);
        assert_eq!(values(&s.commit(100.0).0, "m"), [(MetricKind::Count, 10.0)]);
    }

    #[test]
    fn a_count_sums_the_run() {
        let mut s = sender();
        s.count("c", 2.0, &[]);
        s.count("c", 3.0, &[]);
        let (out, _) = s.commit(100.0);
        assert_eq!(values(&out, "c"), [(MetricKind::Count, 5.0)]);
        assert_eq!(out.series[0].interval, Some(15));
    }

    #[test]
    fn a_histogram_sends_datadogs_default_aggregates() {
        let mut s = sender();
        for v in 1..=100 {
            s.histogram("h", v as f64, &[]);
        }
        let (out, _) = s.commit(100.0);
        let names: Vec<&str> = out.series.iter().map(|s| s.metric.as_str()).collect();
        assert_eq!(names, ["h.max", "h.median", "h.avg", "h.count", "h.95percentile"]);
        assert_eq!(values(&out, "h.max"), [(MetricKind::Gauge, 100.0)]);
        assert_eq!(values(&out, "h.avg"), [(MetricKind::Gauge, 50.5)]);
        assert_eq!(values(&out, "h.95percentile"), [(MetricKind::Gauge, 95.0)]);
        assert_eq!(values(&out, "h.count"), [(MetricKind::Rate, 100.0 / 15.0)]);
    }

    #[test]
    fn histogram_settings_choose_the_aggregates() {
        let mut settings = SenderSettings::new("h".into(), vec![], 10);
        settings.histogram_aggregates = vec![HistogramAggregate::Min, HistogramAggregate::Sum];
        settings.histogram_percentiles = vec![0.5, 0.99];
        let mut s = Sender::new(settings);
        s.histogram("h", 1.0, &[]);
        s.histogram("h", 3.0, &[]);
        let (out, _) = s.commit(100.0);
        let names: Vec<&str> = out.series.iter().map(|s| s.metric.as_str()).collect();
        assert_eq!(names, ["h.min", "h.sum", "h.50percentile", "h.99percentile"]);
    }

    #[test]
    fn empty_default_hostname_sends_no_host() {
        let mut settings = SenderSettings::new("h".into(), vec![], 15);
        settings.empty_default_hostname = true;
        let mut s = Sender::new(settings);
        s.gauge("g", 1.0, &[]);
        s.submit(SampleKind::Gauge, "other", 1.0, &[], Some("db-1"));
        s.service_check("sc", CheckStatus::Ok, &[], "");
        let (out, _) = s.commit(100.0);
        assert_eq!(out.series[0].host, None);
        assert_eq!(out.series[1].host.as_deref(), Some("db-1"));
        assert_eq!(out.service_checks[0].host_name, "");
    }

    #[test]
    fn contexts_are_told_apart_by_tags_and_forgotten_when_missing() {
        let mut s = sender();
        s.rate("r", 1.0, &["device:a".into()]);
        s.rate("r", 1.0, &["device:b".into()]);
        s.commit(100.0);
        s.rate("r", 11.0, &["device:a".into()]);
        let (out, _) = s.commit(110.0);
        assert_eq!(values(&out, "r"), [(MetricKind::Gauge, 1.0)]);
        s.rate("r", 50.0, &["device:b".into()]);
        assert!(values(&s.commit(120.0).0, "r").is_empty(), "device:b was forgotten");
    }

    #[test]
    fn non_finite_values_are_dropped() {
        let mut s = sender();
        s.gauge("g", f64::NAN, &[]);
        s.gauge("g", f64::INFINITY, &[]);
        assert!(s.commit(100.0).0.series.is_empty());
    }
}
