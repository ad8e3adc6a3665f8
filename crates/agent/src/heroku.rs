//! Heroku auto-configuration, as Datadog's buildpack (`extra/datadog.sh`) does it, without its
//! bugs:
//!
//! - `DD_ENABLE_HEROKU_REDIS=true` turns each variable named in `DD_REDIS_URL_VAR` (a comma
//!   list, default `REDIS_URL`) into a `redisdb` instance; `rediss://` means TLS.
//! - `DD_ENABLE_HEROKU_POSTGRES=true` turns each variable named in `DD_POSTGRES_URL_VAR`
//!   (default `DATABASE_URL`) into a `postgres` instance. `postgresql://` is accepted as well
//!   as `postgres://` (the buildpack silently skips it), and `?sslmode=` becomes the `ssl`
//!   option instead of being glued to the database name. `DD_ENABLE_DBM=true` adds `dbm: true`.
//! - `DD_HEROKU_CONF_FOLDER` (default `/app/datadog`, used on a dyno, that is when `DYNO` is
//!   set) holds the app's `conf.d/` and `checks.d/`, used as they are, and a `prerun.sh` that
//!   runs before the agent starts: what it sets (`DD_TAGS`, `DISABLE_DATADOG_AGENT`, …) takes
//!   effect ([`run_prerun`]).
//!
//! The generated instances replace the check's `<name>.d/conf.yaml`, as the buildpack's file
//! does; other files of the check stay. A URL that cannot be used is a configuration warning
//! naming the variable (shown as the check's Config Error), never a crash.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use thiserror::Error;

use crate::checks::confd::{CheckConfig, ConfdContents, read_confd};
use crate::config::Environment;

/// The buildpack's default folder of the app's Datadog files.
pub const DEFAULT_CONF_FOLDER: &str = "/app/datadog";

/// How long `prerun.sh` may run before the agent gives up on it.
pub const PRERUN_TIMEOUT: Duration = Duration::from_secs(60);

/// Why `prerun.sh` could not be used.
#[derive(Debug, Error)]
pub enum PrerunError {
    /// bash could not be started.
    #[error("cannot run {script} with bash: {source}")]
    Spawn {
        /// The script.
        script: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The script failed.
    #[error("{script} failed ({status}); the agent does not start with a half-run prerun.sh. Its output is above")]
    Failed {
        /// The script.
        script: PathBuf,
        /// The exit status.
        status: String,
    },
    /// The script ran past [`PRERUN_TIMEOUT`].
    #[error("{script} did not finish within {} s and was stopped", PRERUN_TIMEOUT.as_secs())]
    Timeout {
        /// The script.
        script: PathBuf,
    },
}

/// The app's Datadog folder: `DD_HEROKU_CONF_FOLDER`, else `/app/datadog` on a dyno (`DYNO`
/// set), else none.
pub fn conf_folder(env: &Environment) -> Option<PathBuf> {
    if let Some(folder) = env.get("DD_HEROKU_CONF_FOLDER") {
        return Some(PathBuf::from(folder));
    }
    env.get("DYNO").map(|_| PathBuf::from(DEFAULT_CONF_FOLDER))
}

/// Runs the conf folder's `prerun.sh`, when there is one, the way the buildpack sources it:
/// every variable it sets or exports is in the returned environment (`set -a`), so
/// `DD_TAGS=…` or `DISABLE_DATADOG_AGENT=1` in it take effect. Its output goes to stderr.
/// Without a script the environment is returned as it is.
pub fn run_prerun(env: Environment) -> Result<Environment, PrerunError> {
    let Some(script) = conf_folder(&env).map(|f| f.join("prerun.sh")).filter(|p| p.is_file()) else {
        return Ok(env);
    };
    tracing::info!(script = %script.display(), "Running the Heroku prerun script before the agent starts.");
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(r#"set -a; . "$0" 1>&2 || exit $?; set +a; exec env -0"#)
        .arg(&script)
        .env_clear()
        .envs(env.iter())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| PrerunError::Spawn {
            script: script.clone(),
            source,
        })?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|source| PrerunError::Spawn {
            script: script.clone(),
            source,
        })? {
            break status;
        }
        if started.elapsed() > PRERUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(PrerunError::Timeout { script });
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(PrerunError::Failed {
            script,
            status: status.to_string(),
        });
    }
    let vars = out.split(|b| *b == 0).filter_map(|entry| {
        let entry = std::str::from_utf8(entry).ok()?;
        let (name, value) = entry.split_once('=')?;
        (!name.is_empty()).then(|| (name.to_string(), value.to_string()))
    });
    Ok(Environment::from_pairs(vars))
}

/// Adds what Heroku's set-up configures to `confd`: the conf folder's `conf.d/` (its files
/// replace the agent's files of the same check and name, as the buildpack's copy does), the
/// `*.yaml` files of its `checks.d/`, and the instances made from `REDIS_URL`-style variables.
pub fn apply(confd: &mut ConfdContents, env: &Environment) {
    if let Some(folder) = conf_folder(env) {
        let mut from_app = read_confd(&folder.join("conf.d"));
        let checksd = read_confd(&folder.join("checks.d"));
        from_app.configs.extend(checksd.configs);
        from_app.errors.extend(checksd.errors);
        for config in from_app.configs {
            let key = file_key(&config);
            confd.configs.retain(|c| c.name != config.name || file_key(c) != key);
            confd.configs.push(config);
        }
        for (name, error) in from_app.errors {
            add_error(confd, &name, error);
        }
    }
    let generated = database_configs(env);
    for config in generated.configs {
        confd
            .configs
            .retain(|c| c.name != config.name || file_key(c).as_deref() != Some("conf.yaml"));
        confd.configs.push(config);
    }
    for (name, warning) in generated.warnings {
        tracing::warn!(check = %name, warning = %warning, "A Heroku database variable cannot be used.");
        add_error(confd, &name, warning);
    }
}

/// The `checks.d` of the conf folder, where the app's Python checks are, when it exists.
pub fn checksd_dir(env: &Environment) -> Option<PathBuf> {
    conf_folder(env).map(|f| f.join("checks.d")).filter(|d| d.is_dir())
}

/// What the database variables configure.
#[derive(Debug, Default, PartialEq)]
pub struct GeneratedConfigs {
    /// One configuration per check, each instance from one variable.
    pub configs: Vec<CheckConfig>,
    /// `(check, warning)` for each variable that cannot be used.
    pub warnings: Vec<(String, String)>,
}

/// The `redisdb` and `postgres` configurations the enable flags ask for.
pub fn database_configs(env: &Environment) -> GeneratedConfigs {
    let mut out = GeneratedConfigs::default();
    type MakeInstance = fn(&str, &Environment) -> Result<Value, String>;
    let flavours: [(&str, &str, &str, MakeInstance); 2] = [
        ("redisdb", "REDIS", "REDIS_URL", redis_instance),
        ("postgres", "POSTGRES", "DATABASE_URL", postgres_instance),
    ];
    for (check, what, default_var, make) in flavours {
        let enabled = env.is_true(&format!("DD_ENABLE_HEROKU_{what}")) || env.is_true(&format!("ENABLE_HEROKU_{what}"));
        if !enabled {
            continue;
        }
        let list_var = format!("DD_{what}_URL_VAR");
        let names = env
            .get(&list_var)
            .or_else(|| env.get(&format!("{what}_URL_VAR")))
            .unwrap_or(default_var);
        let mut instances = Vec::new();
        let mut sources = Vec::new();
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let Some(url) = env.get(name) else {
                out.warnings.push((
                    check.to_string(),
                    format!("DD_ENABLE_HEROKU_{what} is true but ${name} (named by {list_var}) is not set"),
                ));
                continue;
            };
            match make(url, env) {
                Ok(instance) => {
                    instances.push(instance);
                    sources.push(format!("${name}"));
                }
                Err(e) => out.warnings.push((check.to_string(), format!("${name}: {e}"))),
            }
        }
        if !instances.is_empty() {
            out.configs.push(CheckConfig {
                name: check.to_string(),
                file: Some(PathBuf::from(format!("heroku:{}", sources.join(",")))),
                is_default_file: false,
                init_config: Value::Object(Map::new()),
                instances,
            });
        }
    }
    out
}

/// A `redisdb` instance from `redis[s]://[user]:[password]@host[:port][/db]`.
fn redis_instance(raw: &str, _env: &Environment) -> Result<Value, String> {
    let url = parse_url(raw, &["redis", "rediss"])?;
    let mut instance = Map::new();
    instance.insert("host".into(), json!(host_of(&url)?));
    instance.insert("port".into(), json!(url.port().unwrap_or(6379)));
    if !url.username().is_empty() {
        instance.insert("username".into(), json!(decoded(url.username())?));
    }
    if let Some(password) = url.password() {
        instance.insert("password".into(), json!(decoded(password)?));
    }
    let path = url.path().trim_start_matches('/');
    if !path.is_empty() {
        let db: u32 = path
            .parse()
            .map_err(|_| format!("the path `/{path}` is not a Redis database number"))?;
        instance.insert("db".into(), json!(db));
    }
    if url.scheme() == "rediss" {
        instance.insert("ssl".into(), json!(true));
        // Heroku Redis serves self-signed certificates; the buildpack sets the same.
        instance.insert("ssl_cert_reqs".into(), json!(0));
    }
    Ok(Value::Object(instance))
}

/// A `postgres` instance from `postgres[ql]://user:password@host[:port]/db[?sslmode=…]`.
fn postgres_instance(raw: &str, env: &Environment) -> Result<Value, String> {
    const SSL_MODES: [&str; 6] = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];
    let url = parse_url(raw, &["postgres", "postgresql"])?;
    if url.username().is_empty() {
        return Err("the URL has no user name (postgres://USER:PASSWORD@HOST:PORT/DB)".into());
    }
    let dbname = decoded(url.path().trim_start_matches('/'))?;
    if dbname.is_empty() {
        return Err("the URL has no database name (postgres://USER:PASSWORD@HOST:PORT/DB)".into());
    }
    let mut ssl = "require".to_string();
    for (key, value) in url.query_pairs() {
        if key == "sslmode" {
            if !SSL_MODES.contains(&value.as_ref()) {
                return Err(format!("sslmode={value} is not one of {}", SSL_MODES.join(", ")));
            }
            ssl = value.into_owned();
        }
    }
    let mut instance = Map::new();
    instance.insert("host".into(), json!(host_of(&url)?));
    instance.insert("port".into(), json!(url.port().unwrap_or(5432)));
    instance.insert("username".into(), json!(decoded(url.username())?));
    if let Some(password) = url.password() {
        instance.insert("password".into(), json!(decoded(password)?));
    }
    instance.insert("dbname".into(), json!(dbname));
    instance.insert("ssl".into(), json!(ssl));
    instance.insert("disable_generic_tags".into(), json!(false));
    if env.is_true("DD_ENABLE_DBM") {
        instance.insert("dbm".into(), json!(true));
    }
    Ok(Value::Object(instance))
}

fn parse_url(raw: &str, schemes: &[&str]) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if !schemes.contains(&url.scheme()) {
        return Err(format!(
            "the scheme is `{}://`, expected {}",
            url.scheme(),
            schemes
                .iter()
                .map(|s| format!("`{s}://`"))
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    Ok(url)
}

fn host_of(url: &reqwest::Url) -> Result<String, String> {
    match url.host_str() {
        Some(h) if !h.is_empty() => Ok(h.trim_start_matches('[').trim_end_matches(']').to_string()),
        _ => Err("the URL has no host".into()),
    }
}

fn decoded(part: &str) -> Result<String, String> {
    percent_decode(part).ok_or_else(|| format!("`{part}` is not valid percent-encoded UTF-8"))
}

/// Percent-decoding of a URL part (user, password, path).
fn percent_decode(part: &str) -> Option<String> {
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The file name a configuration came from, to match the buildpack's copy-over.
fn file_key(config: &CheckConfig) -> Option<String> {
    let file = config.file.as_deref()?;
    let name = file.file_name()?.to_str()?;
    // A legacy `<check>.yaml` lands as `<check>.d/conf.yaml` in the buildpack.
    let parent_is_check_dir = file
        .parent()
        .and_then(Path::file_name)
        .and_then(|p| p.to_str())
        .is_some_and(|p| p == format!("{}.d", config.name));
    Some(if parent_is_check_dir {
        name.to_string()
    } else {
        "conf.yaml".to_string()
    })
}

fn add_error(confd: &mut ConfdContents, name: &str, message: String) {
    confd
        .errors
        .entry(name.to_string())
        .and_modify(|m| {
            m.push('\n');
            m.push_str(&message);
        })
        .or_insert(message);
}

impl GeneratedConfigs {
    /// The instances with their passwords masked, for `dogwatch config`:
    /// `(check, variable, instance)`.
    pub fn masked_instances(&self) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for config in &self.configs {
            let source = config
                .file
                .as_ref()
                .map(|f| f.display().to_string())
                .unwrap_or_default();
            let variables: Vec<&str> = source.trim_start_matches("heroku:").split(',').collect();
            for (i, instance) in config.instances.iter().enumerate() {
                let mut instance = instance.clone();
                if let Some(password) = instance.as_object_mut().and_then(|m| m.get_mut("password")) {
                    *password = json!("********");
                }
                let variable = variables.get(i).copied().unwrap_or("").to_string();
                out.push((config.name.clone(), variable, instance));
            }
        }
        out
    }

    /// The warnings about unusable database variables, by check.
    pub fn warnings_by_check(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (check, warning) in &self.warnings {
            out.entry(check.clone()).or_default().push(warning.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn redis_urls_become_redisdb_instances_with_tls_for_rediss() {
        let env = env(&[
            ("DD_ENABLE_HEROKU_REDIS", "true"),
            ("DD_REDIS_URL_VAR", "REDIS_URL, CACHE_URL"),
            ("REDIS_URL", "redis://:p%40ss@127.0.0.1:6380"),
            ("CACHE_URL", "rediss://bob:secret@cache.example.com:16379/2"),
        ]);
        let out = database_configs(&env);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert_eq!(out.configs.len(), 1);
        let config = &out.configs[0];
        assert_eq!(config.name, "redisdb");
        assert_eq!(config.source(0), "file:heroku:$REDIS_URL,$CACHE_URL[0]");
        assert_eq!(
            config.instances[0],
            json!({"host": "127.0.0.1", "port": 6380, "password": "p@ss"})
        );
        assert_eq!(
            config.instances[1],
            json!({"host": "cache.example.com", "port": 16379, "username": "bob", "password": "secret",
                   "db": 2, "ssl": true, "ssl_cert_reqs": 0})
        );
    }

    #[test]
    fn postgres_and_postgresql_urls_read_sslmode_as_the_ssl_option() {
        let env = env(&[
            ("DD_ENABLE_HEROKU_POSTGRES", "true"),
            ("DD_POSTGRES_URL_VAR", "DATABASE_URL,OTHER_URL"),
            ("DATABASE_URL", "postgresql://u:pw@127.0.0.1:5433/app?sslmode=disable"),
            ("OTHER_URL", "postgres://u2:pw2@db.example.com/other"),
            ("DD_ENABLE_DBM", "true"),
        ]);
        let out = database_configs(&env);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        let instances = &out.configs[0].instances;
        assert_eq!(
            instances[0],
            json!({"host": "127.0.0.1", "port": 5433, "username": "u", "password": "pw", "dbname": "app",
                   "ssl": "disable", "disable_generic_tags": false, "dbm": true})
        );
        assert_eq!(instances[1]["dbname"], "other", "no ?sslmode glued to the name");
        assert_eq!(instances[1]["ssl"], "require", "the buildpack's default");
        assert_eq!(instances[1]["port"], 5432);
    }

    #[test]
    fn bad_or_missing_urls_are_warnings_naming_the_variable() {
        let env = env(&[
            ("DD_ENABLE_HEROKU_POSTGRES", "true"),
            ("DD_POSTGRES_URL_VAR", "DATABASE_URL,NOPE_URL,BAD_URL,MODE_URL"),
            ("DATABASE_URL", "mysql://u:p@h/db"),
            ("BAD_URL", "postgres://u:p@h:notaport/db"),
            ("MODE_URL", "postgres://u:p@h/db?sslmode=sometimes"),
            ("DD_ENABLE_HEROKU_REDIS", "true"),
            ("REDIS_URL", "redis://:pw@127.0.0.1:6379/x"),
        ]);
        let out = database_configs(&env);
        assert!(out.configs.is_empty());
        let text: Vec<String> = out.warnings.iter().map(|(c, w)| format!("{c}: {w}")).collect();
        let text = text.join("\n");
        for expected in [
            "postgres: $DATABASE_URL: the scheme is `mysql://`",
            "postgres: DD_ENABLE_HEROKU_POSTGRES is true but $NOPE_URL (named by DD_POSTGRES_URL_VAR) is not set",
            "postgres: $BAD_URL: not a URL",
            "postgres: $MODE_URL: sslmode=sometimes is not one of",
            "redisdb: $REDIS_URL: the path `/x` is not a Redis database number",
        ] {
            assert!(text.contains(expected), "{expected} in\n{text}");
        }
    }

    #[test]
    fn nothing_is_generated_without_the_enable_flags_and_legacy_names_work() {
        assert_eq!(
            database_configs(&env(&[("REDIS_URL", "redis://:p@h:1")])),
            GeneratedConfigs::default()
        );
        let legacy = database_configs(&env(&[
            ("ENABLE_HEROKU_REDIS", "true"),
            ("REDIS_URL_VAR", "MY_REDIS"),
            ("MY_REDIS", "redis://:p@h:1"),
        ]));
        assert_eq!(legacy.configs[0].instances[0]["host"], "h");
    }

    #[test]
    fn generated_instances_replace_conf_yaml_and_mask_passwords_for_display() {
        let dir = tempfile::tempdir().unwrap();
        let confd = dir.path().join("conf.d");
        std::fs::create_dir_all(confd.join("redisdb.d")).unwrap();
        std::fs::write(
            confd.join("redisdb.d/conf.yaml"),
            "instances:\n  - host: old\n    port: 1\n",
        )
        .unwrap();
        std::fs::write(
            confd.join("redisdb.d/extra.yaml"),
            "instances:\n  - host: extra\n    port: 2\n",
        )
        .unwrap();
        let env = env(&[
            ("DD_ENABLE_HEROKU_REDIS", "true"),
            ("REDIS_URL", "redis://:hunter2@127.0.0.1:7000"),
        ]);
        let mut contents = read_confd(&confd);
        apply(&mut contents, &env);
        let hosts: Vec<&Value> = contents
            .for_check("redisdb")
            .iter()
            .flat_map(|c| c.instances.iter())
            .map(|i| &i["host"])
            .collect();
        assert_eq!(hosts, [&json!("extra"), &json!("127.0.0.1")]);
        let shown = database_configs(&env).masked_instances();
        assert_eq!(shown[0].0, "redisdb");
        assert_eq!(shown[0].1, "$REDIS_URL");
        assert_eq!(shown[0].2["password"], "********");
    }

    #[test]
    fn the_conf_folder_s_conf_d_and_checks_d_yaml_are_used_and_win_over_the_agent_s() {
        let dir = tempfile::tempdir().unwrap();
        let agent_confd = dir.path().join("agent-conf.d");
        let folder = dir.path().join("datadog");
        for (path, text) in [
            (
                agent_confd.join("http_check.d/conf.yaml"),
                "instances:\n  - name: agent\n",
            ),
            (
                folder.join("conf.d/http_check.d/conf.yaml"),
                "instances:\n  - name: app\n",
            ),
            (folder.join("conf.d/legacy.yaml"), "instances:\n  - name: legacy\n"),
            (folder.join("checks.d/mycheck.yaml"), "instances:\n  - name: custom\n"),
        ] {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let env = env(&[("DD_HEROKU_CONF_FOLDER", folder.to_str().unwrap())]);
        let mut contents = read_confd(&agent_confd);
        apply(&mut contents, &env);
        let name_of = |check: &str| -> Vec<Value> {
            contents
                .for_check(check)
                .iter()
                .flat_map(|c| c.instances.iter())
                .map(|i| i["name"].clone())
                .collect()
        };
        assert_eq!(name_of("http_check"), [json!("app")]);
        assert_eq!(name_of("legacy"), [json!("legacy")]);
        assert_eq!(name_of("mycheck"), [json!("custom")]);
        assert_eq!(checksd_dir(&env), Some(folder.join("checks.d")));
    }

    #[test]
    fn the_folder_defaults_to_app_datadog_only_on_a_dyno() {
        assert_eq!(conf_folder(&env(&[])), None);
        assert_eq!(
            conf_folder(&env(&[("DYNO", "web.1")])),
            Some(PathBuf::from(DEFAULT_CONF_FOLDER))
        );
    }

    #[test]
    fn prerun_sh_sets_variables_exported_or_not_and_its_failure_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().to_str().unwrap().to_string();
        std::fs::write(
            dir.path().join("prerun.sh"),
            "echo from prerun\nDD_TAGS=\"team:a,owner:b\"\nexport DD_VERSION=1.2.3\nif [ \"$DYNOTYPE\" = run ]; then DISABLE_DATADOG_AGENT=1; fi\n",
        )
        .unwrap();
        let out = run_prerun(env(&[("DD_HEROKU_CONF_FOLDER", &folder), ("DYNOTYPE", "run")])).unwrap();
        assert_eq!(out.get("DD_TAGS"), Some("team:a,owner:b"));
        assert_eq!(out.get("DD_VERSION"), Some("1.2.3"));
        assert!(out.is_set("DISABLE_DATADOG_AGENT"));
        assert_eq!(out.get("DYNOTYPE"), Some("run"), "the rest of the environment stays");

        std::fs::write(dir.path().join("prerun.sh"), "exit 3\n").unwrap();
        let err = run_prerun(env(&[("DD_HEROKU_CONF_FOLDER", &folder)])).unwrap_err();
        assert!(err.to_string().contains("prerun.sh failed"), "{err}");

        let none = run_prerun(env(&[("A", "1")])).unwrap();
        assert_eq!(none.get("A"), Some("1"));
    }
}
