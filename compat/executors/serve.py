"""The worker process's side: set up once, then answer tasks until told to stop.

A worker isolates what it runs from the harness: its own process group (so a terminal's
Ctrl-C reaches the harness, which decides, and a kill reaches any processes an engine
started), its standard output sent to standard error (an engine's
prints must not corrupt `--json -` on the harness's standard output), and death with its
parent (PR_SET_PDEATHSIG), so a killed harness leaves no worker behind. The memory limit
(RLIMIT_AS) is set once the worker is set up: it bounds what the runs may add.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import pickle
import resource
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Any

from engines.errors import CompatError

#: A task: a module-level function taking the worker's state, a `Notes` and arguments.
Task = Callable[..., Any]

_PR_SET_PDEATHSIG = 1


class Notes:
    """Messages a task sends while it runs: which stage it is in (a note), so the parent
    can time each stage and, if the worker dies, say in which stage; and results it has
    ready before its answer (a part), so a task that does many things streams them."""

    def __init__(self, conn: Connection | None) -> None:
        self._conn = conn

    def __call__(self, label: str) -> None:
        if self._conn is not None:
            self._conn.send_bytes(pickle.dumps(("note", label)))

    def part(self, value: Any) -> None:
        """Send one result now. Raises if it does not pickle: the task's failure, as an
        answer that cannot be sent is."""
        if self._conn is not None:
            self._conn.send_bytes(pickle.dumps(("part", value)))


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _isolate() -> None:
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.dup2(2, 1)


def limit_memory(memory_mb: int | None) -> None:
    """Let the worker's address space grow by `memory_mb` MiB beyond what it holds now (set
    up: interpreter, libraries, engines). The baseline counts, rather than an absolute cap,
    because libraries reserve address space they never use (numpy's threads alone ~1 GiB)."""
    if not memory_mb:
        return
    try:
        with open("/proc/self/statm") as statm:
            baseline = int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        baseline = 0
    limit = baseline + (memory_mb << 20)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _send(conn: Connection, message: tuple[str, Any]) -> None:
    try:
        data = pickle.dumps(message)
    except Exception as exc:  # an answer that cannot travel is the task's failure
        data = pickle.dumps(("raised", f"the answer cannot be sent: {describe(exc)}"))
    conn.send_bytes(data)


def settle() -> None:
    """After a worker's set-up: what it holds now (modules, engines, tools) moves out of
    the garbage collector's sight, so the full collections that engine runs trigger do not
    walk it again and again (15 % of a case's cost in a Dask worker, whose heap holds
    ~95,000 objects before any work). Only in worker processes: in a user's process the
    frozen objects could never be collected. What an earlier set-up froze is looked at
    again first, so a long-lived worker (a Dask worker serving many campaigns) frees the
    garbage of campaigns it no longer holds."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def serve(
    conn: Connection,
    setup: Task,
    setup_args: Sequence[Any],
    memory_mb: int | None,
    environ: Mapping[str, str],
    cwd: str,
    path: Sequence[str],
) -> None:
    """The worker's main loop (the process's target)."""
    _isolate()
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
    sys.path[:] = list(path)
    try:
        state = setup(*setup_args)
    except BaseException as exc:
        kind = "setup" if isinstance(exc, CompatError) else "setup-bug"
        _send(conn, (kind, describe(exc) if kind == "setup-bug" else str(exc)))
        return
    settle()
    limit_memory(memory_mb)
    _send(conn, ("ready", None))
    notes = Notes(conn)
    while True:
        try:
            request = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        if request is None:
            return
        task, args = request
        try:
            _send(conn, ("ok", task(state, notes, *args)))
        except BaseException as exc:  # a task's failure is an answer, never the worker's end
            if isinstance(exc, CompatError):
                _send(conn, ("refused", str(exc)))  # bad input: the parent raises it again
            else:
                _send(conn, ("raised", describe(exc)))
