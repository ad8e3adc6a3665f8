"""psutil's cost for what `ps -eo pid,ppid,user,pcpu,rss,vsz,nlwp,stat,lstart,args` shows.

Usage: psutil_bench.py [ITERATIONS]  (default 30)

Iterates psutil.process_iter over the same fields once to warm up (psutil keeps its Process
objects between calls, and cpu_percent needs a previous sample), then ITERATIONS times, timing
each with time.process_time() (this interpreter's user + system CPU time). Prints JSON:
{"processes": <processes in the last iteration>, "cpu_us": [<CPU µs per iteration>, ...]}.
Run by procbench (see README.md).
"""

import json
import sys
import time

import psutil

# The fields `ps -eo pid,ppid,user,pcpu,rss,vsz,nlwp,stat,lstart,args` prints.
ATTRS = ["pid", "ppid", "username", "cpu_percent", "memory_info", "num_threads", "status", "create_time", "cmdline"]


def one_pass():
    """Reads ATTRS for every process; returns how many processes there were."""
    count = 0
    for _ in psutil.process_iter(attrs=ATTRS):
        count += 1
    return count


def main():
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    one_pass()
    count = 0
    cpu_us = []
    for _ in range(iterations):
        start = time.process_time()
        count = one_pass()
        cpu_us.append((time.process_time() - start) * 1e6)
    json.dump({"processes": count, "cpu_us": cpu_us}, sys.stdout)


if __name__ == "__main__":
    main()
