"""The execution's event stream: one ordered sequence per execution, numbered from 0.

Node events (`started`, `completed`, `failed`, `retrying`, `skipped`, `compensated`,
`deduplicated`) become the result's trace; execution events (`execution.started`,
`.paused`, `.resumed`, `.completed`, `.failed`, `.cancelled`) frame them. Subscribers get
every event as it happens, through a callback or an async iterator; a callback that raises
breaks nothing: its error is kept in `subscriber_errors` and the run goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
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


class Event:
    """One event. Node events carry a node id; execution events carry `node` None."""

    __slots__ = ("attempt", "detail", "kind", "node", "path", "seq", "time")

    def __init__(
        self,
        seq: int,
        kind: str,
        node: str | None,
        attempt: int,
        path: IterationPath,
        time: float,
        detail: dict[str, Any] | None,
    ) -> None:
        self.seq = seq
        self.kind = kind
        self.node = node
        self.attempt = attempt
        self.path = path
        self.time = time
        self.detail = detail

    @property
    def is_node_event(self) -> bool:
        return self.node is not None

    def to_trace(self, seq: int) -> TraceEvent:
        return TraceEvent(
            seq=seq,
            kind=self.kind,  # type: ignore[arg-type]
            node=self.node or "",
            attempt=self.attempt,
            path=self.path,
            time=self.time,
            detail=self.detail or {},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "node": self.node,
            "attempt": self.attempt,
            "path": [list(step) for step in self.path],
            "time": self.time,
            "detail": self.detail,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        path = tuple((str(c), int(i)) for c, i in data["path"])
        return cls(
            data["seq"],
            data["kind"],
            data["node"],
            data["attempt"],
            path,
            data["time"],
            data["detail"],
        )

    def __repr__(self) -> str:
        where = f" {self.node}" if self.node else ""
        return f"Event({self.seq} {self.kind}{where} a{self.attempt} {self.path})"


_END = object()


class EventStream:
    """Events of one execution, kept in order, delivered to subscribers as they happen."""

    def __init__(self, events: list[Event] | None = None) -> None:
        self.events: list[Event] = events if events is not None else []
        self._callbacks: list[Callable[[Event], Any]] = []
        self._queues: list[asyncio.Queue[Any]] = []
        #: Errors raised by subscribers (they never reach the run).
        self.subscriber_errors: list[BaseException] = []

    @property
    def next_seq(self) -> int:
        return len(self.events)

    def emit(
        self,
        kind: str,
        node: str | None,
        attempt: int,
        path: IterationPath,
        time: float,
        detail: dict[str, Any] | None = None,
    ) -> Event:
        event = Event(len(self.events), kind, node, attempt, path, time, detail)
        self.events.append(event)
        if self._callbacks:
            for callback in self._callbacks:
                try:
                    callback(event)
                except Exception as exc:  # a subscriber's bug is not the run's
                    self.subscriber_errors.append(exc)
        for queue in self._queues:
            queue.put_nowait(event)
        return event

    def subscribe(self, callback: Callable[[Event], Any]) -> Callable[[], None]:
        """Call `callback(event)` for every later event; returns an unsubscribe function."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback)

    async def iterate(self) -> AsyncIterator[Event]:
        """Yield every later event until the execution stops (pauses, ends or is cancelled)."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                yield item
        finally:
            self._queues.remove(queue)

    def close_turn(self) -> None:
        """End every open async iterator (the execution stopped)."""
        for queue in self._queues:
            queue.put_nowait(_END)

    def trace(self) -> tuple[TraceEvent, ...]:
        """The node events, renumbered 0, 1, 2 ... in stream order."""
        node_events = (e for e in self.events if e.node is not None)
        return tuple(event.to_trace(i) for i, event in enumerate(node_events))
