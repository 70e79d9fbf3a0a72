"""The shadow's side of the process runner: what runs in the shadow's worker process.

The worker loads the shadow engine once (by spec, so user engines are imported there and
not in the service), keeps the workflow registries it was sent, and for each sample runs
the shadow, turns both runs into `EngineRun`s and compares them: the costly work (the
shadow, validating results, the comparison) happens here, on another CPU and outside the
service's GIL. Only the observation and the comparison travel back.

Both sides import this module: the request and answer types are the wire format.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from compat.compare import compare_runs
from compat.engines import Engine, EngineRun, load_engine
from compat.executors.serve import Notes
from compat.record import Recording, ReplayRegistry
from compat.shadow.lazy import Parts
from compat.shadow.model import ShadowProcessError
from compat.shadow.runner import Raw, engine_run
from compat.tolerances import Tolerances
from engines.errors import SetupError
from engines.model import WorkflowRegistry, validate_workflow
from engines.tools import ToolRegistry, builtin_registry

#: The note a worker sends once the sample's registry is built: the shadow's timeout starts.
RUN = "run"
#: The note a worker sends when the shadow returned late (after half its timeout): comparing
#: has a deadline of its own. Not sent otherwise: every message wakes the service's worker
#: thread, which then takes the GIL from a primary.
COMPARE = "compare"


@dataclass(frozen=True, slots=True)
class Config:
    """What a worker is set up with (pickled once, in the service, when it is made)."""

    #: An engine spec (`graph`, `journey`, `module:attr`), loaded in the worker, or a
    #: picklable engine object.
    shadow: str | Engine
    primary: str
    tools: ToolRegistry | None
    env: Mapping[str, str] | None
    tolerances: Tolerances
    timeout: float
    nice: int


@dataclass(frozen=True)  # no slots: pickled as a plain dict, without a Python-level hook
class Request:
    """One sample. The registry travels once per worker (as workflow documents, rebuilt and
    checked against their content hashes), then by its token."""

    registry: int
    workflows: tuple[dict[str, Any], ...] | None
    hashes: tuple[str, ...]
    forget: tuple[int, ...]
    inputs: Mapping[str, Any]
    conversation: tuple[Any, ...]
    #: The primary's return value (None when it raised: then `primary_run` says how).
    primary_value: Any
    primary_run: EngineRun | None
    primary_wall: float
    primary_cpu: float | None
    recording: Recording | None
    #: Compute the default comparison (no custom `compare` hook).
    compare: bool


@dataclass(frozen=True)  # no slots, as `Request`
class Answer:
    """What the shadow did: a header of plain values, decoded by the service at once (all
    that deciding, counting and a one-line summary need), and the `body` (`lazy.Parts`,
    pickled apart: both runs, the shadow's value or exception, the comparison), decoded only
    when a hook or publisher reads it (compat/shadow/lazy.py)."""

    timed_out: bool
    wall_seconds: float
    cpu_seconds: float | None
    #: The shadow raised (its exception is in the body).
    raised: bool
    #: `status` and `error` of each run as `compare_runs` saw it.
    shadow_status: str
    shadow_error: str | None
    primary_status: str
    primary_error: str | None
    #: The default comparison was made (`comparison` in the body), and its verdict.
    compared: bool
    compatible: bool
    #: `compare_runs` raised (its exception is the body's `compare_error`).
    compare_failed: bool
    body: bytes


@dataclass
class State:
    """A worker's state: the engine and the registries it was sent."""

    config: Config
    engine: Engine
    name: str
    tools: ToolRegistry
    registries: dict[int, WorkflowRegistry] = field(default_factory=dict)


def setup(blob: bytes) -> State:
    """Load the shadow engine (a `SetupError` names what failed) and lower the priority."""
    config: Config = pickle.loads(blob)
    if config.nice:
        with contextlib.suppress(OSError):
            os.nice(config.nice)
    shadow = config.shadow
    engine = shadow
    if isinstance(shadow, str):
        engine = load_engine(shadow, tools=config.tools, env=config.env)
    if not callable(getattr(engine, "run_case", None)):
        raise SetupError(f"the shadow {type(engine).__name__} has no run_case")
    name = getattr(engine, "name", None)
    if not isinstance(name, str) or not name:
        raise SetupError(f"the shadow engine {type(engine).__name__} has no name")
    tools = config.tools if config.tools is not None else builtin_registry()
    return State(config, engine, name, tools)


def describe(state: State, notes: Notes) -> str:
    """The shadow engine's name, for observations made in the service."""
    return state.name


def run(state: State, notes: Notes, blob: bytes) -> bytes:
    """One sample: the shadow's run, both `EngineRun`s and the comparison, as a pickled
    `Answer`.

    Never raises for anything the shadow does; a body that cannot be pickled (a value or an
    exception of the shadow's) is replaced by a `ShadowProcessError` saying so."""
    received = time.perf_counter()
    request: Request = pickle.loads(blob)
    registry = _registry(state, request, notes)
    if request.workflows is not None:
        received = time.perf_counter()  # the service's deadline restarts with the RUN note
    config = state.config
    replayer = None
    if request.recording is not None:
        replayer = ReplayRegistry(request.recording, state.tools)
    started, cpu0 = time.perf_counter(), time.thread_time()
    value: Any = None
    exception: BaseException | None = None
    try:
        if replayer is None:
            value = state.engine.run_case(registry, request.inputs, request.conversation)
        else:
            value = state.engine.run_case(
                registry, request.inputs, request.conversation, tools=replayer
            )
    except BaseException as exc:  # the shadow's failure is an observation
        exception = exc
    cpu, wall = time.thread_time() - cpu0, time.perf_counter() - started
    if time.perf_counter() - received >= config.timeout / 2:
        notes(COMPARE)
    if wall > config.timeout:  # answered, but later than a thread runner would have waited
        raw = Raw(timed_out=True, wall_seconds=wall, cpu_seconds=None)
    else:
        raw = Raw(value=value, exception=_portable(exception), wall_seconds=wall, cpu_seconds=cpu)
    try:
        answer = _answer(state, request, registry, raw, replayer)
    except _Unsendable as unsendable:
        exc = unsendable.cause
        problem = ShadowProcessError(
            f"the shadow's result cannot be sent from its worker process: "
            f"{type(exc).__name__}: {exc}"
        )
        raw = Raw(exception=problem, wall_seconds=wall, cpu_seconds=cpu)
        answer = _answer(state, request, registry, raw, replayer)
    return pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)


def _registry(state: State, request: Request, notes: Notes) -> WorkflowRegistry:
    for token in request.forget:
        state.registries.pop(token, None)
    if request.workflows is not None:
        items = [validate_workflow(doc) for doc in request.workflows]
        hashes = tuple(item.content_hash for item in items)
        if hashes != request.hashes:
            raise ShadowProcessError(
                "a workflow rebuilt in the shadow's worker process differs from the "
                "service's (content hashes differ)"
            )
        state.registries[request.registry] = WorkflowRegistry(items)
        notes(RUN)
    return state.registries[request.registry]


def _answer(
    state: State,
    request: Request,
    registry: WorkflowRegistry,
    raw: Raw,
    replayer: ReplayRegistry | None,
) -> Answer:
    config = state.config
    timeout = config.timeout
    shadow_run = engine_run(state.name, raw, timeout)
    primary_run = request.primary_run
    if primary_run is None:
        primary_raw = Raw(
            value=request.primary_value,
            wall_seconds=request.primary_wall,
            cpu_seconds=request.primary_cpu,
        )
        primary_run = engine_run(config.primary, primary_raw, timeout)
    comparison, error = None, None
    compared = request.compare and not (
        request.primary_run is not None and raw.exception is not None
    )
    if compared:
        extra = () if replayer is None else (replayer.dimension(),)
        try:
            comparison = compare_runs(
                primary_run, shadow_run, registry.main, config.tolerances,
                extra=extra, registry=registry,
            )  # fmt: skip
        except Exception as exc:
            error = _portable(exc)
    sent = primary_run
    is_value = primary_run.result is not None and primary_run.result is request.primary_value
    if is_value:
        sent = primary_run.model_copy(update={"result": None})
    parts = Parts(raw.value, raw.exception, shadow_run, sent, is_value, comparison, error)
    try:
        body = pickle.dumps(parts, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise _Unsendable(exc) from None
    return Answer(
        timed_out=raw.timed_out,
        wall_seconds=raw.wall_seconds,
        cpu_seconds=raw.cpu_seconds,
        raised=raw.exception is not None,
        shadow_status=shadow_run.status,
        shadow_error=shadow_run.error,
        primary_status=primary_run.status,
        primary_error=primary_run.error,
        compared=compared,
        compatible=comparison is not None and comparison.compatible,
        compare_failed=error is not None,
        body=body,
    )


class _Unsendable(Exception):
    """The body cannot be pickled (a value of the shadow's, or one inside its result)."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _portable(exc: BaseException | None) -> BaseException | None:
    """The exception, with its traceback as a note (tracebacks do not pickle), or a
    `ShadowProcessError` describing it when it cannot make the trip."""
    if exc is None:
        return None
    try:  # a copy: an engine may raise one exception object again and again
        sent = pickle.loads(pickle.dumps(exc, pickle.HIGHEST_PROTOCOL))
    except Exception as why:
        text = str(exc)
        described = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        return ShadowProcessError(
            f"{described} (the exception cannot be sent from the shadow's worker process: "
            f"{type(why).__name__}: {why})"
        )
    with contextlib.suppress(Exception):
        sent.add_note(
            f"(raised in the shadow's worker process, pid {os.getpid()}; its traceback:)\n"
            + "".join(traceback.format_exception(exc)).rstrip()
        )
    return sent  # type: ignore[no-any-return]
