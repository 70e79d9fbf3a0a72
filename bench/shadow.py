"""The primary's latency with shadowing off and on (compat.shadow, docs/shadow.md).

    python bench/shadow.py [--fixture fixtures/loop_modes.yaml] [--case NAME]
                           [--rounds 20] [--block 25] [--gap-ms 3]
                           [--switch-interval-ms MS]

The primary is the graph engine, the shadow the journey engine, on one fixture case (its
first by default). Arms: `direct` (GraphAdapter.run_case, no experiment), `rate 0` (an
experiment that never samples), `rate 0.1` and `rate 1` (default comparison, a publisher),
and `rate 1, duty 0.25` (the worker rests so that it is busy at most a quarter of the
time). Latency is the wall time of one `run` call as its caller sees it. Two patterns:

* `paced`: after every call the backlog is drained and the process idles `--gap-ms`, in
  every arm (untimed), so no shadow runs while a primary does: what the caller's thread
  pays, plus the caches the shadow cooled. `caller overhead` is `run`'s latency minus the
  primary's own wall time as the published result records it: the bookkeeping alone
  (sampling, copying the inputs, queueing).
* `sustained`: calls back to back, so shadows of earlier calls run on the worker while
  later primaries run and both share the GIL: the worst case of a busy process. The
  backlog is drained (untimed) between blocks.

Arms run in blocks of `--block` calls, in a shuffled order each round (seeded), so drift of
the machine spreads over all arms; median and p95 per arm, and their ratio to `direct`.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compat.engines import GraphAdapter
from compat.shadow import Experiment, ExperimentResult
from engines.documents import load_fixture

REPO = Path(__file__).resolve().parents[1]


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()}-core {model!r}, {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixture", default=str(REPO / "fixtures" / "loop_modes.yaml"))
    parser.add_argument("--case", default=None)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--block", type=int, default=25)
    parser.add_argument("--gap-ms", type=float, default=3.0)
    parser.add_argument(
        "--switch-interval-ms", type=float, default=None, help="sys.setswitchinterval for the run"
    )
    args = parser.parse_args(argv)
    if args.switch_interval_ms is not None:
        sys.setswitchinterval(args.switch_interval_ms / 1e3)

    fixture = load_fixture(args.fixture)
    case = fixture.case(args.case) if args.case else fixture.cases[0]
    registry, inputs, conversation = fixture.registry, dict(case.inputs), tuple(case.conversation)
    direct = GraphAdapter()
    # The publisher keeps only the last result: retaining hundreds of results would make
    # every garbage collection (in whichever thread triggers it) slower, a cost of the
    # benchmark, not of shadowing.
    published: dict[str, deque[ExperimentResult]] = {}

    def experiment(label: str, rate: float, duty: float = 1.0) -> Experiment:
        results = published.setdefault(label, deque(maxlen=1))
        return Experiment(
            f"bench {label}", "graph", "journey", sample_rate=rate, seed=1, duty_cycle=duty,
            publish=results.append,
        )  # fmt: skip

    experiments = {
        label: experiment(label, rate, duty)
        for label, rate, duty in (
            ("rate 0", 0.0, 1.0),
            ("rate 0.1", 0.1, 1.0),
            ("rate 1", 1.0, 1.0),
            ("rate 1, duty 0.25", 1.0, 0.25),
        )
    }
    arms: dict[str, Callable[[], Any]] = {
        "direct": lambda: direct.run_case(registry, inputs, conversation)
    }
    for label, exp in experiments.items():
        arms[label] = lambda exp=exp: exp.run(registry, inputs, conversation)

    for _ in range(5):  # warm up every arm (imports, compiled templates, the worker)
        for run in arms.values():
            run()
    for exp in experiments.values():
        exp.wait()

    print(
        f"shadow experiment, graph primary / journey shadow on "
        f"{Path(args.fixture).name} case {case.name!r}; {machine()}; "
        f"{args.rounds} rounds x {args.block} calls per arm; "
        f"switch interval {sys.getswitchinterval() * 1e3:g} ms"
    )
    shuffle = random.Random(7)
    for pattern in ("paced", "sustained"):
        latencies: dict[str, list[float]] = {label: [] for label in arms}
        overheads: dict[str, list[float]] = {label: [] for label in experiments}
        before = {label: exp.stats for label, exp in experiments.items()}
        for _ in range(args.rounds):
            order = list(arms)
            shuffle.shuffle(order)
            for label in order:
                run, exp = arms[label], experiments.get(label)
                for _ in range(args.block):
                    exp_stats = exp.stats.published if exp is not None else 0
                    started = time.perf_counter()
                    run()
                    latency = time.perf_counter() - started
                    latencies[label].append(latency)
                    if pattern == "paced":
                        if exp is not None:
                            exp.wait()
                            if exp.stats.published > exp_stats:
                                primary = published[label][-1].primary.wall_seconds
                                overheads[label].append(latency - primary)
                        time.sleep(args.gap_ms / 1e3)
                if exp is not None:
                    exp.wait()
        base_median, base_p95 = statistics.median(latencies["direct"]), p95(latencies["direct"])
        print(f"{pattern}:")
        for label, values in latencies.items():
            median, high = statistics.median(values), p95(values)
            line = (
                f"  {label:<18} median {median * 1e6:7.0f} us  p95 {high * 1e6:7.0f} us  "
                f"x direct: median {median / base_median:.2f}, p95 {high / base_p95:.2f}"
            )
            exp = experiments.get(label)
            if exp is not None:
                now, then = exp.stats, before[label]
                line += (
                    f" | shadowed {now.shadow_runs - then.shadow_runs}, "
                    f"dropped {now.dropped - then.dropped}"
                )
                extra = overheads[label]
                if len(extra) >= 20:
                    line += (
                        f", caller overhead median {statistics.median(extra) * 1e6:.0f} us "
                        f"p95 {p95(extra) * 1e6:.0f} us"
                    )
            print(line)
    for exp in experiments.values():
        exp.close()
        stats = exp.stats
        assert stats.mismatched == stats.ignored == 0, f"{exp.name}: graph and journey disagree"
        assert stats.hook_errors == stats.publish_errors == 0, exp.errors


if __name__ == "__main__":
    main()
