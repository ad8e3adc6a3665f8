#!/usr/bin/env python3
"""dogwatch's real-client DogStatsD tests: Datadog's Python client and hot-shots, unchanged,
against a real `dogwatch up`.

Run with the tracer virtualenv's python (scripts/install-tracers.sh makes it):

    scripts/install-tracers.sh
    target/tracer-env/bin/python tests/statsd/run.py [--dogwatch PATH] [-v]

What happens:

1. `dogwatch up` on free ports with a temporary data directory (tests/common/dogwatch_up.py), its
   DogStatsD listener on a free UDP port (DD_DOGSTATSD_PORT) and the agent flushing every second
   (DD_DOGSTATSD_FLUSH_INTERVAL_MS=1000; buckets stay 10 s wide and are flushed once closed).
2. Once the wall clock is 1 to 6 s into a 10 s bucket, everything is sent within that one bucket:
   the `datadog` package's DogStatsd (counts, decrement, gauge, histogram, timing, timed,
   distribution, set, event, service check; constant and per-call tags; `host:` tags;
   sample_rate), hot-shots from Node (tests/statsd/node/send.js), and a few raw datagrams (a
   sampled count, a malformed line between good ones, a protocol 1.1 multi-value line).
   Every metric name starts with a prefix unique to the run.
3. The server's API (docs/api.md, "Metrics, events and service checks") is polled, every wait
   bounded, and asserted on; `dogwatch status` must show the DogStatsD counters.

Every test prints `PASS <name>` or `FAIL <name>: <reason>`; the last line is
`statsd: N passed, M failed`, and the exit status is non-zero when anything failed. Everything
listens on 127.0.0.1 and every child process is killed at the end.

Environment: DOGWATCH_BIN (the binary, default target/debug/dogwatch), STATSD_DATA_WAIT_S (how
long the bucket's data may take to show up, default 45), STATSD_SETTLE_S (how long each
assertion's query is retried once data is there, default 10).
"""

import argparse
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
from dogwatch_up import (  # noqa: E402  (tests/common: what the real-client runners share)
    CANNOT_RUN, REPO, RESULTS, Dogwatch, Failure, any_failed, check, clean_env, finish, log, run_phase, run_test,
    set_verbose, stop_all, until)

DATA_WAIT_S = float(os.environ.get("STATSD_DATA_WAIT_S", "45"))
SETTLE_S = float(os.environ.get("STATSD_SETTLE_S", "10"))
AGENT_HOST = "statsd-test-host"        # DD_HOSTNAME: the host of samples without a host: tag
HOST_A, HOST_B = "statsd-host-a", "statsd-host-b"
NODE_HOST = "statsd-node-host"         # hot-shots' event and check name this host
PY_TAGS = ["suite:statsd", "client:python"]
NODE_TAGS = ["suite:statsd", "client:node"]
BUCKET_S = 10
DW = [None]  # the running dogwatch up, once started (stopped at the end whatever happened)

# ---------------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------------


def udp_rcvbuf_errors():
    """The kernel's UDP receive-buffer drops so far (all sockets), or None off Linux."""
    try:
        with open("/proc/net/snmp") as f:
            rows = [line.split() for line in f if line.startswith("Udp:")]
        head, vals = rows[0], rows[1]
        return int(vals[head.index("RcvbufErrors")])
    except (OSError, IndexError, ValueError):
        return None


def udp_bound(port):
    """True when something has a UDP socket bound to `port` (from /proc/net/udp and udp6); None
    off Linux."""
    found = None
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(path) as f:
                next(f)
                found = bool(found) or any(int(line.split()[1].rsplit(":", 1)[1], 16) == port for line in f)
        except (OSError, StopIteration, IndexError, ValueError):
            pass
    return found


def wait_for_window():
    """Sleeps until the wall clock is 1 to 6 s into a 10 s bucket; returns the bucket's start."""
    now = time.time()
    off = now % BUCKET_S
    if off < 1.0:
        time.sleep(1.0 - off)
    elif off > 6.0:
        time.sleep(BUCKET_S - off + 1.0)
    return int(time.time()) // BUCKET_S * BUCKET_S


def send_python(port, p):
    """The datadog package's DogStatsd, as an app uses it. Buffering is on (several messages per
    datagram, as the client packs them); every 40 calls it flushes and pauses 2 ms so a burst
    never outruns the receiver's socket buffer."""
    from datadog import DogStatsd
    import datadog.dogstatsd.base as dogstatsd_base

    c = DogStatsd(host="127.0.0.1", port=port, constant_tags=list(PY_TAGS), disable_buffering=False)
    calls = [0]

    def pace():
        calls[0] += 1
        if calls[0] % 40 == 0:
            c.flush()
            time.sleep(0.002)

    # counts: 30 env:prod + 20 env:staging = 50 increments
    for i in range(50):
        c.increment(p + "py.count", tags=["env:prod" if i % 5 < 3 else "env:staging"])
        pace()
    # increment by 2 five times, decrement three times: 7
    for _ in range(5):
        c.increment(p + "py.dec", 2)
        pace()
    for _ in range(3):
        c.decrement(p + "py.dec")
        pace()
    # sample_rate=0.5: the client keeps a sample when random() <= rate; its random() is pinned to 0
    # so all 10 go out (with |@0.5 on the wire) and the agent must count each as 2: 20.
    real_random = dogstatsd_base.random
    dogstatsd_base.random = lambda: 0.0
    try:
        for _ in range(10):
            c.increment(p + "py.sampled", sample_rate=0.5)
            pace()
    finally:
        dogstatsd_base.random = real_random
    # gauge: the last value in the bucket wins
    for v in (5, 17, 42):
        c.gauge(p + "py.gauge", v, tags=["env:prod"])
        pace()
    # histogram and timing: 1..100 in a fixed shuffled order
    values = list(range(1, 101))
    random.Random(7).shuffle(values)
    for v in values:
        c.histogram(p + "py.hist", v, tags=["env:prod"])
        pace()
        c.timing(p + "py.timing", v)
        pace()

    @c.timed(p + "py.timed")
    def work():
        time.sleep(0.001)

    work()
    work()
    with c.timed(p + "py.timed"):
        time.sleep(0.001)
    # distribution: host a gets 1..1000, host b 1001..2000 (the host: tag sets the sample's host)
    for v in range(1, 1001):
        c.distribution(p + "py.dist", v, tags=["env:prod", "host:" + HOST_A])
        pace()
        c.distribution(p + "py.dist", v + 1000, tags=["env:prod", "host:" + HOST_B])
        pace()
    # set: 7 unique values among 15
    for v in ("u1", "u2", "u3", "u1", "u4", "u5", "u2", "u6", "u7", "u7", "u1", "u3", "u5", "u6", "u4"):
        c.set(p + "py.set", v)
        pace()
    c.event(p + "py deploy", "v2 is out\nsecond line", alert_type="error", tags=["deploy:v2"],
            aggregation_key=p + "agg-py", source_type_name="my_apps")
    c.service_check(p + "py.can_connect", DogStatsd.CRITICAL, tags=["db:main"], message="timeout after 5 s")
    c.flush()
    c.disable_buffering = True  # stops the client's flush thread
    c.close_socket()
    return calls[0]


def send_raw(port, p):
    """Datagrams written by hand: a sampled count (10 x `|@0.5` = 20), a gauge with a sample rate
    (ignored), a malformed line between two good ones, and a protocol 1.1 multi-value histogram."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _ in range(10):
            s.sendto(("%sraw.sampled:1|c|@0.5|#suite:statsd,client:raw" % p).encode(), ("127.0.0.1", port))
        s.sendto(("%sraw.gauge_sampled:7|g|@0.5" % p).encode(), ("127.0.0.1", port))
        s.sendto(("%sraw.good:1|c\nthis is not a metric line\n%sraw.good:2|c" % (p, p)).encode(), ("127.0.0.1", port))
        s.sendto(("%sraw.multi:1:2:3:4|h" % p).encode(), ("127.0.0.1", port))
    finally:
        s.close()


def send_node(port, p, timeout=25):
    node_dir = os.path.join(HERE, "node")
    try:
        r = subprocess.run(["node", "send.js"], cwd=node_dir, env=clean_env(STATSD_PORT=port, PREFIX=p),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure("node send.js (hot-shots) did not finish in %d s" % timeout)
    out = r.stdout.decode("utf-8", "replace").strip()
    check(r.returncode == 0 and out.startswith("sent "), "node send.js (hot-shots) exited %d: %s" % (r.returncode, out[-800:]))
    return int(out.split()[1])


def send_everything(dw, attempts=3):
    """Sends the whole scenario within one 10 s bucket; returns (prefix, bucket start, summary)."""
    for attempt in range(attempts):
        p = "dwst%s." % uuid.uuid4().hex[:8]
        bucket = wait_for_window()
        drops_before = udp_rcvbuf_errors()
        t = time.time()
        py = send_python(dw.dogstatsd_port, p)
        send_raw(dw.dogstatsd_port, p)
        node = send_node(dw.dogstatsd_port, p)
        end = time.time()
        drops = None if drops_before is None else udp_rcvbuf_errors() - drops_before
        summary = "prefix %s, bucket %d, sent from %.1f s to %.1f s into it (python %d calls, hot-shots %d messages)%s" % (
            p, bucket, t - bucket, end - bucket, py, node,
            "" if drops is None else ", kernel UDP receive-buffer drops meanwhile: %d" % drops)
        log(summary)
        if end < bucket + BUCKET_S - 0.2:
            return p, bucket, summary, drops
        print("  (attempt %d: the sends crossed into the next bucket, %s; again with a new prefix)" % (attempt + 1, summary), flush=True)
    raise Failure("the sends never fit within one 10 s bucket (%d attempts): the machine is too slow" % attempts)


# ---------------------------------------------------------------------------------------------
# Reading back
# ---------------------------------------------------------------------------------------------


class Reader:
    def __init__(self, dw, bucket):
        self.dw = dw
        self.bucket = bucket
        self.settle = SETTLE_S  # 0 once the bucket's data never came: one try per query
        self.frm = bucket - 60
        self.to = bucket + 60

    def query(self, q):
        url, status, data = self.dw.api("/api/v1/query", query=q, **{"from": self.frm, "to": self.to})
        check(status == 200 and isinstance(data, dict) and data.get("status") == "ok",
              "GET %s -> %s %s" % (url, status, str(data)[:400]))
        check(isinstance(data.get("series"), list), "GET %s: no series list: %s" % (url, str(data)[:400]))
        return url, data["series"]

    def expect(self, q, judge, timeout=None):
        """Polls the query until judge(series) returns None (fine), at most `timeout` s; fails with
        the judge's last complaint, the query and what it answered."""
        last = ["no answer"]

        def once():
            url, series = self.query(q)
            complaint = judge(series)
            if complaint is None:
                log("%s -> %s" % (q, brief(series)))
                return True
            last[0] = "%s\n      query %s -> %s" % (complaint, url, brief(series))
            return False
        try:
            until(q, once, self.settle if timeout is None else timeout, every=0.5)
        except Failure as e:
            if last[0] != "no answer":
                raise Failure("%s: %s" % (q, last[0]))
            raise e


def brief(series):
    return [{"tag_set": s.get("tag_set"), "pointlist": [pt for pt in s.get("pointlist", []) if pt[1] is not None][:8]}
            for s in series][:6] or "no series"


def values(series):
    return [pt[1] for s in series for pt in s.get("pointlist", []) if pt[1] is not None]


def close(a, b, tol=1e-6):
    return a is not None and b is not None and abs(a - b) <= tol * max(1.0, abs(b))


def total_is(want):
    """Judge: the non-null points of all series add up to `want` (as_count sums)."""
    def judge(series):
        if not series:
            return "no series"
        got = sum(values(series))
        return None if close(got, want) else "the points add up to %r, expected %r" % (got, want)
    return judge


def only_value(want, accept=None, rel=None):
    """Judge: exactly one series with exactly one non-null point, equal to `want` (or within `rel`
    of it, or one of `accept`)."""
    def judge(series):
        if len(series) != 1:
            return "%d series, expected 1" % len(series)
        vs = values(series)
        if len(vs) != 1:
            return "%d points %s, expected the one point of the bucket" % (len(vs), vs[:10])
        v = vs[0]
        if accept is not None:
            ok = any(close(v, a) for a in accept)
            want_s = " or ".join(repr(a) for a in accept)
        elif rel is not None:
            ok = abs(v - want) <= rel * abs(want)
            want_s = "%r within %g %%" % (want, rel * 100)
        else:
            ok = close(v, want)
            want_s = repr(want)
        return None if ok else "value %r, expected %s" % (v, want_s)
    return judge


def groups_are(want, rel=None, as_sum=False):
    """Judge: one series per tag_set in `want` ({"host:a": value}), each with the expected value
    (the sum of its points with as_sum, else its single point)."""
    def judge(series):
        got = {}
        for s in series:
            key = ",".join(s.get("tag_set") or [])
            vs = [pt[1] for pt in s.get("pointlist", []) if pt[1] is not None]
            got[key] = sum(vs) if as_sum else (vs[0] if len(vs) == 1 else vs)
        if sorted(got) != sorted(want):
            return "tag_sets %s, expected %s" % (sorted(got), sorted(want))
        for k, w in want.items():
            v = got[k]
            if isinstance(v, list):
                return "%s: points %s, expected one" % (k, v)
            ok = abs(v - w) <= rel * abs(w) if rel else close(v, w)
            if not ok:
                return "%s: %r, expected %r%s" % (k, v, w, " within %g %%" % (rel * 100) if rel else "")
        return None
    return judge


def no_series(series):
    return None if not series else "expected no series"


def point_at(bucket_ms, want):
    """Judge: the point at the bucket's timestamp equals `want` (the sum over series)."""
    def judge(series):
        if not series:
            return "no series"
        at = [pt[1] for s in series for pt in s.get("pointlist", []) if pt[0] == bucket_ms and pt[1] is not None]
        if not at:
            return "no point at %d (the bucket's start)" % bucket_ms
        return None if close(sum(at), want) else "value at %d is %r, expected %r" % (bucket_ms, sum(at), want)
    return judge


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------


def histogram_tests(r, name, what):
    run_test("%s: .max = 100" % what, r.expect, "max:%s.max{*}" % name, only_value(100))
    run_test("%s: .avg = 50.5" % what, r.expect, "avg:%s.avg{*}" % name, only_value(50.5))
    run_test("%s: .median = 50 or 51" % what, r.expect, "avg:%s.median{*}" % name, only_value(None, accept=(50, 51)))
    run_test("%s: .95percentile = 95 or 96" % what, r.expect, "avg:%s.95percentile{*}" % name, only_value(None, accept=(95, 96)))
    run_test("%s: .count as_count = 100" % what, r.expect, "sum:%s.count{*}.as_count()" % name, total_is(100))


def metric_tests(dw, p, r):
    bucket = r.bucket
    b_ms = bucket * 1000

    # --- counts -------------------------------------------------------------------------------
    run_test("python count: 50 increments in one bucket -> sum:{*}.as_count() = 50",
             r.expect, "sum:%spy.count{*}.as_count()" % p, total_is(50))
    run_test("python count: without as_count the bucket's point is the rate 5.0/s",
             r.expect, "sum:%spy.count{*}" % p, point_at(b_ms, 5.0))
    run_test("python count: increment(2) x5, decrement() x3 -> 7", r.expect, "sum:%spy.dec{*}.as_count()" % p, total_is(7))
    run_test("python count: sample_rate=0.5 (client sampling pinned to keep all), 10 sent -> 20",
             r.expect, "sum:%spy.sampled{*}.as_count()" % p, total_is(20))
    run_test("raw datagrams: `m:1|c|@0.5` x10 -> 20", r.expect, "sum:%sraw.sampled{*}.as_count()" % p, total_is(20))
    run_test("raw datagram: a gauge's sample rate is ignored (`7|g|@0.5` -> 7)",
             r.expect, "max:%sraw.gauge_sampled{*}" % p, only_value(7))
    run_test("raw datagram: `good:1|c\\nbad line\\ngood:2|c` keeps both good lines -> 3",
             r.expect, "sum:%sraw.good{*}.as_count()" % p, total_is(3))
    run_test("raw datagram: protocol 1.1 multi-value `1:2:3:4|h` -> .count 4, .max 4",
             lambda: (r.expect("sum:%sraw.multi.count{*}.as_count()" % p, total_is(4)),
                      r.expect("max:%sraw.multi.max{*}" % p, only_value(4))))

    # --- gauge, set ---------------------------------------------------------------------------
    run_test("python gauge: 5, 17, 42 in one bucket -> 42 (last wins)", r.expect, "max:%spy.gauge{*}" % p, only_value(42))
    run_test("python set: 7 unique values among 15 -> 7", r.expect, "max:%spy.set{*}" % p, only_value(7))

    # --- histogram, timing --------------------------------------------------------------------
    histogram_tests(r, p + "py.hist", "python histogram 1..100")
    histogram_tests(r, p + "py.timing", "python timing (ms) 1..100")
    run_test("python timed (decorator x2, context manager x1) -> .count as_count = 3",
             r.expect, "sum:%spy.timed.count{*}.as_count()" % p, total_is(3))

    # --- distribution across two hosts --------------------------------------------------------
    d = p + "py.dist"
    run_test("python distribution: p99:{*} over hosts a (1..1000) and b (1001..2000) within 1 % of 1980",
             r.expect, "p99:%s{*}" % d, only_value(1980, rel=0.01))
    run_test("python distribution: p50:{*} by {host} -> host:a ~500.5 and host:b ~1500.5 (1 %)",
             r.expect, "p50:%s{*} by {host}" % d, groups_are({"host:" + HOST_A: 500.5, "host:" + HOST_B: 1500.5}, rel=0.01))
    run_test("python distribution: count:{*} = 2000", r.expect, "count:%s{*}" % d, only_value(2000))
    run_test("python distribution: avg:{*} = 1000.5", r.expect, "avg:%s{*}" % d, only_value(1000.5))
    run_test("python distribution: max:{*} = 2000, min:{*} = 1, sum:{*} = 2001000",
             lambda: (r.expect("max:%s{*}" % d, only_value(2000)), r.expect("min:%s{*}" % d, only_value(1)),
                      r.expect("sum:%s{*}" % d, only_value(2001000))))
    run_test("python distribution: max:{host:b} = 2000, count by {host} = 1000 each",
             lambda: (r.expect("max:%s{host:%s}" % (d, HOST_B), only_value(2000)),
                      r.expect("count:%s{*} by {host}" % d, groups_are({"host:" + HOST_A: 1000, "host:" + HOST_B: 1000}))))

    # --- tags ---------------------------------------------------------------------------------
    c = p + "py.count"
    run_test("tags: constant tags on every sample: sum:{suite:statsd,client:python}.as_count() = 50",
             r.expect, "sum:%s{suite:statsd,client:python}.as_count()" % c, total_is(50))
    run_test("tags: by {env} splits 30 / 20", r.expect, "sum:%s{*} by {env}.as_count()" % c,
             groups_are({"env:prod": 30, "env:staging": 20}, as_sum=True))
    run_test("tags: {!env:staging} excludes -> 30", r.expect, "sum:%s{!env:staging}.as_count()" % c, total_is(30))
    run_test("tags: wildcard scope {env:stag*} -> 20", r.expect, "sum:%s{env:stag*}.as_count()" % c, total_is(20))
    run_test("tags: a tag no sample has ({client:node}) -> no series", r.expect, "sum:%s{client:node}.as_count()" % c, no_series)
    run_test("tags: samples without host: get the agent's hostname ({host:%s} -> 50)" % AGENT_HOST,
             r.expect, "sum:%s{host:%s}.as_count()" % (c, AGENT_HOST), total_is(50))

    # --- hot-shots ----------------------------------------------------------------------------
    n = p + "node."
    run_test("hot-shots count: 40 x increment + increment(10) -> as_count 50 (globalTags present)",
             r.expect, "sum:%scount{suite:statsd,client:node,env:prod}.as_count()" % n, total_is(50))
    run_test("hot-shots count: the bucket's rate is 5.0/s", r.expect, "sum:%scount{*}" % n, point_at(b_ms, 5.0))
    run_test("hot-shots count: increment(5) x3, decrement(2) -> 13", r.expect, "sum:%sdec{*}.as_count()" % n, total_is(13))
    run_test("hot-shots gauge: 3, 9, 27 -> 27", r.expect, "max:%sgauge{*}" % n, only_value(27))
    run_test("hot-shots set: 4 unique values among 6 -> 4", r.expect, "max:%sset{*}" % n, only_value(4))
    histogram_tests(r, n + "hist", "hot-shots histogram 1..100")
    histogram_tests(r, n + "timing", "hot-shots timing (ms) 1..100")
    run_test("hot-shots distribution 1..1000: p50 ~500.5 (1 %), count 1000, max 1000, avg 500.5",
             lambda: (r.expect("p50:%sdist{*}" % n, only_value(500.5, rel=0.01)),
                      r.expect("count:%sdist{*}" % n, only_value(1000)),
                      r.expect("max:%sdist{client:node}" % n, only_value(1000)),
                      r.expect("avg:%sdist{*}" % n, only_value(500.5))))

    # --- query errors -------------------------------------------------------------------------
    def query_errors():
        q = "avg:%spy.gauge{" % p
        url, status, data = dw.api("/api/v1/query", query=q, **{"from": r.frm, "to": r.to})
        check(status == 400 and isinstance(data, dict), "GET %s -> %s %s, expected 400" % (url, status, str(data)[:300]))
        qe = data.get("query_error") or {}
        check(data.get("status") == "error" and data.get("errors"), "GET %s: status %r errors %r, expected \"error\" and a message" % (
            url, data.get("status"), data.get("errors")))
        check(qe.get("parameter") == "query" and isinstance(qe.get("position"), int) and 0 <= qe["position"] <= len(q),
              "GET %s: query_error %r, expected parameter \"query\" and a position within the %d characters" % (url, qe, len(q)))
        url, status, data = dw.api("/api/v1/query", **{"from": r.frm, "to": r.to})
        check(status == 400, "GET %s (no query) -> %s, expected 400" % (url, status))
        url, status, data = dw.api("/api/v1/query", query="avg:%spy.gauge{*}" % p, **{"from": r.to, "to": r.frm})
        check(status == 400, "GET %s (from after to) -> %s, expected 400" % (url, status))
        url, status, data = dw.api("/api/v1/query", query="avg:%sno.such.metric{*}" % p, **{"from": r.frm, "to": r.to})
        check(status == 200 and isinstance(data, dict) and data.get("series") == [],
              "GET %s (no such metric) -> %s %s, expected 200 with no series" % (url, status, str(data)[:200]))
    run_test("query errors: `avg:m{` -> 400 with query_error (parameter, position); no query, from > to -> 400; unknown metric -> []",
             query_errors)

    # --- metric lists and tags ----------------------------------------------------------------
    def metric_list():
        want = {p + "py.dist": "distribution", p + "py.count": "rate", p + "py.gauge": "gauge", p + "py.set": "gauge",
                p + "py.hist.max": "gauge", p + "py.hist.95percentile": "gauge", p + "py.hist.count": "rate",
                n + "dist": "distribution", n + "count": "rate", n + "gauge": "gauge"}

        def listed():
            url, status, data = dw.api("/api/ui/metrics", q=p.upper(), limit=1000)
            check(status == 200 and isinstance(data, dict), "GET %s -> %s %s" % (url, status, str(data)[:300]))
            got = {m.get("name"): m for m in data.get("metrics", [])}
            missing = sorted(set(want) - set(got))
            check(not missing, "GET %s: missing %s; listed %s" % (url, missing, sorted(got)))
            wrong = {k: got[k].get("type") for k, t in want.items() if got[k].get("type") != t}
            check(not wrong, "GET %s: types %s, expected %s" % (url, wrong, {k: want[k] for k in wrong}))
            stray = [k for k in got if not k.startswith(p)]
            check(not stray, "GET %s: q=%s listed other metrics %s" % (url, p.upper(), stray))
            names = [m.get("name") for m in data.get("metrics", [])]
            check(names == sorted(names), "GET %s: not sorted by name: %s" % (url, names))
            check(got[p + "py.dist"].get("hosts") == 2, "GET %s: %spy.dist hosts %r, expected 2" % (url, p, got[p + "py.dist"].get("hosts")))
            return True
        until("/api/ui/metrics to list the run's metrics", listed, r.settle, every=0.5)
    run_test("GET /api/ui/metrics?q=<prefix> (case-insensitive) lists the metrics with type distribution/rate/gauge", metric_list)

    def all_tags():
        for metric, want in ((p + "py.count", {"env:prod", "env:staging", "suite:statsd", "client:python", "host:" + AGENT_HOST}),
                             (p + "py.dist", {"env:prod", "suite:statsd", "client:python", "host:" + HOST_A, "host:" + HOST_B}),
                             (n + "count", {"env:prod", "suite:statsd", "client:node", "host:" + AGENT_HOST})):
            url, status, data = dw.api("/api/v2/metrics/%s/all-tags" % metric)
            check(status == 200 and isinstance(data, dict), "GET %s -> %s %s" % (url, status, str(data)[:300]))
            dd = data.get("data") or {}
            tags = (dd.get("attributes") or {}).get("tags") or []
            check(dd.get("type") == "metrics" and dd.get("id") == metric, "GET %s: data.type/id %r/%r" % (url, dd.get("type"), dd.get("id")))
            check(want <= set(tags), "GET %s: tags %s lack %s" % (url, tags, sorted(want - set(tags))))
            check(tags == sorted(tags), "GET %s: tags not sorted: %s" % (url, tags))
        url, status, _ = dw.api("/api/v2/metrics/%sno.such.metric/all-tags" % p)
        check(status == 404, "GET %s -> %s, expected 404" % (url, status))
    run_test("GET /api/v2/metrics/<m>/all-tags has the constant, per-call and host tags; unknown -> 404", all_tags)

    def metric_detail():
        url, status, data = dw.api("/api/ui/metrics/%spy.dist" % p)
        check(status == 200 and isinstance(data, dict), "GET %s -> %s %s" % (url, status, str(data)[:300]))
        tags = data.get("tags") or {}
        check(data.get("type") == "distribution", "GET %s: type %r" % (url, data.get("type")))
        check(tags.get("host") == [HOST_A, HOST_B] and tags.get("env") == ["prod"] and tags.get("client") == ["python"],
              "GET %s: tags %s, expected host [%s, %s], env [prod], client [python]" % (url, tags, HOST_A, HOST_B))
    run_test("GET /api/ui/metrics/<m>: tag keys and values for the pickers", metric_detail)


def event_tests(dw, p, bucket, wait):
    start, end = bucket - 60, bucket + 120
    want = {
        "python": {"title": p + "py deploy", "text": "v2 is out\nsecond line", "alert_type": "error", "host": AGENT_HOST,
                   "priority": "normal", "aggregation_key": p + "agg-py", "source_type_name": "my_apps",
                   "tags": {"deploy:v2", "suite:statsd", "client:python"}},
        "hot-shots": {"title": p + "node deploy", "text": "rolled out from hot-shots", "alert_type": "warning",
                      "host": NODE_HOST, "priority": "low", "aggregation_key": p + "agg",
                      "tags": {"deploy:node", "suite:statsd", "client:node"}},
    }

    def find(client, **params):
        url, status, data = dw.api("/api/v1/events", start=start, end=end, **params)
        check(status == 200 and isinstance(data, dict), "GET %s -> %s %s" % (url, status, str(data)[:300]))
        hits = [e for e in data.get("events", []) if e.get("title") == want[client]["title"]]
        return url, hits, data.get("events", [])

    def one_event(client):
        def arrived():
            url, hits, events = find(client)
            check(hits, "GET %s: no event titled %r among %d: %s" % (url, want[client]["title"], len(events), [e.get("title") for e in events][:10]))
            return url, hits
        url, hits = until("the %s event" % client, arrived, wait, every=0.5)
        check(len(hits) == 1, "GET %s: %d events titled %r, expected 1" % (url, len(hits), want[client]["title"]))
        e = hits[0]
        for k, v in want[client].items():
            if k == "tags":
                check(v <= set(e.get("tags") or []), "GET %s: event tags %s lack %s" % (url, e.get("tags"), sorted(v - set(e.get("tags") or []))))
            else:
                check(e.get(k) == v, "GET %s: event %s %r, expected %r (event: %s)" % (url, k, e.get(k), v, e))
        check(isinstance(e.get("id"), int) and bucket - 5 <= e.get("date_happened", 0) <= bucket + 15,
              "GET %s: id %r, date_happened %r (bucket %d)" % (url, e.get("id"), e.get("date_happened"), bucket))
        url2, status, data = dw.api("/api/v1/events/%d" % e["id"])
        check(status == 200 and (data.get("event") or {}).get("title") == e["title"], "GET %s -> %s %s" % (url2, status, str(data)[:300]))
    run_test("events: DogStatsd.event(title, text, alert_type='error', tags) with title/text/alert_type/tags/host", one_event, "python")
    run_test("events: hot-shots event (alert_type warning, hostname, priority low, aggregation_key)", one_event, "hot-shots")

    def search():
        url, hits, _ = find("python", q="V2 IS OUT")
        check(len(hits) == 1, "GET %s: the python event not found by text (q, case-insensitive)" % url)
        url, hits, events = find("python", q=p + "py deploy")
        check(len(hits) == 1 and len(events) == 1, "GET %s: by title: %d events %s, expected only the python one" % (
            url, len(events), [e.get("title") for e in events]))
        url, _, events = find("python", q=p + "nothing like this")
        check(not events, "GET %s: %d events for a text nothing has" % (url, len(events)))
        url, hits, events = find("hot-shots", tags="deploy:node")
        check(len(hits) == 1 and all("deploy:node" in (e.get("tags") or []) for e in events),
              "GET %s: tags=deploy:node gave %s" % (url, [(e.get("title"), e.get("tags")) for e in events]))
        url, hits, events = find("hot-shots", priority="low", q=p)
        check(len(hits) == 1 and len(events) == 1, "GET %s: priority=low gave %s" % (url, [e.get("title") for e in events]))
    run_test("events: q= text search (case-insensitive) finds them; tags= and priority= filter", search)

    checks_want = {
        p + "py.can_connect": {"host": AGENT_HOST, "status": 2, "status_name": "CRITICAL", "message": "timeout after 5 s",
                               "tags": {"db:main", "suite:statsd", "client:python"}},
        p + "node.disk_ok": {"host": NODE_HOST, "status": 1, "status_name": "WARNING", "message": "disk at 91 percent",
                             "tags": {"disk:root", "suite:statsd", "client:node"}},
    }

    def service_checks():
        def arrived():
            url, status, data = dw.api("/api/ui/service_checks", q=p)
            check(status == 200 and isinstance(data, dict), "GET %s -> %s %s" % (url, status, str(data)[:300]))
            got = {c.get("check"): c for c in data.get("checks", [])}
            check(set(checks_want) <= set(got), "GET %s: checks %s, expected %s" % (url, sorted(got), sorted(checks_want)))
            return url, data, got
        url, data, got = until("the service checks", arrived, wait, every=0.5)
        check(len(got) == 2, "GET %s: %d checks, expected 2: %s" % (url, len(got), sorted(got)))
        for name, w in checks_want.items():
            c = got[name]
            for k, v in w.items():
                if k == "tags":
                    check(v <= set(c.get("tags") or []), "GET %s: %s tags %s lack %s" % (url, name, c.get("tags"), sorted(v - set(c.get("tags") or []))))
                else:
                    check(c.get(k) == v, "GET %s: %s %s %r, expected %r (check: %s)" % (url, name, k, c.get(k), v, c))
        names = [c.get("check") for c in data.get("checks", [])]
        check(names == [p + "py.can_connect", p + "node.disk_ok"], "GET %s: order %s, expected the critical one first" % (url, names))
        totals = data.get("totals") or {}
        check(totals.get("critical") == 1 and totals.get("warning") == 1, "GET %s: totals %s" % (url, totals))
        url, status, data = dw.api("/api/ui/service_checks", q=p, status="critical")
        check(status == 200 and [c.get("check") for c in data.get("checks", [])] == [p + "py.can_connect"],
              "GET %s -> %s %s, expected only the critical check" % (url, status, str(data)[:300]))
    run_test("service checks: DogStatsd.service_check and hot-shots check in /api/ui/service_checks with status and message",
             service_checks)


def status_tests(dw):
    def counters():
        code, text = dw.status()
        check(code == 0, "`dogwatch status` exited %d: %s" % (code, text[-600:]))
        m = re.search(r"^=+\n(DogStatsD[^\n]*)\n=+\n(.*?)(?=^=+\n[^\n]+\n=+\n|\Z)", text, re.M | re.S)
        check(m, "`dogwatch status` has no DogStatsD section; sections: %s" % re.findall(r"^=+\n([^\n]+)\n=+$", text, re.M))
        section = m.group(2)

        def num(label):
            # `1435`, `1,435` (Datadog's agent) or, for bytes, `257.3 KiB` (dogwatch).
            mm = re.search(r"^\s*%s:\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(B|KiB|MiB|GiB)?\s*$" % re.escape(label), section, re.M | re.I)
            if not mm:
                return None
            scale = {None: 1, "b": 1, "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3}[(mm.group(2) or "").lower() or None]
            return int(float(mm.group(1).replace(",", "")) * scale)
        got = {label: num(label) for label in ("Metric Packets", "Metric Parse Errors", "Event Packets",
                                               "Service Check Packets", "Udp Packets", "Udp Bytes")}
        return section, got

    def parse_errors():
        def counted():
            section, got = counters()
            check((got["Metric Parse Errors"] or 0) >= 1, "Metric Parse Errors %r, expected >= 1 (section:\n%s)" % (
                got["Metric Parse Errors"], section.rstrip()))
            return got
        log("DogStatsD status: %s" % until("`dogwatch status` to count the malformed line", counted, 10, every=1))
    run_test("`dogwatch status` shows a DogStatsD section with Metric Parse Errors >= 1", parse_errors)

    def other_counters():
        # What the run sent: ~2,290 metric lines from DogStatsd (packed into ~180 datagrams, each
        # ending in a newline: the empty last line is no message, as in Datadog's agent), ~1,250
        # from hot-shots (one datagram each), 14 raw datagrams with 24 metric lines and one bad line;
        # 2 events, 2 service checks. DogStatsd's own telemetry may add a few metric lines.
        section, got = counters()
        want = {"Metric Packets": (">=", 3500), "Metric Parse Errors": ("==", 1), "Event Packets": ("==", 2),
                "Service Check Packets": ("==", 2), "Udp Packets": (">=", 1400), "Udp Bytes": (">=", 100000)}
        bad = {k: "%r, expected %s %d" % (got[k], op, n) for k, (op, n) in want.items()
               if got[k] is None or (got[k] < n if op == ">=" else got[k] != n)}
        check(not bad, "DogStatsD counters: %s (section:\n%s)" % (bad, section.rstrip()))
    run_test("`dogwatch status` DogStatsD counters: Metric/Event/Service Check Packets, exactly 1 parse error, Udp Packets/Bytes",
             other_counters)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dogwatch", default=os.environ.get("DOGWATCH_BIN", os.path.join(REPO, "target", "debug", "dogwatch")),
                    help="the dogwatch binary (default $DOGWATCH_BIN, else target/debug/dogwatch)")
    ap.add_argument("-v", "--verbose", action="store_true", help="log progress")
    ap.add_argument("--keep-logs", action="store_true", help="keep dogwatch's log even when everything passed")
    args = ap.parse_args()
    set_verbose(args.verbose)
    started = time.monotonic()
    logdir = tempfile.mkdtemp(prefix="dogwatch-statsd-logs-")
    missing = []
    try:
        import datadog  # noqa: F401
    except ImportError:
        missing.append("the datadog package (import datadog)")
    if not os.path.isdir(os.path.join(HERE, "node", "node_modules", "hot-shots")):
        missing.append("tests/statsd/node/node_modules/hot-shots")
    if missing:
        print("FAIL setup: no %s: run scripts/install-tracers.sh, then this with target/tracer-env/bin/python" % " or ".join(missing))
        print("statsd: 0 passed, 1 failed")
        return 1
    try:
        def start():
            d = Dogwatch(os.path.abspath(args.dogwatch), logdir, hostname=AGENT_HOST, tags="team:statsd,role:statsd-test",
                         env={"DD_DOGSTATSD_FLUSH_INTERVAL_MS": 1000}, data_prefix="dogwatch-statsd-")
            DW[0] = d
            until("the DogStatsD listener to bind UDP port %d (DD_DOGSTATSD_PORT)" % d.dogstatsd_port,
                  lambda: udp_bound(d.dogstatsd_port) is not False, 20, every=0.2)
            return d
        ok, _ = run_phase("dogwatch up", start, lambda d: "dogwatch up started, DogStatsD on UDP 127.0.0.1:%d" % d.dogstatsd_port,
                          blocks="not run: dogwatch up did not start (see above)")
        dw = DW[0]
        p, bucket, r = None, None, None
        if ok:
            ok, sent = run_phase("send", lambda: send_everything(dw),
                                 lambda v: "sent with DogStatsd (datadog %s), hot-shots and raw datagrams within one bucket: %s" % (
                                     getattr(datadog, "__version__", "?"), v[2]),
                                 blocks="not run: the scenario could not be sent (see above)")
        if ok:
            p, bucket = sent[0], sent[1]
            r = Reader(dw, bucket)

            def arrived():
                def there():
                    return all(r.query(q)[1] for q in ("max:%spy.gauge{*}" % p, "count:%spy.dist{*}" % p, "max:%snode.gauge{*}" % p))
                until("the bucket's gauges and distribution in /api/v1/query", there, DATA_WAIT_S, every=0.5)
                time.sleep(1.0)  # the bucket's other payloads (series, sketches) settle
                return time.time() - bucket - BUCKET_S
            ok, _ = run_phase("data", arrived, lambda late: "the bucket's data reached the API %.1f s after the bucket closed" % late)
            if not ok:
                r.settle = 0
        if r:
            metric_tests(dw, p, r)
            event_tests(dw, p, bucket, DATA_WAIT_S if r.settle else SETTLE_S)
        if dw:
            status_tests(dw)
        if dw and any_failed():
            print("dogwatch up's log (last lines):\n" + dw.child.output(30), flush=True)
    except KeyboardInterrupt:
        RESULTS.append(("interrupted", False))
        print("FAIL interrupted", flush=True)
    finally:
        CANNOT_RUN[0] = None
        if DW[0]:
            DW[0].stop()
        stop_all()
    return finish("statsd", started, logdir, args.keep_logs)


if __name__ == "__main__":
    sys.exit(main())
