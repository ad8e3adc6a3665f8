"""End-to-end trace intake benchmark: spans per second from HTTP PUT /v0.4/traces on the
agent's receiver to rows in the embedded store, through a real `dogwatch up` (receiver,
pipeline, forwarder, server intake, SQLite).

Two client threads send pre-encoded v0.4 msgpack bodies (100 traces x 10 spans, ~10 tags per
span) over keep-alive connections as fast as the receiver answers; the figure is the spans
counted in the store divided by the time from the first request until the store holds them
all. The client runs on the same machine, so it takes part of its CPU.

Run with the tracer virtualenv (it has msgpack):
    target/tracer-env/bin/python bench/apm_e2e.py [--binary target/release/dogwatch] [--spans 1000000]
"""

import argparse
import http.client
import os
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time

import msgpack


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def body(seed, now_ns):
    traces = []
    for t in range(100):
        trace_id = seed * 1000 + t + 1
        spans = []
        for i in range(10):
            spans.append({
                "service": "web" if i < 5 else "postgres",
                "name": "flask.request" if i == 0 else "postgres.query",
                "resource": "GET /users/%d" % (t % 20) if i == 0 else "SELECT * FROM users WHERE id = %d" % t,
                "trace_id": trace_id, "span_id": trace_id * 16 + i + 1,
                "parent_id": 0 if i == 0 else trace_id * 16 + 1,
                "start": now_ns + i * 1000, "duration": 1_000_000, "error": 0,
                "meta": {"env": "prod", "version": "1.4.2", "component": "flask", "span.kind": "client",
                         "runtime-id": "4c5f0a8f9e1d4b8a9d0e3f1a2b3c4d5e", "http.method": "GET",
                         "http.status_code": "200", "out.host": "db.internal"},
                "metrics": {"_sampling_priority_v1": 1.0, "process_id": 4242.0},
                "type": "web" if i == 0 else "sql",
            })
        traces.append(spans)
    return msgpack.packb(traces)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/dogwatch")
    parser.add_argument("--spans", type=int, default=1_000_000)
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="dogwatch-apm-bench-")
    port, apm_port, cmd_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DD_")}
    env.update(DD_API_KEY="bench-key-0123456789", DD_APM_RECEIVER_PORT=str(apm_port), DD_CMD_PORT=str(cmd_port),
               DD_DOGSTATSD_PORT="0", DD_PROCESS_CONFIG_PROCESS_COLLECTION_ENABLED="false",
               DD_APM_TARGET_TPS="1000000")
    up = subprocess.Popen([args.binary, "up", "--listen", "127.0.0.1:%d" % port, "--data-dir", data], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", apm_port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("the receiver never listened")
                time.sleep(0.1)
        now = time.time_ns()
        bodies = [body(seed, now) for seed in range(32)]
        requests = args.spans // 1000
        sent = [0]
        lock = threading.Lock()

        def client(offset):
            conn = http.client.HTTPConnection("127.0.0.1", apm_port, timeout=30)
            while True:
                with lock:
                    if sent[0] >= requests:
                        return
                    n = sent[0]
                    sent[0] += 1
                conn.request("PUT", "/v0.4/traces", bodies[(n + offset) % len(bodies)],
                             {"Content-Type": "application/msgpack", "Datadog-Meta-Lang": "python"})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    raise SystemExit("receiver answered %d" % response.status)

        started = time.time()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sent_s = time.time() - started
        db = sqlite3.connect(os.path.join(data, "dogwatch.db"), timeout=30)
        target = requests * 1000
        count = 0
        while time.time() - started < 600:
            count = db.execute("SELECT count(*) FROM spans").fetchone()[0]
            if count >= target:
                break
            time.sleep(0.2)
        stored_s = time.time() - started
        rss = int(open("/proc/%d/status" % up.pid).read().split("VmRSS:")[1].split()[0]) // 1024
        print("apm e2e: %d spans sent in %.1f s (%.0f spans/s accepted); %d stored after %.1f s = %.0f spans/s end to end; dogwatch up RSS %d MiB"
              % (target, sent_s, target / sent_s, count, stored_s, count / stored_s, rss))
        print("  goal 50,000 spans/s: %.2fx" % (count / stored_s / 50_000))
    finally:
        up.terminate()
        up.wait(timeout=30)
        subprocess.run(["rm", "-rf", data])


if __name__ == "__main__":
    main()
