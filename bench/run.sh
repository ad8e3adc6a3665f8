#!/usr/bin/env bash
# Builds and runs procbench (see README.md), passing its arguments through, from any directory.
# The first time, it creates bench/.venv with psutil for the psutil variant.
set -euo pipefail
bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if ! "$bench/.venv/bin/python" -c 'import psutil' >/dev/null 2>&1; then
    echo "run.sh: creating $bench/.venv with psutil" >&2
    if ! { python3 -m venv "$bench/.venv" && "$bench/.venv/bin/pip" install --quiet psutil; }; then
        echo "run.sh: could not set up the venv; procbench will skip psutil" >&2
        rm -rf "$bench/.venv"
    fi
fi

export CARGO_TARGET_DIR="$bench/target"
cargo build --release --manifest-path "$bench/Cargo.toml"
exec "$bench/target/release/procbench" "$@"
