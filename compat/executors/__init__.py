"""Where the harness's work runs: in killable worker processes (the default) or in this
process (`--in-process`, for engines that are trusted).

A worker process (`compat.executors.process.WorkerProcess`) is the unit of isolation: it
loads the configuration, tools and engines once, then runs whatever the harness asks — a
case, one engine run, a measurement — under a hard wall-clock timeout and a memory limit.
Whatever happens in it — a hang in Python or in C code, `os._exit`, a signal, a segfault,
running out of memory — the parent reports it (`Died`, `TimedOut`) and carries on with a
fresh worker; it never takes the harness down and is never taken for success.
"""

from compat.executors.process import (
    DEFAULT_MEMORY_MB,
    Answer,
    Died,
    Done,
    Raised,
    TimedOut,
    WorkerProcess,
    cause,
    setup_timeout,
)

__all__ = [
    "DEFAULT_MEMORY_MB",
    "Answer",
    "Died",
    "Done",
    "Raised",
    "TimedOut",
    "WorkerProcess",
    "cause",
    "setup_timeout",
]
