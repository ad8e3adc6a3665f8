"""dogwatch's own AgentCheck, for checks written `from checks import AgentCheck` on a Python
without datadog_checks.base. It implements the submission API of datadog_checks.base 38's
AgentCheck (gauge, count, monotonic_count, rate, histogram, historate, increment, decrement,
service_check, event, set_metadata, warning, log, the persistent cache) over the `aggregator`
and `datadog_agent` modules; the agent does the math.
"""

import copy
import json
import logging
import re
import traceback

import aggregator
import datadog_agent


class CheckException(Exception):
    pass


class AgentLogHandler(logging.Handler):
    """Sends a check's log records to the agent's log."""

    def emit(self, record):
        try:
            datadog_agent.log(self.format(record), record.levelno)
        except Exception:
            pass


_handler = AgentLogHandler()
_handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))


def _logger(name):
    log = logging.getLogger("checks." + name)
    if _handler not in log.handlers:
        log.addHandler(_handler)
        log.setLevel(logging.DEBUG)
        log.propagate = False
    return log


_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+.~]?(.*))?$")


class AgentCheck(object):
    OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
    __NAMESPACE__ = ""

    def __init__(self, *args, **kwargs):
        self.name = kwargs.get("name", args[0] if args else "")
        self.init_config = kwargs.get("init_config", args[1] if len(args) > 1 else None) or {}
        self.agentConfig = kwargs.get("agentConfig", {})
        instances = kwargs.get("instances")
        if instances is None and len(args) > 3:
            self.agentConfig, instances = args[2] or {}, args[3]
        elif instances is None and len(args) > 2:
            instances = args[2]
        self.instances = list(instances or [])
        self.instance = self.instances[0] if self.instances else None
        self.check_id = ""
        self.warnings = []
        self.log = _logger(self.name)
        self.hostname = datadog_agent.get_hostname()

    # --- metrics ------------------------------------------------------------------------
    def _submit(self, mtype, name, value, tags, hostname, device_name, raw, flush_first_value=False):
        if value is None:
            return
        try:
            value = float(value)
        except (TypeError, ValueError):
            self.warning("Metric: %r has non float value: %r. Only float values can be submitted.", name, value)
            return
        if not raw and self.__NAMESPACE__:
            name = "%s.%s" % (self.__NAMESPACE__, name)
        aggregator.submit_metric(
            self,
            self.check_id,
            mtype,
            name,
            value,
            self._tags(tags, device_name),
            hostname or "",
            flush_first_value,
        )

    def _tags(self, tags, device_name=None):
        out = []
        for tag in tags or []:
            if isinstance(tag, bytes):
                tag = tag.decode("utf-8", "replace")
            if tag is not None:
                out.append(str(tag))
        if device_name:
            out.append("device:%s" % device_name)
        return out

    def gauge(self, name, value, tags=None, hostname=None, device_name=None, raw=False):
        self._submit(aggregator.GAUGE, name, value, tags, hostname, device_name, raw)

    def count(self, name, value, tags=None, hostname=None, device_name=None, raw=False):
        self._submit(aggregator.COUNT, name, value, tags, hostname, device_name, raw)

    def monotonic_count(self, name, value, tags=None, hostname=None, device_name=None, raw=False, flush_first_value=False):
        self._submit(aggregator.MONOTONIC_COUNT, name, value, tags, hostname, device_name, raw, flush_first_value)

    def rate(self, name, value, tags=None, hostname=None, device_name=None, raw=False):
        self._submit(aggregator.RATE, name, value, tags, hostname, device_name, raw)

    def histogram(self, name, value, tags=None, hostname=None, device_name=None, raw=False):
        self._submit(aggregator.HISTOGRAM, name, value, tags, hostname, device_name, raw)

    def historate(self, name, value, tags=None, hostname=None, device_name=None, raw=False):
        self._submit(aggregator.HISTORATE, name, value, tags, hostname, device_name, raw)

    def increment(self, name, value=1, tags=None, hostname=None, device_name=None, raw=False):
        self._submit(aggregator.COUNTER, name, value, tags, hostname, device_name, raw)

    def decrement(self, name, value=-1, tags=None, hostname=None, device_name=None, raw=False):
        self._submit(aggregator.COUNTER, name, value, tags, hostname, device_name, raw)

    # --- service checks, events, metadata --------------------------------------------------
    def service_check(self, name, status, tags=None, hostname=None, message=None, raw=False):
        if not raw and self.__NAMESPACE__:
            name = "%s.%s" % (self.__NAMESPACE__, name)
        aggregator.submit_service_check(
            self, self.check_id, name, int(status), self._tags(tags), hostname or "", message or ""
        )

    def event(self, event):
        event = dict(event)
        for key in ("msg_title", "msg_text", "event_type", "aggregation_key", "source_type_name", "host"):
            if isinstance(event.get(key), bytes):
                event[key] = event[key].decode("utf-8", "replace")
        if "tags" in event:
            event["tags"] = self._tags(event["tags"])
        aggregator.submit_event(self, self.check_id, event)

    def set_metadata(self, name, value, **options):
        if not datadog_agent.get_config("enable_metadata_collection"):
            return
        if name == "version":
            for key, part in self._version_parts(str(value), options).items():
                datadog_agent.set_check_metadata(self.check_id, key, part)
        else:
            datadog_agent.set_check_metadata(self.check_id, name, str(value))

    @staticmethod
    def _version_parts(raw, options):
        parts = {}
        match = _VERSION.match(raw.strip())
        if match and options.get("scheme", "semver") in ("semver", "parts"):
            major, minor, patch, rest = match.groups()
            parts["version.major"] = major
            if minor is not None:
                parts["version.minor"] = minor
            if patch is not None:
                parts["version.patch"] = patch
            if rest and options.get("scheme", "semver") == "semver":
                parts["version.release"] = rest
            parts["version.scheme"] = "semver"
        parts["version.raw"] = raw
        return parts

    # --- warnings, cache, config -------------------------------------------------------------
    def warning(self, warning_message, *args, **kwargs):
        message = str(warning_message)
        if args:
            message = message % args
        self.log.warning(message)
        self.warnings.append(message)

    def get_warnings(self):
        warnings, self.warnings = self.warnings, []
        return warnings

    def get_diagnoses(self):
        return "[]"

    def _persistent_cache_id(self, key):
        return "%s_%s" % (self.check_id, key)

    def read_persistent_cache(self, key):
        return datadog_agent.read_persistent_cache(self._persistent_cache_id(key))

    def write_persistent_cache(self, key, value):
        datadog_agent.write_persistent_cache(self._persistent_cache_id(key), value)

    @staticmethod
    def normalize(metric, prefix=None, fix_case=False):
        name = re.sub(r"[,\+\*\-/()\[\]{}\s]", "_", str(metric))
        name = re.sub(r"__+", "_", name)
        name = re.sub(r"_*\._*", ".", name).strip("_")
        if fix_case:
            name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
            name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
        return "%s.%s" % (prefix, name) if prefix else name

    # --- running ---------------------------------------------------------------------------
    def check(self, instance):
        raise NotImplementedError

    def cancel(self):
        pass

    def run(self):
        try:
            self.check(copy.deepcopy(self.instance) if self.instance is not None else {})
            return ""
        except Exception as e:
            return json.dumps([{"message": str(e), "traceback": traceback.format_exc()}])
