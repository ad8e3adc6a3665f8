"""dogwatch's Python check host: one long-lived interpreter that runs every Python check.

The agent starts it as `python -u -B dogwatch_check_host.py <modules dir>` and supervises it.
It speaks JSON lines (see _dogwatch.py and ARCHITECTURE.md): the agent sends `init`, `load`
(import a check and make its object) and `run`; the host answers `loaded`/`load_error`, streams
the run's submissions and ends each run with `done`. Each check instance has its own thread,
so a check that hangs holds up only its own next runs. A heartbeat every second lets the agent
restart a host whose interpreter is stuck.
"""

import importlib
import importlib.util
import json
import os
import queue
import sys
import threading
import time
import traceback


def _take_protocol_fds():
    """Keeps private copies of stdin/stdout for the protocol; fd 0 becomes /dev/null and fd 1
    the same as stderr, so a check's print() or a subprocess cannot touch the pipe."""
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return proto_in, proto_out


PROTO_IN, PROTO_OUT = _take_protocol_fds()
sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))

import _dogwatch  # noqa: E402

_dogwatch.attach(PROTO_OUT)
send = _dogwatch.send

# check id -> {"check": object, "queue": run numbers for its thread, "busy": bool, "started": time}
CHECKS = {}
CHECKS_LOCK = threading.Lock()


def _rss_kib():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError, IndexError):
        return 0


def _cpu_seconds():
    t = os.times()
    return t.user + t.system


def heartbeat():
    while True:
        send({"t": "hb", "rss_kib": _rss_kib(), "threads": threading.active_count(), "cpu": _cpu_seconds()})
        time.sleep(1.0)


def _base_classes():
    bases = []
    try:
        from datadog_checks.base import AgentCheck as base_check

        bases.append(base_check)
    except ImportError:
        pass
    try:
        from checks import AgentCheck as legacy_check

        if legacy_check not in bases:
            bases.append(legacy_check)
    except ImportError:
        pass
    return tuple(bases)


def _import_check_module(name, checksd_file):
    """Datadog's loader order: the `datadog_checks.<name>` wheel, then checks.d/<name>.py."""
    try:
        return importlib.import_module("datadog_checks." + name), "datadog_checks." + name
    except ImportError as error:
        # Only "no such wheel" falls through to checks.d; an import error inside a wheel is its own.
        if error.name not in ("datadog_checks", "datadog_checks." + name) or checksd_file is None:
            raise
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__file__", None) == checksd_file:
        return loaded, checksd_file  # another instance of the same check: imported once
    directory = os.path.dirname(checksd_file)
    if directory not in sys.path:
        sys.path.append(directory)
    spec = importlib.util.spec_from_file_location(name, checksd_file)
    module = importlib.util.module_from_spec(spec)
    registered = name not in sys.modules
    if registered:
        sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if registered:
            del sys.modules[name]
        raise
    return module, checksd_file


def _check_class(module):
    """The module's AgentCheck subclass that nothing in the module subclasses (rtloader's rule)."""
    bases = _base_classes()
    found = []
    for attr in sorted(dir(module)):
        value = getattr(module, attr)
        if not bases or not isinstance(value, type) or value in bases or not issubclass(value, bases):
            continue
        found.append(value)
    for klass in found:
        if not any(other is not klass and issubclass(other, klass) for other in found):
            return klass
    return None


def _missing_base_message(error):
    missing = getattr(error, "name", "") or ""
    if isinstance(error, ImportError) and missing.startswith("datadog_checks"):
        return (
            "this check needs Datadog's datadog_checks.base, which is not installed in %s "
            "(pip install datadog-checks-base): %s" % (sys.executable, error)
        )
    return None


def load(message):
    check_id = message["c"]
    name = message["name"]
    try:
        module, where = _import_check_module(name, message.get("file"))
        klass = _check_class(module)
        if klass is None:
            raise RuntimeError("%s has no class that subclasses AgentCheck" % where)
        init_config = message.get("init_config") or {}
        instance = message.get("instance") or {}
        try:
            check = klass(name, init_config, [instance])
        except TypeError:
            check = klass(name, init_config, {}, [instance])
        check.check_id = check_id
        entry = {"check": check, "queue": queue.SimpleQueue(), "busy": False, "started": 0.0}
        with CHECKS_LOCK:
            CHECKS[check_id] = entry
        threading.Thread(target=_worker, args=(check_id, entry), name="check-" + check_id, daemon=True).start()
        version = getattr(module, "__version__", None)
        if version is None and where.startswith("datadog_checks."):
            version = getattr(sys.modules.get(where + ".__about__"), "__version__", None)
        send({"t": "loaded", "c": check_id, "version": str(version) if version else "unversioned", "module": where})
    except BaseException as error:
        no_such_check = (
            message.get("file") is None
            and isinstance(error, ImportError)
            and error.name in ("datadog_checks", "datadog_checks." + name)
        )
        send(
            {
                "t": "load_error",
                "c": check_id,
                "not_found": no_such_check,
                "error": _missing_base_message(error) or "%s: %s" % (type(error).__name__, error),
                "traceback": traceback.format_exc(),
            }
        )


def _worker(check_id, entry):
    """Runs the check each time a run number arrives on its queue: one long-lived thread per
    check instance, so a run costs a queue hand-off rather than a new thread, and a hung run
    holds up only this check."""
    check = entry["check"]
    while True:
        number = entry["queue"].get()
        try:
            result = check.run()
        except BaseException as error:
            result = json.dumps([{"message": "%s: %s" % (type(error).__name__, error), "traceback": traceback.format_exc()}])
        warnings = []
        try:
            warnings = [str(w) for w in check.get_warnings()]
        except Exception:
            pass
        # Free before "done" goes out, so a run asked for right after it is not refused.
        with CHECKS_LOCK:
            entry["busy"] = False
        send({"t": "done", "c": check_id, "r": number, "result": result or "", "warnings": warnings})


def run(message):
    check_id = message["c"]
    number = message["r"]
    with CHECKS_LOCK:
        entry = CHECKS.get(check_id)
        busy = entry is not None and entry["busy"]
        if entry is not None and not busy:
            entry["busy"] = True
            entry["started"] = time.time()
    if entry is None:
        send({"t": "done", "c": check_id, "r": number, "error": "the check is not loaded in this host"})
    elif busy:
        send(
            {
                "t": "done",
                "c": check_id,
                "r": number,
                "error": "the previous run has not returned yet (started %.0f s ago); this run is skipped"
                % (time.time() - entry["started"]),
            }
        )
    else:
        entry["queue"].put(number)


def main():
    threading.Thread(target=heartbeat, name="heartbeat", daemon=True).start()
    send(
        {
            "t": "ready",
            "pid": os.getpid(),
            "python": sys.version.split()[0],
            "executable": sys.executable,
        }
    )
    with os.fdopen(PROTO_IN, "rb") as lines:
        for line in lines:
            try:
                message = json.loads(line)
                op = message.get("op")
            except (ValueError, AttributeError):
                continue
            if op == "reply":
                _dogwatch.answer(message.get("q"), message.get("v"))
            elif op == "init":
                _dogwatch.context.update(message.get("context") or {})
            elif op == "load":
                threading.Thread(target=load, args=(message,), name="load-" + str(message.get("c")), daemon=True).start()
            elif op == "run":
                run(message)
            elif op == "stop":
                break
    # The agent closed the pipe or asked us to stop: hung check threads must not keep us alive.
    os._exit(0)


if __name__ == "__main__":
    main()
