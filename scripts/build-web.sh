#!/usr/bin/env bash
# Builds the web UI (web/) into web/dist, which the server embeds. Installs its npm packages
# first when package-lock.json changed since the last install. Needs Node.js 20.19+ and npm.
set -euo pipefail
cd "$(dirname "$0")/../web"

need="20.19"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "dogwatch's web UI needs Node.js $need or newer and npm to build, and they are not installed." >&2
    echo "Install them (Debian/Ubuntu: apt-get install nodejs npm; or https://nodejs.org) and run this again." >&2
    exit 1
fi
have=$(node -p 'process.versions.node')
if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1)" != "$need" ]; then
    echo "dogwatch's web UI needs Node.js $need or newer to build (Vite 8); this machine has $have." >&2
    echo "Install a newer Node.js (https://nodejs.org) and run this again." >&2
    exit 1
fi

# npm ci only when the lock file is newer than the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "== npm ci (web/)"
    npm ci --no-audit --no-fund --loglevel=error
fi
echo "== building the web UI (web/dist)"
npm run --silent build -- --logLevel warn
