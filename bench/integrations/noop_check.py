"""An AgentCheck that submits one gauge: its CPU per run is the Python check host's own cost
per run (the request, the check's run() wrapper, the reply), for bench/integrations_vs_python.sh."""

from datadog_checks.base import AgentCheck


class NoopCheck(AgentCheck):
    def check(self, _):
        self.gauge('bench.noop', 1)
