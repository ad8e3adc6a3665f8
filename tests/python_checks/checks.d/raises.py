"""A custom check whose run raises."""

from checks import AgentCheck


class RaisesCheck(AgentCheck):
    def check(self, instance):
        self.gauge("pycheck.raises.before", 1)
        self.compute()

    def compute(self):
        raise ValueError("pycheck raises on purpose")
