//! Sampling: the rates the receiver tells tracers (`rate_by_service`) and which traces the
//! agent keeps.
//!
//! Tracers decide a trace's sampling priority at its root from the rate the agent last gave
//! for its `service:<svc>,env:<env>`; the agent aims those rates at
//! `apm_config.target_traces_per_second` per service and env, as Datadog's priority sampler
//! does. Every 10 s each key's root count becomes a traces-per-second figure, smoothed with the
//! previous one, and the rate is `target / tps` capped at 1. A key unseen for 5 minutes is
//! forgotten; `service:,env:` is the default rate for keys the agent has not seen.
//!
//! The agent keeps traces whose priority is above 0 (the tracer kept them) and, within
//! `apm_config.errors_per_second`, traces with an error that the tracer dropped (Datadog's
//! error sampler). Everything else is counted as dropped after its stats were computed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How often rates are recomputed.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);
/// How long a service and env keep their rate without traffic.
const FORGET_AFTER: Duration = Duration::from_secs(300);
/// The key of the default rate in `rate_by_service`.
pub const DEFAULT_RATE_KEY: &str = "service:,env:";

/// One service and env's traffic.
#[derive(Debug, Clone)]
struct KeyRate {
    roots_in_window: u64,
    tps: f64,
    rate: f64,
    last_seen: Instant,
}

/// Priority rates per service and env, and the error sampler's budget.
#[derive(Debug)]
pub struct Sampler {
    target_tps: f64,
    error_tps: f64,
    keys: HashMap<(String, String), KeyRate>,
    window_start: Instant,
    error_budget: f64,
    error_budget_at: Instant,
}

/// What the sampler decided for one trace chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The tracer kept it (priority above 0, or none given).
    KeepPriority,
    /// The tracer dropped it, but it has an error and the error budget allowed it.
    KeepError,
    /// Dropped (its stats were still counted).
    Drop,
}

impl Sampler {
    /// A sampler aiming at `target_tps` traces per second per service and env, keeping up to
    /// `error_tps` dropped error traces per second.
    pub fn new(target_tps: f64, error_tps: f64, now: Instant) -> Sampler {
        Sampler {
            target_tps: target_tps.max(0.0),
            error_tps: error_tps.max(0.0),
            keys: HashMap::new(),
            window_start: now,
            error_budget: error_tps.max(0.0),
            error_budget_at: now,
        }
    }

    /// Counts a trace's root for `service` and `env`, and decides whether to keep the chunk.
    /// `priority` is the root's `_sampling_priority_v1` (None when the tracer set none).
    pub fn sample(
        &mut self,
        service: &str,
        env: &str,
        priority: Option<f64>,
        has_error: bool,
        now: Instant,
    ) -> Decision {
        self.roll(now);
        match self.keys.get_mut(&(service.to_string(), env.to_string())) {
            Some(key) => {
                key.roots_in_window += 1;
                key.last_seen = now;
            }
            None => {
                self.keys.insert(
                    (service.to_string(), env.to_string()),
                    KeyRate {
                        roots_in_window: 1,
                        tps: 0.0,
                        rate: 1.0,
                        last_seen: now,
                    },
                );
            }
        }
        if priority.is_none_or(|p| p > 0.0) {
            return Decision::KeepPriority;
        }
        if has_error {
            let elapsed = now.saturating_duration_since(self.error_budget_at).as_secs_f64();
            self.error_budget = (self.error_budget + elapsed * self.error_tps).min(self.error_tps.max(1.0));
            self.error_budget_at = now;
            if self.error_budget >= 1.0 {
                self.error_budget -= 1.0;
                return Decision::KeepError;
            }
        }
        Decision::Drop
    }

    /// Recomputes the rates when a window has passed.
    fn roll(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed < RATE_WINDOW {
            return;
        }
        let seconds = elapsed.as_secs_f64();
        self.window_start = now;
        let target = self.target_tps;
        self.keys
            .retain(|_, key| now.saturating_duration_since(key.last_seen) < FORGET_AFTER);
        for key in self.keys.values_mut() {
            let observed = key.roots_in_window as f64 / seconds;
            // The tracer sent `observed` traces at `rate`: the traffic before sampling is
            // observed / rate, whether or not the tracer kept them.
            let incoming = if key.rate > 0.0 { observed / key.rate } else { observed };
            key.tps = if key.tps == 0.0 {
                incoming
            } else {
                (key.tps + incoming) / 2.0
            };
            key.rate = if key.tps <= target || key.tps == 0.0 {
                1.0
            } else {
                target / key.tps
            };
            key.roots_in_window = 0;
        }
    }

    /// The rates to answer tracers with: one per service and env seen, plus the default.
    pub fn rates(&mut self, now: Instant) -> Vec<(String, f64)> {
        self.roll(now);
        let mut rates: Vec<(String, f64)> = self
            .keys
            .iter()
            .map(|((service, env), key)| (format!("service:{service},env:{env}"), key.rate))
            .collect();
        rates.sort_by(|a, b| a.0.cmp(&b.0));
        rates.push((DEFAULT_RATE_KEY.to_string(), 1.0));
        rates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_keys_start_at_rate_one_and_the_default_is_listed() {
        let now = Instant::now();
        let mut sampler = Sampler::new(10.0, 10.0, now);
        assert_eq!(
            sampler.sample("notes", "dev", Some(1.0), false, now),
            Decision::KeepPriority
        );
        let rates = sampler.rates(now);
        assert_eq!(
            rates,
            vec![
                ("service:notes,env:dev".to_string(), 1.0),
                ("service:,env:".to_string(), 1.0)
            ]
        );
    }

    #[test]
    fn rates_aim_at_the_target() {
        let start = Instant::now();
        let mut sampler = Sampler::new(10.0, 10.0, start);
        // 100 traces/s for 10 s.
        for i in 0..1000u64 {
            sampler.sample("api", "prod", Some(1.0), false, start + Duration::from_millis(i * 10));
        }
        let rates = sampler.rates(start + RATE_WINDOW);
        let api = rates.iter().find(|(k, _)| k == "service:api,env:prod").unwrap().1;
        assert!((api - 0.1).abs() < 0.01, "rate {api}");
        // At that rate the tracer now sends 10 traces/s: the traffic behind them is still 100/s.
        for i in 0..100u64 {
            sampler.sample(
                "api",
                "prod",
                Some(1.0),
                false,
                start + RATE_WINDOW + Duration::from_millis(i * 100),
            );
        }
        let rates = sampler.rates(start + RATE_WINDOW * 2);
        let api = rates.iter().find(|(k, _)| k == "service:api,env:prod").unwrap().1;
        assert!((api - 0.1).abs() < 0.01, "rate {api}");
    }

    #[test]
    fn dropped_traces_are_kept_only_for_errors_within_budget() {
        let now = Instant::now();
        let mut sampler = Sampler::new(10.0, 2.0, now);
        assert_eq!(sampler.sample("a", "", Some(0.0), false, now), Decision::Drop);
        assert_eq!(sampler.sample("a", "", Some(-1.0), true, now), Decision::KeepError);
        assert_eq!(sampler.sample("a", "", Some(0.0), true, now), Decision::KeepError);
        assert_eq!(sampler.sample("a", "", Some(0.0), true, now), Decision::Drop);
        assert_eq!(sampler.sample("a", "", None, false, now), Decision::KeepPriority);
        assert_eq!(
            sampler.sample("a", "", Some(0.0), true, now + Duration::from_secs(1)),
            Decision::KeepError
        );
    }

    #[test]
    fn quiet_keys_are_forgotten() {
        let now = Instant::now();
        let mut sampler = Sampler::new(10.0, 10.0, now);
        sampler.sample("old", "", Some(1.0), false, now);
        let rates = sampler.rates(now + FORGET_AFTER + RATE_WINDOW);
        assert_eq!(rates, vec![(DEFAULT_RATE_KEY.to_string(), 1.0)]);
    }
}
