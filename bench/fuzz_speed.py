"""`compat fuzz` throughput: compared examples per second (generation + both engines +
comparison) on default sizes, one process, and `--workers 2` against `--workers 1` in the
same run.

Each round runs the same campaign (`FuzzOptions(examples=N, seed=SEED, database=None)`,
the real engines, nothing saved) once with one worker and once with two, the order rotating
between rounds; the same seed gives both the same examples (rounds are seeded by their
index). The one-worker run is also split by where its time goes — generation (hypothesis
and the strategies, everything not below), each engine, the comparison (`case_report`) and
coverage bookkeeping — by timing wrappers around those calls (a few clock reads per
example). Usage:

    python bench/fuzz_speed.py [--examples 2000] [--rounds 1] [--seed 1] [--no-parallel]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compat import check  # noqa: E402
from compat.fuzz.campaign import FuzzOptions  # noqa: E402
from compat.fuzz.coverage import Coverage  # noqa: E402
from compat.fuzz.drive import FuzzReport, run_fuzz  # noqa: E402


@contextmanager
def split() -> Iterator[dict[str, float]]:
    """Seconds spent in each engine, in the comparison and in coverage, while inside."""
    spent: dict[str, float] = defaultdict(float)

    def timed(name: Callable[..., str], call: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                spent[name(*args)] += time.perf_counter() - started

        return wrapper

    saved = (check.run_engine_here, check.case_report, Coverage.add)
    check.run_engine_here = timed(lambda engine, *_: f"engine {_engine(engine)}", saved[0])
    check.case_report = timed(lambda *_: "comparison", saved[1])
    Coverage.add = timed(lambda *_: "coverage", saved[2])  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        check.run_engine_here, check.case_report = saved[0], saved[1]
        Coverage.add = saved[2]  # type: ignore[method-assign]


def _engine(engine: Any) -> str:
    return type(engine).__name__.removesuffix("Adapter").lower()


def campaign(examples: int, seed: int, workers: int) -> FuzzReport:
    options = FuzzOptions(examples=examples, seed=seed, database=None, workers=workers)
    return run_fuzz(options, save=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/fuzz_speed.py", description=__doc__)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-parallel", action="store_true", help="skip the --workers 2 run")
    args = parser.parse_args(argv)

    rates: dict[int, list[float]] = {1: [], 2: []}
    ratios: list[float] = []
    shares: dict[str, float] = defaultdict(float)
    total_one = 0.0
    findings = 0
    for index in range(args.rounds):
        plan = [1] if args.no_parallel else ([1, 2] if index % 2 == 0 else [2, 1])
        got: dict[int, float] = {}
        for workers in plan:
            if workers == 1:
                with split() as spent:
                    report = campaign(args.examples, args.seed, 1)
                for name, seconds in spent.items():
                    shares[name] += seconds
                total_one += report.seconds
            else:
                report = campaign(args.examples, args.seed, workers)
            findings += len(report.findings)
            got[workers] = report.examples / report.seconds
            rates[workers].append(got[workers])
            print(
                f"round {index + 1}: --workers {workers}: {report.examples} examples in "
                f"{report.seconds:.1f} s = {got[workers]:.1f}/s",
                file=sys.stderr,
                flush=True,
            )
        if 2 in got:
            ratios.append(got[2] / got[1])

    print(
        f"compat fuzz throughput: {args.examples} examples per run, seed {args.seed}, "
        f"{args.rounds} round(s); {date.today()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores"
    )
    print()
    print("| run | examples/s (median) | per core | × `--workers 1` |")
    print("|---|---|---|---|")
    one = statistics.median(rates[1])
    print(f"| `--workers 1` | {one:.1f} | {one:.1f} | 1.00 |")
    if rates[2]:
        two = statistics.median(rates[2])
        print(f"| `--workers 2` | {two:.1f} | {two / 2:.1f} | {statistics.median(ratios):.2f} |")
    print()
    print(f"Where `--workers 1`'s time goes ({total_one:.1f} s over the rounds):")
    print()
    print("| part | s | share |")
    print("|---|---|---|")
    rest = total_one - sum(shares.values())
    for name, seconds in [*sorted(shares.items()), ("generation and hypothesis (rest)", rest)]:
        print(f"| {name} | {seconds:.1f} | {100 * seconds / total_one:.0f} % |")
    print()
    print(f"divergences found on the real engines: {findings}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
