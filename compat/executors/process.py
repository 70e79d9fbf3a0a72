"""A killable worker process, seen from the harness.

Workers are forked from multiprocessing's fork server, which has compat and both engines
imported already: a fresh worker (the first, or the one after a kill) costs a fork and the
task's setup, not an interpreter start. Every answer is awaited with a deadline; past it
the worker's whole process group is killed, so nothing it started keeps running, and the
next call starts a new one. A task may stream results (parts) before its answer, and notes
saying which stage it is in; each note may give the stage a deadline of its own.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.forkserver
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from compat.executors.serve import Task, serve
from engines.errors import SetupError

#: What a worker may allocate beyond its set-up self (address space, MiB); `--memory-limit`.
DEFAULT_MEMORY_MB = 4096
#: The largest answer a worker may send (bytes); a bigger one is the task's failure.
MAX_ANSWER_BYTES = 512 << 20
#: Modules the fork server imports once, so that every worker starts with them.
PRELOAD = ("compat.executors.tasks",)


def setup_timeout(timeout: float) -> float:
    """Seconds a worker's setup (importing the user's tools and engines) may take, given the
    command's `--timeout`: twice it, at least 10 s — an import is one-off work, but a hang
    at import must end too."""
    return max(2 * timeout, 10.0)


@dataclass(frozen=True)
class Done:
    """The task's return value."""

    value: Any


@dataclass(frozen=True)
class Raised:
    """The task raised (it ran to an end, with an exception)."""

    error: str
    stage: str | None = None
    #: It raised one of our `CompatError`s: bad input, which the parent raises again.
    refused: bool = False

    def reraise_refusal(self) -> None:
        if self.refused:
            raise SetupError(self.error)


@dataclass(frozen=True)
class Died:
    """The worker ended without answering: an exit, a signal, a segfault, out of memory."""

    cause: str
    stage: str | None = None


@dataclass(frozen=True)
class TimedOut:
    """No answer within the deadline; the worker was killed."""

    seconds: float
    stage: str | None = None


Answer = Done | Raised | Died | TimedOut


def cause(answer: Answer) -> str:
    """Why an answer holds no result, in words."""
    if isinstance(answer, TimedOut):
        return f"no result within {answer.seconds:g} s; its worker process was killed"
    if isinstance(answer, Died):
        return answer.cause
    if isinstance(answer, Raised):
        return answer.error
    return "it answered"


#: Told each note a task sends; returns the seconds the next stage may take (None: as before).
OnNote = Callable[[str], float | None]
#: Told each part (a result streamed before the answer) a task sends.
OnPart = Callable[[Any], None]

_context_lock = threading.Lock()
_context: Any = None

#: multiprocessing's fork-server processes are not safe to poll from two threads at once:
#: both may see the end, one reads the exit code and the other an emptied pipe, taken for
#: code 255 (and `Process.start` polls every child of this process). Every start and every
#: exit-code read of ours holds this lock; the waiting is done outside it.
_reap_lock = threading.Lock()


def _ended(process: Any, timeout: float) -> int | None:
    """`process`'s exit code, after waiting up to `timeout` seconds for its end; None if it
    has not ended."""
    wait([process.sentinel], timeout)
    with _reap_lock:
        return process.exitcode  # type: ignore[no-any-return]


def _fork_server() -> Any:
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(list(PRELOAD))
            _start_server()
            _context = context
        return _context


def _start_server() -> None:
    """Start the fork server importing compat from where this process has it. It is a
    `python -c`, which puts the working directory first on its path: a user's folder named
    `engines` or `compat` there would be imported instead of ours. So it starts with this
    process's path as PYTHONPATH and PYTHONSAFEPATH set (the environment is changed only
    while it starts)."""
    saved = {name: os.environ.get(name) for name in ("PYTHONPATH", "PYTHONSAFEPATH")}
    os.environ["PYTHONPATH"] = os.pathsep.join(sys.path)
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def death(exitcode: int | None) -> str:
    """A readable cause for a worker's end without an answer."""
    if exitcode is None:
        return "the worker stopped answering"
    if exitcode < 0:
        number = -exitcode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        meaning = {
            "SIGSEGV": "a segmentation fault",
            "SIGBUS": "a bus error",
            "SIGABRT": "an abort",
            "SIGFPE": "a floating-point exception",
            "SIGILL": "an illegal instruction",
            "SIGKILL": "killed (by the system for lack of memory, or from outside)",
        }.get(name, "killed by a signal")
        return f"the worker died of {name}: {meaning}"
    return (
        f"the worker exited with code {exitcode} before answering "
        "(os._exit or an exit in engine or tool code)"
    )


class WorkerProcess:
    """One worker process and the state its `setup` built; restarted after any failure."""

    def __init__(
        self,
        setup: Task,
        args: Sequence[Any] = (),
        *,
        memory_mb: int | None = DEFAULT_MEMORY_MB,
        setup_timeout: float = 60.0,
        name: str = "compat-worker",
    ) -> None:
        self._setup = setup
        self._args = tuple(args)
        self._memory_mb = memory_mb
        self._setup_timeout = setup_timeout
        self._name = name
        self._process: Any = None
        self._conn: Connection | None = None
        self._ready = False

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Start the worker and wait for its setup; raises `SetupError` if setup fails,
        dies or hangs (what it loads is the user's: configuration, tools, engines)."""
        self.launch()
        self.ready()

    def launch(self) -> None:
        """Start the worker without waiting for its setup (`ready` waits), so that several
        workers, and the parent, can get ready at the same time."""
        if self._process is not None:
            return
        context = _fork_server()
        parent, child = context.Pipe()
        process = context.Process(
            target=serve,
            args=(
                child,
                self._setup,
                self._args,
                self._memory_mb,
                dict(os.environ),
                os.getcwd(),
                list(sys.path),
            ),
            name=self._name,
            daemon=True,
        )
        with _reap_lock:
            process.start()
        child.close()
        self._process, self._conn, self._ready = process, parent, False

    def ready(self) -> None:
        """Wait for a launched worker's setup (launching it if need be); raises `SetupError`
        as `start` does."""
        self.launch()
        if self._ready:
            return
        answer = self._await(self._setup_timeout, None, None)
        if isinstance(answer, Done) and answer.value == "ready":
            self._ready = True
            return
        self.kill()
        if isinstance(answer, Raised):
            raise SetupError(answer.error)
        if isinstance(answer, TimedOut):
            raise SetupError(
                f"setting up a worker (loading the configuration, tools and engines) took "
                f"more than {self._setup_timeout:g} s; it was stopped"
            )
        assert isinstance(answer, Died)
        raise SetupError(f"setting up a worker (loading tools and engines): {answer.cause}")

    def kill(self) -> None:
        """Kill the worker and everything in its process group; the next call starts anew."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        self._ready = False
        if process is None:
            return
        if process.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(process.pid, signal.SIGKILL)
        _ended(process, 10)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Ask the worker to stop; kill it if it does not."""
        process, conn = self._process, self._conn
        if process is None or conn is None:
            return
        with contextlib.suppress(OSError, ValueError):
            conn.send_bytes(pickle.dumps(None))
        _ended(process, 2)
        self.kill()

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    # ------------------------------------------------------------------ calls

    def call(
        self,
        task: Task,
        *args: Any,
        timeout: float,
        on_note: OnNote | None = None,
        on_part: OnPart | None = None,
    ) -> Answer:
        """Run `task(state, notes, *args)` in the worker, `timeout` seconds at most (each
        note may set a new deadline for the stage it starts; each part streamed back goes to
        `on_part` and starts a new item of work: no stage yet, `timeout` seconds)."""
        self.start()
        assert self._conn is not None
        try:
            self._conn.send_bytes(pickle.dumps((task, args)))
        except (OSError, ValueError):
            return self._dead(None)
        try:
            answer = self._await(timeout, on_note, None, on_part)
        except BaseException:  # a callback's: the task's answer is still to come
            self.kill()
            raise
        if not isinstance(answer, Done):
            self.kill()  # after any failure the worker's state is suspect: start afresh
        return answer

    def _await(
        self,
        timeout: float,
        on_note: OnNote | None,
        stage: str | None,
        on_part: OnPart | None = None,
    ) -> Answer:
        conn = self._conn
        assert conn is not None
        given = timeout
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                ready = remaining > 0 and conn.poll(remaining)
            except (OSError, EOFError):
                return self._dead(stage)
            if not ready:
                return TimedOut(timeout, stage)
            try:
                data = conn.recv_bytes(MAX_ANSWER_BYTES)
            except (EOFError, ConnectionError):
                return self._dead(stage)
            except OSError:
                return Raised(f"its answer is larger than {MAX_ANSWER_BYTES >> 20} MiB", stage)
            try:
                kind, payload = pickle.loads(data)
            except Exception as exc:  # code in the worker wrote over its channel
                return Raised(f"its answer could not be read ({type(exc).__name__})", stage)
            if kind == "note":
                stage = payload
                seconds = on_note(payload) if on_note else None
                if seconds is not None:
                    timeout = seconds
                    deadline = time.monotonic() + seconds
                continue
            if kind == "part":
                if on_part is not None:
                    on_part(payload)
                stage, timeout = None, given
                deadline = time.monotonic() + given
                continue
            if kind == "ready":
                return Done("ready")
            if kind == "ok":
                return Done(payload)
            if kind == "refused":
                return Raised(payload, stage, refused=True)
            if kind == "setup-bug":
                return Raised(f"internal error while setting up a worker: {payload}", stage)
            return Raised(payload, stage)

    def _dead(self, stage: str | None) -> Died:
        process = self._process
        exitcode = None if process is None else _ended(process, 5)
        self.kill()
        return Died(death(exitcode), stage)
