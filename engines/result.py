"""The result contract: what every engine returns, so that any two can be compared.

Engines build a result once, when a run stops, its trace in the lean form
(`engines.trace`): `result.trace` turns it into `TraceEvent`s the first time it is read,
and serialising or comparing a result with `==` does too. The harness validates results
from engines it does not know by `RunResult.model_validate`.
An engine may subclass `RunResult` to add fields of its own (the journey engine adds its
transcript); the harness compares the fields defined here.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, field_serializer

#: Where a node execution happens: ((container id, iteration or branch index), ...),
#: outermost container first; empty at the top level.
IterationPath = tuple[tuple[str, int], ...]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Error locations that are not nodes: the initial variables and the final outputs.
VARIABLES_NODE = "$variables"
OUTPUTS_NODE = "$outputs"
PSEUDO_NODES = (VARIABLES_NODE, OUTPUTS_NODE)


class RunStatus(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class TraceKind(StrEnum):
    """Node-level events (docs/semantics.md, "Trace")."""

    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    RETRYING = "retrying"
    SKIPPED = "skipped"
    COMPENSATED = "compensated"
    DEDUPLICATED = "deduplicated"


class SkipReason(StrEnum):
    DEAD_PATH = "dead_path"
    UPSTREAM_FAILED = "upstream_failed"
    #: An input still pending when the run failed or was cancelled.
    ABANDONED = "abandoned"


class TraceEvent(BaseModel):
    model_config = _FROZEN

    #: Position in the run's event stream (increasing; may skip the positions of an
    #: engine's own execution events).
    seq: int
    kind: TraceKind
    node: str
    attempt: int = 1
    path: IterationPath = ()
    #: Clock seconds since the run started.
    time: float = 0.0
    #: Kind-specific facts: `code`/`message`/`handled` for failed, `delay` for retrying,
    #: `reason` for skipped, `tool`/`ok` for compensated, `key` for deduplicated.
    detail: dict[str, Any] = Field(default_factory=dict)

    def step(self) -> tuple[str, IterationPath, int, str]:
        """The node-level step this event stands for: (node, path, attempt, kind)."""
        return (self.node, self.path, self.attempt, self.kind.value)

    @classmethod
    def trusted(
        cls,
        seq: int,
        kind: str,
        node: str,
        attempt: int,
        path: IterationPath,
        time: float,
        detail: dict[str, Any] | None,
    ) -> TraceEvent:
        """An event from values an engine already knows to be valid, without validation.

        Engines emit thousands of events per run; validating each costs several times the
        node's own work, and pydantic's `model_construct` is slower still (it is written in
        Python and handles defaults). This sets exactly what `model_construct` sets.
        `tests/test_contract.py` checks it against the validating constructor.
        """
        event = _new(cls)
        _set_dict(
            event,
            {
                "seq": seq,
                "kind": _KINDS[kind],
                "node": node,
                "attempt": attempt,
                "path": path,
                "time": time,
                "detail": detail if detail is not None else {},
            },
        )
        _set_fields_set(event, _TRACE_FIELDS)
        _set_extra(event, None)
        _set_private(event, None)
        return event


def _slot_setter(cls: type, name: str) -> Any:
    """The `__set__` of the descriptor behind `name` on instances of `cls`: calling it
    directly costs about two thirds of `object.__setattr__`, which looks the name up each
    time (an event sets four of them)."""
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None and hasattr(descriptor, "__set__"):
            return descriptor.__set__
    return lambda obj, value: object.__setattr__(obj, name, value)  # pragma: no cover


_new = object.__new__
_set_dict = _slot_setter(TraceEvent, "__dict__")
_set_fields_set = _slot_setter(TraceEvent, "__pydantic_fields_set__")
_set_extra = _slot_setter(TraceEvent, "__pydantic_extra__")
_set_private = _slot_setter(TraceEvent, "__pydantic_private__")
_KINDS = {kind.value: kind for kind in TraceKind}
#: Shared by every trusted event. A `set`, not a frozenset: `model_copy(update=)` copies it
#: and updates the copy. Nothing adds to it but names it already holds (every field is set).
_TRACE_FIELDS = set(TraceEvent.model_fields)


class NodeError(BaseModel):
    """A node failure: in `RunResult.errors` when unhandled, in `node_errors` when routed."""

    model_config = _FROZEN

    node: str
    code: str
    message: str = ""
    recoverable: bool = False
    attempts: int = 1
    path: IterationPath = ()
    #: For a container or sub-workflow node: the inner failure it reports.
    cause: NodeError | None = None

    def as_scope(self) -> dict[str, Any]:
        """What templates see as `nodes.<id>.error`."""
        return {"code": self.code, "message": self.message, "attempts": self.attempts}


class PauseInfo(BaseModel):
    """Where a paused run waits: the input node, its rendered prompt and payload schema."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_by_name=True, serialize_by_alias=True
    )

    node: str
    prompt: str = ""
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    path: IterationPath = ()


class RunMetrics(BaseModel):
    """Counters an engine reports; engines may add their own."""

    model_config = ConfigDict(frozen=True, extra="allow")

    #: Node attempts started (a retried node counts once per attempt).
    node_executions: int = 0
    #: Clock seconds from start to end of the run (virtual under a virtual clock).
    duration: float = 0.0
    #: Real seconds the engine spent.
    wall_seconds: float = 0.0


class RunResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: str
    workflow_id: str
    status: RunStatus
    #: Final outputs (docs/semantics.md, "Final outputs"); {} unless completed.
    outputs: dict[str, Any] = Field(default_factory=dict)
    #: Final workflow variables.
    vars: dict[str, Any] = Field(default_factory=dict)
    #: Output of every top-level node that completed.
    node_outputs: dict[str, Any] = Field(default_factory=dict)
    #: Routed (handled) failures of top-level nodes, as `nodes.<id>.error` shows them.
    node_errors: dict[str, NodeError] = Field(default_factory=dict)
    trace: tuple[TraceEvent, ...] = ()
    #: Unhandled failures in canonical order, then compensation failures.
    errors: tuple[NodeError, ...] = ()
    pause: PauseInfo | None = None
    metrics: RunMetrics = Field(default_factory=RunMetrics)

    @classmethod
    def with_lean_trace(cls, trace: Any, **fields: Any) -> Any:
        """A result whose trace stays in the lean form (`engines.trace.LeanTrace`) until
        read; the other fields are validated as usual. `trace` holds `NodeEvent`s only
        (what engines build; `engines.trace.lean` converts anything else)."""
        result = cls(**fields)
        kept = trace if type(trace) is _trace.Recorded else _trace.LeanTrace(trace)
        result.__dict__["trace"] = kept
        return result

    def lean_trace(self) -> Sequence[Any]:
        """The trace without building `TraceEvent`s: `NodeEvent`s when the engine built the
        result, else the `TraceEvent`s themselves (both have the same attributes)."""
        trace = self.__dict__["trace"]
        if type(trace) is _trace.Recorded:
            trace = self.__dict__["trace"] = trace.lean()
        return trace  # type: ignore[no-any-return]

    def _materialise(self) -> None:
        trace = self.__dict__.get("trace")
        if _lean(trace):
            self.__dict__["trace"] = _models(trace)

    @field_serializer("trace", mode="wrap")
    def _serialise_trace(self, value: Any, handler: SerializerFunctionWrapHandler) -> Any:
        if _lean(value):
            value = _models(value)
        return handler(value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RunResult):
            self._materialise()
            other._materialise()
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __iter__(self) -> Any:
        self._materialise()
        return super().__iter__()

    def __repr_args__(self) -> Any:
        self._materialise()
        return super().__repr_args__()

    def executed_nodes(self) -> frozenset[str]:
        """Nodes that ran at least once (started or answered from the idempotency table)."""
        return frozenset(
            e.node
            for e in self.lean_trace()
            if e.kind in (TraceKind.STARTED, TraceKind.DEDUPLICATED)
        )

    def error_codes(self) -> list[tuple[str, str]]:
        return [(e.node, e.code) for e in self.errors]


class _LazyTrace:
    """`RunResult.trace`: a lean trace becomes `TraceEvent`s the first time it is read.

    A data descriptor, so it is consulted before the instance's `__dict__`, where pydantic
    keeps the field (and where its serialiser and `model_copy` find it)."""

    def __get__(self, obj: RunResult | None, owner: type | None = None) -> Any:
        if obj is None:
            raise AttributeError("trace")
        trace = obj.__dict__["trace"]
        if _lean(trace):
            trace = obj.__dict__["trace"] = _models(trace)
        return trace

    def __set__(self, obj: RunResult, value: Any) -> None:
        BaseModel.__setattr__(obj, "trace", value)  # pydantic refuses: the model is frozen


RunResult.trace = _LazyTrace()  # type: ignore[assignment,misc]


def _lean(trace: Any) -> bool:
    """Whether a result keeps `trace` in a form read as `TraceEvent`s only on demand."""
    kind = type(trace)
    return kind is _trace.LeanTrace or kind is _trace.Recorded


def _models(trace: Any) -> tuple[TraceEvent, ...]:
    if type(trace) is _trace.Recorded:
        trace = trace.lean()
    return trace.models()  # type: ignore[no-any-return]


import engines.trace as _trace  # noqa: E402  (it imports TraceKind from here)
