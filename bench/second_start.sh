#!/usr/bin/env bash
# The second start: with nothing changed since the last one, scripts/build-web.sh skips the UI
# build and leaves web/dist untouched, cargo has nothing to compile, and `scripts/up.sh`
# answers the UI within 3 s.
#
#   bash bench/second_start.sh            # warms up, then times a second ./scripts/up.sh
#   bash bench/second_start.sh --builds   # cheap (for scripts/check.sh): build-web.sh twice and
#                                         # a debug `cargo build -p dogwatch` twice, asserting the
#                                         # second of each did nothing; serves nothing
#
# Exits non-zero, naming what rebuilt, when a second run was not a no-op. The server and agent
# it starts use free loopback ports and a temporary data directory, and are stopped by pid.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mode="${1:-serve}"
fail() { echo "second start: FAIL: $*" >&2; exit 1; }
dist_state() { find web/dist -type f -printf '%p %T@ %s\n' | LC_ALL=C sort; }

# The first run of each may build; the second must not.
scripts/build-web.sh >/dev/null
before=$(dist_state)
out=$(scripts/build-web.sh)
echo "$out" | grep -q "skipped" || fail "scripts/build-web.sh built the UI again with no change: $out"
[ "$(dist_state)" = "$before" ] || fail "scripts/build-web.sh rewrote web/dist with no change"
echo "second start: scripts/build-web.sh skipped the build and left web/dist untouched"

if [ "$mode" = "--builds" ]; then
    cargo build --locked -p dogwatch 2>/dev/null || fail "cargo build failed"
    out=$(cargo build --locked -p dogwatch 2>&1)
    if echo "$out" | grep -E '^ *(Compiling|Linking)' >/dev/null; then
        fail "cargo rebuilt with no change: $(echo "$out" | grep -E 'Compiling' | tr '\n' ' ')"
    fi
    echo "second start: cargo build -p dogwatch had nothing to rebuild"
    exit 0
fi

cargo build --release --locked -p dogwatch 2>/dev/null || fail "cargo build --release failed"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
data=$(mktemp -d)
log="$data/up.log"
cleanup() {
    if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$data"
}
trap cleanup EXIT
start=$(date +%s.%N)
DD_CMD_PORT=$(free_port) DD_APM_RECEIVER_PORT=$(free_port) DD_DOGSTATSD_PORT=$(free_port) \
    DD_LOG_LEVEL=warn scripts/up.sh --listen "127.0.0.1:$port" --data-dir "$data" >"$log" 2>&1 &
pid=$!
answered=""
# Long enough for a rebuild to finish, so that one is reported as such rather than as a hang.
for _ in $(seq 6000); do
    if curl -fsS "http://127.0.0.1:$port/" 2>/dev/null | grep -q '/assets/'; then
        answered=$(date +%s.%N)
        break
    fi
    kill -0 "$pid" 2>/dev/null || fail "scripts/up.sh exited: $(cat "$log")"
    sleep 0.05
done
[ -n "$answered" ] || fail "the UI did not answer within 5 minutes: $(cat "$log")"
seconds=$(python3 -c "print(f'{$answered - $start:.2f}')")
if grep -E '^ *(Compiling|Linking)' "$log" >/dev/null; then
    fail "cargo rebuilt on the second start: $(grep Compiling "$log" | tr '\n' ' ')"
fi
grep -q "skipped" "$log" || fail "the UI build was not skipped on the second start"
echo "second start: cargo had nothing to rebuild, the UI build was skipped"
echo "second start: ./scripts/up.sh served the UI after ${seconds} s"
python3 -c "import sys; sys.exit(0 if $seconds < 3 else 1)" || fail "the UI took ${seconds} s, more than 3 s"
