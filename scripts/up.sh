#!/usr/bin/env bash
# Builds the web UI and dogwatch, and starts `dogwatch up`: a server and an agent in one process.
# Extra arguments go to `dogwatch up` (e.g. --listen 0.0.0.0:8585 --data-dir /var/lib/dogwatch).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "dogwatch needs Rust's cargo to build; install it with rustup (https://rustup.rs) and run this again." >&2
    exit 1
fi

# The UI first: the release binary embeds web/dist.
scripts/build-web.sh
cargo build --release --locked -p dogwatch
exec ./target/release/dogwatch up "$@"
