"""The execution's event stream: one ordered sequence per execution, numbered from 0.

Node events (`started`, `completed`, `failed`, `retrying`, `skipped`, `compensated`,
`deduplicated`) are the lean `NodeEvent`s of `engines.trace`, or, for a node run inline
with nobody subscribed, the compact pair of slots that stands for its two events — the
result's trace is the stream's node events, built when it is read. Execution events
(`execution.started`, `.paused`, `.resumed`, `.completed`, `.failed`, `.cancelled`) frame
them, so a trace's `seq` numbers skip the positions those take. Subscribers get every event
as it happens, through a callback or an async iterator — as the contract's `TraceEvent`s
unless they ask for the lean form; a callback that raises breaks nothing: its error is kept
in `subscriber_errors` and the run goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from engines.result import IterationPath, TraceEvent
from engines.trace import EMPTY_DETAIL, KINDS, NodeEvent, Recorded, expand, new_event

EXECUTION_KINDS = (
    "execution.started",
    "execution.paused",
    "execution.resumed",
    "execution.completed",
    "execution.failed",
    "execution.cancelled",
)


class ExecutionEvent:
    """An event about the execution as a whole (it has no node)."""

    __slots__ = ("kind", "seq", "time")
    node = None

    def __init__(self, seq: int, kind: str, time: float) -> None:
        self.seq = seq
        self.kind = kind
        self.time = time

    def __repr__(self) -> str:
        return f"ExecutionEvent({self.seq} {self.kind} t={self.time:g})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExecutionEvent) and (other.seq, other.kind, other.time) == (
            self.seq,
            self.kind,
            self.time,
        )

    __hash__ = None  # type: ignore[assignment]


Event = NodeEvent | ExecutionEvent


def event_to_json(event: Event | TraceEvent) -> dict[str, Any]:
    if isinstance(event, ExecutionEvent):
        return {"seq": event.seq, "kind": event.kind, "time": event.time}
    if isinstance(event, NodeEvent):
        event = event.model()
    return event.model_dump(mode="json")


def event_from_json(data: dict[str, Any]) -> Event:
    if data["kind"] in EXECUTION_KINDS:
        return ExecutionEvent(int(data["seq"]), data["kind"], float(data["time"]))
    return lean_event(TraceEvent.model_validate(data))


def lean_event(event: TraceEvent) -> NodeEvent:
    """The lean form of a validated event (a snapshot's, when it is restored)."""
    return new_event(
        event.seq,
        event.kind,
        event.node,
        event.attempt,
        event.path,
        event.time,
        event.detail or None,
    )


def as_model(event: Event) -> Any:
    """What a subscriber that wants models gets: `TraceEvent`s for node events."""
    return event.model() if type(event) is NodeEvent else event


_END = object()
_new = tuple.__new__
STARTED, COMPLETED = KINDS["started"], KINDS["completed"]


class EventIterator:
    """Events of one stream, queued from the moment the iterator is created."""

    def __init__(self, stream: EventStream, *, closed: bool = False, models: bool = True) -> None:
        self._stream = stream
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._closed = closed
        self._models = models
        if not closed:
            stream._queues.append(self._queue)

    def __aiter__(self) -> EventIterator:
        return self

    async def __anext__(self) -> Event:
        if self._closed:
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END:
            self._close()
            raise StopAsyncIteration
        return as_model(item) if self._models else item

    def _close(self) -> None:
        self._closed = True
        if self._queue in self._stream._queues:
            self._stream._queues.remove(self._queue)


class EventStream:
    """Events of one execution, kept in order, delivered to subscribers as they happen."""

    def __init__(self, events: list[Event] | None = None) -> None:
        self.events: list[Event] = events if events is not None else []
        #: (callback, whether it wants `TraceEvent`s rather than the lean events)
        self._callbacks: list[tuple[Callable[[Any], Any], bool]] = []
        self._queues: list[asyncio.Queue[Any]] = []
        #: Errors raised by subscribers (they never reach the run).
        self.subscriber_errors: list[BaseException] = []
        #: Positions of the execution events (the trace is everything else), kept as events
        #: come so that the trace is a few slices.
        self._marks = [i for i, e in enumerate(self.events) if type(e) is ExecutionEvent]

    def emit(
        self,
        kind: str,
        node: str | None,
        attempt: int,
        path: IterationPath,
        time: float,
        detail: dict[str, Any] | None = None,
    ) -> Event:
        if node is not None:
            return self.node_event(kind, node, attempt, path, time, detail)
        events = self.events
        self._marks.append(len(events))
        event = ExecutionEvent(len(events), kind, time)
        events.append(event)
        if self._callbacks or self._queues:
            self._deliver(event)
        return event

    def node_event(
        self,
        kind: str,
        node: str,
        attempt: int,
        path: IterationPath,
        time: float,
        detail: dict[str, Any] | None = None,
    ) -> NodeEvent:
        """Emit a node event (the hot path: two per node execution)."""
        events = self.events
        event = new_event(len(events), KINDS[kind], node, attempt, path, time, detail)
        events.append(event)
        if self._callbacks or self._queues:
            self._deliver(event)
        return event

    def node_started(self, node: str, path: IterationPath, time: float) -> None:
        """`node_event("started", node, 1, path, time)`, for the hot path (one per node)."""
        events = self.events
        event = _new(NodeEvent, (len(events), STARTED, node, 1, path, time, EMPTY_DETAIL))
        events.append(event)
        if self._callbacks or self._queues:
            self._deliver(event)

    def node_completed(self, node: str, attempt: int, path: IterationPath, time: float) -> None:
        """`node_event("completed", ...)`, for the hot path (one per node)."""
        events = self.events
        event = _new(NodeEvent, (len(events), COMPLETED, node, attempt, path, time, EMPTY_DETAIL))
        events.append(event)
        if self._callbacks or self._queues:
            self._deliver(event)

    def _deliver(self, event: Event) -> None:
        for callback, models in self._callbacks:
            try:
                callback(as_model(event) if models else event)
            except Exception as exc:  # a subscriber's bug is not the run's
                self.subscriber_errors.append(exc)
        for queue in self._queues:
            queue.put_nowait(event)

    def subscribe(
        self, callback: Callable[[Any], Any], *, models: bool = True
    ) -> Callable[[], None]:
        """Call `callback(event)` for every later event — node events as `TraceEvent`s, or
        as the lean `NodeEvent`s with `models=False` — and return an unsubscribe function."""
        entry = (callback, models)
        self._callbacks.append(entry)
        return lambda: self._callbacks.remove(entry)

    def iterate(self, *, closed: bool = False, models: bool = True) -> EventIterator:
        """An async iterator over every event from now on until the execution stops (pauses,
        ends or is cancelled). It is registered at once, so a consumer task that starts
        iterating later still sees the events emitted in between."""
        return EventIterator(self, closed=closed, models=models)

    def close_turn(self) -> None:
        """End every open async iterator (the execution stopped)."""
        for queue in self._queues:
            queue.put_nowait(_END)

    def trace(self) -> Recorded:
        """The node events as recorded (`engines.trace.Recorded`: built when read)."""
        return Recorded(self.events, framing=len(self._marks))

    def expanded(self) -> list[Event]:
        """Every event, compact pairs (`engines.trace`) made into their two node events."""
        events = self.events
        nodes = iter(expand(events))
        return [event if type(event) is ExecutionEvent else next(nodes) for event in events]
