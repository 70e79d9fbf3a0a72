"""The lean form of trace events: what engines build on the hot path.

A node event is built twice per node execution; as a pydantic `TraceEvent` it cost about
half an engine's instructions per node and most of a paused run's memory. Engines build a
`NodeEvent` instead — a tuple with named fields, holding the `TraceKind` member and a
shared empty `detail` — and a `RunResult` holds them as a `LeanTrace`, turned into
`TraceEvent`s only when someone reads `result.trace`, serialises the result or compares it
with `==` (`engines.result`). The harness reads the lean form directly (`trace_of`).

Most node executions start and complete in one instant, at attempt 1, with no detail (a
quick node run inline). An engine records such a pair in its stream without building
either event: the plain tuple `(node, path, time)` in the `started` event's slot and
`None` in the `completed` one's (`PAIR_END`), so a slot is still a sequence number. A
result keeps the recorded stream (`Recorded`) and the events are built the first time its
trace is read (`expand`), a tuple and an append per node on the hot path instead of two
events.

`tests/engine/test_lean_trace.py` checks, for every fixture case on both engines, that the
two forms carry the same data.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from engines.result import TraceKind

if TYPE_CHECKING:
    from engines.result import IterationPath, TraceEvent


class _EmptyDetail(dict):  # type: ignore[type-arg]
    """`{}` that cannot be changed, so that every event without details can share one."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a trace event's detail is read-only")

    __setitem__ = __delitem__ = update = setdefault = pop = popitem = clear = _refuse  # type: ignore[assignment]
    __ior__ = _refuse  # type: ignore[assignment]

    def __reduce__(self) -> str:
        return "EMPTY_DETAIL"


#: The `detail` of every event that has none: shared, and read-only so that sharing is safe.
EMPTY_DETAIL: Any = _EmptyDetail()

_Fields = namedtuple("_Fields", ("seq", "kind", "node", "attempt", "path", "time", "detail"))


class NodeEvent(_Fields):
    """A node event, field for field the `TraceEvent` it stands for.

    Build one with `new_event(...)` (a C call, no Python frame). `kind` is the `TraceKind`
    member, a `str`; `step()` is `TraceEvent.step()`.
    """

    __slots__ = ()

    if TYPE_CHECKING:
        seq: int
        kind: TraceKind
        node: str
        attempt: int
        path: IterationPath
        time: float
        detail: dict[str, Any]

    def step(self) -> tuple[str, IterationPath, int, str]:
        return (self[2], self[4], self[3], self[1])

    def model(self) -> TraceEvent:
        """The pydantic `TraceEvent` with the same data (a fresh `detail` dict)."""
        from engines.result import TraceEvent

        return TraceEvent.trusted(*self[:6], dict(self[6]))

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        """`TraceEvent.model_dump`, for code written against the pydantic form."""
        return self.model().model_dump(**kwargs)

    def __repr__(self) -> str:
        seq, kind, node, attempt, path, time, detail = self
        return (
            f"NodeEvent(seq={seq}, kind={kind.value!r}, node={node!r}, attempt={attempt}, "
            f"path={path!r}, time={time!r}, detail={dict(detail)!r})"
        )


_tuple_new = tuple.__new__


def new_event(
    seq: int,
    kind: TraceKind,
    node: str,
    attempt: int,
    path: IterationPath,
    time: float,
    detail: dict[str, Any] | None,
) -> NodeEvent:
    """A `NodeEvent`; `kind` must be a `TraceKind` member (see `KINDS`)."""
    return _tuple_new(
        NodeEvent,
        (seq, kind, node, attempt, path, time, EMPTY_DETAIL if detail is None else detail),
    )


class LeanTrace(tuple):  # type: ignore[type-arg]
    """A result's trace as engines built it: `NodeEvent`s, in stream order."""

    __slots__ = ()

    def models(self) -> tuple[TraceEvent, ...]:
        return tuple(event.model() for event in self)

    def __repr__(self) -> str:
        return f"LeanTrace({len(self)} events)"


#: What a recorded stream holds in a pair's `completed` slot (its `started` slot holds the
#: plain tuple `(node, path, time)`).
PAIR_END = None

_STARTED, _COMPLETED = TraceKind.STARTED, TraceKind.COMPLETED


def expand(entries: Iterable[Any]) -> LeanTrace:
    """The node events of a recorded stream, in order: `NodeEvent`s as they are, each
    compact pair made into its `started` and `completed` events, anything else (an
    engine's execution events) left out. A slot's position is its event's `seq`."""
    out: list[NodeEvent] = []
    append = out.append
    record: tuple[Any, ...] = ()
    for seq, entry in enumerate(entries):
        if type(entry) is NodeEvent:
            append(entry)
        elif type(entry) is tuple:
            record = entry
            node, path, time = entry
            append(_tuple_new(NodeEvent, (seq, _STARTED, node, 1, path, time, EMPTY_DETAIL)))
        elif entry is PAIR_END:
            node, path, time = record
            append(_tuple_new(NodeEvent, (seq, _COMPLETED, node, 1, path, time, EMPTY_DETAIL)))
    return LeanTrace(out)


class Recorded:
    """A result's trace as its engine recorded it (the stream's slots, from `seq` 0,
    compact pairs included), turned into a `LeanTrace` by `RunResult.lean_trace()` the
    first time it is read."""

    __slots__ = ("entries", "framing")

    def __init__(self, entries: Sequence[Any], framing: int = 0) -> None:
        self.entries = tuple(entries)
        #: How many of the slots are neither node events nor pairs (execution events).
        self.framing = framing

    def lean(self) -> LeanTrace:
        return expand(self.entries)

    def started(self) -> int:
        """How many `started` events the trace holds, without building it: one per pair,
        and the `NodeEvent`s are looked at only if there are any."""
        entries = self.entries
        pairs = entries.count(PAIR_END)
        if len(entries) == 2 * pairs + self.framing:
            return pairs
        return pairs + sum(1 for e in entries if type(e) is NodeEvent and e[1] is _STARTED)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Recorded, (self.entries, self.framing))

    def __repr__(self) -> str:
        return f"Recorded({len(self.entries)} slots)"


def lean(events: Any) -> LeanTrace:
    """`events` (lean or pydantic) as a `LeanTrace`."""
    if type(events) is LeanTrace:
        return events
    return LeanTrace(
        event if type(event) is NodeEvent else new_event(*_fields_of(event))  # type: ignore[arg-type]
        for event in events
    )


def _fields_of(event: Any) -> tuple[Any, ...]:
    detail = event.detail
    return (
        event.seq,
        KINDS[event.kind],
        event.node,
        event.attempt,
        event.path,
        event.time,
        detail if detail else None,
    )


#: `TraceKind` members by value (a member is also found by itself: it is equal to its value).
KINDS: dict[str, TraceKind] = {kind.value: kind for kind in TraceKind}
