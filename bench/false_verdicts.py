"""How often `compat perf` calls a difference between two identical engines.

    python bench/false_verdicts.py [--trials 100] [--pairs 25]

Two instances of the graph engine are measured against each other the way `compat perf`
measures two engines (warm-up, alternating pairs), `trials` times on each of three fixtures;
every trial's wall and CPU time verdicts are counted. Anything but parity or inconclusive is
a false verdict: the noise did not support it.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from compat.engines import GraphAdapter
from compat.perf.measure import Runner, measure_pair
from compat.perf.stats import compare
from engines.documents import load_fixture

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = ("sequence_basics.yaml", "loop_modes.yaml", "parallel_modes.yaml")
METRICS = ("wall_seconds", "cpu_seconds")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=100, help="trials per fixture")
    parser.add_argument("--pairs", type=int, default=25, help="measured pairs per trial")
    args = parser.parse_args(argv)
    counts: Counter[str] = Counter()
    for name in CASES:
        fixture = load_fixture(FIXTURES / name)
        case = fixture.cases[0]
        for _ in range(args.trials):
            runners = {
                side: Runner(GraphAdapter(), fixture.registry, case.inputs, case.conversation, None)
                for side in ("a", "b")
            }
            measured = measure_pair(runners, frozenset(), warmup=2, runs=args.pairs, memory_runs=1)
            for metric in METRICS:
                a = [getattr(s, metric) for s in measured.timing["a"]]
                b = [getattr(s, metric) for s in measured.timing["b"]]
                counts[compare(a, b).verdict.value] += 1
    total = sum(counts.values())
    false = sum(n for verdict, n in counts.items() if verdict not in ("parity", "inconclusive"))
    print(
        f"identical engines (graph vs graph), {args.trials} trials x {len(CASES)} fixtures x "
        f"{len(METRICS)} metrics, {args.pairs} pairs each"
    )
    print(
        f"  verdicts: {', '.join(f'{v} {n}' for v, n in sorted(counts.items()))}; "
        f"false verdicts {false} of {total} ({false / total:.1%})"
    )


if __name__ == "__main__":
    main()
