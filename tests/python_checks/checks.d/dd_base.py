"""A custom check on Datadog's datadog_checks.base (PyPI), for the Python check host's tests."""

import time

from datadog_checks.base import AgentCheck

__version__ = "1.2.3"


class DdBaseCheck(AgentCheck):
    def __init__(self, name, init_config, instances):
        super().__init__(name, init_config, instances)
        self.runs = 0  # kept between runs: the same object runs every time

    def check(self, instance):
        self.runs += 1
        tags = ["kind:base"] + instance.get("extra_tags", [])
        print("stdout from a check must not break the protocol", self.runs)
        self.gauge("pycheck.base.runs", self.runs, tags=tags)
        self.gauge("pycheck.base.gauge", 42.5, tags=tags)
        self.gauge("pycheck.base.elsewhere", 1, tags=tags, hostname="other-host")
        self.rate("pycheck.base.rate", time.time() * 100, tags=tags)
        self.monotonic_count("pycheck.base.mcount", self.runs * 5, tags=tags)
        self.count("pycheck.base.count", 2, tags=tags)
        self.count("pycheck.base.count", 3, tags=tags)
        for value in range(1, 101):
            self.histogram("pycheck.base.hist", value, tags=tags)
        self.service_check("pycheck.base.can_connect", AgentCheck.OK, tags=tags, message="all good")
        if self.runs == 1:
            self.event(
                {
                    "timestamp": int(time.time()),
                    "event_type": "pycheck",
                    "msg_title": "pycheck base started",
                    "msg_text": "the first run of dd_base",
                    "alert_type": "success",
                    "tags": tags,
                }
            )
        self.set_metadata("version", "7.0.15")
        cached = int(self.read_persistent_cache("runs") or 0) + 1
        self.write_persistent_cache("runs", str(cached))
        self.gauge("pycheck.base.cached_runs", cached, tags=tags)
        self.gauge("pycheck.base.hostname_known", 1 if self.hostname else 0, tags=tags)
