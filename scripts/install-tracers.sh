#!/usr/bin/env bash
# Installs what the real-client tests need: for the APM tests (tests/tracers/run.py), the
# DogStatsD tests (tests/statsd/run.py) and the Datadog API client tests (tests/api_client/run.py),
# one Python virtualenv at target/tracer-env with the pinned ddtrace, Flask, requests and
# ddapm-test-agent of tests/tracers/requirements.txt, the pinned datadog client of
# tests/statsd/requirements.txt and the pinned datadog-api-client of
# tests/api_client/requirements.txt, and for the Python custom-check tests the pinned
# datadog-checks-base of tests/python_checks/requirements.txt; and the pinned dd-trace of
# tests/tracers/node/package-lock.json and hot-shots of tests/statsd/node/package-lock.json.
# Each is (re)installed only when its pin files changed since the last install, so a second run
# returns at once. Needs python3 with its venv module, and Node.js 18+ with npm.
set -euo pipefail
cd "$(dirname "$0")/.."

tracers=tests/tracers
env_dir=target/tracer-env
statsd=tests/statsd
requirements=$tracers/requirements.txt
statsd_requirements=$statsd/requirements.txt
api_client_requirements=tests/api_client/requirements.txt
python_checks_requirements=tests/python_checks/requirements.txt
stamp=$env_dir/.requirements-installed

# --- Python: ddtrace, Flask, requests, ddapm-test-agent; datadog (DogStatsd); datadog-api-client --
if ! command -v python3 >/dev/null 2>&1; then
    echo "The tracer tests need Python 3 (3.9 or newer) with its venv module, and python3 is not installed." >&2
    echo "Install it (Debian/Ubuntu: apt-get install python3 python3-venv) and run this again." >&2
    exit 1
fi
if ! python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)'; then
    echo "The tracer tests need Python 3.9 or newer; this machine has $(python3 -V 2>&1)." >&2
    exit 1
fi
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "The tracer tests need Python's venv module (with ensurepip) to make $env_dir, and it is missing." >&2
    echo "Install it (Debian/Ubuntu: apt-get install python3-venv) and run this again." >&2
    exit 1
fi

# A venv whose python no longer runs (python3 upgraded or removed) is made again.
if [ -d "$env_dir" ] && ! "$env_dir/bin/python" -c '' >/dev/null 2>&1; then
    echo "== $env_dir is broken (its python does not run): making it again"
    rm -rf "$env_dir"
fi
if [ ! -x "$env_dir/bin/python" ]; then
    echo "== python3 -m venv $env_dir"
    python3 -m venv "$env_dir"
    rm -f "$stamp"
fi
if [ ! -f "$stamp" ] || [ "$requirements" -nt "$stamp" ] || [ "$statsd_requirements" -nt "$stamp" ] \
    || [ "$api_client_requirements" -nt "$stamp" ] || [ "$python_checks_requirements" -nt "$stamp" ]; then
    echo "== pip install -r $requirements -r $statsd_requirements -r $api_client_requirements -r $python_checks_requirements (into $env_dir)"
    if ! "$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        -r "$requirements" -r "$statsd_requirements" -r "$api_client_requirements" -r "$python_checks_requirements"; then
        echo "pip could not install $requirements, $statsd_requirements, $api_client_requirements and $python_checks_requirements into $env_dir (see above); PyPI must be reachable." >&2
        exit 1
    fi
    touch "$stamp"
fi

# --- Node: dd-trace, hot-shots -------------------------------------------------------------------
need_node="18"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "The tracer tests need Node.js $need_node or newer and npm (for dd-trace and hot-shots), and they are not installed." >&2
    echo "Install them (Debian/Ubuntu: apt-get install nodejs npm; or https://nodejs.org) and run this again." >&2
    exit 1
fi
have_node=$(node -p 'process.versions.node')
if [ "${have_node%%.*}" -lt "$need_node" ]; then
    echo "The tracer tests need Node.js $need_node or newer (dd-trace 5); this machine has $have_node." >&2
    echo "Install a newer Node.js (https://nodejs.org) and run this again." >&2
    exit 1
fi
# npm ci only when the lock file is newer than the last install. hot-shots' one optional
# dependency (unix-dgram, a native module for Unix sockets) is left out: the tests use UDP.
npm_ci() {
    local dir=$1
    shift
    if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        echo "== npm ci $* ($dir)"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error "$@")
    fi
}
npm_ci $tracers/node
npm_ci $statsd/node --omit=optional
