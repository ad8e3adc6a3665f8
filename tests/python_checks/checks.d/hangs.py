"""A custom check whose run never returns (it sleeps an hour)."""

import time

from checks import AgentCheck


class HangsCheck(AgentCheck):
    def check(self, instance):
        self.gauge("pycheck.hangs.started", 1)
        time.sleep(3600)
