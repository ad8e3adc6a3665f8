"""A custom check that writes garbage: a 2 MiB metric name (over the pipe's message limit) and
a lot of print() output, then one good gauge."""

import sys

from checks import AgentCheck


class FloodsCheck(AgentCheck):
    def check(self, instance):
        self.gauge("x" * (2 * 1024 * 1024), 1)
        for i in range(2000):
            print("garbage line", i, "{not json")
        sys.stdout.write("no newline at the end")
        self.gauge("pycheck.floods.survived", 1)
