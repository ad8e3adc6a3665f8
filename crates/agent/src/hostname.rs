//! Resolves the agent's hostname and the host tags that come with it.
//!
//! The order is Datadog's: the configured `hostname`, then `hostname_file`, then Heroku's
//! dyno name (`DD_DYNO_HOST=true`), then the OS hostname. Cloud metadata providers are not
//! asked. The result is resolved once and kept for the agent's lifetime.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;
use thiserror::Error;

use crate::config::{AgentConfig, Environment};

/// What decided the hostname.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostnameProvider {
    /// `hostname` in datadog.yaml or `DD_HOSTNAME`.
    Configuration,
    /// The first line of `hostname_file`.
    HostnameFile,
    /// `<HEROKU_APP_NAME>.<DYNO>` because `DD_DYNO_HOST=true`.
    Heroku,
    /// The operating system's hostname.
    Os,
}

impl HostnameProvider {
    /// The provider's name as `dogwatch status` shows it.
    pub fn name(self) -> &'static str {
        match self {
            HostnameProvider::Configuration => "configuration",
            HostnameProvider::HostnameFile => "hostname_file",
            HostnameProvider::Heroku => "heroku",
            HostnameProvider::Os => "os",
        }
    }
}

impl fmt::Display for HostnameProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The agent's identity: its hostname, how it was chosen, and its host tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostIdentity {
    /// The hostname reported with every payload.
    pub hostname: String,
    /// What decided it.
    pub provider: HostnameProvider,
    /// The OS hostname, whatever was chosen.
    pub os_hostname: String,
    /// Configured tags plus, on Heroku, `dyno`, `dynotype` and `appname`.
    pub host_tags: Vec<String>,
    /// Providers that were set up but could not give a valid name, with the reason.
    pub unused_providers: Vec<(HostnameProvider, String)>,
}

/// Why one hostname provider could not give a name.
#[derive(Debug, Error)]
pub enum HostnameError {
    /// `hostname_file` is set but cannot be read or is empty.
    #[error("cannot use hostname_file {path}: {reason}")]
    HostnameFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// `DD_DYNO_HOST=true` but `HEROKU_APP_NAME` or `DYNO` is missing.
    #[error("DD_DYNO_HOST is true but {missing} is not set; Heroku sets it on every dyno")]
    HerokuIncomplete {
        /// The missing variable.
        missing: &'static str,
    },
    /// The name is not a valid hostname.
    #[error("{name:?} is not a valid hostname: {reason}")]
    Invalid {
        /// The rejected name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// No provider gave a usable name.
    #[error("no usable hostname: {}; set `hostname` in datadog.yaml or DD_HOSTNAME", tried.join("; "))]
    NoneUsable {
        /// What each provider said, e.g. `os: "localhost" is not a valid hostname: ...`.
        tried: Vec<String>,
    },
}

/// Resolves the hostname and host tags from the configuration and environment.
pub fn resolve(config: &AgentConfig, env: &Environment) -> Result<HostIdentity, HostnameError> {
    resolve_with_os(config, env, os_hostname())
}

/// [`resolve`] with the OS hostname given, for tests.
///
/// Like Datadog's agent, a provider that is set up but cannot give a valid name (an
/// unreadable `hostname_file`, an invalid configured name) is recorded in
/// [`HostIdentity::unused_providers`] and the next one is tried; only when no provider
/// gives a name is it an error.
pub fn resolve_with_os(
    config: &AgentConfig,
    env: &Environment,
    os_hostname: String,
) -> Result<HostIdentity, HostnameError> {
    let heroku = env.is_true("DD_DYNO_HOST");
    let candidates: [(HostnameProvider, Option<Result<String, HostnameError>>); 4] = [
        (
            HostnameProvider::Configuration,
            Some(config.hostname.trim())
                .filter(|h| !h.is_empty())
                .map(|h| Ok(h.to_string())),
        ),
        (
            HostnameProvider::HostnameFile,
            (!config.hostname_file.is_empty()).then(|| read_hostname_file(&config.hostname_file)),
        ),
        (HostnameProvider::Heroku, heroku.then(|| heroku_hostname(env))),
        (HostnameProvider::Os, Some(Ok(os_hostname.trim().to_string()))),
    ];
    let mut unused_providers = Vec::new();
    let mut chosen = None;
    for (provider, candidate) in candidates {
        let Some(candidate) = candidate else { continue };
        match candidate.and_then(|name| validate(&name).map(|()| name)) {
            Ok(name) if chosen.is_none() => chosen = Some((name, provider)),
            Ok(_) => {}
            Err(e) => unused_providers.push((provider, e.to_string())),
        }
    }
    let Some((hostname, provider)) = chosen else {
        let tried = unused_providers.iter().map(|(p, e)| format!("{p}: {e}")).collect();
        return Err(HostnameError::NoneUsable { tried });
    };

    let mut host_tags = config.configured_host_tags();
    if heroku && let (Some(app), Some(dyno)) = (env.get("HEROKU_APP_NAME"), env.get("DYNO")) {
        let dyno_type = dyno.split('.').next().unwrap_or(dyno);
        for tag in [
            format!("dyno:{dyno}"),
            format!("dynotype:{dyno_type}"),
            format!("appname:{app}"),
        ] {
            if !host_tags.contains(&tag) {
                host_tags.push(tag);
            }
        }
    }
    Ok(HostIdentity {
        hostname,
        provider,
        os_hostname,
        host_tags,
        unused_providers,
    })
}

fn heroku_hostname(env: &Environment) -> Result<String, HostnameError> {
    let app = env.get("HEROKU_APP_NAME").ok_or(HostnameError::HerokuIncomplete {
        missing: "HEROKU_APP_NAME",
    })?;
    let dyno = env
        .get("DYNO")
        .ok_or(HostnameError::HerokuIncomplete { missing: "DYNO" })?;
    Ok(format!("{app}.{dyno}"))
}

fn read_hostname_file(path: &str) -> Result<String, HostnameError> {
    let fail = |reason: String| HostnameError::HostnameFile {
        path: PathBuf::from(path),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let first = text.lines().next().unwrap_or("").trim();
    if first.is_empty() {
        return Err(fail("the file is empty".into()));
    }
    Ok(first.to_string())
}

/// Datadog's hostname rules: RFC 1123 (labels of letters, digits and inner `-`, joined by
/// `.`), at most 255 characters, and not a name for the local machine.
fn validate(name: &str) -> Result<(), HostnameError> {
    const LOCAL_NAMES: [&str; 4] = [
        "localhost",
        "localhost.localdomain",
        "localhost6.localdomain6",
        "ip6-localhost",
    ];
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 255 {
        Some("it is longer than 255 characters")
    } else if LOCAL_NAMES.contains(&name.to_ascii_lowercase().as_str()) {
        Some("it names the local machine, not this host")
    } else if !name.split('.').all(label_ok) {
        Some("it is not RFC 1123 compliant (letters, digits and '-' in dot-separated labels)")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(HostnameError::Invalid {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The OS hostname, or an empty string if it is not valid UTF-8.
pub fn os_hostname() -> String {
    gethostname::gethostname().into_string().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn configured_hostname_wins_over_everything() {
        let config = AgentConfig {
            hostname: "web-1".into(),
            hostname_file: "/nonexistent".into(),
            ..Default::default()
        };
        let id = resolve_with_os(&config, &env(&[("DD_DYNO_HOST", "true")]), "os-host".into()).unwrap();
        assert_eq!(
            (id.hostname.as_str(), id.provider),
            ("web-1", HostnameProvider::Configuration)
        );
    }

    #[test]
    fn hostname_file_is_used_when_no_hostname_is_configured() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hostname");
        std::fs::write(&path, "from-file\nignored\n").unwrap();
        let config = AgentConfig {
            hostname_file: path.display().to_string(),
            ..Default::default()
        };
        let id = resolve_with_os(&config, &env(&[]), "os-host".into()).unwrap();
        assert_eq!(
            (id.hostname.as_str(), id.provider),
            ("from-file", HostnameProvider::HostnameFile)
        );
    }

    #[test]
    fn an_unreadable_or_empty_hostname_file_is_skipped_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        for path in [empty, dir.path().join("missing")] {
            let config = AgentConfig {
                hostname_file: path.display().to_string(),
                ..Default::default()
            };
            let id = resolve_with_os(&config, &env(&[]), "os-host".into()).unwrap();
            assert_eq!((id.hostname.as_str(), id.provider), ("os-host", HostnameProvider::Os));
            let (provider, reason) = &id.unused_providers[0];
            assert_eq!(*provider, HostnameProvider::HostnameFile);
            assert!(reason.contains(&path.display().to_string()), "{reason}");
        }
    }

    #[test]
    fn heroku_dyno_host_gives_app_dot_dyno_and_dyno_tags() {
        let config = AgentConfig {
            tags: vec!["team:a".into()],
            ..Default::default()
        };
        let e = env(&[
            ("DD_DYNO_HOST", "true"),
            ("HEROKU_APP_NAME", "myapp"),
            ("DYNO", "web.1"),
        ]);
        let id = resolve_with_os(&config, &e, "1234-abcd".into()).unwrap();
        assert_eq!(id.hostname, "myapp.web.1");
        assert_eq!(id.provider, HostnameProvider::Heroku);
        assert_eq!(id.host_tags, ["team:a", "dyno:web.1", "dynotype:web", "appname:myapp"]);
    }

    #[test]
    fn heroku_without_app_name_falls_back_and_says_what_is_missing() {
        let e = env(&[("DD_DYNO_HOST", "true"), ("DYNO", "web.1")]);
        let id = resolve_with_os(&AgentConfig::default(), &e, "box".into()).unwrap();
        assert_eq!(id.hostname, "box");
        assert!(
            id.unused_providers[0].1.contains("HEROKU_APP_NAME"),
            "{:?}",
            id.unused_providers
        );
    }

    #[test]
    fn dyno_host_false_uses_the_os_hostname() {
        let e = env(&[
            ("DD_DYNO_HOST", "false"),
            ("HEROKU_APP_NAME", "myapp"),
            ("DYNO", "web.1"),
        ]);
        let id = resolve_with_os(&AgentConfig::default(), &e, "box".into()).unwrap();
        assert_eq!((id.hostname.as_str(), id.provider), ("box", HostnameProvider::Os));
        assert!(id.host_tags.is_empty());
    }

    #[test]
    fn an_invalid_configured_hostname_is_skipped_with_the_reason() {
        for bad in ["bad host", "under_score", "-dash.example", "a..b"] {
            let config = AgentConfig {
                hostname: bad.into(),
                ..Default::default()
            };
            let id = resolve_with_os(&config, &env(&[]), "box".into()).unwrap();
            assert_eq!(id.hostname, "box", "{bad}");
            let (provider, reason) = &id.unused_providers[0];
            assert_eq!(*provider, HostnameProvider::Configuration);
            assert!(
                reason.contains(&format!("{bad:?}")) && reason.contains("RFC 1123"),
                "{reason}"
            );
        }
    }

    #[test]
    fn no_usable_name_from_any_provider_is_an_error_listing_each() {
        for os in ["localhost", "localhost.localdomain", ""] {
            let config = AgentConfig {
                hostname: "bad host".into(),
                ..Default::default()
            };
            let err = resolve_with_os(&config, &env(&[]), os.into()).unwrap_err().to_string();
            assert!(
                err.contains("configuration:") && err.contains("os:") && err.contains("DD_HOSTNAME"),
                "{err}"
            );
        }
    }
}
