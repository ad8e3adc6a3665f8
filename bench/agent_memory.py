#!/usr/bin/env python3
"""The agent's memory, idle and under DogStatsD load, with everything on, against a real server.

A `dogwatch server` (its own --data-dir, loopback port) and a `dogwatch agent` sending to it with
DD_API_KEY set to the server's key; the agent runs with its defaults: live processes every 10 s,
the APM receiver, DogStatsD on UDP, the core system checks every 15 s and host metadata (each on
its own free loopback port: DD_CMD_PORT, DD_DOGSTATSD_PORT, DD_APM_RECEIVER_PORT). Then:

- idle for `--idle` s (60): every second, each process's /proc/PID/status (VmRSS = RssAnon +
  RssFile + RssShmem) and /proc/PID/smaps_rollup AnonHugePages (memory in transparent huge pages);
  the report gives the last sample and the largest of the idle window;
- under load for `--load-seconds` s (30): bench/statsd-load/udpgen (the generator of
  bench/statsd_udp.py) sends `--rate` (100,000) datagrams/s of one counter line each over
  `--contexts` (1,000) contexts; the report gives the peak and last samples, the agent's CPU
  (% of one core), and drops: datagrams sent against the agent's `Udp Packets` counter, plus
  the kernel's drop counter for the agent's socket (/proc/net/udp).

`--env KEY=VALUE` (repeatable) is set for both processes, e.g. `--env MIMALLOC_ALLOW_THP=0` to
compare an allocator setting. `--json PATH` writes every figure.

    python3 bench/agent_memory.py [--binary target/release/dogwatch] [--idle 60] [--load-seconds 30]
        [--rate 100000] [--contexts 1000] [--env KEY=VALUE ...] [--json PATH]

Needs cc and Linux /proc. Everything listens on 127.0.0.1; both processes are stopped at exit.
"""

import argparse
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
sys.dont_write_bytecode = True  # no bench/__pycache__ from importing statsd_udp
import statsd_udp as su  # noqa: E402  (generator, /proc/net/udp, status counters)
from statsd_udp import Child, free_port, until, log  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
API_KEY = "bench-key-0123456789abcdef0123"
FIELDS = ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM")


def mem(pid):
    """{field: KiB} from /proc/PID/status, plus AnonHugePages from smaps_rollup."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            name = line.split(":", 1)[0]
            if name in FIELDS:
                out[name] = int(line.split()[1])
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("AnonHugePages:"):
                    out["AnonHugePages"] = int(line.split()[1])
    except OSError:
        pass
    return out


class Sampler(threading.Thread):
    """Samples mem() of each pid every second until stopped."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids, self.samples, self.done = pids, {p: [] for p in pids}, threading.Event()

    def run(self):
        while not self.done.is_set():
            for p in self.pids:
                try:
                    self.samples[p].append(mem(p))
                except OSError:
                    pass
            self.done.wait(1.0)

    def stop(self):
        self.done.set()
        self.join(5)
        return self.samples


def summary(samples):
    """Last and peak (by VmRSS) of each field, MiB."""
    if not samples:
        return {}
    last = samples[-1]
    peak = {k: max(s.get(k, 0) for s in samples) for k in last}
    return {"last": {k: round(v / 1024, 1) for k, v in last.items()},
            "peak": {k: round(v / 1024, 1) for k, v in peak.items()}}


def fmt(s):
    order = ("VmRSS", "RssAnon", "RssFile", "RssShmem", "AnonHugePages", "VmHWM")
    return ", ".join("%s %.1f" % (k, s[k]) for k in order if k in s) + " MiB"


def auth_header(agent_dir):
    """The agent's local API token (`<run_path>/auth_token`, under its data directory) as a
    header; none for a binary from before the local API wanted one."""
    for root, _, files in os.walk(agent_dir):
        if "auth_token" in files:
            with open(os.path.join(root, "auth_token")) as f:
                return {"Authorization": "Bearer " + f.read().strip()}
    return {}


def status_counters(cmd_port, agent_dir):
    """{line name: int} of the agent's DogStatsD status section."""
    req = urllib.request.Request("http://127.0.0.1:%d/agent/status" % cmd_port, headers=auth_header(agent_dir))
    with urllib.request.urlopen(req, timeout=10) as r:
        report = json.loads(r.read())
    out = {}
    for section in report.get("sections", []):
        if "dogstatsd" not in section.get("title", "").lower():
            continue
        for block in section.get("blocks", []):
            for line in block.get("lines", []):
                v = str(line.get("value", "")).replace(",", "").strip()
                if v.isdigit():
                    out[line.get("name", "").strip()] = int(v)
    return out


def connects(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def udp_packets(counters):
    for name, v in counters.items():
        if name.lower() in ("udp packets", "udp packets received"):
            return v
    raise SystemExit("no `Udp Packets` line in the agent's DogStatsD status section: %r" % counters)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(REPO, "target", "release", "dogwatch"))
    ap.add_argument("--idle", type=float, default=60)
    ap.add_argument("--load-seconds", type=int, default=30)
    ap.add_argument("--rate", type=int, default=100_000)
    ap.add_argument("--contexts", type=int, default=1000)
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--json")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    if not os.path.exists(binary):
        raise SystemExit("no binary at %s (cargo build --release -p dogwatch)" % binary)
    extra = dict(kv.split("=", 1) for kv in args.env)
    su.build_generator()

    logdir = tempfile.mkdtemp(prefix="dogwatch-mem-bench-logs-")
    dirs = [tempfile.mkdtemp(prefix="dogwatch-mem-bench-server-"), tempfile.mkdtemp(prefix="dogwatch-mem-bench-agent-")]
    web, cmd_port, apm_port = free_port(), free_port(), free_port()
    statsd_port = free_port(socket.SOCK_DGRAM)
    server = agent = None
    try:
        server = Child("dogwatch-server", [binary, "server", "--listen", "127.0.0.1:%d" % web, "--data-dir", dirs[0]],
                       su.clean_env(DD_API_KEY=API_KEY, **extra), REPO, logdir)
        until("the server on 127.0.0.1:%d" % web, lambda: connects(web), 30)
        agent = Child("dogwatch-agent", [binary, "agent", "--data-dir", dirs[1]],
                      su.clean_env(DD_API_KEY=API_KEY, DD_DD_URL="http://127.0.0.1:%d" % web, DD_HOSTNAME="bench-host",
                                   DD_CMD_PORT=cmd_port, DD_DOGSTATSD_PORT=statsd_port, DD_APM_RECEIVER_PORT=apm_port,
                                   **extra), REPO, logdir)
        until("the agent's status on %d" % cmd_port, lambda: status_counters(cmd_port, dirs[1]) is not None, 30)
        until("the agent's DogStatsD socket", lambda: su.udp_socket(statsd_port) is not None, 20)
        until("the APM receiver", lambda: connects(apm_port), 20)
        pids = {"agent": agent.proc.pid, "server": server.proc.pid}
        log("== idle %.0f s (agent pid %d, server pid %d)" % (args.idle, pids["agent"], pids["server"]))
        sampler = Sampler(list(pids.values()))
        c0 = su.cpu_ticks(pids["agent"])
        sampler.start()
        time.sleep(args.idle)
        idle = sampler.stop()
        idle_cpu = (su.cpu_ticks(pids["agent"]) - c0) / TICK / args.idle * 100
        result = {"env": extra, "idle_s": args.idle, "idle": {}, "load": {}}
        for name, pid in pids.items():
            result["idle"][name] = summary(idle[pid])
        result["idle"]["agent_cpu_pct"] = round(idle_cpu, 2)

        log("== %d datagrams/s for %d s" % (args.rate, args.load_seconds))
        before = udp_packets(status_counters(cmd_port, dirs[1]))
        drops0 = su.udp_socket(statsd_port)[1]
        sampler = Sampler(list(pids.values()))
        c0, t0 = su.cpu_ticks(pids["agent"]), time.monotonic()
        sampler.start()
        gen = su.generate(statsd_port, args.rate, args.load_seconds, args.contexts)
        su.drain(statsd_port)
        load_cpu = (su.cpu_ticks(pids["agent"]) - c0) / TICK / (time.monotonic() - t0) * 100
        time.sleep(2)
        loaded = sampler.stop()
        received = udp_packets(status_counters(cmd_port, dirs[1])) - before
        drops = su.udp_socket(statsd_port)[1] - drops0
        for name, pid in pids.items():
            result["load"][name] = summary(loaded[pid])
        result["load"].update(rate=args.rate, seconds=args.load_seconds, sent=gen["sent"], kept_rate=round(gen["rate"]),
                              received=received, socket_drops=drops, lost=gen["sent"] - received,
                              agent_cpu_pct=round(load_cpu, 1))
    finally:
        for c in (agent, server):
            if c is not None:
                c.stop()
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)

    print("agent memory (%s)%s" % (os.path.relpath(binary, REPO), (" with " + " ".join(args.env)) if args.env else ""))
    for phase in ("idle", "load"):
        r = result[phase]
        if phase == "idle":
            print("  idle %.0f s, agent CPU %.2f %% of a core" % (args.idle, r["agent_cpu_pct"]))
        else:
            print("  %d datagrams/s for %d s (kept %d/s): sent %d, agent received %d, lost %d, socket drops %d; agent CPU %.1f %%"
                  % (r["rate"], r["seconds"], r["kept_rate"], r["sent"], r["received"], r["lost"], r["socket_drops"],
                     r["agent_cpu_pct"]))
        for name in ("agent", "server"):
            print("    %-6s last: %s" % (name, fmt(r[name]["last"])))
            print("    %-6s peak: %s" % (name, fmt(r[name]["peak"])))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    shutil.rmtree(logdir, ignore_errors=True)


if __name__ == "__main__":
    main()
