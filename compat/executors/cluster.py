"""A Dask cluster under compat's campaigns (`--cluster` on check, fuzz and perf).

`local[:N]` starts a `distributed.LocalCluster` of N single-threaded worker processes here;
`tcp://HOST:PORT` connects to a scheduler someone started (`dask scheduler`, `dask worker`).
Dask and distributed are imported by this module only, and this module only when
`--cluster` is given: compat starts as light as before without it.

What every campaign needs from a cluster is here: connecting (and refusing, in one line, a
scheduler that is not there or has no workers), checking before any work that every worker
imports compat and the modules the campaign names, a state per worker thread that a
campaign's set-up builds once (configuration, tools, engines), and `Cluster.stream`: tasks
submitted a few at a time, their answers given back as they finish, a task whose result
was lost with its worker submitted again, and a task that keeps killing its workers
answered as `Died` rather than retried for ever. A scheduler that goes away is
`ClusterLost`, raised after the answers that had come back were given.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import re
import sys
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from compat.executors.pools import Setup, Task, answer_of, stateful
from compat.executors.process import Answer, Died, Raised
from compat.executors.serve import describe
from engines.errors import ConfigError

#: The most workers `local:N` starts (as `--workers`).
MAX_LOCAL_WORKERS = 64
#: Times a task is resubmitted when it fails (`Client.submit(retries=...)`), and the times a
#: task may kill its worker before the scheduler gives up on it (`allowed-failures`, set on
#: the clusters compat starts; a scheduler started elsewhere has its own).
RETRIES = 2
#: Seconds to connect to a scheduler, and to wait for its first worker.
CONNECT_SECONDS = 5.0
#: Dask settings for the clusters compat starts. The statistical profiler samples every
#: worker thread's stack every 10 ms, which costs CPU-bound engines a few percent for a
#: dashboard compat does not show; the monitors (memory every 100 ms, the event loop's
#: tick every 20 ms, system metrics every 500 ms) wake threads that take the GIL from the
#: engines, and compat needs them only to stop a worker that runs out of memory.
LOCAL_SETTINGS: dict[str, Any] = {
    "distributed.scheduler.allowed-failures": RETRIES,
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "500ms",
    "distributed.admin.tick.interval": "200ms",
    "distributed.admin.system-monitor.interval": "2s",
}

_CLUSTER = re.compile(r"local(?::(\d+))?|tcp://(\[[0-9A-Fa-f:.]+\]|[\w.-]+):(\d{1,5})")
_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def checked_cluster(value: str | None) -> str | None:
    """An options model's `cluster` field, refused unless `parse_cluster` reads it."""
    if value is not None:
        try:
            parse_cluster(value)
        except ValueError as exc:  # not a cluster compat knows how to reach
            raise PydanticCustomError("cluster", "{why}", {"why": str(exc)}) from None
    return value


#: The `cluster` field of check's, fuzz's and perf's options: `local`, `local:N` or
#: `tcp://HOST:PORT`; None: no cluster.
ClusterField = Annotated[str | None, AfterValidator(checked_cluster)]


@dataclass(frozen=True)
class ClusterSpec:
    """A parsed `--cluster`: a local cluster of `workers`, or a scheduler's `address`."""

    workers: int | None = None
    address: str | None = None


def parse_cluster(text: str) -> ClusterSpec:
    """`local`, `local:N` (1 ≤ N ≤ 64) or `tcp://HOST:PORT`; a `ValueError` otherwise."""
    found = _CLUSTER.fullmatch(text.strip())
    if found is None:
        raise ValueError(
            f"{text!r}: give local, local:N (N workers, 1 to {MAX_LOCAL_WORKERS}) or "
            "tcp://HOST:PORT (a running Dask scheduler)"
        )
    count, host, port = found.groups()
    if host is not None:
        if not 0 < int(port) < 65536:
            raise ValueError(f"{text!r}: the port must be 1 to 65535")
        return ClusterSpec(address=f"tcp://{host}:{int(port)}")
    workers = int(count) if count is not None else _cpus()
    if not 1 <= workers <= MAX_LOCAL_WORKERS:
        raise ValueError(f"{text!r}: a local cluster has 1 to {MAX_LOCAL_WORKERS} workers")
    return ClusterSpec(workers=workers)


def _cpus() -> int:
    return max(1, min(MAX_LOCAL_WORKERS, len(os.sched_getaffinity(0))))


def modules_of(engines: Sequence[str], tool_modules: Sequence[str], *more: str) -> list[str]:
    """What a worker must import: compat's cluster code, `more`, engines named `module:attr`
    (the built-in ones are compat's) and the configuration's tool modules; each once."""
    names = ["compat.executors.cluster", *more]
    names += [spec.partition(":")[0] for spec in engines if ":" in spec]
    names += [spec.partition(":")[0] for spec in tool_modules]
    return [n for i, n in enumerate(names) if _MODULE.fullmatch(n) and n not in names[:i]]


# --------------------------------------------------------------------------- the worker's side


def _held(value: Any) -> Any:
    """A task whose result is its argument: data the scheduler keeps and can give again."""
    return value


def importable(modules: Sequence[str], root: str | None) -> tuple[str, str] | None:
    """Run on every worker: the first of `modules` that does not import, and why (None:
    all do). The configuration's folder is on the path while importing, as for tools."""
    added = root is not None and root not in sys.path
    if added:
        sys.path.insert(0, str(root))
    try:
        for name in modules:
            try:
                importlib.import_module(name)
            except BaseException as exc:
                return name, describe(exc)
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(str(root))
    return None


def machine() -> str:
    """Where a task runs: the host's name and the Dask worker's address (or this process)."""
    import platform

    try:
        from distributed import get_worker

        return f"{platform.node()} ({get_worker().address})"
    except (ImportError, ValueError):
        return f"{platform.node()} (pid {os.getpid()})"


# --------------------------------------------------------------------------- the parent's side


class ClusterLost(Exception):
    """The scheduler went away in the middle of a campaign."""


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Dask's own log lines (reconnecting, workers closing) stay off compat's stderr."""
    loggers = [logging.getLogger(n) for n in ("distributed", "tornado", "asyncio")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


class Cluster:
    """A connected cluster whose workers import `modules`: `with Cluster(text, modules,
    root) as cluster: ...`; `root` (the configuration's folder) is on their path while
    they import."""

    def __init__(self, text: str, modules: Sequence[str], root: str | None = None) -> None:
        try:
            self.spec = parse_cluster(text)
        except ValueError as exc:
            raise ConfigError(f"--cluster {exc}") from None
        self.modules = list(modules)
        self.root = root
        self.client: Any = None
        self._local: Any = None
        self._stack = contextlib.ExitStack()

    @property
    def where(self) -> str:
        return self.spec.address or f"a local cluster of {self.spec.workers} workers"

    def __enter__(self) -> Cluster:
        self._stack.enter_context(_quiet())
        try:
            self._connect()
            self._check_workers()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for closing in (self.client, self._local):
                if closing is not None:
                    with contextlib.suppress(Exception):
                        closing.close()
        finally:
            self.client = self._local = None
            self._stack.close()

    def _connect(self) -> None:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ConfigError(
                f"--cluster needs Dask ({describe(exc)}): pip install 'compat[cluster]'"
            ) from None

        if self.spec.workers is not None:
            with (
                dask.config.set(LOCAL_SETTINGS),
                warnings.catch_warnings(),  # "port 8787 is in use": its HTTP server moves
            ):
                warnings.simplefilter("ignore")
                self._local = LocalCluster(
                    n_workers=self.spec.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
            self.client = Client(self._local)
            return
        try:
            self.client = Client(self.spec.address, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                f"--cluster: cannot reach a Dask scheduler at {self.spec.address} "
                f"within {CONNECT_SECONDS:g} s ({type(exc).__name__})"
            ) from None
        try:
            self.client.wait_for_workers(1, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError):
            raise ConfigError(
                f"--cluster: the Dask scheduler at {self.spec.address} has no workers "
                f"(none joined within {CONNECT_SECONDS:g} s)"
            ) from None

    def _check_workers(self) -> None:
        """Every worker imports compat and `modules`, or a `ConfigError` names the first
        worker and module that fail."""
        client = self.client
        # A plain statement first: a worker without compat cannot even receive our function.
        found = client.run(exec, "import compat.executors.cluster", on_error="return")
        for address, answer in sorted(found.items()):
            if isinstance(answer, BaseException):
                raise ConfigError(
                    f"--cluster: worker {address} cannot import compat ({describe(answer)}); "
                    "install this project there (pip install 'compat[cluster]')"
                )
        found = client.run(importable, self.modules, self.root, on_error="return")
        for address, answer in sorted(found.items()):
            if isinstance(answer, BaseException):
                raise ConfigError(f"--cluster: worker {address} failed: {describe(answer)}")
            if answer is not None:
                module, why = answer
                raise ConfigError(
                    f"--cluster: worker {address} cannot import {module!r} ({why}); the "
                    "workers need the same engines and tool modules as compat here"
                )

    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def threads(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def held(self, value: Any, name: str) -> Any:
        """`value` given to the cluster once, as a small task whose result it is: the
        scheduler holds it and computes it again if every worker holding it dies
        (scattered data would be lost with them, and every task needing it with it)."""
        return self.client.submit(_held, value, key=f"compat-{name}-{uuid.uuid4().hex}", pure=False)

    def stream(
        self,
        setup: Setup,
        setup_args: Sequence[Any],
        task: Task,
        units: Iterable[tuple[Any, ...]],
        *,
        label: str = "task",
    ) -> Iterator[tuple[int, Answer]]:
        """`task(state, notes, *unit)` for each unit (numbered in order), at most one per
        worker thread at a time, the next submitted as one ends (so a worker that dies holds
        only the task it was running: the scheduler blames every task on a dead worker);
        `units` is read lazily, so a campaign can stop handing out work. Answers come as
        tasks finish: `Done`, `Raised` (`refused`: bad input), or `Died` for a task that
        kept killing its workers. Raises `ClusterLost` when the scheduler goes away;
        closing the iterator cancels what is still out."""
        from distributed import as_completed

        client = self.client
        campaign = uuid.uuid4().hex
        setup_args = list(setup_args)
        out: dict[Any, tuple[int, tuple[Any, ...], int]] = {}
        pending = enumerate(units)

        def submit(index: int, unit: tuple[Any, ...], attempt: int) -> Any:
            future = client.submit(
                stateful,
                campaign,
                setup,
                task,
                len(setup_args),
                *setup_args,
                *unit,
                retries=RETRIES,
                pure=False,
                key=f"compat-{label}-{campaign}-{index}-{attempt}",
            )
            out[future] = (index, unit, attempt)
            return future

        first = []
        for _ in range(self.threads()):
            step = next(pending, None)
            if step is None:
                break
            first.append(submit(*step, 0))
        if not first:
            return
        # Results are fetched as each task ends, so few live only on a worker that may die.
        completed = as_completed(first, with_results=True, raise_errors=False)
        try:
            for future, result in completed:
                index, unit, attempt = out.pop(future)
                answer = _answer(result)
                if answer is None:  # finished, but its result was lost with its worker
                    if attempt >= RETRIES or client.status != "running":
                        raise ClusterLost(describe(result))
                    completed.add(submit(index, unit, attempt + 1))
                    continue
                step = next(pending, None)
                if step is not None:
                    completed.add(submit(*step, 0))
                yield index, answer
        except (OSError, TimeoutError) as exc:
            raise ClusterLost(describe(exc)) from None
        finally:
            for future in out:
                with contextlib.suppress(Exception):  # the client may be closed already
                    future.cancel()


def _answer(result: Any) -> Answer | None:
    """A finished task's answer; None when its result was lost (cancelled, or its worker
    died before it was fetched)."""
    from distributed import KilledWorker

    if isinstance(result, tuple) and len(result) == 3 and isinstance(result[1], Exception):
        result = result[1]  # a failed task's (type, exception, traceback)
    if isinstance(result, KilledWorker):
        return Died(f"its Dask worker died each time it ran this work ({describe(result)})")
    if isinstance(result, CancelledError | OSError | TimeoutError):
        return None
    if isinstance(result, BaseException):
        return Raised(f"the cluster could not run it: {describe(result)}")
    return answer_of(result)


__all__ = [
    "MAX_LOCAL_WORKERS",
    "Cluster",
    "ClusterLost",
    "ClusterSpec",
    "importable",
    "machine",
    "modules_of",
    "parse_cluster",
]
