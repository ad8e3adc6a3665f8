//! Heroku's auto-configuration end to end: `REDIS_URL`/`DATABASE_URL` with the buildpack's
//! enable flags configure checks that run against real servers, and the app's
//! `DD_HEROKU_CONF_FOLDER` (conf.d, checks.d, prerun.sh) takes effect.

mod common;
// The agent crate's launchers of real redis-server and PostgreSQL servers.
#[path = "../../agent/tests/support/services.rs"]
mod services;

use std::path::Path;

use common::{dogwatch, stderr, stdout};
use serde_json::Value;
use services::{PostgresServer, RedisServer};

/// `dogwatch agent check NAME --json` with these variables: the instances' results.
fn check_json(name: &str, env: &[(&str, &str)]) -> Vec<Value> {
    let out = dogwatch()
        .args(["agent", "check", name, "--json"])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = stdout(&out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}\nstderr: {}", stderr(&out)))
}

fn series_names(result: &Value) -> Vec<String> {
    result["output"]["series"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["metric"].as_str().map(String::from))
        .collect()
}

fn service_check<'a>(result: &'a Value, name: &str) -> &'a Value {
    result["output"]["service_checks"]
        .as_array()
        .and_then(|list| list.iter().find(|sc| sc["check"] == name))
        .unwrap_or_else(|| panic!("no {name} in {result}"))
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn redis_url_and_database_url_configure_checks_that_run_against_real_servers() {
    let redis = RedisServer::start("r3dis-pw");
    let pg = PostgresServer::start("postgres", "pg-s3cret");
    pg.psql("postgres", "CREATE DATABASE app");
    let redis_url = format!("redis://:{}@127.0.0.1:{}", redis.password, redis.port);
    let database_url = format!(
        "postgresql://postgres:{}@127.0.0.1:{}/app?sslmode=disable",
        pg.password, pg.port
    );
    let env = [
        ("DD_ENABLE_HEROKU_REDIS", "true"),
        ("REDIS_URL", redis_url.as_str()),
        ("DD_ENABLE_HEROKU_POSTGRES", "true"),
        ("DATABASE_URL", database_url.as_str()),
    ];

    let redis_results = check_json("redisdb", &env);
    assert_eq!(redis_results.len(), 1, "{redis_results:?}");
    let result = &redis_results[0];
    assert_eq!(result["source"], "file:heroku:$REDIS_URL");
    assert!(result["error"].is_null(), "{result}");
    assert!(
        series_names(result).iter().any(|m| m == "redis.net.clients"),
        "{result}"
    );
    assert_eq!(service_check(result, "redis.can_connect")["status"], 0);

    let pg_results = check_json("postgres", &env);
    let result = &pg_results[0];
    assert_eq!(result["source"], "file:heroku:$DATABASE_URL");
    assert!(result["error"].is_null(), "{result}");
    let connections = result["output"]["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["metric"] == "postgresql.connections")
        .unwrap_or_else(|| panic!("no postgresql.connections in {result}"));
    let tags: Vec<&str> = connections["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        tags.contains(&"db:app"),
        "the dbname is `app`, not `app?sslmode=disable`: {tags:?}"
    );
    assert_eq!(service_check(result, "postgres.can_connect")["status"], 0);

    // `dogwatch config` shows the generated instances, never the passwords.
    let out = dogwatch().arg("config").envs(env.iter().copied()).output().unwrap();
    let text = stdout(&out);
    assert!(text.contains("redisdb (from $REDIS_URL)"), "{text}");
    assert!(text.contains("postgres (from $DATABASE_URL)"), "{text}");
    assert!(text.contains("********"), "{text}");
    let json_out = dogwatch()
        .args(["config", "--json"])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    for shown in [text, stdout(&json_out)] {
        assert!(!shown.contains("r3dis-pw"), "the Redis password is shown: {shown}");
        assert!(!shown.contains("pg-s3cret"), "the Postgres password is shown: {shown}");
    }
}

#[test]
fn an_unusable_url_is_a_config_error_naming_the_variable_and_the_rest_still_runs() {
    let out = dogwatch()
        .args(["agent", "check", "--list"])
        .envs([
            ("DD_ENABLE_HEROKU_REDIS", "true"),
            ("REDIS_URL", "redis//no-scheme"),
            ("DD_ENABLE_HEROKU_POSTGRES", "true"),
            ("DD_POSTGRES_URL_VAR", "DATABASE_URL"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("$REDIS_URL: not a URL"), "{text}");
    assert!(
        text.contains("$DATABASE_URL (named by DD_POSTGRES_URL_VAR) is not set"),
        "{text}"
    );
    assert!(text.contains("uptime"), "the core checks still run: {text}");
}

#[test]
fn the_app_folder_s_conf_d_checks_d_and_prerun_sh_take_effect() {
    let folder = tempfile::tempdir().unwrap();
    write(
        folder.path(),
        "conf.d/uptime.d/conf.yaml",
        "instances:\n  - tags: [\"from:app-folder\"]\n",
    );
    write(
        folder.path(),
        "checks.d/load.yaml",
        "instances:\n  - tags: [\"from:checks-d\"]\n",
    );
    write(
        folder.path(),
        "checks.d/hello.py",
        "from checks import AgentCheck\n\nclass HelloCheck(AgentCheck):\n    def check(self, instance):\n        self.gauge('heroku.hello', 42, tags=['greeting:' + instance['greeting']])\n",
    );
    write(
        folder.path(),
        "checks.d/hello.yaml",
        "init_config:\ninstances:\n  - greeting: hi\n",
    );
    write(
        folder.path(),
        "prerun.sh",
        "echo prerun ran\nDD_TAGS=\"team:heroku, owner:ops\"\nif [ \"$DYNO\" = run.1 ]; then DISABLE_DATADOG_AGENT=true; fi\n",
    );
    let folder_path = folder.path().to_str().unwrap();
    let env = [
        ("DD_HEROKU_CONF_FOLDER", folder_path),
        ("DD_DYNO_HOST", "true"),
        ("HEROKU_APP_NAME", "notes-app"),
        ("DYNO", "web.1"),
    ];

    let uptime = check_json("uptime", &env);
    let tags = uptime[0]["output"]["series"][0]["tags"].to_string();
    assert!(tags.contains("from:app-folder"), "{tags}");
    let load = check_json("load", &env);
    assert!(
        load[0]["output"]["series"][0]["tags"]
            .to_string()
            .contains("from:checks-d")
    );

    // checks.d/hello.py with checks.d/hello.yaml: a Python check from the app's folder.
    let hello = check_json("hello", &env);
    assert!(hello[0]["error"].is_null(), "{hello:?}");
    let series = &hello[0]["output"]["series"][0];
    assert_eq!(series["metric"], "heroku.hello", "{hello:?}");
    assert!(series["tags"].to_string().contains("greeting:hi"), "{series}");

    let out = dogwatch().args(["config", "--json"]).envs(env).output().unwrap();
    let config: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(config["hostname"], "notes-app.web.1");
    let host_tags = config["host_tags"].to_string();
    for tag in [
        "team:heroku",
        "owner:ops",
        "dyno:web.1",
        "dynotype:web",
        "appname:notes-app",
    ] {
        assert!(host_tags.contains(tag), "{tag} in {host_tags}");
    }
    assert!(stderr(&out).contains("prerun ran"), "prerun.sh's output goes to stderr");

    // On a one-off dyno the script turns the agent off, and the agent exits successfully.
    let out = dogwatch()
        .arg("agent")
        .envs([
            ("DD_HEROKU_CONF_FOLDER", folder_path),
            ("DYNO", "run.1"),
            ("DD_API_KEY", "x"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        format!("{}{}", stdout(&out), stderr(&out)).contains("DISABLE_DATADOG_AGENT is set"),
        "{}",
        stderr(&out)
    );

    // A failing script stops the start with a message naming it.
    write(folder.path(), "prerun.sh", "exit 4\n");
    let out = dogwatch().args(["config"]).envs(env).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("prerun.sh failed"), "{}", stderr(&out));
}
