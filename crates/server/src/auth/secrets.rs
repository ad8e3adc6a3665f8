//! Secrets: random keys and tokens, their hashes, constant-time comparison, and argon2id
//! password hashes. No secret is ever logged or put in an error.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use subtle::ConstantTimeEq as _;

pub use dogwatch_store::auth::{key_hash, last4};

/// 32 lower-case hex digits from the OS random source, the shape of a Datadog API key.
pub fn generate_key() -> String {
    random_hex(16)
}

/// 40 lower-case hex digits, the shape of a Datadog application key.
pub fn generate_app_key() -> String {
    random_hex(20)
}

/// `bytes` random bytes as hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random source is available");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two strings are equal, in time that depends only on their lengths.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The argon2id hash of `password` (a PHC string with its own salt).
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the OS random source is available");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

/// A hash that matches no password, verified against for unknown users so that a sign-in
/// takes as long whether or not the user exists.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_hex(16)))
}

/// Whether `password` matches `hash`; an empty or malformed hash matches nothing (after the
/// same work as a real check).
pub fn verify_password(password: &str, hash: &str) -> bool {
    let parsed = match PasswordHash::new(hash) {
        Ok(p) => p,
        Err(_) => {
            let _ = PasswordHash::new(dummy_hash()).map(|p| Argon2::default().verify_password(password.as_bytes(), &p));
            return false;
        }
    };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("correct horse", ""));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn keys_have_datadogs_shapes_and_compare_in_constant_time() {
        assert_eq!(generate_key().len(), 32);
        assert_eq!(generate_app_key().len(), 40);
        assert!(ct_eq("abc", "abc") && !ct_eq("abc", "abd") && !ct_eq("abc", "ab"));
    }
}
