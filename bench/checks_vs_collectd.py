#!/usr/bin/env python3
"""The agent's core system checks against collectd 5.12, side by side, at the same interval.

In one run, all for the same wall time (`--seconds`, 300) after a warm-up (`--warmup`, 20 s):

- collectd (Debian's, `collectd -f -C <tmp>/collectd.conf`) with exactly the plugins cpu, load,
  memory, swap, df, disk and interface at `Interval` `--interval` (15), each with its default
  settings, writing through `write_log` (Graphite lines) into the `logfile` plugin on its
  stdout, which goes to a file here (`--writer csv`: the csv plugin, one file per value list).
  write_log is the cheapest writer that still dispatches every value: the value lists go through
  collectd's cache and write queue and are formatted, and the file is where they are counted.
  The agent does more with its values (JSON, zstd, HTTP to a server), so this favours collectd.
- `dogwatch agent` with only the checks on: DD_PROCESS_CONFIG_PROCESS_COLLECTION_ENABLED=false,
  DD_APM_ENABLED=false, DD_DOGSTATSD_PORT=0; the core checks (cpu, disk, file_handle, io, load,
  memory, network, uptime) at Datadog's default interval, 15 s, as the agent ships them
  (`--interval` is collectd's; the agent's stays its own default), sending to a `dogwatch server`
  on loopback (whose CPU is printed, not compared).
- baselines, so that the checks' own share is visible: the same agent with the core checks off
  too (DD_DISABLE_HOST_METRICS=true; it still sends host metadata and `datadog.agent.up` every
  15 s), and a collectd with only logfile and write_log loaded.
- per check (unless `--no-per-check`): one more agent per check, the core checks off and that one
  check on through its own conf.d (`<name>.d/conf.yaml`, one empty instance, as the default), and
  one more collectd per plugin; a check's cost is its process's CPU less its baseline's.

CPU is each process's CPU clock (clock_gettime on its CLOCK_PROCESS_CPUTIME clock: utime + stime
of all its threads, dead ones too, in ns) over the window; other work on the machine does not
change it (CPU time, not wall time), only the scheduling around it. Reported: CPU-seconds of each,
the ratio agent / collectd (whole processes, and the checks' share), CPU-µs per check run
(agent CPU / the runs its status counted; each of the 8 checks runs once per 15 s) and per
collectd plugin read; per check, from the one-check agents, and the `Average Execution Time` of
`dogwatch status` (wall time, whole ms).

    bash bench/checks_vs_collectd.sh [--binary target/release/dogwatch] [--seconds 300] [--interval 15]
        [--warmup 20] [--writer write_log|csv] [--no-per-check] [--json PATH]

(the .sh installs collectd-core and libyajl2 with apt-get when missing, then runs this). Every
process started here is stopped by its pid at the end (SIGTERM, then SIGKILL after 10 s), and on
Ctrl-C or SIGTERM too. Everything listens on 127.0.0.1.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
API_KEY = "bench-key-0123456789abcdef0123"
PLUGINS = ("cpu", "load", "memory", "swap", "df", "disk", "interface")
CHECKS = ("cpu", "disk", "file_handle", "io", "load", "memory", "network", "uptime")

CHILDREN = {}  # pid -> name


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(what, fn, timeout, every=0.2):
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = fn()
            if v:
                return v
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(every)


def start(name, argv, env, logdir):
    out = open(os.path.join(logdir, name + ".log"), "wb")
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                         start_new_session=True)
    out.close()
    CHILDREN[p.pid] = name
    return p.pid


def stop(pid, grace=10.0):
    """SIGTERM to the child's process group, SIGKILL after `grace` s."""
    if CHILDREN.pop(pid, None) is None:
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + grace
    while True:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            return
        if time.monotonic() > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            return
        time.sleep(0.05)


def stop_all():
    for pid in list(CHILDREN):
        stop(pid)


def on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


def alive(pid):
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return False


def cpu_seconds(pid):
    """The process's CPU clock (all threads, dead ones included), in seconds with ns precision."""
    return time.clock_gettime(((~pid) << 3) | 2)  # MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "_DD_", "DOGWATCH_", "MIMALLOC_"))}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def report(cmd_port, agent_dir):
    """The agent's status report from its local API, with its token (`<run_path>/auth_token`,
    under its data directory) when it has one (binaries before the token have none)."""
    headers = {}
    for root, _, files in os.walk(agent_dir):
        if "auth_token" in files:
            with open(os.path.join(root, "auth_token")) as f:
                headers["Authorization"] = "Bearer " + f.read().strip()
            break
    req = urllib.request.Request("http://127.0.0.1:%d/agent/status" % cmd_port, headers=headers)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def check_stats(cmd_port, agent_dir):
    """{check: {runs, samples_last, avg_ms, state}} from the Collector section of the status."""
    out = {}
    for section in report(cmd_port, agent_dir).get("sections", []):
        if section.get("title") != "Collector":
            continue
        for block in section.get("blocks", []):
            current = None
            for line in block.get("lines", []):
                name, value = line.get("name", "").strip(), str(line.get("value", "")).strip()
                m = re.fullmatch(r"(\w+) \(.*\)", name)
                if line.get("depth") == 0 and m:
                    current = out.setdefault(m.group(1), {"runs": 0, "samples_last": 0, "avg_ms": None, "state": ""})
                elif current is None:
                    continue
                elif name == "Instance ID":
                    current["state"] = value.rsplit("[", 1)[-1].rstrip("]")
                elif name == "Total Runs":
                    current["runs"] += int(value.replace(",", ""))
                elif name == "Metric Samples":
                    current["samples_last"] += int(value.split(",")[0].split(":")[1].replace(",", ""))
                elif name == "Average Execution Time":
                    current["avg_ms"] = int(value.rstrip("ms"))
    return out


def collectd_conf(tmp, name, plugins, interval, writer):
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    lines = [
        'Hostname "bench-host"', "FQDNLookup false", 'BaseDir "%s"' % d, 'PIDFile "%s/collectd.pid"' % d,
        'PluginDir "/usr/lib/collectd"', 'TypesDB "/usr/share/collectd/types.db"', "Interval %d" % interval, "",
        "LoadPlugin logfile",
        "<Plugin logfile>", "  LogLevel info", '  File "stdout"', "  Timestamp false", "  PrintSeverity false",
        "</Plugin>", "",
    ]
    lines += ["LoadPlugin %s" % p for p in plugins]
    if writer == "csv":
        lines += ["LoadPlugin csv", "<Plugin csv>", '  DataDir "%s/csv"' % d, "  StoreRates false", "</Plugin>"]
    else:
        lines += ["LoadPlugin write_log", "<Plugin write_log>", "  Format Graphite", "</Plugin>"]
    path = os.path.join(d, "collectd.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def collectd_counts(tmp, name, logdir, writer):
    """(value lists dispatched, {plugin: reads}) from what the writer wrote."""
    stamps, lists = {}, 0
    if writer == "csv":
        for root, _, files in os.walk(os.path.join(tmp, name, "csv")):
            plugin = os.path.basename(root).split("-")[0]
            for f_name in files:
                with open(os.path.join(root, f_name)) as f:
                    for line in f:
                        if line[0].isdigit():
                            lists += 1
                            stamps.setdefault(plugin, set()).add(line.split(",")[0].split(".")[0])
    else:
        with open(os.path.join(logdir, name + ".log"), errors="replace") as f:
            for line in f:
                if line.startswith("write_log values:"):
                    lists += 1
                    continue
                parts = line.split()
                if len(parts) == 3 and parts[0].startswith("bench-host."):
                    plugin = parts[0].split(".")[1].split("-")[0]
                    stamps.setdefault(plugin, set()).add(parts[2])
    return lists, {p: len(s) for p, s in stamps.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(REPO, "target", "release", "dogwatch"))
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--interval", type=int, default=15, help="collectd's Interval (the agent's checks run every 15 s)")
    ap.add_argument("--warmup", type=float, default=20)
    ap.add_argument("--writer", choices=("write_log", "csv"), default="write_log")
    ap.add_argument("--no-per-check", action="store_true", help="skip the one-check agents and one-plugin collectds")
    ap.add_argument("--json")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    if not os.path.exists(binary):
        raise SystemExit("no binary at %s (cargo build --release -p dogwatch)" % binary)
    collectd = shutil.which("collectd") or "/usr/sbin/collectd"
    if not os.path.exists(collectd):
        raise SystemExit("no collectd: run bench/checks_vs_collectd.sh (installs collectd-core) or apt-get install collectd-core")
    m = re.search(r"collectd ([0-9]+(?:\.[0-9]+)+)", subprocess.run([collectd, "-h"], capture_output=True, text=True).stdout)
    version = m.group(1) if m else "?"
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    tmp = tempfile.mkdtemp(prefix="dogwatch-checks-bench-")
    logdir = os.path.join(tmp, "logs")
    os.makedirs(logdir)
    per_check = not args.no_per_check
    try:
        web = free_port()
        server = start("dogwatch-server", [binary, "server", "--listen", "127.0.0.1:%d" % web, "--data-dir",
                                           os.path.join(tmp, "server")], clean_env(DD_API_KEY=API_KEY), logdir)
        until("the server on 127.0.0.1:%d" % web,
              lambda: alive(server) and socket.create_connection(("127.0.0.1", web), 1).close() is None, 30)

        # name -> (pid, cmd_port, data dir) / pid
        agents, collectds = {}, {}
        agent_setups = [("agent", {}), ("agent-baseline", {"DD_DISABLE_HOST_METRICS": "true"})]
        if per_check:
            for check in CHECKS:
                confd = os.path.join(tmp, "confd-" + check, check + ".d")
                os.makedirs(confd)
                with open(os.path.join(confd, "conf.yaml"), "w") as f:
                    f.write("init_config:\ninstances:\n  - {}\n")
                agent_setups.append(("agent-" + check, {"DD_DISABLE_HOST_METRICS": "true",
                                                        "DD_CONFD_PATH": os.path.dirname(confd)}))
        for name, extra in agent_setups:
            cmd_port = free_port()
            env = clean_env(DD_API_KEY=API_KEY, DD_DD_URL="http://127.0.0.1:%d" % web, DD_HOSTNAME="bench-" + name,
                            DD_CMD_PORT=cmd_port, DD_APM_RECEIVER_PORT=free_port(), DD_DOGSTATSD_PORT=0,
                            DD_APM_ENABLED="false", DD_PROCESS_CONFIG_PROCESS_COLLECTION_ENABLED="false", **extra)
            pid = start(name, [binary, "agent", "--data-dir", os.path.join(tmp, name)], env, logdir)
            agents[name] = (pid, cmd_port, os.path.join(tmp, name))
        collectd_setups = [("collectd", PLUGINS), ("collectd-baseline", ())]
        if per_check:
            collectd_setups += [("collectd-" + p, (p,)) for p in PLUGINS]
        for name, plugins in collectd_setups:
            conf = collectd_conf(tmp, name, plugins, args.interval, args.writer)
            collectds[name] = start(name, [collectd, "-f", "-C", conf], clean_env(), logdir)
        for name, (pid, port, adir) in agents.items():
            until("%s's status on %d" % (name, port), lambda: alive(pid) and report(port, adir), 30)
        for name, pid in collectds.items():
            if name != "collectd-baseline":
                until("%s's first values" % name, lambda: alive(pid) and collectd_counts(tmp, name, logdir, args.writer)[0] > 0, 30)
        log("== warm-up %.0f s, then %.0f s measured (%d agents, %d collectds, one server)"
            % (args.warmup, args.seconds, len(agents), len(collectds)))
        time.sleep(args.warmup)

        pids = {n: a[0] for n, a in agents.items()}
        pids.update(collectds)
        pids["server"] = server
        c0 = {n: cpu_seconds(p) for n, p in pids.items()}
        s0 = {n: check_stats(port, adir) for n, (_, port, adir) in agents.items()}
        r0 = {n: collectd_counts(tmp, n, logdir, args.writer) for n in collectds}
        w0 = time.monotonic()
        while time.monotonic() - w0 < args.seconds:
            for n, p in pids.items():
                if not alive(p):
                    raise SystemExit("%s exited early; its log: %s" % (n, os.path.join(logdir, n + ".log")))
            time.sleep(min(5, max(0.1, args.seconds - (time.monotonic() - w0))))
        wall = time.monotonic() - w0
        c1 = {n: cpu_seconds(p) for n, p in pids.items()}
        s1 = {n: check_stats(port, adir) for n, (_, port, adir) in agents.items()}
        r1 = {n: collectd_counts(tmp, n, logdir, args.writer) for n in collectds}
        for p in list(CHILDREN):
            stop(p)
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)

    cpu = {n: c1[n] - c0[n] for n in pids}
    runs = {n: {c: s1[n][c]["runs"] - s0[n].get(c, {}).get("runs", 0) for c in s1[n]} for n in agents}
    lists = {n: r1[n][0] - r0[n][0] for n in collectds}
    reads = {n: {p: r1[n][1].get(p, 0) - r0[n][1].get(p, 0) for p in r1[n][1]} for n in collectds}
    total_runs = sum(runs["agent"].values())
    total_reads = sum(reads["collectd"].values())
    share = cpu["agent"] - cpu["agent-baseline"]
    cd_share = cpu["collectd"] - cpu["collectd-baseline"]
    main_stats = s1["agent"]
    res = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "seconds": round(wall, 1), "interval": args.interval,
        "writer": args.writer, "collectd_version": version, "cores": os.cpu_count(), "cpu_s": cpu,
        "agent_check_runs": runs, "collectd_reads": reads, "collectd_value_lists": lists,
        "agent_samples_per_run": {c: main_stats[c]["samples_last"] for c in main_stats},
        "agent_avg_ms": {c: main_stats[c]["avg_ms"] for c in main_stats},
        "agent_states": {c: main_stats[c]["state"] for c in main_stats},
        "ratio_total": cpu["agent"] / cpu["collectd"],
        "ratio_share": share / cd_share if cd_share > 0 else None,
        "agent_us_per_check_run": cpu["agent"] * 1e6 / total_runs if total_runs else None,
        "agent_share_us_per_check_run": share * 1e6 / total_runs if total_runs else None,
        "collectd_us_per_plugin_read": cpu["collectd"] * 1e6 / total_reads if total_reads else None,
        "collectd_share_us_per_plugin_read": cd_share * 1e6 / total_reads if total_reads else None,
    }

    def row(label, name, count, unit):
        c = cpu[name]
        text = "  %-44s %7.3f s  %6.3f %% of a core" % (label, c, 100 * c / wall)
        return text + ("  %s %s" % (count, unit) if count is not None else "")

    print("core checks vs collectd %s: %.0f s measured after %.0f s warm-up, 15 s / Interval %d, %d cores, %s"
          % (version, wall, args.warmup, args.interval, os.cpu_count(), res["date"]))
    print("  CPU over the window (each process's CPU clock, all threads):")
    print(row("collectd (%s)" % ",".join(PLUGINS), "collectd", total_reads, "plugin reads, %d value lists" % lists["collectd"]))
    print(row("collectd, logfile + write_log only", "collectd-baseline", None, ""))
    print(row("dogwatch agent, core checks only", "agent", total_runs, "check runs"))
    print(row("dogwatch agent, core checks off (baseline)", "agent-baseline", None, ""))
    print(row("(dogwatch server: every agent's intake)", "server", None, ""))
    print("  agent / collectd: %.2f× whole processes; %.2f× the checks' share (%.3f s / %.3f s, each less its baseline)"
          % (res["ratio_total"], res["ratio_share"] or float("nan"), share, cd_share))
    if total_runs and total_reads:
        print("  CPU-µs per check run: %.0f whole agent, %.0f the checks' share; collectd per plugin read: %.0f whole, %.0f share"
              % (res["agent_us_per_check_run"], res["agent_share_us_per_check_run"], res["collectd_us_per_plugin_read"],
                 res["collectd_share_us_per_plugin_read"]))
    if per_check:
        res["per_check_us_per_run"], res["per_plugin_us_per_read"] = {}, {}
        print("  per check (its own agent less the baseline agent), CPU-µs per run; samples per run; status average:")
        for c in CHECKS:
            n = "agent-" + c
            r = runs[n].get(c, 0)
            us = (cpu[n] - cpu["agent-baseline"]) * 1e6 / r if r else float("nan")
            res["per_check_us_per_run"][c] = us
            st = main_stats.get(c, {})
            print("    %-12s %7.0f µs  (%d runs)  %4s samples  %sms  %s"
                  % (c, us, r, st.get("samples_last", "?"), st.get("avg_ms", "?"), st.get("state", "?")))
        print("  per collectd plugin (its own collectd less the baseline collectd), CPU-µs per read:")
        for p in PLUGINS:
            n = "collectd-" + p
            r = reads[n].get(p, 0)
            us = (cpu[n] - cpu["collectd-baseline"]) * 1e6 / r if r else float("nan")
            res["per_plugin_us_per_read"][p] = us
            print("    %-12s %7.0f µs  (%d reads, %d value lists)" % (p, us, r, lists[n]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
