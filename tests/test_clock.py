"""Clocks: the virtual clock and the real clock."""

from __future__ import annotations

import asyncio

import pytest
from conftest import assert_words

from engines.clock import RealClock, VirtualClock
from engines.errors import (
    EngineStateError,
    SetupError,
)

# --------------------------------------------------------------------------- clocks


def test_virtual_concurrent_sleeps_overlap() -> None:
    clock = VirtualClock()

    async def main() -> float:
        await asyncio.gather(clock.sleep(5), clock.sleep(3), clock.sleep(5))
        return clock.now()

    assert clock.run(main) == 5


def test_virtual_sequential_sleeps_add_up() -> None:
    clock = VirtualClock()

    async def main() -> list[float]:
        seen = []
        for seconds in (1, 2.5, 0, -4):
            await clock.sleep(seconds)
            seen.append(clock.now())
        return seen

    assert clock.run(main) == [1, 3.5, 3.5, 3.5]


def test_virtual_timeout_is_in_virtual_seconds() -> None:
    clock = VirtualClock()

    async def main() -> str:
        try:
            async with clock.timeout(2):
                await clock.sleep(3600)
        except TimeoutError:
            return "timed out"
        return "finished"

    assert clock.run(main) == "timed out"
    assert clock.now() == 2


def test_virtual_timeout_not_reached() -> None:
    clock = VirtualClock()

    async def main() -> str:
        async with clock.timeout(10):
            await clock.sleep(4)
        return "finished"

    assert clock.run(main) == "finished"
    assert clock.now() == 4


def test_virtual_asyncio_wait_for_uses_virtual_time() -> None:
    clock = VirtualClock()

    async def main() -> bool:
        try:
            await asyncio.wait_for(clock.sleep(100), timeout=7)
        except TimeoutError:
            return True
        return False

    assert clock.run(main) is True
    assert clock.now() == 7


def test_successive_runs_continue_the_timeline() -> None:
    clock = VirtualClock(start=100)
    assert clock.now() == 100

    async def wait(seconds: float) -> float:
        await clock.sleep(seconds)
        return clock.now()

    assert clock.run(lambda: wait(4)) == 104
    assert clock.now() == 104
    assert clock.run(lambda: wait(1)) == 105


def test_run_returns_the_value_and_propagates_exceptions() -> None:
    clock = VirtualClock()

    async def ok() -> int:
        return 42

    async def boom() -> None:
        await clock.sleep(1)
        raise KeyError("x")

    assert clock.run(ok) == 42
    with pytest.raises(KeyError):
        clock.run(boom)
    assert clock.now() == 1
    assert clock.run(ok) == 42


def test_virtual_clock_outside_its_loop_raises_setup_error() -> None:
    clock = VirtualClock()
    with pytest.raises(SetupError) as info:
        asyncio.run(clock.sleep(1))
    assert_words(str(info.value), "VirtualClock", "clock.run")

    async def timeout_elsewhere() -> None:
        async with clock.timeout(1):
            pass

    with pytest.raises(SetupError):
        asyncio.run(timeout_elsewhere())


def test_virtual_clock_of_another_clock_run_is_refused() -> None:
    mine, other = VirtualClock(), VirtualClock()

    async def main() -> None:
        await other.sleep(1)

    with pytest.raises(SetupError):
        mine.run(main)


def test_virtual_clock_run_is_not_reentrant() -> None:
    clock = VirtualClock()

    async def never() -> None:  # pragma: no cover - never started
        return None

    async def main() -> None:
        clock.run(never)

    with pytest.raises(EngineStateError):
        clock.run(main)


def test_real_clock_basics() -> None:
    clock = RealClock()
    first = clock.now()

    async def main() -> tuple[float, float, bool]:
        inside = clock.now()
        await clock.sleep(0)
        await clock.sleep(-5)
        timed_out = False
        try:
            async with clock.timeout(0.01):
                await clock.sleep(30)
        except TimeoutError:
            timed_out = True
        return inside, clock.now(), timed_out

    inside, after, timed_out = clock.run(main)
    assert timed_out
    assert after >= inside
    assert clock.now() >= first


# --------------------------------------------------------------------------- settle


def test_settle_waits_for_everything_due_now_and_lets_no_time_pass() -> None:
    """docs/semantics.md §7.11: a cancel at t lands once everything due at t has happened —
    including work that what was due started at t — and before anything later."""
    clock = VirtualClock()
    seen: list[tuple[str, float]] = []

    async def cascade() -> None:
        await clock.sleep(2)
        seen.append(("due", clock.now()))
        for step in range(3):  # work started at t=2 that takes no clock time
            await asyncio.sleep(0)
            seen.append((f"then {step}", clock.now()))
        await clock.sleep(1)
        seen.append(("later", clock.now()))

    async def watcher() -> None:
        await clock.sleep(2)
        await clock.settle()
        seen.append(("settled", clock.now()))

    async def main() -> None:
        await asyncio.gather(watcher(), cascade())

    clock.run(main)
    assert seen == [
        ("due", 2),
        ("then 0", 2),
        ("then 1", 2),
        ("then 2", 2),
        ("settled", 2),
        ("later", 3),
    ]


def test_several_tasks_may_settle_at_once() -> None:
    clock = VirtualClock()
    released: list[float] = []

    async def settle() -> None:
        await clock.sleep(1)
        await clock.settle()
        released.append(clock.now())
        await clock.settle()  # again, at the same moment
        released.append(clock.now())

    async def main() -> None:
        await asyncio.wait_for(asyncio.gather(settle(), settle(), clock.sleep(5)), 10)

    clock.run(main)
    assert released == [1, 1, 1, 1] and clock.now() == 5


def test_settle_on_the_real_clock_only_yields() -> None:
    async def main() -> str:
        await RealClock().settle()
        return "yielded"

    assert RealClock().run(main) == "yielded"
