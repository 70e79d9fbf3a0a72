"""The process runner: an experiment's shadow runs in a long-lived worker process.

The thread runner (the default) runs the shadow in the service's own interpreter, so under
sustained load it takes turns with later primaries for the GIL. With
`Experiment(..., shadow_runner="process")` (or a `ProcessRunner` with options) the shadow
engine is loaded in a worker process (`compat.executors.process.WorkerProcess`: forked from
the fork server, its own process group, killed at a deadline, replaced when it dies), and
each sample costs the service only this:

* the caller's thread: what it always does (a sampling draw, a copy of the inputs, a
  non-blocking queue put); never a pickle, never a wait;
* the experiment's worker thread (the feeder): pickling the request (the inputs and the
  primary's value; a registry once per worker), waiting for the answer without the GIL,
  unpickling its header (statuses, the verdict, the costs) and the user's hooks. The rest
  of the answer (the shadow's value, both runs, the comparison) is decoded only if a hook
  or publisher reads it (compat/shadow/lazy.py).

Running the shadow, validating both results and the default comparison happen in the
worker, at a lower CPU priority (`nice`), so a busy machine serves the primary first.
docs/shadow.md has the contract and the measurements.
"""

from __future__ import annotations

import itertools
import pickle
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compat.engines import Engine
from compat.executors.process import (
    DEFAULT_MEMORY_MB,
    Died,
    Done,
    Raised,
    TimedOut,
    WorkerProcess,
    cause,
)
from compat.record import Recording
from compat.shadow import checks, worker
from compat.shadow.lazy import Body
from compat.shadow.model import Call, ShadowProcessError
from compat.shadow.runner import Raw, engine_run
from compat.tolerances import Tolerances
from engines.errors import ConfigError, SetupError
from engines.model import WorkflowRegistry
from engines.tools import ToolRegistry

#: How much the worker's CPU priority is lowered (`os.nice`): on a busy machine the
#: service's threads are scheduled first.
DEFAULT_NICE = 10


class ProcessRunner:
    """Run an experiment's shadow in a worker process (`shadow_runner=ProcessRunner(...)`;
    `shadow_runner="process"` is `ProcessRunner()` with these defaults).

    * `memory_mb`: what the worker may allocate beyond its set-up self (None: no limit);
    * `nice`: how much lower the worker's CPU priority is (0 keeps the service's);
    * `start_timeout`: seconds a worker may take to start and load the shadow engine (and
      to rebuild a registry it is sent);
    * `compare_timeout`: seconds the worker may take, once the shadow returned, to validate
      both results, compare them and answer;
    * `max_registries`: workflow registries a worker keeps (least recently used first out).
    """

    def __init__(
        self,
        *,
        memory_mb: int | None = DEFAULT_MEMORY_MB,
        nice: int = DEFAULT_NICE,
        start_timeout: float = 60.0,
        compare_timeout: float = 30.0,
        max_registries: int = 32,
    ) -> None:
        where = "ProcessRunner"
        if memory_mb is not None:
            checks.count(where, "memory_mb", memory_mb)
        if isinstance(nice, bool) or not isinstance(nice, int) or not 0 <= nice <= 19:
            raise ConfigError(f"{where}: nice must be an int between 0 and 19, got {nice!r}")
        self.memory_mb = memory_mb
        self.nice = nice
        limit = threading.TIMEOUT_MAX
        self.start_timeout = checks.number(
            where, "start_timeout", start_timeout, low=0.0, high=limit, open_low=True
        )
        self.compare_timeout = checks.number(
            where, "compare_timeout", compare_timeout, low=0.0, high=limit, open_low=True
        )
        self.max_registries = checks.count(where, "max_registries", max_registries)

    def __repr__(self) -> str:
        return (
            f"ProcessRunner(memory_mb={self.memory_mb}, nice={self.nice}, "
            f"start_timeout={self.start_timeout:g}, compare_timeout={self.compare_timeout:g}, "
            f"max_registries={self.max_registries})"
        )


def runner_option(where: str, value: Any) -> ProcessRunner | None:
    """`shadow_runner`: None for threads, the `ProcessRunner` for a worker process."""
    if value == "thread":
        return None
    if value == "process":
        return ProcessRunner()
    if isinstance(value, ProcessRunner):
        return value
    raise ConfigError(
        f"{where}: shadow_runner must be 'thread', 'process' or a "
        f"compat.shadow.ProcessRunner, got {value!r}"
    )


@dataclass(frozen=True, slots=True)
class Remote:
    """What the worker made of one sample: `raw` (the shadow's costs, or how it failed) and,
    when the worker answered, its `answer` (the header) and `body` (decoded on first use).
    Without an answer (the worker timed out or died) the experiment builds both runs and the
    comparison itself, as with threads."""

    raw: Raw
    answer: worker.Answer | None = None
    body: Body | None = None


class RemoteShadow:
    """The service's handle on one experiment's shadow worker process (`Experiment.shadow`
    with the process runner): `name` is the shadow engine's, `pid` the worker's."""

    def __init__(
        self,
        where: str,
        label: str,
        runner: ProcessRunner,
        *,
        shadow: str | Engine,
        primary: str,
        tools: ToolRegistry | None,
        env: Mapping[str, str] | None,
        tolerances: Tolerances,
        timeout: float,
    ) -> None:
        config = worker.Config(
            shadow, primary, tools, None if env is None else dict(env), tolerances, timeout,
            runner.nice,
        )  # fmt: skip
        self._runner = runner
        self._primary = primary
        self._timeout = timeout
        self._worker = WorkerProcess(
            worker.setup,
            (_pickled(where, config),),
            memory_mb=runner.memory_mb,
            setup_timeout=runner.start_timeout,
            name=f"compat-shadow-{label}",
        )
        self._lock = threading.Lock()
        self._closed = False
        self._tokens = itertools.count(1)
        #: Registries seen, by id (held, so an id is never reused while listed): token.
        self._known: OrderedDict[int, tuple[WorkflowRegistry, int]] = OrderedDict()
        #: Tokens the current worker holds; tokens it should drop with the next request.
        self._sent: set[int] = set()
        self._forget: list[int] = []
        # An experiment dropped without close() must not leave its worker behind.
        self._finalizer = weakref.finalize(self, self._worker.kill)
        try:
            self._worker.start()
            answer = self._worker.call(worker.describe, timeout=runner.start_timeout)
        except SetupError as exc:
            self._finalizer()
            raise SetupError(f"{where}: shadow: {exc}") from None
        if not isinstance(answer, Done):
            self._finalizer()
            raise SetupError(f"{where}: shadow: the worker process did not start: {cause(answer)}")
        self.name: str = answer.value

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pid(self) -> int | None:
        """The worker's process id; None before a restart (after a kill) or once closed."""
        return self._worker.pid

    def close(self) -> None:
        """Stop the worker (asked first, killed if it does not stop)."""
        with self._lock:
            self._closed = True
            self._worker.close()
            self._finalizer.detach()

    def run(
        self, call: Call, primary: Raw, recording: Recording | None, *, compare: bool
    ) -> Remote:
        """Run the shadow on `call` in the worker; never raises for what the shadow does (a
        `ShadowProcessError` when the failure is ours: restarting, comparing)."""
        with self._lock:
            if self._closed:
                raise ShadowProcessError("the shadow's worker process is closed")
            try:
                self._worker.start()
            except SetupError as exc:
                self._lost()
                raise ShadowProcessError(
                    f"the shadow's worker process could not be restarted: {exc}"
                ) from None
            request = self._request(call, primary, recording, compare)
            budget = self._timeout
            if request.workflows is not None:
                budget += self._runner.start_timeout
            try:
                blob = pickle.dumps(request, pickle.HIGHEST_PROTOCOL)
            except Exception as exc:
                if request.workflows is not None:  # the worker did not get it after all
                    self._sent.discard(request.registry)
                self._forget[:0] = request.forget
                raise ShadowProcessError(
                    "the call cannot be sent to the shadow's worker process: its inputs, "
                    f"conversation or the primary's value cannot be pickled "
                    f"({type(exc).__name__}: {exc})"
                ) from None
            sent = time.perf_counter()
            answer = self._worker.call(worker.run, blob, timeout=budget, on_note=self._on_note)
            elapsed = time.perf_counter() - sent
            if not isinstance(answer, Done):
                self._lost()  # the worker was killed: its registries with it
        return self._remote(answer, primary, elapsed)

    # ------------------------------------------------------------------ internals

    def _on_note(self, label: str) -> float | None:
        """A new deadline for the stage the worker starts."""
        if label == worker.RUN:
            return self._timeout
        if label == worker.COMPARE:
            return self._runner.compare_timeout
        return None

    def _lost(self) -> None:
        self._sent.clear()
        self._forget.clear()

    def _request(
        self, call: Call, primary: Raw, recording: Recording | None, compare: bool
    ) -> worker.Request:
        token, workflows, hashes = self._registry(call.registry)
        forget, self._forget = tuple(self._forget), []
        raised = primary.exception is not None
        return worker.Request(
            registry=token,
            workflows=workflows,
            hashes=hashes,
            forget=forget,
            inputs=call.inputs,
            conversation=call.conversation,
            primary_value=None if raised else primary.value,
            primary_run=engine_run(self._primary, primary, self._timeout) if raised else None,
            primary_wall=primary.wall_seconds,
            primary_cpu=primary.cpu_seconds,
            recording=recording,
            compare=compare,
        )

    def _registry(
        self, registry: WorkflowRegistry
    ) -> tuple[int, tuple[dict[str, Any], ...] | None, tuple[str, ...]]:
        """The registry's token, and its workflows when the worker does not hold it yet."""
        key = id(registry)
        entry = self._known.get(key)
        if entry is not None and entry[0] is registry:
            self._known.move_to_end(key)
            token = entry[1]
        else:
            token = next(self._tokens)
            self._known[key] = (registry, token)
            while len(self._known) > self._runner.max_registries:
                _, (_, old) = self._known.popitem(last=False)
                if old in self._sent:
                    self._sent.discard(old)
                    self._forget.append(old)
        if token in self._sent:
            return token, None, ()
        items = [registry.main, *(w for w in registry.values() if w is not registry.main)]
        workflows = tuple(
            item.workflow.model_dump(mode="json", by_alias=True, exclude_unset=True)
            for item in items
        )
        self._sent.add(token)
        return token, workflows, tuple(item.content_hash for item in items)

    def _remote(self, answer: Any, primary: Raw, elapsed: float) -> Remote:
        if isinstance(answer, Done):
            done: worker.Answer = pickle.loads(answer.value)
            raw = Raw(
                timed_out=done.timed_out,
                wall_seconds=done.wall_seconds,
                cpu_seconds=done.cpu_seconds,
            )
            return Remote(raw, done, Body(done.body, primary.value))
        comparing = getattr(answer, "stage", None) == worker.COMPARE
        if isinstance(answer, TimedOut):
            if comparing:
                raise ShadowProcessError(
                    f"the shadow's worker process took more than {answer.seconds:g} s to "
                    "compare the runs (compare_timeout); it was killed"
                )
            return Remote(Raw(timed_out=True, wall_seconds=elapsed, cpu_seconds=None))
        if isinstance(answer, Died):
            if comparing:
                raise ShadowProcessError(
                    f"the shadow's worker process died while comparing the runs: {answer.cause}"
                )
            crash = ShadowProcessError(
                f"the shadow's worker process died while running it: {answer.cause}"
            )
            return Remote(Raw(exception=crash, wall_seconds=elapsed, cpu_seconds=None))
        assert isinstance(answer, Raised)
        raise ShadowProcessError(f"the shadow's worker process failed: {answer.error}")


def _pickled(where: str, config: worker.Config) -> bytes:
    """The worker's configuration, pickled now: what cannot travel fails when the
    experiment is made, naming the argument."""
    try:
        return pickle.dumps(config, pickle.HIGHEST_PROTOCOL)
    except Exception:
        pass
    for field, value in (
        ("shadow", config.shadow),
        ("tools", config.tools),
        ("env", config.env),
        ("tolerances", config.tolerances),
    ):
        try:
            pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise ConfigError(
                f"{where}: {field}: the process runner sends it to the shadow's worker "
                f"process, and it cannot be pickled ({type(exc).__name__}: {exc}); name the "
                "shadow by spec (graph, journey, module:attr) and define tools at module level"
            ) from None
    raise ConfigError(f"{where}: the process runner's configuration cannot be pickled")
