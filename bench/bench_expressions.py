"""Micro-benchmark of the expression layer: evaluations per second on the fast path and on the
Jinja path, for the same templates, measured side by side in one run.

    python bench/bench_expressions.py [--seconds 0.3] [--repeat 5]

Each figure is the median of `repeat` timing rounds (together about `seconds` per case and
path); the ratio is computed from the two medians of the same run (machines here are noisy:
compare ratios, not absolute rates across runs).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

from engines.expressions import compile_expression, compile_template

SCOPE: dict[str, Any] = {
    "inputs": {"a": {"b": 42}, "name": "Ada", "n": 7},
    "vars": {"count": 3, "total": 10},
    "nodes": {"fetch": {"output": {"items": [{"id": 1}, {"id": 2}]}, "error": None}},
    "loop": {"index": 2, "iteration": 3, "item": "x", "items": ["a", "b", "x"]},
    "env": {},
}

CASES: list[tuple[str, str, Callable[[bool], Callable[[], Any]]]] = [
    (
        "path, 2 steps",
        "{{ inputs.a.b }}",
        lambda fast: _render(compile_template("{{ inputs.a.b }}", fast=fast)),
    ),
    (
        "path, 4 steps",
        "{{ nodes['fetch'].output.items[1] }}",
        lambda fast: _render(compile_template("{{ nodes['fetch'].output.items[1] }}", fast=fast)),
    ),
    (
        "text with 2 paths",
        "Hi {{ inputs.name }}, {{ vars.count }} left",
        lambda fast: _render(
            compile_template("Hi {{ inputs.name }}, {{ vars.count }} left", fast=fast)
        ),
    ),
    (
        "expression: a path",
        "vars.count",
        lambda fast: _test(compile_expression("vars.count", fast=fast)),
    ),
]


def _render(template: Any) -> Callable[[], Any]:
    return lambda: template.render(SCOPE)


def _test(expression: Any) -> Callable[[], Any]:
    return lambda: expression.test(SCOPE)


def rate(fn: Callable[[], Any], seconds: float) -> float:
    """Evaluations per second over one batch sized to take about `seconds`."""
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 4:
            break
        batch *= 2
    batch = max(1, int(batch * seconds / elapsed))
    start = time.perf_counter()
    for _ in range(batch):
        fn()
    return batch / (time.perf_counter() - start)


def run(seconds: float = 0.3, repeat: int = 5) -> list[dict[str, Any]]:
    """Per case: the median rate of each path over `repeat` rounds, rounds interleaved
    (fast, jinja, fast, jinja ...) so that drift affects both paths alike."""
    rows = []
    for label, source, make in CASES:
        fast_fn, jinja_fn = make(True), make(False)
        assert fast_fn() == jinja_fn(), f"paths disagree on {source}"
        fast_rates, jinja_rates = [], []
        for _ in range(repeat):
            fast_rates.append(rate(fast_fn, seconds / repeat))
            jinja_rates.append(rate(jinja_fn, seconds / repeat))
        fast, jinja = statistics.median(fast_rates), statistics.median(jinja_rates)
        rows.append(
            {
                "case": label,
                "source": source,
                "fast_per_s": fast,
                "jinja_per_s": jinja,
                "ratio": fast / jinja,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case and path")
    parser.add_argument("--repeat", type=int, default=7, help="rounds per case and path")
    args = parser.parse_args(argv)
    print(
        f"expression layer, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}"
    )
    print(f"{'case':<22}{'fast path /s':>15}{'jinja path /s':>15}{'fast/jinja':>12}")
    for row in run(args.seconds, args.repeat):
        print(
            f"{row['case']:<22}{row['fast_per_s']:>15,.0f}{row['jinja_per_s']:>15,.0f}"
            f"{row['ratio']:>11.1f}x"
        )


if __name__ == "__main__":
    main()
