#!/usr/bin/env bash
# The redisdb and postgres checks in Rust against the same checks written as Python AgentChecks
# (bench/integrations/*.py: redis-py and psycopg, the same queries) run in dogwatch's Python
# check host, CPU per check run, against a redis-server and a PostgreSQL cluster the benchmark
# starts on loopback ports (crates/agent/benches/integrations.rs; see README.md).
#
# Makes target/integrations-bench-env (datadog-checks-base as the custom-check tests pin it,
# redis, psycopg[binary]) when missing, installs Debian's redis-server/postgresql through
# scripts/install-services.sh when missing, then runs the benchmark with the arguments given,
# e.g. `bash bench/integrations_vs_python.sh --runs 500`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-services.sh
env_dir=target/integrations-bench-env
stamp="$env_dir/.requirements"
if ! "$env_dir/bin/python" -c 'import datadog_checks.base, redis, psycopg' >/dev/null 2>&1 ||
    ! cmp -s bench/integrations/requirements.txt "$stamp"; then
    echo "== python3 -m venv $env_dir; pip install -r bench/integrations/requirements.txt" >&2
    rm -rf "$env_dir"
    python3 -m venv "$env_dir"
    "$env_dir/bin/pip" install -q --disable-pip-version-check -r bench/integrations/requirements.txt >&2
    cp bench/integrations/requirements.txt "$stamp"
fi
exec cargo bench -p dogwatch-agent --bench integrations -- --python "$PWD/$env_dir/bin/python" "$@"
