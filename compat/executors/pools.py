"""One executor layer for the campaigns that hand out independent units of work (`compat
fuzz`'s rounds, `compat perf`'s cases): in this process, in local worker processes, in one
killable worker process, or on a Dask cluster. The campaign says what a worker sets up once
(`setup(*setup_args)`: configuration, tools, engines) and what it does with each unit
(`task(state, notes, *unit)`, a module-level function, as the killable workers' tasks are);
the executor gives back each unit's `Answer` as it finishes, numbered in the order of the
units. Which executor runs it is chosen in one place (`open_executor`), so the campaigns
do not know.

`compat check` has executors of its own (compat/executors/campaign.py, dask.py) because it
salvages a case whose worker died in the middle: the other engine's run is made again.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from compat.executors.process import Answer, Died, Done, Raised, WorkerProcess, setup_timeout
from compat.executors.serve import Notes, describe, settle
from engines.errors import CompatError

Setup = Callable[..., Any]
Task = Callable[..., Any]


class Executor(Protocol):
    """Runs units of work somewhere; `where` says where, for messages and reports."""

    where: str

    def stream(
        self, setup: Setup, setup_args: Sequence[Any], task: Task, units: Iterable[tuple[Any, ...]]
    ) -> Iterator[tuple[int, Answer]]:
        """Each unit's answer as it finishes, with the unit's number. `units` is read
        lazily (a campaign may stop handing out work); closing the iterator stops."""
        ...

    def held(self, value: Any, name: str) -> Any:
        """`value` given to the workers once (units may name it many times)."""
        ...


class _Local:
    """Executors whose workers get values with the units themselves."""

    def held(self, value: Any, name: str) -> Any:
        return value


# --------------------------------------------------------------------------- a worker's state

#: Each worker thread's state per campaign (made by the campaign's set-up); the newest few
#: campaigns are kept, so a long-lived worker does not grow.
_STATES: OrderedDict[tuple[str, int], Any] = OrderedDict()
_STATES_LOCK = threading.Lock()
_KEPT_STATES = 8


def stateful(campaign: str, setup: Setup, task: Task, given: int, *values: Any) -> tuple[str, Any]:
    """Run in a worker: `task(state, notes, *args)` with this thread's state for `campaign`
    (`setup(*setup_args)`, made the first time). `values` are the `given` set-up arguments,
    then the task's (top-level arguments, so that Dask resolves the futures among them).
    The answer is `("ok", value)`, `("refused", message)` for bad input (one of our
    errors) or `("raised", message)` for anything else."""
    key = (campaign, threading.get_ident())
    with _STATES_LOCK:
        state = _STATES.get(key)
        if state is not None:
            _STATES.move_to_end(key)
    if state is None:
        made = _guarded(setup, *values[:given])
        if made[0] != "ok":
            return made
        state = made[1]
        settle()  # stateful runs in worker processes only (Processes, Dask)
        with _STATES_LOCK:
            _STATES[key] = state
            while len(_STATES) > _KEPT_STATES:
                _STATES.popitem(last=False)
    return _guarded(task, state, Notes(None), *values[given:])


def _guarded(call: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    try:
        return "ok", call(*args)
    except CompatError as exc:
        return "refused", str(exc)
    except Exception as exc:
        return "raised", describe(exc)


def answer_of(result: tuple[str, Any]) -> Answer:
    """`stateful`'s answer as the harness's `Answer`."""
    kind, value = result
    if kind == "refused":
        return Raised(value, refused=True)
    if kind == "raised":
        return Raised(value)
    return Done(value)


# --------------------------------------------------------------------------- the executors


class Inline(_Local):
    """Everything in this process, one unit after another (for a campaign of one worker,
    and for `--in-process`)."""

    where = "this process"

    def stream(
        self, setup: Setup, setup_args: Sequence[Any], task: Task, units: Iterable[tuple[Any, ...]]
    ) -> Iterator[tuple[int, Answer]]:
        made = _guarded(setup, *setup_args)
        if made[0] != "ok":  # every unit would get the set-up's answer: the first does
            yield 0, answer_of(made)
            return
        for index, unit in enumerate(units):
            yield index, answer_of(_guarded(task, made[1], Notes(None), *unit))


class Processes(_Local):
    """`workers` local processes (forked from a fork server), each setting up once; as many
    units out as there are workers, the next handed out as one ends."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.where = f"{workers} local worker processes"

    def stream(
        self, setup: Setup, setup_args: Sequence[Any], task: Task, units: Iterable[tuple[Any, ...]]
    ) -> Iterator[tuple[int, Answer]]:
        campaign = uuid.uuid4().hex
        pending = enumerate(units)
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(self.workers, mp_context=context) as pool:
            running: dict[Future[Any], int] = {}
            try:
                while True:
                    while len(running) < self.workers:
                        step = next(pending, None)
                        if step is None:
                            break
                        index, unit = step
                        future = pool.submit(
                            stateful, campaign, setup, task, len(setup_args), *setup_args, *unit
                        )
                        running[future] = index
                    if not running:
                        return
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in sorted(done, key=running.__getitem__):
                        index = running.pop(future)
                        try:
                            yield index, answer_of(future.result())
                        except BrokenProcessPool as exc:
                            # Every process of the pool is gone with it: the campaign stops.
                            yield index, Died(f"its worker process died ({describe(exc)})")
                            return
            finally:
                for future in running:
                    future.cancel()


class Killable(_Local):
    """One worker process, killed and started afresh when a unit takes longer than
    `timeout` seconds or kills it (`TimedOut`, `Died`): for measurements whose engine may
    hang or crash. The worker (one per set-up) lasts until `close`."""

    def __init__(self, timeout: float, memory_mb: int | None, name: str) -> None:
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.name = name
        self.where = "a worker process"
        self._workers: dict[tuple[Any, str], WorkerProcess] = {}

    def stream(
        self, setup: Setup, setup_args: Sequence[Any], task: Task, units: Iterable[tuple[Any, ...]]
    ) -> Iterator[tuple[int, Answer]]:
        key = (setup, repr(setup_args))
        worker = self._workers.get(key)
        if worker is None:
            # Loads the configuration, tools and engines first, in the worker: a setup that
            # fails, hangs or dies is a SetupError here, before compat imports any of it.
            worker = WorkerProcess(
                setup,
                tuple(setup_args),
                memory_mb=self.memory_mb,
                setup_timeout=setup_timeout(self.timeout),
                name=self.name,
            )
            self._workers[key] = worker
            worker.start()
        for index, unit in enumerate(units):
            yield index, worker.call(task, *unit, timeout=self.timeout)

    def close(self) -> None:
        for worker in self._workers.values():
            worker.close()
        self._workers.clear()


@contextlib.contextmanager
def open_executor(
    *,
    workers: int = 1,
    cluster: str | None = None,
    modules: Sequence[str] = (),
    root: str | None = None,
    killable: Killable | None = None,
) -> Iterator[Executor]:
    """The executor the options ask for: a Dask cluster (`cluster`, whose workers must
    import `modules`), `workers` local processes, `killable` (one killable worker), or
    this process."""
    if cluster is not None:
        from compat.executors.cluster import Cluster

        with Cluster(cluster, modules, root) as connected:
            yield connected
    elif workers > 1:
        yield Processes(workers)
    elif killable is not None:
        try:
            yield killable
        finally:
            killable.close()
    else:
        yield Inline()


__all__ = [
    "Executor",
    "Inline",
    "Killable",
    "Processes",
    "answer_of",
    "open_executor",
    "stateful",
]
