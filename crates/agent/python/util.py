"""Datadog's legacy `util` builtin module."""

import datadog_agent


def headers(agentConfig=None, **kwargs):
    return datadog_agent.headers(agentConfig, **kwargs)


def get_hostname(config=None):
    return datadog_agent.get_hostname()
