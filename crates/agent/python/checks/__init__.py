"""The legacy `checks` package (Agent 5's `from checks import AgentCheck`).

When Datadog's datadog_checks.base is installed in this Python, AgentCheck is its AgentCheck,
as the Datadog agent's `checks` shim makes it. Otherwise it is dogwatch's small AgentCheck
(checks/_agent_check.py), which has the same submission API over the aggregator and
datadog_agent modules.
"""

try:
    from datadog_checks.base import AgentCheck  # noqa: F401
    from datadog_checks.base.errors import CheckException  # noqa: F401
except ImportError as error:
    if not (error.name or "").startswith("datadog_checks"):
        raise
    from checks._agent_check import AgentCheck, CheckException  # noqa: F401

__all__ = ["AgentCheck", "CheckException"]
