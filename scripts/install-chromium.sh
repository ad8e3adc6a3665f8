#!/usr/bin/env bash
# Installs Debian's chromium for the web UI's browser tests, when it is not there yet. The tests
# drive it with playwright-core; they never download a browser of their own.
set -euo pipefail

if [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "The web UI's browser tests need Chromium at /usr/bin/chromium (or set CHROMIUM=/path/to/chromium)," >&2
    echo "and this machine has no apt-get to install Debian's package: install Chromium and run this again." >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "The web UI's browser tests need Debian's chromium: run 'apt-get install chromium' as root, then this again." >&2
        exit 1
    fi
    sudo="sudo"
fi
echo "== apt-get install chromium (for the web UI's browser tests)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q chromium >/dev/null || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q chromium >/dev/null; }
