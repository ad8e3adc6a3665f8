"""What the real-client test runners (tests/tracers/run.py, tests/statsd/run.py,
tests/api_client/run.py) share: child processes killed at exit, bounded waits, free loopback
ports, small HTTP helpers, a real `dogwatch up` on free ports with a temporary data directory
(with an application key, so its read routes answer), and the PASS/FAIL bookkeeping.

Import it from a runner with

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
    from dogwatch_up import ...

Every wait is bounded (`until`), everything listens on 127.0.0.1, and every child started through
`Child` (its whole process group) is killed at exit, on SIGTERM too.
"""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

T0 = time.monotonic()
_VERBOSE = [False]


def set_verbose(on):
    _VERBOSE[0] = bool(on)


def log(msg):
    if _VERBOSE[0]:
        print("  [%6.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


# ---------------------------------------------------------------------------------------------
# Child processes: each in its own process group, killed (TERM, then KILL) at the end.
# ---------------------------------------------------------------------------------------------

CHILDREN = []


class Child:
    def __init__(self, name, argv, env, cwd, logdir):
        self.name = name
        self.log_path = os.path.join(logdir, name + ".log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True)
        CHILDREN.append(self)
        log("started %s (pid %d): %s" % (name, self.proc.pid, " ".join(argv)))

    def alive(self):
        return self.proc.poll() is None

    def output(self, tail=40):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-tail:])
        except OSError:
            return ""

    def stop(self, grace=5.0):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        # The group may hold more than the leader (anything an app forked); kill what is left.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()
        if self in CHILDREN:
            CHILDREN.remove(self)


def stop_all():
    for c in list(reversed(CHILDREN)):
        c.stop()


atexit.register(stop_all)


def _on_signal(signum, _frame):
    raise KeyboardInterrupt("signal %d" % signum)


signal.signal(signal.SIGTERM, _on_signal)

# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def free_port(kind=socket.SOCK_STREAM):
    """A loopback port nothing listens on now (TCP by default; socket.SOCK_DGRAM for UDP)."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(method, url, timeout=10.0, body=None, headers=None):
    """One HTTP request; returns (status, headers, text). Never raises for an HTTP status."""
    req = urllib.request.Request(url, method=method, data=body, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8", "replace")


def get_json(url, timeout=10.0, headers=None):
    status, _, text = http("GET", url, timeout, headers=headers)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def until(what, fn, timeout, every=0.25):
    """Polls fn until it returns something truthy, at most `timeout` s; raises Failure after."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
        except Failure as e:
            last = str(e)
        except (OSError, ValueError) as e:
            last = "%s: %s" % (type(e).__name__, e)
        if time.monotonic() >= deadline:
            raise Failure("timed out after %.0f s waiting for %s%s" % (timeout, what, (": " + last) if last else ""))
        time.sleep(every)


def wait_listening(port, child, timeout=30.0):
    def ok():
        if not child.alive():
            raise Failure("%s exited (%s):\n%s" % (child.name, child.proc.returncode, child.output()))
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    until("%s to listen on 127.0.0.1:%d" % (child.name, port), ok, timeout, every=0.1)


def clean_env(**extra):
    """The runner's environment without any DD_*/OTEL_* setting of the user's, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "OTEL_", "_DD_"))}
    env.update({k: str(v) for k, v in extra.items()})
    return env


# ---------------------------------------------------------------------------------------------
# A real `dogwatch up`
# ---------------------------------------------------------------------------------------------


class Dogwatch:
    """`dogwatch up` on free loopback ports (web/API, cmd_port, APM receiver, DogStatsD UDP) with a
    temporary data directory; `env` adds or overrides agent settings (DD_*).

    Every read route needs a user: once the server answers, an application key of its `admin` is
    made with `dogwatch app-key create` on the data directory (`app_key`), and `api()` sends it
    with the API key (`api_key`) as DD-API-KEY + DD-APPLICATION-KEY (`auth_headers`)."""

    def __init__(self, binary, logdir, hostname, tags, env=None, wait_receiver=False, data_prefix="dogwatch-test-"):
        check(os.path.exists(binary), "no dogwatch binary at %s: build it (cargo build -p dogwatch) or pass --dogwatch / set DOGWATCH_BIN" % binary)
        self.binary = binary
        self.port = free_port()
        self.cmd_port = free_port()
        self.receiver_port = free_port()
        self.dogstatsd_port = free_port(socket.SOCK_DGRAM)
        self.hostname = hostname
        self.data_dir = tempfile.mkdtemp(prefix=data_prefix)
        self.base = "http://127.0.0.1:%d" % self.port
        # DOGWATCH_DATA_DIR: `dogwatch status` finds the agent's auth_token there.
        settings = dict(DD_API_KEY="dogwatch-tests-key-0123456789abcdef", DD_CMD_PORT=self.cmd_port, DD_HOSTNAME=hostname,
                        DOGWATCH_DATA_DIR=self.data_dir,
                        DD_APM_RECEIVER_PORT=self.receiver_port, DD_DOGSTATSD_PORT=self.dogstatsd_port, DD_TAGS=tags)
        settings.update(env or {})
        self.env = clean_env(**settings)
        self.api_key = self.env["DD_API_KEY"]
        self.app_key = None
        self.child = Child("dogwatch", [binary, "up", "--listen", "127.0.0.1:%d" % self.port, "--data-dir", self.data_dir],
                           self.env, REPO, logdir)
        try:
            self._wait_ready(wait_receiver)
        except BaseException as e:
            out = self.child.output(30)
            self.stop()
            if isinstance(e, Failure):
                raise Failure("%s\n    dogwatch up's log (last lines):\n%s" % (e, out))
            raise

    def _wait_ready(self, wait_receiver):
        # Until it has a key, every read route answers 401: wait for any answer of the server's.
        def up():
            if not self.child.alive():
                raise Failure("dogwatch up exited (%s)" % self.child.proc.returncode)
            return http("GET", self.base + "/api/v1/validate", timeout=2)[0] < 500
        until("dogwatch up to answer on %s" % self.base, up, 30)
        self.app_key = self.cli("app-key", "create", "--name", "tests")
        check(re.fullmatch(r"[0-9a-f]{40}", self.app_key or ""), "dogwatch app-key create printed %r" % self.app_key)

        # A running server sees keys made by the CLI within 5 s.
        def authorized():
            status, _, text = http("GET", self.base + "/api/ui/hosts", timeout=2, headers=self.auth_headers)
            check(status in (200, 403), "GET /api/ui/hosts with the keys answered %d: %s" % (status, text[:200]))
            return status == 200
        until("the application key to be accepted", authorized, 15)
        if not wait_receiver:
            return

        def receiver():
            if not self.child.alive():
                raise Failure("dogwatch up exited (%s)" % self.child.proc.returncode)
            status, _, text = http("GET", "http://127.0.0.1:%d/info" % self.receiver_port, timeout=2)
            check(status == 200, "GET /info on the trace receiver answered %d: %s" % (status, text[:200]))
            return True
        until("the trace receiver on 127.0.0.1:%d (DD_APM_RECEIVER_PORT) to answer /info" % self.receiver_port, receiver, 20)

    @property
    def auth_headers(self):
        """DD-API-KEY + DD-APPLICATION-KEY, what a read route needs."""
        return {"DD-API-KEY": self.api_key, "DD-APPLICATION-KEY": self.app_key or ""}

    def url(self, path, **params):
        return self.base + path + (("?" + urllib.parse.urlencode(params)) if params else "")

    def api(self, path, **params):
        """GET path?params with the keys: (url, status, JSON or text)."""
        url = self.url(path, **params)
        status, data = get_json(url, headers=self.auth_headers)
        return url, status, data

    def cli(self, *args, stdin=None, timeout=20):
        """`dogwatch ARGS --data-dir DIR` (users and keys: `app-key create`, `user add`, ...), as
        a user would run it beside the server; returns its stdout, stripped. Fails on a non-zero
        exit."""
        try:
            p = subprocess.run([self.binary, *args, "--data-dir", self.data_dir], env=self.env, cwd=REPO,
                               input=(stdin or "").encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure("`dogwatch %s` did not finish in %d s" % (" ".join(args), timeout))
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        check(p.returncode == 0, "`dogwatch %s` exited %d: %s" % (" ".join(args), p.returncode, (err or out).strip()[:500]))
        return out.strip()

    def status(self, *args, timeout=20):
        """`dogwatch status [args]` run as a user would, against this agent's cmd_port:
        returns (exit code, stdout + stderr)."""
        try:
            p = subprocess.run([self.binary, "status", *args], env=self.env, cwd=REPO, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure("`dogwatch status %s` did not finish in %d s" % (" ".join(args), timeout))
        return p.returncode, p.stdout.decode("utf-8", "replace")

    def stop(self):
        self.child.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# PASS / FAIL bookkeeping
# ---------------------------------------------------------------------------------------------

RESULTS = []
# When set, every test run_test is given fails at once with this reason (its phase did not run).
CANNOT_RUN = [None]


def run_test(name, fn, *args):
    t = time.monotonic()
    if CANNOT_RUN[0]:
        RESULTS.append((name, False))
        print("FAIL %s: %s" % (name, CANNOT_RUN[0]), flush=True)
        return False
    try:
        fn(*args)
        RESULTS.append((name, True))
        print("PASS %s (%.1f s)" % (name, time.monotonic() - t), flush=True)
        return True
    except Failure as e:
        RESULTS.append((name, False))
        print("FAIL %s: %s" % (name, e), flush=True)
    except Exception:  # a bug in the test, or an unexpected answer shape: still one FAIL line
        RESULTS.append((name, False))
        print("FAIL %s: unexpected %s" % (name, traceback.format_exc().strip().replace("\n", "\n      ")), flush=True)
    return False


def run_phase(name, fn, passed, blocks=None):
    """A step later tests depend on: v = fn(); prints `PASS <passed or passed(v)> (time)` or
    `FAIL <name>: <reason>`. On failure CANNOT_RUN is set to `blocks` (when given), so the tests
    that needed the step each fail at once. Returns (ok, v)."""
    t = time.monotonic()
    try:
        v = fn()
    except Failure as e:
        reason = str(e)
    except Exception:
        reason = "unexpected %s" % traceback.format_exc().strip()
    else:
        RESULTS.append((name, True))
        print("PASS %s (%.1f s)" % (passed(v) if callable(passed) else passed, time.monotonic() - t), flush=True)
        return True, v
    RESULTS.append((name, False))
    print("FAIL %s: %s" % (name, reason), flush=True)
    if blocks:
        CANNOT_RUN[0] = blocks
    return False, None


def any_failed():
    return any(not ok for _, ok in RESULTS)


def finish(label, started, logdir, keep_logs):
    """Prints the closing lines (`<label>: N passed, M failed`) and returns the exit status."""
    failed = sum(1 for _, ok in RESULTS if not ok)
    passed = len(RESULTS) - failed
    if failed or keep_logs:
        print("children's logs: %s" % logdir)
    else:
        shutil.rmtree(logdir, ignore_errors=True)
    print("run took %.1f s" % (time.monotonic() - started))
    print("%s: %d passed, %d failed" % (label, passed, failed), flush=True)
    return 1 if failed else 0
