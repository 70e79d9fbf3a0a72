"""Measuring engine runs: one run's figures, and two engines measured side by side.

Timing runs and memory runs are separate: tracemalloc slows every allocation by a large,
uneven factor, so peak memory is taken in runs of its own and never in the runs that are
timed. Runs alternate between the engines (A B A B …) so that whatever the machine does
meanwhile hits both alike.
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psutil
from pydantic import BaseModel, ConfigDict, Field

from engines.model import WorkflowRegistry
from engines.result import RunResult
from engines.tools import ToolRegistry

_FROZEN = ConfigDict(frozen=True, extra="forbid")

_TERMINAL = {"completed", "failed", "skipped", "deduplicated"}

#: Functions whose cumulative time is compiling templates or expressions.
COMPILE_FUNCTIONS = ("compile_template", "compile_expression")


class Breakdown(BaseModel):
    """Where a run's clock time went, from its trace (clock seconds: virtual under a virtual
    clock, so this is the time the workflow's waits, tool calls and backoff take, not CPU)."""

    model_config = _FROZEN

    #: Clock seconds per node, summed over its executions (first event to last).
    nodes: dict[str, float] = Field(default_factory=dict)
    #: Clock seconds of retry backoff per node.
    backoff: dict[str, float] = Field(default_factory=dict)
    #: Per parallel container execution: each branch's clock span, by branch index.
    branches: dict[str, list[float]] = Field(default_factory=dict)
    #: Per parallel container execution: its own clock span.
    containers: dict[str, float] = Field(default_factory=dict)


class Sample(BaseModel):
    """One measured run."""

    model_config = _FROZEN

    status: str
    wall_seconds: float
    cpu_seconds: float
    clock_seconds: float
    node_executions: int
    #: Peak bytes allocated by Python during the run (memory runs only).
    peak_bytes: int | None = None
    #: Resident set size after the run minus before it.
    rss_delta: int | None = None


def _label(node: str, path: Sequence[Sequence[Any]]) -> str:
    return node + "".join(f"[{c}={i}]" for c, i in path)


def breakdown(result: RunResult, parallels: frozenset[str]) -> Breakdown:
    """The clock-time breakdown of one run, read from its trace."""
    first: dict[tuple[str, Any], float] = {}
    last: dict[tuple[str, Any], float] = {}
    backoff: dict[str, float] = defaultdict(float)
    spans: dict[tuple[str, Any, int], list[float]] = {}
    for event in result.trace:
        key = (event.node, event.path)
        first.setdefault(key, event.time)
        if event.kind.value in _TERMINAL:
            last[key] = event.time
        if event.kind.value == "retrying":
            backoff[event.node] += float(event.detail.get("delay", 0.0))
        path = event.path
        for depth, (container, index) in enumerate(path):
            if container in parallels:
                span = spans.setdefault((container, path[:depth], index), [event.time, event.time])
                span[0], span[1] = min(span[0], event.time), max(span[1], event.time)
    nodes: dict[str, float] = defaultdict(float)
    for key, start in first.items():
        nodes[key[0]] += last.get(key, start) - start
    branches: dict[str, list[float]] = defaultdict(list)
    for (container, outer, _), (low, high) in sorted(spans.items(), key=lambda i: i[0][2]):
        branches[_label(container, outer)].append(high - low)
    containers = {
        _label(node, path): last.get((node, path), start) - start
        for (node, path), start in first.items()
        if node in parallels
    }
    return Breakdown(
        nodes=dict(nodes), backoff=dict(backoff), branches=dict(branches), containers=containers
    )


class Runner:
    """Runs one engine on one case and measures it."""

    def __init__(
        self,
        engine: Any,
        registry: WorkflowRegistry,
        inputs: Mapping[str, Any],
        conversation: Sequence[Any],
        tools: ToolRegistry | None,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.inputs = dict(inputs)
        self.conversation = list(conversation)
        self.tools = tools
        self._process = psutil.Process()
        self.last: RunResult | None = None

    def _call(self) -> RunResult:
        if self.tools is None:
            result = self.engine.run_case(self.registry, self.inputs, self.conversation)
        else:
            result = self.engine.run_case(
                self.registry, self.inputs, self.conversation, tools=self.tools
            )
        if not isinstance(result, RunResult):
            result = RunResult.model_validate(result)
        self.last = result
        return result

    def run(self, *, memory: bool = False) -> Sample:
        """One run: timed, or (memory=True) with tracemalloc for its peak."""
        if memory:
            gc.collect()
        rss = self._process.memory_info().rss
        if memory:
            tracemalloc.start()
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            result = self._call()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            peak = tracemalloc.get_traced_memory()[1] if memory else None
        finally:
            if memory:
                tracemalloc.stop()
        return Sample(
            status=result.status.value,
            wall_seconds=wall,
            cpu_seconds=cpu,
            clock_seconds=result.metrics.duration,
            node_executions=result.metrics.node_executions,
            peak_bytes=peak,
            rss_delta=self._process.memory_info().rss - rss,
        )

    def breakdown(self, parallels: frozenset[str]) -> Breakdown:
        """The clock-time breakdown of the last run."""
        if self.last is None:
            self._call()
        assert self.last is not None
        return breakdown(self.last, parallels)

    def profile(self) -> dict[str, float]:
        """One profiled run: total seconds, and the seconds spent compiling templates."""
        profiler = cProfile.Profile()
        profiler.enable()
        try:
            self._call()
        finally:
            profiler.disable()
        stats = pstats.Stats(profiler)
        rows = stats.stats.values()  # type: ignore[attr-defined]
        # The own times add up to less than the run when generators are involved (cProfile
        # leaves part of a generator's time in no function's own time), so the total is at
        # least the outermost call's cumulative time: a share of it never exceeds 1.
        total = max(sum(row[2] for row in rows), max((row[3] for row in rows), default=0.0))
        compile_seconds = sum(
            row[3]
            for (_, _, name), row in stats.stats.items()  # type: ignore[attr-defined]
            if name in COMPILE_FUNCTIONS
        )
        compile_calls = sum(
            row[1]
            for (_, _, name), row in stats.stats.items()  # type: ignore[attr-defined]
            if name in COMPILE_FUNCTIONS
        )
        return {
            "total_seconds": total,
            "compile_seconds": compile_seconds,
            "compile_calls": float(compile_calls),
        }


class Measured(BaseModel):
    """Both engines on one case."""

    model_config = _FROZEN

    timing: dict[str, list[Sample]]
    memory: dict[str, list[Sample]]
    profile: dict[str, dict[str, float]]
    breakdown: dict[str, Breakdown]
    warmup: int
    runs: int


def calibrate(first: Callable[[], Sample], second: Callable[[], Sample], budget: float) -> int:
    """Pairs that make the measurement take about `budget` seconds (at least 5)."""
    pair = first().wall_seconds + second().wall_seconds
    return max(5, min(500, round(budget / max(pair, 1e-6))))


def measure_pair(
    runners: Mapping[str, Any],
    parallels: frozenset[str],
    *,
    warmup: int = 2,
    runs: int | None = None,
    memory_runs: int = 3,
    budget: float = 1.0,
) -> Measured:
    """Warm both engines up, then time `runs` alternating pairs (calibrated to `budget`
    seconds when None), then take memory runs, then one profiled run each. `runners` are
    `Runner`s, or `compat.perf.isolate.Worker`s (the same methods, in a subprocess)."""
    (a, runner_a), (b, runner_b) = runners.items()
    # What the process already holds is moved out of the collector's way, so a collection
    # during a measured run costs what the run's own objects cost, not the caller's heap.
    gc.collect()
    gc.freeze()
    try:
        return _measure(runner_a, runner_b, a, b, parallels, warmup, runs, memory_runs, budget)
    finally:
        gc.unfreeze()


def _measure(
    runner_a: Any,
    runner_b: Any,
    a: str,
    b: str,
    parallels: frozenset[str],
    warmup: int,
    runs: int | None,
    memory_runs: int,
    budget: float,
) -> Measured:
    runners = {a: runner_a, b: runner_b}
    for _ in range(warmup):
        runner_a.run()
        runner_b.run()
    if runs is None:
        runs = calibrate(runner_a.run, runner_b.run, budget)
    timing: dict[str, list[Sample]] = {a: [], b: []}
    for _ in range(runs):
        timing[a].append(runner_a.run())
        timing[b].append(runner_b.run())
    memory: dict[str, list[Sample]] = {a: [], b: []}
    for _ in range(memory_runs):
        memory[a].append(runner_a.run(memory=True))
        memory[b].append(runner_b.run(memory=True))
    profile = {name: runner.profile() for name, runner in runners.items()}
    shapes = {name: runner.breakdown(parallels) for name, runner in runners.items()}
    return Measured(
        timing=timing,
        memory=memory,
        profile=profile,
        breakdown=shapes,
        warmup=warmup,
        runs=runs,
    )
