"""The thread runner's backlog and pacing (compat.shadow, docs/shadow.md): a full backlog
drops rather than blocks, concurrent callers are all counted, `duty_cycle` rests the worker
and `close` cuts the rest short and drains.

Checks rest on counts, events and lower bounds that a slow machine only makes easier to
meet; waits are bounded by `WAIT` only to end a test that hangs."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from shadow_support import (
    INPUTS,
    REGISTRY,
    WAIT,
    Fixed,
    Hangs,
    Sleeps,
    experiment,
    fixed,
    wait_until,
)


@pytest.fixture
def hang() -> Iterator[Hangs]:
    """A shadow that hangs until the test ends."""
    engine = Hangs()
    yield engine
    engine.release.set()


def test_a_full_backlog_drops_samples_without_blocking(hang: Hangs) -> None:
    exp = experiment(Fixed(fixed()), hang, max_pending=1, timeout=20 * WAIT)
    exp.run(REGISTRY, INPUTS)
    assert hang.started.wait(WAIT), "the worker took the first sample"
    exp.run(REGISTRY, INPUTS)  # queued
    exp.run(REGISTRY, INPUTS)  # dropped
    # The shadow still hangs (it cannot time out first): neither run waited for it.
    assert not hang.finished.is_set()
    assert exp.stats.dropped == 1 and exp.stats.pending == 2
    hang.release.set()
    assert exp.wait(WAIT)
    stats = exp.stats
    assert stats.matched == 2 and stats.pending == 0
    assert stats.runs == stats.skipped + stats.dropped + stats.matched


def test_concurrent_callers_are_all_counted() -> None:
    exp = experiment(Fixed(fixed()), Fixed(fixed()), sample_rate=0.5, seed=1, max_pending=1000)

    def call() -> None:
        for n in range(50):
            exp.run(REGISTRY, {"n": n})

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert exp.wait(WAIT)
    stats = exp.stats
    assert stats.runs == 200 and stats.sampled == stats.matched
    assert stats.runs == stats.skipped + stats.dropped + stats.matched + stats.mismatched
    assert len(exp.published) == stats.matched  # type: ignore[attr-defined]


def test_duty_cycle_rests_the_worker_between_samples() -> None:
    shadow = Sleeps(0.05)
    exp = experiment(Fixed(fixed()), shadow, duty_cycle=0.5)
    exp.run(REGISTRY, INPUTS)
    exp.run(REGISTRY, INPUTS)
    assert exp.wait(WAIT)
    (first, second), (first_end, _) = shadow.starts, shadow.ends
    # A lower bound, which a slow machine only makes easier to meet: the worker was busy
    # at least from the first start to its end, so at duty 0.5 it rests at least as long.
    assert second - first_end >= first_end - first >= 0.05


def test_close_cuts_the_rest_short() -> None:
    shadow = Sleeps(0.02)
    exp = experiment(Fixed(fixed()), shadow, duty_cycle=1e-6)
    exp.run(REGISTRY, INPUTS)
    exp.run(REGISTRY, INPUTS)
    # The first sample ends; the second waits out a rest of at least 0.02 s x 999 999
    # (over five hours), so close() can only drain by cutting it short.
    wait_until(lambda: exp.stats.pending == 1, "the first sample to end")
    assert len(shadow.starts) == 1
    assert exp.close(WAIT), "close waited for the rest"
    assert len(shadow.starts) == 2 and exp.stats.matched == 2


def test_close_drains_and_stops_shadowing() -> None:
    shadow = Fixed(fixed())
    with experiment(Fixed(fixed()), shadow) as exp:
        exp.run(REGISTRY, INPUTS)
    assert len(shadow.calls) == 1 and exp.stats.published == 1
    assert exp.run(REGISTRY, INPUTS) is not None
    assert exp.wait(WAIT) and len(shadow.calls) == 1
    assert exp.stats.skipped_by == {"closed": 1}
    assert exp.close(WAIT)
