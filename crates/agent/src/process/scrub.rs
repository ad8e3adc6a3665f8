//! Command-line scrubbing for collected processes.
//!
//! Re-implements the behaviour of the Datadog process-agent "data scrubber" so that process command lines
//! reported by dogwatch hide the same secrets a Datadog agent would hide:
//!
//! * `process_config.scrub_args` (default `true`): replace the value that follows a *sensitive word* with
//!   `********`. The default words are [`DEFAULT_SENSITIVE_WORDS`]; `process_config.custom_sensitive_words`
//!   adds more (default: none). A word may only contain ASCII letters, digits, `_` and `*` wildcards.
//! * `process_config.strip_proc_arguments` (default `false`): report only the executable (the first
//!   space-separated token of `argv[0]`) and drop every argument. This applies even when `scrub_args` is off.
//!
//! How a command line is scrubbed: the arguments are joined with single spaces, every sensitive-word pattern
//! (defaults first, then custom words, in order) replaces `KEY DELIMITER VALUE` with `KEY DELIMITER ********`,
//! and — only if something was replaced — the result is split on single spaces again. Consequently `argv[0]`
//! is never treated as a key, an argument that contained spaces comes back split, and runs of spaces yield
//! empty arguments. A command line with no match is returned unchanged.
//!
//! * KEY is one or more spaces, or one space followed by one or two `-`, then the word (case-insensitive).
//!   A `*` at the end of a word matches `[^ =:]*`; a `*` anywhere else matches `[^\s=:$/]*`.
//! * DELIMITER is one or more spaces, `=` or `:`.
//! * VALUE is a double-quoted string, a single-quoted string, or a (possibly empty) run of non-whitespace.
//!
//! [`ScrubCache`] memoises results per process (pid and creation time) and forgets everything every
//! [`CACHE_MAX_RUNS`] collection runs.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use regex::Regex;

/// Sensitive words that are always scrubbed when `process_config.scrub_args` is enabled (Linux/Unix list, in
/// the order they are applied). `process_config.custom_sensitive_words` is applied after these.
pub const DEFAULT_SENSITIVE_WORDS: &[&str] = &[
    "*password*",
    "*passwd*",
    "*mysql_pwd*",
    "*access_token*",
    "*auth_token*",
    "*api_key*",
    "*apikey*",
    "*secret*",
    "*credentials*",
    "stripetoken",
];

/// Text that replaces a scrubbed value: exactly eight `*`.
pub const SCRUBBED_VALUE: &str = "********";

/// Number of collection runs ([`ScrubCache::end_run`] calls) after which the [`ScrubCache`] is emptied (25).
pub const CACHE_MAX_RUNS: u32 = 25;

/// Config key named in warnings about rejected custom words.
const CUSTOM_WORDS_KEY: &str = "process_config.custom_sensitive_words";

/// Replacement keeping the key and the delimiter exactly as written.
const REPLACEMENT: &str = "${key}${delimiter}********";

/// What a `*` matches at the end of a word.
const TRAILING_WILDCARD: &str = "[^ =:]*";

/// What a `*` matches anywhere but the end of a word. Whitespace is spelled out (`\t \n \f \r` and space)
/// rather than written `\s`, so that it is ASCII-only like the reference implementation's `\s`.
const INNER_WILDCARD: &str = r"[^\t\n\x0C\r =:$/]*";

/// Separator between key and value.
const DELIMITER: &str = "(?P<delimiter> +|=|:)";

/// A double-quoted string, a single-quoted string or a (possibly empty) run of non-whitespace.
const VALUE: &str = r#"(?P<value>"[^"]*"|'[^']*'|[^\t\n\x0C\r ]*)"#;

/// One compiled sensitive word.
#[derive(Debug, Clone)]
struct SensitivePattern {
    /// The word as configured.
    word: String,
    /// Longest wildcard-free part of the word, ASCII lower-cased: the regex only runs on command lines
    /// containing it.
    fast_check: String,
    /// `KEY DELIMITER VALUE` matcher for the word.
    regex: Regex,
}

/// Scrubs sensitive values out of process command lines, built once from the `process_config` keys.
///
/// Cheap to share: it only holds the compiled patterns and the two flags. Use [`Scrubber::scrub`] for a
/// one-off command line, or a [`ScrubCache`] to avoid re-scrubbing the same process on every collection run.
#[derive(Debug, Clone)]
pub struct Scrubber {
    enabled: bool,
    strip_arguments: bool,
    patterns: Vec<SensitivePattern>,
}

impl Default for Scrubber {
    /// The Datadog defaults: `scrub_args: true`, `strip_proc_arguments: false`, no custom sensitive words.
    fn default() -> Self {
        Scrubber::new(true, false, &[]).0
    }
}

impl Scrubber {
    /// Builds from the process_config keys; returns the scrubber and one warning string per rejected word
    /// (e.g. "ignoring invalid sensitive word `**pass` in process_config.custom_sensitive_words: ...").
    ///
    /// * `scrub_args` — `process_config.scrub_args` (default `true`): scrub values of sensitive words.
    /// * `strip_proc_arguments` — `process_config.strip_proc_arguments` (default `false`): keep only the
    ///   executable.
    /// * `custom_words` — `process_config.custom_sensitive_words` (default empty), applied after
    ///   [`DEFAULT_SENSITIVE_WORDS`]. A rejected word (empty, containing characters other than ASCII letters,
    ///   digits, `_` and `*`, being a bare `*`, or containing `**`) is skipped; the rest still apply.
    pub fn new(scrub_args: bool, strip_proc_arguments: bool, custom_words: &[String]) -> (Scrubber, Vec<String>) {
        let mut warnings = Vec::new();
        let mut patterns = Vec::with_capacity(DEFAULT_SENSITIVE_WORDS.len() + custom_words.len());
        for word in DEFAULT_SENSITIVE_WORDS {
            // The defaults are valid by construction; should one ever fail it is reported like a custom word.
            match compile_word(word) {
                Ok(pattern) => patterns.push(pattern),
                Err(reason) => warnings.push(format!("ignoring built-in sensitive word `{word}`: {reason}")),
            }
        }
        for word in custom_words {
            match compile_word(word) {
                Ok(pattern) => patterns.push(pattern),
                Err(reason) => warnings.push(format!(
                    "ignoring invalid sensitive word `{word}` in {CUSTOM_WORDS_KEY}: {reason}"
                )),
            }
        }
        let scrubber = Scrubber {
            enabled: scrub_args,
            strip_arguments: strip_proc_arguments,
            patterns,
        };
        (scrubber, warnings)
    }

    /// Stateless: the argv to report for this command line (owned `Vec<String>`).
    ///
    /// With `strip_proc_arguments` only the first space-separated token of `argv[0]` is kept (an empty argv
    /// stays empty); otherwise, with `scrub_args`, sensitive values are replaced by `********`; otherwise the
    /// argv is returned as is.
    pub fn scrub(&self, argv: &[String]) -> Vec<String> {
        if self.strip_arguments {
            return strip_arguments(argv);
        }
        if !self.enabled {
            return argv.to_vec();
        }
        self.scrub_words(argv).unwrap_or_else(|| argv.to_vec())
    }

    /// Whether sensitive-word scrubbing is on (`process_config.scrub_args`, default `true`).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Whether only the executable is reported (`process_config.strip_proc_arguments`, default `false`).
    pub fn strips_arguments(&self) -> bool {
        self.strip_arguments
    }

    /// The sensitive words in effect, in the order they are applied: [`DEFAULT_SENSITIVE_WORDS`] followed by
    /// the accepted custom words.
    pub fn sensitive_words(&self) -> impl Iterator<Item = &str> + '_ {
        self.patterns.iter().map(|p| p.word.as_str())
    }

    /// Applies the sensitive-word patterns; `None` when nothing matched (the argv must be reported unchanged).
    fn scrub_words(&self, argv: &[String]) -> Option<Vec<String>> {
        let mut line: Option<String> = None;
        let mut changed = false;
        for pattern in &self.patterns {
            // Like the reference, the fast check always looks at the original command line. The needle never
            // contains a space, so checking argument by argument equals checking the joined line, and
            // costs no allocation.
            if !argv
                .iter()
                .any(|arg| contains_lowercased(arg, pattern.fast_check.as_bytes()))
            {
                continue;
            }
            let current = line.get_or_insert_with(|| argv.join(" "));
            if pattern.regex.is_match(current) {
                changed = true;
                let replaced = pattern.regex.replace_all(current, REPLACEMENT).into_owned();
                *current = replaced;
            }
        }
        if !changed {
            return None;
        }
        line.map(|l| l.split(' ').map(str::to_owned).collect())
    }
}

/// Keeps only the first space-separated token of `argv[0]`; an empty argv stays empty.
fn strip_arguments(argv: &[String]) -> Vec<String> {
    match argv.first() {
        Some(first) => vec![first.split(' ').next().unwrap_or_default().to_owned()],
        None => Vec::new(),
    }
}

/// Validates a sensitive word and compiles its pattern; `Err` holds the reason shown to the user.
fn compile_word(word: &str) -> Result<SensitivePattern, String> {
    if word.is_empty() {
        return Err("the word is empty; remove the empty entry from the list".to_owned());
    }
    if let Some(bad) = word
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '*'))
    {
        return Err(format!(
            "it contains {bad:?}; a sensitive word may only contain ASCII letters, digits, `_` and `*` \
             wildcards, so remove that character or replace it with `*`"
        ));
    }
    if word == "*" {
        return Err("a wildcard-only word is not supported; put letters next to the `*` (e.g. `*token`)".to_owned());
    }
    if word.contains("**") {
        return Err("it contains two consecutive `*`; use a single `*` as the wildcard (e.g. `*pass*`)".to_owned());
    }

    let mut source = String::from("(?P<key>(?: +| -{1,2})(?i:");
    let last = word.len() - 1; // the word is non-empty ASCII here
    for (i, c) in word.char_indices() {
        if c == '*' {
            source.push_str(if i == last { TRAILING_WILDCARD } else { INNER_WILDCARD });
        } else {
            source.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
        }
    }
    source.push_str("))");
    source.push_str(DELIMITER);
    source.push_str(VALUE);

    let regex = Regex::new(&source).map_err(|e| format!("it could not be compiled into a pattern ({e})"))?;
    Ok(SensitivePattern {
        word: word.to_owned(),
        fast_check: fast_check(word),
        regex,
    })
}

/// The longest `*`-free part of `word` (the first one on ties), ASCII lower-cased.
fn fast_check(word: &str) -> String {
    let mut best = "";
    for part in word.split('*') {
        if part.len() > best.len() {
            best = part;
        }
    }
    best.to_ascii_lowercase()
}

/// Whether `haystack`, lower-cased the way the reference does it (per character, simple mapping), contains
/// `needle` (lower-case ASCII). Allocation-free.
fn contains_lowercased(haystack: &str, needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    if haystack.is_ascii() {
        return haystack
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle));
    }
    let mut chars = haystack.chars();
    loop {
        if chars
            .clone()
            .map(lower_ascii)
            .take(needle.len())
            .eq(needle.iter().map(|&b| Some(b)))
        {
            return true;
        }
        if chars.next().is_none() {
            return false;
        }
    }
}

/// The ASCII byte `c` lower-cases to, if any. Besides `A`-`Z`, only U+0130 (`İ` → `i`) and the Kelvin sign
/// U+212A (`K` → `k`) have an ASCII simple lower-case mapping.
fn lower_ascii(c: char) -> Option<u8> {
    match c {
        '\u{130}' => Some(b'i'),
        '\u{212A}' => Some(b'k'),
        // The guard makes the cast lossless.
        c if c.is_ascii() => Some((c as u8).to_ascii_lowercase()),
        _ => None,
    }
}

/// Fingerprint of a command line, used to notice that a cached process now has a different argv.
fn fingerprint(argv: &[String]) -> u64 {
    let mut hasher = DefaultHasher::new();
    argv.hash(&mut hasher);
    hasher.finish()
}

/// A cached result: the fingerprint of the argv it was computed from and the argv to report.
#[derive(Debug)]
struct CacheEntry {
    fingerprint: u64,
    scrubbed: Arc<[String]>,
}

/// Per-process memo of scrubbed command lines, keyed by (pid, creation time in ms), emptied every
/// [`CACHE_MAX_RUNS`] (25) collection runs.
///
/// Only used while scrubbing is enabled and arguments are not stripped (stripping is cheap and not cached,
/// disabled scrubbing returns the argv). If a cached process reports a different argv than the one cached
/// (e.g. after `exec`), the new argv is scrubbed and replaces the entry, so a changed command line is never
/// reported unscrubbed.
#[derive(Debug, Default)]
pub struct ScrubCache {
    entries: HashMap<(i32, i64), CacheEntry>,
    runs: u32,
}

impl ScrubCache {
    /// An empty cache at the start of its 25-run lifetime.
    pub fn new() -> ScrubCache {
        ScrubCache::default()
    }

    /// The scrubbed argv for this process, computed with `scrubber` the first time it is asked for.
    ///
    /// Later calls for the same `(pid, create_time_ms)` and the same argv return the cached `Arc` without
    /// allocating. The result always equals `scrubber.scrub(argv)`.
    pub fn get_or_scrub(
        &mut self,
        scrubber: &Scrubber,
        pid: i32,
        create_time_ms: i64,
        argv: &[String],
    ) -> Arc<[String]> {
        if scrubber.strip_arguments {
            return Arc::from(strip_arguments(argv));
        }
        if !scrubber.enabled {
            return Arc::from(argv);
        }
        let fingerprint = fingerprint(argv);
        let key = (pid, create_time_ms);
        if let Some(entry) = self.entries.get(&key).filter(|e| e.fingerprint == fingerprint) {
            return Arc::clone(&entry.scrubbed);
        }
        let scrubbed: Arc<[String]> = match scrubber.scrub_words(argv) {
            Some(scrubbed) => Arc::from(scrubbed),
            None => Arc::from(argv),
        };
        self.entries.insert(
            key,
            CacheEntry {
                fingerprint,
                scrubbed: Arc::clone(&scrubbed),
            },
        );
        scrubbed
    }

    /// Ends one collection run; every 25th run empties the cache.
    ///
    /// Call once per collection run, after all processes of the run went through [`ScrubCache::get_or_scrub`].
    /// Entries of processes that exited are dropped at the next emptying.
    pub fn end_run(&mut self) {
        self.runs += 1;
        if self.runs >= CACHE_MAX_RUNS {
            self.entries.clear();
            self.runs = 0;
        }
    }

    /// Number of cached processes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no process is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn scrubber(custom: &[&str]) -> Scrubber {
        let (scrubber, warnings) = Scrubber::new(true, false, &strings(custom));
        assert!(warnings.is_empty(), "unexpected warnings: {warnings:?}");
        scrubber
    }

    #[track_caller]
    fn check(scrubber: &Scrubber, cases: &[(&[&str], &[&str])]) {
        for (input, expected) in cases {
            let got = scrubber.scrub(&strings(input));
            assert_eq!(got, strings(expected), "input: {input:?}");
        }
    }

    /// The custom words used by the reference's main test tables.
    const REFERENCE_CUSTOM: &[&str] = &["consul_token", "dd_password", "blocked_from_yaml", "config", "pid"];

    /// The custom wildcard words used by the reference's wildcard table.
    const REFERENCE_WILDCARDS: &[&str] = &["*befpass", "afterpass*", "*both*", "mi*le", "*pass*d*", "*path*"];

    #[test]
    fn behaviour_table() {
        let s = Scrubber::default();
        check(
            &s,
            &[
                (&["agent", "--password=1234"], &["agent", "--password=********"]),
                (&["agent", "-password", "1234"], &["agent", "-password", "********"]),
                (&["agent", "-password:123"], &["agent", "-password:********"]),
                (&["agent", "password:1234"], &["agent", "password:********"]),
                (&["agent", "-password=========123"], &["agent", "-password=********"]),
                (
                    &["agent", "--password=\"Data Source x\""],
                    &["agent", "--password=********"],
                ),
                (
                    &["java", "-Dsome.keyStorePassword=x"],
                    &["java", "-Dsome.keyStorePassword=********"],
                ),
                (&["agent", "--PaSsWoRd=1234"], &["agent", "--PaSsWoRd=********"]),
                (&["agent", "-password/123"], &["agent", "-password/123"]),
            ],
        );
    }

    #[test]
    fn argv0_is_never_a_key() {
        let s = Scrubber::default();
        check(
            &s,
            &[
                (&["--password=1234"], &["--password=1234"]),
                (&["password 1234"], &["password 1234"]),
                (&["--password 1234", "x"], &["--password 1234", "x"]),
                // Inside argv[0], a key preceded by a space is scrubbed and argv[0] is split.
                (&["run --password 1234"], &["run", "--password", "********"]),
            ],
        );
    }

    #[test]
    fn unchanged_argv_keeps_its_shape() {
        let s = Scrubber::default();
        check(
            &s,
            &[
                (&["bash", "-c", "echo a  b"], &["bash", "-c", "echo a  b"]),
                (&[], &[]),
                (&[""], &[""]),
            ],
        );
    }

    #[test]
    fn changed_argv_is_resplit_on_single_spaces() {
        let s = Scrubber::default();
        check(
            &s,
            &[
                (
                    &["sh", "-c", "run --secret x"],
                    &["sh", "-c", "run", "--secret", "********"],
                ),
                (
                    &["sh", "a  b", "--secret=x"],
                    &["sh", "a", "", "b", "--secret=********"],
                ),
            ],
        );
    }

    #[test]
    fn empty_value_and_other_edge_cases() {
        let s = Scrubber::default();
        check(
            &s,
            &[
                // An empty value still counts as a value.
                (&["agent", "--password="], &["agent", "--password=********"]),
                (&["agent", "--password", ""], &["agent", "--password", "********"]),
                // Single quotes are a value too; text after the closing quote is kept.
                (&["agent", "--password='a b'c"], &["agent", "--password=********c"]),
                // Unterminated quote: a run of non-space characters.
                (
                    &["agent", "--password=\"a", "b"],
                    &["agent", "--password=********", "b"],
                ),
                // Tab is whitespace: the value stops there.
                (&["agent", "--password=a\tb"], &["agent", "--password=********\tb"]),
                (&["agent", "--password=a\nb"], &["agent", "--password=********\nb"]),
                // Whitespace means ASCII `\t \n \f \r` and space only: vertical tab and NBSP are part of a value.
                (&["agent", "--password=a\u{B}b"], &["agent", "--password=********"]),
                (&["agent", "--password=a\u{A0}b"], &["agent", "--password=********"]),
                // `$` and `/` may follow the word (trailing wildcard) but not precede it (leading wildcard).
                (&["agent", "--password$x=1"], &["agent", "--password$x=********"]),
                (&["agent", "--x/password=1"], &["agent", "--x/password=1"]),
                (&["agent", "--$password=1"], &["agent", "--$password=1"]),
                // Three dashes: the leading wildcard absorbs the extra dash.
                (&["agent", "---password=1"], &["agent", "---password=********"]),
                (&["agent", "--stripetoken=tok"], &["agent", "--stripetoken=********"]),
                (&["agent", "--stripetokens=tok"], &["agent", "--stripetokens=tok"]),
                (&["agent", "--API_KEY", "k"], &["agent", "--API_KEY", "********"]),
                (&["env", "MYSQL_PWD=p"], &["env", "MYSQL_PWD=********"]),
            ],
        );
    }

    #[test]
    fn unicode_case_folding_follows_the_reference() {
        let s = scrubber(&["*token"]);
        check(
            &s,
            &[
                // Kelvin sign lower-cases to `k`: passes the fast check and folds to `k` in the pattern.
                (&["app", "--to\u{212A}en=x"], &["app", "--to\u{212A}en=********"]),
                // Long s folds to `s` in the pattern but does not lower-case to `s`, so the fast check
                // skips it, as in the reference.
                (&["app", "--pa\u{17F}sword=x"], &["app", "--pa\u{17F}sword=x"]),
                // Non-ASCII characters around the key are fine.
                (
                    &["app", "--été_password=x", "€"],
                    &["app", "--été_password=********", "€"],
                ),
            ],
        );
    }

    /// Ported from the reference's table of sensitive command lines.
    #[test]
    fn reference_sensitive_cmdlines() {
        let s = scrubber(REFERENCE_CUSTOM);
        check(
            &s,
            &[
                (
                    &["process --password=\"Data Source another_password=12345\""],
                    &["process", "--password=********"],
                ),
                (
                    &["process --password=\"Data Source\""],
                    &["process", "--password=********"],
                ),
                (
                    &["process --password:'Data Source another_pass=12345'"],
                    &["process", "--password:********"],
                ),
                (
                    &["agent", "password", "-token", "1234"],
                    &["agent", "password", "********", "1234"],
                ),
                (&["agent", "-password", "1234"], &["agent", "-password", "********"]),
                (
                    &["agent --password > /password/secret; agent --password echo >> /etc"],
                    &[
                        "agent",
                        "--password",
                        "********",
                        "/password/secret;",
                        "agent",
                        "--password",
                        "********",
                        ">>",
                        "/etc",
                    ],
                ),
                (
                    &["agent --password > /password/secret; ls"],
                    &["agent", "--password", "********", "/password/secret;", "ls"],
                ),
                (&["agent", "-password=========123"], &["agent", "-password=********"]),
                (&["agent", "-password:123"], &["agent", "-password:********"]),
                (&["agent", "password/test:123"], &["agent", "password/test:********"]),
                (&["agent", "-password////:123"], &["agent", "-password////:********"]),
                (
                    &["agent", "-password", "-password"],
                    &["agent", "-password", "********"],
                ),
                (&["agent", "--password", "1234"], &["agent", "--password", "********"]),
                (&["agent", "-password=1234"], &["agent", "-password=********"]),
                (&["agent", "--password=1234"], &["agent", "--password=********"]),
                (
                    &["fitz", "-consul_token=1234567890"],
                    &["fitz", "-consul_token=********"],
                ),
                (
                    &["fitz", "--consul_token=1234567890"],
                    &["fitz", "--consul_token=********"],
                ),
                (
                    &["fitz", "-consul_token", "1234567890"],
                    &["fitz", "-consul_token", "********"],
                ),
                (
                    &["fitz", "--consul_token", "1234567890"],
                    &["fitz", "--consul_token", "********"],
                ),
                (
                    &["fitz", "-dd_password", "1234567890"],
                    &["fitz", "-dd_password", "********"],
                ),
                (
                    &["fitz", "dd_password", "1234567890"],
                    &["fitz", "dd_password", "********"],
                ),
                (
                    &[
                        "python ~/test/run.py --password=1234 -password 1234 -open_pword=admin -consul_token 2345 \
                       -blocked_from_yaml=1234 &",
                    ],
                    &[
                        "python",
                        "~/test/run.py",
                        "--password=********",
                        "-password",
                        "********",
                        "-open_pword=admin",
                        "-consul_token",
                        "********",
                        "-blocked_from_yaml=********",
                        "&",
                    ],
                ),
                (&["agent", "-PASSWORD", "1234"], &["agent", "-PASSWORD", "********"]),
                (&["agent", "--PASSword", "1234"], &["agent", "--PASSword", "********"]),
                (&["agent", "--PaSsWoRd=1234"], &["agent", "--PaSsWoRd=********"]),
                (
                    &["java -password      1234"],
                    &["java", "-password", "", "", "", "", "", "********"],
                ),
                (
                    &["process-agent --config=datadog.yaml --pid=process-agent.pid"],
                    &["process-agent", "--config=********", "--pid=********"],
                ),
                (&["1-password --config=12345"], &["1-password", "--config=********"]),
                (
                    &["java kafka password 1234"],
                    &["java", "kafka", "password", "********"],
                ),
                (&["agent", "password:1234"], &["agent", "password:********"]),
                (&["agent password:1234"], &["agent", "password:********"]),
                (&["p1", "--openpassword=admin"], &["p1", "--openpassword=********"]),
                (&["p1", "-openpassword", "admin"], &["p1", "-openpassword", "********"]),
                (&["java -openpassword 1234"], &["java", "-openpassword", "********"]),
                (&["java -open_password 1234"], &["java", "-open_password", "********"]),
                (&["java -passwordOpen 1234"], &["java", "-passwordOpen", "********"]),
                (&["java -password_open 1234"], &["java", "-password_open", "********"]),
                (&["java -password1 1234"], &["java", "-password1", "********"]),
                (&["java -password_1 1234"], &["java", "-password_1", "********"]),
                (&["java -1password 1234"], &["java", "-1password", "********"]),
                (&["java -1_password 1234"], &["java", "-1_password", "********"]),
                (&["agent", "1_password:1234"], &["agent", "1_password:********"]),
                (&["agent 1_password:1234"], &["agent", "1_password:********"]),
            ],
        );
    }

    /// Ported from the reference's table of command lines that must be left alone.
    #[test]
    fn reference_insensitive_cmdlines() {
        let s = scrubber(REFERENCE_CUSTOM);
        let unchanged: &[&[&str]] = &[
            &["agent", "-password/123"],
            &[
                "/usr/local/bin/bash -c cat /etc/vaultd/secrets/haproxy-crt.pem > /etc/vaultd/secrets/haproxy.pem; \
               echo >> /etc/vaultd/secrets/haproxy.pem; cat /etc/vaultd/secrets/haproxy-key.pem >> \
               /etc/vaultd/secrets/haproxy.pem",
            ],
            &[
                ":usr:local:bin:bash -c cat :etc:vaultd:secrets:haproxy-crt.pem > :etc:vaultd:secrets:haproxy.pem; \
               echo >> :etc:vaultd:secrets:haproxy.pem; cat :etc:vaultd:secrets:haproxy-key.pem >> \
               :etc:vaultd:secrets:haproxy.pem",
            ],
            &["spidly", "--debug_port=2043"],
            &["agent", "start", "-p", "config.cfg"],
            &["p1", "-user=admin"],
            &["p1", "-user", "admin"],
            &["java -xMg 1234"],
            &["java -open_pword 1234"],
            &["java -pwordOpen 1234"],
            &["java -pword_open 1234"],
            &["java -pword1 1234"],
            &["java -pword_1 1234"],
            &["java -1pword 1234"],
            &["java -1_pword 1234"],
            &["agent", "1_pword:1234"],
            &["agent 1_pword:1234"],
        ];
        for argv in unchanged {
            assert_eq!(s.scrub(&strings(argv)), strings(argv), "input: {argv:?}");
        }
    }

    /// Ported from the reference's wildcard table.
    #[test]
    fn reference_wildcards() {
        let s = scrubber(REFERENCE_WILDCARDS);
        check(
            &s,
            &[
                (
                    &["spidly", "--befpass=2043", "onebefpass", "1234", "--befpassCustom=1234"],
                    &[
                        "spidly",
                        "--befpass=********",
                        "onebefpass",
                        "********",
                        "--befpassCustom=1234",
                    ],
                ),
                (
                    &["spidly --befpass=2043 onebefpass 1234 --befpassCustom=1234"],
                    &[
                        "spidly",
                        "--befpass=********",
                        "onebefpass",
                        "********",
                        "--befpassCustom=1234",
                    ],
                ),
                (
                    &["spidly   --befpass=2043   onebefpass   1234   --befpassCustom=1234"],
                    &[
                        "spidly",
                        "",
                        "",
                        "--befpass=********",
                        "",
                        "",
                        "onebefpass",
                        "",
                        "",
                        "********",
                        "",
                        "",
                        "--befpassCustom=1234",
                    ],
                ),
                (
                    &[
                        "spidly",
                        "--afterpass=2043",
                        "afterpass_1",
                        "1234",
                        "--befafterpass_1=1234",
                    ],
                    &[
                        "spidly",
                        "--afterpass=********",
                        "afterpass_1",
                        "********",
                        "--befafterpass_1=1234",
                    ],
                ),
                (
                    &["spidly --afterpass=2043 afterpass_1 1234 --befafterpass_1=1234"],
                    &[
                        "spidly",
                        "--afterpass=********",
                        "afterpass_1",
                        "********",
                        "--befafterpass_1=1234",
                    ],
                ),
                (
                    &[
                        "spidly",
                        "both",
                        "1234",
                        "-dd_both",
                        "1234",
                        "bothafter",
                        "1234",
                        "--dd_bothafter=1234",
                    ],
                    &[
                        "spidly",
                        "both",
                        "********",
                        "-dd_both",
                        "********",
                        "bothafter",
                        "********",
                        "--dd_bothafter=********",
                    ],
                ),
                (
                    &["spidly", "middle", "1234", "-mile", "1234", "--mill=1234"],
                    &["spidly", "middle", "********", "-mile", "********", "--mill=1234"],
                ),
                (
                    &["spidly   middle   1234   -mile   1234   --mill=1234"],
                    &[
                        "spidly",
                        "",
                        "",
                        "middle",
                        "",
                        "",
                        "********",
                        "",
                        "",
                        "-mile",
                        "",
                        "",
                        "********",
                        "",
                        "",
                        "--mill=1234",
                    ],
                ),
                (
                    &[
                        "spidly",
                        "--passwd=1234",
                        "password",
                        "1234",
                        "-mypassword",
                        "1234",
                        "--passwords=12345,123456",
                        "--mypasswords=1234,123456",
                    ],
                    &[
                        "spidly",
                        "--passwd=********",
                        "password",
                        "********",
                        "-mypassword",
                        "********",
                        "--passwords=********",
                        "--mypasswords=********",
                    ],
                ),
                (&["run-middle password 12345"], &["run-middle", "password", "********"]),
                (
                    &["generate-password -password 12345"],
                    &["generate-password", "-password", "********"],
                ),
                (
                    &["generate-password --password=12345"],
                    &["generate-password", "--password=********"],
                ),
                (
                    &[
                        "java /var/lib/datastax-agent/conf/address.yaml -Dopscenter.ssl.keyStorePassword=opscenter \
                       -Dagent-pidfile=/var/run/datastax-agent/datastax-agent.pid --anotherpassword=1234",
                    ],
                    &[
                        "java",
                        "/var/lib/datastax-agent/conf/address.yaml",
                        "-Dopscenter.ssl.keyStorePassword=********",
                        "-Dagent-pidfile=/var/run/datastax-agent/datastax-agent.pid",
                        "--anotherpassword=********",
                    ],
                ),
                (
                    &["/usr/bin/java -Des.path.home=/usr/local/elasticsearch-1.7.6 -cp \
                       $ES_CLASSPATH:$ES_HOME/lib/*:$ES_HOME/lib/sigar/*:/usr/local/elasticsearch-1.7.6\
                       /lib/elasticsearch-1.7.6.jar:/usr/local/elasticsearch-1.7.6/lib/*:\
                       /usr/local/elasticsearch-1.7.6/lib\
                       /sigar/* org.elasticsearch.bootstrap.Elasticsearch"],
                    &[
                        "/usr/bin/java",
                        "-Des.path.home=********",
                        "-cp",
                        "$ES_CLASSPATH:$ES_HOME/lib/*:$ES_HOME/lib/sigar/*:/usr/local/elasticsearch-1.7.6\
                         /lib/elasticsearch-1.7.6.jar:/usr/local/elasticsearch-1.7.6/lib/*:\
                         /usr/local/elasticsearch-1.7.6/lib/sigar/*",
                        "org.elasticsearch.bootstrap.Elasticsearch",
                    ],
                ),
                (
                    &["process \u{2011}XXpath:/secret/"],
                    &["process", "\u{2011}XXpath:********"],
                ),
                (
                    &["process", "\u{2011}XXpath:/secret/"],
                    &["process", "\u{2011}XXpath:********"],
                ),
            ],
        );
    }

    #[test]
    fn custom_word_personal_key() {
        let s = scrubber(&["personal_key"]);
        check(
            &s,
            &[
                (&["app", "--personal_key=abc"], &["app", "--personal_key=********"]),
                (&["app", "-personal_key", "abc"], &["app", "-personal_key", "********"]),
                (&["app", "personal_key:abc"], &["app", "personal_key:********"]),
                (
                    &["app", "--PERSONAL_KEY", "abc"],
                    &["app", "--PERSONAL_KEY", "********"],
                ),
                // No wildcard: nothing may precede or follow the word.
                (&["app", "--my_personal_key=abc"], &["app", "--my_personal_key=abc"]),
                (&["app", "--personal_keys=abc"], &["app", "--personal_keys=abc"]),
            ],
        );
    }

    #[test]
    fn custom_word_leading_wildcard_token() {
        let s = scrubber(&["*token"]);
        check(
            &s,
            &[
                (&["app", "--consul_token=abc"], &["app", "--consul_token=********"]),
                (&["app", "-token", "abc"], &["app", "-token", "********"]),
                (&["app", "--X-Vault-Token:abc"], &["app", "--X-Vault-Token:********"]),
                (&["app", "githubtoken", "abc"], &["app", "githubtoken", "********"]),
                // Nothing may follow the word.
                (&["app", "--tokenfile=abc"], &["app", "--tokenfile=abc"]),
                // The leading wildcard does not cross `/`.
                (&["app", "--dir/token=abc"], &["app", "--dir/token=abc"]),
            ],
        );
    }

    #[test]
    fn custom_word_trailing_wildcard_sql() {
        let s = scrubber(&["sql*"]);
        check(
            &s,
            &[
                (&["app", "--sql=abc"], &["app", "--sql=********"]),
                (&["app", "--sql_conn=abc"], &["app", "--sql_conn=********"]),
                (&["app", "sqlserver", "abc"], &["app", "sqlserver", "********"]),
                // The trailing wildcard may contain `/` and `$`.
                (&["app", "--sql/dsn:abc"], &["app", "--sql/dsn:********"]),
                // Nothing may precede the word.
                (&["app", "--mysql_user=root"], &["app", "--mysql_user=root"]),
            ],
        );
    }

    #[test]
    fn custom_word_inner_wildcards_pass_d() {
        let s = scrubber(&["*pass*d*"]);
        check(
            &s,
            &[
                (&["app", "--passcode=1234"], &["app", "--passcode=********"]),
                (
                    &["app", "--twopasswords=1234,5678"],
                    &["app", "--twopasswords=********"],
                ),
                (&["app", "-bypassed", "x"], &["app", "-bypassed", "********"]),
                (&["app", "--passfile=x"], &["app", "--passfile=x"]),
                // An inner wildcard does not cross `/`.
                (&["app", "--pass/d=x"], &["app", "--pass/d=x"]),
            ],
        );
    }

    /// Ported from the reference's table of uncompilable words.
    #[test]
    fn invalid_words_are_rejected_with_warnings() {
        let custom = strings(&[
            "consul_token",
            "dd_password",
            "(an_error",
            ")a*",
            "[forbidden]",
            "]a*",
            "blocked_from_yaml",
            "*bef",
            "**bef",
            "after*",
            "after**",
            "*both*",
            "**both**",
            "mi*le",
            "mi**le",
            "*",
            "**",
            "*pass*d*",
        ]);
        let (s, warnings) = Scrubber::new(true, false, &custom);
        let rejected = [
            "(an_error",
            ")a*",
            "[forbidden]",
            "]a*",
            "**bef",
            "after**",
            "**both**",
            "mi**le",
            "*",
            "**",
        ];
        assert_eq!(warnings.len(), rejected.len(), "{warnings:#?}");
        for (warning, word) in warnings.iter().zip(rejected) {
            assert!(
                warning.starts_with(&format!(
                    "ignoring invalid sensitive word `{word}` in {CUSTOM_WORDS_KEY}: "
                )),
                "{warning}"
            );
        }
        let words: Vec<&str> = s.sensitive_words().collect();
        let mut expected: Vec<&str> = DEFAULT_SENSITIVE_WORDS.to_vec();
        expected.extend([
            "consul_token",
            "dd_password",
            "blocked_from_yaml",
            "*bef",
            "after*",
            "*both*",
            "mi*le",
        ]);
        expected.push("*pass*d*");
        assert_eq!(words, expected);

        check(
            &s,
            &[
                (
                    &["process --consul_token=1234"],
                    &["process", "--consul_token=********"],
                ),
                (&["process --dd_password=1234"], &["process", "--dd_password=********"]),
                (
                    &["process --blocked_from_yaml=1234"],
                    &["process", "--blocked_from_yaml=********"],
                ),
                (&["process --onebef=1234"], &["process", "--onebef=********"]),
                (&["process --afterone=1234"], &["process", "--afterone=********"]),
                (&["process --oneboth1=1234"], &["process", "--oneboth1=********"]),
                (&["process --middle=1234"], &["process", "--middle=********"]),
                (
                    &["process --twopasswords=1234,5678"],
                    &["process", "--twopasswords=********"],
                ),
            ],
        );
    }

    #[test]
    fn warning_texts_explain_the_fix() {
        let (_, warnings) = Scrubber::new(true, false, &strings(&["**pass", "*", "pass-word", "", "pâss"]));
        assert_eq!(warnings.len(), 5);
        assert!(
            warnings[0]
                .starts_with("ignoring invalid sensitive word `**pass` in process_config.custom_sensitive_words: ")
        );
        assert!(warnings[0].contains("two consecutive `*`"));
        assert!(warnings[1].contains("wildcard-only"));
        assert!(warnings[2].contains("'-'") && warnings[2].contains("only contain ASCII letters, digits"));
        assert!(warnings[3].contains("empty"));
        assert!(warnings[4].contains("'â'"));
    }

    #[test]
    fn fast_check_uses_longest_literal_part() {
        assert_eq!(fast_check("*aa*bbbb*"), "bbbb");
        assert_eq!(fast_check("*aa*bbbb*cc"), "bbbb");
        assert_eq!(fast_check("aa*bb"), "aa");
        assert_eq!(fast_check("*a"), "a");
        assert_eq!(fast_check("A*"), "a");
        assert_eq!(fast_check("StripeToken"), "stripetoken");
        assert!(contains_lowercased("xPaSsWoRdx", b"password"));
        assert!(contains_lowercased("é-PASSWORD", b"password"));
        assert!(contains_lowercased("\u{130}D", b"id"));
        assert!(!contains_lowercased("passwor", b"password"));
        assert!(!contains_lowercased("", b"a"));
    }

    #[test]
    fn scrub_args_disabled() {
        let (s, warnings) = Scrubber::new(false, false, &strings(REFERENCE_CUSTOM));
        assert!(warnings.is_empty());
        assert!(!s.is_enabled());
        let unchanged: &[&[&str]] = &[
            &["agent", "-password", "1234"],
            &["agent", "--password=1234"],
            &["fitz", "-consul_token=1234567890"],
            &["fitz", "--consul_token", "1234567890"],
            &["python ~/test/run.py --password=1234 -password 1234 -open_pword=admin -consul_token 2345 &"],
            &["agent", "--PaSsWoRd=1234"],
            &["java -password      1234"],
            &["agent", "password:1234"],
            &["agent password:1234"],
        ];
        for argv in unchanged {
            assert_eq!(s.scrub(&strings(argv)), strings(argv));
            let mut cache = ScrubCache::new();
            assert_eq!(&*cache.get_or_scrub(&s, 1, 1, &strings(argv)), strings(argv).as_slice());
            assert!(cache.is_empty());
        }
    }

    #[test]
    fn strip_arguments_with_and_without_scrubbing() {
        for scrub_args in [true, false] {
            let (s, _) = Scrubber::new(scrub_args, true, &strings(REFERENCE_CUSTOM));
            assert!(s.strips_arguments());
            check(
                &s,
                &[
                    (&["/usr/bin/python3 -m x", "--a"], &["/usr/bin/python3"]),
                    (&["java", "-jar", "x"], &["java"]),
                    (&["agent", "-password", "1234"], &["agent"]),
                    (&["agent", "--password=1234"], &["agent"]),
                    (&["fitz", "--consul_token", "1234567890"], &["fitz"]),
                    (
                        &["python ~/test/run.py --password=1234 -password 1234 -open_password=admin &"],
                        &["python"],
                    ),
                    (&["java -password      1234"], &["java"]),
                    (&["agent password:1234"], &["agent"]),
                    // argv[0] is kept up to its first space only, never scrubbed.
                    (&["--password=1234"], &["--password=1234"]),
                    (&[" leading-space"], &[""]),
                    (&[""], &[""]),
                    (&[], &[]),
                ],
            );
            let mut cache = ScrubCache::new();
            assert_eq!(
                &*cache.get_or_scrub(&s, 1, 1, &strings(&["java", "-jar", "x"])),
                ["java"]
            );
            assert!(cache.is_empty());
        }
    }

    #[test]
    fn cache_hits_and_clears_after_25_runs() {
        let s = scrubber(REFERENCE_CUSTOM);
        let mut cache = ScrubCache::new();
        let secret = strings(&["agent", "--password=1234"]);
        let plain = strings(&["agent", "run"]);

        let first = cache.get_or_scrub(&s, 10, 1_000, &secret);
        assert_eq!(&*first, ["agent", "--password=********"]);
        let plain_first = cache.get_or_scrub(&s, 11, 1_000, &plain);
        assert_eq!(&*plain_first, plain.as_slice());
        assert_eq!(cache.len(), 2);

        for run in 1..CACHE_MAX_RUNS {
            assert!(
                Arc::ptr_eq(&first, &cache.get_or_scrub(&s, 10, 1_000, &secret)),
                "run {run}"
            );
            assert!(
                Arc::ptr_eq(&plain_first, &cache.get_or_scrub(&s, 11, 1_000, &plain)),
                "run {run}"
            );
            cache.end_run();
            assert_eq!(cache.len(), 2, "run {run}");
        }
        cache.end_run();
        assert!(cache.is_empty());
        assert_eq!(cache.len(), 0);

        let again = cache.get_or_scrub(&s, 10, 1_000, &secret);
        assert!(!Arc::ptr_eq(&first, &again));
        assert_eq!(again, first);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn cache_distinguishes_create_time_and_changed_argv() {
        let s = Scrubber::default();
        let mut cache = ScrubCache::new();
        let a = cache.get_or_scrub(&s, 7, 1, &strings(&["sh", "entrypoint.sh"]));
        assert_eq!(&*a, ["sh", "entrypoint.sh"]);
        // Same pid and creation time, new argv (the process exec'd): scrubbed again, never served stale.
        let b = cache.get_or_scrub(&s, 7, 1, &strings(&["db", "--password=hunter2"]));
        assert_eq!(&*b, ["db", "--password=********"]);
        assert_eq!(cache.len(), 1);
        // A reused pid with another creation time is another process.
        let c = cache.get_or_scrub(&s, 7, 2, &strings(&["db", "--password=hunter2"]));
        assert_eq!(c, b);
        assert_eq!(cache.len(), 2);
    }

    fn arg() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ a-zA-Z0-9=:\"'/$*_\\-\t]{0,16}",
            concat!(
                "[ =:\"'-]{0,4}(password|PassWord|secret|api_key|token|sql|pass)?",
                "[ =:\"'a-z0-9\u{17F}\u{212A}\u{130}é€]{0,8}"
            ),
            Just(String::new()),
            Just(" ".to_owned()),
        ]
    }

    proptest! {
        #[test]
        fn scrub_never_panics(
            argv in proptest::collection::vec(arg(), 0..8),
            scrub_args in any::<bool>(),
            strip in any::<bool>(),
        ) {
            let custom = strings(&["personal_key", "*token", "sql*", "*pass*d*"]);
            let (s, warnings) = Scrubber::new(scrub_args, strip, &custom);
            prop_assert!(warnings.is_empty());
            let out = s.scrub(&argv);
            if strip {
                prop_assert!(out.len() <= 1);
            } else if !scrub_args {
                prop_assert_eq!(&out, &argv);
            } else if out != argv {
                // A rewrite only ever re-splits and inserts `********`.
                prop_assert!(out.join(" ").contains(SCRUBBED_VALUE));
            }
            let mut cache = ScrubCache::new();
            prop_assert_eq!(&*cache.get_or_scrub(&s, 1, 1, &argv), out.as_slice());
        }

        #[test]
        fn password_value_never_survives(
            program in arg(),
            before in proptest::collection::vec(arg(), 0..4),
            after in proptest::collection::vec(arg(), 0..4),
            key in "--?(password|PASSWORD|PaSsWoRd|db_password|passwd|api_key|secret)",
            delimiter in "[=:]",
            value in "[a-zA-Z0-9]{1,16}",
        ) {
            let mut argv = vec![program];
            argv.extend(before);
            argv.push(format!("{key}{delimiter}{value}"));
            argv.extend(after);
            // The value must only occur as the value, so that finding it in the output means it leaked.
            prop_assume!(argv.join(" ").matches(value.as_str()).count() == 1);
            let out = Scrubber::default().scrub(&argv);
            prop_assert!(!out.join(" ").contains(value.as_str()), "leaked {:?} in {:?}", value, out);
        }
    }
}
