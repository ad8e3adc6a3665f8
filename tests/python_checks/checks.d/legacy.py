"""A custom check written for Agent 5's `from checks import AgentCheck`."""

import time

from checks import AgentCheck

__version__ = "0.9.0"


class LegacyCheck(AgentCheck):
    def __init__(self, *args, **kwargs):
        AgentCheck.__init__(self, *args, **kwargs)
        self.runs = 0

    def check(self, instance):
        self.runs += 1
        self.gauge("pycheck.legacy.runs", self.runs, tags=["kind:legacy"])
        self.rate("pycheck.legacy.rate", time.time() * 50, tags=["kind:legacy"])
        self.monotonic_count("pycheck.legacy.mcount", self.runs * 3, tags=["kind:legacy"])
        for value in (1, 2, 3, 4):
            self.histogram("pycheck.legacy.hist", value, tags=["kind:legacy"])
        self.service_check("pycheck.legacy.up", AgentCheck.WARNING, tags=["kind:legacy"], message="legacy ok-ish")
        if self.runs == 1:
            self.event({"timestamp": int(time.time()), "msg_title": "pycheck legacy started", "msg_text": "hello",
                        "tags": ["kind:legacy"]})
        self.set_metadata("version", "2.4.1")
        if self.runs == 2:
            self.warning("second run of %s", "legacy")
