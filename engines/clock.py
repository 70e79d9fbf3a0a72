"""The injectable clock: every wait, retry delay, backoff and timeout goes through it.

`RealClock` is wall time. `VirtualClock` is simulated time for tests and fixtures: the
event loop it runs on never blocks on a timer; when nothing is ready to run, time jumps to
the next timer. So a branch that waits 30 s costs no real time, two branches that each wait
1 s overlap exactly as they would in real time, and `asyncio.timeout` measures virtual
seconds — every asyncio primitive keeps working, only faster. Time passes only while every
task waits on a timer, which is why tools must spend time through `ctx.clock.sleep`, not in
threads, when the clock is virtual.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from engines.errors import EngineStateError, SetupError

T = TypeVar("T")


class Clock(ABC):
    """What engines and tools know of time."""

    @abstractmethod
    def now(self) -> float:
        """Seconds on this clock (monotonic; the origin means nothing)."""

    @abstractmethod
    async def sleep(self, seconds: float) -> None:
        """Let `seconds` pass on this clock."""

    def timeout(self, seconds: float) -> AbstractAsyncContextManager[Any]:
        """An async context that raises `TimeoutError` once `seconds` have passed."""
        return asyncio.timeout(seconds)

    @abstractmethod
    def run(self, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a coroutine to completion on an event loop this clock can drive."""

    async def settle(self) -> None:
        """Return once everything due at the current time has happened (under a virtual
        clock: every other task waits on a later timer); a real clock cannot know, so it
        only yields once."""
        await asyncio.sleep(0)


class RealClock(Clock):
    def now(self) -> float:
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def run(self, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return asyncio.run(main())


class _JumpingSelector(selectors.BaseSelector):
    """Wraps a real selector: polls it without blocking, and turns a would-be sleep until the
    next timer into a jump of the loop's virtual time."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._inner = selectors.DefaultSelector()
        self._loop = loop

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._inner.select(0)
        if ready or timeout == 0:
            return ready
        # Nothing is ready and no timer is due: everything due now has happened.
        if self._loop.release_settled():
            return []
        if timeout is None:
            return self._inner.select(None)
        self._loop.advance(timeout)
        return []

    def close(self) -> None:
        self._inner.close()

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._inner.get_key(fileobj)

    def get_map(self) -> Any:
        return self._inner.get_map()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose `time()` is virtual and jumps to the next timer when idle."""

    def __init__(self, start: float = 0.0) -> None:
        self._virtual_now = float(start)
        #: Tasks waiting for everything due at the current time to have happened.
        self._settling: list[asyncio.Future[None]] = []
        super().__init__(selector=_JumpingSelector(self))

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self._virtual_now += seconds

    def settled(self) -> asyncio.Future[None]:
        """A future resolved the next time the loop is idle at the current time."""
        future = self.create_future()
        self._settling.append(future)
        return future

    def release_settled(self) -> bool:
        """Resolve the `settled()` futures (the loop found nothing to do now); whether there
        were any, in which case time must not move yet: they may start more work now."""
        waiting, self._settling = self._settling, []
        released = False
        for future in waiting:
            if not future.done():
                future.set_result(None)
                released = True
        return released


class VirtualClock(Clock):
    """Simulated time. Successive `run` calls continue from where the last one stopped, so a
    conversation across several turns sees one continuous timeline."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._loop: VirtualTimeLoop | None = None

    def now(self) -> float:
        # The loop's time read directly: the journey reads the clock for every event.
        loop = self._loop
        return loop._virtual_now if loop is not None else self._now

    def _require_loop(self) -> VirtualTimeLoop:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            raise SetupError(
                "VirtualClock used outside its own event loop: run the engine through "
                "clock.run(...) (or use RealClock in an existing event loop)"
            )
        return loop

    async def sleep(self, seconds: float) -> None:
        self._require_loop()
        await asyncio.sleep(max(0.0, seconds))

    def timeout(self, seconds: float) -> AbstractAsyncContextManager[Any]:
        self._require_loop()
        return asyncio.timeout(seconds)

    async def settle(self) -> None:
        # The loop asks its selector to wait only when nothing is ready and no timer is due:
        # that is the moment everything due now has happened (and before time jumps).
        await self._require_loop().settled()

    def run(self, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
        if self._loop is not None:
            raise EngineStateError("VirtualClock.run is not re-entrant: a run is in progress")
        loop = VirtualTimeLoop(self._now)
        self._loop = loop
        try:
            return loop.run_until_complete(main())
        finally:
            self._now = loop.time()
            self._loop = None
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()


def run_turn(
    clock: Clock,
    turn: Callable[[], Coroutine[Any, Any, T]],
    *,
    cancel_after: float | None = None,
    cancel: Callable[[], None] | None = None,
) -> T:
    """Run one turn of a run on `clock`; with `cancel_after`, call `cancel()` once that many
    clock seconds have passed in the turn and everything due then has happened, unless the
    turn ended first (docs/semantics.md §7.11, the moment of a cancel). Engines' drivers use
    it so a cancel lands at the same moment in every engine."""
    if cancel_after is None or cancel is None:
        return clock.run(turn)
    delay = max(0.0, cancel_after)
    request = cancel

    async def main() -> T:
        work = asyncio.ensure_future(turn())

        async def stopper() -> None:
            await clock.sleep(delay)
            await clock.settle()
            if not work.done():
                request()

        timer = asyncio.ensure_future(stopper())
        try:
            return await work
        finally:
            if not timer.done():
                timer.cancel()
            await asyncio.gather(timer, return_exceptions=True)

    return clock.run(main)
