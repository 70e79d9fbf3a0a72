"""A deterministic meter for performance tests: what `compat.perf` reads as wall and CPU
seconds, made of counted work instead of the machine's clocks.

A test that judges a measurement by wall or CPU time passes or fails with the machine's load
(a busy CI runner stretches some runs and not others). Under a `WorkMeter`, the perf package
(`compat.perf.measure`, which times runs, and `compat.perf.harness`, which times
comparisons) reads this meter where it reads `time.perf_counter` / `time.process_time`:

* every Python function call, and every call into C, made on the measuring thread counts
  `UNIT` seconds of wall and CPU time (an operation count: the same code does the same
  calls, however loaded the machine, and an engine doing O(n²) calls shows as O(n²));
* test engines add what they stand for with `charge`: a sleep is wall time only, a busy wait
  or injected work is wall and CPU time (never any real waiting);
* `load`, when given, is a stall of the machine: seconds added to the wall clock at every
  reading (so each measured run ends with one), drawn from a seeded generator — noise that
  is the same on every run of the test.

`install` patches the `time` name of those two modules only (everything else keeps real
time), and `harness_engines.Slowed`'s way of spending its delay; the patch and the counting
hook end with the test.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import harness_engines
import pytest

import compat.perf.harness
import compat.perf.measure

#: Seconds of wall and CPU time one counted call stands for.
UNIT = 1e-6

#: The modules whose `time` the meter stands in for.
METERED = (compat.perf.measure, compat.perf.harness)


class WorkMeter:
    """Counted calls plus charged seconds (see the module's docstring)."""

    def __init__(self, *, unit: float = UNIT, load: Callable[[], float] | None = None) -> None:
        self.unit = unit
        self.load = load
        self.calls = 0
        self.charged_wall = 0.0
        self.charged_cpu = 0.0

    def _count(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" or event == "c_call":
            self.calls += 1

    def _watch(self) -> None:
        # A profiled run (cProfile, in `Runner.profile`) takes the thread's profile hook and
        # leaves none: the hook is put back at the next reading, before the next timed run.
        if sys.getprofile() is not self._count:
            sys.setprofile(self._count)

    def wall(self) -> float:
        """Seconds on the meter's wall clock: counted calls, charges and stalls so far."""
        self._watch()
        if self.load is not None:
            self.charged_wall += max(0.0, self.load())
        return self.calls * self.unit + self.charged_wall

    def cpu(self) -> float:
        """Seconds of CPU time on the meter: counted calls and CPU charges so far."""
        self._watch()
        return self.calls * self.unit + self.charged_cpu

    def charge(self, seconds: float, *, cpu: bool = True) -> float:
        """Add `seconds` of wall time (and of CPU time, unless `cpu` is False: a sleep);
        returns them, as a real wait returns the time it took."""
        self.charged_wall += seconds
        if cpu:
            self.charged_cpu += seconds
        return seconds

    @contextmanager
    def installed(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkMeter]:
        clocks = types.SimpleNamespace(perf_counter=self.wall, process_time=self.cpu)
        for module in METERED:
            # raising=True (the default): if a module stops reading `time.…`, this fails
            # loudly instead of the test quietly measuring the machine again.
            monkeypatch.setattr(module, "time", clocks)
        monkeypatch.setattr(harness_engines.Slowed, "spend", staticmethod(self.charge))
        try:
            yield self
        finally:
            if sys.getprofile() is self._count:
                sys.setprofile(None)


@contextmanager
def work_meter(
    monkeypatch: pytest.MonkeyPatch, *, load: Callable[[], float] | None = None
) -> Iterator[WorkMeter]:
    """A `WorkMeter` installed for the block."""
    with WorkMeter(load=load).installed(monkeypatch) as meter:
        yield meter
