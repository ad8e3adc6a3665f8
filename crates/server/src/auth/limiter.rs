//! Sign-in attempts, limited per account and per address: after [`MAX_FAILURES`] failed
//! attempts within [`WINDOW`], further attempts are refused, even with the right password,
//! until the window has passed.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed attempts allowed within the window.
pub const MAX_FAILURES: usize = 10;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Tracked accounts and addresses at most; the oldest are forgotten beyond it.
const MAX_TRACKED: usize = 100_000;

/// Failed sign-ins by account (lower-cased) and by address.
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    fn keys(account: &str, addr: Option<IpAddr>) -> Vec<String> {
        let mut keys = vec![format!("user:{}", account.to_ascii_lowercase())];
        if let Some(addr) = addr {
            keys.push(format!("addr:{addr}"));
        }
        keys
    }

    /// Whether an attempt for `account` from `addr` may be checked now.
    pub fn allowed(&self, account: &str, addr: Option<IpAddr>, now: Instant) -> bool {
        let mut failures = self.failures.lock().expect("limiter lock");
        Self::keys(account, addr).iter().all(|k| {
            failures.get_mut(k).is_none_or(|q| {
                while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                    q.pop_front();
                }
                q.len() < MAX_FAILURES
            })
        })
    }

    /// Records a failed attempt.
    pub fn failed(&self, account: &str, addr: Option<IpAddr>, now: Instant) {
        let mut failures = self.failures.lock().expect("limiter lock");
        if failures.len() > MAX_TRACKED {
            failures.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        for k in Self::keys(account, addr) {
            failures.entry(k).or_default().push_back(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_attempt_within_a_minute_is_refused_then_allowed_after() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        let addr = Some(IpAddr::from([127, 0, 0, 1]));
        for _ in 0..MAX_FAILURES {
            assert!(l.allowed("admin", addr, t0));
            l.failed("admin", addr, t0);
        }
        assert!(!l.allowed("admin", addr, t0));
        assert!(!l.allowed("ADMIN", None, t0), "per account, whatever the address");
        assert!(!l.allowed("other", addr, t0), "per address, whatever the account");
        assert!(l.allowed("other", Some(IpAddr::from([127, 0, 0, 2])), t0));
        assert!(l.allowed("admin", addr, t0 + WINDOW));
    }
}
