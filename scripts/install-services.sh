#!/usr/bin/env bash
# Installs Debian's redis-server and postgresql for the integration checks' tests (redisdb,
# postgres, Heroku auto-configuration, auto-detected integrations), when they are not there yet.
# The tests start their own servers on loopback ports in temporary directories and stop them by
# pid; the packages' own system services are not used (they are stopped if the install started
# them, so they hold no ports).
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "The integration tests need ${missing[*]}, and this machine has no apt-get to install Debian's packages: install them and run this again." >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "The integration tests need Debian's ${missing[*]}: run 'apt-get install ${missing[*]}' as root, then this again." >&2
        exit 1
    fi
    sudo="sudo"
fi
echo "== apt-get install ${missing[*]} (for the integration checks' tests)"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d keeps the packages' services from starting during the install.
printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
$sudo chmod +x /usr/sbin/policy-rc.d
trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
$sudo apt-get install -y -q "${missing[@]}" >/dev/null \
    || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q "${missing[@]}" >/dev/null; }
