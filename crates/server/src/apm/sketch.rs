//! Latency percentiles from APM stats: the DDSketches of many stats rows merged into one and
//! read at a quantile.
//!
//! Stats carry each group's ok and error durations as a protobuf DDSketch (1% relative
//! accuracy). Sketches with the same index mapping merge exactly by adding bin counts, so a
//! service's p99 over an hour is as accurate as one bucket's. libdatadog's `libdd-ddsketch`
//! decodes them; it has no merge or quantile, which are a few lines over its bins.

use std::collections::BTreeMap;

use libdd_ddsketch::pb::DdSketch;
use prost::Message;

/// Bins of merged sketches, keyed by bin index, for one index mapping.
#[derive(Debug, Default, Clone)]
pub struct MergedSketch {
    /// (gamma, index offset) of the first sketch merged; sketches with another mapping are
    /// merged by value instead.
    mapping: Option<(f64, f64)>,
    bins: BTreeMap<i32, f64>,
    zero_count: f64,
}

impl MergedSketch {
    /// Adds an encoded sketch; an empty or undecodable one adds nothing.
    pub fn add_encoded(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let Ok(sketch) = DdSketch::decode(bytes) else {
            return;
        };
        let Some(mapping) = sketch.mapping else {
            return;
        };
        if mapping.gamma <= 1.0 || !mapping.gamma.is_finite() {
            return;
        }
        self.zero_count += sketch.zero_count.max(0.0);
        let own = *self.mapping.get_or_insert((mapping.gamma, mapping.index_offset));
        let Some(store) = sketch.positive_values else {
            return;
        };
        let contiguous = store
            .contiguous_bin_counts
            .iter()
            .enumerate()
            .map(|(i, c)| (store.contiguous_bin_index_offset.saturating_add(i as i32), *c));
        let sparse = store.bin_counts.iter().map(|(i, c)| (*i, *c));
        for (index, count) in contiguous.chain(sparse) {
            if count.is_nan() || count <= 0.0 {
                continue;
            }
            let index = if own == (mapping.gamma, mapping.index_offset) {
                index
            } else {
                index_of(own, value_of((mapping.gamma, mapping.index_offset), index))
            };
            *self.bins.entry(index).or_insert(0.0) += count;
        }
    }

    /// The number of values merged.
    pub fn count(&self) -> f64 {
        self.zero_count + self.bins.values().sum::<f64>()
    }

    /// The value at quantile `q` (0..=1), None when empty. Within 1% of the true value for
    /// the default mapping.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total <= 0.0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * (total - 1.0);
        if rank < self.zero_count {
            return Some(0.0);
        }
        let mapping = self.mapping?;
        let mut seen = self.zero_count;
        for (index, count) in &self.bins {
            seen += count;
            if seen > rank {
                // The bin's lower bound times (1 + gamma) / 2: its midpoint in relative terms.
                return Some(value_of(mapping, *index) * (1.0 + mapping.0) / 2.0);
            }
        }
        self.bins
            .keys()
            .next_back()
            .map(|i| value_of(mapping, *i) * (1.0 + mapping.0) / 2.0)
    }
}

/// The lower bound of bin `index` under a logarithmic mapping.
pub(crate) fn value_of((gamma, offset): (f64, f64), index: i32) -> f64 {
    ((f64::from(index) - offset) * gamma.ln()).exp()
}

/// The bin of `value` under a logarithmic mapping.
pub(crate) fn index_of((gamma, offset): (f64, f64), value: f64) -> i32 {
    (value.ln() / gamma.ln() + offset).floor() as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use libdd_ddsketch::DDSketch;

    fn encoded(values: impl IntoIterator<Item = f64>) -> Vec<u8> {
        let mut sketch = DDSketch::default();
        for v in values {
            sketch.add(v).unwrap();
        }
        sketch.encode_to_vec()
    }

    #[test]
    fn quantiles_are_within_one_percent() {
        let mut merged = MergedSketch::default();
        merged.add_encoded(&encoded((1..=500).map(|i| i as f64 * 1e6)));
        merged.add_encoded(&encoded((501..=1000).map(|i| i as f64 * 1e6)));
        assert_eq!(merged.count(), 1000.0);
        for (q, expected) in [(0.5, 500e6), (0.95, 950e6), (0.99, 990e6), (0.0, 1e6), (1.0, 1000e6)] {
            let got = merged.quantile(q).unwrap();
            assert!((got - expected).abs() / expected < 0.015, "q{q}: {got} vs {expected}");
        }
    }

    #[test]
    fn empty_and_garbage_sketches_add_nothing() {
        let mut merged = MergedSketch::default();
        merged.add_encoded(&[]);
        merged.add_encoded(&[0xff, 0x01, 0x02]);
        assert_eq!(merged.quantile(0.5), None);
        merged.add_encoded(&encoded([0.0, 0.0, 5e6]));
        assert_eq!(merged.quantile(0.1), Some(0.0));
    }
}
