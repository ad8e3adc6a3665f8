//! Process blacklist: `process_config.blacklist_patterns`.
//!
//! A process whose command line matches any of the configured regular expressions is not reported at all
//! (default: no patterns, nothing is hidden). As in the Datadog process-agent, the patterns are matched
//! (unanchored, anywhere in the text) against the arguments joined with single spaces, or against the
//! executable path when the process has no arguments (kernel threads, zombies, unreadable `cmdline`).
//! An invalid pattern is skipped with a warning; the other patterns still apply.
//!
//! Patterns use the syntax of the Rust `regex` crate, which is close to Go's RE2 syntax; note that `\d`,
//! `\w`, `\s` and `\b` are Unicode-aware here and that Unicode general-category and script classes
//! (`\p{L}`, `\p{Greek}`) are not available.

use std::borrow::Cow;

use regex::Regex;

/// Config key named in warnings about rejected patterns.
const BLACKLIST_KEY: &str = "process_config.blacklist_patterns";

/// Compiled `process_config.blacklist_patterns`: decides which processes must not be reported.
#[derive(Debug, Clone, Default)]
pub struct Blacklist {
    patterns: Vec<Regex>,
}

impl Blacklist {
    /// Compiles `process_config.blacklist_patterns`; an invalid regex is skipped with a warning naming the key
    /// and the pattern (Datadog logs and ignores it).
    ///
    /// Returns the blacklist (empty by default: no process is hidden) and one warning per skipped pattern.
    pub fn new(patterns: &[String]) -> (Blacklist, Vec<String>) {
        let mut compiled = Vec::with_capacity(patterns.len());
        let mut warnings = Vec::new();
        for pattern in patterns {
            match Regex::new(pattern) {
                Ok(regex) => compiled.push(regex),
                Err(err) => warnings.push(format!(
                    "ignoring invalid pattern `{pattern}` in {BLACKLIST_KEY}: {}; fix the regular expression or \
                     remove it from the list",
                    describe(&err)
                )),
            }
        }
        (Blacklist { patterns: compiled }, warnings)
    }

    /// Whether a process must not be reported: patterns are matched against the argv joined with single
    /// spaces, or the exe path when argv is empty.
    pub fn is_blacklisted(&self, argv: &[String], exe: &str) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        let text: Cow<'_, str> = match argv {
            [] => Cow::Borrowed(exe),
            [only] => Cow::Borrowed(only),
            _ => Cow::Owned(argv.join(" ")),
        };
        self.patterns.iter().any(|regex| regex.is_match(&text))
    }

    /// Whether no pattern is configured (or all were invalid), i.e. no process is ever blacklisted.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Number of valid patterns.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }
}

/// One-line description of a regex compilation error (the crate's syntax errors span several lines).
fn describe(err: &regex::Error) -> String {
    let text = err.to_string();
    match text.lines().find_map(|line| line.trim().strip_prefix("error: ")) {
        Some(reason) => reason.to_owned(),
        None => text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn empty_blacklist_hides_nothing() {
        let (blacklist, warnings) = Blacklist::new(&[]);
        assert!(warnings.is_empty());
        assert!(blacklist.is_empty());
        assert_eq!(blacklist.len(), 0);
        assert!(!blacklist.is_blacklisted(&strings(&["anything"]), "/bin/anything"));
        assert!(!Blacklist::default().is_blacklisted(&[], ""));
    }

    #[test]
    fn matches_joined_argv() {
        let (blacklist, warnings) = Blacklist::new(&strings(&["my-secret-app", "^java .*-jar foo\\.jar", "dbpass$"]));
        assert!(warnings.is_empty());
        assert_eq!(blacklist.len(), 3);
        assert!(blacklist.is_blacklisted(&strings(&["/opt/my-secret-app/bin/run", "-v"]), ""));
        assert!(blacklist.is_blacklisted(&strings(&["java", "-Xmx1g", "-jar", "foo.jar"]), "/usr/bin/java"));
        // Arguments are joined with single spaces before matching.
        assert!(blacklist.is_blacklisted(&strings(&["java -Xmx1g", "-jar", "foo.jar"]), ""));
        assert!(blacklist.is_blacklisted(&strings(&["tool", "--user", "dbpass"]), ""));
        assert!(!blacklist.is_blacklisted(&strings(&["tool", "dbpass", "x"]), ""));
        assert!(!blacklist.is_blacklisted(&strings(&["javac", "-jar", "foo.jar"]), ""));
        assert!(!blacklist.is_blacklisted(&strings(&["java", "-jar", "fooXjar"]), ""));
    }

    #[test]
    fn exe_is_used_only_when_argv_is_empty() {
        let (blacklist, _) = Blacklist::new(&strings(&["^/usr/sbin/secretd$"]));
        assert!(blacklist.is_blacklisted(&[], "/usr/sbin/secretd"));
        assert!(!blacklist.is_blacklisted(&[], "/usr/sbin/other"));
        assert!(!blacklist.is_blacklisted(&strings(&["secretd", "-f"]), "/usr/sbin/secretd"));
    }

    #[test]
    fn patterns_are_case_sensitive_unless_asked() {
        let (blacklist, _) = Blacklist::new(&strings(&["Secret", "(?i)hidden"]));
        assert!(!blacklist.is_blacklisted(&strings(&["secret"]), ""));
        assert!(blacklist.is_blacklisted(&strings(&["Secret"]), ""));
        assert!(blacklist.is_blacklisted(&strings(&["HIDDEN"]), ""));
    }

    #[test]
    fn invalid_patterns_are_skipped_with_warning() {
        let (blacklist, warnings) = Blacklist::new(&strings(&["(unclosed", "valid", "[z-a]", "a{2,1}"]));
        assert_eq!(blacklist.len(), 1);
        assert!(!blacklist.is_empty());
        assert_eq!(warnings.len(), 3, "{warnings:#?}");
        assert!(warnings[0].starts_with("ignoring invalid pattern `(unclosed` in process_config.blacklist_patterns: "));
        assert!(warnings[1].contains("`[z-a]`"));
        assert!(warnings[2].contains("`a{2,1}`"));
        for warning in &warnings {
            assert!(!warning.contains('\n'), "{warning}");
            assert!(
                warning.ends_with("fix the regular expression or remove it from the list"),
                "{warning}"
            );
        }
        assert!(blacklist.is_blacklisted(&strings(&["a", "valid", "b"]), ""));
        assert!(!blacklist.is_blacklisted(&strings(&["(unclosed"]), ""));
    }

    #[test]
    fn all_invalid_is_empty() {
        let (blacklist, warnings) = Blacklist::new(&strings(&["("]));
        assert!(blacklist.is_empty());
        assert_eq!(warnings.len(), 1);
        assert!(!blacklist.is_blacklisted(&strings(&["("]), "("));
    }
}
