"""Statistics for performance parity: summaries, the ratio of two engines with a bootstrap
confidence interval, and a verdict that never calls a difference the noise cannot support.

The ratio is engine B / engine A, taken pair by pair (runs alternate A B A B, so the i-th
pair shares whatever the machine was doing then) and summarised by the median of the pair
ratios; its 95 % interval comes from resampling those pair ratios (a percentile bootstrap
with a fixed seed, so a report is reproducible from its samples).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # imported where used: `compat check` without --perf never needs numpy
    import numpy as np

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Bootstrap resamples; enough for a stable 95 % percentile interval.
RESAMPLES = 4000
SEED = 20261122


class Summary(BaseModel):
    model_config = _FROZEN

    n: int
    median: float
    p95: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        import numpy as np

        data = np.asarray(values, dtype=float)
        if data.size == 0:
            return cls(n=0, median=math.nan, p95=math.nan, min=math.nan, max=math.nan)
        return cls(
            n=int(data.size),
            median=float(np.median(data)),
            p95=float(np.percentile(data, 95)),
            min=float(data.min()),
            max=float(data.max()),
        )


class Verdict(StrEnum):
    """B compared with A: `faster` means B takes less (time, memory) than A."""

    PARITY = "parity"
    FASTER = "faster"
    SLOWER = "slower"
    INCONCLUSIVE = "inconclusive"
    #: Nothing to compare (a metric that is zero or missing on one side).
    UNDEFINED = "undefined"


class Ratio(BaseModel):
    """B / A for one metric, with its interval and what it lets us say."""

    model_config = _FROZEN

    median: float
    low: float
    high: float
    verdict: Verdict
    #: For `inconclusive`: about how many pairs in all would decide it (None: the ratio sits
    #: on the band's edge, so no number of runs will).
    runs_needed: int | None = None
    note: str = ""


def pair_ratios(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    import numpy as np

    left, right = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n = min(left.size, right.size)
    left, right = left[:n], right[:n]
    both_zero = (left == 0) & (right == 0)  # nothing on either side: the same
    keep = left > 0
    return np.concatenate([right[keep] / left[keep], np.ones(int(both_zero.sum()))])


def bootstrap_interval(
    ratios: np.ndarray, *, level: float = 0.95, resamples: int = RESAMPLES, seed: int = SEED
) -> tuple[float, float]:
    """Percentile bootstrap interval of the median of `ratios`."""
    import numpy as np

    if ratios.size == 1:
        return float(ratios[0]), float(ratios[0])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, ratios.size, size=(resamples, ratios.size))
    medians = np.median(ratios[picks], axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(medians, [tail, 1.0 - tail])
    return float(low), float(high)


def compare(a: Sequence[float], b: Sequence[float], *, band: float = 0.10) -> Ratio:
    """The ratio B / A and its verdict against the parity band [1 − band, 1 + band].

    parity: the whole interval lies inside the band; faster / slower: the whole interval lies
    beyond it; inconclusive: the interval straddles a band edge — then `runs_needed` says
    about how many pairs would shrink the interval (as 1/√n) enough to decide."""
    import numpy as np

    ratios = pair_ratios(a, b)
    if ratios.size == 0:
        return Ratio(
            median=math.nan,
            low=math.nan,
            high=math.nan,
            verdict=Verdict.UNDEFINED,
            note="no pair with a non-zero first value",
        )
    median = float(np.median(ratios))
    low, high = bootstrap_interval(ratios)
    lower_edge, upper_edge = 1.0 - band, 1.0 + band
    if lower_edge <= low and high <= upper_edge:
        return Ratio(median=median, low=low, high=high, verdict=Verdict.PARITY)
    if high < lower_edge:
        return Ratio(median=median, low=low, high=high, verdict=Verdict.FASTER)
    if low > upper_edge:
        return Ratio(median=median, low=low, high=high, verdict=Verdict.SLOWER)
    needed = _runs_needed(ratios.size, median, low, high, lower_edge, upper_edge)
    if needed is None:
        note = "the ratio sits on the band's edge: more runs will not decide it"
    else:
        note = f"about {needed} pairs in all would decide it"
    return Ratio(
        median=median,
        low=low,
        high=high,
        verdict=Verdict.INCONCLUSIVE,
        runs_needed=needed,
        note=note,
    )


def _runs_needed(
    n: int, median: float, low: float, high: float, lower: float, upper: float
) -> int | None:
    """Pairs needed for the interval (shrinking as 1/√n around the median) to fit inside the
    band or to clear it, whichever the median points to."""
    half = max(median - low, high - median)
    if lower < median < upper:
        room = min(median - lower, upper - median)
    else:
        room = min(abs(median - lower), abs(median - upper))
    if room <= half * 1e-3 or half == 0:
        return None
    return max(n + 1, math.ceil(n * (half / room) ** 2))


def loglog_slope(sizes: Sequence[float], costs: Sequence[float]) -> float:
    """The exponent k of cost ∝ size^k, fitted by least squares on log–log axes."""
    import numpy as np

    x = np.log(np.asarray(sizes, dtype=float))
    y = np.log(np.maximum(np.asarray(costs, dtype=float), 1e-12))
    slope, _ = np.polyfit(x, y, 1)
    return float(slope)


def linear_fit(sizes: Sequence[float], values: Sequence[float]) -> tuple[float, float]:
    """(intercept, slope) of values ≈ intercept + slope × size."""
    import numpy as np

    slope, intercept = np.polyfit(np.asarray(sizes, float), np.asarray(values, float), 1)
    return float(intercept), float(slope)
