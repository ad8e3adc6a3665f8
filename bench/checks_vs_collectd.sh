#!/usr/bin/env bash
# The core checks against collectd 5.12 (bench/checks_vs_collectd.py; see its docstring and
# README.md). Installs Debian's collectd-core (the collectd binary and its plugins, without the
# `collectd` package's config and system service, which would start a second collectd) and
# libyajl2 (write_log's formatter needs it; only Suggested) when missing, then runs the
# comparison with the arguments given, e.g. `bash bench/checks_vs_collectd.sh --seconds 300`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/sbin/collectd ] || [ ! -e /usr/lib/collectd/write_log.so ] ||
    ldd /usr/lib/collectd/write_log.so | grep -q 'not found'; then
    echo "== apt-get install collectd-core libyajl2" >&2
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y --no-install-recommends collectd-core libyajl2 >&2 || {
        $SUDO apt-get update >&2 && $SUDO apt-get install -y --no-install-recommends collectd-core libyajl2 >&2
    }
fi
exec python3 bench/checks_vs_collectd.py "$@"
