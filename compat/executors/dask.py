"""`compat check --cluster`: the cases of a campaign as tasks on a Dask cluster.

`local[:N]` starts a `distributed.LocalCluster` of N single-threaded worker processes here;
`tcp://HOST:PORT` connects to a scheduler someone started (`dask scheduler`, `dask worker`).
Dask and distributed are imported by this module only, and this module only when
`--cluster` is given: compat starts as light as before without it.

Before any work, every worker is asked to import compat and the modules the options name
(engines given as `module:attr`, the configuration's tool modules); a worker that cannot
is a `ConfigError` naming it and the module.

Each fixture is read and validated here once, packed once (compat/executors/shipping.py)
and scattered to every worker once. A task is a batch of consecutive cases of one fixture
(few dozen tasks per worker); it runs them in the Dask worker's process with the code the
local worker processes use (compat/executors/tasks.py), the engines in a thread of that
process so that `--timeout` still ends a run (`timed_out`). Results come back as the tasks
finish; the report lists the cases in fixture order, as every other executor does.

Faults: a task whose worker dies is run again elsewhere by the scheduler (up to its
`allowed-failures`; tasks are also submitted with `retries`); a batch that keeps killing
its workers ends as `KilledWorker`, and each of its cases is reported `crashed` on both
engines, with the cause. A scheduler that goes away is a `ConfigError` saying how many
cases had come back.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import logging
import math
import re
import sys
import threading
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Any

from compat.check import CheckOptions, Job, Runner, case_report
from compat.engines import BUILTIN_ENGINES, EngineRun
from compat.executors import tasks
from compat.executors.serve import Notes, describe
from compat.executors.shipping import pack
from compat.report import CaseReport
from compat.supervise import phase
from engines.config import EngineConfig
from engines.documents import Case
from engines.errors import CompatError, ConfigError, SetupError

Progress = Callable[[int, int, CaseReport], None]

#: The most workers `local:N` starts (as `--workers`).
MAX_LOCAL_WORKERS = 64
#: Tasks per worker the batches aim at: enough to balance, few enough that the
#: scheduler's per-task cost (about a millisecond) vanishes.
TASKS_PER_WORKER = 4
#: The most cases in one task.
MAX_BATCH = 64
#: Times a task is resubmitted when it fails (`Client.submit(retries=...)`), and the times a
#: task may kill its worker before the scheduler gives up on it (`allowed-failures`, set on
#: the clusters compat starts; a scheduler started elsewhere has its own).
RETRIES = 2
#: Seconds to connect to a scheduler, and to wait for its first worker.
CONNECT_SECONDS = 5.0

_CLUSTER = re.compile(r"local(?::(\d+))?|tcp://(\[[0-9A-Fa-f:.]+\]|[\w.-]+):(\d{1,5})")
_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


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
    import os

    return max(1, min(MAX_LOCAL_WORKERS, len(os.sched_getaffinity(0))))


# --------------------------------------------------------------------------- the worker's side

#: Each worker thread's state per campaign (configuration, engines, fixtures it unpacked);
#: the newest few campaigns are kept, so a long-lived worker does not grow.
_STATES: OrderedDict[tuple[str, int], tasks.CheckState] = OrderedDict()
_STATES_LOCK = threading.Lock()
_KEPT_STATES = 8


class _Collected(Notes):
    """Notes that keep the parts (each case's report) for the task's answer."""

    def __init__(self) -> None:
        super().__init__(None)
        self.parts: list[Any] = []

    def part(self, value: Any) -> None:
        self.parts.append(value)


def _state(campaign: str, config: EngineConfig, options: CheckOptions) -> tasks.CheckState:
    key = (campaign, threading.get_ident())
    with _STATES_LOCK:
        state = _STATES.get(key)
        if state is not None:
            _STATES.move_to_end(key)
            return state
    # Engines in a thread of this process, under --timeout (the Dask worker is not ours to
    # kill): a run past its deadline is `timed_out` and the campaign goes on.
    state = tasks.CheckState(Runner(config, options, direct=False))
    with _STATES_LOCK:
        _STATES[key] = state
        while len(_STATES) > _KEPT_STATES:
            _STATES.popitem(last=False)
    return state


def run_batch(
    campaign: str,
    config: EngineConfig,
    options: CheckOptions,
    number: int,
    path: str,
    packed: bytes | None,
    indices: Sequence[int],
) -> tuple[str, Any]:
    """A Dask task: cases `indices` of job `number` (packed by the parent), one after
    another. The answer is `("ok", [CaseReport, ...])`, or `("refused", message)` for bad
    input (one of our errors), or `("raised", message)` for anything else."""
    try:
        state = _state(campaign, config, options)
        notes = _Collected()
        ship = {} if number in state.held else {number: (path, packed)}
        tasks.check_cases(state, notes, ship, [(number, index) for index in indices])
        return "ok", notes.parts
    except CompatError as exc:
        return "refused", str(exc)
    except Exception as exc:
        return "raised", describe(exc)


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


# --------------------------------------------------------------------------- the parent's side


def needed_modules(options: CheckOptions, config: EngineConfig) -> list[str]:
    """What a worker must import: compat's task code, engines named `module:attr`, and the
    configuration's tool modules."""
    names = ["compat.executors.tasks", "compat.executors.dask"]
    for spec in (options.primary, options.shadow):
        if spec not in BUILTIN_ENGINES:
            names.append(spec.partition(":")[0])
    names += [spec.partition(":")[0] for spec in config.tool_modules]
    return [n for i, n in enumerate(names) if _MODULE.fullmatch(n) and n not in names[:i]]


def batches(work: Sequence[tuple[Job, Case]], workers: int) -> list[tuple[int, int]]:
    """Spans `[start, stop)` of `work`: consecutive cases of one fixture, about
    `TASKS_PER_WORKER` tasks per worker in all."""
    size = max(1, min(MAX_BATCH, math.ceil(len(work) / (max(1, workers) * TASKS_PER_WORKER))))
    spans: list[tuple[int, int]] = []
    start = 0
    while start < len(work):
        stop = start + 1
        while stop < len(work) and stop - start < size and work[stop][0] is work[start][0]:
            stop += 1
        spans.append((start, stop))
        start = stop
    return spans


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


class DaskCampaign:
    """One `compat check` on a Dask cluster: `with DaskCampaign(options, config) as c:
    c.run(jobs, progress)`."""

    def __init__(self, options: CheckOptions, config: EngineConfig) -> None:
        if options.cluster is None:
            raise ConfigError("--cluster: no cluster given")
        self.options = options
        self.config = config
        self.spec = parse_cluster(options.cluster)
        self._cluster: Any = None
        self._client: Any = None
        self._stack = contextlib.ExitStack()

    @property
    def where(self) -> str:
        return self.spec.address or f"a local cluster of {self.spec.workers} workers"

    def __enter__(self) -> DaskCampaign:
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
            for closing in (self._client, self._cluster):
                if closing is not None:
                    with contextlib.suppress(Exception):
                        closing.close()
        finally:
            self._client = self._cluster = None
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
                dask.config.set({"distributed.scheduler.allowed-failures": RETRIES}),
                warnings.catch_warnings(),  # "port 8787 is in use": its HTTP server moves
            ):
                warnings.simplefilter("ignore")
                self._cluster = LocalCluster(
                    n_workers=self.spec.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
            self._client = Client(self._cluster)
            return
        try:
            self._client = Client(self.spec.address, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(
                f"--cluster: cannot reach a Dask scheduler at {self.spec.address} "
                f"within {CONNECT_SECONDS:g} s ({type(exc).__name__})"
            ) from None
        try:
            self._client.wait_for_workers(1, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError):
            raise ConfigError(
                f"--cluster: the Dask scheduler at {self.spec.address} has no workers "
                f"(none joined within {CONNECT_SECONDS:g} s)"
            ) from None

    def _check_workers(self) -> None:
        """Every worker imports compat and the modules the options name, or a `ConfigError`
        names the first worker and module that fail."""
        client = self._client
        # A plain statement first: a worker without compat cannot even receive our function.
        found = client.run(exec, "import compat.executors.dask", on_error="return")
        for address, answer in sorted(found.items()):
            if isinstance(answer, BaseException):
                raise ConfigError(
                    f"--cluster: worker {address} cannot import compat ({describe(answer)}); "
                    "install this project there (pip install 'compat[cluster]')"
                )
        root = None if self.config.root is None else str(self.config.root)
        modules = needed_modules(self.options, self.config)
        found = client.run(importable, modules, root, on_error="return")
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
        return max(1, len(self._client.scheduler_info().get("workers", {})))

    # ------------------------------------------------------------------ running

    def run(self, work: Sequence[tuple[Job, Case]], progress: Progress | None) -> list[CaseReport]:
        """Each case's report, in the order of `work`."""
        from distributed import as_completed

        client = self._client
        campaign = uuid.uuid4().hex
        numbers: dict[int, int] = {}
        jobs: list[Job] = []
        for job, _ in work:
            if id(job) not in numbers:
                numbers[id(job)] = len(jobs)
                jobs.append(job)
        indices = [{id(c): i for i, c in enumerate(job.cases)} for job in jobs]
        # What every task needs, as tasks of their own rather than scattered data: the
        # scheduler holds each once and computes it again if every worker holding it dies
        # (scattered data would be lost with them, and every batch needing it with it).
        config = client.submit(_held, self.config, key=f"compat-config-{campaign}", pure=False)
        options = client.submit(_held, self.options, key=f"compat-options-{campaign}", pure=False)
        shipped: dict[int, Any] = {}
        futures: dict[Any, tuple[int, int, int]] = {}

        def submit(start: int, stop: int, attempt: int) -> Any:
            job = work[start][0]
            number = numbers[id(job)]
            if number not in shipped:  # each fixture packed once and sent to the cluster once
                packed = pack(job)  # None: it does not pickle, and the worker reads its path
                key = f"compat-fixture-{campaign}-{number}"
                shipped[number] = client.submit(_held, packed, key=key, pure=False)
            cases = [_index(job, indices[number], case) for _, case in work[start:stop]]
            future = client.submit(
                run_batch,
                campaign,
                config,
                options,
                number,
                str(job.path),
                shipped[number],
                cases,
                retries=RETRIES,
                pure=False,
                key=f"compat-check-{campaign}-{start}-{attempt}",
            )
            futures[future] = (start, stop, attempt)
            return future

        phase(f"running {len(work)} cases on {self.where}")
        # As many tasks out as the workers have threads (and no more, so that a worker that
        # dies holds only the batch it was running: the scheduler blames every task on a
        # dead worker, and would end innocent ones as KilledWorker); the next goes out as
        # each one ends.
        spans = iter(batches(work, self.workers()))
        threads = max(1, sum(client.nthreads().values()))
        first = [submit(start, stop, 0) for start, stop in itertools.islice(spans, threads)]
        reports: list[CaseReport | None] = [None] * len(work)
        done = 0
        # Results are fetched as each task ends, so few live only on a worker that may die.
        completed = as_completed(first, with_results=True, raise_errors=False)
        try:
            for future, result in completed:
                start, stop, attempt = futures.pop(future)
                got = self._answer(future, result, work[start:stop])
                if got is None:  # finished, but its result was lost with its worker
                    if attempt >= RETRIES or client.status != "running":
                        raise _Lost(f"{_where(work[start:stop])}: {describe(result)}")
                    completed.add(submit(start, stop, attempt + 1))
                    continue
                following = next(spans, None)
                if following is not None:
                    completed.add(submit(*following, 0))
                for offset, report in enumerate(got):
                    reports[start + offset] = report
                    done += 1
                    if progress:
                        progress(done, len(work), report)
        except (OSError, TimeoutError, _Lost) as exc:
            raise ConfigError(
                f"--cluster: lost the Dask scheduler ({self.where}) after {done} of "
                f"{len(work)} cases came back: {exc}"
            ) from None
        finally:
            for future in futures:
                future.cancel()
        missing = sum(r is None for r in reports)
        if missing:  # every batch answered with every report, or raised above: our bug
            raise RuntimeError(f"the cluster sent {len(work) - missing} of {len(work)} reports")
        return [r for r in reports if r is not None]

    def _answer(
        self, future: Any, result: Any, items: Sequence[tuple[Job, Case]]
    ) -> list[CaseReport] | None:
        """A batch's reports: as its task sent them, or each case `crashed` when the task
        kept killing its workers; None when the result was lost (cancelled, or its worker
        died before it was fetched)."""
        from distributed import KilledWorker

        if isinstance(result, tuple) and len(result) == 3 and isinstance(result[1], Exception):
            result = result[1]  # a failed task's (type, exception, traceback)
        if isinstance(result, KilledWorker):
            why = f"its Dask worker died each time it ran this batch ({describe(result)})"
            return [self._crashed(job, case, why) for job, case in items]
        if isinstance(result, CancelledError | OSError | TimeoutError):
            return None
        if isinstance(result, BaseException):
            raise RuntimeError(
                f"{_where(items)}: the cluster could not run this batch: {describe(result)}"
            )
        kind, value = result
        if kind == "refused":
            raise SetupError(value)
        if kind == "raised":
            raise RuntimeError(f"{_where(items)}: {value}")
        if len(value) != len(items):
            raise RuntimeError(f"{_where(items)}: the worker sent {len(value)} of {len(items)}")
        return list(value)

    def _crashed(self, job: Job, case: Case, why: str) -> CaseReport:
        opts = self.options
        runs = [
            EngineRun(engine=spec, status="crashed", error=why)
            for spec in (opts.primary, opts.shadow)
        ]
        return case_report(opts, job, case, runs[0], runs[1])


class _Lost(Exception):
    """The scheduler is gone (its futures were cancelled)."""


def _index(job: Job, indices: dict[int, int], case: Case) -> int:
    index = indices.get(id(case))
    if index is not None:
        return index
    names = [c.name for c in job.cases]
    if case.name not in names:
        raise ConfigError(f"{job.path}: case {case.name!r} is not among its cases")
    return names.index(case.name)


def _where(items: Sequence[tuple[Job, Case]]) -> str:
    job, case = items[0]
    more = f" (and {len(items) - 1} more cases)" if len(items) > 1 else ""
    return f"{job.path}::{case.name}{more}"


__all__ = [
    "ClusterSpec",
    "DaskCampaign",
    "batches",
    "importable",
    "needed_modules",
    "parse_cluster",
    "run_batch",
]
