"""The pipe between dogwatch's Python check host and the agent (not a Datadog module).

Every message is one JSON object on one line. The host writes them to a private copy of its
original stdout (fd 1 itself is pointed at stderr, so a check's print() cannot break the
protocol) and reads the agent's lines from a private copy of its original stdin. A call that
needs an answer (read_persistent_cache) carries a query number "q" and waits for the agent's
{"op": "reply", "q": n, "v": value}.
"""

import json
import math
import os
import threading

# What the agent passed at start: hostname, host tags, version, config, run_path, ...
context = {}

_out_fd = None
_lock = threading.Lock()
_queries = {}
_query_lock = threading.Lock()
_next_query = [0]

QUERY_TIMEOUT_SECONDS = 10.0


def attach(out_fd):
    """Sets the file descriptor messages go to."""
    global _out_fd
    _out_fd = out_fd


def _clean(value):
    # JSON has no NaN or infinity; the agent drops non-finite values anyway.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def send(message):
    """Writes one message as a line; a message that cannot be encoded is replaced by a note."""
    try:
        line = json.dumps(message, separators=(",", ":"), default=str, allow_nan=False)
    except (TypeError, ValueError) as e:
        line = json.dumps({"t": "log", "l": 40, "m": "dogwatch host: a message could not be encoded: %s" % e})
    data = (line + "\n").encode("utf-8", "replace")
    with _lock:
        view = memoryview(data)
        while view:
            written = os.write(_out_fd, view)
            view = view[written:]


def query(message):
    """Sends a message that wants an answer and waits for it (at most QUERY_TIMEOUT_SECONDS)."""
    event = threading.Event()
    with _query_lock:
        _next_query[0] += 1
        number = _next_query[0]
        _queries[number] = [event, None]
    message["q"] = number
    send(message)
    event.wait(QUERY_TIMEOUT_SECONDS)
    with _query_lock:
        slot = _queries.pop(number, [None, None])
    return slot[1]


def answer(number, value):
    """Hands the agent's reply to the query that waits for it."""
    with _query_lock:
        slot = _queries.get(number)
        if slot is not None:
            slot[1] = value
            slot[0].set()


def config_value(key):
    """A datadog.yaml value by its (dotted) key, as the agent resolved it; None when unknown."""
    node = context.get("config", {})
    for part in str(key).split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def clean(value):
    """A float for the pipe, or None for NaN/infinity."""
    return _clean(value)
