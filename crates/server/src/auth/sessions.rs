//! Web sessions: a random token in an HttpOnly cookie, kept in memory by its hash, with a
//! CSRF token for state-changing calls, ended by sign-out or after idling.
//! A server restart signs everyone out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::secrets::{key_hash, random_hex};

/// The session cookie's name.
pub const COOKIE: &str = "dogwatch_session";
/// Sessions idle longer than this end. Defaults to 2 hours.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(2 * 3600);
/// No session lasts longer than this, in use or not.
pub const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Sessions kept at most; the least recently used end beyond it.
const MAX_SESSIONS: usize = 10_000;

/// One signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user.
    pub user_id: i64,
    /// The CSRF token the UI sends back in `X-CSRF-Token`.
    pub csrf: String,
    created: Instant,
    last_seen: Instant,
}

/// Every live session, by the hash of its token.
pub struct Sessions {
    by_hash: Mutex<HashMap<String, Session>>,
    idle: Duration,
}

impl Sessions {
    /// Sessions that end after `idle` without a request.
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            by_hash: Mutex::new(HashMap::new()),
            idle,
        }
    }

    /// Starts a session for `user_id`; returns its token (for the cookie) and the session.
    pub fn start(&self, user_id: i64, now: Instant) -> (String, Session) {
        let token = random_hex(32);
        let session = Session {
            user_id,
            csrf: random_hex(16),
            created: now,
            last_seen: now,
        };
        let mut map = self.by_hash.lock().expect("sessions lock");
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.last_seen).map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(key_hash(&token), session.clone());
        (token, session)
    }

    /// The session of `token`, renewed, unless it has ended.
    pub fn touch(&self, token: &str, now: Instant) -> Option<Session> {
        let hash = key_hash(token);
        let mut map = self.by_hash.lock().expect("sessions lock");
        let session = map.get_mut(&hash)?;
        if now.duration_since(session.last_seen) > self.idle || now.duration_since(session.created) > MAX_AGE {
            map.remove(&hash);
            return None;
        }
        session.last_seen = now;
        Some(session.clone())
    }

    /// Ends the session of `token`.
    pub fn end(&self, token: &str) {
        self.by_hash.lock().expect("sessions lock").remove(&key_hash(token));
    }

    /// Ends every session of `user_id` but the one of `keep` (its own password changed).
    pub fn end_user_except(&self, user_id: i64, keep: Option<&str>) {
        let keep = keep.map(key_hash);
        self.by_hash
            .lock()
            .expect("sessions lock")
            .retain(|hash, s| s.user_id != user_id || keep.as_deref() == Some(hash.as_str()));
    }

    /// Ends every session of `user_id` (disabled, or its password reset).
    pub fn end_user(&self, user_id: i64) {
        self.by_hash
            .lock()
            .expect("sessions lock")
            .retain(|_, s| s.user_id != user_id);
    }
}

/// The session token in a `Cookie` header, if any (malformed cookies are ignored).
pub fn token_from_cookies(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_ends_after_idling_or_sign_out() {
        let s = Sessions::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let (token, session) = s.start(7, t0);
        assert_eq!(
            s.touch(&token, t0 + Duration::from_secs(59)).unwrap().csrf,
            session.csrf
        );
        assert!(
            s.touch(&token, t0 + Duration::from_secs(100)).is_some(),
            "each request renews it"
        );
        assert!(
            s.touch(&token, t0 + Duration::from_secs(161)).is_none(),
            "idle too long"
        );
        let (token, _) = s.start(7, t0);
        s.end(&token);
        assert!(s.touch(&token, t0).is_none(), "a token is useless after sign-out");
        assert!(s.touch("nonsense", t0).is_none());
    }

    #[test]
    fn cookies_yield_only_a_well_formed_token() {
        assert_eq!(token_from_cookies("a=b; dogwatch_session=abc123"), Some("abc123"));
        assert_eq!(token_from_cookies("dogwatch_session=not hex!"), None);
        assert_eq!(token_from_cookies("dogwatch_session="), None);
        assert_eq!(
            token_from_cookies(&format!("dogwatch_session={}", "a".repeat(500))),
            None
        );
        assert_eq!(token_from_cookies("garbage"), None);
    }
}
