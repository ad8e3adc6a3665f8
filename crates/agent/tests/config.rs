//! Loading datadog.yaml files and DD_* variables: precedence, list parsing, errors.

use std::path::{Path, PathBuf};

use dogwatch_agent::config::{self, ConfigError, Environment, LogLevel, ProcessAgentMode, ValueSource};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs").join(path)
}

fn env(pairs: &[(&str, &str)]) -> Environment {
    Environment::from_pairs(pairs.iter().copied())
}

fn load_err(file: Option<&str>, vars: &[(&str, &str)]) -> String {
    let path = file.map(fixture);
    config::load(path.as_deref(), &env(vars)).unwrap_err().to_string()
}

#[test]
fn defaults_apply_when_nothing_is_set() {
    let loaded = config::load(None, &env(&[])).unwrap();
    let c = &loaded.config;
    assert_eq!(c.dogstatsd_port, 8125);
    assert_eq!(c.apm_config.receiver_port, 8126);
    assert!(c.apm_config.enabled && c.process_config.scrub_args);
    assert_eq!(c.histogram_aggregates, ["max", "median", "avg", "count"]);
    assert_eq!(c.histogram_percentiles, ["0.95"]);
    assert_eq!(c.log_level, LogLevel::Info);
    assert_eq!(c.server_url(), "http://127.0.0.1:8585");
    assert!(loaded.sources.is_empty());
    assert_eq!(loaded.source_of("dogstatsd_port"), ValueSource::Default);
}

#[test]
fn file_values_override_defaults_and_are_coerced_like_viper() {
    let path = fixture("valid/full.yaml");
    let loaded = config::load(Some(&path), &env(&[])).unwrap();
    let c = &loaded.config;
    assert_eq!(c.hostname, "web-1");
    assert_eq!(c.tags, ["team:checkout", "region:eu"]);
    assert_eq!(c.dogstatsd_port, 9125);
    assert!(c.dogstatsd_non_local_traffic);
    assert_eq!(c.histogram_aggregates, ["max", "min", "sum"]);
    assert_eq!(c.histogram_percentile_values(), [0.5, 0.99]);
    assert_eq!(c.log_level, LogLevel::Warn);
    assert!(!c.apm_config.enabled);
    assert_eq!(c.apm_config.receiver_port, 9126);
    assert_eq!(c.process_config.enabled, ProcessAgentMode::Disabled);
    assert!(!c.process_config.process_collection_enabled());
    assert_eq!(c.process_config.custom_sensitive_words, ["personal_key", "*token"]);
    assert_eq!(c.process_config.intervals.process, 20);
    assert_eq!(c.configured_host_tags(), ["team:checkout", "region:eu", "env:prod"]);
    assert_eq!(
        loaded.source_of("apm_config.receiver_port"),
        ValueSource::File(path.clone())
    );
    assert_eq!(loaded.source_of("cmd_port"), ValueSource::Default);
}

#[test]
fn unknown_keys_are_warnings_naming_the_key() {
    let loaded = config::load(Some(&fixture("valid/full.yaml")), &env(&[])).unwrap();
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].contains("`logs_enabled`"), "{}", loaded.warnings[0]);
}

#[test]
fn an_empty_file_keeps_every_default() {
    let loaded = config::load(Some(&fixture("valid/empty.yaml")), &env(&[])).unwrap();
    assert_eq!(loaded.config, config::AgentConfig::default());
}

#[test]
fn env_wins_over_file_and_file_over_default() {
    let path = fixture("valid/full.yaml");
    let vars = [
        ("DD_DOGSTATSD_PORT", "7125"),
        ("DD_HOSTNAME", "from-env"),
        ("DD_APM_ENABLED", "true"),
    ];
    let loaded = config::load(Some(&path), &env(&vars)).unwrap();
    let c = &loaded.config;
    assert_eq!(c.dogstatsd_port, 7125);
    assert_eq!(c.hostname, "from-env");
    assert!(c.apm_config.enabled);
    assert_eq!(
        c.apm_config.receiver_port, 9126,
        "the file still sets what env does not"
    );
    assert_eq!(c.forwarder_timeout, 20, "the default still sets what neither does");
    assert_eq!(
        loaded.source_of("dogstatsd_port"),
        ValueSource::Env("DD_DOGSTATSD_PORT".into())
    );
    assert_eq!(
        loaded.source_of("apm_config.enabled"),
        ValueSource::Env("DD_APM_ENABLED".into())
    );
    assert_eq!(loaded.source_of("apm_config.receiver_port"), ValueSource::File(path));
}

#[test]
fn env_lists_are_space_separated_and_dd_tags_also_takes_commas() {
    let vars = [
        ("DD_TAGS", "team:a,env:b role:c"),
        ("DD_HISTOGRAM_AGGREGATES", "max  min"),
        ("DD_HISTOGRAM_PERCENTILES", "0.5 0.99"),
        ("DD_CUSTOM_SENSITIVE_WORDS", "personal_key,*token"),
    ];
    let c = config::load(None, &env(&vars)).unwrap().config;
    assert_eq!(c.tags, ["team:a", "env:b", "role:c"]);
    assert_eq!(c.histogram_aggregates, ["max", "min"]);
    assert_eq!(c.histogram_percentiles, ["0.5", "0.99"]);
    assert_eq!(c.process_config.custom_sensitive_words, ["personal_key", "*token"]);
}

#[test]
fn datadog_env_aliases_set_their_keys() {
    let vars = [
        ("DD_URL", "http://old:1"),
        ("DD_DD_URL", "http://new:2"),
        ("DD_APM_NON_LOCAL_TRAFFIC", "true"),
        ("DD_APM_RECEIVER_PORT", "8200"),
        ("DD_APM_RECEIVER_SOCKET", "/tmp/apm.sock"),
        ("DD_SCRUB_ARGS", "false"),
        ("DD_STRIP_PROCESS_ARGS", "true"),
        ("DD_PROCESS_AGENT_ENABLED", "false"),
        ("DD_PROCESS_CONFIG_PROCESS_COLLECTION_ENABLED", "true"),
        ("DD_LOG_LEVEL", "CRITICAL"),
    ];
    let c = config::load(None, &env(&vars)).unwrap().config;
    assert_eq!(c.server_url(), "http://new:2", "DD_DD_URL wins over DD_URL");
    assert!(c.apm_config.apm_non_local_traffic);
    assert_eq!(c.apm_config.receiver_port, 8200);
    assert_eq!(c.apm_config.receiver_socket, "/tmp/apm.sock");
    assert!(!c.process_config.scrub_args && c.process_config.strip_proc_arguments);
    assert_eq!(c.process_config.enabled, ProcessAgentMode::False);
    assert!(c.process_config.process_collection.enabled);
    assert!(!c.process_config.process_collection_enabled(), "the legacy switch wins");
    assert_eq!(c.log_level, LogLevel::Critical);
}

#[test]
fn the_api_key_is_trimmed_like_datadog_does() {
    let c = config::load(None, &env(&[("DD_API_KEY", "  0123abcd\n")]))
        .unwrap()
        .config;
    assert_eq!(c.api_key, "0123abcd");
}

#[test]
fn file_keys_match_case_insensitively_like_viper() {
    let loaded = config::load(Some(&fixture("valid/uppercase_keys.yaml")), &env(&[])).unwrap();
    assert_eq!(loaded.config.hostname, "upper-host");
    assert_eq!(loaded.config.apm_config.receiver_port, 9999);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn empty_env_values_are_ignored() {
    let c = config::load(None, &env(&[("DD_DOGSTATSD_PORT", "")])).unwrap().config;
    assert_eq!(c.dogstatsd_port, 8125);
}

#[test]
fn wrong_types_in_env_name_the_key_and_the_variable() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "DD_DOGSTATSD_PORT",
            "abc",
            "`dogstatsd_port` (from env DD_DOGSTATSD_PORT)",
        ),
        (
            "DD_DOGSTATSD_PORT",
            "70000",
            "`dogstatsd_port` (from env DD_DOGSTATSD_PORT)",
        ),
        (
            "DD_APM_ENABLED",
            "maybe",
            "`apm_config.enabled` (from env DD_APM_ENABLED)",
        ),
        ("DD_LOG_LEVEL", "loud", "`log_level` (from env DD_LOG_LEVEL)"),
        (
            "DD_FORWARDER_BACKOFF_BASE",
            "soon",
            "`forwarder_backoff_base` (from env DD_FORWARDER_BACKOFF_BASE)",
        ),
        (
            "DD_CUSTOM_SENSITIVE_WORDS",
            "[1,",
            "`process_config.custom_sensitive_words` (from env DD_CUSTOM_SENSITIVE_WORDS)",
        ),
        ("DD_DD_URL", "ftp://x", "`dd_url` (from env DD_DD_URL)"),
        ("DD_CMD_HOST", "0.0.0.0", "`cmd_host` (from env DD_CMD_HOST)"),
        ("DD_CMD_HOST", "127.example.com", "`cmd_host` (from env DD_CMD_HOST)"),
        ("DD_DD_URL", "http://", "`dd_url` (from env DD_DD_URL)"),
        ("DD_DD_URL", "http://a b", "`dd_url` (from env DD_DD_URL)"),
        (
            "DD_FORWARDER_BACKOFF_MAX",
            "1e20",
            "`forwarder_backoff_max` (from env DD_FORWARDER_BACKOFF_MAX)",
        ),
        (
            "DD_FORWARDER_BACKOFF_BASE",
            "0",
            "`forwarder_backoff_base` (from env DD_FORWARDER_BACKOFF_BASE)",
        ),
        ("DD_API_KEY", "abc def", "`api_key` (from env DD_API_KEY)"),
    ];
    for (name, value, expected) in cases {
        let err = load_err(None, &[(name, value)]);
        assert!(err.contains(expected), "{name}={value}: {err}");
    }
}

#[test]
fn wrong_types_in_the_file_name_the_key_and_the_file() {
    let cases = [
        (
            "invalid/port_not_a_number.yaml",
            "`dogstatsd_port`",
            "expected a whole number",
        ),
        ("invalid/port_out_of_range.yaml", "`apm_config.receiver_port`", "70000"),
        (
            "invalid/section_not_a_mapping.yaml",
            "`apm_config`",
            "expected a mapping",
        ),
        ("invalid/bad_log_level.yaml", "`log_level`", "chatty"),
        (
            "invalid/bad_percentile.yaml",
            "`histogram_percentiles`",
            "between 0 and 1",
        ),
        ("invalid/tags_not_a_list.yaml", "`tags`", "expected a list"),
        (
            "invalid/intervals_not_a_multiple.yaml",
            "`process_config.intervals.process`",
            "multiple",
        ),
    ];
    for (file, key, detail) in cases {
        let err = load_err(Some(file), &[]);
        assert!(
            err.contains(key) && err.contains(detail) && err.contains(file),
            "{file}: {err}"
        );
    }
}

#[test]
fn files_that_are_not_yaml_mappings_are_errors_naming_the_file() {
    let err = config::load(Some(&fixture("invalid/not_yaml.yaml")), &env(&[])).unwrap_err();
    assert!(matches!(err, ConfigError::Yaml { .. }), "{err}");
    assert!(err.to_string().contains("not_yaml.yaml"), "{err}");
    let err = load_err(Some("invalid/top_level_list.yaml"), &[]);
    assert!(
        err.contains("must be a mapping") && err.contains("top_level_list.yaml"),
        "{err}"
    );
    let err = load_err(Some("invalid/missing.yaml"), &[]);
    assert!(
        err.contains("cannot read config file") && err.contains("missing.yaml"),
        "{err}"
    );
}

#[test]
fn entries_list_every_key_with_its_source_and_mask_the_api_key() {
    let vars = [("DD_API_KEY", "0123456789abcdef"), ("DD_TAGS", "a:1")];
    let loaded = config::load(None, &env(&vars)).unwrap();
    let entries = loaded.entries();
    let find = |key: &str| entries.iter().find(|(k, ..)| k == key).cloned().unwrap();
    assert_eq!(find("api_key").1, "***********bcdef");
    assert_eq!(find("api_key").2, ValueSource::Env("DD_API_KEY".into()));
    assert_eq!(find("tags").1, serde_json::json!(["a:1"]));
    assert_eq!(find("process_config.intervals.process").2, ValueSource::Default);
    assert!(entries.len() > 40);
}

#[test]
fn every_setting_is_documented_in_docs_configuration_md() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let doc = std::fs::read_to_string(doc_path).unwrap();
    let loaded = config::load(None, &env(&[])).unwrap();
    for (key, ..) in loaded.entries() {
        assert!(
            doc.contains(&format!("| `{key}` |")),
            "docs/configuration.md has no row for `{key}`"
        );
    }
}
