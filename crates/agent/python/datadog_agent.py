"""Datadog's `datadog_agent` builtin module, as dogwatch's Python check host provides it."""

import json

import _dogwatch


def get_hostname():
    return _dogwatch.context.get("hostname", "")


def get_host_tags():
    return json.dumps({"system": list(_dogwatch.context.get("host_tags", []))})


def get_clustername():
    return _dogwatch.context.get("cluster_name", "")


def get_version():
    return _dogwatch.context.get("version", "")


def get_config(key):
    return _dogwatch.config_value(key)


def get_process_start_time():
    return _dogwatch.context.get("start_time", 0.0)


def tracemalloc_enabled():
    return False


def headers(agentConfig=None, http_host=None, **kwargs):
    out = {
        "User-Agent": "Datadog Agent/%s" % get_version(),
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "text/html, */*",
    }
    if http_host is not None:
        out["Host"] = http_host
    return out


def log(message, level):
    _dogwatch.send({"t": "log", "l": int(level), "m": str(message)})


def send_log(log_json, check_id):
    _dogwatch.send({"t": "unsupported", "what": "log"})


def set_check_metadata(check_id, name, value):
    _dogwatch.send({"t": "md", "c": check_id, "n": str(name), "v": str(value)})


def set_external_tags(tags):
    _dogwatch.send({"t": "unsupported", "what": "external tags"})


def write_persistent_cache(key, value):
    _dogwatch.send({"t": "cache_set", "k": str(key), "v": str(value)})


def read_persistent_cache(key):
    value = _dogwatch.query({"t": "cache_get", "k": str(key)})
    return value if isinstance(value, str) else ""


def _no_obfuscator(*args, **kwargs):
    raise RuntimeError(
        "dogwatch has no SQL/MongoDB obfuscator for Python checks (datadog_agent.obfuscate_*); "
        "turn off the options that need it (dbm, query samples)"
    )


obfuscate_sql = _no_obfuscator
obfuscate_sql_exec_plan = _no_obfuscator
obfuscate_mongodb_string = _no_obfuscator


def emit_agent_telemetry(*args, **kwargs):
    return None
