"""How each engine's cost grows with a workflow's size.

For each size of a shape (compat/perf/shapes.py) both engines run alternately. A size's
cost is the least CPU time of its runs (CPU time, because a busy machine stretches wall time
more for longer runs and would bend the fit upward), less the engine's fixed cost per run
(an event loop, a result: the intercept of a straight-line fit); that marginal cost is
fitted on log–log axes (cost ∝ n^k: k ≈ 1 is linear, k ≈ 2 quadratic),
and peak memory on linear axes (bytes per unit of size), so "journey is O(n²) in loop
iterations" shows before it hurts.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
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

    #: Least CPU seconds per size.
    seconds: list[float]
    #: The fixed CPU cost of one run, left out of the fit.
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
    for size in shape.sizes:
        registry, inputs = shape.build(size)
        runners = {
            name: Runner(engine, registry, inputs, (), tools) for name, engine in engines.items()
        }
        for runner in runners.values():
            runner.run()  # warm-up: plans and journeys are compiled once per workflow
        timed: dict[str, list[float]] = {name: [] for name in engines}
        for _ in range(repeat):
            for name, runner in runners.items():
                timed[name].append(runner.run().cpu_seconds)
        for name, runner in runners.items():
            seconds[name].append(min(timed[name]))
            peaks[name].append(runner.run(memory=True).peak_bytes or 0)
    report = {}
    for name in engines:
        fixed, slope = fit_growth(shape.sizes, seconds[name])
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


def fit_growth(sizes: Sequence[int], seconds: Sequence[float]) -> tuple[float, float]:
    """(fixed cost per run, exponent k of the rest ∝ n^k). The fixed cost is the intercept of
    a straight line through the points, kept within [0, the smallest cost): for a linear
    engine it is the per-run overhead; for a superlinear one the line's intercept falls
    below zero and nothing is taken off."""
    intercept, _ = linear_fit(sizes, seconds)
    fixed = min(max(intercept, 0.0), 0.9 * min(seconds))
    return fixed, loglog_slope(sizes, [t - fixed for t in seconds])
