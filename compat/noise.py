"""Noise filtering, the Diffy way.

A field that differs between two runs of the *same* engine on the same case (a timestamp, a
random id from a tool) is noise, not incompatibility. With `noise_runs: N` the primary runs N
extra times. Per difference path, the *raw* rate is how often primary and shadow differ there
(one shadow run: 0 or 1) and the *noise* rate how often the primary differs from its own
re-runs (0 … 1 over N runs). A path is reported only if raw > noise and both Diffy thresholds
pass:

    relative = |raw - noise| / (raw + noise)    >= noise_relative_threshold
    absolute = |raw - noise| / total            >= noise_absolute_threshold   (total = 1)

Differences at paths that fail are dropped from the comparison (value dimensions are compared
again with those paths ignored, so their scores are right), and every path that showed any
noise is listed in `Comparison.noisy_paths` so it can be added to `ignore_paths` for good.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from compat.compare import Comparison, DimensionResult, assemble, compare_runs
from compat.engines import EngineRun
from compat.tolerances import Tolerances
from engines.model import ValidatedWorkflow

_VALUE_DIMENSIONS = ("outputs", "context")


@dataclass(frozen=True)
class PathNoise:
    """The evidence about one path."""

    path: str
    raw: float
    noise: float

    @property
    def relative(self) -> float:
        total = self.raw + self.noise
        return abs(self.raw - self.noise) / total if total else 0.0

    @property
    def absolute(self) -> float:
        return abs(self.raw - self.noise)

    def reported(self, tol: Tolerances) -> bool:
        return (
            self.raw > self.noise
            and self.relative >= tol.noise_relative_threshold
            and self.absolute >= tol.noise_absolute_threshold
        )


def path_noise(raw: Comparison, noise: Sequence[Comparison]) -> dict[str, PathNoise]:
    """Raw and noise rates for every path that differs anywhere."""
    raw_paths = {d.path for d in raw.differences}
    counts: Counter[str] = Counter()
    for comparison in noise:
        counts.update({d.path for d in comparison.differences})
    runs = len(noise) or 1
    return {
        path: PathNoise(path, 1.0 if path in raw_paths else 0.0, counts[path] / runs)
        for path in sorted(raw_paths | set(counts))
    }


def compare_with_noise(
    primary: EngineRun,
    shadow: EngineRun,
    reruns: Sequence[EngineRun],
    workflow: ValidatedWorkflow | None,
    tol: Tolerances,
    *,
    extra: tuple[DimensionResult, ...] = (),
    registry: Mapping[str, ValidatedWorkflow] | None = None,
) -> Comparison:
    """Primary vs shadow, with the differences the primary's own re-runs explain left out."""
    raw = compare_runs(primary, shadow, workflow, tol, extra=extra, registry=registry)
    if not reruns:
        return raw
    noise = [compare_runs(primary, rerun, workflow, tol, registry=registry) for rerun in reruns]
    evidence = path_noise(raw, noise)
    noisy = tuple(path for path, e in evidence.items() if e.noise > 0)
    dropped = {d.path for d in raw.differences if not evidence[d.path].reported(tol)}
    if not dropped:
        return raw.model_copy(update={"noisy_paths": noisy})
    quiet = tol.override(
        {
            "ignore_paths": tol.ignore_paths
            + tuple(f"re:^{re.escape(path)}$" for path in sorted(dropped))
        },
        "noise filter",
    )
    again = compare_runs(primary, shadow, workflow, quiet, extra=extra, registry=registry)
    dimensions = []
    for dimension in again.dimensions:
        if dimension.name in _VALUE_DIMENSIONS:
            dimensions.append(dimension)
            continue
        kept = tuple(d for d in dimension.differences if d.path not in dropped)
        if len(kept) == len(dimension.differences):
            dimensions.append(dimension)
        else:
            score = 1.0 if not kept else dimension.score
            dimensions.append(dimension.model_copy(update={"differences": kept, "score": score}))
    return assemble(dimensions, tol, noisy_paths=noisy)
