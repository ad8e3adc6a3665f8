//! Metric query evaluation, as Datadog evaluates `/api/v1/query`: pick the contexts of a
//! metric whose tags match the scope, roll each one up in time (buckets of the rollup
//! interval), then combine the series of each `by {…}` group at every timestamp with the
//! space aggregator. Distributions instead merge their sketches per group and bucket and read
//! a percentile or a summary statistic off the merged sketch.

use std::collections::{BTreeMap, HashMap};

use dogwatch_search::{Aggregator, FillMode, Function, MetricQuery, ParseError, RollupMethod};
use dogwatch_store::{MetricContext, Store, StoreError, StoredKind};
use serde_json::{Value, json};

use super::distribution::{MergedDistribution, Stat};

/// Rollup intervals a default is chosen from, in seconds.
const STEPS: [i64; 15] = [
    10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14_400, 28_800, 43_200, 86_400,
];
/// The default interval gives at most this many points.
const DEFAULT_MAX_POINTS: i64 = 300;
/// An explicit rollup is widened so that a series has at most this many points.
const MAX_POINTS: i64 = 1500;
/// A percentile aggregator's or rollup's interval when nothing else says: a dogstatsd bucket.
const DEFAULT_POINT_INTERVAL: u64 = 10;

/// Why a query could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The query asks for something its metric cannot give (e.g. a percentile of a gauge).
    #[error("{}", .0.message)]
    Invalid(ParseError),
}

/// The answer's series and the union of the queries' `by` keys.
#[derive(Debug, Default)]
pub struct Evaluated {
    /// Datadog-shaped series objects.
    pub series: Vec<Value>,
    /// Every `by {…}` key, in order of first use.
    pub group_by: Vec<String>,
}

/// Evaluates `queries` over `[from, to]` (Unix seconds).
pub fn evaluate(store: &dyn Store, queries: &[MetricQuery], from: i64, to: i64) -> Result<Evaluated, QueryError> {
    let mut out = Evaluated::default();
    for (index, query) in queries.iter().enumerate() {
        for key in &query.group_by {
            if !out.group_by.contains(key) {
                out.group_by.push(key.clone());
            }
        }
        out.series.extend(evaluate_one(store, index, query, from, to)?);
    }
    Ok(out)
}

/// A context's tags as the scope sees them: its own, plus `host:<host>`.
fn scope_tags(context: &MetricContext) -> Vec<String> {
    let mut tags = context.tags.clone();
    if !context.host.is_empty() {
        tags.push(format!("host:{}", context.host));
    }
    tags
}

/// The `key:value` tags of a context's group: one per `by` key, `key:N/A` when it has none.
fn group_of(tags: &[String], by: &[String]) -> Vec<String> {
    by.iter()
        .map(|key| {
            let value = tags
                .iter()
                .find_map(|t| t.strip_prefix(key.as_str()).and_then(|rest| rest.strip_prefix(':')))
                .unwrap_or("N/A");
            format!("{key}:{value}")
        })
        .collect()
}

/// The rollup interval: the query's own (widened to at most [`MAX_POINTS`]), else a step that
/// gives at most [`DEFAULT_MAX_POINTS`].
fn interval(query: &MetricQuery, from: i64, to: i64) -> i64 {
    let range = (to - from).max(1);
    let explicit = query.functions.iter().find_map(|f| match f {
        Function::Rollup { seconds: Some(s), .. } => Some((*s).max(1) as i64),
        _ => None,
    });
    match explicit {
        Some(s) => s.max((range + MAX_POINTS - 1) / MAX_POINTS),
        None => STEPS
            .iter()
            .copied()
            .find(|step| range / step <= DEFAULT_MAX_POINTS)
            .unwrap_or(STEPS[STEPS.len() - 1]),
    }
}

/// Sum, count, min and max of the values in one bucket.
#[derive(Debug, Clone, Copy)]
struct Acc {
    sum: f64,
    n: f64,
    min: f64,
    max: f64,
}

impl Acc {
    fn new(v: f64) -> Acc {
        Acc {
            sum: v,
            n: 1.0,
            min: v,
            max: v,
        }
    }
    fn add(&mut self, v: f64) {
        self.sum += v;
        self.n += 1.0;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }
    fn read(&self, method: RollupMethod) -> f64 {
        match method {
            RollupMethod::Avg => self.sum / self.n,
            RollupMethod::Sum => self.sum,
            RollupMethod::Min => self.min,
            RollupMethod::Max => self.max,
            RollupMethod::Count => self.n,
        }
    }
}

fn evaluate_one(
    store: &dyn Store,
    index: usize,
    query: &MetricQuery,
    from: i64,
    to: i64,
) -> Result<Vec<Value>, QueryError> {
    let contexts: Vec<(MetricContext, Vec<String>)> = store
        .metric_contexts(&query.metric)?
        .into_iter()
        .filter_map(|c| {
            let tags = scope_tags(&c);
            query.scope.matches(&tags).then_some((c, tags))
        })
        .collect();
    if contexts.is_empty() {
        return Ok(Vec::new());
    }
    let step = interval(query, from, to);
    let bucket = |ts: i64| ts - ts.rem_euclid(step);
    let as_count = query.functions.contains(&Function::AsCount);
    let as_rate = query.functions.contains(&Function::AsRate);
    let fill = query.functions.iter().find_map(|f| match f {
        Function::Fill(mode) => Some(*mode),
        _ => None,
    });
    let explicit_method = query.functions.iter().find_map(|f| match f {
        Function::Rollup { method, .. } => *method,
        _ => None,
    });
    let distribution = contexts.iter().any(|(c, _)| c.kind == StoredKind::Distribution);
    if let Aggregator::Percentile(_) = query.aggregator
        && !distribution
    {
        return Err(QueryError::Invalid(ParseError {
            message: format!(
                "{} is only for distributions, and {} is not one at character {}",
                query.aggregator, query.metric, query.span.0
            ),
            position: query.span.0,
            len: query.aggregator.name().chars().count(),
        }));
    }

    // group tags → bucket start → value
    let mut groups: BTreeMap<Vec<String>, BTreeMap<i64, f64>> = BTreeMap::new();
    let group_index: Vec<Vec<String>> = contexts
        .iter()
        .map(|(_, tags)| group_of(tags, &query.group_by))
        .collect();
    let ids: Vec<i64> = contexts.iter().map(|(c, _)| c.id).collect();
    let positions: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let position = |id: i64| positions.get(&id).copied();

    if distribution {
        let mut merged: BTreeMap<(&Vec<String>, i64), MergedDistribution> = BTreeMap::new();
        for point in store.metric_sketches(&ids, from, to)? {
            let Some(i) = position(point.context) else { continue };
            merged
                .entry((&group_index[i], bucket(point.ts)))
                .or_default()
                .add_encoded(&point.sketch);
        }
        for ((group, ts), sketch) in merged {
            let value = match query.aggregator {
                Aggregator::Percentile(q) => sketch.quantile(q),
                Aggregator::Avg => sketch.stat(Stat::Avg),
                Aggregator::Sum => sketch.stat(Stat::Sum),
                Aggregator::Min => sketch.stat(Stat::Min),
                Aggregator::Max => sketch.stat(Stat::Max),
                Aggregator::Count => sketch.stat(Stat::Count),
            };
            if let Some(value) = value {
                groups.entry(group.clone()).or_default().insert(ts, value);
            }
        }
    } else {
        // context → bucket → rolled-up accumulator
        let mut rolled: Vec<BTreeMap<i64, Acc>> = vec![BTreeMap::new(); contexts.len()];
        for (context, ts, value) in store.metric_values(&ids, from, to)? {
            let Some(i) = position(context) else { continue };
            let c = &contexts[i].0;
            let point_interval = c.interval.unwrap_or(DEFAULT_POINT_INTERVAL).max(1) as f64;
            let value = match c.kind {
                StoredKind::Rate if as_count => value * point_interval,
                StoredKind::Count if as_rate => value / point_interval,
                _ => value,
            };
            rolled[i]
                .entry(bucket(ts))
                .and_modify(|a| a.add(value))
                .or_insert_with(|| Acc::new(value));
        }
        // Per group and bucket: the space aggregate of each series' rolled-up value.
        let mut spaced: BTreeMap<&Vec<String>, BTreeMap<i64, Acc>> = BTreeMap::new();
        for (i, series) in rolled.iter().enumerate() {
            let c = &contexts[i].0;
            let counts = as_count || (c.kind == StoredKind::Count && !as_rate);
            let method = explicit_method.unwrap_or(if counts { RollupMethod::Sum } else { RollupMethod::Avg });
            let group = spaced.entry(&group_index[i]).or_default();
            for (ts, acc) in series {
                let v = acc.read(method);
                group.entry(*ts).and_modify(|a| a.add(v)).or_insert_with(|| Acc::new(v));
            }
        }
        let space = match query.aggregator {
            Aggregator::Sum => RollupMethod::Sum,
            Aggregator::Min => RollupMethod::Min,
            Aggregator::Max => RollupMethod::Max,
            Aggregator::Count => RollupMethod::Count,
            _ => RollupMethod::Avg,
        };
        for (group, points) in spaced {
            groups.insert(
                group.clone(),
                points.iter().map(|(ts, a)| (*ts, a.read(space))).collect(),
            );
        }
    }

    let base_scope = query.scope_text();
    let mut out = Vec::new();
    for (tag_set, points) in groups {
        let pointlist: Vec<Value> = match fill {
            None => points.iter().map(|(ts, v)| json!([ts * 1000, v])).collect(),
            Some(mode) => {
                let mut ts = bucket(from);
                let mut list = Vec::new();
                while ts <= to {
                    match (points.get(&ts), mode) {
                        (Some(v), _) => list.push(json!([ts * 1000, v])),
                        (None, FillMode::Zero) => list.push(json!([ts * 1000, 0.0])),
                        (None, FillMode::Null) => list.push(json!([ts * 1000, null])),
                    }
                    ts += step;
                }
                list
            }
        };
        // The scope's own filters, then the group's tags it does not already name.
        let mut parts: Vec<&str> = if base_scope == "*" {
            Vec::new()
        } else {
            vec![base_scope.as_str()]
        };
        let named: Vec<&str> = base_scope.split(',').collect();
        parts.extend(tag_set.iter().map(String::as_str).filter(|t| !named.contains(t)));
        let scope = if parts.is_empty() {
            "*".to_string()
        } else {
            parts.join(",")
        };
        let mut expression = format!("{}:{}{{{scope}}}", query.aggregator, query.metric);
        for f in &query.functions {
            expression.push_str(&format!(".{f}"));
        }
        let start = pointlist.first().and_then(|p| p[0].as_i64());
        let end = pointlist.last().and_then(|p| p[0].as_i64());
        out.push(json!({
            "metric": query.metric,
            "display_name": query.metric,
            "expression": expression,
            "scope": scope,
            "tag_set": tag_set,
            "aggr": query.aggregator.name(),
            "query_index": index,
            "unit": null,
            "attributes": {},
            "interval": step,
            "length": pointlist.len(),
            "start": start,
            "end": end,
            "pointlist": pointlist,
        }));
    }
    Ok(out)
}
