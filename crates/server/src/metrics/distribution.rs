//! Distribution points merged across contexts and time: Datadog's distributions give
//! percentiles over every host because sketches merge exactly, bin by bin.
//!
//! Each stored point is a `Dogsketch` whose bin keys follow `libdd-ddsketch`'s default mapping
//! (see `dogwatch_model::sketch`): key `k > 0` is the bin of a positive value, `-k` the bin of
//! the same magnitude negated, 0 holds zeros. This is also the Go agent's mapping
//! (`pkg/quantile`: γ = 1 + 2/128, 1e-9 in bin 1), so a stock Datadog Agent's sketches are read
//! as they are.

use std::collections::BTreeMap;

use dogwatch_model::Dogsketch;

use crate::apm::sketch::value_of;
use prost::Message;

/// libdd-ddsketch's default mapping: γ = (1 + 1/129) / (1 − 1/129), and the index offset that
/// puts 1e-9 in bin 1.
fn mapping() -> (f64, f64) {
    const RELATIVE_ACCURACY: f64 = 1.0 / 129.0;
    let gamma = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY);
    let offset = 1.0 - (1e-9f64.ln() / gamma.ln()).floor() + 0.5;
    (gamma, offset)
}

/// Sketches merged into one: summary statistics and summed bins.
#[derive(Debug, Clone, Default)]
pub struct MergedDistribution {
    count: f64,
    sum: f64,
    min: f64,
    max: f64,
    bins: BTreeMap<i32, f64>,
}

impl MergedDistribution {
    /// Adds an encoded `Dogsketch`; one that does not decode adds nothing.
    pub fn add_encoded(&mut self, bytes: &[u8]) {
        if let Ok(sketch) = Dogsketch::decode(bytes) {
            self.add(&sketch);
        }
    }

    /// Adds a sketch.
    pub fn add(&mut self, sketch: &Dogsketch) {
        if sketch.cnt <= 0 {
            return;
        }
        if self.count == 0.0 {
            (self.min, self.max) = (sketch.min, sketch.max);
        } else {
            self.min = self.min.min(sketch.min);
            self.max = self.max.max(sketch.max);
        }
        self.count += sketch.cnt as f64;
        self.sum += sketch.sum;
        for (k, n) in sketch.k.iter().zip(&sketch.n) {
            *self.bins.entry(*k).or_insert(0.0) += f64::from(*n);
        }
    }

    /// How many values were merged.
    pub fn count(&self) -> f64 {
        self.count
    }

    /// The sum, mean, smallest and largest value; `None` when empty.
    pub fn stat(&self, which: Stat) -> Option<f64> {
        (self.count > 0.0).then(|| match which {
            Stat::Count => self.count,
            Stat::Sum => self.sum,
            Stat::Avg => self.sum / self.count,
            Stat::Min => self.min,
            Stat::Max => self.max,
        })
    }

    /// The value at quantile `q` (0..=1): within 1 % of the true value, clamped to the exact
    /// minimum and maximum. `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total: f64 = self.bins.values().sum();
        if total <= 0.0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * (total - 1.0);
        // BTreeMap order is value order: the most negative key is the largest negative
        // magnitude, i.e. the smallest value; then zero; then positive keys ascending.
        let mut seen = 0.0;
        let mut key = self.bins.keys().next_back().copied().unwrap_or(0);
        for (k, n) in &self.bins {
            seen += n;
            if seen > rank {
                key = *k;
                break;
            }
        }
        Some(value_of_key(key).clamp(self.min, self.max))
    }
}

/// A summary statistic of a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// How many values.
    Count,
    /// Their sum.
    Sum,
    /// Their mean.
    Avg,
    /// The smallest.
    Min,
    /// The largest.
    Max,
}

/// The representative value of a bin key: the bin's midpoint in relative terms.
fn value_of_key(key: i32) -> f64 {
    if key == 0 {
        return 0.0;
    }
    let mapping = mapping();
    let value = value_of(mapping, key.saturating_abs()) * (1.0 + mapping.0) / 2.0;
    if key < 0 { -value } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sketch of `values` built the way the agent builds it (libdd-ddsketch bins).
    fn sketch(values: impl IntoIterator<Item = f64>) -> Dogsketch {
        let mapping = mapping();
        let mut bins = BTreeMap::<i32, u32>::new();
        let (mut cnt, mut sum, mut min, mut max) = (0, 0.0, f64::INFINITY, f64::NEG_INFINITY);
        for v in values {
            let key = if v.abs() < 1e-9 {
                0
            } else {
                crate::apm::sketch::index_of(mapping, v.abs())
            };
            *bins.entry(if v < 0.0 { -key } else { key }).or_default() += 1;
            cnt += 1;
            sum += v;
            min = min.min(v);
            max = max.max(v);
        }
        Dogsketch {
            ts: 0,
            cnt,
            min,
            max,
            avg: sum / cnt as f64,
            sum,
            k: bins.keys().copied().collect(),
            n: bins.values().copied().collect(),
        }
    }

    #[test]
    fn percentiles_across_two_hosts_are_within_one_percent() {
        let mut merged = MergedDistribution::default();
        merged.add(&sketch((1..=1000).map(f64::from)));
        merged.add_encoded(&sketch((1001..=2000).map(f64::from)).encode_to_vec());
        for (q, want) in [(0.5, 1000.0), (0.99, 1980.0), (0.95, 1900.0), (0.0, 1.0), (1.0, 2000.0)] {
            let got = merged.quantile(q).unwrap();
            assert!((got - want).abs() / want <= 0.01, "q{q}: {got} vs {want}");
        }
        assert_eq!(merged.stat(Stat::Count), Some(2000.0));
        assert_eq!(merged.stat(Stat::Avg), Some(1000.5));
        assert_eq!(merged.stat(Stat::Max), Some(2000.0));
    }

    /// The Go agent's key of `v` (its `pkg/quantile` formula, written out here on its own):
    /// round half to even of log base 1 + 2/128 of |v|, plus the bias 1 − ⌊log_γ 1e-9⌋ = 1338;
    /// 0 below 1e-9; negated for negative values.
    fn go_agent_key(v: f64) -> i32 {
        let ln_gamma = (2.0f64 / 128.0).ln_1p();
        let bias = 1 - (1e-9f64.ln() / ln_gamma).floor() as i32;
        assert_eq!(bias, 1338);
        if v.abs() < 1e-9 {
            return 0;
        }
        let key = (v.abs().ln() / ln_gamma).round_ties_even() as i32 + bias;
        if v < 0.0 { -key } else { key }
    }

    #[test]
    fn the_go_agents_keys_are_the_stored_keys() {
        // libdd-ddsketch's default γ = (1 + 1/129) / (1 − 1/129) = 130/128 is the Go agent's
        // 1 + 2/128, and both put 1e-9 in bin 1: a stock Datadog Agent's bins are read as they are.
        let stored = mapping();
        assert_eq!(stored.0, 1.015625);
        let mut seed = 0x2545f4914f6cdd1du64;
        for _ in 0..100_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // Magnitudes from 1e-9 to 1e12, both signs.
            let magnitude = 10f64.powf((seed >> 11) as f64 / (1u64 << 53) as f64 * 21.0 - 9.0);
            let v = if seed & 1 == 0 { magnitude } else { -magnitude };
            let ours = crate::apm::sketch::index_of(stored, v.abs());
            assert_eq!(go_agent_key(v), if v < 0.0 { -ours } else { ours }, "{v}");
        }
        assert_eq!(go_agent_key(1.0), 1338);
        assert_eq!(go_agent_key(0.0), 0);
    }

    #[test]
    fn negative_values_and_zeros_sort_before_positive_ones() {
        let mut merged = MergedDistribution::default();
        merged.add(&sketch([-100.0, -10.0, 0.0, 10.0, 100.0]));
        let q = |q| merged.quantile(q).unwrap();
        assert!((q(0.0) + 100.0).abs() < 1.0, "{}", q(0.0));
        assert!((q(0.25) + 10.0).abs() < 0.1, "{}", q(0.25));
        assert_eq!(q(0.5), 0.0);
        assert!((q(1.0) - 100.0).abs() < 1.0);
        assert_eq!(MergedDistribution::default().quantile(0.5), None);
    }
}
