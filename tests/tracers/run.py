#!/usr/bin/env python3
"""dogwatch's real-client APM tests: Datadog's own tracers, unchanged, against a real `dogwatch up`.

Run with the tracer virtualenv's python (scripts/install-tracers.sh makes it):

    scripts/install-tracers.sh
    target/tracer-env/bin/python tests/tracers/run.py [--dogwatch PATH] [--oracle-only] [-v]

What happens:

1. Reference run: Datadog's `ddapm-test-agent` (their reference trace receiver) on a free loopback
   port; the Python `notes` and `calendar` services (Flask, `ddtrace-run`) and the Node `greeter`
   service (`dd-trace`) send to it; a fixed list of requests drives them; the decoded traces are
   read back from `/test/session/traces`. The same structural assertions that are later made on
   dogwatch are made here first ("reference: ..."), so a broken app or tracer upgrade shows up as
   a reference failure rather than as a dogwatch bug.
2. dogwatch run: `dogwatch up` on free ports with a temporary data directory (as web/e2e/harness.mjs
   starts it), plus `DD_APM_RECEIVER_PORT`; the same apps and requests; then the server's APM API
   (docs/api.md, "APM") is polled and asserted on ("dogwatch: ...").
3. Oracle: each request's trace from both runs is compared span by span ("oracle: ...").

Every test prints `PASS <name>` or `FAIL <name>: <reason>`; the last line is
`tracers: N passed, M failed`, and the exit status is non-zero when anything failed. Everything
listens on 127.0.0.1, every wait is bounded, and every child process is killed at the end.

Environment: DOGWATCH_BIN (the binary, default target/debug/dogwatch), TRACER_TRACE_WAIT_S
(how long spans may take to show up in dogwatch's API, default 20), TRACER_STATS_WAIT_S (how long
the services list may take, default 45: APM stats are bucketed in 10 s windows).
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
from dogwatch_up import (  # noqa: E402  (tests/common: what the real-client runners share)
    CANNOT_RUN, REPO, RESULTS, Child, Dogwatch, Failure, any_failed, check, clean_env, finish, free_port, get_json,
    http, log, run_phase, run_test, set_verbose, stop_all, until, wait_listening)

ENV_BIN = os.path.dirname(os.path.abspath(sys.executable))

ENV_NAME = "tracer-test"
NOTES_VERSION = "1.4.2"
CALENDAR_VERSION = "0.9.0"
NODE_SERVICE = "greeter"
NODE_VERSION = "2.0.0"
ERROR_MESSAGE = "the notes store is on fire"
MASK64 = (1 << 64) - 1

TRACE_WAIT_S = float(os.environ.get("TRACER_TRACE_WAIT_S", "20"))
STATS_WAIT_S = float(os.environ.get("TRACER_STATS_WAIT_S", "45"))


# ---------------------------------------------------------------------------------------------
# Spans: one normalized shape for what the test agent decoded and what dogwatch's API returns.
# ---------------------------------------------------------------------------------------------


def span_from_test_agent(s):
    meta = dict(s.get("meta") or {})
    return {
        "trace_id": int(s["trace_id"]) & MASK64, "span_id": int(s["span_id"]), "parent_id": int(s["parent_id"]),
        "service": s.get("service", ""), "name": s.get("name", ""), "resource": s.get("resource", ""),
        "type": s.get("type", "") or "", "error": int(s.get("error", 0)), "start": int(s.get("start", 0)),
        "duration": int(s.get("duration", 0)), "meta": meta, "metrics": dict(s.get("metrics") or {}),
        "env": meta.get("env", ""), "version": meta.get("version", ""), "raw": s,
    }


def span_from_dogwatch(s):
    return {
        "trace_id": int(s["trace_id"]), "span_id": int(s["span_id"]), "parent_id": int(s["parent_id"]),
        "service": s.get("service", ""), "name": s.get("name", ""), "resource": s.get("resource", ""),
        "type": s.get("type", "") or "", "error": int(s.get("error", 0)), "start": int(s.get("start", "0")),
        "duration": int(s.get("duration", 0)), "meta": dict(s.get("meta") or {}),
        "metrics": dict(s.get("metrics") or {}), "env": s.get("env") or "", "version": s.get("version") or "",
        "raw": s,
    }


def show(s):
    return "%s/%s/%r (span %d, parent %d)" % (s["service"], s["name"], s["resource"], s["span_id"], s["parent_id"])


def depths(spans):
    by_id = {s["span_id"]: s for s in spans}
    out = {}

    def depth(s, seen=()):
        sid = s["span_id"]
        if sid in out:
            return out[sid]
        if s["parent_id"] == 0:
            d = 0
        elif s["parent_id"] in by_id and s["parent_id"] not in seen:
            p = depth(by_id[s["parent_id"]], seen + (sid,))
            d = -1 if p < 0 else p + 1
        else:
            d = -1  # orphan: its parent is not in the trace
        out[sid] = d
        return d

    for s in spans:
        depth(s)
    return out


def agent_normalized_name(name):
    """A span name as Datadog's trace agent stores it: pkg/trace/traceutil NormalizeName (truncate
    to 100 bytes, drop leading non-letters, any run of other characters -> one '_', '_' before '.'
    dropped, no trailing '_'; nothing left -> 'unnamed_operation'). ddtrace's @tracer.wrap()
    default names such as `__main__.list_notes` become `main.list_notes`."""
    name = name[:100]
    i = 0
    while i < len(name) and not (name[i].isascii() and name[i].isalpha()):
        i += 1
    if i == len(name):
        return "unnamed_operation"
    out = []
    for ch in name[i:]:
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif ch == ".":
            if out[-1] == "_":
                out[-1] = "."
            else:
                out.append(".")
        elif out[-1] not in "._":
            out.append("_")
    if out[-1] == "_":
        out.pop()
    return "".join(out)


# How an expected span name is looked up: as the tracer sent it (the reference receiver stores it
# raw), or as Datadog's trace agent normalizes it (what dogwatch must store).
EXPECT_NAME = [lambda name: name]


def find(spans, what, **fields):
    """The spans matching every field; fails naming what was looked for and what is there."""
    if "name" in fields:
        fields["name"] = EXPECT_NAME[0](fields["name"])
    got = [s for s in spans if all(s.get(k) == v for k, v in fields.items())]
    if not got:
        have = sorted({"%s/%s/%r" % (s["service"], s["name"], s["resource"]) for s in spans})
        raise Failure("no %s span (%s) among the trace's %d spans: %s" % (
            what, ", ".join("%s=%r" % kv for kv in fields.items()), len(spans), "; ".join(have)))
    return got


def one(spans, what, **fields):
    got = find(spans, what, **fields)
    check(len(got) == 1, "expected one %s span, got %d: %s" % (what, len(got), [show(s) for s in got]))
    return got[0]


def meta_is(span, key, want):
    got = span["meta"].get(key)
    check(got == want, "%s: meta[%r] expected %r, got %r (meta keys: %s)" % (
        show(span), key, want, got, sorted(span["meta"])))


def metric_is(span, key, want):
    got = span["metrics"].get(key)
    check(got is not None and abs(float(got) - float(want)) < 1e-9, "%s: metrics[%r] expected %r, got %r (metrics: %s)" % (
        show(span), key, want, got, span["metrics"]))


# ---------------------------------------------------------------------------------------------
# The scenario: what the apps are asked, and what their traces must look like.
# ---------------------------------------------------------------------------------------------

# (step, method, path, expected HTTP status): PY_STEPS go to notes, NODE_STEPS to greeter.
PY_STEPS = [
    ("create", "POST", "/notes?desc=hello", 201),
    ("create_dated", "POST", "/notes?desc=dated&add_date=y", 201),
    ("list", "GET", "/notes", 200),
    ("get", "GET", "/notes/1", 200),
    ("error", "GET", "/notes/error", 500),
]
NODE_STEPS = [
    ("hello", "GET", "/hello?name=bob", 200),
    ("not_found", "GET", "/nope", 404),
]


def assert_distributed(spans):
    """notes -> requests -> calendar is one trace with the right parent links."""
    ids = {s["trace_id"] for s in spans}
    check(len(ids) == 1, "spans of more than one trace id: %s" % ids)
    services = {s["service"] for s in spans}
    check({"notes", "calendar"} <= services, "services in the trace: %s, expected notes and calendar" % sorted(services))
    by_id = {s["span_id"]: s for s in spans}
    root = one(spans, "notes entry", service="notes", name="flask.request")
    check(root["parent_id"] == 0, "notes entry span %s is not the root" % show(root))
    check(root["resource"] == "POST /notes", "notes entry resource %r, expected 'POST /notes'" % root["resource"])
    client = one(spans, "requests client", name="requests.request")
    check(client["resource"] == "GET /calendar", "requests client span resource %r, expected 'GET /calendar'" % client["resource"])
    check(client["meta"].get("span.kind") == "client", "requests span.kind %r" % client["meta"].get("span.kind"))
    cal = one(spans, "calendar entry", service="calendar", name="flask.request")
    check(cal["resource"] == "GET /calendar", "calendar entry resource %r" % cal["resource"])
    check(cal["parent_id"] == client["span_id"], "calendar entry span's parent_id is %d, expected the requests client span %d (%s)" % (
        cal["parent_id"], client["span_id"], show(by_id[cal["parent_id"]]) if cal["parent_id"] in by_id else "not in the trace"))
    # The client span hangs below notes_helper.fetch_date, below notes_helper.create_note, ... up to the root.
    fetch = one(spans, "notes_helper.fetch_date (@tracer.wrap)", name="notes_helper.fetch_date")
    check(client["parent_id"] == fetch["span_id"], "requests client's parent is %d, expected notes_helper.fetch_date %d" % (
        client["parent_id"], fetch["span_id"]))
    pick = one(spans, "calendar.pick_date (@tracer.wrap)", name="calendar.pick_date", service="calendar")
    d = depths(spans)
    orphans = [show(s) for s in spans if d[s["span_id"]] < 0]
    check(not orphans, "spans whose parent is not in the trace: %s" % orphans)
    check(d[pick["span_id"]] > d[cal["span_id"]] > d[client["span_id"]] > d[fetch["span_id"]] > 0,
          "depths not nested: fetch_date %d, requests %d, calendar entry %d, pick_date %d" % (
              d[fetch["span_id"]], d[client["span_id"]], d[cal["span_id"]], d[pick["span_id"]]))
    roots = [show(s) for s in spans if s["parent_id"] == 0]
    check(len(roots) == 1, "expected one root span, got %s" % roots)


def assert_resources_and_custom_spans(traces):
    """Entry resources per request, and the custom spans from @tracer.wrap / tracer.trace."""
    want_root = {"create": "POST /notes", "create_dated": "POST /notes", "list": "GET /notes",
                 "get": "GET /notes/<int:note_id>", "error": "GET /notes/error"}
    for step, resource in want_root.items():
        root = one(traces[step], "%s root" % step, parent_id=0)
        check((root["service"], root["name"], root["resource"], root["type"]) == ("notes", "flask.request", resource, "web"),
              "%s: root span is %s type %r, expected notes/flask.request/%r type 'web'" % (step, show(root), root["type"], resource))
    # @tracer.wrap(name=..., resource=...)
    one(traces["create"], "@tracer.wrap(name='notes_helper.create_note')", name="notes_helper.create_note", resource="create_note", service="notes")
    # @tracer.wrap() with no arguments: named after the function
    one(traces["list"], "@tracer.wrap() default name", name="__main__.list_notes", resource="__main__.list_notes", service="notes")
    # with tracer.trace(...)
    one(traces["create"], "tracer.trace('notes.validate')", name="notes.validate", resource="validate_desc", service="notes")
    one(traces["get"], "tracer.trace('notes_helper.get_note')", name="notes_helper.get_note", resource="get_note", service="notes")
    one(traces["error"], "tracer.trace('notes.explode')", name="notes.explode", resource="explode", service="notes")
    one(traces["create_dated"], "calendar's @tracer.wrap", name="calendar.pick_date", resource="pick_date", service="calendar")
    # The tutorial's notes_helper: spans of another service, so top-level ones, with two operation names
    helper = sorted(x["name"] for x in traces["list"] if x["service"] == "notes_helper")
    check(helper == ["another_process", "long_running_process", "long_running_process"],
          "notes_helper spans in the list trace: %s, expected long_running_process twice and another_process" % helper)
    # An integration span of another service (sqlite) inside the notes trace
    q = one(traces["get"], "sqlite query", name="sqlite.query", service="sqlite")
    check(q["type"] == "sql" and q["resource"] == "SELECT id, description FROM notes WHERE id = ?",
          "sqlite span %s type %r" % (show(q), q["type"]))


def assert_custom_tags(traces):
    root = one(traces["create"], "root", parent_id=0)
    meta_is(root, "customer.tier", "gold")
    meta_is(root, "http.method", "POST")
    meta_is(root, "http.status_code", "201")
    meta_is(root, "span.kind", "server")
    meta_is(root, "component", "flask")
    meta_is(root, "language", "python")
    metric_is(root, "_sampling_priority_v1", 1)
    created = one(traces["create_dated"], "create_note", name="notes_helper.create_note")
    meta_is(created, "note.with_date", "yes")
    check(re.fullmatch(r"\d+", created["meta"].get("note.id", "")), "note.id %r" % created["meta"].get("note.id"))
    validate = one(traces["create"], "notes.validate", name="notes.validate")
    metric_is(validate, "desc.length", 5)  # numeric set_tag lands in metrics
    listed = one(traces["list"], "list_notes", resource="__main__.list_notes")
    metric_is(listed, "notes.count", 2)
    got = one(traces["get"], "get_note", name="notes_helper.get_note")
    meta_is(got, "note.id", "1")
    pick = one(traces["create_dated"], "pick_date", name="calendar.pick_date")
    meta_is(pick, "calendar.weekday", "Saturday")
    metric_is(pick, "calendar.day_of_year", 325)


def assert_env_version(traces):
    versions = {"notes": NOTES_VERSION, "calendar": CALENDAR_VERSION}
    bad = []
    for step, spans in traces.items():
        for s in spans:
            if s["env"] != ENV_NAME:
                bad.append("%s %s: env %r, expected %r" % (step, show(s), s["env"], ENV_NAME))
            want = versions.get(s["service"])
            if want and s["version"] != want:
                bad.append("%s %s: version %r, expected %r" % (step, show(s), s["version"], want))
    check(not bad, "%d spans wrong:\n      %s" % (len(bad), "\n      ".join(bad[:12])))


def assert_error_span(spans):
    root = one(spans, "error root", parent_id=0)
    check(root["error"] == 1, "root %s error=%d, expected 1" % (show(root), root["error"]))
    meta_is(root, "http.status_code", "500")
    boom = one(spans, "notes.explode", name="notes.explode")
    check(boom["error"] == 1, "%s error=%d, expected 1" % (show(boom), boom["error"]))
    meta_is(boom, "error.type", "builtins.ValueError")
    msg = boom["meta"].get("error.message", boom["meta"].get("error.msg"))
    check(msg == ERROR_MESSAGE, "%s: error.message %r, expected %r" % (show(boom), msg, ERROR_MESSAGE))
    stack = boom["meta"].get("error.stack", "")
    check(stack.startswith("Traceback") and "ValueError: " + ERROR_MESSAGE in stack and "notes_app/app.py" in stack,
          "%s: error.stack does not hold the traceback: %r" % (show(boom), stack[:300]))
    errs = sorted(show(s) for s in spans if s["error"])
    check(len(errs) >= 3, "expected the root, the view and notes.explode to be errors, got %s" % errs)


def assert_node(traces):
    spans = traces["hello"]
    root = one(spans, "node entry", parent_id=0)
    check((root["service"], root["name"], root["resource"], root["type"]) == (NODE_SERVICE, "web.request", "GET /hello", "web"),
          "node root %s type %r, expected greeter/web.request/'GET /hello' type 'web'" % (show(root), root["type"]))
    meta_is(root, "http.status_code", "200")
    meta_is(root, "customer.tier", "silver")
    meta_is(root, "language", "javascript")
    compose = one(spans, "greeter.compose (tracer.trace)", name="greeter.compose")
    check(compose["parent_id"] == root["span_id"] and compose["resource"] == "compose_greeting" and compose["service"] == NODE_SERVICE,
          "custom span %s, expected greeter/greeter.compose/'compose_greeting' below %d" % (show(compose), root["span_id"]))
    meta_is(compose, "greeter.name", "bob")
    metric_is(compose, "greeter.length", 3)
    for s in spans:
        check(s["env"] == ENV_NAME and s["version"] == NODE_VERSION, "%s env %r version %r, expected %r %r" % (
            show(s), s["env"], s["version"], ENV_NAME, NODE_VERSION))
    nf = one(traces["not_found"], "node 404 entry", parent_id=0)
    meta_is(nf, "http.status_code", "404")


# ---------------------------------------------------------------------------------------------
# Running the apps
# ---------------------------------------------------------------------------------------------


class Apps:
    """The notes, calendar and greeter services sending to one trace receiver."""

    def __init__(self, label, receiver_port, logdir):
        self.label = label
        self.ports = {"notes": free_port(), "calendar": free_port(), "node": free_port()}
        ddtrace_run = os.path.join(ENV_BIN, "ddtrace-run")
        python = sys.executable
        check(os.path.exists(ddtrace_run), "no ddtrace-run next to %s: run scripts/install-tracers.sh and run.py with target/tracer-env/bin/python" % python)
        node_dir = os.path.join(HERE, "node")
        check(os.path.isdir(os.path.join(node_dir, "node_modules", "dd-trace")),
              "tests/tracers/node/node_modules has no dd-trace: run scripts/install-tracers.sh")
        py_common = dict(DD_ENV=ENV_NAME, DD_AGENT_HOST="127.0.0.1", DD_TRACE_AGENT_PORT=receiver_port,
                         PYTHONUNBUFFERED=1)
        self.calendar = Child("%s-calendar" % label, [ddtrace_run, python, "app.py"], clean_env(
            DD_SERVICE="calendar", DD_VERSION=CALENDAR_VERSION, CALENDAR_PORT=self.ports["calendar"], **py_common),
            os.path.join(HERE, "python", "calendar_app"), logdir)
        self.notes = Child("%s-notes" % label, [ddtrace_run, python, "app.py"], clean_env(
            DD_SERVICE="notes", DD_VERSION=NOTES_VERSION, NOTES_PORT=self.ports["notes"],
            CALENDAR_URL="http://127.0.0.1:%d" % self.ports["calendar"], **py_common),
            os.path.join(HERE, "python", "notes_app"), logdir)
        self.node = Child("%s-node" % label, ["node", "app.js"], clean_env(
            DD_SERVICE=NODE_SERVICE, DD_ENV=ENV_NAME, DD_VERSION=NODE_VERSION,
            DD_TRACE_AGENT_URL="http://127.0.0.1:%d" % receiver_port, NODE_APP_PORT=self.ports["node"]),
            node_dir, logdir)
        for child, port in ((self.calendar, self.ports["calendar"]), (self.notes, self.ports["notes"]), (self.node, self.ports["node"])):
            wait_listening(port, child)

    def drive(self):
        """Sends the scenario's requests; returns {step: (trace id low 64, trace id 128 hex)}."""
        ids = {}
        for steps, port in ((PY_STEPS, self.ports["notes"]), (NODE_STEPS, self.ports["node"])):
            for step, method, path, want in steps:
                url = "http://127.0.0.1:%d%s" % (port, path)
                status, headers, body = http(method, url)
                check(status == want, "%s %s answered %d, expected %d: %s" % (method, path, status, want, body[:200]))
                tid = {k.lower(): v for k, v in headers.items()}.get("x-trace-id")
                check(tid, "%s %s: no X-Trace-Id header" % (method, path))
                if len(tid) == 32:
                    ids[step] = (int(tid[16:], 16), tid)
                else:
                    ids[step] = (int(tid), None)
                log("%s %s -> %d, trace %s" % (method, path, status, tid))
        return ids

    def stop(self):
        for c in (self.notes, self.calendar, self.node):
            c.stop()


def normalize_ports(apps):
    """Value replacements for the ports that legitimately differ between the two runs."""
    return {str(apps.ports["notes"]): "<notes-port>", str(apps.ports["calendar"]): "<calendar-port>",
            str(apps.ports["node"]): "<node-port>"}


# ---------------------------------------------------------------------------------------------
# Phase 1: the reference receiver (ddapm-test-agent)
# ---------------------------------------------------------------------------------------------


def expected_complete(step, spans):
    """A heuristic for "the whole trace has arrived" when no reference count is known."""
    if not any(s["parent_id"] == 0 for s in spans):
        return False
    if step == "create_dated":
        return any(s["service"] == "calendar" for s in spans) and any(s["service"] == "notes" for s in spans)
    return True


def run_reference(logdir):
    port = free_port()
    agent = Child("test-agent", [os.path.join(ENV_BIN, "ddapm-test-agent"), "--host", "127.0.0.1", "--port", str(port),
                                 "--otlp-http-port", str(free_port()), "--otlp-grpc-port", str(free_port()),
                                 "--log-level", "WARNING"], clean_env(), HERE, logdir)
    wait_listening(port, agent)
    base = "http://127.0.0.1:%d" % port
    # Answer tracers with a default rate for every service, as Datadog's agent (and dogwatch) do.
    rates = urllib.parse.quote(json.dumps({"service:,env:": 1.0}))
    status, _, text = http("GET", base + "/test/session/start?agent_sample_rate_by_service=" + rates)
    check(status == 200, "test agent session start: %d %s" % (status, text))
    apps = Apps("reference", port, logdir)
    try:
        ids = apps.drive()

        def collect():
            status, data = get_json(base + "/test/session/traces")
            check(status == 200, "/test/session/traces: %d %s" % (status, str(data)[:200]))
            by_tid = {}
            for trace in data:
                for s in trace:
                    sp = span_from_test_agent(s)
                    by_tid.setdefault(sp["trace_id"], []).append(sp)
            out = {step: by_tid.get(low, []) for step, (low, _) in ids.items()}
            missing = [step for step, spans in out.items() if not expected_complete(step, spans)]
            check(not missing, "traces not complete yet: %s" % missing)
            return out

        traces = until("the test agent to hold every request's trace", collect, 20)
        time.sleep(1.5)  # a late chunk (the other process's half of a distributed trace) settles
        traces = collect()
        log("reference: %s" % {k: len(v) for k, v in traces.items()})
        return {"ids": ids, "traces": traces, "ports": normalize_ports(apps)}
    finally:
        apps.stop()
        agent.stop()


# ---------------------------------------------------------------------------------------------
# Phase 2: dogwatch
# ---------------------------------------------------------------------------------------------


def run_dogwatch(binary, logdir, reference):
    dw = Dogwatch(binary, logdir, hostname="tracer-test-host", tags="team:apm,role:tracer-test", wait_receiver=True,
                  data_prefix="dogwatch-tracers-")
    apps = None
    try:
        apps = Apps("dogwatch", dw.receiver_port, logdir)
        ids = apps.drive()
        want_counts = {step: len(spans) for step, spans in (reference or {}).get("traces", {}).items()}
        traces, answers = {}, {}
        pending = set(ids)
        deadline = time.monotonic() + TRACE_WAIT_S
        # Poll every request's trace until it has as many spans as the reference run had (or,
        # without a reference, looks complete and stops growing), at most TRACE_WAIT_S.
        while pending and time.monotonic() < deadline:
            for step in sorted(pending):
                low, _ = ids[step]
                url, status, data = dw.api("/api/ui/apm/traces/%d" % low)
                answers[step] = (url, status, data)
                if status != 200 or not isinstance(data, dict):
                    continue
                spans = [span_from_dogwatch(s) for s in data.get("spans", [])]
                prev = traces.get(step)
                traces[step] = spans
                if step in want_counts:
                    if len(spans) >= want_counts[step]:
                        pending.discard(step)
                elif expected_complete(step, spans) and prev is not None and len(prev) == len(spans):
                    pending.discard(step)
            if pending:
                time.sleep(0.5)
        log("dogwatch: %s (still incomplete: %s)" % ({k: len(v) for k, v in traces.items()}, sorted(pending)))
        return {"dw": dw, "apps": apps, "ids": ids, "traces": traces, "answers": answers, "pending": pending,
                "ports": normalize_ports(apps)}
    except BaseException:
        if apps:
            apps.stop()
        dw.stop()
        raise


# ---------------------------------------------------------------------------------------------
# Phase 3: the oracle comparison
# ---------------------------------------------------------------------------------------------

# Keys whose values legitimately differ between two runs of the same scenario: compared for
# presence only (both sides must have the key, or both lack it).
PRESENCE_ONLY_META = {
    "runtime-id": "a random id per tracer process",
    "_dd.p.tid": "the random high 64 bits of a 128-bit trace id (its value is checked against trace_id_128 by its own test)",
    "_dd.rc.client_id": "dd-trace-js's random remote-configuration client id, per process",
    "_dd.parent_id": "the W3C last-parent span id, random per run",
    "_dd.p.dm": "the sampling decision maker: '-0' (default rule) or '-1' (agent rate) depends on whether the tracer "
                "had received the receiver's rate_by_service answer when it sampled the trace, i.e. on timing",
}
PRESENCE_ONLY_METRICS = {
    "process_id": "the tracer process's pid",
}
# Keys ignored entirely (may be present on one side only).
IGNORED_META = {
    "_dd.p.ksr": "the sampling rate a tracer propagates once it applies the receiver's rate_by_service "
                 "(dd-trace-js adds it only after its first flush got an answer): present or not by timing",
}
IGNORED_METRICS = {
    "_dd.agent_psr": "the agent-rate the tracer applied; absent until the tracer has received a rate_by_service "
                     "answer (timing), and its value is the receiver's choice, not the tracer's data",
}
# Keys a Datadog trace agent adds on its own: allowed on dogwatch's side only.
AGENT_ADDED_META = {
    "sql.query": "the trace agent's SQL obfuscation stores the obfuscated query here for type sql spans",
    "_dd.hostname": "the host the agent attributes the span to",
}
AGENT_ADDED_METRICS = {
    "_top_level": "the trace agent marks top-level spans with _top_level = 1 (pkg/trace/traceutil)",
}


def _norm_value(v, ports):
    if isinstance(v, str):
        for port, name in ports.items():
            v = re.sub(r"(?<!\d)%s(?!\d)" % port, name, v)
        return v
    if isinstance(v, (int, float)) and str(int(v)) in ports and float(v) == int(v):
        return ports[str(int(v))]
    return v


def _same(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    return a == b


def resource_key(span):
    """A span's resource for pairing: Datadog's trace agent obfuscates the resource of type sql
    spans (literals become `?` and the query is re-tokenized, so `notes (description)` comes back
    as `notes ( description )`); such resources are compared without whitespace. The scenario's
    queries carry no literals, so nothing else of the obfuscation shows."""
    if span["type"] == "sql":
        return re.sub(r"\s+", "", span["resource"])
    return span["resource"]


def compare_trace(ref_spans, dw_spans, ref_ports, dw_ports, other_is_reference=False):
    """Differences between the reference's and dogwatch's copy of one trace, as (kind, line): `kind`
    names the difference without the span, so the same difference on many spans can be summed up.

    Spans are paired by (service, name, resource, depth), in start order within a key; what is
    left is paired by (service, name, resource) alone, so a span hung under the wrong parent is
    reported once, as a parent difference, and not once per span of its subtree; what is left then
    is paired by (service, resource, depth), so a renamed span is one name difference. What is
    still left is missing in (or extra in) dogwatch. A parent is right when it is the span paired
    with the reference span's parent.
    """
    diffs = []
    # Datadog's trace agent normalizes span names; the reference receiver keeps them raw.
    ref_spans = [dict(s, name=agent_normalized_name(s["name"])) for s in ref_spans]
    if other_is_reference:
        dw_spans = [dict(s, name=agent_normalized_name(s["name"])) for s in dw_spans]
    rd, dd = depths(ref_spans), depths(dw_spans)
    rby = {s["span_id"]: s for s in ref_spans}
    dby = {s["span_id"]: s for s in dw_spans}

    def name3(s):
        return (s["service"], s["name"], resource_key(s))

    def parent3(s, by_id):
        p = by_id.get(s["parent_id"])
        if p is not None:
            return name3(p)
        return "none (root)" if s["parent_id"] == 0 else "span %d, not in the trace" % s["parent_id"]

    def pair(refs, dws, key):
        groups_r, groups_d = {}, {}
        for s in sorted(refs, key=lambda s: s["start"]):
            groups_r.setdefault(key(s, rd), []).append(s)
        for s in sorted(dws, key=lambda s: s["start"]):
            groups_d.setdefault(key(s, dd), []).append(s)
        pairs, left_r, left_d = [], [], []
        for k in set(groups_r) | set(groups_d):
            r, w = groups_r.get(k, []), groups_d.get(k, [])
            pairs += list(zip(r, w))
            left_r += r[len(w):]
            left_d += w[len(r):]
        return pairs, left_r, left_d

    pairs, left_r, left_d = pair(ref_spans, dw_spans, lambda s, d: name3(s) + (d[s["span_id"]],))
    more, left_r, left_d = pair(left_r, left_d, lambda s, d: name3(s))
    renamed, left_r, left_d = pair(left_r, left_d, lambda s, d: (s["service"], resource_key(s), d[s["span_id"]]))
    for rs, ws in renamed:
        diffs.append(("name differs", "%s/%r: name reference %r, dogwatch %r" % (rs["service"], rs["resource"], rs["name"], ws["name"])))
    paired = {rs["span_id"]: ws["span_id"] for rs, ws in pairs + more + renamed}
    for s in sorted(left_r, key=lambda s: (name3(s), rd[s["span_id"]])):
        diffs.append(("span missing in dogwatch", "span %s/%s/%r at depth %d (parent %s) missing in dogwatch" % (name3(s) + (rd[s["span_id"]], parent3(s, rby)))))
    for s in sorted(left_d, key=lambda s: (name3(s), dd[s["span_id"]])):
        diffs.append(("span only in dogwatch", "span %s/%s/%r at depth %d (parent %s) only in dogwatch" % (name3(s) + (dd[s["span_id"]], parent3(s, dby)))))

    for rs, ws in sorted(pairs + more + renamed, key=lambda p: (rd[p[0]["span_id"]], name3(p[0]))):
        label = "%s/%s/%r" % (rs["service"], rs["name"], rs["resource"])
        for field in ("type", "error"):
            if rs[field] != ws[field]:
                diffs.append(("%s differs" % field, "%s: %s reference %r, dogwatch %r" % (label, field, rs[field], ws[field])))
        if rs["parent_id"] == 0:
            parent_ok = ws["parent_id"] == 0
        elif rs["parent_id"] in paired:
            parent_ok = ws["parent_id"] == paired[rs["parent_id"]]
        else:
            parent_ok = parent3(rs, rby) == parent3(ws, dby)
        if not parent_ok:
            diffs.append(("parent differs", "%s: parent reference %s, dogwatch %s" % (label, parent3(rs, rby), parent3(ws, dby))))
        # dogwatch may carry env/version as span fields instead of (or as well as) meta keys.
        wmeta = dict(ws["meta"])
        for k in ("env", "version"):
            if k in rs["meta"] and k not in wmeta and ws.get(k):
                wmeta[k] = ws[k]
        for kind, rmap, wmap, presence, ignored, added in (
                ("meta", rs["meta"], wmeta, PRESENCE_ONLY_META, IGNORED_META, AGENT_ADDED_META),
                ("metrics", rs["metrics"], ws["metrics"], PRESENCE_ONLY_METRICS, IGNORED_METRICS, AGENT_ADDED_METRICS)):
            for k in sorted(set(rmap) | set(wmap)):
                if k in ignored:
                    continue
                if k not in wmap:
                    diffs.append(("%s[%r] missing in dogwatch" % (kind, k), "%s: %s[%r] = %r missing in dogwatch" % (label, kind, k, rmap[k])))
                elif k not in rmap:
                    if k not in added:
                        diffs.append(("%s[%r] only in dogwatch" % (kind, k), "%s: %s[%r] = %r only in dogwatch" % (label, kind, k, wmap[k])))
                elif k not in presence:
                    a, b = _norm_value(rmap[k], ref_ports), _norm_value(wmap[k], dw_ports)
                    if not _same(a, b):
                        diffs.append(("%s[%r] differs" % (kind, k), "%s: %s[%r] reference %r, dogwatch %r" % (label, kind, k, a, b)))
    return diffs


def check_same(steps, reference, other, other_name, other_is_reference=False):
    """Fails with every difference between the reference's and `other`'s traces of `steps`; one
    difference found on more than two spans is told once, with its count and two examples."""
    found = []
    for step in steps:
        r, w = reference["traces"].get(step, []), other["traces"].get(step, [])
        if not w:
            found.append(("no trace", "%s: no trace in %s" % (step, other_name)))
            continue
        found += [(kind, "%s: %s" % (step, line)) for kind, line in compare_trace(r, w, reference["ports"], other["ports"], other_is_reference)]
    if not found:
        return
    by_kind = {}
    for kind, line in found:
        by_kind.setdefault(kind, []).append(line)
    lines = []
    for kind, group in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
        if len(group) > 2:
            lines.append("%s on %d spans, e.g. %s; %s" % (kind, len(group), group[0], group[1]))
        else:
            lines += group
    raise Failure("%d differences (reference = ddapm-test-agent):\n      %s%s" % (
        len(found), "\n      ".join(lines[:60]), "\n      ..." if len(lines) > 60 else ""))


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------


def structural_tests(prefix, traces, agent_normalized):
    EXPECT_NAME[0] = agent_normalized_name if agent_normalized else (lambda name: name)
    py = lambda: {k: v for k, v in traces.items() if k in [s[0] for s in PY_STEPS]}  # noqa: E731
    run_test(prefix + "distributed trace notes -> requests -> calendar is one trace", lambda: assert_distributed(traces["create_dated"]))
    run_test(prefix + "resources and custom spans (@tracer.wrap, tracer.trace)", assert_resources_and_custom_spans, traces)
    run_test(prefix + "custom tags in meta and metrics", assert_custom_tags, traces)
    run_test(prefix + "env and version from DD_ENV/DD_VERSION", lambda: assert_env_version(py()))
    run_test(prefix + "exception route: error span with error.type/message/stack, status 500", lambda: assert_error_span(traces["error"]))
    run_test(prefix + "node dd-trace: service, resource, custom span", assert_node, traces)


def dogwatch_tests(run, reference):
    """The dogwatch tests; with `run` None (dogwatch did not start) each of them fails (CANNOT_RUN)."""
    run = run or {"dw": None, "ids": {}, "traces": {}, "answers": {}, "ports": {}}
    dw, ids, traces = run["dw"], run["ids"], run["traces"]

    def arrived():
        bad = []
        for step, (low, _) in sorted(ids.items()):
            url, status, data = run["answers"].get(step, ("GET /api/ui/apm/traces/%d" % low, None, None))
            n = len(traces.get(step, []))
            want = len(reference["traces"][step]) if reference else None
            if status != 200:
                bad.append("%s: GET %s -> %s %s" % (step, url, status, str(data)[:200]))
            elif want is not None and n != want:
                bad.append("%s: GET %s has %d spans, the reference run has %d" % (step, url, n, want))
        check(not bad, "after %.0f s:\n      %s" % (TRACE_WAIT_S, "\n      ".join(bad)))
    run_test("dogwatch: every request's trace is served by /api/ui/apm/traces/{id} within %.0f s" % TRACE_WAIT_S, arrived)

    complete = {step: traces.get(step, []) for step in ids}
    structural_tests("dogwatch: ", complete, agent_normalized=True)

    def trace_route():
        low, hex128 = ids["create_dated"]
        url, status, data = dw.api("/api/ui/apm/traces/%d" % low)
        check(status == 200, "GET %s -> %s %s" % (url, status, str(data)[:300]))
        check(data.get("trace_id") == str(low), "GET %s: trace_id %r, expected %r" % (url, data.get("trace_id"), str(low)))
        check(data.get("trace_id_128") == hex128, "GET %s: trace_id_128 %r, expected %r (from _dd.p.tid + the low 64 bits)" % (
            url, data.get("trace_id_128"), hex128))
        spans = data.get("spans", [])
        check(data.get("span_count") == len(spans), "span_count %r but %d spans" % (data.get("span_count"), len(spans)))
        root = [s for s in spans if s.get("parent_id") == "0"]
        check(len(root) == 1 and data.get("root_span_id") == root[0]["span_id"], "root_span_id %r, roots %s" % (
            data.get("root_span_id"), [(s["span_id"], s["name"]) for s in root]))
        starts = [int(s["start"]) for s in spans]
        check(starts == sorted(starts), "spans are not sorted by start")
        svc = {s.get("service"): s for s in data.get("services", [])}
        check({"notes", "calendar", "requests", "sqlite"} <= set(svc), "services %s, expected notes, calendar, requests, sqlite" % sorted(svc))
        check(sum(s.get("spans", 0) for s in svc.values()) == len(spans), "services' span counts %s do not add up to %d" % (
            {k: v.get("spans") for k, v in svc.items()}, len(spans)))
        check(data.get("errors") == 0, "errors %r, expected 0" % data.get("errors"))
        check(isinstance(data.get("hosts"), list) and data.get("hosts"), "hosts %r" % data.get("hosts"))
        # The same trace by its 32-hex-digit id
        url2, status2, data2 = dw.api("/api/ui/apm/traces/%s" % hex128)
        check(status2 == 200 and data2.get("trace_id") == str(low) and len(data2.get("spans", [])) == len(spans),
              "GET %s -> %s, trace_id %r, %d spans; expected the trace of %d spans" % (
                  url2, status2, isinstance(data2, dict) and data2.get("trace_id"), len(data2.get("spans", [])) if isinstance(data2, dict) else -1, len(spans)))
        # Span shape of the contract
        s = next(s for s in spans if s["name"] == "flask.request" and s["service"] == "notes")
        for k, t in (("trace_id", str), ("trace_id_128", str), ("span_id", str), ("parent_id", str), ("service", str),
                     ("name", str), ("resource", str), ("type", str), ("host", str), ("env", str), ("version", str),
                     ("start", str), ("start_ms", (int, float)), ("duration", int), ("error", int), ("top_level", bool),
                     ("measured", bool), ("meta", dict), ("metrics", dict)):
            check(isinstance(s.get(k), t), "span field %r is %r (%s), expected %s" % (k, s.get(k), type(s.get(k)).__name__, t))
        check(s["top_level"] is True, "notes entry span top_level %r" % s["top_level"])
        check(abs(s["start_ms"] - int(s["start"]) / 1e6) < 1, "start_ms %r vs start %r" % (s["start_ms"], s["start"]))
        check(s["host"] == "tracer-test-host", "span host %r, expected the agent's hostname 'tracer-test-host'" % s["host"])
        url3, status3, _ = dw.api("/api/ui/apm/traces/%d" % 12345)
        check(status3 == 404, "GET %s (no such trace) -> %s, expected 404" % (url3, status3))
    run_test("dogwatch: trace route: trace_id, trace_id_128, root, services, span shape, 32-hex lookup, 404", trace_route)

    def every_span_128():
        low, hex128 = ids["create_dated"]
        bad = ["%s/%s: %r" % (s["service"], s["name"], s["raw"].get("trace_id_128")) for s in traces["create_dated"]
               if s["raw"].get("trace_id_128") != hex128]
        check(not bad, "expected trace_id_128 %r on every span (the high bits are in _dd.p.tid on the first span of "
                       "each chunk only); %d of %d differ: %s" % (hex128, len(bad), len(traces["create_dated"]), bad[:6]))
    run_test("dogwatch: every span of a 128-bit trace carries trace_id_128", every_span_128)

    def services():
        expect = {"notes": (5, 1), "calendar": (1, 0)}  # entry spans: hits, errors

        def ready():
            url, status, data = dw.api("/api/ui/apm/services", **{"from": "now-15m", "to": "now"})
            check(status == 200, "GET %s -> %s %s" % (url, status, str(data)[:300]))
            rows = {r.get("service"): r for r in data.get("services", []) if r.get("env") in (ENV_NAME, None)}
            got = {k: (rows[k].get("hits"), rows[k].get("errors")) if k in rows else None for k in expect}
            check(all(got[k] is not None and got[k][0] >= expect[k][0] for k in expect),
                  "GET %s: (hits, errors) %s, expected %s; rows %s" % (url, got, expect, [(r.get("service"), r.get("env"), r.get("hits"), r.get("errors")) for r in data.get("services", [])]))
            return url, data, rows
        t = time.monotonic()
        url, data, rows = until("notes and calendar in the services list", ready, STATS_WAIT_S, every=1)
        log("services list complete after %.1f s" % (time.monotonic() - t))
        for k, (hits, errors) in expect.items():
            r = rows[k]
            check((r.get("hits"), r.get("errors")) == (hits, errors), "GET %s: %s hits %r errors %r, expected %d and %d" % (
                url, k, r.get("hits"), r.get("errors"), hits, errors))
            for f in ("env", "type", "error_rate", "avg", "p50", "p95", "p99", "hits_per_s"):
                check(f in r, "GET %s: service row %s has no %r: %s" % (url, k, f, r))
        check(abs(rows["notes"]["error_rate"] - 0.2) < 1e-6, "notes error_rate %r, expected 0.2" % rows["notes"]["error_rate"])
        check(rows["notes"]["type"] == "web", "notes type %r, expected 'web'" % rows["notes"]["type"])
        check(ENV_NAME in data.get("envs", []), "envs %r, expected %r in it" % (data.get("envs"), ENV_NAME))
        hits = [r.get("hits", 0) for r in data.get("services", [])]
        check(hits == sorted(hits, reverse=True), "services not sorted by hits descending: %s" % hits)
        url2, status2, data2 = dw.api("/api/ui/apm/services", **{"from": "now-15m", "to": "now", "env": "no-such-env"})
        check(status2 == 200 and not data2.get("services"), "GET %s -> %s with %r, expected no services" % (url2, status2, str(data2)[:200]))
    run_test("dogwatch: services list: notes and calendar with hits, errors > 0 for notes", services)

    def primary_operation():
        # GET /notes calls notes_helper's long_running_process twice (~100 ms) and another_process
        # once (~20 ms): the service reports its primary operation, not the two mixed (3 hits, ~73 ms).
        span = {"from": "now-15m", "to": "now"}

        def ready():
            url, status, data = dw.api("/api/ui/apm/services", **span)
            check(status == 200, "GET %s -> %s %s" % (url, status, str(data)[:300]))
            rows = {r.get("service"): r for r in data.get("services", [])}
            row = rows.get("notes_helper")
            ops = {o.get("name"): o.get("hits") for o in (row or {}).get("operations", [])}
            check(ops == {"long_running_process": 2, "another_process": 1},
                  "GET %s: notes_helper operations %r, expected long_running_process 2 and another_process 1; row %s" % (url, ops, row))
            return url, row, rows
        url, row, rows = until("notes_helper's two operations in the services list", ready, STATS_WAIT_S, every=1)
        check((row.get("operation"), row.get("hits")) == ("long_running_process", 2),
              "GET %s: notes_helper reports %r with %r hits, expected its primary operation long_running_process with 2" % (
                  url, row.get("operation"), row.get("hits")))
        check(row.get("avg") and row["avg"] >= 95e6, "notes_helper avg %r ns, expected long_running_process's ~100 ms" % row.get("avg"))
        check([o.get("primary") for o in row["operations"]] == [True, False], "primary marks %s" % row["operations"])
        check(rows["notes"].get("operation") == "flask.request", "notes reports %r, expected flask.request" % rows["notes"].get("operation"))
        url, status, data = dw.api("/api/ui/apm/services", operation="another_process", **span)
        other = {r.get("service"): r for r in data.get("services", [])}
        check(set(other) == {"notes_helper"}, "GET %s: services %s, expected only notes_helper" % (url, sorted(other)))
        a = other["notes_helper"]
        check((a.get("operation"), a.get("hits")) == ("another_process", 1) and 15e6 <= (a.get("avg") or 0) < 95e6,
              "GET %s: %r, %r hits, avg %r; expected another_process, 1 hit of ~20 ms" % (url, a.get("operation"), a.get("hits"), a.get("avg")))
        url, status, page = dw.api("/api/ui/apm/services/notes_helper", **span)
        check(status == 200 and page.get("operation") == "long_running_process" and page.get("summary", {}).get("hits") == 2,
              "GET %s -> %s: operation %r, summary hits %r" % (url, status, page.get("operation"), page.get("summary", {}).get("hits")))
        names = {r.get("name") for r in page.get("resources", [])}
        check(names == {"long_running_process"}, "GET %s: resources of operations %s, expected long_running_process only" % (url, names))
        url, status, page = dw.api("/api/ui/apm/services/notes_helper", operation="another_process", **span)
        check(page.get("summary", {}).get("hits") == 1, "GET %s: summary hits %r, expected 1" % (url, page.get("summary", {}).get("hits")))
        # _dd.base_service as the tracer set it on the spans of services other than DD_SERVICE
        for service in ("notes_helper", "sqlite", "requests"):
            u, st, d = dw.api("/api/ui/apm/spans", query="service:%s" % service, **{"from": "now-15m", "to": "now", "limit": 1})
            spans = d.get("spans", []) if isinstance(d, dict) else []
            tagged = spans[0].get("meta", {}).get("_dd.base_service") if spans else None
            check(spans and tagged == "notes", "GET %s: the newest %s span's _dd.base_service is %r, expected 'notes'" % (u, service, tagged))
            if service in rows:
                check(rows[service].get("base_service") == "notes", "services list: %s base_service %r, expected 'notes'" % (
                    service, rows[service].get("base_service")))
        check(rows["notes"].get("base_service") is None, "notes base_service %r, expected none" % rows["notes"].get("base_service"))
    run_test("dogwatch: notes_helper reports its primary operation (per operation, selectable), base services", primary_operation)

    def grouped_search():
        span = {"from": "now-15m", "to": "now", "limit": 1000}
        u, st, d = dw.api("/api/ui/apm/spans", query="service:(notes OR calendar)", **span)
        check(st == 200, "GET %s -> %s %s" % (u, st, str(d)[:300]))
        got = {s.get("service") for s in d.get("spans", [])}
        check(got == {"notes", "calendar"}, "GET %s: services %s, expected notes and calendar" % (u, sorted(got)))
        u, st, d = dw.api("/api/ui/apm/spans", query="-service:notes env:%s" % ENV_NAME, **span)
        got = {s.get("service") for s in d.get("spans", [])}
        check(st == 200 and got and "notes" not in got, "GET %s -> %s: services %s, expected some and no notes" % (u, st, sorted(got)))
        u, st, d = dw.api("/api/ui/apm/spans", query="service:(notes OR", **span)
        check(st == 400 and "query_error" in d, "GET %s (an unclosed group) -> %s %s, expected 400 with query_error" % (u, st, str(d)[:200]))
    run_test("dogwatch: span search `service:(notes OR calendar)` and `-service:notes`", grouped_search)

    def service_detail():
        url, status, data = dw.api("/api/ui/apm/services/notes", **{"from": "now-15m", "to": "now"})
        check(status == 200, "GET %s -> %s %s" % (url, status, str(data)[:300]))
        res = {r.get("resource"): r for r in data.get("resources", [])}
        want = {"POST /notes": (2, 0), "GET /notes": (1, 0), "GET /notes/<int:note_id>": (1, 0), "GET /notes/error": (1, 1)}
        got = {k: (res[k].get("hits"), res[k].get("errors")) if k in res else None for k in want}
        check(got == want, "GET %s: (hits, errors) by resource %s, expected %s" % (url, got, want))
        check(res["GET /notes/error"].get("name") == "flask.request", "resource row name %r" % res["GET /notes/error"].get("name"))
        check(data.get("summary", {}).get("hits") == 5, "summary hits %r, expected 5" % data.get("summary", {}).get("hits"))
        url2, status2, _ = dw.api("/api/ui/apm/services/no-such-service", **{"from": "now-15m", "to": "now"})
        check(status2 == 404, "GET %s -> %s, expected 404" % (url2, status2))
    run_test("dogwatch: service detail: resources of notes with hits and errors; 404 for an unknown service", service_detail)

    def series():
        url, status, data = dw.api("/api/ui/apm/series", service="notes", **{"from": "now-15m", "to": "now"})
        check(status == 200, "GET %s -> %s %s" % (url, status, str(data)[:300]))
        pts = data.get("points", [])
        check(pts and isinstance(data.get("step_ms"), int), "GET %s: no points / step_ms: %s" % (url, str(data)[:300]))
        check(sum(p.get("hits", 0) for p in pts) == 5 and sum(p.get("errors", 0) for p in pts) == 1,
              "GET %s: hits %d errors %d over the points, expected 5 and 1" % (
                  url, sum(p.get("hits", 0) for p in pts), sum(p.get("errors", 0) for p in pts)))
    run_test("dogwatch: series for notes adds up to its hits and errors", series)

    def span_search():
        err_low = ids["error"][0]
        query = "service:notes @http.status_code:>=500"

        def found():
            url, status, data = dw.api("/api/ui/apm/spans", query=query, **{"from": "now-15m", "to": "now", "limit": 100})
            check(status == 200, "GET %s -> %s %s" % (url, status, str(data)[:300]))
            spans = data.get("spans", [])
            hit = [s for s in spans if s.get("trace_id") == str(err_low) and s.get("parent_id") == "0"]
            check(hit, "GET %s: the error root span (trace %d) is not among %d spans: %s" % (
                url, err_low, len(spans), [(s.get("service"), s.get("name"), s.get("resource"), s.get("meta", {}).get("http.status_code")) for s in spans][:8]))
            return url, spans
        url, spans = until("the error span in span search", found, 10)
        wrong = [(s.get("service"), s.get("resource"), s.get("meta", {}).get("http.status_code")) for s in spans
                 if s.get("service") != "notes" or int(s.get("meta", {}).get("http.status_code", "0")) < 500]
        check(not wrong, "GET %s returned spans that do not match %r: %s" % (url, query, wrong[:6]))
        check(len(spans) == 1, "GET %s: %d spans, expected just the error entry span: %s" % (
            url, len(spans), [(s.get("name"), s.get("resource")) for s in spans]))
        for q, want in (("status:error service:notes", lambda s: s.get("error") == 1),
                        ('resource_name:"GET /notes/error"', lambda s: s.get("resource") == "GET /notes/error"),
                        ("operation_name:notes.explode", lambda s: s.get("name") == "notes.explode"),
                        ("@customer.tier:gold env:%s" % ENV_NAME, lambda s: s.get("meta", {}).get("customer.tier") == "gold"),
                        ("trace_id:%d" % err_low, lambda s: s.get("trace_id") == str(err_low))):
            u, st, d = dw.api("/api/ui/apm/spans", query=q, **{"from": "now-15m", "to": "now", "limit": 1000})
            check(st == 200 and d.get("spans"), "GET %s -> %s, %s" % (u, st, str(d)[:300]))
            bad = [(s.get("service"), s.get("name"), s.get("resource")) for s in d["spans"] if not want(s)]
            check(not bad, "GET %s returned non-matching spans: %s" % (u, bad[:6]))
        u, st, d = dw.api("/api/ui/apm/spans", query="service:notes", entry=1, **{"from": "now-15m", "to": "now", "limit": 1000})
        check(st == 200, "GET %s -> %s %s" % (u, st, str(d)[:300]))
        got = sorted(s.get("resource") for s in d.get("spans", []))
        check(got == sorted(["POST /notes", "POST /notes", "GET /notes", "GET /notes/<int:note_id>", "GET /notes/error"]),
              "GET %s: entry spans %s, expected the 5 flask.request spans" % (u, got))
        u, st, d = dw.api("/api/ui/apm/spans", query="service:notes @http.status_code:>=", **{"from": "now-15m", "to": "now"})
        check(st == 400 and isinstance(d, dict) and "query_error" in d, "GET %s (a broken query) -> %s %s, expected 400 with query_error" % (u, st, str(d)[:200]))
    run_test("dogwatch: span search `service:notes @http.status_code:>=500` finds the error span (and other queries)", span_search)

    def paging():
        u, st, d = dw.api("/api/ui/apm/spans", query="service:notes", **{"from": "now-15m", "to": "now", "limit": 3})
        check(st == 200 and len(d.get("spans", [])) == 3 and d.get("next_cursor"), "GET %s -> %s, %d spans, next_cursor %r" % (
            u, st, len(d.get("spans", [])) if isinstance(d, dict) else -1, isinstance(d, dict) and d.get("next_cursor")))
        seen = [s["span_id"] for s in d["spans"]]
        cursor = d["next_cursor"]
        for _ in range(100):
            if not cursor:
                break
            u, st, d = dw.api("/api/ui/apm/spans", query="service:notes", cursor=cursor, **{"from": "now-15m", "to": "now", "limit": 3})
            check(st == 200, "GET %s -> %s %s" % (u, st, str(d)[:200]))
            seen += [s["span_id"] for s in d.get("spans", [])]
            cursor = d.get("next_cursor")
        want = sum(1 for step in dict((s[0], 1) for s in PY_STEPS) for s in traces.get(step, []) if s["service"] == "notes")
        check(len(seen) == len(set(seen)) == want, "paging service:notes by 3 gave %d spans (%d distinct), expected %d" % (
            len(seen), len(set(seen)), want))
    run_test("dogwatch: span list pages with next_cursor, no span twice", paging)

    def events():
        params = {"filter[query]": "service:notes @http.status_code:>=500", "filter[from]": "now-15m", "filter[to]": "now", "page[limit]": 10}
        url, status, data = dw.api("/api/v2/spans/events", **params)
        check(status == 200, "GET %s -> %s %s" % (url, status, str(data)[:300]))
        items = data.get("data", [])
        check(items, "GET %s: no data: %s" % (url, str(data)[:300]))
        root = next(s for s in traces["error"] if s["parent_id"] == 0)
        item = [i for i in items if i.get("id") == str(root["span_id"])]
        check(item, "GET %s: span %d not in data ids %s" % (url, root["span_id"], [i.get("id") for i in items]))
        a = item[0].get("attributes", {})
        check(item[0].get("type") == "spans", "type %r" % item[0].get("type"))
        # Datadog's SpansAttributes keep the operation name among the span's own attributes
        # (attributes.attributes); the contract summary lists it next to service: accept either.
        op = a.get("operation_name", (a.get("attributes") or {}).get("operation_name"))
        check((a.get("service"), a.get("resource_name"), op) == ("notes", "GET /notes/error", "flask.request"),
              "GET %s: service/resource_name/operation_name %r, expected ('notes', 'GET /notes/error', 'flask.request'); attributes: %s" % (
                  url, (a.get("service"), a.get("resource_name"), op), str(a)[:400]))
        check(a.get("trace_id") in (None, str(root["trace_id"])) and a.get("span_id") in (None, str(root["span_id"])),
              "attributes trace_id/span_id %r/%r, expected %d/%d" % (a.get("trace_id"), a.get("span_id"), root["trace_id"], root["span_id"]))
        check(isinstance(data.get("meta", {}).get("page", {}), dict), "no meta.page: %s" % str(data)[:200])
        url2, status2, data2 = dw.api("/api/v2/spans/events", **{"filter[query]": "service:notes", "filter[from]": "now-15m", "page[limit]": 2})
        check(status2 == 200 and len(data2.get("data", [])) == 2, "GET %s -> %s %s" % (url2, status2, str(data2)[:200]))
        after = data2.get("meta", {}).get("page", {}).get("after")
        check(after and data2.get("links", {}).get("next"), "GET %s: page[limit]=2 of more spans has no meta.page.after / links.next: %s" % (url2, str(data2)[:300]))
        url3, status3, data3 = dw.api("/api/v2/spans/events", **{"filter[query]": "service:notes", "filter[from]": "now-15m", "page[limit]": 2, "page[cursor]": after})
        check(status3 == 200 and data3.get("data") and not ({i["id"] for i in data3["data"]} & {i["id"] for i in data2["data"]}),
              "GET %s -> %s: the next page repeats or is empty: %s" % (url3, status3, str(data3)[:300]))
    run_test("dogwatch: /api/v2/spans/events answers in Datadog's shape and pages", events)

    def oracle(steps):
        check_same(steps, reference, {"traces": traces, "ports": run["ports"]}, "dogwatch")
    saved = CANNOT_RUN[0]
    if not reference and not saved:
        CANNOT_RUN[0] = "no reference run to compare with (ddapm-test-agent failed; see above)"
    run_test("oracle: Python traces in dogwatch == ddapm-test-agent's decoding (5 requests)", oracle, [s[0] for s in PY_STEPS])
    run_test("oracle: Node traces in dogwatch == ddapm-test-agent's decoding (2 requests)", oracle, [s[0] for s in NODE_STEPS])
    CANNOT_RUN[0] = saved


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dogwatch", default=os.environ.get("DOGWATCH_BIN", os.path.join(REPO, "target", "debug", "dogwatch")),
                    help="the dogwatch binary (default $DOGWATCH_BIN, else target/debug/dogwatch)")
    ap.add_argument("--oracle-only", action="store_true", help="only the reference run against ddapm-test-agent (no dogwatch)")
    ap.add_argument("--self-check", action="store_true",
                    help="also run the reference scenario a second time and diff the two runs with the oracle's "
                         "comparison: proves its ignore lists cover everything that differs between two runs")
    ap.add_argument("-v", "--verbose", action="store_true", help="log progress")
    ap.add_argument("--keep-logs", action="store_true", help="keep the children's logs even when everything passed")
    args = ap.parse_args()
    set_verbose(args.verbose)
    missing = [tool for tool in ("ddtrace-run", "ddapm-test-agent") if not os.path.exists(os.path.join(ENV_BIN, tool))]
    if missing:
        print("FAIL setup: no %s next to %s: run scripts/install-tracers.sh, then this with target/tracer-env/bin/python" % (
            " or ".join(missing), sys.executable))
        print("tracers: 0 passed, 1 failed")
        return 1
    logdir = tempfile.mkdtemp(prefix="dogwatch-tracer-logs-")
    started = time.monotonic()
    try:
        _, reference = run_phase("reference run", lambda: run_reference(logdir),
                                 "reference run: ddapm-test-agent received every request's trace")
        if reference:
            structural_tests("reference: ", reference["traces"], agent_normalized=False)
        if reference and args.self_check:
            def self_check():
                check_same(list(reference["traces"]), reference, run_reference(logdir), "the second reference run", other_is_reference=True)
            run_test("oracle self-check: two ddapm-test-agent runs compare equal", self_check)

        if not args.oracle_only:
            _, run = run_phase("dogwatch run", lambda: run_dogwatch(os.path.abspath(args.dogwatch), logdir, reference),
                               "dogwatch run: dogwatch up started, the apps sent to its receiver",
                               blocks="not run: the dogwatch run did not start (see above)")
            try:
                dogwatch_tests(run, reference)
            finally:
                CANNOT_RUN[0] = None
                if run:
                    run["apps"].stop()
                    if any_failed():
                        print("dogwatch up's log (last lines):\n" + run["dw"].child.output(30), flush=True)
                    run["dw"].stop()
    except KeyboardInterrupt:
        RESULTS.append(("interrupted", False))
        print("FAIL interrupted", flush=True)
    finally:
        stop_all()
    return finish("tracers", started, logdir, args.keep_logs)


if __name__ == "__main__":
    sys.exit(main())
