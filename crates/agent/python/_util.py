"""Datadog's `_util` builtin module: running a command for a check."""

import subprocess


class SubprocessOutputEmptyError(Exception):
    pass


def subprocess_output(args, raise_on_empty_output=True, env=None):
    """Runs `args` (a list) and returns (stdout, stderr, returncode) as text."""
    proc = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, close_fds=True
    )
    out, err = proc.communicate()
    out = out.decode("utf-8", "replace")
    err = err.decode("utf-8", "replace")
    if raise_on_empty_output and not out:
        raise SubprocessOutputEmptyError("get_subprocess_output expected output but had none.")
    return out, err, proc.returncode


get_subprocess_output = subprocess_output
