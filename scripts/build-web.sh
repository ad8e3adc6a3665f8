#!/usr/bin/env bash
# Builds the web UI (web/) into web/dist, which the server embeds. Installs its npm packages
# first when package-lock.json changed since the last install. Needs Node.js 20.19+ and npm.
#
# The build is skipped, and web/dist left untouched, when the UI's sources (web/src,
# index.html, package.json, package-lock.json, tsconfig.json, vite.config.ts) hash to what
# target/web-build.stamp recorded at the last build and web/dist is still there: rewriting
# web/dist would make cargo re-embed the UI and relink the release binary on every start.
# DOGWATCH_WEB_REBUILD=1 builds anyway.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/web"
stamp="$root/target/web-build.stamp"

# One hash over the names and contents of every file the build reads (node_modules is
# covered by package-lock.json, whose change runs npm ci below).
sources_hash() {
    { find src -type f -print0; printf '%s\0' index.html package.json package-lock.json tsconfig.json vite.config.ts; } \
        | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}
hash=$(sources_hash)
if [ "${DOGWATCH_WEB_REBUILD:-0}" != "1" ] && [ -f dist/index.html ] && [ -f "$stamp" ] \
    && [ "$(cat "$stamp")" = "$hash" ]; then
    echo "== web UI unchanged since the last build: web/dist kept (skipped)"
    exit 0
fi

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
rm -f "$stamp"
npm run --silent build -- --logLevel warn
mkdir -p "$(dirname "$stamp")"
echo "$hash" >"$stamp"
