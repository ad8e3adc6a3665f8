#!/usr/bin/env python3
"""Loopback UDP DogStatsD benchmark: the highest datagram rate each server takes with no drops,
dogwatch side by side with Etsy's statsd server (npm `statsd`, pinned in bench/statsd-peer).

A C generator (bench/statsd-load/udpgen.c, built with `cc` into bench/target/statsd/) sends one
metric line per datagram, `bench.m<k>:1|c|#env:prod,host_group:g<k%10>` over `--contexts`
(1,000) contexts, paced at a fixed rate, for `--seconds` (10) per step, at each of `--rates`
(25k, 50k, 100k, 150k, 200k datagrams/s). For every step:

- sent: datagrams the kernel accepted from the generator (and the rate it really kept);
- received: the server's own count of UDP packets read (dogwatch: the DogStatsD section of its
  status report, `Udp Packets`; statsd: `packets_received`, summed over flushes by
  bench/statsd-peer/packet-count-backend.js, read through the management port's `stats`);
- socket drops: the kernel's drop counter of the server's socket (/proc/net/udp `drops`), and
  the host-wide Udp RcvbufErrors delta (/proc/net/snmp) — run nothing else meanwhile;
- the server's CPU (user + system, % of one core) and its peak RSS during the step.

A step is clean when nothing was lost (sent == received and no socket drops). After the steps
(a server stops after `--stop-after` lossy steps in a row), `--refine` more steps bisect between
its highest clean step and the first lossy one. A step is made only once the machine is quiet
(other processes under 10 % of a core, waiting at most `--quiet-wait` s), and a lossy step during
which other processes used more than that is run again (`--retries`). The summary gives each
server's highest clean rate (it and every lower step clean), the ratio dogwatch / statsd, and
dogwatch's RSS (VmRSS peak in the step, VmHWM) and CPU at 100k datagrams/s.

dogwatch runs as `--mode agent` (default): a `dogwatch up` as the server, its own DogStatsD off,
and a separate `dogwatch agent` process that receives the load and sends to it, so the RSS and CPU
are the agent's alone; or `--mode up`: one `dogwatch up` process (agent + server) takes the load.
Process collection is off in both (it is not what is measured). Both servers keep the OS's
default socket receive buffer (net.core.rmem_default) unless `--rcvbuf BYTES` sets it for both
(dogwatch: DD_DOGSTATSD_SO_RCVBUF; statsd: bench/statsd-peer/udp-rcvbuf-server.js, its own UDP
server with `recvBufferSize`).

    python3 bench/statsd_udp.py [--binary target/release/dogwatch] [--servers dogwatch,statsd]
        [--rates 25000,50000,100000,150000,200000] [--seconds 10] [--contexts 1000] [--mode agent|up]
        [--rcvbuf BYTES] [--refine 2] [--stop-after 2] [--retries 2] [--quiet-wait 60] [--json PATH]

Needs cc, Node.js 18+ with npm (the peer is installed with `npm ci` on first use), Linux /proc.
The generator and the server share the machine's cores: the generator's share (about 3 µs of
system time per datagram on loopback, where the sender's CPU also does the kernel's receive work)
is printed with each step.
"""

import argparse
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(REPO, "tests", "common"))
from dogwatch_up import Child, free_port  # noqa: E402  (children killed at exit, free loopback ports)
GEN_SRC = os.path.join(BENCH, "statsd-load", "udpgen.c")
GEN_BIN = os.path.join(BENCH, "target", "statsd", "udpgen")
PEER_DIR = os.path.join(BENCH, "statsd-peer")
TICK = os.sysconf("SC_CLK_TCK")
API_KEY = "bench-key-0123456789abcdef0123"
NOISY_PCT = 10  # other processes using more than this % of a core make a step "noisy"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


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


# --- the kernel's view ---------------------------------------------------------------------------


def udp_socket(port):
    """(rx_queue bytes, drops) of the UDP socket bound to `port`, from /proc/net/udp{,6}; None if none."""
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if int(cols[1].rsplit(":", 1)[1], 16) == port:
                        rx = int(cols[4].split(":")[1], 16)
                        return rx, int(cols[-1])
        except (OSError, StopIteration, IndexError, ValueError):
            continue
    return None


def snmp_udp():
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    return dict(zip(rows[0][1:], (int(v) for v in rows[1][1:])))


def rcvbuf_of(port):
    """The socket's receive buffer size (ss -m: skmem rb), or None."""
    try:
        out = subprocess.run(["ss", "-uamn", "sport = :%d" % port], capture_output=True, text=True, timeout=5).stdout
        m = re.search(r"\brb(\d+)", out)
        return int(m.group(1)) if m else None
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def busy_ticks():
    """CPU ticks spent busy on the whole machine (all cores) so far, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4]  # user..steal, less idle and iowait


def mem_kib(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                self.peak = max(self.peak, mem_kib(self.pid).get("VmRSS", 0))
            except OSError:
                return
            self.done.wait(0.25)

    def stop(self):
        self.done.set()
        self.join(2)
        return self.peak


# --- processes -----------------------------------------------------------------------------------


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "_DD_", "DOGWATCH_"))}
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Dogwatch:
    """The server under test: `received()` is the agent's UDP packet count (its status report)."""
    name = "dogwatch"

    def __init__(self, binary, mode, logdir, rcvbuf=0):
        self.dirs = [tempfile.mkdtemp(prefix="dogwatch-statsd-bench-")]
        self.procs = []
        self.port = free_port(socket.SOCK_DGRAM)
        web = free_port()
        common = dict(DD_API_KEY=API_KEY, DD_HOSTNAME="bench-host", DD_PROCESS_CONFIG_PROCESS_COLLECTION_ENABLED="false",
                      DD_APM_RECEIVER_PORT=free_port())
        if rcvbuf:
            common["DD_DOGSTATSD_SO_RCVBUF"] = rcvbuf
        if mode == "up":
            self.cmd_port = free_port()
            up = Child("dogwatch-up", [binary, "up", "--listen", "127.0.0.1:%d" % web, "--data-dir", self.dirs[0]],
                      clean_env(DD_CMD_PORT=self.cmd_port, DD_DOGSTATSD_PORT=self.port, **common), REPO, logdir)
            self.procs.append(up)
            self.agent = up
        else:
            up = Child("dogwatch-up", [binary, "up", "--listen", "127.0.0.1:%d" % web, "--data-dir", self.dirs[0]],
                      clean_env(DD_CMD_PORT=free_port(), DD_DOGSTATSD_PORT=0, **common), REPO, logdir)
            self.procs.append(up)
            self.wait_http(up, "http://127.0.0.1:%d/api/v1/validate?api_key=%s" % (web, API_KEY))
            self.dirs.append(tempfile.mkdtemp(prefix="dogwatch-statsd-bench-agent-"))
            self.cmd_port = free_port()
            common["DD_APM_RECEIVER_PORT"] = free_port()
            agent = Child("dogwatch-agent", [binary, "agent", "--data-dir", self.dirs[1]],
                         clean_env(DD_CMD_PORT=self.cmd_port, DD_DOGSTATSD_PORT=self.port,
                                   DD_DD_URL="http://127.0.0.1:%d" % web, **common), REPO, logdir)
            self.procs.append(agent)
            self.agent = agent
        self.pid = self.agent.proc.pid
        self.agent_dir = os.path.join(self.dirs[-1], "agent")
        self.wait_http(self.agent, "http://127.0.0.1:%d/agent/status" % self.cmd_port)
        until("dogwatch's DogStatsD socket on UDP %d" % self.port, lambda: udp_socket(self.port) is not None, 20)
        self.counter_name = None
        until("a DogStatsD section with a UDP packet counter in the status report", lambda: self.received() is not None, 20)

    def status_request(self, url):
        """A request to the agent's local API with its token (`<run_path>/auth_token`)."""
        headers = {}
        token = os.path.join(getattr(self, "agent_dir", ""), "auth_token")
        if os.path.exists(token):
            with open(token) as f:
                headers["Authorization"] = "Bearer " + f.read().strip()
        return urllib.request.Request(url, headers=headers)

    def wait_http(self, proc, url):
        def ok():
            if not proc.alive():
                raise SystemExit("%s exited:\n%s" % (proc.name, proc.output(20)))
            with urllib.request.urlopen(self.status_request(url), timeout=2) as r:
                return r.status == 200
        until(url, ok, 30)

    def report(self):
        url = "http://127.0.0.1:%d/agent/status" % self.cmd_port
        with urllib.request.urlopen(self.status_request(url), timeout=10) as r:
            return json.loads(r.read())

    def counters(self):
        """{line name: int} of the DogStatsD section."""
        out = {}
        for section in self.report().get("sections", []):
            if "dogstatsd" not in section.get("title", "").lower():
                continue
            for block in section.get("blocks", []):
                for line in block.get("lines", []):
                    v = str(line.get("value", "")).replace(",", "").strip()
                    if re.fullmatch(r"[0-9]+", v):
                        out[line.get("name", "").strip()] = int(v)
        return out

    def received(self):
        c = self.counters()
        if self.counter_name is None:
            names = [n for n in c if re.fullmatch(r"(?i)udp packets( received)?", n)]
            if not names:
                return None
            self.counter_name = names[0]
        return c.get(self.counter_name)

    def extra(self):
        c = self.counters()
        return {k: v for k, v in c.items() if re.search(r"(?i)metric packets|parse errors|dropped|reading errors", k)}

    def stop(self):
        for p in reversed(self.procs):
            p.stop()
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


class Statsd:
    """Etsy's statsd (npm `statsd`): flushes every 10 s to no backend but the packet counter."""
    name = "statsd"

    def __init__(self, logdir, rcvbuf=0):
        self.port = free_port(socket.SOCK_DGRAM)
        self.mgmt = free_port()
        self.dir = tempfile.mkdtemp(prefix="statsd-bench-")
        conf = os.path.join(self.dir, "config.js")
        config = {
            "address": "127.0.0.1", "port": self.port, "mgmt_address": "127.0.0.1", "mgmt_port": self.mgmt,
            "flushInterval": 10000, "deleteIdleStats": True, "automaticConfigReload": False,
            "backends": [os.path.join(PEER_DIR, "packet-count-backend.js")],
        }
        if rcvbuf:
            # statsd's UDP server with the socket's receive buffer set (udp-rcvbuf-server.js).
            config["servers"] = [{"server": os.path.join(PEER_DIR, "udp-rcvbuf-server.js"), "address": "127.0.0.1",
                                  "port": self.port, "recvBufferSize": rcvbuf}]
        with open(conf, "w") as f:
            f.write(json.dumps(config, indent=1))
        stats_js = os.path.join(PEER_DIR, "node_modules", "statsd", "stats.js")
        self.proc = Child("statsd", ["node", stats_js, conf], clean_env(), PEER_DIR, logdir)
        self.pid = self.proc.proc.pid
        until("statsd's UDP socket on %d" % self.port, lambda: udp_socket(self.port) is not None, 20)
        until("statsd's management port %d" % self.mgmt, lambda: self.stats().get("uptime") is not None, 20)

    def stats(self):
        if not self.proc.alive():
            raise SystemExit("statsd exited:\n%s" % self.proc.output(20))
        with socket.create_connection(("127.0.0.1", self.mgmt), timeout=5) as s:
            s.sendall(b"stats\n")
            buf = b""
            while b"END" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        out = {}
        for line in buf.decode().splitlines():
            if ": " in line:
                k, v = line.split(": ", 1)
                try:
                    out[k.strip()] = float(v)
                except ValueError:
                    pass
        return out

    def flushes(self):
        return int(self.stats().get("packetcount.flushes", 0))

    def received(self):
        return int(self.stats()["packetcount.packets_total"])

    def extra(self):
        s = self.stats()
        return {"bad_lines_seen": int(s.get("messages.bad_lines_seen", 0))}

    def stop(self):
        self.proc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the load ------------------------------------------------------------------------------------


def build_generator():
    if os.path.exists(GEN_BIN) and os.path.getmtime(GEN_BIN) >= os.path.getmtime(GEN_SRC):
        return
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        raise SystemExit("the generator needs a C compiler (cc); install one (Debian: apt-get install gcc)")
    os.makedirs(os.path.dirname(GEN_BIN), exist_ok=True)
    subprocess.run([cc, "-O2", "-Wall", "-o", GEN_BIN, GEN_SRC], check=True)


def install_peer():
    if os.path.isdir(os.path.join(PEER_DIR, "node_modules", "statsd")):
        return
    log("== npm ci (bench/statsd-peer)")
    subprocess.run(["npm", "ci", "--omit=optional", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER_DIR, check=True)


def generate(port, rate, seconds, contexts):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([GEN_BIN, str(port), str(rate), str(seconds), str(contexts)], capture_output=True, text=True,
                         timeout=seconds + 30)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit("udpgen failed: %s" % out.stderr)
    res = json.loads(out.stdout)
    res["cpu_s"] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return res


def drain(port, timeout=15):
    """Waits until the socket's receive queue is empty (the server read everything)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = udp_socket(port)
        if s is None or s[0] == 0:
            time.sleep(0.5)
            s = udp_socket(port)
            if s is None or s[0] == 0:
                return True
        time.sleep(0.1)
    return False


def step(server, rate, seconds, contexts):
    before_sock, before_snmp, before_rx, before_extra = udp_socket(server.port), snmp_udp(), server.received(), server.extra()
    before_cpu, before_busy, t0 = cpu_ticks(server.pid), busy_ticks(), time.monotonic()
    sampler = RssSampler(server.pid)
    sampler.start()
    gen = generate(server.port, rate, seconds, contexts)
    drained = drain(server.port)
    elapsed = time.monotonic() - t0
    cpu = (cpu_ticks(server.pid) - before_cpu) / TICK
    others = (busy_ticks() - before_busy) / TICK - cpu - gen["cpu_s"]
    peak = sampler.stop()
    after_sock, after_snmp, after_rx, after_extra = udp_socket(server.port), snmp_udp(), server.received(), server.extra()
    # The server's other counters over the step: what changed, and the metric lines it parsed.
    extra = {k: v - before_extra.get(k, 0) for k, v in after_extra.items()
             if v != before_extra.get(k, 0) or re.search(r"(?i)metric packets", k)}
    received = after_rx - before_rx
    sock_drops = after_sock[1] - before_sock[1]
    row = {
        "server": server.name, "rate": rate, "sent": gen["sent"], "send_errors": gen["errors"],
        "kept_rate": gen["rate"], "generator_behind_max": gen["behind_max"], "generator_cpu_s": round(gen["cpu_s"], 2),
        "received": received, "lost": gen["sent"] - received, "socket_drops": sock_drops,
        "rcvbuf_errors": after_snmp.get("RcvbufErrors", 0) - before_snmp.get("RcvbufErrors", 0),
        "in_errors": after_snmp.get("InErrors", 0) - before_snmp.get("InErrors", 0),
        "drained": drained, "cpu_pct": round(100 * cpu / gen["seconds"], 1), "cpu_s": round(cpu, 2),
        "rss_peak_mib": round(peak / 1024, 1), "hwm_mib": round(mem_kib(server.pid).get("VmHWM", 0) / 1024, 1),
        "others_cpu_pct": round(100 * max(0.0, others) / elapsed, 1),
        "step_s": round(elapsed, 1), "extra": extra,
    }
    row["clean"] = row["lost"] == 0 and row["socket_drops"] == 0 and row["send_errors"] == 0 and drained
    row["generator_kept_up"] = gen["rate"] >= 0.98 * rate
    return row


def wait_quiet(server_pid, timeout):
    """Waits (at most `timeout` s) until the machine is quiet: everything but the server used under
    NOISY_PCT of a core over one second. Returns whether it was."""
    deadline = time.monotonic() + timeout
    while True:
        b0, s0 = busy_ticks(), cpu_ticks(server_pid)
        time.sleep(1.0)
        others = 100 * ((busy_ticks() - b0) - (cpu_ticks(server_pid) - s0)) / TICK
        if others <= NOISY_PCT:
            return True
        if time.monotonic() > deadline:
            log("   (the machine is not quiet: other processes use %.0f%% of a core; going on)" % others)
            return False


def run_server(make, rates, seconds, contexts, stop_after, refine, retries, quiet_wait):
    server = make()
    rows = []
    try:
        buffer = rcvbuf_of(server.port)
        log("== %s: UDP 127.0.0.1:%d, receive buffer %s bytes, pid %d" % (server.name, server.port, buffer, server.pid))
        # Warm up: every context seen once, allocations made; statsd also flushes once (its packet
        # total is exact from its first flush on).
        generate(server.port, 5000, 2, contexts)
        drain(server.port)
        if isinstance(server, Statsd):
            until("statsd's first flush", lambda: server.flushes() >= 1, 15, every=0.5)
        def one(rate, refining=False):
            for attempt in range(1 + retries):
                wait_quiet(server.pid, quiet_wait)
                row = step(server, rate, seconds, contexts)
                if row["clean"] or row["others_cpu_pct"] <= NOISY_PCT or attempt == retries:
                    break
                log("   %7d/s: lost %d while other processes used %.0f%% of a core: again (%d of %d)" % (
                    rate, row["lost"], row["others_cpu_pct"], attempt + 1, retries))
            row["refine"] = refining
            row["rcvbuf"] = buffer
            rows.append(row)
            log("   %7d/s%s: sent %d (kept %d/s%s), received %d, lost %d, socket drops %d, server CPU %.0f%%, RSS peak %.1f MiB, "
                "generator %.1f CPU-s, everything else %.0f%% %s" % (
                    rate, " (refining)" if refining else "", row["sent"], row["kept_rate"],
                    "" if row["generator_kept_up"] else " — the generator fell behind",
                    row["received"], row["lost"], row["socket_drops"], row["cpu_pct"], row["rss_peak_mib"],
                    row["generator_cpu_s"], row["others_cpu_pct"], row["extra"]))
            time.sleep(1)
            return row["clean"] and row["generator_kept_up"]

        losing, lo, hi = 0, 0, None
        for rate in rates:
            ok = one(rate)
            if ok and hi is None:
                lo = rate
            elif not ok and hi is None:
                hi = rate
            losing = 0 if ok else losing + 1
            if stop_after and losing >= stop_after:
                log("   (%d steps in a row lost datagrams: stopping %s here)" % (losing, server.name))
                break
        # Bisect between the highest clean step and the first lossy one, to the nearest 1,000/s.
        for _ in range(refine if hi else 0):
            mid = int(round((lo + hi) / 2, -3))
            if mid <= lo or mid >= hi:
                break
            if one(mid, refining=True):
                lo = mid
            else:
                hi = mid
    finally:
        server.stop()
    return rows


def summarize(all_rows, rates):
    by = {}
    for r in all_rows:
        by.setdefault(r["server"], []).append(r)
    best = {}
    for name, rows in by.items():
        clean = [r["rate"] for r in rows if r["clean"] and r["generator_kept_up"]]
        # The highest rate such that it and every lower step were clean.
        top = 0
        for r in sorted(rows, key=lambda r: r["rate"]):
            if r["clean"] and r["generator_kept_up"]:
                top = r["rate"]
            else:
                break
        best[name] = {"highest_clean_rate": top, "clean_rates": clean}
    lines = ["| server | rate/s | sent | kept/s | received | lost | socket drops | server CPU | RSS peak | VmHWM | other CPU |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in sorted(all_rows, key=lambda r: (r["server"] != "dogwatch", r["rate"])):
        lines.append("| %s | %d | %d | %d%s | %d | %d | %d | %.0f %% | %.1f MiB | %.1f MiB | %.0f %% |" % (
            r["server"], r["rate"], r["sent"], r["kept_rate"], "" if r["generator_kept_up"] else " (behind)", r["received"],
            r["lost"], r["socket_drops"], r["cpu_pct"], r["rss_peak_mib"], r["hwm_mib"], r["others_cpu_pct"]))
    noisy = [r for r in all_rows if r["others_cpu_pct"] > NOISY_PCT]
    if noisy:
        lines.append("")
        lines.append("note: in %d step(s) other processes used more than 10 %% of a core (last column): the machine was not "
                     "quiet, and drops there may be theirs" % len(noisy))
    lines.append("")
    for name, b in best.items():
        buffers = sorted({r.get("rcvbuf") for r in by[name]}, key=str)
        lines.append("%s: highest rate with no drops (it and every lower step): %s (socket receive buffer %s bytes)" % (
            name, "{:,} datagrams/s".format(b["highest_clean_rate"]) if b["highest_clean_rate"] else "none of the steps",
            ", ".join(str(x) for x in buffers)))
    if "dogwatch" in best and "statsd" in best and best["statsd"]["highest_clean_rate"]:
        ratio = best["dogwatch"]["highest_clean_rate"] / best["statsd"]["highest_clean_rate"]
        capped = max(rates) == best["dogwatch"]["highest_clean_rate"]
        lines.append("ratio dogwatch / statsd: %.2f%s" % (ratio, " (dogwatch clean at the top step: a lower bound)" if capped else ""))
    at100 = [r for r in all_rows if r["server"] == "dogwatch" and r["rate"] == 100000]
    if at100:
        r = at100[0]
        lines.append("dogwatch at 100k datagrams/s: %s, RSS peak %.1f MiB (VmHWM %.1f MiB), CPU %.0f %% of a core" % (
            "no drops" if r["clean"] else "LOST %d of %d" % (r["lost"], r["sent"]), r["rss_peak_mib"], r["hwm_mib"], r["cpu_pct"]))
    return best, "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(REPO, "target", "release", "dogwatch"))
    ap.add_argument("--servers", default="dogwatch,statsd", help="comma-separated: dogwatch, statsd")
    ap.add_argument("--rates", default="25000,50000,100000,150000,200000")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--contexts", type=int, default=1000)
    ap.add_argument("--mode", choices=("agent", "up"), default="agent",
                    help="agent: a separate `dogwatch agent` takes the load (default); up: one `dogwatch up` process")
    ap.add_argument("--stop-after", type=int, default=2, help="stop a server after this many lossy steps in a row (0: never)")
    ap.add_argument("--refine", type=int, default=2,
                    help="after the steps, this many more between the highest clean step and the first lossy one (bisection)")
    ap.add_argument("--retries", type=int, default=2,
                    help="run a lossy step again, up to this many times, when other processes used more than 10%% of a core in it")
    ap.add_argument("--quiet-wait", type=float, default=60,
                    help="before each step, wait up to this many seconds for other processes to use under 10%% of a core")
    ap.add_argument("--rcvbuf", type=int, default=0,
                    help="both servers' socket receive buffer in bytes (dogwatch: DD_DOGSTATSD_SO_RCVBUF; statsd: its UDP "
                         "server with recvBufferSize); the kernel caps it at net.core.rmem_max and doubles it. "
                         "0 (default): the OS default (net.core.rmem_default)")
    ap.add_argument("--json", help="also write the rows and summary as JSON to this file")
    args = ap.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    build_generator()
    logdir = tempfile.mkdtemp(prefix="statsd-bench-logs-")
    rows = []
    try:
        for name in servers:
            if name == "dogwatch":
                if not os.path.exists(args.binary):
                    raise SystemExit("no dogwatch binary at %s: cargo build --release -p dogwatch, or pass --binary" % args.binary)
                rows += run_server(lambda: Dogwatch(os.path.abspath(args.binary), args.mode, logdir, args.rcvbuf), rates, args.seconds,
                                   args.contexts, args.stop_after, args.refine,
                                   args.retries, args.quiet_wait)
            elif name == "statsd":
                install_peer()
                rows += run_server(lambda: Statsd(logdir, args.rcvbuf), rates, args.seconds, args.contexts, args.stop_after, args.refine,
                                   args.retries, args.quiet_wait)
            else:
                raise SystemExit("unknown server %r (dogwatch, statsd)" % name)
    finally:
        log("logs: %s" % logdir)
    best, text = summarize(rows, rates)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "best": best, "mode": args.mode, "seconds": args.seconds, "contexts": args.contexts,
                       "rcvbuf": args.rcvbuf}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
