"""The execution's event stream: one ordered sequence per execution, numbered from 0.

Node events (`started`, `completed`, `failed`, `retrying`, `skipped`, `compensated`,
`deduplicated`) are the result contract's `TraceEvent`s themselves — the result's trace is
the stream's node events, the same objects, not copies. Execution events
(`execution.started`, `.paused`, `.resumed`, `.completed`, `.failed`, `.cancelled`) frame
them, so a trace's `seq` numbers skip the positions those take. Subscribers get every event
as it happens, through a callback or an async iterator; a callback that raises breaks
nothing: its error is kept in `subscriber_errors` and the run goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from engines.result import IterationPath, TraceEvent

EXECUTION_KINDS = (
    "execution.started",
    "execution.paused",
    "execution.resumed",
    "execution.completed",
    "execution.failed",
    "execution.cancelled",
)

_trusted = TraceEvent.trusted


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


Event = TraceEvent | ExecutionEvent


def event_to_json(event: Event) -> dict[str, Any]:
    if isinstance(event, ExecutionEvent):
        return {"seq": event.seq, "kind": event.kind, "time": event.time}
    return event.model_dump(mode="json")


def event_from_json(data: dict[str, Any]) -> Event:
    if data["kind"] in EXECUTION_KINDS:
        return ExecutionEvent(int(data["seq"]), data["kind"], float(data["time"]))
    return TraceEvent.model_validate(data)


_END = object()


class EventIterator:
    """Events of one stream, queued from the moment the iterator is created."""

    def __init__(self, stream: EventStream, *, closed: bool = False) -> None:
        self._stream = stream
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._closed = closed
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
        return item  # type: ignore[no-any-return]

    def _close(self) -> None:
        self._closed = True
        if self._queue in self._stream._queues:
            self._stream._queues.remove(self._queue)


class EventStream:
    """Events of one execution, kept in order, delivered to subscribers as they happen."""

    def __init__(self, events: list[Event] | None = None) -> None:
        self.events: list[Event] = events if events is not None else []
        self._callbacks: list[Callable[[Event], Any]] = []
        self._queues: list[asyncio.Queue[Any]] = []
        #: Errors raised by subscribers (they never reach the run).
        self.subscriber_errors: list[BaseException] = []
        #: Positions of the execution events (the trace is everything else) and the number
        #: of `started` events: kept as events come, so the result reads neither off them.
        self._marks = [i for i, e in enumerate(self.events) if e.node is None]
        self.started = sum(1 for e in self.events if e.kind == "started")

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
    ) -> TraceEvent:
        """Emit a node event (the hot path: two per node execution)."""
        events = self.events
        event = _trusted(len(events), kind, node, attempt, path, time, detail)
        events.append(event)
        if kind == "started":
            self.started += 1
        if self._callbacks or self._queues:
            self._deliver(event)
        return event

    def _deliver(self, event: Event) -> None:
        for callback in self._callbacks:
            try:
                callback(event)
            except Exception as exc:  # a subscriber's bug is not the run's
                self.subscriber_errors.append(exc)
        for queue in self._queues:
            queue.put_nowait(event)

    def subscribe(self, callback: Callable[[Event], Any]) -> Callable[[], None]:
        """Call `callback(event)` for every later event; returns an unsubscribe function."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback)

    def iterate(self, *, closed: bool = False) -> EventIterator:
        """An async iterator over every event from now on until the execution stops (pauses,
        ends or is cancelled). It is registered at once, so a consumer task that starts
        iterating later still sees the events emitted in between."""
        return EventIterator(self, closed=closed)

    def close_turn(self) -> None:
        """End every open async iterator (the execution stopped)."""
        for queue in self._queues:
            queue.put_nowait(_END)

    def trace(self) -> tuple[TraceEvent, ...]:
        """The node events, in stream order: the runs between execution events."""
        events = self.events
        trace: list[Any] = []
        start = 0
        for mark in self._marks:
            trace += events[start:mark]
            start = mark + 1
        trace += events[start:]
        return tuple(trace)
