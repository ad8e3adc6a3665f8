"""A custom check stuck in C code that holds the interpreter's lock (a regular expression that
backtracks for ever): no other thread of the host runs, the heartbeat included."""

import re

from checks import AgentCheck


class HoldsGilCheck(AgentCheck):
    def check(self, instance):
        re.match(r"(a+)+$", "a" * 64 + "b")
