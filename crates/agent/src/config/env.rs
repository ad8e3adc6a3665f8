//! `DD_*` environment variables: which names set which key, and how their text is read.
//!
//! Every key `a.b.c` can be set with `DD_A_B_C`. Datadog also binds shorter or older names
//! to some keys (`DD_APM_ENABLED` for `apm_config.enabled`); those are listed in
//! [`ALIASES`] and win over the automatic name when both are set, in the order listed.

use std::collections::BTreeMap;

/// Environment variables, captured once so that loading is a pure function of its inputs.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// This process's environment (variables whose name or value is not UTF-8 are skipped).
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Environment { vars }
    }

    /// An environment holding exactly these variables.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let vars = pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        Environment { vars }
    }

    /// The value of `name` if it is set and not empty (Datadog ignores empty variables).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// Every variable, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether `name` is set at all, even to the empty string.
    pub fn is_set(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    /// Whether `name` holds a true value (`true`, `1`, `yes`, any case).
    pub fn is_true(&self, name: &str) -> bool {
        self.get(name).and_then(parse_bool).unwrap_or(false)
    }
}

/// Names Datadog binds to a key in addition to the automatic `DD_<KEY>`, in priority order.
pub(crate) const ALIASES: &[(&str, &[&str])] = &[
    ("dd_url", &["DD_DD_URL", "DD_URL"]),
    ("app_key", &["DD_APP_KEY", "DD_APPLICATION_KEY"]),
    ("apm_config.enabled", &["DD_APM_ENABLED"]),
    (
        "apm_config.receiver_port",
        &["DD_APM_RECEIVER_PORT", "DD_RECEIVER_PORT"],
    ),
    ("apm_config.apm_non_local_traffic", &["DD_APM_NON_LOCAL_TRAFFIC"]),
    ("apm_config.receiver_socket", &["DD_APM_RECEIVER_SOCKET"]),
    ("apm_config.max_payload_size", &["DD_APM_MAX_PAYLOAD_SIZE"]),
    ("apm_config.receiver_timeout", &["DD_APM_RECEIVER_TIMEOUT"]),
    ("apm_config.env", &["DD_APM_ENV"]),
    (
        "apm_config.target_traces_per_second",
        &["DD_APM_TARGET_TPS", "DD_APM_MAX_TPS"],
    ),
    ("apm_config.errors_per_second", &["DD_APM_ERROR_TPS"]),
    ("process_config.enabled", &["DD_PROCESS_AGENT_ENABLED"]),
    ("process_config.scrub_args", &["DD_SCRUB_ARGS"]),
    ("process_config.custom_sensitive_words", &["DD_CUSTOM_SENSITIVE_WORDS"]),
    ("process_config.strip_proc_arguments", &["DD_STRIP_PROCESS_ARGS"]),
];

/// Every variable that may set `key`, in priority order: the listed aliases, the automatic
/// `DD_<KEY>`, and for `process_config.*` also `DD_PROCESS_AGENT_*`.
pub(crate) fn env_names(key: &str) -> Vec<String> {
    let mut names: Vec<String> = ALIASES
        .iter()
        .filter(|(k, _)| *k == key)
        .flat_map(|(_, names)| names.iter().map(|n| n.to_string()))
        .collect();
    let mut push = |name: String| {
        if !names.contains(&name) {
            names.push(name);
        }
    };
    push(format!("DD_{}", key.replace('.', "_").to_ascii_uppercase()));
    if let Some(rest) = key.strip_prefix("process_config.") {
        push(format!(
            "DD_PROCESS_AGENT_{}",
            rest.replace('.', "_").to_ascii_uppercase()
        ));
    }
    names
}

/// How a list-valued variable is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListStyle {
    /// Space-separated, as Datadog reads every list from the environment.
    Spaces,
    /// Space- or comma-separated (`DD_TAGS`, as the Heroku buildpack allows).
    SpacesOrCommas,
    /// Comma-separated, or a JSON list when wrapped in `[ ]` (`DD_CUSTOM_SENSITIVE_WORDS`).
    CommasOrJson,
}

/// The list style of `key`.
pub(crate) fn list_style(key: &str) -> ListStyle {
    match key {
        "tags" | "extra_tags" | "dogstatsd_tags" => ListStyle::SpacesOrCommas,
        "process_config.custom_sensitive_words" => ListStyle::CommasOrJson,
        _ => ListStyle::Spaces,
    }
}

/// Splits a list written as text; empty items are dropped.
pub(crate) fn split_list(raw: &str, style: ListStyle) -> Result<Vec<String>, String> {
    let trimmed = raw.trim();
    let items: Vec<String> = match style {
        ListStyle::Spaces => trimmed.split_whitespace().map(String::from).collect(),
        ListStyle::SpacesOrCommas => trimmed
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        ListStyle::CommasOrJson if trimmed.starts_with('[') => {
            serde_json::from_str::<Vec<String>>(trimmed).map_err(|e| format!("expected a JSON list of strings: {e}"))?
        }
        ListStyle::CommasOrJson => trimmed.split(',').map(|s| s.trim().to_string()).collect(),
    };
    Ok(items.into_iter().filter(|s| !s.is_empty()).collect())
}

/// Reads a boolean the way Go's `strconv.ParseBool` does, plus `yes`/`no`/`on`/`off`.
pub(crate) fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "yes" | "y" | "on" => Some(true),
        "0" | "f" | "false" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_come_before_the_automatic_name() {
        assert_eq!(env_names("dd_url"), ["DD_DD_URL", "DD_URL"]);
        assert_eq!(
            env_names("apm_config.enabled"),
            ["DD_APM_ENABLED", "DD_APM_CONFIG_ENABLED"]
        );
        assert_eq!(
            env_names("process_config.scrub_args"),
            [
                "DD_SCRUB_ARGS",
                "DD_PROCESS_CONFIG_SCRUB_ARGS",
                "DD_PROCESS_AGENT_SCRUB_ARGS"
            ]
        );
        assert_eq!(env_names("log_level"), ["DD_LOG_LEVEL"]);
    }

    #[test]
    fn tags_split_on_spaces_or_commas() {
        let style = ListStyle::SpacesOrCommas;
        assert_eq!(split_list("a:1 b:2", style).unwrap(), ["a:1", "b:2"]);
        assert_eq!(split_list("a:1,b:2", style).unwrap(), ["a:1", "b:2"]);
        assert_eq!(split_list(" a:1, b:2  c ", style).unwrap(), ["a:1", "b:2", "c"]);
    }

    #[test]
    fn plain_lists_split_on_spaces_only() {
        assert_eq!(
            split_list("max  min,sum", ListStyle::Spaces).unwrap(),
            ["max", "min,sum"]
        );
    }

    #[test]
    fn sensitive_words_take_commas_or_a_json_list() {
        let style = ListStyle::CommasOrJson;
        assert_eq!(
            split_list("personal_key, *token", style).unwrap(),
            ["personal_key", "*token"]
        );
        assert_eq!(
            split_list(r#"["sql*", "*pass*d*"]"#, style).unwrap(),
            ["sql*", "*pass*d*"]
        );
        assert!(split_list("[not json", style).unwrap_err().contains("JSON list"));
    }
}
