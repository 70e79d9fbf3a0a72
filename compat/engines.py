"""Engines the harness can run, and running them safely.

An engine is anything with `name` and `run_case(registry, inputs, conversation, tools=...)`
returning a `RunResult` (or its JSON form): the graph and journey engines through their
adapters here, or a user engine named as `module:attr` — so the harness also serves a team
comparing an old and a new version of one engine. A run is guarded: an engine that raises is
a `crashed` run, one that does not return within the timeout a `timed_out` one, and a result
that is not a `RunResult` a crash too; none of them ever crashes the harness.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, ValidationError

from engines.clock import VirtualClock
from engines.documents import Cancel
from engines.errors import ExpressionError, SetupError
from engines.expressions import as_json
from engines.graph import GraphEngine
from engines.graph.driver import run_conversation as graph_conversation
from engines.graph.store import SQLiteSnapshotStore
from engines.journey import JourneyEngine
from engines.journey.driver import run_conversation as journey_conversation
from engines.model import WorkflowRegistry
from engines.result import RunResult
from engines.tools import ToolRegistry, builtin_registry


@runtime_checkable
class Engine(Protocol):
    """What the harness runs. `run_case` may also accept, as keywords, `cancel` (a case's
    `engines.documents.Cancel`: cancel the run at that moment, docs/semantics.md §7.11) and
    `roundtrip` (save every pause and resume it on a fresh engine instance); the harness
    passes them only to an engine whose `run_case` takes them."""

    name: str

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
    ) -> RunResult | Mapping[str, Any]: ...


def accepts(engine: Any, keyword: str) -> bool:
    """Whether `engine.run_case` takes the keyword argument `keyword` (or `**kwargs`)."""
    try:
        parameters = inspect.signature(engine.run_case).parameters
    except (TypeError, ValueError):
        return False
    return keyword in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


class _BuiltinAdapter:
    """One of our engines, driven through a conversation, on a fresh virtual clock per run.

    The engine itself is kept (one per tool registry), so its compiled plans and journeys
    serve every run in every thread — compile once, run many, as in production; each run gets
    a twin of it on a clock of its own (`with_clock`), the only thing made new."""

    name = ""

    def __init__(self, tools: ToolRegistry | None = None, env: Mapping[str, str] | None = None):
        self.tools = tools or builtin_registry()
        self.env = dict(env or {})
        self._engine: tuple[ToolRegistry, Any] | None = None
        self._engine_lock = threading.Lock()

    def engine(self, tools: ToolRegistry | None = None) -> Any:
        raise NotImplementedError

    def converse(
        self,
        engine: Any,
        registry: WorkflowRegistry,
        inputs: dict[str, Any],
        answers: list[Any],
        *,
        cancel: Cancel | None,
        fresh: Callable[[], Any] | None,
    ) -> RunResult:
        raise NotImplementedError

    def _engine_for(self, tools: ToolRegistry | None) -> Any:
        registry = tools or self.tools
        with self._engine_lock:
            cached = self._engine
            if cached is None or cached[0] is not registry:
                cached = self._engine = (registry, self.engine(registry))
        return cached[1].with_clock(VirtualClock())

    def run_case(
        self,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        *,
        tools: ToolRegistry | None = None,
        cancel: Cancel | None = None,
        roundtrip: bool = False,
    ) -> RunResult:
        engine = self._engine_for(tools)
        # A resumed run gets a brand-new engine (its own compiled plans, its own clock), as
        # another process would.
        fresh = (lambda: self.engine(tools or self.tools)) if roundtrip else None
        return self.converse(
            engine, registry, dict(inputs), list(conversation), cancel=cancel, fresh=fresh
        )


class GraphAdapter(_BuiltinAdapter):
    """The graph engine."""

    name = "graph"

    def engine(self, tools: ToolRegistry | None = None) -> GraphEngine:
        return GraphEngine(tools=tools or self.tools, clock=VirtualClock(), env=self.env)

    def converse(
        self,
        engine: Any,
        registry: WorkflowRegistry,
        inputs: dict[str, Any],
        answers: list[Any],
        *,
        cancel: Cancel | None,
        fresh: Callable[[], Any] | None,
    ) -> RunResult:
        if fresh is None:
            return graph_conversation(
                engine, registry, inputs, answers, cancel=cancel, roundtrip=False
            )
        # Every pause is saved in a real SQLite store and loaded back, as a service would;
        # the store is made at the first pause (most runs never pause).
        with _FirstUseStore() as store:
            return graph_conversation(
                engine,
                registry,
                inputs,
                answers,
                roundtrip=True,
                cancel=cancel,
                fresh=fresh,
                store=store,  # type: ignore[arg-type]
            )


class _FirstUseStore:
    """A SQLite snapshot store in a temporary folder, created when first used."""

    def __init__(self) -> None:
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._store: SQLiteSnapshotStore | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._store is None:
            self._folder = tempfile.TemporaryDirectory(prefix="compat-roundtrip-")
            self._store = SQLiteSnapshotStore(Path(self._folder.name) / "runs.db")
        return getattr(self._store, name)

    def __enter__(self) -> _FirstUseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._store is not None:
            self._store.close()
        if self._folder is not None:
            self._folder.cleanup()


class JourneyAdapter(_BuiltinAdapter):
    """The journey engine."""

    name = "journey"

    def engine(self, tools: ToolRegistry | None = None) -> JourneyEngine:
        return JourneyEngine(tools=tools or self.tools, clock=VirtualClock(), env=self.env)

    def converse(
        self,
        engine: Any,
        registry: WorkflowRegistry,
        inputs: dict[str, Any],
        answers: list[Any],
        *,
        cancel: Cancel | None,
        fresh: Callable[[], Any] | None,
    ) -> RunResult:
        return journey_conversation(
            engine,
            registry,
            inputs,
            answers,
            roundtrip=fresh is not None,
            cancel=cancel,
            fresh=fresh,
        )


BUILTIN_ENGINES = {"graph": GraphAdapter, "journey": JourneyAdapter}


def builtin(engine: Any) -> bool:
    """Whether `engine` is one of ours exactly (not a subclass a user changed), whose
    results keep the contract's value limits by construction."""
    kind = type(engine)
    return kind in BUILTIN_ENGINES.values() or (
        kind.__name__ == "Relay" and kind.__module__ == "compat.relay"
    )


def load_engine(
    spec: str, *, tools: ToolRegistry | None = None, env: Mapping[str, str] | None = None
) -> Engine:
    """`graph`, `journey`, or `module:attr` naming an engine object, class or factory."""
    if spec in BUILTIN_ENGINES:
        return BUILTIN_ENGINES[spec](tools, env)  # type: ignore[no-any-return]
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise SetupError(f"engine {spec!r}: expected graph, journey or module:attr")
    # Engines named on the command line live in the user's project, like tool modules.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise SetupError(
            f"engine {spec!r}: cannot import {module_name!r}: {type(exc).__name__}: {exc}"
        ) from None
    target = getattr(module, attr, None)
    if target is None:
        raise SetupError(f"engine {spec!r}: {module_name!r} has no {attr!r}")
    engine = (
        target()
        if isinstance(target, type) or (callable(target) and not hasattr(target, "run_case"))
        else target
    )
    if not hasattr(engine, "run_case"):
        raise SetupError(f"engine {spec!r} has no run_case(registry, inputs, conversation)")
    if not getattr(engine, "name", None):
        try:
            engine.name = spec
        except AttributeError:
            raise SetupError(f"engine {spec!r} has no name") from None
    return engine  # type: ignore[no-any-return]


class EngineRun(BaseModel):
    """One engine's run of one case, as the harness saw it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: str
    #: The result's status, or the harness's verdict: `crashed`, `timed_out`.
    status: str
    result: RunResult | None = None
    #: What went wrong when there is no result.
    error: str | None = None
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0


def _options(
    engine: Engine, tools: ToolRegistry | None, cancel: Cancel | None, roundtrip: bool
) -> dict[str, Any] | EngineRun:
    """The keyword arguments for `engine.run_case`, or the crash of an engine that cannot
    run the case as asked (it takes no `cancel` or `roundtrip`)."""
    options: dict[str, Any] = {}
    if tools is not None:
        options["tools"] = tools
    for keyword, value, what in (
        ("cancel", cancel, "cancel a run"),
        ("roundtrip", roundtrip or None, "resume a saved run (--roundtrip)"),
    ):
        if value is None:
            continue
        if not accepts(engine, keyword):
            return EngineRun(
                engine=engine.name,
                status="crashed",
                error=f"engine {engine.name!r} cannot {what}: its run_case takes no "
                f"`{keyword}` argument",
            )
        options[keyword] = value
    return options


def run_engine(
    engine: Engine,
    registry: WorkflowRegistry,
    inputs: Mapping[str, Any],
    conversation: Sequence[Any],
    *,
    timeout: float = 60.0,
    tools: ToolRegistry | None = None,
    cancel: Cancel | None = None,
    roundtrip: bool = False,
) -> EngineRun:
    """Run one case in a worker thread; never raises for anything the engine does. A thread
    cannot be stopped: an engine that times out here keeps running (and holding memory)
    until it returns — which is why the harness runs untrusted engines in worker processes
    (`compat.executors`), with `run_engine_here`."""
    options = _options(engine, tools, cancel, roundtrip)
    if isinstance(options, EngineRun):
        return options
    outcome: dict[str, Any] = {}

    def work() -> None:
        cpu = time.thread_time()
        try:
            outcome["value"] = engine.run_case(registry, inputs, conversation, **options)
        except BaseException as exc:  # the engine's failure is a result, not ours
            outcome["error"] = exc.with_traceback(None)
        finally:
            outcome["cpu"] = time.thread_time() - cpu

    started = time.perf_counter()
    worker = threading.Thread(target=work, name=f"compat-{engine.name}", daemon=True)
    worker.start()
    worker.join(timeout)
    wall = time.perf_counter() - started
    if worker.is_alive():
        return verdict(engine.name, timed_out=True, timeout=timeout, wall_seconds=wall)
    return verdict(
        engine.name,
        value=outcome.get("value"),
        error=outcome.get("error"),
        timeout=timeout,
        wall_seconds=wall,
        cpu_seconds=float(outcome.get("cpu", 0.0)),
        trusted=builtin(engine),
    )


def run_engine_here(
    engine: Engine,
    registry: WorkflowRegistry,
    inputs: Mapping[str, Any],
    conversation: Sequence[Any],
    *,
    tools: ToolRegistry | None = None,
    cancel: Cancel | None = None,
    roundtrip: bool = False,
) -> EngineRun:
    """`run_engine` on the calling thread, with no timeout of its own: for a worker process,
    whose parent enforces the deadline by killing it."""
    options = _options(engine, tools, cancel, roundtrip)
    if isinstance(options, EngineRun):
        return options
    value: Any = None
    error: BaseException | None = None
    started, cpu = time.perf_counter(), time.thread_time()
    try:
        value = engine.run_case(registry, inputs, conversation, **options)
    except BaseException as exc:  # the engine's failure is a result, not ours
        # Without its traceback, the frames of the failed run (and all they hold: after a
        # MemoryError, the memory) are freed now, not at some later garbage collection.
        error = exc.with_traceback(None)
    return verdict(
        engine.name,
        value=value,
        error=error,
        timeout=0.0,
        wall_seconds=time.perf_counter() - started,
        cpu_seconds=time.thread_time() - cpu,
        trusted=builtin(engine),
    )


def _describe(error: BaseException) -> str:
    text = str(error) or ("out of memory" if isinstance(error, MemoryError) else "")
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def verdict(
    name: str,
    *,
    value: Any = None,
    error: BaseException | None = None,
    timed_out: bool = False,
    timeout: float,
    wall_seconds: float,
    cpu_seconds: float = 0.0,
    trusted: bool = False,
) -> EngineRun:
    """What the harness makes of what an engine did: its result, or `timed_out` (no answer
    within `timeout`), or `crashed` (it raised, or returned something not a `RunResult`)."""
    if timed_out:
        return EngineRun(
            engine=name,
            status="timed_out",
            wall_seconds=wall_seconds,
            error=f"no result within {timeout:g} s",
        )
    if error is not None:
        return EngineRun(
            engine=name,
            status="crashed",
            wall_seconds=wall_seconds,
            cpu_seconds=cpu_seconds,
            error=_describe(error),
        )
    try:
        result = value if isinstance(value, RunResult) else RunResult.model_validate(value)
    except ValidationError as exc:
        return EngineRun(
            engine=name,
            status="crashed",
            wall_seconds=wall_seconds,
            cpu_seconds=cpu_seconds,
            error=f"the result is not a RunResult: {exc.error_count()} problems, "
            f"first: {exc.errors()[0]['msg']}",
        )
    except (RecursionError, ValueError, TypeError) as exc:  # nested without end, unreadable
        return EngineRun(
            engine=name,
            status="crashed",
            wall_seconds=wall_seconds,
            cpu_seconds=cpu_seconds,
            error=f"the result is not a RunResult: it cannot be read ({type(exc).__name__})",
        )
    problem = None if trusted else beyond_limits(result)
    if problem is not None:
        return EngineRun(
            engine=name,
            status="crashed",
            wall_seconds=wall_seconds,
            cpu_seconds=cpu_seconds,
            error=f"the result breaks the result contract's limits: {problem}",
        )
    return EngineRun(
        engine=name,
        status=result.status.value,
        result=result,
        wall_seconds=wall_seconds,
        cpu_seconds=cpu_seconds,
    )


def beyond_limits(result: RunResult) -> str | None:
    """What in a result (from an engine that is not built in) is beyond the limits every
    value of a run keeps (docs/semantics.md §5, "Budgets": integer digits, items, depth):
    such a value could not have come from the contract's engines, and could not be
    compared or printed like theirs."""
    try:
        as_json(result.model_dump(mode="json", by_alias=True))
    except ExpressionError as exc:
        return exc.message
    except RecursionError:
        return "a value nested too deeply"
    return None
