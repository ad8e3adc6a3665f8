"""Datadog's `aggregator` builtin module, as dogwatch's Python check host provides it.

Submissions go to the agent over the host's pipe; the agent's sender does the math (rates
between runs, monotonic counts, histogram aggregates), as Datadog's aggregator does.
"""

import time

import _dogwatch

GAUGE = 0
RATE = 1
COUNT = 2
MONOTONIC_COUNT = 3
COUNTER = 4
HISTOGRAM = 5
HISTORATE = 6


def submit_metric(check, check_id, mtype, name, value, tags, hostname, flush_first_value=False):
    value = _dogwatch.clean(float(value))
    if value is None:
        return
    message = {
        "t": "m",
        "c": check_id,
        "k": int(mtype),
        "n": name,
        "v": value,
        "g": list(tags or []),
        "h": hostname or "",
    }
    if flush_first_value:
        message["f"] = True
    if mtype == HISTORATE:
        message["ts"] = time.time()
    _dogwatch.send(message)


def submit_service_check(check, check_id, name, status, tags, hostname, message=""):
    _dogwatch.send(
        {
            "t": "sc",
            "c": check_id,
            "n": name,
            "s": int(status),
            "g": list(tags or []),
            "h": hostname or "",
            "m": message or "",
        }
    )


def submit_event(check, check_id, event):
    _dogwatch.send({"t": "ev", "c": check_id, "e": dict(event)})


def submit_histogram_bucket(
    check, check_id, name, value, lower_bound, upper_bound, monotonic, hostname, tags, flush_first_value=False
):
    _dogwatch.send({"t": "unsupported", "what": "histogram bucket"})


def submit_histogram_bucket_multi(*args, **kwargs):
    _dogwatch.send({"t": "unsupported", "what": "histogram bucket"})


def submit_event_platform_event(check, check_id, raw_event, event_type):
    _dogwatch.send({"t": "unsupported", "what": "event platform event (%s)" % event_type})
