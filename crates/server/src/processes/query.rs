//! Queries over the live state: a sorted page of processes, facets, group-by and scatter
//! data, each for the processes a [`ProcessFilter`] selects on the hosts that are not stale.

use rustc_hash::FxHashMap as HashMap;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::fields::{Field, SortValue, round2};
use super::filter::ProcessFilter;
use super::parallel;
use crate::processes::live::{LiveProcesses, Snapshot};

/// The facets listed first and in this order (Datadog's Live Processes facet panel); other
/// tag keys follow alphabetically.
pub const DEFAULT_FACETS: [&str; 7] = ["host", "user", "command", "service", "env", "version", "container_id"];

/// A host whose agent stopped sending processes: left out of results, and said so.
#[derive(Debug, Clone, Serialize)]
pub struct StaleHost {
    /// The hostname.
    pub hostname: String,
    /// When its last snapshot arrived (ms since the epoch).
    pub last_received_ms: i64,
}

/// The hosts a query reads: every fresh snapshot, by hostname, and the stale ones named.
pub struct LiveView {
    /// Fresh snapshots, sorted by hostname.
    pub snapshots: Vec<Arc<Snapshot>>,
    /// Hosts whose snapshot is stale, sorted by hostname.
    pub stale: Vec<StaleHost>,
}

impl LiveView {
    /// The live state as of `now_ms`.
    pub fn new(live: &LiveProcesses, now_ms: i64) -> LiveView {
        LiveView::from_snapshots(live.snapshots(), now_ms)
    }

    /// A view of `snapshots` as of `now_ms`.
    pub fn from_snapshots(snapshots: Vec<Arc<Snapshot>>, now_ms: i64) -> LiveView {
        let (mut fresh, stale): (Vec<_>, Vec<_>) = snapshots.into_iter().partition(|s| !s.is_stale(now_ms));
        fresh.sort_by(|a, b| a.host.hostname.cmp(&b.host.hostname));
        let mut stale: Vec<StaleHost> = stale
            .into_iter()
            .map(|s| StaleHost {
                hostname: s.host.hostname.clone(),
                last_received_ms: s.received_at_ms,
            })
            .collect();
        stale.sort_by(|a, b| a.hostname.cmp(&b.hostname));
        LiveView {
            snapshots: fresh,
            stale,
        }
    }

    /// The matching processes, as indices per snapshot.
    pub fn select(&self, filter: &ProcessFilter) -> Selection<'_> {
        let work = self.snapshots.iter().map(|s| s.processes.len()).sum();
        let hits = parallel::map(&self.snapshots, work, |s| filter.select(s));
        Selection { view: self, hits }
    }

    /// The newest collection time among the fresh hosts.
    pub fn collected_at_ms(&self) -> Option<i64> {
        self.snapshots.iter().map(|s| s.collected_at_ms).max()
    }
}

/// The processes a filter selected: for each snapshot of the view, the indices that match.
pub struct Selection<'a> {
    view: &'a LiveView,
    hits: Vec<Vec<u32>>,
}

/// How to order and cut the list.
#[derive(Debug, Clone)]
pub struct ListRequest {
    /// The sort field.
    pub sort: Field,
    /// Largest first.
    pub descending: bool,
    /// Rows to skip.
    pub offset: usize,
    /// Rows to return.
    pub limit: usize,
    /// The fields of each row (`host`, `pid` and `start` always come too: they identify it).
    pub columns: Vec<Field>,
}

/// A page of processes.
#[derive(Debug, Serialize)]
pub struct ListPage {
    /// Matching processes on fresh hosts.
    pub total: usize,
    /// The rows, each an object of the chosen columns.
    pub processes: Vec<Map<String, Value>>,
}

/// One value of a facet.
#[derive(Debug, Serialize, PartialEq)]
pub struct FacetValue {
    /// The tag value.
    pub value: String,
    /// Matching processes with it.
    pub count: usize,
}

/// The top values of one tag key among the matching processes.
#[derive(Debug, Serialize)]
pub struct Facet {
    /// The tag key.
    pub key: String,
    /// The most frequent values, most frequent first (ties by value).
    pub values: Vec<FacetValue>,
    /// How many more distinct values there are.
    pub other_values: usize,
    /// Matching processes without this key.
    pub missing: usize,
}

/// Aggregates of one metric over a group.
#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq)]
pub struct Aggregates {
    /// Sum of readable values.
    pub sum: f64,
    /// Mean of readable values (0 when none).
    pub avg: f64,
    /// Largest readable value (0 when none).
    pub max: f64,
    /// Smallest readable value (0 when none).
    pub min: f64,
    /// Processes with a readable value.
    pub readable: usize,
}

/// One aggregation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    /// Sum.
    Sum,
    /// Mean.
    Avg,
    /// Maximum.
    Max,
    /// Minimum.
    Min,
}

impl Aggregation {
    /// Every aggregation's name, for messages.
    pub const NAMES: &'static str = "sum, avg, max, min";

    /// The aggregation called `name`.
    pub fn from_name(name: &str) -> Option<Aggregation> {
        Some(match name {
            "sum" => Aggregation::Sum,
            "avg" => Aggregation::Avg,
            "max" => Aggregation::Max,
            "min" => Aggregation::Min,
            _ => return None,
        })
    }

    /// Picks this aggregation out of `a`.
    pub fn of(self, a: &Aggregates) -> f64 {
        match self {
            Aggregation::Sum => a.sum,
            Aggregation::Avg => a.avg,
            Aggregation::Max => a.max,
            Aggregation::Min => a.min,
        }
    }
}

/// What to order groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupOrder {
    /// Most processes first.
    Count,
    /// Largest aggregate of a metric first.
    Metric(Field, Aggregation),
}

/// How to group.
#[derive(Debug, Clone)]
pub struct GroupRequest {
    /// Tag keys to group by, in order.
    pub by: Vec<String>,
    /// Metrics to aggregate.
    pub metrics: Vec<Field>,
    /// Group order.
    pub order: GroupOrder,
    /// Groups to return.
    pub limit: usize,
}

/// One group.
#[derive(Debug, Serialize)]
pub struct Group {
    /// The group's value of each `by` key; `null` for processes without the key.
    pub tags: Map<String, Value>,
    /// Processes in the group.
    pub count: usize,
    /// Hosts the group's processes run on.
    pub hosts: usize,
    /// Aggregates per metric name.
    pub metrics: BTreeMap<&'static str, Aggregates>,
}

/// The groups of a selection.
#[derive(Debug, Serialize)]
pub struct Groups {
    /// Matching processes.
    pub total: usize,
    /// How many groups there are in all.
    pub total_groups: usize,
    /// The first `limit` groups in order.
    pub groups: Vec<Group>,
}

/// One dot of a scatter plot.
#[derive(Debug, Serialize)]
pub struct ScatterPoint {
    /// The group (or, ungrouped, `host` and `pid` of the one process).
    pub group: Map<String, Value>,
    /// The x metric aggregated over the group.
    pub x: f64,
    /// The y metric aggregated over the group.
    pub y: f64,
    /// Processes in the group.
    pub count: usize,
}

/// How to draw a scatter plot.
#[derive(Debug, Clone)]
pub struct ScatterRequest {
    /// The x metric.
    pub x: Field,
    /// The y metric.
    pub y: Field,
    /// How a group's values become one dot.
    pub aggregation: Aggregation,
    /// Tag keys to group by; empty plots one dot per process.
    pub by: Vec<String>,
    /// Dots to return at most (the groups with most processes).
    pub limit: usize,
}

/// A scatter plot's dots.
#[derive(Debug, Serialize)]
pub struct Scatter {
    /// Matching processes.
    pub total: usize,
    /// Dots in all (before `limit`).
    pub total_points: usize,
    /// The dots.
    pub points: Vec<ScatterPoint>,
}

#[derive(Clone, Copy)]
struct Hit {
    snapshot: u32,
    process: u32,
}

#[derive(Default, Clone, Copy)]
struct Accumulator {
    sum: f64,
    max: f64,
    min: f64,
    readable: usize,
}

impl Accumulator {
    fn add(&mut self, value: f64) {
        if self.readable == 0 {
            (self.max, self.min) = (value, value);
        } else {
            self.max = self.max.max(value);
            self.min = self.min.min(value);
        }
        self.sum += value;
        self.readable += 1;
    }

    fn merge(&mut self, other: &Accumulator) {
        if other.readable == 0 {
            return;
        }
        if self.readable == 0 {
            *self = *other;
            return;
        }
        self.sum += other.sum;
        self.max = self.max.max(other.max);
        self.min = self.min.min(other.min);
        self.readable += other.readable;
    }

    fn finish(&self) -> Aggregates {
        let avg = if self.readable == 0 {
            0.0
        } else {
            self.sum / self.readable as f64
        };
        Aggregates {
            sum: round2(self.sum),
            avg: round2(avg),
            max: round2(self.max),
            min: round2(self.min),
            readable: self.readable,
        }
    }
}

#[derive(Clone)]
struct GroupAccumulator {
    count: usize,
    hosts: usize,
    metrics: Vec<Accumulator>,
}

impl GroupAccumulator {
    fn new(metrics: usize) -> GroupAccumulator {
        GroupAccumulator {
            count: 0,
            hosts: 0,
            metrics: vec![Accumulator::default(); metrics],
        }
    }
}

fn compare_sort_values(a: &SortValue<'_>, b: &SortValue<'_>) -> Ordering {
    match (a, b) {
        (SortValue::Number(x), SortValue::Number(y)) => x.total_cmp(y),
        (SortValue::Text(x), SortValue::Text(y)) => x.cmp(y),
        (SortValue::Number(_), SortValue::Text(_)) => Ordering::Less,
        (SortValue::Text(_), SortValue::Number(_)) => Ordering::Greater,
    }
}

impl Selection<'_> {
    /// How many processes matched.
    pub fn total(&self) -> usize {
        self.hits.iter().map(Vec::len).sum()
    }

    fn iter(&self) -> impl Iterator<Item = Hit> + '_ {
        self.hits.iter().enumerate().flat_map(|(s, hits)| {
            hits.iter().map(move |&p| Hit {
                snapshot: s as u32,
                process: p,
            })
        })
    }

    /// The `(snapshot, process index)` of every match, for callers that need the records.
    pub fn each(&self) -> impl Iterator<Item = (&Snapshot, usize)> + '_ {
        self.iter()
            .map(|h| (&*self.view.snapshots[h.snapshot as usize], h.process as usize))
    }

    /// One sorted page.
    pub fn list(&self, request: &ListRequest) -> ListPage {
        let snapshots = &self.view.snapshots;
        let key = |h: &Hit| {
            let s = &snapshots[h.snapshot as usize];
            let i = h.process as usize;
            request
                .sort
                .sort_value(&s.host.hostname, &s.processes[i], &s.index.command_lines[i])
        };
        let mut keyed: Vec<(SortValue<'_>, Hit)> = self.iter().map(|h| (key(&h), h)).collect();
        let pid = |h: &Hit| snapshots[h.snapshot as usize].processes[h.process as usize].pid;
        let order = |a: &(SortValue<'_>, Hit), b: &(SortValue<'_>, Hit)| {
            let by_value = compare_sort_values(&a.0, &b.0);
            let by_value = if request.descending {
                by_value.reverse()
            } else {
                by_value
            };
            by_value
                .then(a.1.snapshot.cmp(&b.1.snapshot))
                .then_with(|| pid(&a.1).cmp(&pid(&b.1)))
        };
        let end = request.offset.saturating_add(request.limit).min(keyed.len());
        if end == 0 {
            keyed.clear();
        } else if end < keyed.len() {
            keyed.select_nth_unstable_by(end - 1, order);
            keyed.truncate(end);
        }
        keyed.sort_unstable_by(order);
        let processes = keyed
            .iter()
            .skip(request.offset)
            .map(|(_, h)| {
                let s = &snapshots[h.snapshot as usize];
                let p = &s.processes[h.process as usize];
                let mut row = Map::new();
                for field in [Field::Host, Field::Pid, Field::Start]
                    .iter()
                    .chain(request.columns.iter())
                {
                    if *field == Field::Command {
                        row.insert(
                            "command".into(),
                            Value::from(s.index.command_lines[h.process as usize].as_str()),
                        );
                    } else {
                        row.insert(field.name().into(), field.json(&s.host.hostname, p));
                    }
                }
                row
            })
            .collect();
        ListPage {
            total: self.total(),
            processes,
        }
    }

    /// The top `limit` values of each key in `keys`, or of every tag key present when `keys`
    /// is `None` ([`DEFAULT_FACETS`] first).
    pub fn facets(&self, keys: Option<&[String]>, limit: usize) -> Vec<Facet> {
        let pairs: Vec<(&Arc<Snapshot>, &Vec<u32>)> = self.view.snapshots.iter().zip(&self.hits).collect();
        let partial = parallel::map(&pairs, self.total(), |(s, hits)| snapshot_facets(s, hits));
        // One slot per key (looked up once per host and key), then one map of values per key.
        let mut slots: HashMap<&str, usize> = HashMap::default();
        let mut per_key: Vec<(HashMap<&str, usize>, usize)> = Vec::new();
        for (s, (values, with_key)) in pairs.iter().map(|(s, _)| s).zip(partial) {
            let index = &s.index;
            let local_slots: Vec<usize> = index
                .keys
                .iter()
                .map(|k| {
                    *slots.entry(k.as_str()).or_insert_with(|| {
                        per_key.push((HashMap::default(), 0));
                        per_key.len() - 1
                    })
                })
                .collect();
            for (k, n) in with_key.into_iter().enumerate() {
                per_key[local_slots[k]].1 += n;
            }
            for (id, n) in values {
                let entry = &index.dictionary[id as usize];
                let slot = local_slots[index.key_of[id as usize] as usize];
                *per_key[slot].0.entry(entry.value.as_str()).or_default() += n;
            }
        }
        let keys: Vec<String> = match keys {
            Some(keys) => keys.to_vec(),
            None => {
                let mut others: Vec<&str> = slots
                    .iter()
                    .filter(|(k, slot)| per_key[**slot].1 > 0 && !DEFAULT_FACETS.contains(k))
                    .map(|(k, _)| *k)
                    .collect();
                others.sort_unstable();
                DEFAULT_FACETS.iter().copied().chain(others).map(String::from).collect()
            }
        };
        let total = self.total();
        keys.into_iter()
            .map(|key| {
                let slot = slots.get(key.as_str()).map(|slot| &per_key[*slot]);
                let mut values: Vec<(&str, usize)> = slot
                    .map(|(values, _)| values.iter().map(|(v, n)| (*v, *n)).collect())
                    .unwrap_or_default();
                let order = |a: &(&str, usize), b: &(&str, usize)| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0));
                let other_values = values.len().saturating_sub(limit);
                if other_values > 0 && limit > 0 {
                    values.select_nth_unstable_by(limit - 1, order);
                }
                values.truncate(limit);
                values.sort_unstable_by(order);
                let values = values
                    .into_iter()
                    .map(|(value, count)| FacetValue {
                        value: value.to_owned(),
                        count,
                    })
                    .collect();
                let missing = total - slot.map_or(0, |(_, with_key)| *with_key).min(total);
                Facet {
                    key,
                    values,
                    other_values,
                    missing,
                }
            })
            .collect()
    }

    /// Accumulates the matching processes by the values of `by`.
    fn accumulate(&self, by: &[String], metrics: &[Field]) -> Vec<(Vec<Option<String>>, GroupAccumulator)> {
        let pairs: Vec<(&Arc<Snapshot>, &Vec<u32>)> = self.view.snapshots.iter().zip(&self.hits).collect();
        let partial = parallel::map(&pairs, self.total(), |(s, hits)| snapshot_groups(s, hits, by, metrics));
        let mut global: HashMap<Vec<Option<&str>>, GroupAccumulator> = HashMap::default();
        for groups in &partial {
            for (key, group) in groups {
                let global = match global.get_mut(key) {
                    Some(g) => g,
                    None => global
                        .entry(key.clone())
                        .or_insert_with(|| GroupAccumulator::new(metrics.len())),
                };
                global.count += group.count;
                global.hosts += 1;
                for (g, l) in global.metrics.iter_mut().zip(&group.metrics) {
                    g.merge(l);
                }
            }
        }
        global
            .into_iter()
            .map(|(key, g)| (key.into_iter().map(|v| v.map(String::from)).collect(), g))
            .collect()
    }

    /// The groups by the tag keys of `request.by`.
    pub fn group_by(&self, request: &GroupRequest) -> Groups {
        let mut metrics = request.metrics.clone();
        if let GroupOrder::Metric(field, _) = request.order
            && !metrics.contains(&field)
        {
            metrics.push(field);
        }
        let mut groups = self.accumulate(&request.by, &metrics);
        let total_groups = groups.len();
        let rank = |g: &GroupAccumulator| match request.order {
            GroupOrder::Count => g.count as f64,
            GroupOrder::Metric(field, aggregation) => {
                let at = metrics
                    .iter()
                    .position(|m| *m == field)
                    .expect("order metric is aggregated");
                aggregation.of(&g.metrics[at].finish())
            }
        };
        groups.sort_by(|(ka, a), (kb, b)| rank(b).total_cmp(&rank(a)).then_with(|| ka.cmp(kb)));
        groups.truncate(request.limit);
        let groups = groups
            .into_iter()
            .map(|(key, g)| Group {
                tags: group_tags(&request.by, key),
                count: g.count,
                hosts: g.hosts,
                metrics: request
                    .metrics
                    .iter()
                    .map(|m| {
                        let at = metrics.iter().position(|x| x == m).expect("metric is aggregated");
                        (m.name(), g.metrics[at].finish())
                    })
                    .collect(),
            })
            .collect();
        Groups {
            total: self.total(),
            total_groups,
            groups,
        }
    }

    /// Scatter plot dots.
    pub fn scatter(&self, request: &ScatterRequest) -> Scatter {
        let total = self.total();
        if request.by.is_empty() {
            let mut points: Vec<ScatterPoint> = self
                .each()
                .map(|(s, i)| {
                    let p = &s.processes[i];
                    let mut group = Map::new();
                    group.insert("host".into(), Value::from(s.host.hostname.as_str()));
                    group.insert("pid".into(), Value::from(p.pid));
                    group.insert("start".into(), Value::from(p.create_time_ms));
                    ScatterPoint {
                        group,
                        x: round2(request.x.number(p).unwrap_or(0.0)),
                        y: round2(request.y.number(p).unwrap_or(0.0)),
                        count: 1,
                    }
                })
                .collect();
            let total_points = points.len();
            if points.len() > request.limit {
                let order = |a: &ScatterPoint, b: &ScatterPoint| (b.x + b.y).total_cmp(&(a.x + a.y));
                points.select_nth_unstable_by(request.limit, order);
                points.truncate(request.limit);
            }
            return Scatter {
                total,
                total_points,
                points,
            };
        }
        let metrics = [request.x, request.y];
        let mut groups = self.accumulate(&request.by, &metrics);
        let total_points = groups.len();
        groups.sort_by(|(ka, a), (kb, b)| b.count.cmp(&a.count).then_with(|| ka.cmp(kb)));
        groups.truncate(request.limit);
        let points = groups
            .into_iter()
            .map(|(key, g)| ScatterPoint {
                group: group_tags(&request.by, key),
                x: request.aggregation.of(&g.metrics[0].finish()),
                y: request.aggregation.of(&g.metrics[1].finish()),
                count: g.count,
            })
            .collect();
        Scatter {
            total,
            total_points,
            points,
        }
    }
}

/// One snapshot's facet counts: `(tag id, processes)` for every tag among `hits`, and per key
/// (as indexed in the snapshot's `keys`) the processes that have it.
fn snapshot_facets(s: &Snapshot, hits: &[u32]) -> (Vec<(u32, usize)>, Vec<usize>) {
    let index = &s.index;
    let mut per_value = vec![0usize; index.dictionary.len()];
    let mut per_key = vec![0usize; index.keys.len()];
    let mut last_process = vec![u32::MAX; index.keys.len()];
    for &i in hits {
        for &id in index.tags(i as usize) {
            per_value[id as usize] += 1;
            let k = index.key_of[id as usize] as usize;
            if last_process[k] != i {
                last_process[k] = i;
                per_key[k] += 1;
            }
        }
    }
    let values = per_value
        .into_iter()
        .enumerate()
        .filter(|(_, n)| *n > 0)
        .map(|(id, n)| (id as u32, n))
        .collect();
    (values, per_key)
}

/// One snapshot's groups: the values of `by` (absent keys as `None`) and the accumulated
/// metrics of the processes among `hits` with them.
fn snapshot_groups<'a>(
    s: &'a Snapshot,
    hits: &[u32],
    by: &[String],
    metrics: &[Field],
) -> Vec<(Vec<Option<&'a str>>, GroupAccumulator)> {
    let index = &s.index;
    // Which `by` position each tag id fills, if any.
    let slot: Vec<Option<usize>> = index
        .dictionary
        .iter()
        .map(|e| by.iter().position(|k| *k == e.key))
        .collect();
    let mut local: HashMap<Vec<Option<u32>>, GroupAccumulator> = HashMap::default();
    let mut key = vec![None; by.len()];
    for &i in hits {
        key.iter_mut().for_each(|k| *k = None);
        for &id in index.tags(i as usize) {
            if let Some(pos) = slot[id as usize]
                && key[pos].is_none()
            {
                key[pos] = Some(id);
            }
        }
        let group = match local.get_mut(&key) {
            Some(g) => g,
            None => local
                .entry(key.clone())
                .or_insert_with(|| GroupAccumulator::new(metrics.len())),
        };
        group.count += 1;
        let p = &s.processes[i as usize];
        for (acc, field) in group.metrics.iter_mut().zip(metrics) {
            let value = field.number(p).unwrap_or(0.0);
            if !(field.may_be_unreadable() && value < 0.0) {
                acc.add(value);
            }
        }
    }
    local
        .into_iter()
        .map(|(key, group)| {
            let key = key
                .into_iter()
                .map(|id| id.map(|id| index.dictionary[id as usize].value.as_str()))
                .collect();
            (key, group)
        })
        .collect()
}

fn group_tags(by: &[String], key: Vec<Option<String>>) -> Map<String, Value> {
    by.iter()
        .cloned()
        .zip(key.into_iter().map(|v| v.map_or(Value::Null, Value::from)))
        .collect()
}
