"""What the harness itself costs: one `compare_runs` timed, with deepdiff's share of it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import compat.compare.values as values_module
from compat.compare import compare_runs
from compat.engines import EngineRun
from compat.tolerances import Tolerances
from engines.model import ValidatedWorkflow


@contextmanager
def deepdiff_timer() -> Iterator[list[float]]:
    """Times every DeepDiff the comparison makes while the block runs; yields a one-item list
    holding the seconds so far."""
    spent = [0.0]
    original = values_module.DeepDiff

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    values_module.DeepDiff = timed  # type: ignore[assignment,misc]
    try:
        yield spent
    finally:
        values_module.DeepDiff = original  # type: ignore[misc]


def comparison_cost(
    primary: EngineRun,
    shadow: EngineRun,
    workflow: ValidatedWorkflow | None,
    tol: Tolerances,
    *,
    repeat: int = 3,
) -> tuple[float, float]:
    """(seconds of one comparison, seconds of deepdiff inside it): the fastest of `repeat`."""
    best = (float("inf"), 0.0)
    for _ in range(repeat):
        with deepdiff_timer() as spent:
            start = time.perf_counter()
            compare_runs(primary, shadow, workflow, tol)
            seconds = time.perf_counter() - start
        if seconds < best[0]:
            best = (seconds, spent[0])
    return best
