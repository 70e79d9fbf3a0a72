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

    def emit(
        self,
        kind: str,
        node: str | None,
        attempt: int,
        path: IterationPath,
        time: float,
        detail: dict[str, Any] | None = None,
    ) -> Event:
        events = self.events
        if node is None:
            event: Event = ExecutionEvent(len(events), kind, time)
        else:
            event = _trusted(len(events), kind, node, attempt, path, time, detail)
        events.append(event)
        if self._callbacks:
            for callback in self._callbacks:
                try:
                    callback(event)
                except Exception as exc:  # a subscriber's bug is not the run's
                    self.subscriber_errors.append(exc)
        if self._queues:
            for queue in self._queues:
                queue.put_nowait(event)
        return event

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
        """The node events, in stream order."""
        return tuple(e for e in self.events if e.node is not None)  # type: ignore[misc]
