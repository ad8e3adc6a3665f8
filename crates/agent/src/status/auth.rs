//! The local API's auth token, as Datadog's agent keeps it: a random token in an
//! `auth_token` file that only the agent's user can read (mode 0600), here in the agent's run
//! path. The agent writes it at start (or keeps a valid one from an earlier run); every
//! request to the local API must carry it as `Authorization: Bearer <token>`, and the CLI
//! (`dogwatch status`) reads it from the same file, so only a user who can read the agent's
//! files can ask it.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// The file's name in the run path.
pub const AUTH_TOKEN_FILE: &str = "auth_token";

/// Random bytes in a new token (written as 64 hex digits, as Datadog's).
const TOKEN_BYTES: usize = 32;

/// The shortest token accepted from an existing file (Datadog's minimum too).
const MIN_TOKEN_LEN: usize = 32;

/// Where the token of the agent whose run path is `run_path` is.
pub fn token_path(run_path: &Path) -> PathBuf {
    run_path.join(AUTH_TOKEN_FILE)
}

/// The token file could not be set up.
#[derive(Debug, Error)]
#[error("cannot set up the local API's auth_token at {path}: {source}")]
pub struct AuthTokenError {
    /// The file.
    pub path: PathBuf,
    /// The I/O error.
    pub source: std::io::Error,
}

/// The token in `<run_path>/auth_token`: the one there if it is valid (its mode is set to
/// 0600 if it was wider), else a new one, written with mode 0600. The run path is created
/// if missing.
pub fn ensure_token(run_path: &Path) -> Result<String, AuthTokenError> {
    let path = token_path(run_path);
    let fail = |source| AuthTokenError {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(run_path).map_err(fail)?;
    match read_token(&path) {
        Ok(token) => {
            let mode = std::fs::metadata(&path).map_err(fail)?.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
            }
            return Ok(token);
        }
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            tracing::warn!(path = %path.display(), "The auth_token file does not hold a valid token; a new one is written.");
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
    }
    let token = new_token();
    write_private(&path, &token).map_err(fail)?;
    Ok(token)
}

/// Reads the token at `path` (an `auth_token` file); a file that does not hold a valid token
/// is an `InvalidData` error.
pub fn read_token(path: &Path) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    let token = text.trim();
    if token.len() < MIN_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not a valid token (expected at least {MIN_TOKEN_LEN} printable characters)"),
        ));
    }
    Ok(token.to_string())
}

/// Whether `given` is `expected`, in time that does not depend on where they differ.
pub(crate) fn tokens_match(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn new_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `token` to a new file beside `path` with mode 0600, then renames it over `path`, so
/// a reader never sees a half-written token and the file is never readable by others.
fn write_private(path: &Path, token: &str) -> std::io::Result<()> {
    let tmp = path.with_file_name(format!(".{AUTH_TOKEN_FILE}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    let written = file
        .write_all(token.as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_token_is_written_with_mode_0600_and_kept_across_starts() {
        let dir = tempfile::tempdir().unwrap();
        let run_path = dir.path().join("run/agent");
        let token = ensure_token(&run_path).unwrap();
        assert_eq!(token.len(), 64);
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
        let path = token_path(&run_path);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(read_token(&path).unwrap(), token);
        assert_eq!(ensure_token(&run_path).unwrap(), token, "a valid token is reused");
        assert_eq!(
            std::fs::read_dir(&run_path).unwrap().count(),
            1,
            "no temporary file is left"
        );
    }

    #[test]
    fn an_invalid_token_is_replaced_and_a_readable_one_is_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = token_path(dir.path());
        std::fs::write(&path, "short\n").unwrap();
        let token = ensure_token(dir.path()).unwrap();
        assert_ne!(token, "short");
        assert_eq!(read_token(&path).unwrap(), token);

        let kept = "k".repeat(40);
        std::fs::write(&path, format!("{kept}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(ensure_token(dir.path()).unwrap(), kept);
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(tokens_match(b"abc", b"abc"));
        assert!(!tokens_match(b"abc", b"abd"));
        assert!(!tokens_match(b"abc", b"abcd"));
        assert!(!tokens_match(b"", b"abc"));
    }
}
