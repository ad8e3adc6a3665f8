"""Datadog's `kubeutil` builtin module: dogwatch has no kubelet connection."""


def get_connection_info():
    return {}
