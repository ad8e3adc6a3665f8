#!/usr/bin/env bash
# Every check the project has, in the order CI runs them: formatting, lints, then all tests
# (Rust, the web UI's unit tests, its browser tests against a real `dogwatch up`, and Datadog's
# own tracers and DogStatsD clients against it).
# Whatever a test needs is installed here first, so it runs on a fresh machine as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "dogwatch needs Rust's cargo; install it with rustup (https://rustup.rs) and run this again." >&2
    exit 1
fi
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        rustup component add "$component"
    fi
done

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy --all-targets -D warnings"
cargo clippy --locked --workspace --all-targets -- -D warnings
# The UI is built (and type-checked) before the Rust tests, so the binary they build serves it.
scripts/build-web.sh
scripts/install-chromium.sh
scripts/install-tracers.sh
scripts/install-services.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
echo "== cargo test"
cargo test --locked --workspace --no-fail-fast 2>&1 | tee -a "$log" || status=$?
echo "== web UI unit tests (vitest)"
(cd web && NO_COLOR=1 npx --no-install vitest run) 2>&1 | tee -a "$log" || status=$?
echo "== web UI browser tests (playwright-core + chromium, against target/debug/dogwatch)"
cargo build --locked -p dogwatch
(cd web && node e2e/run.mjs) 2>&1 | tee -a "$log" || status=$?
echo "== second start: build-web.sh and cargo build have nothing to do the second time"
bash bench/second_start.sh --builds 2>&1 | tee -a "$log" || status=$?
echo "== auto-detected integrations in the browser (real redis-server and postgres, dogwatch up restarted with conf.d)"
(cd web && node e2e/integrations.mjs) 2>&1 | tee -a "$log" || status=$?
echo "== real tracers (ddtrace-run, dd-trace, ddapm-test-agent as the oracle) against target/debug/dogwatch"
target/tracer-env/bin/python tests/tracers/run.py 2>&1 | tee -a "$log" || status=$?
echo "== real DogStatsD clients (datadog's DogStatsd, hot-shots) against target/debug/dogwatch"
target/tracer-env/bin/python tests/statsd/run.py 2>&1 | tee -a "$log" || status=$?
echo "== Datadog's API client (datadog-api-client) against target/debug/dogwatch"
target/tracer-env/bin/python tests/api_client/run.py 2>&1 | tee -a "$log" || status=$?
# One closing line for the whole run, summed over every test binary and suite.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     /^ +Tests +[0-9]/ { for (i = 1; i <= NF; i++) { if ($i == "passed") p += $(i-1); if ($i == "failed") f += $(i-1) } }
     /^e2e: [0-9]+ passed/ { p += $2; f += $4 }
     /^tracers: [0-9]+ passed/ { p += $2; f += $4 }
     /^statsd: [0-9]+ passed/ { p += $2; f += $4 }
     /^api_client: [0-9]+ passed/ { p += $2; f += $4 }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
