//! The Python check host with a real interpreter: the project's venv (target/tracer-env, made
//! by scripts/install-tracers.sh with datadog-checks-base 38.7.0) and the checks of
//! tests/python_checks/checks.d, loaded through the check plan and run through the sender.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dogwatch_agent::checks::confd::{ConfdContents, read_confd};
use dogwatch_agent::checks::python::{Loader, PythonSettings};
use dogwatch_agent::checks::runner::{RunOutcome, RunnerSettings, run_once};
use dogwatch_agent::checks::{CheckInstance, CheckOutput, CheckPlan, Sender, plan_with_python};
use dogwatch_agent::process::HostPaths;
use dogwatch_model::{CheckStatus, MetricKind};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's python, which has datadog_checks.base.
fn venv_python() -> String {
    let python = repo().join("target/tracer-env/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/install-tracers.sh (it installs datadog-checks-base for these tests)",
        python.display()
    );
    python.display().to_string()
}

/// A Python without datadog_checks: the venv's base interpreter, asked for its real path.
fn plain_python() -> String {
    let out = std::process::Command::new(venv_python())
        .args(["-c", "import sys; print(sys._base_executable)"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

struct Setup {
    _dir: tempfile::TempDir,
    loader: Loader,
    plan: CheckPlan,
}

/// conf.d files for `checks` (name, instance YAML) with a 1 s interval, planned with `python`.
fn setup(python: &str, checks: &[(&str, &str)]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let confd = dir.path().join("conf.d");
    for (name, instance) in checks {
        let d = confd.join(format!("{name}.d"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("conf.yaml"),
            format!("init_config:\n  min_collection_interval: 1\ninstances:\n  - {instance}\n"),
        )
        .unwrap();
    }
    let loader = Loader::new(PythonSettings {
        interpreter: python.to_string(),
        checksd: vec![repo().join("tests/python_checks/checks.d")],
        run_path: dir.path().join("run"),
        context: serde_json::json!({
            "hostname": "py-host",
            "host_tags": ["env:test"],
            "version": "7.0.0",
            "config": {"enable_metadata_collection": true},
        }),
    });
    let contents: ConfdContents = read_confd(&confd);
    let plan = plan_with_python(&contents, &HostPaths::under(Path::new("/")), false, Some(&loader));
    Setup {
        _dir: dir,
        loader,
        plan,
    }
}

fn settings() -> RunnerSettings {
    RunnerSettings {
        hostname: "py-host".into(),
        host_tags: vec!["env:test".into()],
        histogram_aggregates: vec![],
        histogram_percentiles: vec![0.95],
        agent_up_interval: Duration::from_secs(15),
    }
}

struct Instance {
    instance: CheckInstance,
    sender: Sender,
}

impl Instance {
    fn run(&mut self) -> RunOutcome {
        run_once(self.instance.check.as_mut(), &mut self.sender)
    }
}

fn take(plan: &mut CheckPlan, name: &str) -> Instance {
    let at = plan
        .instances
        .iter()
        .position(|i| i.name == name)
        .unwrap_or_else(|| panic!("no instance of {name}: loading errors {:?}", plan.loading_errors));
    let instance = plan.instances.remove(at);
    let mut settings = settings();
    settings.histogram_aggregates = ["max", "median", "avg", "count"]
        .iter()
        .filter_map(|a| dogwatch_agent::dogstatsd::aggregate::HistogramAggregate::from_name(a))
        .collect();
    let sender = settings.sender_for(&instance);
    Instance { instance, sender }
}

fn value(out: &CheckOutput, metric: &str) -> (MetricKind, f64, Option<String>) {
    let s = out.series.iter().find(|s| s.metric == metric).unwrap_or_else(|| {
        panic!(
            "no {metric} in {:?}",
            out.series.iter().map(|s| &s.metric).collect::<Vec<_>>()
        )
    });
    (s.kind, s.points[0].1, s.host.clone())
}

#[test]
fn datadog_checks_base_and_legacy_checks_submit_everything_through_the_sender_and_keep_state() {
    let mut s = setup(&venv_python(), &[("dd_base", "{tags: ['team:py']}"), ("legacy", "{}")]);
    assert!(s.plan.loading_errors.is_empty(), "{:?}", s.plan.loading_errors);
    let mut base = take(&mut s.plan, "dd_base");
    let mut legacy = take(&mut s.plan, "legacy");
    assert_eq!(base.instance.version, "1.2.3", "__version__ of the module");
    assert_eq!(legacy.instance.version, "0.9.0");
    assert!(base.instance.id.starts_with("dd_base:"), "{}", base.instance.id);

    let first = base.run();
    let out = first.result.expect("first run");
    assert_eq!(value(&out, "pycheck.base.runs").1, 1.0);
    assert_eq!(value(&out, "pycheck.base.gauge").1, 42.5);
    assert!(
        out.series
            .iter()
            .all(|s| s.metric != "pycheck.base.rate" && s.metric != "pycheck.base.mcount"),
        "no rate or monotonic count on the first run"
    );
    assert_eq!(out.events.len(), 1);
    assert_eq!(out.events[0].title, "pycheck base started");
    assert_eq!(out.events[0].host.as_deref(), Some("py-host"));
    let legacy_first = legacy.run().result.expect("legacy first run");
    assert_eq!(value(&legacy_first, "pycheck.legacy.runs").1, 1.0);

    std::thread::sleep(Duration::from_millis(1100));
    let second = base.run();
    let out = second.result.expect("second run");
    assert_eq!(
        value(&out, "pycheck.base.runs").1,
        2.0,
        "the same check object runs again"
    );
    let (kind, rate, host) = value(&out, "pycheck.base.rate");
    assert_eq!(kind, MetricKind::Gauge);
    assert!((80.0..120.0).contains(&rate), "rate of time*100 per second: {rate}");
    assert_eq!(host.as_deref(), Some("py-host"), "hostname='' is the agent's hostname");
    assert_eq!(value(&out, "pycheck.base.mcount").0, MetricKind::Count);
    assert_eq!(value(&out, "pycheck.base.mcount").1, 5.0);
    assert_eq!(value(&out, "pycheck.base.count").1, 5.0);
    assert_eq!(value(&out, "pycheck.base.hist.max").1, 100.0);
    assert_eq!(value(&out, "pycheck.base.hist.avg").1, 50.5);
    assert_eq!(value(&out, "pycheck.base.hist.95percentile").1, 95.0);
    assert_eq!(value(&out, "pycheck.base.elsewhere").2.as_deref(), Some("other-host"));
    assert_eq!(value(&out, "pycheck.base.cached_runs").1, 2.0, "the persistent cache");
    assert_eq!(value(&out, "pycheck.base.hostname_known").1, 1.0);
    let tags = &out
        .series
        .iter()
        .find(|s| s.metric == "pycheck.base.gauge")
        .unwrap()
        .tags;
    for tag in ["kind:base", "team:py", "env:test"] {
        assert!(tags.contains(&tag.to_string()), "{tags:?}");
    }
    assert_eq!(out.service_checks.len(), 1);
    assert_eq!(out.service_checks[0].check, "pycheck.base.can_connect");
    assert_eq!(out.service_checks[0].status, CheckStatus::Ok);
    assert_eq!(out.service_checks[0].message, "all good");
    assert!(out.events.is_empty(), "the event is sent on the first run only");
    let metadata = base.sender.metadata();
    assert_eq!(
        metadata.get("version.major").map(String::as_str),
        Some("7"),
        "{metadata:?}"
    );
    assert_eq!(metadata.get("version.raw").map(String::as_str), Some("7.0.15"));

    let legacy_second = legacy.run();
    assert_eq!(legacy_second.warnings, ["second run of legacy"]);
    let out = legacy_second.result.unwrap();
    assert_eq!(value(&out, "pycheck.legacy.mcount").1, 3.0);
    assert_eq!(value(&out, "pycheck.legacy.hist.max").1, 4.0);
    assert_eq!(out.service_checks[0].status, CheckStatus::Warning);
    let stats = s.loader.host().stats();
    assert_eq!(stats.starts, 1, "one host for every check");
    assert!(stats.rss_kib > 0 || stats.messages > 0);
    assert!(stats.stderr_lines >= 2, "print() went to stderr: {stats:?}");
    assert_eq!(stats.garbage + stats.oversize, 0, "{stats:?}");
}

#[test]
fn a_check_that_raises_fails_with_its_traceback_and_a_hung_one_times_out_while_others_run() {
    let mut s = setup(&venv_python(), &[("raises", "{}"), ("hangs", "{}"), ("legacy", "{}")]);
    let mut raises = take(&mut s.plan, "raises");
    let mut hangs = take(&mut s.plan, "hangs");
    let mut legacy = take(&mut s.plan, "legacy");
    let error = raises.run().result.unwrap_err();
    for needle in [
        "pycheck raises on purpose",
        "Traceback (most recent call last):",
        "in compute",
        "ValueError: pycheck raises on purpose",
    ] {
        assert!(error.contains(needle), "{needle:?} not in {error}");
    }
    let started = Instant::now();
    let error = hangs.run().result.unwrap_err();
    assert!(error.contains("took longer than 0.9s"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let out = legacy.run().result.expect("another check runs while one hangs");
    assert_eq!(value(&out, "pycheck.legacy.runs").1, 1.0);
    let error = hangs.run().result.unwrap_err();
    assert!(error.contains("previous run has not returned"), "{error}");
}

#[test]
fn killing_the_host_restarts_it_and_the_checks_run_again() {
    let mut s = setup(&venv_python(), &[("legacy", "{}")]);
    let mut legacy = take(&mut s.plan, "legacy");
    legacy.run().result.unwrap();
    let pid = s.loader.host().pid().expect("the host runs");
    assert!(
        std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut errors = Vec::new();
    let out = loop {
        assert!(Instant::now() < deadline, "the host was not restarted: {errors:?}");
        match legacy.run().result {
            Ok(out) => break out,
            Err(e) => errors.push(e),
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(
        value(&out, "pycheck.legacy.runs").1,
        1.0,
        "a new host makes a new check object"
    );
    let stats = s.loader.host().stats();
    assert_eq!(stats.starts, 2, "{stats:?}");
    assert_ne!(s.loader.host().pid(), Some(pid));
    assert!(
        stats.last_exit.as_deref().unwrap_or_default().contains("signal"),
        "{stats:?}"
    );
}

#[test]
fn oversize_messages_and_printed_garbage_are_dropped_and_counted_and_the_run_goes_on() {
    let mut s = setup(&venv_python(), &[("floods", "{}")]);
    let mut floods = take(&mut s.plan, "floods");
    let out = floods.run().result.expect("the run");
    assert_eq!(value(&out, "pycheck.floods.survived").1, 1.0);
    assert!(out.series.iter().all(|s| s.metric.len() < 1000));
    let deadline = Instant::now() + Duration::from_secs(5);
    while s.loader.host().stats().stderr_lines < 2000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = s.loader.host().stats();
    assert_eq!(stats.oversize, 1, "{stats:?}");
    assert!(stats.stderr_lines >= 2000, "{stats:?}");
}

#[test]
fn without_datadog_checks_or_an_interpreter_only_those_checks_are_loading_errors() {
    let mut s = setup(&plain_python(), &[("dd_base", "{}"), ("legacy", "{}")]);
    let error = &s.plan.loading_errors["dd_base"];
    assert!(error.contains("needs Datadog's datadog_checks.base"), "{error}");
    let mut legacy = take(&mut s.plan, "legacy");
    let first = legacy
        .run()
        .result
        .expect("the legacy check runs on dogwatch's own AgentCheck");
    assert_eq!(value(&first, "pycheck.legacy.runs").1, 1.0);
    assert_eq!(
        legacy.sender.metadata().get("version.minor").map(String::as_str),
        Some("4")
    );

    let s = setup(
        "/nonexistent/python3",
        &[("dd_base", "{}"), ("legacy", "{}"), ("uptime", "{}")],
    );
    for name in ["dd_base", "legacy"] {
        let error = &s.plan.loading_errors[name];
        assert!(
            error.contains("`/nonexistent/python3`") && error.contains("python_interpreter"),
            "{error}"
        );
    }
    assert_eq!(s.plan.loading_errors.len(), 2);
    assert!(
        s.plan.instances.iter().any(|i| i.name == "uptime"),
        "the Rust checks still load"
    );
}

#[test]
fn a_check_that_holds_the_interpreter_gets_the_host_killed_and_the_others_run_again_in_a_new_one() {
    let mut s = setup(&venv_python(), &[("holds_gil", "{}"), ("legacy", "{}")]);
    s.loader.host().set_heartbeat_timeout(Duration::from_secs(2));
    let mut stuck = take(&mut s.plan, "holds_gil");
    let mut legacy = take(&mut s.plan, "legacy");
    legacy.run().result.unwrap();
    let pid = s.loader.host().pid().unwrap();
    let error = stuck.run().result.unwrap_err();
    assert!(error.contains("took longer"), "{error}");
    let error = legacy.run().result.unwrap_err();
    assert!(
        error.contains("took longer"),
        "the stuck interpreter runs nothing else: {error}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let out = loop {
        assert!(Instant::now() < deadline, "the stuck host was never replaced");
        if let Ok(out) = legacy.run().result {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(value(&out, "pycheck.legacy.runs").1, 1.0);
    assert_ne!(s.loader.host().pid(), Some(pid));
    let stats = s.loader.host().stats();
    assert!(
        stats.last_exit.as_deref().unwrap_or_default().contains("signal: 9"),
        "{stats:?}"
    );
    let error = stuck.run().result.unwrap_err();
    assert!(error.contains("held the Python interpreter"), "{error}");
    legacy.run().result.expect("the others go on in the new host");
}

#[test]
fn two_instances_of_one_check_have_their_own_ids_objects_and_state() {
    let mut s = setup(&venv_python(), &[("legacy", "{name: one}\n  - {name: two}")]);
    let mut one = take(&mut s.plan, "legacy");
    let mut two = take(&mut s.plan, "legacy");
    assert!(one.instance.id.starts_with("legacy:one:") && two.instance.id.starts_with("legacy:two:"));
    one.run().result.unwrap();
    let out = one.run().result.unwrap();
    assert_eq!(value(&out, "pycheck.legacy.runs").1, 2.0);
    let out = two.run().result.unwrap();
    assert_eq!(value(&out, "pycheck.legacy.runs").1, 1.0);
}
