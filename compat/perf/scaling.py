"""How each engine's cost grows with a workflow's size.

For each size of a shape (compat/perf/shapes.py) both engines run alternately. A size's
cost is the fastest of its runs (the least disturbed by whatever else the machine does)
minus the engine's fixed cost per run, measured at size 1 (an event loop, a result); that
marginal cost is fitted on log–log axes (cost ∝ n^k: k ≈ 1 is linear, k ≈ 2 quadratic),
and peak memory on linear axes (bytes per unit of size), so "journey is O(n²) in loop
iterations" shows before it hurts.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from compat.perf.measure import Runner
from compat.perf.shapes import Shape
from compat.perf.stats import linear_fit, loglog_slope
from engines.tools import ToolRegistry

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def complexity(slope: float) -> str:
    """A readable name for a fitted exponent."""
    for exponent, name in ((0.0, "O(1)"), (1.0, "O(n)"), (2.0, "O(n²)"), (3.0, "O(n³)")):
        if abs(slope - exponent) <= 0.3:
            return name
    return f"O(n^{slope:.1f})"


class EngineScaling(BaseModel):
    model_config = _FROZEN

    #: Fastest wall seconds per size.
    seconds: list[float]
    #: The fixed cost of one run (size 1), left out of the fit.
    fixed_seconds: float
    #: Peak Python bytes per size (one tracemalloc run each).
    peak_bytes: list[int]
    #: k in cost ∝ n^k.
    slope: float
    complexity: str
    #: Peak bytes added per unit of size (linear fit).
    bytes_per_unit: float


class ScalingReport(BaseModel):
    model_config = _FROZEN

    shape: str
    unit: str
    sizes: list[int]
    engines: dict[str, EngineScaling]


def measure_scaling(
    shape: Shape,
    engines: Mapping[str, Any],
    *,
    repeat: int = 5,
    tools: ToolRegistry | None = None,
) -> ScalingReport:
    """Both engines at every size of `shape`, alternating, `repeat` timed runs each."""
    gc.collect()
    gc.freeze()  # the caller's heap stays out of the measured runs' collections
    try:
        return _measure(shape, engines, repeat, tools)
    finally:
        gc.unfreeze()


def _measure(
    shape: Shape, engines: Mapping[str, Any], repeat: int, tools: ToolRegistry | None
) -> ScalingReport:
    seconds: dict[str, list[float]] = {name: [] for name in engines}
    peaks: dict[str, list[int]] = {name: [] for name in engines}
    baseline: dict[str, float] = {}
    for size in (1, *shape.sizes):
        registry, inputs = shape.build(size)
        runners = {
            name: Runner(engine, registry, inputs, (), tools) for name, engine in engines.items()
        }
        for runner in runners.values():
            runner.run()  # warm-up: plans and journeys are compiled once per workflow
        timed: dict[str, list[float]] = {name: [] for name in engines}
        for _ in range(repeat):
            for name, runner in runners.items():
                timed[name].append(runner.run().wall_seconds)
        for name, runner in runners.items():
            if size == 1 and 1 not in shape.sizes:
                baseline[name] = min(timed[name])
                continue
            seconds[name].append(min(timed[name]))
            peaks[name].append(runner.run(memory=True).peak_bytes or 0)
    report = {}
    for name in engines:
        fixed = baseline.get(name, 0.0)
        marginal = [max(t - fixed, 1e-9) for t in seconds[name]]
        slope = loglog_slope(shape.sizes, marginal)
        _, per_unit = linear_fit(shape.sizes, peaks[name])
        report[name] = EngineScaling(
            seconds=seconds[name],
            fixed_seconds=fixed,
            peak_bytes=peaks[name],
            slope=slope,
            complexity=complexity(slope),
            bytes_per_unit=per_unit,
        )
    return ScalingReport(shape=shape.name, unit=shape.unit, sizes=list(shape.sizes), engines=report)
