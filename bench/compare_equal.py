"""What comparing two *equal* results costs, against a plain `==` on the same fields.

    python bench/compare_equal.py [--batches 15] [--size 50] [--models]

Two pairs of results of the 100-node workflow of `bench_compare.py` (14 parallel branches):
the graph and journey engines' results of one run, and two runs of the graph engine. For
each pair, `compare_runs` and a plain `==` on the compared fields (status, outputs, vars,
node outputs, node errors, trace steps and details, errors, pause) are timed side by side:
`batches` rounds, each one batch of `size` calls of every contender in turn; the figures are
medians over rounds, and each ratio is the median of the rounds' own ratios (the machine is
shared: compare ratios, not absolute times across runs). Two baselines: `==` reads each
event's attributes into tuples (the cheapest honest `==`); `== (step())` builds the steps
with `TraceEvent.step()`. `walk` forces the full comparison — what equal results skip.

Both sides read the events the engine built (`lean_trace()`, when results have it);
`--models` turns the traces into pydantic `TraceEvent`s first, as an older harness did.
The graph and journey engines order concurrent branches differently, so that pair's traces
are never in lockstep: its trace is always walked (the contract's partial order).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_compare import hundred_nodes

from compat.compare import compare_runs
from compat.engines import EngineRun, GraphAdapter, JourneyAdapter, run_engine
from compat.tolerances import Tolerances
from engines.model import ValidatedWorkflow, WorkflowRegistry
from engines.result import RunResult


def events(result: RunResult) -> Any:
    """The trace as the engine built it (lean events when it has them)."""
    lean = getattr(result, "lean_trace", None)
    return lean() if lean is not None else result.trace


def plain_equal(a: RunResult, b: RunResult) -> bool:
    """The baseline: Python's `==` on every field the comparison looks at (no type
    strictness, no partial order: the trace as its steps and details in order, seq and
    times left out as the contract leaves them), every field compared whatever the others
    say, as the comparison does."""
    return all(
        [
            a.status == b.status,
            a.outputs == b.outputs,
            a.vars == b.vars,
            a.node_outputs == b.node_outputs,
            a.node_errors == b.node_errors,
            [(e.node, e.path, e.attempt, e.kind, e.detail) for e in events(a)]
            == [(e.node, e.path, e.attempt, e.kind, e.detail) for e in events(b)],
            a.errors == b.errors,
            a.pause == b.pause,
        ]
    )


def step_equal(a: RunResult, b: RunResult) -> bool:
    """`plain_equal` with the steps built by `step()`."""
    return all(
        [
            a.status == b.status,
            a.outputs == b.outputs,
            a.vars == b.vars,
            a.node_outputs == b.node_outputs,
            a.node_errors == b.node_errors,
            [(e.step(), e.detail) for e in events(a)] == [(e.step(), e.detail) for e in events(b)],
            a.errors == b.errors,
            a.pause == b.pause,
        ]
    )


def _batch(fn: Callable[[], Any], size: int) -> float:
    start = time.perf_counter()
    for _ in range(size):
        fn()
    return (time.perf_counter() - start) / size


def _slow(fn: Callable[[], Any]) -> Callable[[], Any]:
    """`fn` with the short cuts for equal results switched off (`fn` itself in a checkout
    that has none: the bench runs on older harnesses too, for before/after figures)."""
    try:
        from compat.compare.shortcut import _forced_walk
    except ImportError:
        return fn

    def call() -> Any:
        with _forced_walk():
            return fn()

    return call


def measure(
    left: EngineRun, right: EngineRun, workflow: ValidatedWorkflow, batches: int, size: int
) -> dict[str, float]:
    """Median seconds per call of each contender, and the median ratio to `==`."""
    assert left.result is not None and right.result is not None
    tol = Tolerances()
    comparison = compare_runs(left, right, workflow, tol)
    assert comparison.compatible and comparison.score == 1.0, comparison.differences
    a, b = left.result, right.result
    contenders: dict[str, Callable[[], Any]] = {
        "==": lambda: plain_equal(a, b),
        "== (step())": lambda: step_equal(a, b),
        "compare_runs": lambda: compare_runs(left, right, workflow, tol),
        "walk": _slow(lambda: compare_runs(left, right, workflow, tol)),
    }
    for fn in contenders.values():  # warm caches
        _batch(fn, size)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(batches):
        for name, fn in contenders.items():
            times[name].append(_batch(fn, size))
    out = {name: statistics.median(t) for name, t in times.items()}
    for name in ("compare_runs", "walk"):
        for base in ("==", "== (step())"):
            ratios = [c / p for c, p in zip(times[name], times[base], strict=True)]
            out[f"{name} / {base}"] = statistics.median(ratios)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=15)
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument("--models", action="store_true", help="compare pydantic events")
    args = parser.parse_args(argv)
    workflow = hundred_nodes()
    registry = WorkflowRegistry([workflow])
    inputs = {"x": 3}
    graph = run_engine(GraphAdapter(), registry, inputs, ())
    journey = run_engine(JourneyAdapter(), registry, inputs, ())
    again = run_engine(GraphAdapter(), registry, inputs, ())
    for run in (graph, journey, again):
        if args.models and run.result is not None:
            run.result.trace  # noqa: B018  (reading it builds the pydantic events, for good)
    assert graph.result is not None, graph.error
    form = type(events(graph.result)[0]).__name__
    print(
        f"equal results compared, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}; events: {form}; median of "
        f"{args.batches} batches of {args.size}"
    )
    for label, left, right in (
        ("graph vs journey, one run", graph, journey),
        ("graph vs graph, two runs", graph, again),
    ):
        cost = measure(left, right, workflow, args.batches, args.size)
        print(
            f"  {label}: compare_runs {cost['compare_runs'] * 1e6:.0f} us, == "
            f"{cost['=='] * 1e6:.0f} us, == (step()) {cost['== (step())'] * 1e6:.0f} us, "
            f"walk {cost['walk'] * 1e6:.0f} us\n"
            f"    compare_runs / ==: {cost['compare_runs / ==']:.2f}x, / == (step()): "
            f"{cost['compare_runs / == (step())']:.2f}x; walk / ==: {cost['walk / ==']:.2f}x"
        )


if __name__ == "__main__":
    main()
